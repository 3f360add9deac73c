//! The events of `orgsplit apply --output json`: one JSON object per line, a `step` event
//! for every step that finishes, then one `summary`. Their JSON Schema is published in
//! `docs/schemas/apply-event.schema.json`.

use orgsplit_model::{Step, StepKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::executor::RunSummary;
use crate::reporter::StepStatus;

/// One line of the NDJSON stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ApplyEvent {
    Step(StepEvent),
    Summary(SummaryEvent),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepEvent {
    pub address: String,
    pub kind: StepKind,
    pub account: String,
    pub status: StatusLabel,
    /// Why the step failed (`failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What the step waits for (`waiting`), or why it is kept (`kept`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Where a person acts (`waiting`, when there is such a page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The step that failed or waits (`blocked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
}

/// How a step ended, as the event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum StatusLabel {
    #[serde(rename = "changed")]
    Changed,
    #[serde(rename = "unchanged")]
    Unchanged,
    #[serde(rename = "already done")]
    AlreadyDone,
    #[serde(rename = "no-op")]
    NoOp,
    #[serde(rename = "manual")]
    Manual,
    #[serde(rename = "failed")]
    Failed,
    #[serde(rename = "waiting")]
    Waiting,
    #[serde(rename = "blocked")]
    Blocked,
    /// Cleanup left it in place on purpose.
    #[serde(rename = "kept")]
    Kept,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SummaryEvent {
    pub ou: String,
    /// `succeeded`, `failed` or `waiting` (waiting or blocked steps remain).
    pub outcome: String,
    pub changed: usize,
    /// Unchanged and no-op steps.
    pub unchanged: usize,
    pub already_done: usize,
    pub failed: usize,
    pub waiting: usize,
    pub blocked: usize,
    pub manual: usize,
    /// Left in place on purpose (cleanup).
    #[serde(default)]
    pub kept: usize,
    pub api_calls: u64,
    pub elapsed_seconds: f64,
    /// Account name -> id, as known at the end of the run.
    pub accounts: BTreeMap<String, String>,
}

impl StepEvent {
    pub fn new(step: &Step, status: &StepStatus) -> StepEvent {
        let mut event = StepEvent {
            address: step.address.clone(),
            kind: step.kind(),
            account: step.account.clone(),
            status: StatusLabel::of(status),
            error: None,
            message: None,
            url: None,
            blocked_by: None,
        };
        match status {
            StepStatus::Failed { error } => event.error = Some(error.clone()),
            StepStatus::Waiting { message, url } => {
                event.message = Some(message.clone());
                event.url = url.clone();
            }
            StepStatus::Blocked { by } => event.blocked_by = Some(by.clone()),
            StepStatus::Kept { why } => event.message = Some(why.clone()),
            _ => {}
        }
        event
    }
}

impl StatusLabel {
    pub fn of(status: &StepStatus) -> StatusLabel {
        match status {
            StepStatus::Changed => StatusLabel::Changed,
            StepStatus::Unchanged => StatusLabel::Unchanged,
            StepStatus::AlreadyDone => StatusLabel::AlreadyDone,
            StepStatus::NoOp => StatusLabel::NoOp,
            StepStatus::Manual => StatusLabel::Manual,
            StepStatus::Failed { .. } => StatusLabel::Failed,
            StepStatus::Waiting { .. } => StatusLabel::Waiting,
            StepStatus::Blocked { .. } => StatusLabel::Blocked,
            StepStatus::Kept { .. } => StatusLabel::Kept,
        }
    }
}

impl SummaryEvent {
    pub fn new(ou: &str, s: &RunSummary, api_calls: u64) -> SummaryEvent {
        let n = |f: fn(&StepStatus) -> bool| s.count(f);
        SummaryEvent {
            ou: ou.to_string(),
            outcome: s.outcome().to_string(),
            changed: n(|x| matches!(x, StepStatus::Changed)),
            unchanged: n(|x| matches!(x, StepStatus::Unchanged | StepStatus::NoOp)),
            already_done: n(|x| matches!(x, StepStatus::AlreadyDone)),
            failed: s.failed(),
            waiting: s.waiting(),
            blocked: s.blocked(),
            manual: n(|x| matches!(x, StepStatus::Manual)),
            kept: n(|x| matches!(x, StepStatus::Kept { .. })),
            api_calls,
            elapsed_seconds: s.elapsed.as_secs_f64(),
            accounts: s.account_ids.clone(),
        }
    }
}

impl ApplyEvent {
    /// The event's NDJSON line (without the newline).
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("events serialise")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_label_is_the_reporters_label() {
        let statuses = [
            StepStatus::Changed,
            StepStatus::Unchanged,
            StepStatus::AlreadyDone,
            StepStatus::NoOp,
            StepStatus::Manual,
            StepStatus::Failed { error: "e".into() },
            StepStatus::Waiting { message: "m".into(), url: None },
            StepStatus::Blocked { by: "b".into() },
            StepStatus::Kept { why: "k".into() },
        ];
        for status in statuses {
            assert_eq!(serde_json::to_value(StatusLabel::of(&status)).unwrap(), status.label());
        }
    }
}
