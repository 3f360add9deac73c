//! The deletes of cleanup, in the source account: each reads first, treats "already gone" as
//! done (a re-run after a kill between the delete and its journal record), and removes what
//! AWS requires gone first (a rule's targets, a role's policies). ECS and IAM live in their
//! own modules.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use orgsplit_aws::{AccountSession, AwsError};
use orgsplit_model::plan::ResourceEntry;
use orgsplit_model::{ResourceKind, Step};

use super::CleanupOptions;
use crate::context::{Outcome, StepError};

/// One source resource to delete, and where.
pub(super) struct Doomed<'a> {
    pub session: AccountSession,
    pub region: String,
    pub resource: &'a ResourceEntry,
    /// A copy step of it: its inputs carry the source's configuration (a rule's bus, a
    /// secret's primary Region).
    pub copy: &'a Step,
    pub options: CleanupOptions,
}

impl Doomed<'_> {
    pub fn name(&self) -> &str {
        &self.resource.name
    }

    /// An error of `operation` in the source account and this Region.
    pub fn err<E, R>(&self, service: &str, operation: &str, e: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        orgsplit_aws::call_error(service, operation, &self.session.account_id, &self.region, e)
    }

    /// A member of the source's configuration, as the plan recorded it.
    pub fn config(&self, member: &str) -> Option<String> {
        let spec = serde_json::to_value(&self.copy.spec).ok()?;
        spec.get("inputs")?.get("config")?.get(member)?.as_str().map(str::to_string)
    }
}

/// Whether an error is one of the codes AWS answers for "no such resource".
pub(super) fn is_gone(e: &AwsError, codes: &[&str]) -> bool {
    matches!(e, AwsError::Call { code: Some(c), .. } if codes.contains(&c.as_str()))
}

pub(super) fn deleted(changed: bool) -> Result<Outcome, StepError> {
    Ok(Outcome::changed(changed))
}

/// Whether a parameter's or secret's source is gone already (deleted, or pending deletion):
/// their copy steps read the source's value, which a re-run after a kill between the delete
/// and its record can no longer do. Other kinds' copy steps never read the source.
pub(super) async fn source_gone(d: &Doomed<'_>) -> Result<bool, StepError> {
    match d.resource.kind {
        ResourceKind::SsmParameter => {
            let ssm = d.session.ssm(&d.region);
            match ssm.get_parameter().name(d.name()).send().await {
                Ok(_) => Ok(false),
                Err(e) => match d.err("ssm", "GetParameter", e) {
                    e if is_gone(&e, &["ParameterNotFound"]) => Ok(true),
                    e => Err(e.into()),
                },
            }
        }
        ResourceKind::Secret => {
            let (region, id) = match d.config("PrimaryRegion") {
                Some(primary) => (primary, d.name().to_string()),
                None => (d.region.clone(), d.resource.arn.clone()),
            };
            let sm = d.session.secretsmanager(&region);
            match sm.describe_secret().secret_id(id).send().await {
                Ok(out) if d.config("PrimaryRegion").is_some() => Ok(out.deleted_date().is_some()
                    || !out
                        .replication_status()
                        .iter()
                        .any(|r| r.region() == Some(d.region.as_str()))),
                Ok(out) => Ok(out.deleted_date().is_some()),
                Err(e) => match d.err("secretsmanager", "DescribeSecret", e) {
                    e if is_gone(&e, &["ResourceNotFoundException"]) => Ok(true),
                    e => Err(e.into()),
                },
            }
        }
        _ => Ok(false),
    }
}

pub(super) async fn delete(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    match d.resource.kind {
        ResourceKind::SsmParameter => parameter(d).await,
        ResourceKind::Secret => secret(d).await,
        ResourceKind::LogGroup => log_group(d).await,
        ResourceKind::EventsRule => rule(d).await,
        ResourceKind::Schedule => schedule(d).await,
        ResourceKind::Pipeline => pipeline(d).await,
        ResourceKind::CodeBuildProject => project(d).await,
        ResourceKind::S3Bucket => bucket(d).await,
        ResourceKind::EcsService => super::delete_ecs::service(d).await,
        ResourceKind::EcsTaskDefinition => super::delete_ecs::task_definition(d).await,
        ResourceKind::EcsCluster => super::delete_ecs::cluster(d).await,
        ResourceKind::IamRole => super::delete_iam::role(d).await,
        ResourceKind::IamPolicy => super::delete_iam::policy(d).await,
        other => Err(StepError::Failed(format!("cleanup does not delete {}", other.as_str()))),
    }
}

async fn parameter(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let ssm = d.session.ssm(&d.region);
    match ssm.delete_parameter().name(d.name()).send().await {
        Ok(_) => deleted(true),
        Err(e) => match d.err("ssm", "DeleteParameter", e) {
            e if is_gone(&e, &["ParameterNotFound"]) => deleted(false),
            e => Err(e.into()),
        },
    }
}

/// A replica goes with `RemoveRegionsFromReplication` on its primary (a primary cannot be
/// deleted while it has replicas: DeleteSecret, "You can't delete a primary secret that is
/// replicated to other Regions"); a primary with `DeleteSecret` and the recovery window, so
/// it can be restored (`RestoreSecret`) until then. A secret already pending deletion is
/// done: it cannot be read any more, and a second DeleteSecret would not change its date.
async fn secret(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    const GONE: [&str; 1] = ["ResourceNotFoundException"];
    if let Some(primary) = d.config("PrimaryRegion") {
        let sm = d.session.secretsmanager(&primary);
        let described = match sm.describe_secret().secret_id(d.name()).send().await {
            Ok(out) => out,
            Err(e) => match d.err("secretsmanager", "DescribeSecret", e) {
                e if is_gone(&e, &GONE) => return deleted(false),
                e => return Err(e.into()),
            },
        };
        let replicated =
            described.replication_status().iter().any(|r| r.region() == Some(d.region.as_str()));
        if !replicated {
            return deleted(false);
        }
        sm.remove_regions_from_replication()
            .secret_id(d.name())
            .remove_replica_regions(&d.region)
            .send()
            .await
            .map_err(|e| d.err("secretsmanager", "RemoveRegionsFromReplication", e))?;
        return deleted(true);
    }
    let sm = d.session.secretsmanager(&d.region);
    let described = match sm.describe_secret().secret_id(&d.resource.arn).send().await {
        Ok(out) => out,
        Err(e) => match d.err("secretsmanager", "DescribeSecret", e) {
            e if is_gone(&e, &GONE) => return deleted(false),
            e => return Err(e.into()),
        },
    };
    if described.deleted_date().is_some() {
        return deleted(false);
    }
    sm.delete_secret()
        .secret_id(&d.resource.arn)
        .recovery_window_in_days(d.options.recovery_window_days)
        .send()
        .await
        .map_err(|e| d.err("secretsmanager", "DeleteSecret", e))?;
    deleted(true)
}

async fn log_group(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let logs = d.session.logs(&d.region);
    match logs.delete_log_group().log_group_name(d.name()).send().await {
        Ok(_) => deleted(true),
        Err(e) => match d.err("logs", "DeleteLogGroup", e) {
            e if is_gone(&e, &["ResourceNotFoundException"]) => deleted(false),
            e => Err(e.into()),
        },
    }
}

/// "Before you can delete the rule, you must remove all targets" (EventBridge DeleteRule);
/// RemoveTargets takes at most 10 ids and reports the ones it could not remove.
async fn rule(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let events = d.session.events(&d.region);
    let bus = d.config("EventBusName").unwrap_or_else(|| "default".into());
    let listed = events.list_targets_by_rule().rule(d.name()).event_bus_name(&bus).send().await;
    let targets = match listed {
        Ok(out) => out.targets().iter().map(|t| t.id().to_string()).collect::<Vec<_>>(),
        Err(e) => match d.err("events", "ListTargetsByRule", e) {
            e if is_gone(&e, &["ResourceNotFoundException"]) => return deleted(false),
            e => return Err(e.into()),
        },
    };
    for ids in targets.chunks(10) {
        let out = events
            .remove_targets()
            .rule(d.name())
            .event_bus_name(&bus)
            .set_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| d.err("events", "RemoveTargets", e))?;
        if out.failed_entry_count() > 0 {
            let first = out.failed_entries().first().and_then(|f| f.error_message()).unwrap_or("");
            return Err(StepError::Failed(format!(
                "events:RemoveTargets of rule {} left {} targets: {first}",
                d.name(),
                out.failed_entry_count()
            )));
        }
    }
    match events.delete_rule().name(d.name()).event_bus_name(&bus).send().await {
        Ok(_) => deleted(true),
        Err(e) => match d.err("events", "DeleteRule", e) {
            e if is_gone(&e, &["ResourceNotFoundException"]) => deleted(false),
            e => Err(e.into()),
        },
    }
}

async fn schedule(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let (group, name) = d.name().split_once('/').unwrap_or(("default", d.name()));
    let scheduler = d.session.scheduler(&d.region);
    match scheduler.delete_schedule().group_name(group).name(name).send().await {
        Ok(_) => deleted(true),
        Err(e) => match d.err("scheduler", "DeleteSchedule", e) {
            e if is_gone(&e, &["ResourceNotFoundException"]) => deleted(false),
            e => Err(e.into()),
        },
    }
}

async fn pipeline(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let cp = d.session.codepipeline(&d.region);
    match cp.get_pipeline().name(d.name()).send().await {
        Ok(_) => {}
        Err(e) => match d.err("codepipeline", "GetPipeline", e) {
            e if is_gone(&e, &["PipelineNotFoundException"]) => return deleted(false),
            e => return Err(e.into()),
        },
    }
    pipeline_webhooks_gone(d, &cp).await?;
    cp.delete_pipeline()
        .name(d.name())
        .send()
        .await
        .map_err(|e| d.err("codepipeline", "DeletePipeline", e))?;
    deleted(true)
}

/// A v1 pipeline's webhooks are resources of their own: DeletePipeline leaves them, still
/// registered with GitHub, which goes on calling them (the AWS CLI's `delete-webhook` example:
/// "You must use the deregister-webhook-with-third-party command to deregister the webhook
/// before you delete it"). So each webhook whose target is this pipeline is deregistered, then
/// deleted, before the pipeline. A deregistration GitHub refuses (a revoked token) does not
/// stop the delete: the hook left at GitHub points at a URL that no longer answers, which a
/// warning names for a person to remove.
async fn pipeline_webhooks_gone(
    d: &Doomed<'_>,
    cp: &aws_sdk_codepipeline::Client,
) -> Result<(), StepError> {
    let hooks = orgsplit_aws::listing::pipeline_webhooks(&d.session, &d.region).await?;
    let ours =
        hooks.iter().filter_map(|h| h.definition()).filter(|w| w.target_pipeline() == d.name());
    for hook in ours {
        let name = hook.name();
        if let Err(e) = cp.deregister_webhook_with_third_party().webhook_name(name).send().await {
            let e = d.err("codepipeline", "DeregisterWebhookWithThirdParty", e);
            if !e.is_not_found() {
                tracing::warn!(pipeline = d.name(), webhook = name, error = %e, "the webhook could not be deregistered from GitHub: remove the repository's hook to https://{}.webhooks.aws/trigger by hand", d.region);
            }
        }
        cp.delete_webhook()
            .name(name)
            .send()
            .await
            .map_err(|e| d.err("codepipeline", "DeleteWebhook", e))?;
    }
    Ok(())
}

async fn project(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let cb = d.session.codebuild(&d.region);
    let found = cb
        .batch_get_projects()
        .names(d.name())
        .send()
        .await
        .map_err(|e| d.err("codebuild", "BatchGetProjects", e))?;
    if found.projects().is_empty() {
        return deleted(false);
    }
    cb.delete_project()
        .name(d.name())
        .send()
        .await
        .map_err(|e| d.err("codebuild", "DeleteProject", e))?;
    deleted(true)
}

/// Only an empty bucket goes: "All objects (including all object versions and delete
/// markers) in the bucket must be deleted before the bucket itself can be deleted" (S3
/// DeleteBucket). A bucket that holds anything waits for a person to empty it: cleanup never
/// deletes data a copy did not take.
async fn bucket(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let s3 = d.session.s3(&d.region);
    let owner = d.session.account_id.clone();
    let versions =
        s3.list_object_versions().bucket(d.name()).expected_bucket_owner(&owner).max_keys(1);
    let versions = match versions.send().await {
        Ok(out) => out,
        Err(e) => match d.err("s3", "ListObjectVersions", e) {
            e if is_gone(&e, &["NoSuchBucket"]) => return deleted(false),
            e => return Err(e.into()),
        },
    };
    let uploads = s3
        .list_multipart_uploads()
        .bucket(d.name())
        .expected_bucket_owner(&owner)
        .max_uploads(1)
        .send()
        .await
        .map_err(|e| d.err("s3", "ListMultipartUploads", e))?;
    if !versions.versions().is_empty()
        || !versions.delete_markers().is_empty()
        || !uploads.uploads().is_empty()
    {
        return Ok(Outcome::Waiting {
            message: format!(
                "bucket {} holds objects, versions or uploads: empty it (or classify it `ignore` and re-plan), then run cleanup again",
                d.name()
            ),
            url: None,
        });
    }
    match s3.delete_bucket().bucket(d.name()).expected_bucket_owner(&owner).send().await {
        Ok(_) => deleted(true),
        Err(e) => match d.err("s3", "DeleteBucket", e) {
            e if is_gone(&e, &["NoSuchBucket"]) => deleted(false),
            e => Err(e.into()),
        },
    }
}
