//! What every OU wants, from the config and the catalog, resolved against the live
//! organization: the input of `reconcile_account` for `orgsplit reconcile` and the trigger.

use orgsplit_aws::{AccountSession, call_error};
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

/// Resolves each configured OU's StackSets. A named admin account is found by its e-mail
/// (`ListAccounts`, once, only when some OU names its admin account instead of giving its
/// id: give ids to keep a one-account reconcile free of organization-wide listings).
pub async fn desired(
    mgmt: &AccountSession,
    region: &str,
    config: &Config,
    catalog: &[Entry],
) -> Result<Desired, ReconcileError> {
    let org = mgmt
        .organizations()
        .describe_organization()
        .send()
        .await
        .map_err(|e| {
            call_error(
                "organizations",
                "DescribeOrganization",
                &mgmt.account_id,
                region,
                e,
            )
        })?;
    let org_id = org
        .organization()
        .and_then(|o| o.id())
        .unwrap_or_default()
        .to_string();
    let mut emails: Option<BTreeMap<String, String>> = None;
    let mut out = Desired::default();
    for ou in config.ous.iter().filter(|o| !o.stacksets.is_empty()) {
        let Some(ou_id) = ou_id_by_name(mgmt, region, &ou.name).await? else {
            out.missing.push(ou.name.clone());
            continue;
        };
        let admin = match &ou.admin_account {
            AdminAccount::Id(id) => id.clone(),
            AdminAccount::Named(name) => {
                if emails.is_none() {
                    emails = Some(accounts_by_email(mgmt, region).await?);
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
        };
        let mut stacksets = Vec::new();
        for name in &ou.stacksets {
            let entry = catalog
                .iter()
                .find(|e| &e.spec.template == name)
                .ok_or_else(|| {
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
            });
        }
        out.ous.push(OuStackSets {
            ou_name: ou.name.clone(),
            ou_id,
            stacksets,
        });
    }
    Ok(out)
}

async fn accounts_by_email(
    mgmt: &AccountSession,
    region: &str,
) -> Result<BTreeMap<String, String>, ReconcileError> {
    let org = mgmt.organizations();
    let mut out = BTreeMap::new();
    let mut next = None;
    loop {
        let page = org
            .list_accounts()
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| {
                call_error("organizations", "ListAccounts", &mgmt.account_id, region, e)
            })?;
        for a in page.accounts() {
            if let (Some(email), Some(id)) = (a.email(), a.id()) {
                out.insert(email.to_ascii_lowercase(), id.to_string());
            }
        }
        next = page.next_token().map(str::to_string);
        if next.is_none() {
            return Ok(out);
        }
    }
}

/// The accounts directly under each OU (for `orgsplit reconcile` with no `--account`).
pub async fn accounts_of(
    mgmt: &AccountSession,
    region: &str,
    ou_id: &str,
) -> Result<Vec<String>, ReconcileError> {
    let org = mgmt.organizations();
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let page = org
            .list_accounts_for_parent()
            .parent_id(ou_id)
            .set_next_token(next)
            .send()
            .await
            .map_err(|e| {
                call_error(
                    "organizations",
                    "ListAccountsForParent",
                    &mgmt.account_id,
                    region,
                    e,
                )
            })?;
        out.extend(
            page.accounts()
                .iter()
                .filter_map(|a| a.id().map(str::to_string)),
        );
        next = page.next_token().map(str::to_string);
        if next.is_none() {
            return Ok(out);
        }
    }
}
