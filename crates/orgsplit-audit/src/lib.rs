//! `orgsplit audit`: the warning signs of the three incidents of README.md, and common
//! multi-account mistakes, in the source account and every account of the organization.
//!
//! `gather` reads (the inventory collectors for each account, its budgets, the
//! organization's SCPs), `checks` judges, purely, and `finding` is the report.
//!
//! Architecture Invariant: the audit only reads; no call here changes anything in AWS. It
//! never requests a secret value (it reuses the inventory collectors, which never do), so no
//! finding can carry one.
//! Architecture Invariant: nothing here prints; progress goes through [`Reporter`].

pub mod checks;
pub mod facts;
pub mod finding;
mod gather;

pub use finding::{
    AccountRole, AuditReport, AuditedAccount, Finding, FindingCode, REPORT_SCHEMA_VERSION,
    Severity, Summary,
};
pub use gather::{AuditOptions, audit};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Inventory(Box<orgsplit_inventory::InventoryError>),
    #[error(transparent)]
    Aws(Box<orgsplit_aws::AwsError>),
    #[error("--account {account}: not an account of organization {organization}")]
    UnknownAccount { account: String, organization: String },
}

impl From<orgsplit_inventory::InventoryError> for AuditError {
    fn from(e: orgsplit_inventory::InventoryError) -> Self {
        AuditError::Inventory(Box::new(e))
    }
}

impl From<orgsplit_aws::AwsError> for AuditError {
    fn from(e: orgsplit_aws::AwsError) -> Self {
        AuditError::Aws(Box::new(e))
    }
}

/// Progress of an audit, per account. Only the binary draws it.
pub trait Reporter: Send + Sync {
    fn account_started(&self, _account_id: &str, _name: &str) {}
    /// `findings` is `None` when the account could not be read.
    fn account_finished(&self, _account_id: &str, _findings: Option<usize>) {}
}

/// A reporter that reports nothing.
pub struct NoReporter;
impl Reporter for NoReporter {}
