//! Exit codes, the same for every command (README.md), and the one-line errors.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0
    Success,
    /// 1: an AWS call or a step failed.
    Failure,
    /// 2: invalid input (usage, config, plan file, event, template); also `plan
    /// --detailed-exitcode` with changes.
    InvalidInput,
    /// 3: refused for safety.
    Refused,
}

impl ExitStatus {
    pub const CHANGES: ExitStatus = ExitStatus::InvalidInput;

    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::InvalidInput => 2,
            ExitStatus::Refused => 3,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s.code())
    }
}

/// A command's failure: one line naming the problem and the file, field or resource,
/// plus a hint where a fix is known.
#[derive(Debug)]
pub struct CliError {
    pub status: ExitStatus,
    pub message: String,
    pub hint: Option<String>,
}

impl CliError {
    pub fn new(status: ExitStatus, message: impl Into<String>) -> Self {
        CliError { status, message: message.into(), hint: None }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::InvalidInput, message)
    }
    pub fn failure(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Failure, message)
    }
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(ExitStatus::Refused, message)
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl From<orgsplit_model::ConfigError> for CliError {
    fn from(e: orgsplit_model::ConfigError) -> Self {
        CliError { status: ExitStatus::InvalidInput, hint: e.hint.clone(), message: e.to_string() }
    }
}

impl From<orgsplit_aws::AwsError> for CliError {
    fn from(e: orgsplit_aws::AwsError) -> Self {
        let hint = match e.class() {
            orgsplit_aws::ErrorClass::Denied => Some(
                "check the credentials (--profile) and that the access role exists in that account"
                    .to_string(),
            ),
            _ => None,
        };
        CliError { status: ExitStatus::Failure, message: e.to_string(), hint }
    }
}

impl From<orgsplit_inventory::InventoryError> for CliError {
    fn from(e: orgsplit_inventory::InventoryError) -> Self {
        match e {
            orgsplit_inventory::InventoryError::Aws(a) => a.into(),
            other @ orgsplit_inventory::InventoryError::NotManagement { .. } => {
                CliError::failure(other.to_string())
                    .hint("run orgsplit with the management account's credentials")
            }
        }
    }
}

impl From<orgsplit_stacksets::CatalogError> for CliError {
    fn from(e: orgsplit_stacksets::CatalogError) -> Self {
        CliError::invalid(e.to_string())
    }
}
