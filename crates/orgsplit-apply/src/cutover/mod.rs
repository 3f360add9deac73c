//! `orgsplit cutover PLAN --ou NAME [--rollback]`: switches an applied OU's workloads from
//! the shared account to their copies, and back.
//!
//! Apply creates every copy quiesced (services at 0, rules and schedules DISABLED). Cutover
//! derives, from the plan and the journal, one chain of actions per copied service, rule and
//! schedule of the OU, and runs the chains concurrently, each action journaled like a step:
//!
//! | copy | cutover, in order | rollback, in order |
//! |---|---|---|
//! | `ecs-service` | `target-up`: the copy to the source's live desired count N (recorded), then steady; `source-down`: the source to 0 | `source-up`: the source back to N, then steady; `target-down`: the copy to 0 |
//! | `events-rule`, `schedule` | `target-on`: the copy to the source's live state S (recorded) unless S is DISABLED; `source-off`: the source DISABLED | `source-on`: the source back to S; `target-off`: the copy DISABLED |
//! | `pipeline` | `source-hold`: the source's first stage after its source stage stops taking runs (whether it did is recorded) | `source-release`: taken again, if cutover found it so |
//!
//! Each chain's second action starts only once its first has succeeded and is on disk, so
//! the source stops only after its copy runs, and rollback restores from recorded values,
//! never from what it reads after the switch. Addresses carry a generation,
//! `cutover/G/COPY-ADDRESS/PHASE`: G is 1 plus the rollbacks of the OU that finished, so a
//! cutover after a rollback is new work and not "already done".
//!
//! Architecture Invariant: cutover touches only the desired count of services, the state
//! of rules and schedules the OU's apply copied (in the source and in the copy's account),
//! and the inbound transition of a copied pipeline's source's second stage.

mod pipeline;
mod run;
mod service;
mod toggle;

use orgsplit_model::journal::{
    JournalEvent, JournalRecord, RunCommand, StepState, finished_runs, unfinished_run,
};
use orgsplit_model::{Action, Plan, Step, StepKind};
use std::collections::BTreeMap;
use std::time::Duration;

pub use run::Cutover;

use crate::{ApplyError, select};

/// What one action of a chain does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    TargetUp,
    SourceDown,
    TargetOn,
    SourceOff,
    SourceUp,
    TargetDown,
    SourceOn,
    TargetOff,
    SourceHold,
    SourceRelease,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::TargetUp => "target-up",
            Phase::SourceDown => "source-down",
            Phase::TargetOn => "target-on",
            Phase::SourceOff => "source-off",
            Phase::SourceUp => "source-up",
            Phase::TargetDown => "target-down",
            Phase::SourceOn => "source-on",
            Phase::TargetOff => "target-off",
            Phase::SourceHold => "source-hold",
            Phase::SourceRelease => "source-release",
        }
    }
}

/// How long a service may take to become steady, and how often it is read meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CutoverOptions {
    /// Default 15 minutes: the SDK's `services-stable` waiter waits 40 times 15 s.
    pub steady_timeout: Duration,
    /// Reads back off from 1 s to this (default 15 s, the waiter's interval).
    pub max_poll: Duration,
}

impl Default for CutoverOptions {
    fn default() -> Self {
        CutoverOptions {
            steady_timeout: Duration::from_secs(15 * 60),
            max_poll: Duration::from_secs(15),
        }
    }
}

/// One copy's actions, in the order they run.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// The copy step, as the plan has it (placeholders unresolved).
    pub copy: Step,
    pub phases: Vec<Phase>,
}

impl Chain {
    /// `cutover/1/dev/dev-workloads/ecs-service:batch/dev-api/target-up`.
    pub fn address(&self, command: RunCommand, generation: usize, phase: Phase) -> String {
        format!("{}/{generation}/{}/{}", command.as_str(), self.copy.address, phase.as_str())
    }
}

/// The chains of `cutover` (or `rollback`) of OU `ou`, in plan order: every service, rule and
/// schedule its apply created or updated (a manual or no-op copy has nothing to switch).
pub fn chains(plan: &Plan, ou: &str, command: RunCommand) -> Result<Vec<Chain>, ApplyError> {
    let rollback = command == RunCommand::Rollback;
    Ok(select(plan, ou)?
        .into_iter()
        .filter(|s| matches!(s.action, Action::Create | Action::Update))
        .filter_map(|s| {
            let phases = match (s.kind(), rollback) {
                (StepKind::EcsService, false) => vec![Phase::TargetUp, Phase::SourceDown],
                (StepKind::EcsService, true) => vec![Phase::SourceUp, Phase::TargetDown],
                (StepKind::EventsRule | StepKind::Schedule, false) => {
                    vec![Phase::TargetOn, Phase::SourceOff]
                }
                (StepKind::EventsRule | StepKind::Schedule, true) => {
                    vec![Phase::SourceOn, Phase::TargetOff]
                }
                (StepKind::Pipeline, false) => vec![Phase::SourceHold],
                (StepKind::Pipeline, true) => vec![Phase::SourceRelease],
                _ => return None,
            };
            Some(Chain { copy: s.clone(), phases })
        })
        .collect())
}

/// The generation a cutover or rollback of `ou` works on: 1 plus the rollbacks that finished.
pub fn generation(records: &[JournalRecord], ou: &str) -> usize {
    1 + finished_runs(records, ou, RunCommand::Rollback)
}

/// Why `cutover` (or `--rollback`) of `ou` may not start: the OU is not fully applied, or
/// the other direction was interrupted and must be finished first.
pub fn check_ready(
    plan: &Plan,
    ou: &str,
    command: RunCommand,
    records: &[JournalRecord],
) -> Result<(), ApplyError> {
    let states = orgsplit_model::journal::fold(records);
    let pending: Vec<&Step> = select(plan, ou)?
        .into_iter()
        .filter(|s| !matches!(s.action, Action::NoOp | Action::Manual))
        .filter(|s| !matches!(states.get(&s.address), Some(StepState::Succeeded { .. })))
        .collect();
    if let Some(first) = pending.first() {
        return Err(ApplyError::NotApplied {
            ou: ou.to_string(),
            pending: pending.len(),
            first: first.address.clone(),
        });
    }
    let other = match command {
        RunCommand::Rollback => RunCommand::Cutover,
        _ => RunCommand::Rollback,
    };
    // A rollback needs the sources cleanup deletes: once a cleanup of the OU started, the
    // way back is apply's copies, not the shared account.
    let cleanup_began = records.iter().any(|r| {
        matches!(&r.event, JournalEvent::RunStarted { ou: o, command: RunCommand::Cleanup, .. } if o == ou)
    });
    if command == RunCommand::Rollback && cleanup_began {
        return Err(ApplyError::CleanupBegan { ou: ou.to_string() });
    }
    if command == RunCommand::Cutover && unfinished_run(records, ou, other) {
        return Err(ApplyError::Unfinished { ou: ou.to_string(), command: other.as_str() });
    }
    Ok(())
}

/// Each action's journaled outputs, by address, of those that succeeded.
pub(crate) fn succeeded_outputs(
    states: &BTreeMap<String, StepState>,
) -> BTreeMap<String, orgsplit_model::journal::Outputs> {
    states
        .iter()
        .filter_map(|(a, s)| match s {
            StepState::Succeeded { outputs, .. } => Some((a.clone(), outputs.clone())),
            _ => None,
        })
        .collect()
}

/// The copies (their copy-step addresses) whose cutover of `generation` started at all: one
/// pass over the journal, however many chains.
fn touched(records: &[JournalRecord], generation: usize) -> std::collections::BTreeSet<&str> {
    let prefix = format!("{}/{generation}/", RunCommand::Cutover.as_str());
    records
        .iter()
        .filter(|r| r.event == JournalEvent::Started)
        .filter_map(|r| r.address.strip_prefix(prefix.as_str()))
        .filter_map(|rest| rest.rsplit_once('/').map(|(copy, _phase)| copy))
        .collect()
}

#[cfg(test)]
mod tests;
