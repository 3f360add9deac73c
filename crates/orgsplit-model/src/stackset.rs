//! What the planner needs to know of a StackSet from the `stacksets/` catalog.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One catalog entry, resolved (shipped default or a folder beside the config).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackSetSpec {
    /// The folder name: `baseline`.
    pub template: String,
    pub description: String,
    /// `sha256:` of `template.yaml`, so an edited template changes the plan.
    pub template_digest: String,
    /// `template.yaml` itself: the plan carries it, so the reviewed template is the one
    /// applied, whatever the `stacksets/` folder holds by then.
    pub template_body: String,
    pub capabilities: Vec<String>,
    /// Template parameter -> where its value comes from.
    pub parameters: BTreeMap<String, ParameterSource>,
    /// How CloudFormation runs this StackSet's operations (`[operation]` in `stackset.toml`).
    pub operation: OperationPreferences,
}

/// How a StackSet operation (an update, instances created or deleted) proceeds across
/// accounts and Regions: CloudFormation's `StackSetOperationPreferences`, as percentages so that
/// they hold for an OU of any size
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html>).
/// Without them AWS acts on one account at a time and stops at the first failure, so an update
/// of an OU of 100 accounts takes 100 deployments end to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OperationPreferences {
    /// Accounts acted on at once, as a percentage of the operation's accounts (1-100; AWS
    /// rounds down, and acts on at least one).
    pub max_concurrent_percentage: u8,
    /// Accounts per Region that may fail before the operation stops there (0-100%).
    pub failure_tolerance_percentage: u8,
    /// Regions one after another, or all at once.
    pub region_concurrency: RegionConcurrency,
    /// `SOFT_FAILURE_TOLERANCE` keeps the concurrency whatever fails (AWS's default,
    /// `STRICT_FAILURE_TOLERANCE`, caps it at the failure tolerance + 1 account).
    pub concurrency_mode: ConcurrencyMode,
}

impl Default for OperationPreferences {
    /// Every account of the OU at once, stopping once more than 10% of them failed, every
    /// Region at once: an OU of 100 accounts is one wave of deployments.
    fn default() -> Self {
        OperationPreferences {
            max_concurrent_percentage: 100,
            failure_tolerance_percentage: 10,
            region_concurrency: RegionConcurrency::Parallel,
            concurrency_mode: ConcurrencyMode::SoftFailureTolerance,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegionConcurrency {
    Sequential,
    Parallel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConcurrencyMode {
    StrictFailureTolerance,
    SoftFailureTolerance,
}

impl RegionConcurrency {
    pub fn as_str(self) -> &'static str {
        match self {
            RegionConcurrency::Sequential => "SEQUENTIAL",
            RegionConcurrency::Parallel => "PARALLEL",
        }
    }
}

impl ConcurrencyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ConcurrencyMode::StrictFailureTolerance => "STRICT_FAILURE_TOLERANCE",
            ConcurrencyMode::SoftFailureTolerance => "SOFT_FAILURE_TOLERANCE",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterSource {
    /// The id of the OU's admin account (`${account:NAME}` until it exists).
    OuAdminAccountId,
    /// The organization's id, for `aws:PrincipalOrgID` conditions.
    OrganizationId,
    OuName,
    Environment,
    Value(String),
}

impl StackSetSpec {
    /// `orgsplit-<template>-<ou>`.
    pub fn stackset_name(&self, ou: &str) -> String {
        format!("orgsplit-{}-{}", self.template, ou)
    }
}

/// What a StackSet's parameters take their values from, for one OU.
pub struct ParameterContext<'a> {
    /// The OU's admin account id (or `${account:NAME}` while it does not exist).
    pub admin_account_id: &'a str,
    pub organization_id: &'a str,
    pub ou_name: &'a str,
    pub environment: &'a str,
}

impl StackSetSpec {
    /// Every template parameter's value for one OU.
    pub fn parameter_values(&self, cx: &ParameterContext<'_>) -> BTreeMap<String, String> {
        self.parameters
            .iter()
            .map(|(k, src)| {
                let v = match src {
                    ParameterSource::OuAdminAccountId => cx.admin_account_id.to_string(),
                    ParameterSource::OrganizationId => cx.organization_id.to_string(),
                    ParameterSource::OuName => cx.ou_name.to_string(),
                    ParameterSource::Environment => cx.environment.to_string(),
                    ParameterSource::Value(v) => v.clone(),
                };
                (k.clone(), v)
            })
            .collect()
    }
}
