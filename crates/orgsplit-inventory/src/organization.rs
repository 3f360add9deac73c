//! The organization as it is: OUs (the whole tree), accounts with their parents, trusted
//! service access, and service control policies with their targets.

use orgsplit_aws::AccountSession;
use orgsplit_model::inventory::{AccountState, OrganizationState, OuState, PolicyState};

use crate::InventoryError;
use crate::util::aws_err;

pub async fn collect_organization(
    session: &AccountSession,
) -> Result<OrganizationState, InventoryError> {
    let org = session.organizations();
    let acct = session.account_id.as_str();
    let region = "global";

    let described = org.describe_organization().send().await.map_err(|e| {
        let detail = orgsplit_aws::error_chain(&e);
        match orgsplit_aws::classify(&e) {
            orgsplit_aws::ErrorClass::Denied | orgsplit_aws::ErrorClass::NotFound => {
                InventoryError::NotManagement {
                    caller: acct.to_string(),
                    detail,
                }
            }
            _ => InventoryError::Aws(aws_err(
                "organizations",
                "DescribeOrganization",
                acct,
                region,
                e,
            )),
        }
    })?;
    let o = described
        .organization()
        .ok_or_else(|| InventoryError::NotManagement {
            caller: acct.into(),
            detail: "no organization".into(),
        })?;
    let id = o.id().unwrap_or_default().to_string();
    let management_account_id = o.master_account_id().unwrap_or_default().to_string();

    let roots = org
        .list_roots()
        .send()
        .await
        .map_err(|e| aws_err("organizations", "ListRoots", acct, region, e))?;
    let root_id = roots
        .roots()
        .first()
        .and_then(|r| r.id())
        .unwrap_or_default()
        .to_string();

    // Walk the tree: each parent's OUs and accounts (which gives every account's parent
    // without one ListParents call per account).
    let mut ous = Vec::new();
    let mut accounts = Vec::new();
    let mut parents = vec![root_id.clone()];
    while let Some(parent) = parents.pop() {
        let mut pages = org
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for ou in page
                .map_err(|e| {
                    aws_err(
                        "organizations",
                        "ListOrganizationalUnitsForParent",
                        acct,
                        region,
                        e,
                    )
                })?
                .organizational_units()
            {
                let ou_id = ou.id().unwrap_or_default().to_string();
                parents.push(ou_id.clone());
                ous.push(OuState {
                    id: ou_id,
                    name: ou.name().unwrap_or_default().to_string(),
                    parent_id: parent.clone(),
                });
            }
        }
        let mut pages = org
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for a in page
                .map_err(|e| aws_err("organizations", "ListAccountsForParent", acct, region, e))?
                .accounts()
            {
                accounts.push(AccountState {
                    id: a.id().unwrap_or_default().to_string(),
                    name: a.name().unwrap_or_default().to_string(),
                    email: a.email().unwrap_or_default().to_string(),
                    status: a
                        .status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    parent_id: parent.clone(),
                });
            }
        }
    }

    let mut service_access = Vec::new();
    let mut pages = org
        .list_aws_service_access_for_organization()
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for p in page
            .map_err(|e| {
                aws_err(
                    "organizations",
                    "ListAWSServiceAccessForOrganization",
                    acct,
                    region,
                    e,
                )
            })?
            .enabled_service_principals()
        {
            service_access.extend(p.service_principal().map(str::to_string));
        }
    }

    let mut policies = Vec::new();
    let mut pages = org
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for p in page
            .map_err(|e| aws_err("organizations", "ListPolicies", acct, region, e))?
            .policies()
        {
            let name = p.name().unwrap_or_default().to_string();
            let policy_id = p.id().unwrap_or_default().to_string();
            // Targets only for orgsplit's own policy: the plan needs no others.
            let mut targets = Vec::new();
            if name.starts_with("orgsplit-") {
                let mut tpages = org
                    .list_targets_for_policy()
                    .policy_id(&policy_id)
                    .into_paginator()
                    .send();
                while let Some(tp) = tpages.next().await {
                    for t in tp
                        .map_err(|e| {
                            aws_err("organizations", "ListTargetsForPolicy", acct, region, e)
                        })?
                        .targets()
                    {
                        targets.extend(t.target_id().map(str::to_string));
                    }
                }
            }
            policies.push(PolicyState {
                id: policy_id,
                name,
                targets,
            });
        }
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
        .map_err(|e| {
            aws_err(
                "cloudformation",
                "DescribeOrganizationsAccess",
                acct,
                &home,
                e,
            )
        })?
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
