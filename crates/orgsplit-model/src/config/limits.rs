//! `[limits]`: orgsplit's own request rates, per (account, Region, service), or per operation.
//!
//! ```toml
//! [limits]
//! enabled = true                                   # false: no client-side limit (measurement only)
//! ssm = { rate = 30, burst = 40 }                  # requests a second, and the bucket's size
//! "ssm:PutParameter" = { rate = 2.9, burst = 2 }   # an operation with its own, lower quota
//! ```
//!
//! A rate given here is a ceiling: the limiter starts there and slows down by itself when AWS
//! throttles (docs/performance.md, "Adaptive pacing").

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

use super::ConfigError;
use super::raw::RawLimit;
use super::validate::Cx;
use crate::quote::quote;

/// The services orgsplit calls, as their limits are keyed (the SDK's signing name).
pub const LIMITED_SERVICES: [&str; 19] = [
    "budgets",
    "cloudformation",
    "codeconnections",
    "codepipeline",
    "ecr",
    "ecs",
    "events",
    "iam",
    "lambda",
    "logs",
    "organizations",
    "ram",
    "s3",
    "scheduler",
    "secretsmanager",
    "sqs",
    "ssm",
    "sts",
    "tagging",
];

/// A rate above this is a typo, not a quota (AWS's highest default API quotas are in the
/// thousands a second: S3's 3,500 writes and 5,500 reads a second per prefix).
const MAX_RATE: f64 = 10_000.0;

/// The plan records these (its `limits` member, left out when they are the defaults), so that
/// `apply`, `cutover` and `cleanup`, which read the plan and not the config, pace their calls
/// as the reviewed plan says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// `false` turns client-side limiting off (for measuring what it costs; never against an
    /// account that serves production).
    #[serde(default = "enabled_by_default", skip_serializing_if = "is_enabled")]
    pub enabled: bool,
    /// `service` or `service:Operation` -> its ceiling, over orgsplit's defaults.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rates: BTreeMap<String, Limit>,
}

fn enabled_by_default() -> bool {
    true
}

fn is_enabled(enabled: &bool) -> bool {
    *enabled
}

impl Limits {
    /// No `[limits]` table, or one that says nothing new.
    pub fn is_default(&self) -> bool {
        *self == Limits::default()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits { enabled: true, rates: BTreeMap::new() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    /// Requests a second.
    pub rate: f64,
    /// How many may go at once after a quiet spell.
    pub burst: f64,
}

pub(super) fn limits(
    cx: &Cx<'_>,
    raw: Option<BTreeMap<String, Spanned<toml::Value>>>,
) -> Result<Limits, ConfigError> {
    let Some(raw) = raw else { return Ok(Limits::default()) };
    let mut limits = Limits::default();
    for (key, value) in raw {
        let at = format!("limits.{key}");
        let span = value.span();
        if key == "enabled" {
            limits.enabled = value
                .get_ref()
                .as_bool()
                .ok_or_else(|| cx.err(span.clone(), &at, "must be true or false"))?;
            continue;
        }
        let (service, operation) = match key.split_once(':') {
            Some((s, op)) => (s, Some(op)),
            None => (key.as_str(), None),
        };
        if !LIMITED_SERVICES.contains(&service) {
            let mut e =
                cx.err(span, &at, format!("{} is not a service orgsplit calls", quote(service)));
            e.hint = Some(format!("one of: {}", LIMITED_SERVICES.join(", ")));
            return Err(e);
        }
        if let Some(op) = operation
            && !(op.starts_with(|c: char| c.is_ascii_uppercase())
                && op.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            let mut e = cx.err(span, &at, format!("{} is not an operation name", quote(op)));
            e.hint = Some("as the API reference names it: \"ssm:PutParameter\"".into());
            return Err(e);
        }
        let RawLimit { rate, burst } = value
            .into_inner()
            .try_into()
            .map_err(|e: toml::de::Error| cx.err(span.clone(), &at, e.message().to_string()))?;
        if !(rate > 0.0 && rate <= MAX_RATE) {
            return Err(cx.err(
                span,
                format!("{at}.rate"),
                format!("{rate} is not a rate above 0 and at most {MAX_RATE} a second"),
            ));
        }
        let burst = burst.unwrap_or(rate.max(1.0));
        if !(1.0..=MAX_RATE).contains(&burst) {
            return Err(cx.err(
                span,
                format!("{at}.burst"),
                format!("{burst} is not a burst of 1 to {MAX_RATE}"),
            ));
        }
        limits.rates.insert(key, Limit { rate, burst });
    }
    Ok(limits)
}
