//! What the planner needs to know of a StackSet from the `stacksets/` catalog.

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
