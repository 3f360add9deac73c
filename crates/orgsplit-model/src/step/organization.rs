//! The inputs of the organization's and the accounts' own steps (trusted access, SCPs, OUs,
//! StackSets, accounts, Regions, budgets), apart from the copies of resources.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Trusted access for a service: CloudFormation StackSets (no principal: activated through
/// CloudFormation), or the named service principal (through Organizations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TrustedAccess {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scp {
    pub name: String,
    pub description: String,
    /// The policy document.
    pub content: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ou {
    pub name: String,
    pub parent_id: String,
    /// Known when the OU exists already.
    pub ou_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScpAttachment {
    /// The SCP's name.
    pub policy: String,
    /// The OU's name.
    pub ou: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StackSet {
    pub stackset_name: String,
    /// The template folder's name under `stacksets/`.
    pub template: String,
    pub template_digest: String,
    pub template_body: String,
    pub description: String,
    pub capabilities: Vec<String>,
    /// Always `SERVICE_MANAGED`: instances follow the OU.
    pub permission_model: String,
    pub auto_deployment: bool,
    pub parameters: BTreeMap<String, String>,
    /// How its operations run across accounts and Regions (plans written before this field
    /// read AWS's defaults as orgsplit's).
    #[serde(default)]
    pub operation: crate::stackset::OperationPreferences,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Account {
    pub name: String,
    pub email: String,
    /// Known when the account exists already.
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccountMove {
    /// An account id, or `${account:NAME}`.
    pub account: String,
    /// The OU's name.
    pub to_ou: String,
    pub from_parent_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RegionOptIn {
    pub account: String,
    pub region: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StackSetInstances {
    pub stackset_name: String,
    pub account: String,
    pub ou: String,
    pub regions: Vec<String>,
    #[serde(default)]
    pub operation: crate::stackset::OperationPreferences,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Budget {
    pub name: String,
    /// Decimal text, as the Budgets API takes amounts (`"500"`, `"99.5"`).
    pub amount_usd: String,
    pub email: String,
    pub threshold_percent: u32,
}
