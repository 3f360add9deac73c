//! Runs the removals of a cleanup: a removal starts once every removal it comes after has
//! succeeded, at most `concurrency` at once; each is journaled before and after it acts, as
//! apply's steps are. A removal verifies its copies (read-only) right before its delete.

use orgsplit_aws::Aws;
use orgsplit_model::journal::{JournalEvent, RUN_ADDRESS, RunCommand, StepState};
use orgsplit_model::{Plan, Step};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

use super::delete::{Doomed, delete, source_gone};
use super::verify::{self, Verdict};
use super::{CleanupOptions, Disposition, Removal};
use crate::context::{Outcome, StepError};
use crate::cutover::succeeded_outputs;
use crate::executor::{known_account_ids, lookup_accounts};
use crate::journal::Journal;
use crate::reporter::{Reporter, StepStatus};
use crate::{ApplyError, RunSummary, placeholders};

pub struct Cleanup<'a> {
    pub aws: Aws,
    pub plan: Arc<Plan>,
    pub ou: String,
    /// From [`super::removals`], in their order.
    pub removals: Vec<Removal>,
    pub concurrency: usize,
    pub options: CleanupOptions,
    pub journal: &'a mut Journal,
    pub reporter: &'a dyn Reporter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Pending,
    Running,
    Done,
    /// Failed, waiting, blocked or kept: what comes after it does not run.
    Stopped,
}

impl Cleanup<'_> {
    pub async fn run(self) -> Result<RunSummary, ApplyError> {
        let started = Instant::now();
        let Cleanup { aws, plan, ou, removals, concurrency, options, journal, reporter } = self;
        let removals = Arc::new(removals);
        let states = journal.states();
        let outputs = crate::context::StepOutputs::new(succeeded_outputs(&states));
        let mut ids = known_account_ids(&plan, &states);
        let deleting = removals.iter().filter(|r| r.disposition == Disposition::Delete);
        if deleting
            .flat_map(|r| &r.copies)
            .any(|c| placeholders::names_in(c).iter().any(|n| !ids.contains_key(n)))
        {
            lookup_accounts(&aws, &plan, &mut ids).await?;
        }
        let ids = Arc::new(ids);
        let reported: BTreeMap<String, Step> =
            removals.iter().map(|r| (r.address.clone(), report_step(&plan, r))).collect();
        let index: BTreeMap<&str, usize> =
            removals.iter().enumerate().map(|(i, r)| (r.address.as_str(), i)).collect();
        reporter
            .run_started(&ou, &removals.iter().map(|r| &reported[&r.address]).collect::<Vec<_>>());
        journal.append(
            RUN_ADDRESS,
            JournalEvent::RunStarted {
                ou: ou.clone(),
                pid: std::process::id(),
                command: RunCommand::Cleanup,
            },
        )?;

        let mut summary = RunSummary::default();
        let mut nodes = vec![Node::Pending; removals.len()];
        let finish = |summary: &mut RunSummary, address: &str, status: StepStatus| {
            reporter.step_finished(&reported[address], &status);
            summary.statuses.push((address.to_string(), status));
        };
        for (i, r) in removals.iter().enumerate() {
            match &r.disposition {
                Disposition::Keep(why) | Disposition::Later(why) => {
                    finish(&mut summary, &r.address, StepStatus::Kept { why: why.clone() });
                    nodes[i] = Node::Stopped;
                }
                Disposition::Delete => {
                    if let Some(StepState::Succeeded { .. }) = states.get(&r.address) {
                        finish(&mut summary, &r.address, StepStatus::AlreadyDone);
                        nodes[i] = Node::Done;
                    }
                }
            }
        }

        let mut running: JoinSet<(usize, Result<Outcome, String>)> = JoinSet::new();
        loop {
            for i in 0..removals.len() {
                if nodes[i] != Node::Pending {
                    continue;
                }
                let r = &removals[i];
                let before: Vec<usize> =
                    r.after.iter().filter_map(|a| index.get(a.as_str()).copied()).collect();
                if let Some(&stopped) = before.iter().find(|&&b| nodes[b] == Node::Stopped) {
                    let by = removals[stopped].address.clone();
                    finish(&mut summary, &r.address, StepStatus::Blocked { by });
                    nodes[i] = Node::Stopped;
                    continue;
                }
                if !before.iter().all(|&b| nodes[b] == Node::Done)
                    || running.len() >= concurrency.max(1)
                {
                    continue;
                }
                journal.append(&r.address, JournalEvent::Started)?;
                reporter.step_started(&reported[&r.address]);
                nodes[i] = Node::Running;
                let (aws, plan, removals) = (aws.clone(), plan.clone(), removals.clone());
                let (ids, outputs) = (ids.clone(), outputs.clone());
                running.spawn(async move {
                    let r = &removals[i];
                    let result = act(&aws, &plan, r, &ids, &outputs, options).await;
                    (i, result.map_err(|e| e.to_string()))
                });
            }
            let Some(joined) = running.join_next().await else { break };
            let (i, result) = joined.map_err(|e| ApplyError::Internal(e.to_string()))?;
            let address = removals[i].address.clone();
            match result {
                Ok(Outcome::Done { changed, outputs }) => {
                    journal.append(&address, JournalEvent::Succeeded { changed, outputs })?;
                    let status = if changed { StepStatus::Changed } else { StepStatus::Unchanged };
                    finish(&mut summary, &address, status);
                    nodes[i] = Node::Done;
                }
                Ok(Outcome::Waiting { message, url }) => {
                    journal.append(
                        &address,
                        JournalEvent::Waiting { message: message.clone(), url: url.clone() },
                    )?;
                    finish(&mut summary, &address, StepStatus::Waiting { message, url });
                    nodes[i] = Node::Stopped;
                }
                Err(error) => {
                    journal.append(&address, JournalEvent::Failed { error: error.clone() })?;
                    finish(&mut summary, &address, StepStatus::Failed { error });
                    nodes[i] = Node::Stopped;
                }
            }
        }
        let order: BTreeMap<&str, usize> =
            removals.iter().enumerate().map(|(i, r)| (r.address.as_str(), i)).collect();
        summary.statuses.sort_by_key(|(a, _)| order.get(a.as_str()).copied());
        summary.account_ids = (*ids).clone();
        summary.elapsed = started.elapsed();
        journal.append(
            RUN_ADDRESS,
            JournalEvent::RunFinished {
                ou,
                outcome: summary.outcome().to_string(),
                command: RunCommand::Cleanup,
            },
        )?;
        Ok(summary)
    }
}

/// One removal: gone already, or its copies verified equal, then its delete.
async fn act(
    aws: &Aws,
    plan: &Arc<Plan>,
    r: &Removal,
    ids: &BTreeMap<String, String>,
    outputs: &crate::context::StepOutputs,
    options: CleanupOptions,
) -> Result<Outcome, StepError> {
    let first = r.copies.first().ok_or_else(|| StepError::Failed("no copy to verify".into()))?;
    let region = r.resource.region.clone().unwrap_or_else(|| plan.home_region.clone());
    let doomed = Doomed {
        session: aws.session(&plan.source_account_id).await?,
        region,
        resource: &r.resource,
        copy: first,
        options,
    };
    if source_gone(&doomed).await? {
        return Ok(Outcome::unchanged());
    }
    match verify::copies(aws, plan, &r.copies, ids, outputs).await.map_err(StepError::Failed)? {
        Verdict::Equal => delete(&doomed).await,
        Verdict::Differs { copy, would } => Ok(Outcome::Waiting {
            message: format!(
                "copy {copy} differs from its source (apply would call {would}): run apply again, or re-plan, then cleanup"
            ),
            url: None,
        }),
    }
}

/// What the reporter shows for a removal: the first copy step's kind, in the source account.
fn report_step(plan: &Plan, r: &Removal) -> Step {
    let mut step = r.copies.first().cloned().expect("a removal has a copy by construction");
    step.address = r.address.clone();
    step.account = plan.source_account_id.clone();
    step
}
