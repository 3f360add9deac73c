//! The plan file: what `orgsplit apply` will do, for a person to review.
//!
//! Reading a plan checks that it is a JSON object of this orgsplit's `format_version`, and
//! that its content is the one its digest was taken of ([`crate::plan_file`]: one scan of the
//! file's bytes, no second serialisation). A file that does not fit the plan's types is still
//! checked for its version and its digest first, so a tampered file is reported as tampered
//! and a file of another format as such, never as a confusing parse error.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::canonical::{CanonicalHasher, format_version_of};
use crate::kind::ResourceKind;
use crate::plan_file::recorded_and_actual;
use crate::quote::quote_json;
pub use crate::step::{Action, Step, StepKind, StepSpec};

/// Format 5: a step whose inputs name a `source_arn` reads that resource's fingerprint without
/// listing it in `reads` ([`Step::read_keys`]).
pub const PLAN_FORMAT_VERSION: u32 = 5;
/// Formats before, still read (never written): a plan that is being applied when orgsplit is
/// upgraded keeps its digest, which its journal's records name. Their content is the same.
/// Format 4 lists a step's source in its `reads` too; format 3 also has another digest (the
/// compact JSON its types write, with `digest` empty).
pub const PLAN_FORMATS_STILL_READ: [u32; 2] = [4, PLAN_FORMAT_3];
/// The format whose digest is that of its types' compact JSON.
pub const PLAN_FORMAT_3: u32 = 3;

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
    /// The config's `[limits]`: how fast apply, cutover and cleanup may call AWS. Left out when
    /// they are orgsplit's defaults.
    #[serde(default, skip_serializing_if = "crate::config::Limits::is_default")]
    pub limits: crate::config::Limits,
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
    /// `sha256:` of the plan's compact JSON without this member, which is always the last
    /// one: the file's bytes with the whitespace outside strings left out (docs/plan.md).
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

/// Writes `plan` as the plan file and returns the digest it recorded: for a writer that
/// builds the plan as it writes it (the planner), whose `plan` serialises as a [`Plan`] does,
/// member for member and in the same order, `digest` last. [`Plan::write_json`] is this
/// function for a plan in memory.
pub fn write_plan_file<T: Serialize>(
    plan: &T,
    w: &mut (dyn std::io::Write + Send),
) -> std::io::Result<String> {
    crate::plan_file::write_with_digest(plan, w)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error("not a valid plan file: {0}")]
    Malformed(String),
    #[error(
        "plan format_version {found} is not supported (this orgsplit writes {supported}, and reads it, 4 and 3)"
    )]
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

    /// Fills `digest` from the content (what writing the file would record).
    pub fn seal(&mut self) {
        self.digest = self.write_json(&mut std::io::sink()).expect("a plan serialises");
    }

    /// The plan file's text (see [`crate::plan_file`]), with the digest of this content.
    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out).expect("a plan serialises");
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }

    /// [`Plan::to_json`] streamed to `w`, hashed as it is written (the plan is serialised
    /// once); returns the digest it recorded, whatever `self.digest` holds.
    pub fn write_json(&self, w: &mut (dyn std::io::Write + Send)) -> std::io::Result<String> {
        crate::plan_file::write_with_digest(self, w)
    }

    /// Reads a plan file: its types first (the common case costs one parse and one scan of
    /// the bytes for the digest); a file that does not fit them is then probed for its
    /// version, and checked for tampering, so that an edited file is reported as edited and a
    /// file of another format as such, never as a confusing parse error.
    pub fn from_json(text: &str) -> Result<Plan, PlanError> {
        if !text.trim_start().starts_with('{') {
            return Err(PlanError::Malformed("the top level is not a JSON object".into()));
        }
        let parsed = serde_json::from_str::<Plan>(text);
        let version = match &parsed {
            Ok(plan) if is_readable(plan.format_version.into()) => plan.format_version,
            Ok(plan) => return Err(unknown_version(&Value::from(plan.format_version))),
            Err(_) => check_version(text)?,
        };
        if version == PLAN_FORMAT_3 {
            return from_format_3(text, parsed);
        }
        let (recorded, actual) = recorded_and_actual(text).map_err(PlanError::Malformed)?;
        if actual != recorded {
            return Err(PlanError::DigestMismatch { recorded, actual });
        }
        parsed.map_err(|shape| PlanError::Malformed(shape.to_string()))
    }
}

/// A format-3 plan: read into its types and written again, compactly, to be checked; a file
/// that does not fit them has the digest of its own JSON tree checked, so that an edit is
/// still reported as one.
fn from_format_3(text: &str, parsed: serde_json::Result<Plan>) -> Result<Plan, PlanError> {
    match parsed {
        Ok(mut plan) => {
            let recorded = std::mem::take(&mut plan.digest);
            let mut hasher = CanonicalHasher::default();
            serde_json::to_writer(&mut hasher, &plan).expect("a plan serialises");
            let actual = hasher.finish();
            if actual != recorded {
                return Err(PlanError::DigestMismatch { recorded, actual });
            }
            plan.digest = recorded;
            Ok(plan)
        }
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

/// What `orgsplit status` needs of a plan: its recorded digest (the journal's records name it)
/// and each step's address and action, read without the steps' inputs and without checking the
/// digest. A read-only report of a 100,000-step plan then costs a skim of the file, not a
/// parse and a re-serialisation; every command that acts reads the plan whole, checked, with
/// [`Plan::from_json`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlanOutline {
    #[serde(default)]
    pub format_version: Value,
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
        if !text.trim_start().starts_with('{') {
            return Err(PlanError::Malformed("the top level is not a JSON object".into()));
        }
        match serde_json::from_str::<PlanOutline>(text) {
            Ok(outline) if outline.format_version == PLAN_FORMAT_VERSION => Ok(outline),
            parsed => {
                check_version(text)?;
                parsed.map_err(|e| PlanError::Malformed(e.to_string()))
            }
        }
    }
}

/// The formats this orgsplit reads: its own, and those before it still reads.
fn is_readable(version: u64) -> bool {
    std::iter::once(PLAN_FORMAT_VERSION)
        .chain(PLAN_FORMATS_STILL_READ)
        .any(|readable| version == u64::from(readable))
}

/// A plan file's `format_version` must be one this orgsplit reads.
fn check_version(text: &str) -> Result<u32, PlanError> {
    match format_version_of(text).map_err(PlanError::Malformed)? {
        Some(Value::Number(n)) if n.as_u64().is_some_and(is_readable) => {
            Ok(n.as_u64().and_then(|v| u32::try_from(v).ok()).expect("a readable version"))
        }
        Some(other) => Err(unknown_version(&other)),
        None => Err(PlanError::Malformed("no format_version".into())),
    }
}

fn unknown_version(found: &Value) -> PlanError {
    PlanError::UnknownVersion { found: quote_json(found), supported: PLAN_FORMAT_VERSION }
}
