//! The plan file: what `orgsplit apply` will do, for a person to review.
//!
//! Reading a plan checks, in this order: it is JSON with a `format_version` this orgsplit
//! knows, its `digest` matches its content, and only then its shape. So a tampered file is
//! reported as tampered, never as a confusing parse error.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::canonical::{canonical_json, sha256_hex};
use crate::kind::ResourceKind;
pub use crate::step::{Action, Step, StepKind, StepSpec};

pub const PLAN_FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    pub format_version: u32,
    pub orgsplit_version: String,
    pub created_at: String,
    pub organization_id: String,
    pub management_account_id: String,
    pub source_account_id: String,
    pub home_region: String,
    /// The role apply assumes in member accounts (the config's `access_role`).
    pub access_role: String,
    pub regions: Vec<String>,
    pub config_digest: String,
    pub inventory_digest: String,
    /// Live object (ARN, or `organization`) -> fingerprint when planned. Apply re-reads each
    /// and refuses a stale plan.
    pub fingerprints: BTreeMap<String, String>,
    /// Organization-wide steps (trusted access, the guardrail SCP).
    pub organization: Vec<Step>,
    pub ous: Vec<OuPlan>,
    /// Every inventoried resource exactly once: its environment, why, and its steps.
    pub resources: Vec<ResourceEntry>,
    /// Resources no rule and no reference classified. Apply refuses while any remain.
    pub unclassified: Vec<ResourceEntry>,
    pub warnings: Vec<Warning>,
    /// The inventory's direct listings of kinds orgsplit does not migrate (what the review
    /// says was swept, and what could not be listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<crate::inventory::Coverage>,
    /// `sha256:` of the canonical JSON of everything above.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OuPlan {
    pub name: String,
    pub environment: String,
    /// The admin account: an account name of the config, or an id.
    pub admin_account: String,
    pub steps: Vec<Step>,
    pub accounts: Vec<AccountPlan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccountPlan {
    pub name: String,
    pub email: String,
    /// Known when the account exists already; else `${account:NAME}` until apply creates it.
    pub account_id: Option<String>,
    pub workloads: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceEntry {
    pub arn: String,
    pub kind: ResourceKind,
    pub name: String,
    pub region: Option<String>,
    /// An OU environment, `shared`, `ignore`, or `unclassified`.
    pub environment: String,
    /// Which rule or which references decided the environment.
    pub reason: String,
    /// The addresses of the steps this resource produced (several when shared).
    pub steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub struct Warning {
    /// The resource or step the warning is about, when there is one.
    pub subject: Option<String>,
    pub message: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("not a valid plan file: {0}")]
    Malformed(String),
    #[error("plan format_version {found} is not supported (this orgsplit reads {supported})")]
    UnknownVersion { found: String, supported: u32 },
    #[error(
        "plan digest mismatch: the file was changed after it was written (recorded {recorded}, content is {actual})"
    )]
    DigestMismatch { recorded: String, actual: String },
}

impl Plan {
    /// Iterates every step: organization, then each OU's own, then its accounts'.
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.organization.iter().chain(
            self.ous.iter().flat_map(|ou| {
                ou.steps.iter().chain(ou.accounts.iter().flat_map(|a| a.steps.iter()))
            }),
        )
    }

    pub fn ou(&self, name: &str) -> Option<&OuPlan> {
        self.ous.iter().find(|o| o.name == name)
    }

    pub fn has_changes(&self) -> bool {
        self.steps().any(|s| s.action.is_change())
    }

    /// Fills `digest` from the content.
    pub fn seal(&mut self) {
        self.digest = String::new();
        let value = serde_json::to_value(&*self).expect("plan serialises");
        self.digest = content_digest(&value);
    }

    /// The plan file's text: pretty JSON with a trailing newline, diff-friendly.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plan serialises");
        s.push('\n');
        s
    }

    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| PlanError::Malformed(e.to_string()))?;
        let Value::Object(map) = &value else {
            return Err(PlanError::Malformed("the top level is not a JSON object".into()));
        };
        match map.get("format_version") {
            Some(Value::Number(n)) if n.as_u64() == Some(u64::from(PLAN_FORMAT_VERSION)) => {}
            Some(other) => {
                return Err(PlanError::UnknownVersion {
                    found: other.to_string(),
                    supported: PLAN_FORMAT_VERSION,
                });
            }
            None => return Err(PlanError::Malformed("no format_version".into())),
        }
        let recorded = match map.get("digest") {
            Some(Value::String(d)) => d.clone(),
            _ => return Err(PlanError::Malformed("no digest".into())),
        };
        let actual = content_digest(&value);
        if actual != recorded {
            return Err(PlanError::DigestMismatch { recorded, actual });
        }
        serde_json::from_value(value).map_err(|e| PlanError::Malformed(e.to_string()))
    }
}

/// The digest of a plan's JSON with its `digest` field emptied.
fn content_digest(value: &Value) -> String {
    let mut value = value.clone();
    if let Value::Object(map) = &mut value {
        map.insert("digest".into(), Value::String(String::new()));
    }
    sha256_hex(canonical_json(&value).as_bytes())
}
