//! The plan file: what `orgsplit apply` will do, for a person to review.
//!
//! Reading a plan checks, in this order: it is a JSON object with a `format_version` this
//! orgsplit knows; then it is read into its types and written again, and that compact JSON's
//! digest must be the recorded one; a file that is not a plan's shape has its own JSON tree
//! digested instead. So a tampered file is reported as tampered, never as a confusing parse
//! error.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::canonical::{CanonicalHasher, format_version_of};
use crate::kind::ResourceKind;
pub use crate::step::{Action, Step, StepKind, StepSpec};

pub const PLAN_FORMAT_VERSION: u32 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
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
    /// `sha256:` of the plan's compact JSON as its types write it, with `digest` empty.
    pub digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OuPlan {
    pub name: String,
    pub environment: String,
    /// The admin account: an account name of the config, or an id.
    pub admin_account: String,
    pub steps: Vec<Step>,
    pub accounts: Vec<AccountPlan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPlan {
    pub name: String,
    pub email: String,
    /// Known when the account exists already; else `${account:NAME}` until apply creates it.
    pub account_id: Option<String>,
    pub workloads: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
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
        self.digest = self.unsigned_digest();
    }

    /// `sha256:` of the compact JSON of the plan as its types write it, with `digest` empty
    /// (format 3). Streamed into the hasher: a plan of 100,000 steps is never written twice.
    /// Whitespace and indentation are not part of it; every member's content is.
    fn unsigned_digest(&self) -> String {
        debug_assert!(self.digest.is_empty());
        let mut hasher = CanonicalHasher::default();
        serde_json::to_writer(&mut hasher, self).expect("a plan serialises");
        hasher.finish()
    }

    /// The plan file's text: pretty JSON with a trailing newline, diff-friendly.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plan serialises");
        s.push('\n');
        s
    }

    /// [`Plan::to_json`] streamed to `w`.
    pub fn write_json(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *w, self)?;
        w.write_all(b"\n")
    }

    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        check_version(text)?;
        match serde_json::from_str::<Plan>(text) {
            Ok(mut plan) => {
                let recorded = std::mem::take(&mut plan.digest);
                let actual = plan.unsigned_digest();
                if actual != recorded {
                    return Err(PlanError::DigestMismatch { recorded, actual });
                }
                plan.digest = recorded;
                Ok(plan)
            }
            // Not a plan's shape: a tampered file is still reported as tampered. Written by
            // orgsplit, the file's members are in the types' order, so the digest of its own
            // JSON tree is the recorded one unless it was changed.
            Err(shape) => {
                let mut value: Value =
                    serde_json::from_str(text).map_err(|e| PlanError::Malformed(e.to_string()))?;
                let Some(Value::String(recorded)) =
                    value.as_object_mut().and_then(|m| m.insert("digest".into(), "".into()))
                else {
                    return Err(PlanError::Malformed("no digest".into()));
                };
                let mut hasher = CanonicalHasher::default();
                serde_json::to_writer(&mut hasher, &value).expect("a JSON tree serialises");
                let actual = hasher.finish();
                if actual != recorded {
                    return Err(PlanError::DigestMismatch { recorded, actual });
                }
                Err(PlanError::Malformed(shape.to_string()))
            }
        }
    }
}

/// What `orgsplit status` needs of a plan: its recorded digest (the journal's records name it)
/// and each step's address and action, read without the steps' inputs and without checking the
/// digest. A read-only report of a 100,000-step plan then costs a skim of the file, not a
/// parse and a re-serialisation; every command that acts reads the plan whole, checked, with
/// [`Plan::from_json`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanOutline {
    pub digest: String,
    pub organization: Vec<StepOutline>,
    pub ous: Vec<OuOutline>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OuOutline {
    pub name: String,
    pub steps: Vec<StepOutline>,
    pub accounts: Vec<AccountOutline>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AccountOutline {
    pub name: String,
    pub account_id: Option<String>,
    pub steps: Vec<StepOutline>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StepOutline {
    pub address: String,
    pub action: Action,
}

impl PlanOutline {
    /// The outline of a plan file of this orgsplit's format (the version is checked as
    /// [`Plan::from_json`] checks it; the digest is not).
    pub fn from_json(text: &str) -> Result<PlanOutline, PlanError> {
        check_version(text)?;
        serde_json::from_str(text).map_err(|e| PlanError::Malformed(e.to_string()))
    }
}

/// A plan file's `format_version` must be this orgsplit's.
fn check_version(text: &str) -> Result<(), PlanError> {
    match format_version_of(text).map_err(PlanError::Malformed)? {
        Some(Value::Number(n)) if n.as_u64() == Some(u64::from(PLAN_FORMAT_VERSION)) => Ok(()),
        Some(other) => Err(PlanError::UnknownVersion {
            found: other.to_string(),
            supported: PLAN_FORMAT_VERSION,
        }),
        None => Err(PlanError::Malformed("no format_version".into())),
    }
}
