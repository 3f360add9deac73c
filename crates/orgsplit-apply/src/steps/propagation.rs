//! Waiting out AWS's eventual consistency: a role, a service-linked role or a new account
//! that exists but is not yet visible to the service that uses it.
//!
//! IAM: "changes ... take time to become visible from all services"
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency>).
//! The calls retried here fail with an error whose code and message say so; anything else
//! is returned at once.

use aws_sdk_iam::error::ProvideErrorMetadata;
use orgsplit_aws::AccountSession;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::context::StepError;

/// How long a propagation error is retried before it is reported (AWS: seconds, rarely a
/// minute or two).
pub const PROPAGATION_TIMEOUT: Duration = Duration::from_secs(3 * 60);

/// A propagation error: an error code and a fragment of the message that AWS sends while
/// what the call names has not propagated yet.
#[derive(Debug, Clone, Copy)]
pub struct Propagating {
    pub code: &'static str,
    pub message: &'static str,
}

/// ECS CreateCluster before `AWSServiceRoleForECS` has propagated (the Terraform AWS provider
/// retries the same message in its aws_ecs_cluster resource).
pub const ECS_SERVICE_LINKED_ROLE: Propagating =
    Propagating { code: "InvalidParameterException", message: "service linked role" };
/// CodePipeline CreatePipeline/UpdatePipeline with a role created seconds ago.
pub const PIPELINE_ROLE: Propagating = Propagating {
    code: "InvalidStructureException",
    message: "not authorized to perform AssumeRole",
};
/// IAM trust policy naming a principal role that IAM does not see yet.
pub const TRUST_PRINCIPAL: Propagating =
    Propagating { code: "MalformedPolicyDocument", message: "Invalid principal" };

impl Propagating {
    fn matches<E: ProvideErrorMetadata>(&self, e: &E) -> bool {
        e.code() == Some(self.code) && e.message().is_some_and(|m| m.contains(self.message))
    }
}

/// Runs `call` until it succeeds, fails with something other than `what`, or
/// [`PROPAGATION_TIMEOUT`] has passed; backoff from 250 ms doubling to 5 s.
pub async fn retry<T, E, R, F, Fut>(
    what: Propagating,
    mut call: F,
) -> Result<T, aws_sdk_iam::error::SdkError<E, R>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, aws_sdk_iam::error::SdkError<E, R>>>,
    E: ProvideErrorMetadata,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        match call().await {
            Err(aws_sdk_iam::error::SdkError::ServiceError(e))
                if what.matches(e.err()) && started.elapsed() < PROPAGATION_TIMEOUT =>
            {
                tracing::info!(
                    code = what.code,
                    waited_ms = started.elapsed().as_millis() as u64,
                    "waiting for IAM to propagate"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other,
        }
    }
}

/// Creates `AWSServiceRoleForECS` in the session's account unless it exists. ECS would
/// create it on the first CreateCluster, but that call then fails while the new role
/// propagates; creating it first (and retrying the race) is what AWS documents
/// (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html>).
pub async fn ensure_ecs_service_linked_role(session: &AccountSession) -> Result<(), StepError> {
    let iam = session.iam();
    let region = session.home_region();
    let listed = iam
        .list_roles()
        .path_prefix("/aws-service-role/ecs.amazonaws.com/")
        .send()
        .await
        .map_err(session.error_of("iam", "ListRoles", &region))?;
    if !listed.roles().is_empty() {
        return Ok(());
    }
    match iam.create_service_linked_role().aws_service_name("ecs.amazonaws.com").send().await {
        Ok(_) => Ok(()),
        // "Service role name AWSServiceRoleForECS has been taken in this account": made by
        // someone else meanwhile.
        Err(e)
            if e.code() == Some("InvalidInput")
                && e.message().is_some_and(|m| m.contains("taken")) =>
        {
            Ok(())
        }
        Err(e) => Err(session.error_of("iam", "CreateServiceLinkedRole", &region)(e).into()),
    }
}
