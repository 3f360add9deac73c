//! The organization as it is: OUs (the whole tree), accounts with their parents, trusted
//! service access, and service control policies with their targets.

use orgsplit_aws::{AccountSession, organizations};
use orgsplit_model::inventory::{AccountState, OrganizationState, OuState, PolicyState};

use crate::InventoryError;

pub async fn collect_organization(
    session: &AccountSession,
) -> Result<OrganizationState, InventoryError> {
    let org = session.organizations();
    let acct = session.account_id.as_str();

    let described = org.describe_organization().send().await.map_err(|e| {
        let detail = orgsplit_aws::error_chain(&e);
        match orgsplit_aws::classify(&e) {
            orgsplit_aws::ErrorClass::Denied | orgsplit_aws::ErrorClass::NotFound => {
                InventoryError::NotManagement { caller: acct.to_string(), detail }
            }
            _ => InventoryError::Aws(session.error_of(
                "organizations",
                "DescribeOrganization",
                "global",
            )(e)),
        }
    })?;
    let o = described.organization().ok_or_else(|| InventoryError::NotManagement {
        caller: acct.into(),
        detail: "no organization".into(),
    })?;
    let id = o.id().unwrap_or_default().to_string();
    let management_account_id = o.master_account_id().unwrap_or_default().to_string();

    let root_id = organizations::root(session)
        .await?
        .and_then(|r| r.id().map(str::to_string))
        .unwrap_or_default();

    // Walk the tree: each parent's OUs and accounts (which gives every account's parent
    // without one ListParents call per account).
    let mut ous = Vec::new();
    let mut accounts = Vec::new();
    let mut parents = vec![root_id.clone()];
    while let Some(parent) = parents.pop() {
        for ou in organizations::ous_under(session, &parent).await? {
            let ou_id = ou.id().unwrap_or_default().to_string();
            parents.push(ou_id.clone());
            ous.push(OuState {
                id: ou_id,
                name: ou.name().unwrap_or_default().to_string(),
                parent_id: parent.clone(),
            });
        }
        for a in organizations::accounts_under(session, &parent).await? {
            accounts.push(AccountState {
                id: a.id().unwrap_or_default().to_string(),
                name: a.name().unwrap_or_default().to_string(),
                email: a.email().unwrap_or_default().to_string(),
                status: a.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                parent_id: parent.clone(),
            });
        }
    }

    let service_access = organizations::service_principals(session).await?;
    let mut policies = Vec::new();
    for p in organizations::scps(session).await? {
        let name = p.name().unwrap_or_default().to_string();
        let id = p.id().unwrap_or_default().to_string();
        // Targets only for orgsplit's own policies: the plan needs no others.
        let targets = if name.starts_with("orgsplit-") {
            organizations::policy_targets(session, &id).await?
        } else {
            Vec::new()
        };
        policies.push(PolicyState { id, name, targets });
    }

    // StackSets' own view of its trusted access: AWS advises activating it through
    // CloudFormation (ActivateOrganizationsAccess), not Organizations, and only CloudFormation
    // can say whether it is active
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html).
    let home = session.home_region();
    let stacksets_access = session
        .cloudformation(&home)
        .describe_organizations_access()
        .send()
        .await
        .map_err(session.error_of("cloudformation", "DescribeOrganizationsAccess", &home))?
        .status()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();

    Ok(OrganizationState {
        id,
        management_account_id,
        root_id,
        ous,
        accounts,
        service_access,
        stacksets_access,
        policies,
    })
}
