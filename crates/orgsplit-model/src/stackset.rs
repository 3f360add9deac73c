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
