//! The configuration as written: TOML with spans, so validation can name line and key.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) version: Spanned<i64>,
    pub(super) home_region: Spanned<String>,
    pub(super) regions: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub(super) access_role: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) copy_objects: bool,
    pub(super) source: Spanned<RawSource>,
    #[serde(default, rename = "ou")]
    pub(super) ous: Vec<Spanned<RawOu>>,
    #[serde(default, rename = "account")]
    pub(super) accounts: Vec<Spanned<RawAccount>>,
    #[serde(default, rename = "rule")]
    pub(super) rules: Vec<Spanned<RawRule>>,
    #[serde(default)]
    pub(super) guardrails: Option<RawGuardrails>,
    #[serde(default, rename = "network")]
    pub(super) networks: Vec<Spanned<RawNetwork>>,
    #[serde(default)]
    pub(super) bucket_names: BTreeMap<String, Spanned<RawBucketName>>,
    #[serde(default)]
    pub(super) connection: Option<Spanned<RawConnection>>,
    #[serde(default)]
    pub(super) trigger: Option<RawTrigger>,
    #[serde(default)]
    pub(super) limits: Option<BTreeMap<String, Spanned<toml::Value>>>,
}

/// One `[limits]` entry: `SERVICE` or `"SERVICE:Operation"` = `{ rate, burst }` (the table
/// is read as values first: `enabled` is a boolean among them).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimit {
    pub(super) rate: f64,
    #[serde(default)]
    pub(super) burst: Option<f64>,
}

/// `[trigger]`: `control_tower_home_region = "REGION"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTrigger {
    #[serde(default)]
    pub(super) control_tower_home_region: Option<Spanned<String>>,
}

/// `[connection]`: `owner = "management" | "source" | "ACCOUNT_ID"`, `name = "…"`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConnection {
    #[serde(default)]
    pub(super) owner: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) name: Option<Spanned<String>>,
}

/// `[bucket_names]`: `"SOURCE" = "COPY"`, or `"SOURCE" = { ENV = "COPY", … }`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawBucketName {
    One(String),
    PerEnvironment(BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    pub(super) account_id: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOu {
    pub(super) name: Spanned<String>,
    pub(super) environment: Spanned<String>,
    pub(super) admin_account: Spanned<String>,
    #[serde(default)]
    pub(super) stacksets: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccount {
    pub(super) name: Spanned<String>,
    pub(super) email: Spanned<String>,
    pub(super) ou: Spanned<String>,
    #[serde(default)]
    pub(super) workloads: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) environment: Spanned<String>,
    #[serde(default)]
    pub(super) tag: Option<Spanned<RawTag>>,
    #[serde(default)]
    pub(super) name_pattern: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) kinds: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTag {
    pub(super) key: Spanned<String>,
    pub(super) values: Spanned<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGuardrails {
    #[serde(default)]
    pub(super) monthly_budget_usd: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) budget_email: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) max_task_hours: Option<Spanned<i64>>,
    #[serde(default)]
    pub(super) protected_tag_keys: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNetwork {
    pub(super) environment: Spanned<String>,
    pub(super) subnets: Spanned<Vec<String>>,
    #[serde(default)]
    pub(super) security_groups: Vec<String>,
    #[serde(default)]
    pub(super) assign_public_ip: bool,
}
