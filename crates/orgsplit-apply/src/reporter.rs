//! Progress of an apply, reported per step. Only the binary draws it (indicatif bars per
//! account, or NDJSON events with `--output json`).

use orgsplit_model::Step;

/// How one step of a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    /// Acted and verified.
    Changed,
    /// Found everything in place (checked live, nothing written).
    Unchanged,
    /// Succeeded in an earlier run (journal): not run again.
    AlreadyDone,
    /// `no-op` in the plan.
    NoOp,
    /// A manual item for a person: listed, never run.
    Manual,
    Failed {
        error: String,
    },
    /// Waits on a person; `url` is where they act.
    Waiting {
        message: String,
        url: Option<String>,
    },
    /// Not run because a step it needs failed or waits.
    Blocked {
        by: String,
    },
    /// Left in place on purpose (cleanup: a KMS key, a log group without `--delete-logs`,
    /// a shared resource whose other OUs are not cleaned up yet): why.
    Kept {
        why: String,
    },
}

impl StepStatus {
    pub fn label(&self) -> &'static str {
        match self {
            StepStatus::Changed => "changed",
            StepStatus::Unchanged => "unchanged",
            StepStatus::AlreadyDone => "already done",
            StepStatus::NoOp => "no-op",
            StepStatus::Manual => "manual",
            StepStatus::Failed { .. } => "failed",
            StepStatus::Waiting { .. } => "waiting",
            StepStatus::Blocked { .. } => "blocked",
            StepStatus::Kept { .. } => "kept",
        }
    }
}

/// The progress group a step belongs to: `organization`, an OU's name for the OU's own
/// steps, or an account's name (a progress bar each).
pub fn group_of(address: &str) -> &str {
    // Cleanup's (`cleanup/ARN`) act in the shared account.
    if address.starts_with("cleanup/") {
        return "source";
    }
    // Cutover's actions (`cutover/GENERATION/COPY-ADDRESS/PHASE`) go with their copy.
    let address = ["cutover/", "rollback/"]
        .iter()
        .find_map(|p| address.strip_prefix(p))
        .and_then(|rest| rest.split_once('/'))
        .map_or(address, |(_, copy)| copy);
    let mut parts = address.splitn(3, '/');
    let first = parts.next().unwrap_or(address);
    match (parts.next(), parts.next()) {
        (Some(second), Some(_)) => second,
        (Some(_), None) => first,
        _ => first,
    }
}

pub trait Reporter: Send + Sync {
    /// The run's steps, in plan order, before any starts.
    fn run_started(&self, _ou: &str, _steps: &[&Step]) {}
    fn step_started(&self, _step: &Step) {}
    fn step_finished(&self, _step: &Step, _status: &StepStatus) {}
    /// A running step waits for AWS (a new account, an enabling policy type).
    fn step_waiting(&self, _step: &Step, _message: &str) {}
}

pub struct NoReporter;
impl Reporter for NoReporter {}

#[cfg(test)]
mod tests {
    use super::group_of;

    #[test]
    fn steps_group_by_account_or_ou() {
        assert_eq!(group_of("organization/scp:orgsplit-guardrails"), "organization");
        assert_eq!(group_of("dev/ou:dev"), "dev");
        assert_eq!(group_of("dev/dev-workloads/ssm:/dev/x"), "dev-workloads");
        assert_eq!(group_of("dev/dev-workloads/account"), "dev-workloads");
    }
}
