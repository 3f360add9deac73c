//! Runs one OU's steps as a dependency graph with bounded concurrency, journaling each step
//! before and after it acts.
//!
//! A step runs when everything it depends on has succeeded (in this run or an earlier one,
//! per the journal). A failed step blocks its dependents and nothing else; a step that waits
//! on a person blocks its dependents the same way, and the rest of the OU goes on.

use orgsplit_aws::Aws;
use orgsplit_model::journal::{JournalEvent, OutputKey, Outputs, RunCommand, StepState};
use orgsplit_model::{Action, Plan, Step, StepSpec};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

use crate::context::{Outcome, Shared, StepContext, StepOutputs};
use crate::journal::Journal;
use crate::placeholders;
use crate::reporter::{Reporter, StepStatus};
use crate::{ApplyError, steps};

pub const DEFAULT_CONCURRENCY: usize = 8;

/// The steps `apply --ou OU` runs: the organization's that the OU needs (its steps depend on
/// them, directly or through each other: an OU without pipelines does not wait on the
/// organization's connection handshake), then the OU's own and its accounts'.
pub fn select<'p>(plan: &'p Plan, ou: &str) -> Result<Vec<&'p Step>, ApplyError> {
    let ou_plan = plan.ou(ou).ok_or_else(|| ApplyError::UnknownOu {
        ou: ou.to_string(),
        known: plan.ous.iter().map(|o| o.name.clone()).collect(),
    })?;
    let own: Vec<&Step> =
        ou_plan.steps.iter().chain(ou_plan.accounts.iter().flat_map(|a| a.steps.iter())).collect();
    let mut needed: std::collections::BTreeSet<&str> =
        own.iter().flat_map(|s| s.depends_on.iter().map(String::as_str)).collect();
    // What the needed organization steps need in turn (a handful of steps: a fixed point).
    loop {
        let before = needed.len();
        let more: Vec<&str> = plan
            .organization
            .iter()
            .filter(|s| needed.contains(s.address.as_str()))
            .flat_map(|s| s.depends_on.iter().map(String::as_str))
            .collect();
        needed.extend(more);
        if needed.len() == before {
            break;
        }
    }
    Ok(plan
        .organization
        .iter()
        .filter(|s| needed.contains(s.address.as_str()))
        .chain(own)
        .collect())
}

/// What a run did, step by step.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub statuses: Vec<(String, StepStatus)>,
    /// Account name -> id, as known at the end (created or found).
    pub account_ids: BTreeMap<String, String>,
    pub elapsed: Duration,
}

impl RunSummary {
    pub fn count(&self, f: impl Fn(&StepStatus) -> bool) -> usize {
        self.statuses.iter().filter(|(_, s)| f(s)).count()
    }

    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, StepStatus::Failed { .. }))
    }

    pub fn waiting(&self) -> usize {
        self.count(|s| matches!(s, StepStatus::Waiting { .. }))
    }

    pub fn blocked(&self) -> usize {
        self.count(|s| matches!(s, StepStatus::Blocked { .. }))
    }

    /// `succeeded`, `failed` or `waiting`, as the journal records it.
    pub fn outcome(&self) -> &'static str {
        if self.failed() > 0 {
            "failed"
        } else if self.waiting() > 0 || self.blocked() > 0 {
            "waiting"
        } else {
            "succeeded"
        }
    }
}

enum Node {
    Pending,
    Running,
    Done,
    /// Failed, waiting or blocked: dependents cannot run in this run.
    Stopped,
}

pub struct Executor<'a> {
    pub aws: Aws,
    pub plan: Arc<Plan>,
    pub ou: String,
    pub concurrency: usize,
    pub journal: &'a mut Journal,
    pub reporter: &'a dyn Reporter,
}

impl Executor<'_> {
    pub async fn run(self) -> Result<RunSummary, ApplyError> {
        let started = Instant::now();
        let Executor { aws, plan, ou, concurrency, journal, reporter } = self;
        // Borrowed from the plan, not cloned: a 66,000-step OU is hundreds of MiB of steps.
        let selected: Vec<&Step> = select(&plan, &ou)?;
        reporter.run_started(&ou, &selected);
        journal.append(
            orgsplit_model::journal::RUN_ADDRESS,
            JournalEvent::RunStarted {
                ou: ou.clone(),
                pid: std::process::id(),
                command: RunCommand::Apply,
            },
        )?;

        let states = journal.states();
        let mut outputs: BTreeMap<String, Outputs> = BTreeMap::new();
        for (address, state) in &states {
            if let StepState::Succeeded { outputs: o, .. } = state {
                outputs.insert(address.clone(), o.clone());
            }
        }
        let mut ids = known_account_ids(&plan, &states);
        let by_address: HashMap<&str, &Step> =
            plan.steps().map(|s| (s.address.as_str(), s)).collect();

        let mut summary = RunSummary::default();
        let mut nodes = settle(&selected, &states, &mut ids, &mut outputs, reporter, &mut summary);
        let outputs = StepOutputs::new(outputs);
        let deps = dependencies(&plan, &selected, &states, &ou, &mut nodes, reporter, &mut summary);

        let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared { progress: Some(progress_tx), ..Shared::default() });
        let mut running: JoinSet<(usize, Result<Outcome, String>)> = JoinSet::new();
        let mut org_lookup_done = false;
        loop {
            // Start every ready step, in plan order, up to the concurrency bound.
            let mut progressed = true;
            while progressed {
                progressed = false;
                for i in 0..selected.len() {
                    if running.len() >= concurrency.max(1) {
                        break;
                    }
                    if !matches!(nodes[i], Node::Pending) {
                        continue;
                    }
                    if let Some(by) = deps[i].iter().find_map(|&j| match &nodes[j] {
                        Node::Stopped => Some(selected[j].address.clone()),
                        _ => None,
                    }) {
                        block(reporter, &mut summary, &mut nodes[i], selected[i], by);
                        progressed = true;
                        continue;
                    }
                    if !deps[i].iter().all(|&j| matches!(nodes[j], Node::Done)) {
                        continue;
                    }
                    let step = selected[i];
                    let missing: Vec<String> = placeholders::names_in(step)
                        .into_iter()
                        .filter(|n| !ids.contains_key(n))
                        .collect();
                    if !missing.is_empty() && !org_lookup_done {
                        org_lookup_done = true;
                        lookup_accounts(&aws, &plan, &mut ids).await?;
                    }
                    let resolved = placeholders::substitute(step, &ids)
                        .map_err(|missing| {
                            format!(
                                "account {} does not exist yet: apply the OU that creates it first",
                                missing.join(", ")
                            )
                        })
                        .and_then(|s| {
                            placeholders::substitute_outputs(&s, &outputs.read()).map_err(
                                |missing| {
                                    format!(
                                        "step {} recorded no ARN: run apply again so that it does",
                                        missing.join(", ")
                                    )
                                },
                            )
                        });
                    let resolved = match resolved {
                        Ok(s) => s,
                        Err(why) => {
                            block(reporter, &mut summary, &mut nodes[i], step, why);
                            progressed = true;
                            continue;
                        }
                    };
                    journal.append(&step.address, JournalEvent::Started)?;
                    reporter.step_started(step);
                    let cx = StepContext {
                        aws: aws.clone(),
                        plan: plan.clone(),
                        step: resolved,
                        outputs: outputs.clone(),
                        shared: shared.clone(),
                    };
                    running.spawn(async move {
                        let result = steps::run(&cx).await.map_err(|e| e.to_string());
                        (i, result)
                    });
                    nodes[i] = Node::Running;
                    progressed = true;
                }
            }
            // Wait for a step to end, showing what running steps say they wait for.
            let joined = loop {
                tokio::select! {
                    joined = running.join_next() => break joined,
                    Some((address, message)) = progress_rx.recv() => {
                        if let Some(step) = by_address.get(address.as_str()) {
                            reporter.step_waiting(step, &message);
                        }
                    }
                }
            };
            let Some(joined) = joined else {
                break;
            };
            let (i, result) = joined.map_err(|e| ApplyError::Internal(e.to_string()))?;
            let step = selected[i];
            match result {
                Ok(Outcome::Done { changed, outputs: o }) => {
                    journal.append(
                        &step.address,
                        JournalEvent::Succeeded { changed, outputs: o.clone() },
                    )?;
                    if let (Some(id), Some(name)) =
                        (o.get(OutputKey::AccountId.as_str()), account_name(step))
                    {
                        ids.insert(name.to_string(), id.clone());
                    }
                    outputs.insert(step.address.clone(), o);
                    let status = if changed { StepStatus::Changed } else { StepStatus::Unchanged };
                    finish(reporter, &mut summary, step, status);
                    nodes[i] = Node::Done;
                }
                Ok(Outcome::Waiting { message, url }) => {
                    journal.append(
                        &step.address,
                        JournalEvent::Waiting { message: message.clone(), url: url.clone() },
                    )?;
                    finish(reporter, &mut summary, step, StepStatus::Waiting { message, url });
                    nodes[i] = Node::Stopped;
                }
                Err(error) => {
                    journal.append(&step.address, JournalEvent::Failed { error: error.clone() })?;
                    finish(reporter, &mut summary, step, StepStatus::Failed { error });
                    nodes[i] = Node::Stopped;
                }
            }
        }
        // Put the statuses in plan order, whatever order steps finished in.
        let order: HashMap<&str, usize> =
            selected.iter().enumerate().map(|(i, s)| (s.address.as_str(), i)).collect();
        summary.statuses.sort_by_key(|(a, _)| order.get(a.as_str()).copied().unwrap_or(usize::MAX));
        summary.account_ids = ids;
        summary.elapsed = started.elapsed();
        journal.append(
            orgsplit_model::journal::RUN_ADDRESS,
            JournalEvent::RunFinished {
                ou,
                outcome: summary.outcome().to_string(),
                command: RunCommand::Apply,
            },
        )?;
        Ok(summary)
    }
}

/// Steps settled without running (succeeded before, no-op, manual) are reported at once;
/// the rest are pending. A no-op account step gives its account's id.
fn settle(
    selected: &[&Step],
    states: &BTreeMap<String, StepState>,
    ids: &mut BTreeMap<String, String>,
    outputs: &mut BTreeMap<String, Outputs>,
    reporter: &dyn Reporter,
    summary: &mut RunSummary,
) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::with_capacity(selected.len());
    for step in selected {
        let node = match (step.action, states.get(&step.address)) {
            (_, Some(StepState::Succeeded { .. })) => {
                finish(reporter, summary, step, StepStatus::AlreadyDone);
                Node::Done
            }
            (Action::NoOp, _) => {
                let o = noop_outputs(step);
                if let (Some(id), Some(name)) =
                    (o.get(OutputKey::AccountId.as_str()), account_name(step))
                {
                    ids.insert(name.to_string(), id.clone());
                }
                outputs.insert(step.address.clone(), o.clone());
                finish(reporter, summary, step, StepStatus::NoOp);
                Node::Done
            }
            (Action::Manual, _) => {
                finish(reporter, summary, step, StepStatus::Manual);
                Node::Done
            }
            _ => Node::Pending,
        };
        nodes.push(node);
    }
    nodes
}

/// Each step's dependencies, as indices into `selected`: the plan's, plus the account step of
/// every account it names by placeholder. A dependency outside this OU's run that has not
/// succeeded before (and is not a no-op or manual) blocks the step.
fn dependencies(
    plan: &Plan,
    selected: &[&Step],
    states: &BTreeMap<String, StepState>,
    ou: &str,
    nodes: &mut [Node],
    reporter: &dyn Reporter,
    summary: &mut RunSummary,
) -> Vec<Vec<usize>> {
    let by_address: HashMap<&str, &Step> = plan.steps().map(|s| (s.address.as_str(), s)).collect();
    let in_run: BTreeSet<&str> = selected.iter().map(|s| s.address.as_str()).collect();
    // The account step of each account name, for steps that name it by placeholder.
    let account_step: BTreeMap<String, String> = plan
        .steps()
        .filter_map(|s| Some((account_name(s)?.to_string(), s.address.clone())))
        .collect();
    let index: HashMap<&str, usize> =
        selected.iter().enumerate().map(|(i, s)| (s.address.as_str(), i)).collect();
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); selected.len()];
    for (i, step) in selected.iter().enumerate() {
        let mut names: Vec<String> = Vec::new();
        for name in placeholders::names_in(step) {
            if let Some(addr) = account_step.get(&name) {
                names.push(addr.clone());
            }
        }
        for dep in step.depends_on.iter().chain(names.iter()) {
            match index.get(dep.as_str()) {
                Some(&j) if j != i => deps[i].push(j),
                Some(_) => {}
                None => {
                    // Outside this OU's run: it must have succeeded before (or change
                    // nothing).
                    let satisfied = matches!(states.get(dep), Some(StepState::Succeeded { .. }))
                        || by_address
                            .get(dep.as_str())
                            .is_some_and(|s| matches!(s.action, Action::NoOp | Action::Manual));
                    if !satisfied
                        && matches!(nodes[i], Node::Pending)
                        && !in_run.contains(dep.as_str())
                    {
                        let why = format!("{dep} (not part of OU {ou}: apply its OU first)");
                        block(reporter, summary, &mut nodes[i], step, why);
                    }
                }
            }
        }
    }
    deps
}

/// A step that cannot run: `by` says what stops it.
fn block(
    reporter: &dyn Reporter,
    summary: &mut RunSummary,
    node: &mut Node,
    step: &Step,
    by: String,
) {
    finish(reporter, summary, step, StepStatus::Blocked { by });
    *node = Node::Stopped;
}

fn finish(reporter: &dyn Reporter, summary: &mut RunSummary, step: &Step, status: StepStatus) {
    reporter.step_finished(step, &status);
    summary.statuses.push((step.address.clone(), status));
}

/// What a `no-op` step hands on: the ids of what already exists.
fn noop_outputs(step: &Step) -> Outputs {
    let mut o = Outputs::new();
    let existing = match &step.spec {
        StepSpec::Account(a) => a.account_id.as_ref().map(|id| (OutputKey::AccountId.as_str(), id)),
        StepSpec::Ou(ou) => ou.ou_id.as_ref().map(|id| (OutputKey::OuId.as_str(), id)),
        _ => None,
    };
    if let Some((key, id)) = existing {
        o.insert(key.into(), id.clone());
    }
    o
}

/// The name of the account an `account` step creates.
fn account_name(step: &Step) -> Option<&str> {
    match &step.spec {
        StepSpec::Account(a) => Some(&a.name),
        _ => None,
    }
}

/// Account ids known without asking AWS: the plan's existing accounts and the journal's
/// created ones.
pub(crate) fn known_account_ids(
    plan: &Plan,
    states: &BTreeMap<String, StepState>,
) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for ou in &plan.ous {
        for a in &ou.accounts {
            if let Some(id) = &a.account_id {
                ids.insert(a.name.clone(), id.clone());
            }
        }
    }
    for step in plan.steps() {
        if let (Some(StepState::Succeeded { outputs, .. }), Some(name)) =
            (states.get(&step.address), account_name(step))
            && let Some(id) = outputs.get(OutputKey::AccountId.as_str())
        {
            ids.insert(name.to_string(), id.clone());
        }
    }
    ids
}

/// Accounts another OU's apply created: found by e-mail in the organization.
pub(crate) async fn lookup_accounts(
    aws: &Aws,
    plan: &Plan,
    ids: &mut BTreeMap<String, String>,
) -> Result<(), ApplyError> {
    let mgmt = aws.session(&plan.management_account_id).await?;
    let found = orgsplit_aws::organizations::accounts_by_email(&mgmt).await?;
    for ou in &plan.ous {
        for a in &ou.accounts {
            if let Some(id) = found.get(&a.email.to_ascii_lowercase()) {
                ids.entry(a.name.clone()).or_insert_with(|| id.clone());
            }
        }
    }
    Ok(())
}
