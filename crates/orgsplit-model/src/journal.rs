//! The apply journal: one JSON object per line, appended and fsync'd before and after every
//! step, so that an apply killed at any moment can be resumed (`PLAN.journal.jsonl`).
//!
//! This module holds the record types and how a list of records folds into each step's
//! state; reading and writing the file is the executor's business.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Outputs a step hands to later steps and later runs, by [`OutputKey`] name (`account_id`,
/// `ou_id`, …).
pub type Outputs = BTreeMap<String, String>;

/// The closed set of outputs steps hand on. The journal keeps their names as strings, so
/// journals written before this type existed read the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKey {
    /// `account`: the account's id (placeholders `${account:NAME}` resolve to it).
    AccountId,
    /// `ou`: the OU's id (SCP attachments, account moves and StackSet instances need it).
    OuId,
    /// `scp`: the policy's id (its attachments need it).
    PolicyId,
    /// `connection`: the organization's connection's ARN (every pipeline uses it).
    ConnectionArn,
    StacksetId,
    /// `stack-set-instances`: the Regions deployed, comma-separated.
    Regions,
    /// `stack-set-instances`: the roles whose trust was read back, comma-separated.
    RolesVerified,
    PipelineArn,
    ServiceArn,
    RuleArn,
    PolicyArn,
    BudgetName,
    TaskDefinitionArn,
    ClusterArn,
    Bucket,
    ScheduleArn,
    /// `secret`: the copy's full ARN (its random suffix is the target's own); placeholders
    /// `${secret-arn:ADDRESS}` resolve to it.
    SecretArn,
    /// `kms-key`: the new key's ARN; placeholders `${kms-key-arn:ADDRESS}` resolve to it.
    KmsKeyArn,
    /// Cutover's `target-up`: the source service's desired count it scaled the copy to
    /// (rollback scales the source back to it).
    DesiredCount,
    /// Cutover's `target-on`: the source rule's or schedule's state before the switch.
    PriorState,
}

impl OutputKey {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputKey::AccountId => "account_id",
            OutputKey::OuId => "ou_id",
            OutputKey::PolicyId => "policy_id",
            OutputKey::ConnectionArn => "connection_arn",
            OutputKey::StacksetId => "stackset_id",
            OutputKey::Regions => "regions",
            OutputKey::RolesVerified => "roles_verified",
            OutputKey::PipelineArn => "pipeline_arn",
            OutputKey::ServiceArn => "service_arn",
            OutputKey::RuleArn => "rule_arn",
            OutputKey::PolicyArn => "policy_arn",
            OutputKey::BudgetName => "budget_name",
            OutputKey::TaskDefinitionArn => "task_definition_arn",
            OutputKey::ClusterArn => "cluster_arn",
            OutputKey::Bucket => "bucket",
            OutputKey::ScheduleArn => "schedule_arn",
            OutputKey::SecretArn => "secret_arn",
            OutputKey::KmsKeyArn => "kms_key_arn",
            OutputKey::DesiredCount => "desired_count",
            OutputKey::PriorState => "prior_state",
        }
    }
}

/// The command a run of the journal was: one journal and one lock serve them all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunCommand {
    #[default]
    Apply,
    Cutover,
    Rollback,
    Cleanup,
}

impl RunCommand {
    pub fn is_apply(&self) -> bool {
        matches!(self, RunCommand::Apply)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunCommand::Apply => "apply",
            RunCommand::Cutover => "cutover",
            RunCommand::Rollback => "rollback",
            RunCommand::Cleanup => "cleanup",
        }
    }
}

/// How many runs of `command` for OU `ou` finished with outcome `succeeded`.
pub fn finished_runs(records: &[JournalRecord], ou: &str, command: RunCommand) -> usize {
    records
        .iter()
        .filter(|r| {
            matches!(&r.event, JournalEvent::RunFinished { ou: o, outcome, command: c }
                if o == ou && *c == command && outcome == "succeeded")
        })
        .count()
}

/// Whether the last run of OU `ou` of any command other than apply was `command` and has not
/// finished (started, then killed or still running).
pub fn unfinished_run(records: &[JournalRecord], ou: &str, command: RunCommand) -> bool {
    let mut open = false;
    for r in records {
        match &r.event {
            JournalEvent::RunStarted { ou: o, command: c, .. } if o == ou && !c.is_apply() => {
                open = *c == command;
            }
            JournalEvent::RunFinished { ou: o, command: c, .. } if o == ou && *c == command => {
                open = false;
            }
            _ => {}
        }
    }
    open
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRecord {
    /// RFC 3339.
    pub time: String,
    /// The digest of the plan this record belongs to: a journal never mixes two plans.
    pub plan_digest: String,
    /// The step's address, or [`RUN_ADDRESS`] for a record about the run itself.
    pub address: String,
    #[serde(flatten)]
    pub event: JournalEvent,
}

/// The address of records about a whole run (its start and end), not about one step.
pub const RUN_ADDRESS: &str = "-";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum JournalEvent {
    /// A run of `apply`, `cutover` or `cutover --rollback` of OU `ou` began (address
    /// [`RUN_ADDRESS`]).
    RunStarted {
        ou: String,
        pid: u32,
        /// Absent (apply) in journals written before cutover existed, and for apply.
        #[serde(default, skip_serializing_if = "RunCommand::is_apply")]
        command: RunCommand,
    },
    /// A run ended (address [`RUN_ADDRESS`]); `outcome` is `succeeded`, `failed` or `waiting`.
    RunFinished {
        ou: String,
        outcome: String,
        #[serde(default, skip_serializing_if = "RunCommand::is_apply")]
        command: RunCommand,
    },
    /// The step is about to act. A `started` with nothing after it was interrupted.
    Started,
    Succeeded {
        /// Whether the step changed anything (false: it found everything in place).
        changed: bool,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        outputs: Outputs,
    },
    Failed {
        error: String,
    },
    /// The step waits on a person (a connection handshake); its dependents wait with it.
    Waiting {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
}

/// Where a step stands after the records so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    /// Started and never finished: the run was interrupted while it acted.
    Interrupted,
    Succeeded {
        changed: bool,
        outputs: Outputs,
    },
    Failed {
        error: String,
    },
    Waiting {
        message: String,
        url: Option<String>,
    },
}

/// Each step's latest state, by address (steps never recorded are absent).
pub fn fold(records: &[JournalRecord]) -> BTreeMap<String, StepState> {
    let mut states = BTreeMap::new();
    for r in records {
        let state = match &r.event {
            JournalEvent::RunStarted { .. } | JournalEvent::RunFinished { .. } => continue,
            JournalEvent::Started => StepState::Interrupted,
            JournalEvent::Succeeded { changed, outputs } => {
                StepState::Succeeded { changed: *changed, outputs: outputs.clone() }
            }
            JournalEvent::Failed { error } => StepState::Failed { error: error.clone() },
            JournalEvent::Waiting { message, url } => {
                StepState::Waiting { message: message.clone(), url: url.clone() }
            }
        };
        states.insert(r.address.clone(), state);
    }
    states
}

/// How many times each step was started: a resumed run may start a step again, but a step
/// recorded as succeeded must never be started after that (the crash suite checks this).
pub fn starts_after_success(records: &[JournalRecord]) -> Vec<String> {
    let mut succeeded = std::collections::BTreeSet::new();
    let mut offenders = Vec::new();
    for r in records {
        match r.event {
            JournalEvent::Succeeded { .. } => {
                succeeded.insert(r.address.clone());
            }
            JournalEvent::Started if succeeded.contains(&r.address) => {
                offenders.push(r.address.clone());
            }
            _ => {}
        }
    }
    offenders
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(address: &str, event: JournalEvent) -> JournalRecord {
        JournalRecord {
            time: "2026-11-23T00:00:00Z".into(),
            plan_digest: "sha256:x".into(),
            address: address.into(),
            event,
        }
    }

    #[test]
    fn records_fold_into_the_latest_state_and_round_trip_as_json_lines() {
        let records = vec![
            rec(
                RUN_ADDRESS,
                JournalEvent::RunStarted { ou: "dev".into(), pid: 7, command: RunCommand::Apply },
            ),
            rec("a", JournalEvent::Started),
            rec("b", JournalEvent::Started),
            rec(
                "a",
                JournalEvent::Succeeded {
                    changed: true,
                    outputs: [("account_id".to_string(), "222222222222".to_string())].into(),
                },
            ),
            rec("c", JournalEvent::Started),
            rec("c", JournalEvent::Failed { error: "boom".into() }),
        ];
        let states = fold(&records);
        assert_eq!(states["b"], StepState::Interrupted);
        assert!(
            matches!(&states["a"], StepState::Succeeded { outputs, .. } if outputs["account_id"] == "222222222222")
        );
        assert!(matches!(&states["c"], StepState::Failed { .. }));
        assert!(!states.contains_key(RUN_ADDRESS));
        for r in &records {
            let line = serde_json::to_string(r).unwrap();
            assert!(!line.contains('\n'));
            assert_eq!(&serde_json::from_str::<JournalRecord>(&line).unwrap(), r);
        }
        let line = serde_json::to_string(&records[3]).unwrap();
        assert!(line.contains(r#""event":"succeeded""#), "{line}");
        assert!(starts_after_success(&records).is_empty());
        let mut again = records.clone();
        again.push(rec("a", JournalEvent::Started));
        assert_eq!(starts_after_success(&again), vec!["a".to_string()]);
    }

    #[test]
    fn run_records_name_their_command_and_old_lines_read_as_apply() {
        let old = r#"{"time":"t","plan_digest":"d","address":"-","event":"run-finished","ou":"dev","outcome":"succeeded"}"#;
        let read: JournalRecord = serde_json::from_str(old).unwrap();
        assert!(matches!(read.event, JournalEvent::RunFinished { command: RunCommand::Apply, .. }));
        assert_eq!(serde_json::to_string(&read).unwrap(), old, "apply's lines are unchanged");
        let run = |event| rec(RUN_ADDRESS, event);
        let started = |command| JournalEvent::RunStarted { ou: "dev".into(), pid: 1, command };
        let finished = |command, outcome: &str| JournalEvent::RunFinished {
            ou: "dev".into(),
            outcome: outcome.into(),
            command,
        };
        let mut records = vec![
            run(started(RunCommand::Rollback)),
            run(finished(RunCommand::Rollback, "succeeded")),
            run(started(RunCommand::Rollback)),
            run(finished(RunCommand::Rollback, "failed")),
            run(started(RunCommand::Rollback)),
        ];
        let line = serde_json::to_string(&records[0]).unwrap();
        assert!(line.contains(r#""command":"rollback""#), "{line}");
        assert_eq!(finished_runs(&records, "dev", RunCommand::Rollback), 1);
        assert_eq!(finished_runs(&records, "prod", RunCommand::Rollback), 0);
        assert!(unfinished_run(&records, "dev", RunCommand::Rollback));
        records.push(run(started(RunCommand::Cutover)));
        assert!(!unfinished_run(&records, "dev", RunCommand::Rollback), "a cutover began since");
        assert!(unfinished_run(&records, "dev", RunCommand::Cutover));
        records.push(run(started(RunCommand::Apply)));
        assert!(unfinished_run(&records, "dev", RunCommand::Cutover), "apply runs do not count");
    }
}
