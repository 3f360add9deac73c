//! The plan file: what `orgsplit apply` will do, for a person to review.
//!
//! Reading a plan checks, in this order: it is JSON with a `format_version` this orgsplit
//! knows, its `digest` matches its content, and only then its shape. So a tampered file is
//! reported as tampered, never as a confusing parse error.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::canonical::{CanonicalHasher, field, write_canonical};
use crate::kind::ResourceKind;
pub use crate::step::{Action, Step, StepKind, StepSpec};

pub const PLAN_FORMAT_VERSION: u32 = 3;

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
        self.digest = self.content_digest();
    }

    /// The digest of the canonical JSON with `digest` empty: the same as that of
    /// `serde_json::to_value(self)`, written a step at a time so that a plan of 100,000 steps
    /// is never held twice. `content_digest` of a file's JSON gives the same.
    pub fn content_digest(&self) -> String {
        let steps = |steps: &[Step]| -> Box<dyn FnOnce(&mut CanonicalHasher) + '_> {
            Box::new(move |h: &mut CanonicalHasher| h.array(steps, |h, s| h.value(s)))
        };
        let account = |h: &mut CanonicalHasher, a: &AccountPlan| {
            h.object(vec![
                field("name", &a.name),
                field("email", &a.email),
                field("account_id", &a.account_id),
                field("workloads", &a.workloads),
                ("steps", steps(&a.steps)),
            ])
        };
        let ou = |h: &mut CanonicalHasher, o: &OuPlan| {
            h.object(vec![
                field("name", &o.name),
                field("environment", &o.environment),
                field("admin_account", &o.admin_account),
                ("steps", steps(&o.steps)),
                ("accounts", Box::new(move |h: &mut CanonicalHasher| h.array(&o.accounts, account))),
            ])
        };
        let mut fields = vec![
            field("format_version", &self.format_version),
            field("orgsplit_version", &self.orgsplit_version),
            field("created_at", &self.created_at),
            field("organization_id", &self.organization_id),
            field("management_account_id", &self.management_account_id),
            field("source_account_id", &self.source_account_id),
            field("home_region", &self.home_region),
            field("access_role", &self.access_role),
            field("regions", &self.regions),
            field("config_digest", &self.config_digest),
            field("inventory_digest", &self.inventory_digest),
            field("fingerprints", &self.fingerprints),
            ("organization", steps(&self.organization)),
            ("ous", Box::new(|h: &mut CanonicalHasher| h.array(&self.ous, ou))),
            ("resources", Box::new(|h: &mut CanonicalHasher| h.array(&self.resources, |h, r| h.value(r)))),
            field("unclassified", &self.unclassified),
            field("warnings", &self.warnings),
            field("digest", ""),
        ];
        if !self.coverage.is_empty() {
            fields.push(field("coverage", &self.coverage));
        }
        let mut hasher = CanonicalHasher::default();
        hasher.object(fields);
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
        let mut value: Value =
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
        let actual = content_digest(&mut value);
        if actual != recorded {
            return Err(PlanError::DigestMismatch { recorded, actual });
        }
        serde_json::from_value(value).map_err(|e| PlanError::Malformed(e.to_string()))
    }
}

/// The digest of a plan's JSON with its `digest` field emptied.
fn content_digest(value: &mut Value) -> String {
    let recorded = match value {
        Value::Object(map) => map.insert("digest".into(), Value::String(String::new())),
        _ => None,
    };
    let mut hasher = CanonicalHasher::default();
    write_canonical(value, &mut hasher).expect("hashing cannot fail");
    if let (Value::Object(map), Some(recorded)) = (value, recorded) {
        map.insert("digest".into(), recorded);
    }
    hasher.finish()
}
