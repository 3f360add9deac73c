//! Trusted access: StackSets' through CloudFormation, and services (Account Management)
//! that are enabled through Organizations itself.

use orgsplit_aws::{AccountSession, AwsError};

use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::step::TrustedAccess;

const ORG: &str = "organizations";
use orgsplit_pipelines::share::RAM_PRINCIPAL;
const GLOBAL: &str = "global";

/// StackSets' trusted access with Organizations, activated through CloudFormation: "we
/// recommend that you use the CloudFormation console or ActivateOrganizationsAccess rather than
/// the Organizations EnableAWSServiceAccess", which would skip the service-linked roles
/// StackSets creates
/// (<https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-orgs-activate-trusted-access.html>).
pub async fn trusted_access(
    cx: &StepContext,
    inputs: &TrustedAccess,
) -> Result<Outcome, StepError> {
    let session = cx.session().await?;
    if inputs.service_principal.as_deref() == Some(RAM_PRINCIPAL) {
        return ram_sharing(cx, &session).await;
    }
    if let Some(principal) = &inputs.service_principal {
        return service_access(&session, principal).await;
    }
    let region = cx.region().to_string();
    let cf = session.cloudformation(&region);
    let status = || async {
        cf.describe_organizations_access()
            .send()
            .await
            .map(|out| out.status().map(|s| s.as_str().to_string()).unwrap_or_default())
            .map_err(session.error_of("cloudformation", "DescribeOrganizationsAccess", &region))
    };
    if status().await? == "ENABLED" {
        return Ok(Outcome::unchanged());
    }
    cf.activate_organizations_access().send().await.map_err(session.error_of(
        "cloudformation",
        "ActivateOrganizationsAccess",
        &region,
    ))?;
    let now = status().await?;
    if now != "ENABLED" {
        return Err(StepError::Verify(format!(
            "CloudFormation organizations access is {now} after ActivateOrganizationsAccess"
        )));
    }
    Ok(Outcome::changed(true))
}

/// Trusted access for a service that is enabled through Organizations itself (Account
/// Management: "aws organizations enable-aws-service-access --service-principal
/// account.amazonaws.com",
/// <https://docs.aws.amazon.com/accounts/latest/reference/using-orgs-trusted-access.html>).
async fn service_access(session: &AccountSession, principal: &str) -> Result<Outcome, StepError> {
    let org = session.organizations();
    let enabled = || async {
        let principals = orgsplit_aws::organizations::service_principals(session).await?;
        Ok::<bool, AwsError>(principals.iter().any(|p| p == principal))
    };
    if enabled().await? {
        return Ok(Outcome::unchanged());
    }
    org.enable_aws_service_access()
        .service_principal(principal)
        .send()
        .await
        .map_err(session.error_of(ORG, "EnableAWSServiceAccess", GLOBAL))?;
    if !enabled().await? {
        return Err(StepError::Verify(format!(
            "{principal} is not enabled after EnableAWSServiceAccess"
        )));
    }
    Ok(Outcome::changed(true))
}

/// Sharing with the organization in AWS RAM (see `orgsplit_pipelines::share`).
async fn ram_sharing(cx: &StepContext, session: &AccountSession) -> Result<Outcome, StepError> {
    match orgsplit_pipelines::share::enable_org_sharing(session, cx.region()).await {
        Ok(changed) => Ok(Outcome::changed(changed)),
        Err(orgsplit_pipelines::connection::ConnectionError::Aws(a)) => Err(StepError::Aws(a)),
        Err(other) => Err(StepError::Verify(other.to_string())),
    }
}
