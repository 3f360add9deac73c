//! IAM deletes in the source account. A role goes after what AWS requires gone first
//! (DeleteRole: "you must first remove those items": inline policies, attached managed
//! policies, instance profiles); a customer-managed policy after its non-default versions
//! (DeletePolicy), and only once nothing is attached to it any more: an attachment left after
//! the roles this cleanup deletes is someone else's use.

use aws_sdk_iam::Client;

use super::delete::{Doomed, deleted, is_gone};
use crate::context::{Outcome, StepError};

const IAM: &str = "iam";
const GONE: [&str; 1] = ["NoSuchEntity"];

pub(super) async fn role(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let iam = d.session.iam();
    let role = d.name();
    match iam.get_role().role_name(role).send().await {
        Ok(_) => {}
        Err(e) => match d.err(IAM, "GetRole", e) {
            e if is_gone(&e, &GONE) => return deleted(false),
            e => return Err(e.into()),
        },
    }
    for policy in inline_policies(d, &iam, role).await? {
        iam.delete_role_policy()
            .role_name(role)
            .policy_name(&policy)
            .send()
            .await
            .map_err(|e| d.err(IAM, "DeleteRolePolicy", e))?;
    }
    let attached = iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| d.err(IAM, "ListAttachedRolePolicies", e))?;
    for policy in attached.iter().filter_map(|p| p.policy_arn()) {
        iam.detach_role_policy()
            .role_name(role)
            .policy_arn(policy)
            .send()
            .await
            .map_err(|e| d.err(IAM, "DetachRolePolicy", e))?;
    }
    let profiles = iam
        .list_instance_profiles_for_role()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| d.err(IAM, "ListInstanceProfilesForRole", e))?;
    for profile in &profiles {
        iam.remove_role_from_instance_profile()
            .role_name(role)
            .instance_profile_name(profile.instance_profile_name())
            .send()
            .await
            .map_err(|e| d.err(IAM, "RemoveRoleFromInstanceProfile", e))?;
    }
    match iam.delete_role().role_name(role).send().await {
        Ok(_) => deleted(true),
        Err(e) => match d.err(IAM, "DeleteRole", e) {
            e if is_gone(&e, &GONE) => deleted(false),
            e => Err(e.into()),
        },
    }
}

async fn inline_policies(
    d: &Doomed<'_>,
    iam: &Client,
    role: &str,
) -> Result<Vec<String>, StepError> {
    let names = iam
        .list_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| d.err(IAM, "ListRolePolicies", e))?;
    Ok(names)
}

pub(super) async fn policy(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let iam = d.session.iam();
    let arn = d.resource.arn.as_str();
    // Every page: IAM may answer a page with fewer items than asked, even none, while more
    // follow ("IsTruncated", ListEntitiesForPolicy API reference), so a first empty page does
    // not prove the policy unattached.
    let pages = match iam
        .list_entities_for_policy()
        .policy_arn(arn)
        .max_items(1000)
        .into_paginator()
        .send()
        .try_collect()
        .await
    {
        Ok(pages) => pages,
        Err(e) => match d.err(IAM, "ListEntitiesForPolicy", e) {
            e if is_gone(&e, &GONE) => return deleted(false),
            e => return Err(e.into()),
        },
    };
    let users = pages
        .iter()
        .flat_map(|entities| {
            let roles = entities
                .policy_roles()
                .iter()
                .filter_map(|r| r.role_name().map(|n| format!("role {n}")));
            let users = entities
                .policy_users()
                .iter()
                .filter_map(|u| u.user_name().map(|n| format!("user {n}")));
            let groups = entities
                .policy_groups()
                .iter()
                .filter_map(|g| g.group_name().map(|n| format!("group {n}")));
            roles.chain(users).chain(groups).collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    if let Some(first) = users.first() {
        return Ok(Outcome::Waiting {
            message: format!(
                "policy {} is still attached to {first} ({} in all), which this cleanup does not delete",
                d.name(),
                users.len()
            ),
            url: None,
        });
    }
    let versions = iam
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| d.err(IAM, "ListPolicyVersions", e))?;
    for version in versions.versions().iter().filter(|v| !v.is_default_version()) {
        if let Some(id) = version.version_id() {
            iam.delete_policy_version()
                .policy_arn(arn)
                .version_id(id)
                .send()
                .await
                .map_err(|e| d.err(IAM, "DeletePolicyVersion", e))?;
        }
    }
    match iam.delete_policy().policy_arn(arn).send().await {
        Ok(_) => deleted(true),
        Err(e) => match d.err(IAM, "DeletePolicy", e) {
            e if is_gone(&e, &GONE) => deleted(false),
            e => Err(e.into()),
        },
    }
}
