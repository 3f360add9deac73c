//! What the audit reports: findings with a severity and a one-line fix, per account, in a
//! JSON form whose schema is documented in `docs/audit.md` and versioned by
//! [`REPORT_SCHEMA_VERSION`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Bumped when a field of the JSON report changes meaning or goes away (adding one does not).
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// Ordered from least to most severe, so `>=` reads "at or above".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails `--fail-on`.
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Most severe first.
    pub const DESCENDING: [Severity; 4] =
        [Severity::High, Severity::Medium, Severity::Low, Severity::Info];
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every finding the audit knows, each with a stable code (`--output json`'s `code`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum FindingCode {
    /// Resources of more than one environment share the account (incident 1).
    MixedEnvironments,
    /// A standalone ECS task has run longer than `max_task_hours` (incident 2).
    LongRunningTask,
    /// The account has no AWS Budgets budget (incident 2).
    NoBudget,
    /// A pipeline's source is a v1 GitHub action holding an OAuth token (incident 3).
    V1GithubSource,
    /// A role any AWS principal may assume.
    RoleTrustsAnyone,
    /// A role that principals of an account outside the organization may assume.
    RoleTrustsOutsideOrg,
    /// A `protected_tag_keys` key that no SCP in force on the account protects.
    UnprotectedTagKey,
    /// Workloads in the management account, where no SCP applies.
    ManagementAccountWorkloads,
    /// The access role still holds AdministratorAccess after the account was bootstrapped.
    AccessRoleAdmin,
}

impl FindingCode {
    pub const ALL: [FindingCode; 9] = [
        FindingCode::MixedEnvironments,
        FindingCode::LongRunningTask,
        FindingCode::NoBudget,
        FindingCode::V1GithubSource,
        FindingCode::RoleTrustsAnyone,
        FindingCode::RoleTrustsOutsideOrg,
        FindingCode::UnprotectedTagKey,
        FindingCode::ManagementAccountWorkloads,
        FindingCode::AccessRoleAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::MixedEnvironments => "mixed-environments",
            FindingCode::LongRunningTask => "long-running-task",
            FindingCode::NoBudget => "no-budget",
            FindingCode::V1GithubSource => "v1-github-source",
            FindingCode::RoleTrustsAnyone => "role-trusts-anyone",
            FindingCode::RoleTrustsOutsideOrg => "role-trusts-outside-org",
            FindingCode::UnprotectedTagKey => "unprotected-tag-key",
            FindingCode::ManagementAccountWorkloads => "management-account-workloads",
            FindingCode::AccessRoleAdmin => "access-role-admin",
        }
    }

    /// The severity every finding of this code has.
    pub fn severity(self) -> Severity {
        match self {
            FindingCode::MixedEnvironments
            | FindingCode::V1GithubSource
            | FindingCode::RoleTrustsAnyone
            | FindingCode::ManagementAccountWorkloads => Severity::High,
            FindingCode::LongRunningTask
            | FindingCode::NoBudget
            | FindingCode::RoleTrustsOutsideOrg
            | FindingCode::UnprotectedTagKey => Severity::Medium,
            FindingCode::AccessRoleAdmin => Severity::Info,
        }
    }
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding in one account. Never holds a secret value: the audit reads no secret, and
/// a finding names resources by name or ARN only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    pub account_id: String,
    /// `None` for global things (IAM, budgets, SCPs) and whole-account findings.
    pub region: Option<String>,
    /// What the finding is about (a pipeline name, a role ARN, `tag:KEY`, …); `None` when it
    /// is about the whole account.
    pub resource: Option<String>,
    /// One line: what is wrong.
    pub message: String,
    /// One line: how to fix it.
    pub fix: String,
    /// Machine-readable facts behind the message (counts, names); a JSON object.
    pub details: Value,
}

impl Finding {
    pub fn new(
        code: FindingCode,
        account_id: &str,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            code,
            severity: code.severity(),
            account_id: account_id.to_string(),
            region: None,
            resource: None,
            message: message.into(),
            fix: fix.into(),
            details: Value::Object(Default::default()),
        }
    }

    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    fn sort_key(&self) -> (&str, std::cmp::Reverse<Severity>, FindingCode, &str, &str) {
        (
            &self.account_id,
            std::cmp::Reverse(self.severity),
            self.code,
            self.region.as_deref().unwrap_or(""),
            self.resource.as_deref().unwrap_or(""),
        )
    }
}

/// How an account relates to the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountRole {
    /// The organization's management account (the caller's).
    Management,
    /// The shared account named by `[source] account_id`.
    Source,
    /// Any other account of the organization.
    Member,
}

/// One account the audit looked at (or tried to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditedAccount {
    pub account_id: String,
    pub name: String,
    pub role: AccountRole,
    /// The OU's name when the account sits in one directly under the root's tree; `None` at
    /// the root.
    pub ou: Option<String>,
    /// `false` when the account could not be read (see `error`) or was skipped.
    pub audited: bool,
    /// Why reading the account failed.
    pub error: Option<String>,
    /// Why the account was not read at all (a suspended account).
    pub skipped: Option<String>,
    /// Resources read in the account.
    pub resources: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub accounts: usize,
    /// Accounts whose reading failed (skipped ones are not counted).
    pub not_audited: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
}

/// The whole audit, as `--output json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditReport {
    pub schema_version: u32,
    pub orgsplit_version: String,
    /// RFC 3339, UTC: the clock long-running tasks were measured against.
    pub audited_at: String,
    pub organization_id: String,
    pub management_account_id: String,
    pub max_task_hours: u32,
    pub accounts: Vec<AuditedAccount>,
    /// Sorted by account, most severe first, then code, region and resource.
    pub findings: Vec<Finding>,
    pub summary: Summary,
}

impl AuditReport {
    /// Sorts accounts and findings and computes the summary.
    pub fn seal(&mut self) {
        self.accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        self.findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        self.summary = Summary {
            accounts: self.accounts.len(),
            not_audited: self.accounts.iter().filter(|a| a.error.is_some()).count(),
            high: count(Severity::High),
            medium: count(Severity::Medium),
            low: count(Severity::Low),
            info: count(Severity::Info),
        };
    }

    /// Whether a finding at or above `threshold` exists.
    pub fn has_at_or_above(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }

    pub fn findings_of<'a>(&'a self, account_id: &'a str) -> impl Iterator<Item = &'a Finding> {
        self.findings.iter().filter(move |f| f.account_id == account_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_codes_serialise_as_documented() {
        assert!(Severity::High > Severity::Medium && Severity::Low > Severity::Info);
        for code in FindingCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), Value::String(code.as_str().into()));
        }
        assert_eq!(serde_json::to_value(Severity::High).unwrap(), "high");
    }

    #[test]
    fn seal_sorts_most_severe_first_and_counts() {
        let mut r = AuditReport {
            schema_version: REPORT_SCHEMA_VERSION,
            orgsplit_version: "0".into(),
            audited_at: "2026-11-23T00:00:00Z".into(),
            organization_id: "o-1".into(),
            management_account_id: "1".into(),
            max_task_hours: 24,
            accounts: vec![],
            findings: vec![
                Finding::new(FindingCode::AccessRoleAdmin, "2", "m", "f"),
                Finding::new(FindingCode::NoBudget, "1", "m", "f"),
                Finding::new(FindingCode::V1GithubSource, "1", "m", "f").resource("p"),
            ],
            summary: Summary::default(),
        };
        r.seal();
        let codes: Vec<_> = r.findings.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            [FindingCode::V1GithubSource, FindingCode::NoBudget, FindingCode::AccessRoleAdmin]
        );
        assert_eq!((r.summary.high, r.summary.medium, r.summary.info), (1, 1, 1));
        assert!(r.has_at_or_above(Severity::Medium));
        assert!(r.has_at_or_above(Severity::High));
        r.findings.retain(|f| f.severity == Severity::Info);
        assert!(!r.has_at_or_above(Severity::Low));
    }
}
