//! The StackSet reconcile shared by `orgsplit apply` (the stack-set and
//! stack-set-instances steps), `orgsplit reconcile` and the new-account trigger.
//!
//! For one account: its OU's StackSets exist as wanted, the account has their instances,
//! it has none of any other OU's orgsplit StackSets, and every role those templates name
//! trusts exactly the OU's admin account. The outcome is the same whether or not AWS
//! auto-deployment already ran, and a second run changes nothing.
//!
//! Calls for one account are bounded by the number of StackSets, never by the size of the
//! organization: one ListParents, per StackSet one Describe/List, and the writes needed.

mod backfill;
mod desired;
mod instances;
mod stackset;
mod trust;
mod wait;

pub use backfill::{ACCOUNTS_PER_OPERATION, Backfill, backfill};
pub use desired::{AdminLookup, Desired, accounts_of, desired, desired_with};
pub use instances::{Instance, Target, ensure_instances, list_instances, remove_instances};
pub use stackset::{
    EnsuredStackSet, StackSetChange, describe, differences, ensure_stackset, parameters_of,
};
pub use trust::{ADMIN_PARAMETER, Expected, ORGANIZATION_PARAMETER, check_policy, verify_trust};

use orgsplit_aws::{AccountSession, Aws, AwsError, organizations};
use orgsplit_model::stackset::OperationPreferences;
use std::collections::BTreeMap;

/// A StackSet as one OU wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredStackSet {
    /// `orgsplit-<template>-<ou>`.
    pub name: String,
    pub template_body: String,
    pub description: String,
    pub capabilities: Vec<String>,
    /// Template parameter -> value (the OU's admin account id, the organization id, …).
    pub parameters: BTreeMap<String, String>,
    /// Auto-deployment on (the default) makes AWS follow accounts in and out of the OU
    /// between two reconciles.
    pub auto_deployment: bool,
    /// Where its instances go (orgsplit's home region).
    pub regions: Vec<String>,
    /// How its operations run across accounts and Regions.
    pub operation: OperationPreferences,
}

/// One OU and the StackSets every account of it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OuStackSets {
    pub ou_name: String,
    pub ou_id: String,
    pub stacksets: Vec<DesiredStackSet>,
}

/// What reconciling one account did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountReconcile {
    pub account_id: String,
    /// The account's OU, when it is one of those reconciled.
    pub ou_name: Option<String>,
    pub stacksets_created: Vec<String>,
    pub stacksets_updated: Vec<String>,
    /// `StackSet region` of every instance created.
    pub instances_created: Vec<String>,
    /// `StackSet region` of every instance removed (StackSets of OUs the account left).
    pub instances_removed: Vec<String>,
    /// `StackSet role` of every role whose trust was checked.
    pub roles_verified: Vec<String>,
    /// Why nothing was done, when nothing could be (the management account).
    pub skipped: Option<String>,
}

impl AccountReconcile {
    pub fn changed(&self) -> bool {
        !(self.stacksets_created.is_empty()
            && self.stacksets_updated.is_empty()
            && self.instances_created.is_empty()
            && self.instances_removed.is_empty())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Boxed: an AWS error is large, and most results carry none.
    #[error(transparent)]
    Aws(Box<AwsError>),
    #[error(
        "StackSet {stackset}: operation {operation_id} for account {account} ended {status}: {reason}"
    )]
    OperationFailed {
        stackset: String,
        account: String,
        operation_id: String,
        status: String,
        reason: String,
    },
    #[error("StackSet {stackset}: {what} after 30 minutes")]
    Timeout { stackset: String, what: String },
    #[error("StackSet {stackset}: template: {message}")]
    Template { stackset: String, message: String },
    /// A role trusts someone else than the OU's admin account (or does not exist).
    #[error("role {role} in account {account} {problem}")]
    Trust { role: String, account: String, problem: String },
    /// Reading back after a write found something else than what was written.
    #[error("{0}")]
    Verify(String),
    /// Something in the way that orgsplit must not change by itself.
    #[error("{0}")]
    Conflict(String),
    #[error("account {0} is not in the organization (ListParents returned no parent)")]
    NoParent(String),
}

impl From<AwsError> for ReconcileError {
    fn from(e: AwsError) -> Self {
        ReconcileError::Aws(Box::new(e))
    }
}

/// The id of the account's parent (an OU or the root).
pub async fn parent_of(mgmt: &AccountSession, account_id: &str) -> Result<String, ReconcileError> {
    organizations::parent_of(mgmt, account_id)
        .await?
        .ok_or_else(|| ReconcileError::NoParent(account_id.to_string()))
}

/// The id of the OU named `name` directly under the root, if there is one.
pub async fn ou_id_by_name(
    mgmt: &AccountSession,
    name: &str,
) -> Result<Option<String>, ReconcileError> {
    let Some(root) = organizations::root(mgmt).await? else {
        return Ok(None);
    };
    let root_id = root.id().unwrap_or_default();
    Ok(organizations::ou_named(mgmt, root_id, name).await?)
}

/// Reconciles one account against every OU's StackSets (`desired`): see the module doc.
/// Instances of other OUs' StackSets go first: two OUs' templates may create the same
/// role name, which the new instance could not create while the old one holds it.
pub async fn reconcile_account(
    aws: &Aws,
    desired: &[OuStackSets],
    account_id: &str,
) -> Result<AccountReconcile, ReconcileError> {
    let region = aws.options().region.clone();
    let (mgmt_id, _) = aws.caller().await?;
    let mut report =
        AccountReconcile { account_id: account_id.to_string(), ..AccountReconcile::default() };
    if mgmt_id == account_id {
        report.skipped = Some("StackSets never deploy to the management account".into());
        return Ok(report);
    }
    let mgmt = aws.session(&mgmt_id).await?;
    let parent = parent_of(&mgmt, account_id).await?;
    for ou in desired.iter().filter(|o| o.ou_id != parent) {
        for s in &ou.stacksets {
            let removed =
                remove_instances(&mgmt, &region, &s.name, &ou.ou_id, account_id, &s.operation)
                    .await?;
            report.instances_removed.extend(removed.iter().map(|r| format!("{} {r}", s.name)));
        }
    }
    let Some(own) = desired.iter().find(|o| o.ou_id == parent) else {
        return Ok(report);
    };
    report.ou_name = Some(own.ou_name.clone());
    for s in &own.stacksets {
        ensure_in_account(aws, &mgmt, &region, own, s, account_id, &mut report).await?;
    }
    Ok(report)
}

async fn ensure_in_account(
    aws: &Aws,
    mgmt: &AccountSession,
    region: &str,
    ou: &OuStackSets,
    s: &DesiredStackSet,
    account_id: &str,
    report: &mut AccountReconcile,
) -> Result<(), ReconcileError> {
    match ensure_stackset(mgmt, region, s).await?.change {
        StackSetChange::Created => report.stacksets_created.push(s.name.clone()),
        StackSetChange::Updated(_) => report.stacksets_updated.push(s.name.clone()),
        StackSetChange::Unchanged => {}
    }
    let target = Target {
        stackset: &s.name,
        ou_id: &ou.ou_id,
        account: account_id,
        regions: &s.regions,
        operation: &s.operation,
    };
    let created = ensure_instances(mgmt, region, target).await?;
    report.instances_created.extend(created.iter().map(|r| format!("{} {r}", s.name)));
    let trust_region = s.regions.first().map_or(region, String::as_str);
    let roles =
        verify_trust(aws, account_id, &s.name, &s.template_body, &s.parameters, trust_region)
            .await?;
    report.roles_verified.extend(roles.iter().map(|r| format!("{} {r}", s.name)));
    Ok(())
}
