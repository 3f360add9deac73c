//! What every OU wants, from the config and the catalog, resolved against the live
//! organization: the input of `reconcile_account` for `orgsplit reconcile` and the trigger.

use orgsplit_aws::{AccountSession, call_error, organizations};
use orgsplit_model::Config;
use orgsplit_model::config::AdminAccount;
use orgsplit_model::stackset::ParameterContext;
use std::collections::BTreeMap;

use super::{DesiredStackSet, OuStackSets, ReconcileError, ou_id_by_name};
use crate::Entry;

/// The OUs that exist, with their StackSets; `missing` names configured OUs that do not exist
/// yet (nothing to reconcile there until an apply creates them).
#[derive(Debug, Default)]
pub struct Desired {
    pub ous: Vec<OuStackSets>,
    pub missing: Vec<String>,
}

/// How an OU's admin account named in the config (not given by id) is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminLookup {
    /// By its e-mail (`ListAccounts`, once): what `orgsplit reconcile` does.
    ByEmail,
    /// From the `AdminAccountId` of the OU's StackSet already deployed (one
    /// `DescribeStackSet`), by e-mail only when there is none: the trigger's way, so that one
    /// event never lists the organization's accounts.
    DeployedFirst,
}

/// Resolves each configured OU's StackSets, admin accounts by e-mail (see [`AdminLookup`]).
pub async fn desired(
    mgmt: &AccountSession,
    region: &str,
    config: &Config,
    catalog: &[Entry],
) -> Result<Desired, ReconcileError> {
    desired_with(mgmt, region, config, catalog, AdminLookup::ByEmail).await
}

/// Resolves each configured OU's StackSets. A named admin account is found as `lookup`
/// says; give ids in the config to need neither lookup.
pub async fn desired_with(
    mgmt: &AccountSession,
    region: &str,
    config: &Config,
    catalog: &[Entry],
    lookup: AdminLookup,
) -> Result<Desired, ReconcileError> {
    let org = mgmt.organizations().describe_organization().send().await.map_err(|e| {
        call_error("organizations", "DescribeOrganization", &mgmt.account_id, region, e)
    })?;
    let org_id = org.organization().and_then(|o| o.id()).unwrap_or_default().to_string();
    let mut emails: Option<BTreeMap<String, String>> = None;
    let mut out = Desired::default();
    for ou in config.ous.iter().filter(|o| !o.stacksets.is_empty()) {
        let Some(ou_id) = ou_id_by_name(mgmt, &ou.name).await? else {
            out.missing.push(ou.name.clone());
            continue;
        };
        let admin = match &ou.admin_account {
            AdminAccount::Id(id) => id.clone(),
            AdminAccount::Named(name) => {
                let deployed = match (lookup, ou.stacksets.first()) {
                    (AdminLookup::DeployedFirst, Some(first)) => {
                        deployed_admin(mgmt, region, catalog, first, &ou.name).await?
                    }
                    _ => None,
                };
                if let Some(id) = deployed {
                    id
                } else {
                    if emails.is_none() {
                        emails = Some(organizations::accounts_by_email(mgmt).await?);
                    }
                    let email = config
                        .account(name)
                        .map(|a| a.email.to_ascii_lowercase())
                        .unwrap_or_default();
                    match emails.as_ref().and_then(|m| m.get(&email)) {
                        Some(id) => id.clone(),
                        None => {
                            out.missing.push(format!(
                                "{} (admin account {name} does not exist yet)",
                                ou.name
                            ));
                            continue;
                        }
                    }
                }
            }
        };
        let mut stacksets = Vec::new();
        for name in &ou.stacksets {
            let entry = catalog.iter().find(|e| &e.spec.template == name).ok_or_else(|| {
                ReconcileError::Conflict(format!(
                    "OU {}: StackSet {name} is not in the catalog",
                    ou.name
                ))
            })?;
            stacksets.push(DesiredStackSet {
                name: entry.spec.stackset_name(&ou.name),
                template_body: entry.template.clone(),
                description: entry.spec.description.clone(),
                capabilities: entry.spec.capabilities.clone(),
                parameters: entry.spec.parameter_values(&ParameterContext {
                    admin_account_id: &admin,
                    organization_id: &org_id,
                    ou_name: &ou.name,
                    environment: &ou.environment,
                }),
                auto_deployment: true,
                regions: vec![config.home_region.clone()],
                operation: entry.spec.operation,
            });
        }
        out.ous.push(OuStackSets { ou_name: ou.name.clone(), ou_id, stacksets });
    }
    Ok(out)
}

/// The admin account id the OU's StackSet was deployed with, if it exists.
async fn deployed_admin(
    mgmt: &AccountSession,
    region: &str,
    catalog: &[Entry],
    template: &str,
    ou_name: &str,
) -> Result<Option<String>, ReconcileError> {
    let Some(entry) = catalog.iter().find(|e| e.spec.template == template) else {
        return Ok(None);
    };
    let name = entry.spec.stackset_name(ou_name);
    let cfn = mgmt.cloudformation(region);
    let Some(set) = super::describe(&cfn, mgmt, region, &name).await? else {
        return Ok(None);
    };
    Ok(set
        .parameters()
        .iter()
        .find(|p| p.parameter_key() == Some(super::ADMIN_PARAMETER))
        .and_then(|p| p.parameter_value())
        .filter(|v| orgsplit_model::is_account_id(v))
        .map(str::to_string))
}

/// The accounts directly under an OU (for `orgsplit reconcile` with no `--account`).
pub async fn accounts_of(
    mgmt: &AccountSession,
    ou_id: &str,
) -> Result<Vec<String>, ReconcileError> {
    let accounts = organizations::accounts_under(mgmt, ou_id).await?;
    Ok(accounts.iter().filter_map(|a| a.id().map(str::to_string)).collect())
}
