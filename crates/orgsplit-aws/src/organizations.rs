//! The Organizations reads that more than one crate makes (inventory, apply, reconcile,
//! audit): one home each, every page read. Organizations is a global service; errors name
//! the region `global`.

use aws_sdk_organizations::types::{
    Account, EnabledServicePrincipal, OrganizationalUnit, PolicySummary, PolicyTargetSummary,
    PolicyType, Root,
};
use std::collections::BTreeMap;

use crate::{AccountSession, AwsError, every_page};

const SERVICE: &str = "organizations";
const GLOBAL: &str = "global";

/// The organization's root (an organization has exactly one).
pub async fn root(session: &AccountSession) -> Result<Option<Root>, AwsError> {
    let request = session.organizations().list_roots();
    let roots =
        every_page!(request, roots).map_err(session.error_of(SERVICE, "ListRoots", GLOBAL))?;
    Ok(roots.into_iter().next())
}

/// The OUs directly under `parent` (the root or an OU).
pub async fn ous_under(
    session: &AccountSession,
    parent: &str,
) -> Result<Vec<OrganizationalUnit>, AwsError> {
    let request = session.organizations().list_organizational_units_for_parent().parent_id(parent);
    let error_of = session.error_of(SERVICE, "ListOrganizationalUnitsForParent", GLOBAL);
    every_page!(request, organizational_units).map_err(error_of)
}

/// The id of the OU named `name` directly under `parent`.
pub async fn ou_named(
    session: &AccountSession,
    parent: &str,
    name: &str,
) -> Result<Option<String>, AwsError> {
    let ous = ous_under(session, parent).await?;
    Ok(ous.iter().find(|o| o.name() == Some(name)).and_then(|o| o.id()).map(str::to_string))
}

/// Every account of the organization.
pub async fn accounts(session: &AccountSession) -> Result<Vec<Account>, AwsError> {
    let request = session.organizations().list_accounts();
    every_page!(request, accounts).map_err(session.error_of(SERVICE, "ListAccounts", GLOBAL))
}

/// Every account of the organization by lower-cased e-mail -> id (AWS compares e-mail
/// addresses without regard to case).
pub async fn accounts_by_email(
    session: &AccountSession,
) -> Result<BTreeMap<String, String>, AwsError> {
    let accounts = accounts(session).await?;
    Ok(accounts
        .iter()
        .filter_map(|a| Some((a.email()?.to_ascii_lowercase(), a.id()?.to_string())))
        .collect())
}

/// The accounts directly under `parent` (the root or an OU).
pub async fn accounts_under(
    session: &AccountSession,
    parent: &str,
) -> Result<Vec<Account>, AwsError> {
    let request = session.organizations().list_accounts_for_parent().parent_id(parent);
    let error_of = session.error_of(SERVICE, "ListAccountsForParent", GLOBAL);
    every_page!(request, accounts).map_err(error_of)
}

/// The id of the parent (an OU or the root) of an account or OU.
pub async fn parent_of(session: &AccountSession, child: &str) -> Result<Option<String>, AwsError> {
    let request = session.organizations().list_parents().child_id(child);
    let parents =
        every_page!(request, parents).map_err(session.error_of(SERVICE, "ListParents", GLOBAL))?;
    Ok(parents.first().and_then(|p| p.id()).map(str::to_string))
}

/// The service principals with trusted access to the organization.
pub async fn service_principals(session: &AccountSession) -> Result<Vec<String>, AwsError> {
    let request = session.organizations().list_aws_service_access_for_organization();
    let enabled: Vec<EnabledServicePrincipal> = every_page!(request, enabled_service_principals)
        .map_err(session.error_of(SERVICE, "ListAWSServiceAccessForOrganization", GLOBAL))?;
    Ok(enabled.iter().filter_map(|p| p.service_principal().map(str::to_string)).collect())
}

/// The service control policies of the organization.
pub async fn scps(session: &AccountSession) -> Result<Vec<PolicySummary>, AwsError> {
    let request = session.organizations().list_policies().filter(PolicyType::ServiceControlPolicy);
    every_page!(request, policies).map_err(session.error_of(SERVICE, "ListPolicies", GLOBAL))
}

/// The ids of the roots, OUs and accounts a policy is attached to.
pub async fn policy_targets(
    session: &AccountSession,
    policy_id: &str,
) -> Result<Vec<String>, AwsError> {
    let request = session.organizations().list_targets_for_policy().policy_id(policy_id);
    let targets: Vec<PolicyTargetSummary> = every_page!(request, targets)
        .map_err(session.error_of(SERVICE, "ListTargetsForPolicy", GLOBAL))?;
    Ok(targets.iter().filter_map(|t| t.target_id().map(str::to_string)).collect())
}

/// The content of a policy (`DescribePolicy`).
pub async fn policy_content(session: &AccountSession, policy_id: &str) -> Result<String, AwsError> {
    let out = session
        .organizations()
        .describe_policy()
        .policy_id(policy_id)
        .send()
        .await
        .map_err(session.error_of(SERVICE, "DescribePolicy", GLOBAL))?;
    Ok(out.policy().and_then(|p| p.content()).unwrap_or_default().to_string())
}
