//! Runs the chains of a cutover or rollback: each chain's actions in order, chains at once up
//! to a bound, every action journaled before and after it acts, like apply's steps.

use orgsplit_aws::Aws;
use orgsplit_model::journal::{JournalEvent, Outputs, RUN_ADDRESS, RunCommand, StepState};
use orgsplit_model::{Plan, Step};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

use super::{Chain, CutoverOptions, Phase, succeeded_outputs, touched};
use crate::context::{Outcome, Shared, StepContext, StepError};
use crate::executor::{known_account_ids, lookup_accounts};
use crate::journal::Journal;
use crate::reporter::{Reporter, StepStatus};
use crate::{ApplyError, RunSummary, placeholders};

pub struct Cutover<'a> {
    pub aws: Aws,
    pub plan: Arc<Plan>,
    pub ou: String,
    /// [`RunCommand::Cutover`] or [`RunCommand::Rollback`].
    pub command: RunCommand,
    /// From [`super::chains`], in their order.
    pub chains: Vec<Chain>,
    /// From [`super::generation`], read from the same journal.
    pub generation: usize,
    pub concurrency: usize,
    pub options: CutoverOptions,
    pub journal: &'a mut Journal,
    pub reporter: &'a dyn Reporter,
}

/// What one action acts with: the copy step (resolved; its account is the copy's) and the
/// outputs of the cutover a rollback undoes.
pub(super) struct Switch {
    pub cx: StepContext,
    pub phase: Phase,
    pub forward: Outputs,
    pub options: CutoverOptions,
}

/// Which account an action reads or writes: the shared source, or the copy's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Source,
    Target,
}

impl Switch {
    pub fn account(&self, side: Side) -> &str {
        match side {
            Side::Source => &self.cx.plan.source_account_id,
            Side::Target => &self.cx.step.account,
        }
    }

    /// A session in that account, in the copy's Region.
    pub async fn session(
        &self,
        side: Side,
    ) -> Result<orgsplit_aws::AccountSession, orgsplit_aws::AwsError> {
        match side {
            Side::Source => self.cx.source().await,
            Side::Target => self.cx.session().await,
        }
    }
}

struct Slot {
    /// The copy step with its placeholders replaced, or why it could not be.
    resolved: Result<Step, String>,
    next: usize,
    running: bool,
    stopped: bool,
    /// The cutover's outputs for this copy (rollback reads the recorded count and state).
    forward: Outputs,
}

impl Cutover<'_> {
    pub async fn run(self) -> Result<RunSummary, ApplyError> {
        let started = Instant::now();
        let Cutover {
            aws,
            plan,
            ou,
            command,
            chains,
            generation,
            concurrency,
            options,
            journal,
            reporter,
        } = self;
        let states = journal.states();
        let done = succeeded_outputs(&states);
        let mut ids = known_account_ids(&plan, &states);
        if chains
            .iter()
            .any(|c| placeholders::names_in(&c.copy).iter().any(|n| !ids.contains_key(n)))
        {
            lookup_accounts(&aws, &plan, &mut ids).await?;
        }

        let mut slots: Vec<Slot> = chains
            .iter()
            .map(|chain| {
                let resolved = placeholders::resolve(&chain.copy, &ids, &done);
                let first = chain.address(RunCommand::Cutover, generation, forward_first(chain));
                let forward = done.get(&first).cloned().unwrap_or_default();
                Slot { resolved, next: 0, running: false, stopped: false, forward }
            })
            .collect();
        let plan_ref: &Plan = &plan;
        let reported: BTreeMap<String, Step> = chains
            .iter()
            .zip(&slots)
            .flat_map(|(chain, slot)| {
                chain.phases.iter().map(move |&phase| {
                    let address = chain.address(command, generation, phase);
                    let step = report_step(plan_ref, chain, slot, phase, &address);
                    (address, step)
                })
            })
            .collect();
        reporter.run_started(&ou, &reported.values().collect::<Vec<_>>());
        journal.append(
            RUN_ADDRESS,
            JournalEvent::RunStarted { ou: ou.clone(), pid: std::process::id(), command },
        )?;

        let mut summary = RunSummary::default();
        let finish = |summary: &mut RunSummary, address: &str, status: StepStatus| {
            reporter.step_finished(&reported[address], &status);
            summary.statuses.push((address.to_string(), status));
        };
        // A rollback of a copy its cutover never touched has nothing to undo.
        if command == RunCommand::Rollback {
            let touched = touched(journal.records(), generation);
            for (chain, slot) in chains.iter().zip(slots.iter_mut()) {
                if !touched.contains(chain.copy.address.as_str()) {
                    for &phase in &chain.phases {
                        finish(
                            &mut summary,
                            &chain.address(command, generation, phase),
                            StepStatus::NoOp,
                        );
                    }
                    slot.next = chain.phases.len();
                }
            }
        }

        let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Arc::new(Shared { progress: Some(progress_tx), ..Shared::default() });
        let mut running: JoinSet<(usize, Result<Outcome, String>)> = JoinSet::new();
        loop {
            for (i, chain) in chains.iter().enumerate() {
                let slot = &mut slots[i];
                while !slot.running && !slot.stopped && slot.next < chain.phases.len() {
                    let phase = chain.phases[slot.next];
                    let address = chain.address(command, generation, phase);
                    if let Some(StepState::Succeeded { .. }) = states.get(&address) {
                        finish(&mut summary, &address, StepStatus::AlreadyDone);
                        slot.next += 1;
                        continue;
                    }
                    let step = match &slot.resolved {
                        Ok(step) => step,
                        Err(why) => {
                            let status = StepStatus::Failed { error: why.clone() };
                            journal
                                .append(&address, JournalEvent::Failed { error: why.clone() })?;
                            finish(&mut summary, &address, status);
                            block_rest(
                                &mut summary,
                                chain,
                                slot,
                                command,
                                generation,
                                &address,
                                &finish,
                            );
                            break;
                        }
                    };
                    if running.len() >= concurrency.max(1) {
                        break;
                    }
                    journal.append(&address, JournalEvent::Started)?;
                    reporter.step_started(&reported[&address]);
                    let mut step = step.clone();
                    step.address = address;
                    let switch = Switch {
                        cx: StepContext {
                            aws: aws.clone(),
                            plan: plan.clone(),
                            step,
                            outputs: Default::default(),
                            shared: shared.clone(),
                        },
                        phase,
                        forward: slot.forward.clone(),
                        options,
                    };
                    running.spawn(async move {
                        (i, act(&switch).await.map_err(|e: StepError| e.to_string()))
                    });
                    slot.running = true;
                }
            }
            let joined = loop {
                tokio::select! {
                    joined = running.join_next() => break joined,
                    Some((address, message)) = progress_rx.recv() => {
                        if let Some(step) = reported.get(&address) {
                            reporter.step_waiting(step, &message);
                        }
                    }
                }
            };
            let Some(joined) = joined else { break };
            let (i, result) = joined.map_err(|e| ApplyError::Internal(e.to_string()))?;
            let (chain, slot) = (&chains[i], &mut slots[i]);
            slot.running = false;
            let address = chain.address(command, generation, chain.phases[slot.next]);
            match result {
                Ok(Outcome::Done { changed, outputs }) => {
                    journal.append(&address, JournalEvent::Succeeded { changed, outputs })?;
                    let status = if changed { StepStatus::Changed } else { StepStatus::Unchanged };
                    finish(&mut summary, &address, status);
                    slot.next += 1;
                }
                Ok(Outcome::Waiting { message, .. }) | Err(message) => {
                    journal.append(&address, JournalEvent::Failed { error: message.clone() })?;
                    finish(&mut summary, &address, StepStatus::Failed { error: message });
                    block_rest(&mut summary, chain, slot, command, generation, &address, &finish);
                }
            }
        }
        let order: BTreeMap<String, (usize, usize)> = chains
            .iter()
            .enumerate()
            .flat_map(|(i, c)| {
                c.phases
                    .iter()
                    .enumerate()
                    .map(move |(p, &phase)| (c.address(command, generation, phase), (i, p)))
            })
            .collect();
        summary.statuses.sort_by_key(|(a, _)| order.get(a).copied());
        summary.account_ids = ids;
        summary.elapsed = started.elapsed();
        journal.append(
            RUN_ADDRESS,
            JournalEvent::RunFinished { ou, outcome: summary.outcome().to_string(), command },
        )?;
        Ok(summary)
    }
}

/// The first action of a copy's cutover chain (whose outputs a rollback restores from).
fn forward_first(chain: &Chain) -> Phase {
    match chain.copy.kind() {
        orgsplit_model::StepKind::EcsService => Phase::TargetUp,
        orgsplit_model::StepKind::Pipeline => Phase::SourceHold,
        _ => Phase::TargetOn,
    }
}

/// The chain's actions after a failed one: not run, blocked by it.
fn block_rest(
    summary: &mut RunSummary,
    chain: &Chain,
    slot: &mut Slot,
    command: RunCommand,
    generation: usize,
    by: &str,
    finish: &impl Fn(&mut RunSummary, &str, StepStatus),
) {
    for &phase in &chain.phases[slot.next + 1..] {
        let status = StepStatus::Blocked { by: by.to_string() };
        finish(summary, &chain.address(command, generation, phase), status);
    }
    slot.stopped = true;
}

/// The step the reporter is shown for an action: its address, the copy's kind, and the
/// account it acts in.
fn report_step(plan: &Plan, chain: &Chain, slot: &Slot, phase: Phase, address: &str) -> Step {
    let copy = slot.resolved.as_ref().unwrap_or(&chain.copy);
    let mut step = copy.clone();
    step.address = address.to_string();
    if matches!(
        phase,
        Phase::SourceDown
            | Phase::SourceOff
            | Phase::SourceUp
            | Phase::SourceOn
            | Phase::SourceHold
            | Phase::SourceRelease
    ) {
        step.account = plan.source_account_id.clone();
    }
    step
}

async fn act(sw: &Switch) -> Result<Outcome, StepError> {
    match sw.cx.step.kind() {
        orgsplit_model::StepKind::EcsService => super::service::act(sw).await,
        orgsplit_model::StepKind::EventsRule => super::toggle::rule(sw).await,
        orgsplit_model::StepKind::Schedule => super::toggle::schedule(sw).await,
        orgsplit_model::StepKind::Pipeline => super::pipeline::act(sw).await,
        other => Err(StepError::Failed(format!("cutover does not switch {other:?} copies"))),
    }
}
