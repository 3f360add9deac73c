//! Applying one OU's part of a plan: pre-checks, the executor (dependency graph, bounded
//! concurrency, journal, lock), one module per step kind, and a [`Reporter`] for progress.
//!
//! Architecture Invariant: this crate never prints. Progress goes through [`Reporter`],
//! which only the binary implements.
//! Architecture Invariant: every mutating step is journaled before and after it runs, and
//! is idempotent (check, then act, then read back).

pub mod cleanup;
pub mod context;
pub mod cutover;
pub mod events;
mod executor;
pub mod journal;
pub mod lock;
pub mod placeholders;
mod precheck;
pub mod reporter;
mod steps;

use orgsplit_aws::AwsError;

pub use context::{Outcome, Shared, StepContext, StepError, StepOutputs};
pub use executor::{DEFAULT_CONCURRENCY, Executor, RunSummary, select};
pub use journal::{Journal, JournalError, journal_path};
pub use lock::{LockError, PlanLock, lock_path};
pub use precheck::{Precheck, StaleObject, precheck, precheck_copies};
pub use reporter::{NoReporter, Reporter, StepStatus, group_of};
pub use steps::ecr::pull_statement as ecr_pull_statement;
pub use steps::run as run_step;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the plan has no OU {ou:?} (it has: {})", known.join(", "))]
    UnknownOu { ou: String, known: Vec<String> },
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Lock(#[from] LockError),
    /// Boxed, as AWS errors are large.
    #[error(transparent)]
    Aws(Box<AwsError>),
    #[error(transparent)]
    Inventory(Box<orgsplit_inventory::InventoryError>),
    #[error(
        "the caller is account {caller}, but the plan was made for management account {expected}"
    )]
    WrongCaller { caller: String, expected: String },
    #[error("the caller's organization is {actual}, but the plan was made for {expected}")]
    WrongOrganization { actual: String, expected: String },
    #[error("the plan has {count} unclassified resources (first: {first})")]
    Unclassified { count: usize, first: String },
    #[error("plan is stale: {} live objects changed since it was made (first: {} {})", objects.len(), objects[0].key, objects[0].change)]
    Stale { objects: Vec<StaleObject> },
    #[error("OU {ou} is not fully applied: {pending} steps have not succeeded (first: {first})")]
    NotApplied { ou: String, pending: usize, first: String },
    #[error(
        "the cutover of OU {ou} is not complete: {pending} actions have not succeeded (first: {first})"
    )]
    NotCutOver { ou: String, pending: usize, first: String },
    #[error(
        "the cleanup of OU {ou} has begun: the shared account's copies of its resources may be gone"
    )]
    CleanupBegan { ou: String },
    #[error("the last {command} of OU {ou} did not finish")]
    Unfinished { ou: String, command: &'static str },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<AwsError> for ApplyError {
    fn from(e: AwsError) -> Self {
        ApplyError::Aws(Box::new(e))
    }
}

impl From<orgsplit_inventory::InventoryError> for ApplyError {
    fn from(e: orgsplit_inventory::InventoryError) -> Self {
        ApplyError::Inventory(Box::new(e))
    }
}
