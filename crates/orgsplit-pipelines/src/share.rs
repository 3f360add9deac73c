//! Sharing the organization's connection through AWS RAM: one resource share in the
//! connection owner's account, in the connection's Region, holding the connection and every
//! account whose pipelines use it.
//!
//! AWS facts this relies on:
//! - Only `codeconnections` connections can be shared; a share's consumers use the connection
//!   "with resources in AWS that you manage for third-party source connections, such as in
//!   CodePipeline" (Developer Tools console guide, "Share connections with AWS accounts").
//! - Within an organization whose sharing is enabled (`EnableSharingWithAwsOrganization`,
//!   from the management account), principals get access without invitations (RAM user guide,
//!   "Using shared AWS resources"); orgsplit shares only with accounts of the organization
//!   (`allowExternalPrincipals = false`).
//! - A resource share exists in one Region; it is looked up there by name
//!   (`GetResourceShares` with `resourceOwner = SELF`), so a second run, or a run after a crash
//!   right after `CreateResourceShare`, adds to the same share instead of making another.

use aws_sdk_ram::Client;
use aws_sdk_ram::types::{ResourceOwner, ResourceShareAssociationType, ResourceShareStatus};

use orgsplit_aws::{AccountSession, AwsError, call_error, every_page};

use crate::connection::ConnectionError;

const RAM: &str = "ram";
pub use orgsplit_model::config::RAM_PRINCIPAL;

/// Sharing with the organization in AWS RAM, so that the accounts a resource is shared with
/// get it without invitations; `session` is the management account's. Enabled through RAM,
/// not Organizations: "This operation creates a service-linked role called
/// AWSServiceRoleForResourceAccessManager ... You must call this operation from an IAM role or
/// user in the organization's management account" (RAM API reference,
/// EnableSharingWithAwsOrganization); the Terraform AWS provider's
/// `aws_ram_sharing_with_organization` says the same against enabling `ram.amazonaws.com` in
/// `aws_organizations_organization`. It turns on trusted access for `ram.amazonaws.com`, which
/// is how it is read back. Returns whether it was off.
pub async fn enable_org_sharing(
    session: &AccountSession,
    region: &str,
) -> Result<bool, ConnectionError> {
    let enabled = || async {
        let principals = orgsplit_aws::organizations::service_principals(session).await?;
        Ok::<bool, AwsError>(principals.iter().any(|p| p == RAM_PRINCIPAL))
    };
    if enabled().await? {
        return Ok(false);
    }
    session.ram(region).enable_sharing_with_aws_organization().send().await.map_err(|e| {
        call_error(RAM, "EnableSharingWithAwsOrganization", &session.account_id, region, e)
    })?;
    if !enabled().await? {
        return Err(ConnectionError::Verify {
            arn: RAM_PRINCIPAL.into(),
            message: "not enabled after EnableSharingWithAwsOrganization".into(),
        });
    }
    Ok(true)
}

/// What sharing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    pub share_arn: String,
    /// A share, or an association, was written.
    pub changed: bool,
}

/// The connection shared with `account` through the owner's share `share_name`, created or
/// completed as needed, then read back: the share must hold both.
pub async fn ensure_shared(
    client: &Client,
    owner: &str,
    region: &str,
    share_name: &str,
    connection_arn: &str,
    account: &str,
) -> Result<Shared, ConnectionError> {
    let existing = find_share(client, owner, region, share_name).await?;
    let (share_arn, mut changed) = match existing {
        Some(arn) => (arn, false),
        None => {
            let out = client
                .create_resource_share()
                .name(share_name)
                .allow_external_principals(false)
                .resource_arns(connection_arn)
                .principals(account)
                .send()
                .await
                .map_err(|e| call_error(RAM, "CreateResourceShare", owner, region, e))?;
            let arn = out
                .resource_share()
                .and_then(|s| s.resource_share_arn())
                .unwrap_or_default()
                .to_string();
            (arn, true)
        }
    };
    let (resources, principals) = associations(client, owner, region, &share_arn).await?;
    let missing_resource = !resources.iter().any(|r| r == connection_arn);
    let missing_principal = !principals.iter().any(|p| p == account);
    if missing_resource || missing_principal {
        let mut call = client.associate_resource_share().resource_share_arn(&share_arn);
        if missing_resource {
            call = call.resource_arns(connection_arn);
        }
        if missing_principal {
            call = call.principals(account);
        }
        call.send()
            .await
            .map_err(|e| call_error(RAM, "AssociateResourceShare", owner, region, e))?;
        changed = true;
        let (resources, principals) = associations(client, owner, region, &share_arn).await?;
        if !resources.iter().any(|r| r == connection_arn)
            || !principals.iter().any(|p| p == account)
        {
            return Err(ConnectionError::Verify {
                arn: connection_arn.to_string(),
                message: format!(
                    "resource share {share_arn} does not hold it and account {account} after AssociateResourceShare"
                ),
            });
        }
    }
    Ok(Shared { share_arn, changed })
}

/// How long a connection just shared is waited for in the account it was shared with. An
/// association is made asynchronously (its status goes through `ASSOCIATING`, RAM API
/// reference, ResourceShareAssociation), and Terraform users wait after a successful
/// association for shared resources to "propagate across AWS accounts"; until access arrives,
/// `GetConnection` there answers `ResourceNotFoundException`, as for a connection that does not
/// exist. No documented bound: three minutes, like orgsplit's other propagation waits.
pub const SHARE_PROPAGATION: std::time::Duration = std::time::Duration::from_secs(3 * 60);

/// Reads the connection from the account it was shared with (`consumer`, that account's
/// client), waiting out the share's propagation ([`SHARE_PROPAGATION`], backoff from 250 ms to
/// 5 s); `Ok(false)` when it is still not readable then.
pub async fn wait_until_readable(
    consumer: &aws_sdk_codeconnections::Client,
    account: &str,
    region: &str,
    arn: &str,
) -> Result<bool, AwsError> {
    let started = std::time::Instant::now();
    let mut delay = std::time::Duration::from_millis(250);
    loop {
        match consumer.get_connection().connection_arn(arn).send().await {
            Ok(out) => return Ok(out.connection().and_then(|c| c.connection_arn()) == Some(arn)),
            Err(e) => {
                let err = call_error("codeconnections", "GetConnection", account, region, e);
                if !err.is_not_found() {
                    return Err(err);
                }
                if started.elapsed() >= SHARE_PROPAGATION {
                    return Ok(false);
                }
                tracing::info!(
                    account,
                    waited_ms = started.elapsed().as_millis() as u64,
                    "waiting for the shared connection to reach the account"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(5));
            }
        }
    }
}

/// The ARN of the caller's active share of that name in the Region.
async fn find_share(
    client: &Client,
    owner: &str,
    region: &str,
    share_name: &str,
) -> Result<Option<String>, AwsError> {
    let request = client
        .get_resource_shares()
        .resource_owner(ResourceOwner::SelfValue)
        .name(share_name)
        .resource_share_status(ResourceShareStatus::Active);
    let shares = every_page!(request, resource_shares)
        .map_err(|e| call_error(RAM, "GetResourceShares", owner, region, e))?;
    Ok(shares
        .iter()
        .find(|s| s.name() == Some(share_name))
        .and_then(|s| s.resource_share_arn().map(str::to_string)))
}

/// The share's associated resources and principals (associated or being associated).
async fn associations(
    client: &Client,
    owner: &str,
    region: &str,
    share_arn: &str,
) -> Result<(Vec<String>, Vec<String>), AwsError> {
    let live = |kind: ResourceShareAssociationType| async move {
        let request = client
            .get_resource_share_associations()
            .association_type(kind)
            .resource_share_arns(share_arn);
        let found = every_page!(request, resource_share_associations)
            .map_err(|e| call_error(RAM, "GetResourceShareAssociations", owner, region, e))?;
        Ok::<Vec<String>, AwsError>(
            found
                .iter()
                .filter(|a| {
                    a.status().is_some_and(|s| matches!(s.as_str(), "ASSOCIATED" | "ASSOCIATING"))
                })
                .filter_map(|a| a.associated_entity().map(str::to_string))
                .collect(),
        )
    };
    Ok((
        live(ResourceShareAssociationType::Resource).await?,
        live(ResourceShareAssociationType::Principal).await?,
    ))
}
