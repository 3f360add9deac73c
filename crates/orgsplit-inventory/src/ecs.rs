//! ECS clusters, task definitions (the latest ACTIVE revision of each family), services and
//! standalone tasks running now. Configurations are kept in the API's own JSON (camelCase),
//! so a task definition can be registered again from them.
//!
//! Calls per region, for `c` clusters, `f` task-definition families with an ACTIVE
//! revision, `s_k` services and `t_k` running tasks (service tasks included: ListTasks
//! cannot leave them out) in cluster `k`:
//! - `ListClusters = max(1, ceil(c / 100))`, `DescribeClusters = ceil(c / 100)`;
//! - `ListTaskDefinitionFamilies = max(1, ceil(f / 100))`, `DescribeTaskDefinition = f`;
//! - `ListServices = Σ_k max(1, ceil(s_k / 100))`, `DescribeServices = Σ_k ceil(s_k / 10)`;
//! - `ListTasks = Σ_k max(1, ceil(t_k / 100))`, `DescribeTasks = Σ_k ceil(t_k / 100)`.
//!
//! Tags come with the describes (`include: TAGS`).

use aws_sdk_ecs::types::{
    ClusterField, DesiredStatus, ServiceField, TaskDefinitionFamilyStatus, TaskDefinitionField,
    TaskField,
};
use futures::stream::{self, StreamExt, TryStreamExt};
use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::inventory::Reference;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::InventoryError;
use crate::util::{Collected, pick, tags, to_json};
use orgsplit_aws::shapes::ECS_TASK_DEFINITION_REGISTRABLE;

/// Concurrent DescribeTaskDefinition calls, and clusters handled at once.
const CONCURRENCY: usize = 8;

/// The fields CreateService takes that DescribeServices returns.
const SERVICE_FIELDS: &[&str] = &[
    "cluster",
    "serviceName",
    "taskDefinition",
    "desiredCount",
    "launchType",
    "capacityProviderStrategy",
    "platformVersion",
    "networkConfiguration",
    "loadBalancers",
    "serviceRegistries",
    "schedulingStrategy",
    "deploymentConfiguration",
    "deploymentController",
    "placementConstraints",
    "placementStrategy",
    "healthCheckGracePeriodSeconds",
    "enableECSManagedTags",
    "propagateTags",
    "enableExecuteCommand",
    "availabilityZoneRebalancing",
];

const TASK_FIELDS: &[&str] = &[
    "cluster",
    "taskDefinitionArn",
    "startedAt",
    "startedBy",
    "group",
    "lastStatus",
    "launchType",
];

const CLUSTER_FIELDS: &[&str] = &[
    "clusterName",
    "settings",
    "configuration",
    "capacityProviders",
    "defaultCapacityProviderStrategy",
    "serviceConnectDefaults",
];

fn ecs_tags(t: &[aws_sdk_ecs::types::Tag]) -> BTreeMap<String, String> {
    tags(t.iter().map(|t| (t.key(), t.value())))
}

pub async fn collect(session: &AccountSession, region: &str) -> Collected {
    let (clusters, taskdefs) = futures::try_join!(
        collect_clusters(session, region),
        collect_task_definitions(session, region)
    )?;
    let cluster_list: Vec<(String, String)> =
        clusters.iter().map(|c| (c.name.clone(), c.arn.clone())).collect();
    let per_cluster: Vec<Vec<Resource>> = stream::iter(cluster_list)
        .map(|(name, arn)| async move {
            let (mut services, tasks) = futures::try_join!(
                collect_services(session, region, &name, &arn),
                collect_tasks(session, region, &name, &arn)
            )?;
            services.extend(tasks);
            Ok::<_, InventoryError>(services)
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut out = clusters;
    out.extend(taskdefs);
    out.extend(per_cluster.into_iter().flatten());
    Ok(out)
}

async fn collect_clusters(session: &AccountSession, region: &str) -> Collected {
    let ecs = session.ecs(region);
    let arns = every_page!(ecs.list_clusters().max_results(100), cluster_arns)
        .map_err(session.error_of("ecs", "ListClusters", region))?;
    let mut out = Vec::new();
    for chunk in arns.chunks(100) {
        let described = ecs
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(ClusterField::Tags)
            .include(ClusterField::Settings)
            .include(ClusterField::Configurations)
            .send()
            .await
            .map_err(session.error_of("ecs", "DescribeClusters", region))?;
        warn_failures("DescribeClusters", described.failures());
        for c in described.clusters() {
            let (Some(name), Some(arn)) = (c.cluster_name(), c.cluster_arn()) else {
                continue;
            };
            out.push(Resource::new(
                ResourceKind::EcsCluster,
                name,
                arn,
                Some(region.to_string()),
                ecs_tags(c.tags()),
                pick(&to_json(c), CLUSTER_FIELDS),
                vec![],
            ));
        }
    }
    Ok(out)
}

async fn collect_task_definitions(session: &AccountSession, region: &str) -> Collected {
    let ecs = session.ecs(region);
    let account = session.account_id.as_str();
    let request = ecs
        .list_task_definition_families()
        .status(TaskDefinitionFamilyStatus::Active)
        .max_results(100);
    let error_of = session.error_of("ecs", "ListTaskDefinitionFamilies", region);
    let families = every_page!(request, families).map_err(error_of)?;
    let described: Vec<Option<Resource>> = stream::iter(families)
        .map(|family| {
            let ecs = ecs.clone();
            async move {
                // A family name alone resolves to its latest ACTIVE revision.
                let out = ecs
                    .describe_task_definition()
                    .task_definition(&family)
                    .include(TaskDefinitionField::Tags)
                    .send()
                    .await
                    .map_err(session.error_of("ecs", "DescribeTaskDefinition", region))?;
                let Some(td) = out.task_definition() else {
                    tracing::warn!(%family, "DescribeTaskDefinition returned no task definition");
                    return Ok(None);
                };
                let Some(arn) = td.task_definition_arn() else {
                    return Ok(None);
                };
                // What RegisterTaskDefinition takes, plus `revision`, for the record.
                let fields: Vec<&'static str> =
                    ECS_TASK_DEFINITION_REGISTRABLE.iter().copied().chain(["revision"]).collect();
                let config = pick(&to_json(td), &fields);
                let references = taskdef_references(&config, &session.partition, region, account);
                Ok::<_, InventoryError>(Some(Resource::new(
                    ResourceKind::EcsTaskDefinition,
                    td.family().unwrap_or(&family),
                    arn,
                    Some(region.to_string()),
                    ecs_tags(out.tags()),
                    config,
                    references,
                )))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(described.into_iter().flatten().collect())
}

async fn collect_services(
    session: &AccountSession,
    region: &str,
    cluster: &str,
    cluster_arn: &str,
) -> Result<Vec<Resource>, InventoryError> {
    let ecs = session.ecs(region);
    let request = ecs.list_services().cluster(cluster_arn).max_results(100);
    let error_of = session.error_of("ecs", "ListServices", region);
    let arns = every_page!(request, service_arns).map_err(error_of)?;
    let mut out = Vec::new();
    for chunk in arns.chunks(10) {
        let described = ecs
            .describe_services()
            .cluster(cluster_arn)
            .set_services(Some(chunk.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await
            .map_err(session.error_of("ecs", "DescribeServices", region))?;
        warn_failures("DescribeServices", described.failures());
        for s in described.services() {
            let (Some(name), Some(arn)) = (s.service_name(), s.service_arn()) else {
                continue;
            };
            let td = s.task_definition().map(|td| (td, "taskDefinition"));
            let found = InCluster { kind: ResourceKind::EcsService, id: name, arn, td };
            out.push(found.resource((cluster, cluster_arn, region), to_json(s), s.tags()));
        }
    }
    Ok(out)
}

async fn collect_tasks(
    session: &AccountSession,
    region: &str,
    cluster: &str,
    cluster_arn: &str,
) -> Result<Vec<Resource>, InventoryError> {
    let ecs = session.ecs(region);
    let request = ecs
        .list_tasks()
        .cluster(cluster_arn)
        .desired_status(DesiredStatus::Running)
        .max_results(100);
    let arns =
        every_page!(request, task_arns).map_err(session.error_of("ecs", "ListTasks", region))?;
    let mut out = Vec::new();
    for chunk in arns.chunks(100) {
        let described = ecs
            .describe_tasks()
            .cluster(cluster_arn)
            .set_tasks(Some(chunk.to_vec()))
            .include(TaskField::Tags)
            .send()
            .await
            .map_err(session.error_of("ecs", "DescribeTasks", region))?;
        warn_failures("DescribeTasks", described.failures());
        for t in described.tasks() {
            if t.group().is_some_and(|g| g.starts_with("service:")) {
                continue; // the service's: migrated with it
            }
            let Some(arn) = t.task_arn() else { continue };
            let id = arn.rsplit('/').next().unwrap_or(arn);
            let td = t.task_definition_arn().map(|td| (td, "taskDefinitionArn"));
            let found = InCluster { kind: ResourceKind::EcsTask, id, arn, td };
            out.push(found.resource((cluster, cluster_arn, region), to_json(t), t.tags()));
        }
    }
    Ok(out)
}

/// A role given by name or ARN, as an ARN.
fn role_arn(role: &str, partition: &str, account: &str) -> String {
    if role.starts_with("arn:") {
        role.to_string()
    } else {
        format!("arn:{partition}:iam::{account}:role/{role}")
    }
}

/// A container secret's `valueFrom`: a Secrets Manager or SSM ARN as is, a bare parameter
/// name (same region and account) as its ARN.
fn value_from_arn(value_from: &str, partition: &str, region: &str, account: &str) -> String {
    if value_from.starts_with("arn:") {
        value_from.to_string()
    } else {
        let sep = if value_from.starts_with('/') { "" } else { "/" };
        format!("arn:{partition}:ssm:{region}:{account}:parameter{sep}{value_from}")
    }
}

/// An ECR image URI's repository ARN (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO[:tag|@digest]`);
/// `None` for images from elsewhere (Docker Hub, public ECR…).
pub(crate) fn ecr_repository_arn(image: &str) -> Option<String> {
    let (host, path) = image.split_once('/')?;
    let mut parts = host.split('.');
    let account = parts.next()?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if parts.next()? != "dkr" || parts.next()? != "ecr" {
        return None;
    }
    let region = parts.next()?;
    if !host.contains(".amazonaws.com") {
        return None;
    }
    let repo = path.split_once('@').map_or(path, |(r, _)| r);
    let last = repo.rfind('/').map_or(0, |i| i + 1);
    let repo = match repo[last..].find(':') {
        Some(i) => &repo[..last + i],
        None => repo,
    };
    let partition = orgsplit_model::arn::partition_of_region(region);
    Some(format!("arn:{partition}:ecr:{region}:{account}:repository/{repo}"))
}

/// What a task definition uses: its roles, its containers' secrets (SSM parameters or
/// Secrets Manager secrets), private-registry credentials, log groups and ECR repositories.
fn taskdef_references(
    config: &Value,
    partition: &str,
    region: &str,
    account: &str,
) -> Vec<Reference> {
    let mut refs = Vec::new();
    for key in ["executionRoleArn", "taskRoleArn"] {
        if let Some(role) = config.get(key).and_then(Value::as_str) {
            refs.push(Reference::new(role_arn(role, partition, account), key));
        }
    }
    let containers = config
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (i, c) in containers.iter().enumerate() {
        let at = format!("containerDefinitions[{i}]");
        if let Some(image) = c.get("image").and_then(Value::as_str)
            && let Some(arn) = ecr_repository_arn(image)
        {
            refs.push(Reference::new(arn, format!("{at}.image")));
        }
        let secrets = c.get("secrets").and_then(Value::as_array);
        for (j, s) in secrets.into_iter().flatten().enumerate() {
            if let Some(v) = s.get("valueFrom").and_then(Value::as_str) {
                refs.push(Reference::new(
                    value_from_arn(v, partition, region, account),
                    format!("{at}.secrets[{j}].valueFrom"),
                ));
            }
        }
        if let Some(p) =
            c.pointer("/repositoryCredentials/credentialsParameter").and_then(Value::as_str)
        {
            refs.push(Reference::new(
                value_from_arn(p, partition, region, account),
                format!("{at}.repositoryCredentials.credentialsParameter"),
            ));
        }
        let log = c.get("logConfiguration");
        if let Some(options) = log.and_then(|l| l.get("options"))
            && log.and_then(|l| l.get("logDriver")).and_then(Value::as_str) == Some("awslogs")
            && let Some(group) = options.get("awslogs-group").and_then(Value::as_str)
        {
            let group_region =
                options.get("awslogs-region").and_then(Value::as_str).unwrap_or(region);
            refs.push(Reference::new(
                format!("arn:{partition}:logs:{group_region}:{account}:log-group:{group}"),
                format!("{at}.logConfiguration.options.awslogs-group"),
            ));
        }
        let log_secrets = log.and_then(|l| l.get("secretOptions")).and_then(Value::as_array);
        for (j, s) in log_secrets.into_iter().flatten().enumerate() {
            if let Some(v) = s.get("valueFrom").and_then(Value::as_str) {
                refs.push(Reference::new(
                    value_from_arn(v, partition, region, account),
                    format!("{at}.logConfiguration.secretOptions[{j}].valueFrom"),
                ));
            }
        }
    }
    refs
}

/// ECS's Describe* calls answer with the resources they found and a failure for each they
/// did not (deleted meanwhile): the inventory goes on without them, and says so.
fn warn_failures(operation: &str, failures: &[aws_sdk_ecs::types::Failure]) {
    for f in failures {
        tracing::warn!(arn = ?f.arn(), reason = ?f.reason(), "{operation} failure");
    }
}

/// A service or a task of a cluster, as the inventory records it: named `cluster/id`, its
/// configuration with the cluster's ARN, and the cluster and task definition as references.
struct InCluster<'a> {
    kind: ResourceKind,
    id: &'a str,
    arn: &'a str,
    /// The task definition and the member that names it.
    td: Option<(&'a str, &'static str)>,
}

impl InCluster<'_> {
    fn resource(
        self,
        (cluster, cluster_arn, region): (&str, &str, &str),
        mut json: Value,
        tags: &[aws_sdk_ecs::types::Tag],
    ) -> Resource {
        json["cluster"] = json!(cluster_arn);
        let fields =
            if self.kind == ResourceKind::EcsService { SERVICE_FIELDS } else { TASK_FIELDS };
        let mut references = vec![Reference::new(cluster_arn, "cluster")];
        references.extend(self.td.map(|(td, via)| Reference::new(td, via)));
        let name = format!("{cluster}/{}", self.id);
        let region = Some(region.to_string());
        Resource::new(
            self.kind,
            name,
            self.arn,
            region,
            ecs_tags(tags),
            pick(&json, fields),
            references,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_image_uris() {
        assert_eq!(
            ecr_repository_arn("111111111111.dkr.ecr.us-east-1.amazonaws.com/mail-sender:1.4.0")
                .as_deref(),
            Some("arn:aws:ecr:us-east-1:111111111111:repository/mail-sender")
        );
        assert_eq!(
            ecr_repository_arn("111111111111.dkr.ecr.eu-west-1.amazonaws.com/team/api@sha256:abcd")
                .as_deref(),
            Some("arn:aws:ecr:eu-west-1:111111111111:repository/team/api")
        );
        assert_eq!(
            ecr_repository_arn("111111111111.dkr.ecr.us-east-1.amazonaws.com/api").as_deref(),
            Some("arn:aws:ecr:us-east-1:111111111111:repository/api")
        );
        // Other partitions: the Region says which.
        assert_eq!(
            ecr_repository_arn("111111111111.dkr.ecr.cn-north-1.amazonaws.com.cn/api:1").as_deref(),
            Some("arn:aws-cn:ecr:cn-north-1:111111111111:repository/api")
        );
        assert_eq!(
            ecr_repository_arn("111111111111.dkr.ecr.us-gov-west-1.amazonaws.com/api:1").as_deref(),
            Some("arn:aws-us-gov:ecr:us-gov-west-1:111111111111:repository/api")
        );
        assert_eq!(ecr_repository_arn("nginx:1.25"), None);
        assert_eq!(ecr_repository_arn("public.ecr.aws/nginx/nginx:1"), None);
        assert_eq!(ecr_repository_arn("localhost:5000/x"), None);
    }

    #[test]
    fn references_of_a_task_definition() {
        let config = json!({
            "executionRoleArn": "arn:aws:iam::111111111111:role/exec",
            "taskRoleArn": "task",
            "containerDefinitions": [{
                "image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/app:1",
                "secrets": [
                    {"name": "A", "valueFrom": "/prod/a"},
                    {"name": "B", "valueFrom": "plain"},
                    {"name": "C", "valueFrom": "arn:aws:secretsmanager:us-east-1:111111111111:secret:x-AbCdEf:password::"}
                ],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/app", "awslogs-region": "us-east-1"}}
            }]
        });
        let refs = taskdef_references(&config, "aws", "us-east-1", "111111111111");
        let got: Vec<(&str, &str)> =
            refs.iter().map(|r| (r.arn.as_str(), r.via.as_str())).collect();
        assert_eq!(
            got,
            vec![
                ("arn:aws:iam::111111111111:role/exec", "executionRoleArn"),
                ("arn:aws:iam::111111111111:role/task", "taskRoleArn"),
                (
                    "arn:aws:ecr:us-east-1:111111111111:repository/app",
                    "containerDefinitions[0].image"
                ),
                (
                    "arn:aws:ssm:us-east-1:111111111111:parameter/prod/a",
                    "containerDefinitions[0].secrets[0].valueFrom"
                ),
                (
                    "arn:aws:ssm:us-east-1:111111111111:parameter/plain",
                    "containerDefinitions[0].secrets[1].valueFrom"
                ),
                (
                    "arn:aws:secretsmanager:us-east-1:111111111111:secret:x-AbCdEf:password::",
                    "containerDefinitions[0].secrets[2].valueFrom"
                ),
                (
                    "arn:aws:logs:us-east-1:111111111111:log-group:/ecs/app",
                    "containerDefinitions[0].logConfiguration.options.awslogs-group"
                ),
            ]
        );
    }
}
