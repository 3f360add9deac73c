//! A new account is usable some time after `CreateAccount` reports SUCCEEDED: "you might need
//! to wait a few minutes" before its access role can be assumed and its services answer
//! (<https://docs.aws.amazon.com/organizations/latest/APIReference/API_CreateAccount.html>).
//! The account step waits here, so that the account's own steps find it ready.

use orgsplit_aws::AccountSession;
use orgsplit_model::{Step, StepKind};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::context::{StepContext, StepError};

/// Codes a new account's services answer while the account is still being set up.
const NOT_YET: [&str; 3] =
    ["SubscriptionRequiredException", "OptInRequired", "AccessDeniedException"];
const READY_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The service a step kind calls in its account (None: it calls only the management account).
fn service_of(kind: StepKind) -> Option<&'static str> {
    Some(match kind {
        StepKind::SsmParameter => "ssm",
        StepKind::Secret => "secretsmanager",
        StepKind::IamPolicy | StepKind::IamRole | StepKind::EcrPullAccess => "iam",
        StepKind::LogGroup => "logs",
        StepKind::S3Bucket => "s3",
        StepKind::EcsCluster | StepKind::EcsTaskDefinition | StepKind::EcsService => "ecs",
        StepKind::EventsRule => "events",
        StepKind::Schedule => "scheduler",
        StepKind::Connection => "codeconnections",
        StepKind::Pipeline => "codepipeline",
        StepKind::KmsKey | StepKind::KmsKeyPolicy => "kms",
        StepKind::CodeBuildProject => "codebuild",
        _ => return None,
    })
}

/// (service, region) of every step of the plan that acts in the account `name` creates.
pub fn probes_for(
    steps: impl Iterator<Item = Step>,
    name: &str,
    home: &str,
) -> BTreeSet<(&'static str, String)> {
    let placeholder = format!("${{account:{name}}}");
    steps
        .filter(|s| s.account == placeholder)
        .filter_map(|s| {
            let service = service_of(s.kind())?;
            Some((service, s.region.clone().unwrap_or_else(|| home.to_string())))
        })
        // An opt-in Region answers only once its own step has enabled it.
        .filter(|(_, region)| !orgsplit_model::regions::is_opt_in(region))
        .collect()
}

/// Waits until the access role of `account_id` can be assumed (orgsplit-aws retries a young
/// account's AccessDenied) and each service the account's steps use answers one cheap read.
pub async fn wait_until_usable(
    cx: &StepContext,
    account_id: &str,
    name: &str,
) -> Result<(), StepError> {
    cx.waiting(format!("waiting for new account {name} to become usable"));
    let session = cx.aws.session(account_id).await?;
    let home = cx.aws.options().region.clone();
    for (service, region) in probes_for(cx.plan.steps().cloned(), name, &home) {
        let started = Instant::now();
        let mut delay = Duration::from_millis(500);
        loop {
            match probe(&session, service, &region).await {
                Ok(()) => break,
                Err(code)
                    if NOT_YET.contains(&code.as_str()) && started.elapsed() < READY_TIMEOUT =>
                {
                    tracing::info!(account = account_id, service, region = %region, code = %code, "the new account's service is not ready yet; waiting");
                    cx.waiting(format!(
                        "waiting for {service} ({region}) in new account {name}: {code}"
                    ));
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(15));
                }
                Err(code) => {
                    return Err(StepError::Failed(format!(
                        "new account {name} ({account_id}): {service} in {region} answers {code}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// One cheap read of `service` (the error code when it fails).
async fn probe(session: &AccountSession, service: &str, region: &str) -> Result<(), String> {
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    fn code<E: ProvideErrorMetadata>(e: &E) -> String {
        e.code().unwrap_or("an error without a code").to_string()
    }
    match service {
        "ssm" => session
            .ssm(region)
            .describe_parameters()
            .max_results(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| code(&e)),
        "secretsmanager" => session
            .secretsmanager(region)
            .list_secrets()
            .max_results(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| code(&e)),
        "iam" => {
            session.iam().list_roles().max_items(1).send().await.map(drop).map_err(|e| code(&e))
        }
        "logs" => session
            .logs(region)
            .describe_log_groups()
            .limit(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| code(&e)),
        "s3" => session
            .s3(region)
            .list_buckets()
            .max_buckets(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| code(&e)),
        "ecs" => session
            .ecs(region)
            .list_clusters()
            .max_results(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| code(&e)),
        "events" => session
            .events(region)
            .list_rules()
            .limit(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| code(&e)),
        "scheduler" => session
            .scheduler(region)
            .list_schedules()
            .max_results(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| code(&e)),
        "codeconnections" => session
            .codeconnections(region)
            .list_connections()
            .max_results(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| code(&e)),
        "codepipeline" => session
            .codepipeline(region)
            .list_pipelines()
            .max_results(1)
            .send()
            .await
            .map(drop)
            .map_err(|e| code(&e)),
        "kms" => {
            session.kms(region).list_keys().limit(1).send().await.map(drop).map_err(|e| code(&e))
        }
        "codebuild" => {
            session.codebuild(region).list_projects().send().await.map(drop).map_err(|e| code(&e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsplit_model::step::{
        Action, Budget, ResourceCopy, Scp, StepSpec, VALUE_READ_AT_APPLY, ValueCopy,
    };
    use serde_json::json;

    fn step(spec: StepSpec, account: &str, region: Option<&str>) -> Step {
        Step {
            address: format!("dev/x/{:?}", spec.kind()),
            action: Action::Create,
            spec,
            account: account.into(),
            region: region.map(str::to_string),
            depends_on: vec![],
            reads: vec![],
            reason: String::new(),
            notes: vec![],
        }
    }

    fn copy() -> ResourceCopy {
        ResourceCopy {
            source_arn: String::new(),
            name: "x".into(),
            config: json!({}).into(),
            tags: Default::default(),
        }
    }

    fn parameter() -> StepSpec {
        StepSpec::SsmParameter(ValueCopy { copy: copy(), value: VALUE_READ_AT_APPLY.into() })
    }

    #[test]
    fn probes_cover_each_service_and_region_of_the_new_account_once() {
        let steps = vec![
            step(parameter(), "${account:dev-workloads}", Some("us-east-1")),
            step(parameter(), "${account:dev-workloads}", Some("eu-west-1")),
            step(parameter(), "${account:dev-workloads}", Some("us-east-1")),
            step(StepSpec::IamRole(copy()), "${account:dev-workloads}", None),
            step(
                StepSpec::Budget(Budget {
                    name: "b".into(),
                    amount_usd: "1".into(),
                    email: "a@example.com".into(),
                    threshold_percent: 80,
                }),
                "${account:dev-workloads}",
                None,
            ),
            step(StepSpec::EcsCluster(copy()), "${account:prod-workloads}", Some("us-east-1")),
            step(
                StepSpec::Scp(Scp {
                    name: "s".into(),
                    description: String::new(),
                    content: json!({}),
                }),
                "123456789012",
                None,
            ),
        ];
        let got = probes_for(steps.into_iter(), "dev-workloads", "us-east-1");
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec![
                ("iam", "us-east-1".to_string()),
                ("ssm", "eu-west-1".to_string()),
                ("ssm", "us-east-1".to_string()),
            ]
        );
    }
}
