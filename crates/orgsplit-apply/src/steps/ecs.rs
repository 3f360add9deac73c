//! ECS clusters, task definitions and services, re-created in the target account from the
//! configuration the inventory recorded (the API's own camelCase JSON, account ids already
//! rewritten by the plan). SDK structures are built from that JSON with the SDK's codec,
//! and live and wanted states are compared as JSON after both went through the same codec,
//! so a member the SDK does not know can never make a re-run see a difference.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Cluster, ClusterField, NetworkConfiguration, Service,
    ServiceField, SortOrder, Tag, TaskDefinition, TaskDefinitionField, TaskDefinitionStatus,
};
use orgsplit_aws::sdk_json::{from_json, to_json};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use self::shared::{aws_error, first_difference, input_error, prune, tags_to_add, wanted_tags};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::step::{Network, ResourceCopy, ServiceCopy};

const ECS: &str = "ecs";

/// Helpers shared by the workload copy steps of this module's siblings (EventBridge,
/// Scheduler, CodePipeline): `steps/mod.rs` keeps one module per step kind, so they live
/// with the first of them.
pub(super) mod shared {
    use crate::context::{StepContext, StepError};
    use aws_sdk_ecs::error::SdkError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    use orgsplit_aws::AwsError;
    use serde_json::{Map, Value};
    use std::collections::BTreeMap;

    /// An SDK error of a call made in the step's account and region.
    pub fn aws_error<E, R>(
        cx: &StepContext,
        service: &str,
        op: &str,
        err: SdkError<E, R>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        orgsplit_aws::call_error(service, op, &cx.step.account, cx.region(), err)
    }

    pub fn input_error(field: &str, message: impl Into<String>) -> StepError {
        StepError::Input {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// `value` without nulls, empty lists and empty objects, at any depth: AWS leaves unset
    /// members out of some answers and returns them empty in others.
    pub fn prune(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), prune(v)))
                    .filter(|(_, v)| !is_empty(v))
                    .collect::<Map<_, _>>(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(prune).collect()),
            other => other.clone(),
        }
    }

    fn is_empty(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        }
    }

    /// The first place where `got` differs from `want` (`containerDefinitions[0].image`),
    /// `None` when they are equal.
    pub fn first_difference(want: &Value, got: &Value) -> Option<String> {
        difference_at(want, got, "")
    }

    fn difference_at(want: &Value, got: &Value, at: &str) -> Option<String> {
        let here = || {
            if at.is_empty() {
                "(the whole value)".to_string()
            } else {
                at.to_string()
            }
        };
        match (want, got) {
            (Value::Object(w), Value::Object(g)) => {
                let keys: std::collections::BTreeSet<&String> = w.keys().chain(g.keys()).collect();
                keys.into_iter().find_map(|k| {
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    match (w.get(k), g.get(k)) {
                        (Some(a), Some(b)) => difference_at(a, b, &path),
                        _ => Some(path),
                    }
                })
            }
            (Value::Array(w), Value::Array(g)) if w.len() == g.len() => w
                .iter()
                .zip(g)
                .enumerate()
                .find_map(|(i, (a, b))| difference_at(a, b, &format!("{at}[{i}]"))),
            _ if want == got => None,
            _ => Some(here()),
        }
    }

    /// The tags the plan recorded for the copied resource.
    pub fn wanted_tags(cx: &StepContext) -> BTreeMap<String, String> {
        cx.step
            .spec
            .copy()
            .map(|c| c.tags.clone())
            .unwrap_or_default()
    }

    /// Wanted tags that are missing or have another value. Tags someone added in the target
    /// are left alone: orgsplit adds what the source had, it does not own the rest.
    pub fn tags_to_add(
        want: &BTreeMap<String, String>,
        have: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        want.iter()
            .filter(|(k, v)| have.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` -> (region, account, resource).
    pub fn arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
        let mut parts = arn.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let _partition = parts.next()?;
        let _service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        Some((region, account, parts.next()?))
    }
}

// ---- clusters ------------------------------------------------------------------------------

/// What a cluster copy compares: the members the plan recorded, as JSON.
const CLUSTER_COMPARED: &[&str] = &[
    "settings",
    "configuration",
    "capacityProviders",
    "defaultCapacityProviderStrategy",
];

pub async fn cluster(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    let name = copy.name.as_str();
    let want = wanted_cluster(cx, &copy.config)?;
    let ecs = cx.session().await?.ecs(cx.region());
    let live = describe_cluster(cx, &ecs, name).await?;
    let mut changed = false;
    let arn = match live.as_ref().filter(|c| c.status() != Some("INACTIVE")) {
        None => {
            changed = true;
            create_cluster(cx, &ecs, name, &want).await?
        }
        Some(live) => {
            changed |= update_cluster(cx, &ecs, name, &want, live).await?;
            live.cluster_arn().unwrap_or_default().to_string()
        }
    };
    let after = match (changed, live) {
        (false, Some(live)) => live,
        _ => describe_cluster(cx, &ecs, name).await?.ok_or_else(|| {
            StepError::Verify(format!("ECS cluster {name} is not there after writing it"))
        })?,
    };
    if after.status() != Some("ACTIVE") {
        return Err(StepError::Verify(format!(
            "ECS cluster {name} is {} after writing it",
            after.status().unwrap_or("without a status")
        )));
    }
    if let Some(field) = cluster_difference(&want, &after) {
        return Err(StepError::Verify(format!(
            "ECS cluster {name}: {field} differs from the plan"
        )));
    }
    changed |= tag_resource(cx, &ecs, &arn, ecs_tags(after.tags())).await?;
    Ok(Outcome::changed(changed).with_output("cluster_arn", arn))
}

fn wanted_cluster(cx: &StepContext, config: &Value) -> Result<Cluster, StepError> {
    if config.get("serviceConnectDefaults").is_some() {
        // Its Cloud Map namespace lives in the source account and is not migrated.
        tracing::warn!(
            step = %cx.step.address,
            "serviceConnectDefaults is not copied: set a namespace in the target by hand"
        );
    }
    from_json(config, Cluster::deserialize).map_err(|e| input_error("config", e))
}

async fn describe_cluster(
    cx: &StepContext,
    ecs: &Client,
    name: &str,
) -> Result<Option<Cluster>, StepError> {
    let out = ecs
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .include(ClusterField::Configurations)
        .send()
        .await
        .map_err(|e| aws_error(cx, ECS, "DescribeClusters", e))?;
    Ok(out
        .clusters()
        .iter()
        .find(|c| c.cluster_name() == Some(name))
        .cloned())
}

async fn create_cluster(
    cx: &StepContext,
    ecs: &Client,
    name: &str,
    want: &Cluster,
) -> Result<String, StepError> {
    let tags = tag_list(&wanted_tags(cx));
    super::propagation::ensure_ecs_service_linked_role(&cx.session().await?).await?;
    let out = super::propagation::retry(super::propagation::ECS_SERVICE_LINKED_ROLE, || {
        ecs.create_cluster()
            .cluster_name(name)
            .set_settings(non_empty(want.settings()))
            .set_configuration(want.configuration().cloned())
            .set_capacity_providers(non_empty(want.capacity_providers()))
            .set_default_capacity_provider_strategy(non_empty(
                want.default_capacity_provider_strategy(),
            ))
            .set_tags(non_empty(&tags))
            .send()
    })
    .await
    .map_err(|e| aws_error(cx, ECS, "CreateCluster", e))?;
    Ok(out
        .cluster()
        .and_then(|c| c.cluster_arn())
        .unwrap_or_default()
        .to_string())
}

/// Updates what differs: settings and configuration (UpdateCluster), capacity providers
/// (PutClusterCapacityProviders, which takes both lists together).
async fn update_cluster(
    cx: &StepContext,
    ecs: &Client,
    name: &str,
    want: &Cluster,
    live: &Cluster,
) -> Result<bool, StepError> {
    let (w, l) = (cluster_json(want), cluster_json(live));
    let differs = |k: &str| w.get(k).is_some_and(|v| !contains(l.get(k), v));
    let mut changed = false;
    if differs("settings") || differs("configuration") {
        ecs.update_cluster()
            .cluster(name)
            .set_settings(non_empty(want.settings()))
            .set_configuration(want.configuration().cloned())
            .send()
            .await
            .map_err(|e| aws_error(cx, ECS, "UpdateCluster", e))?;
        changed = true;
    }
    if differs("capacityProviders") || differs("defaultCapacityProviderStrategy") {
        ecs.put_cluster_capacity_providers()
            .cluster(name)
            .set_capacity_providers(Some(want.capacity_providers().to_vec()))
            .set_default_capacity_provider_strategy(Some(
                want.default_capacity_provider_strategy().to_vec(),
            ))
            .send()
            .await
            .map_err(|e| aws_error(cx, ECS, "PutClusterCapacityProviders", e))?;
        changed = true;
    }
    Ok(changed)
}

/// The compared members, pruned; settings and providers sorted (their order means nothing).
fn cluster_json(c: &Cluster) -> Value {
    let mut v = prune(&to_json(c));
    for (key, by) in [("settings", "name"), ("capacityProviders", "")] {
        if let Some(items) = v.get_mut(key).and_then(Value::as_array_mut) {
            items.sort_by_key(|i| {
                if by.is_empty() {
                    i.to_string()
                } else {
                    i[by].to_string()
                }
            });
        }
    }
    let kept = CLUSTER_COMPARED
        .iter()
        .filter_map(|k| Some((k.to_string(), v.get(*k)?.clone())))
        .collect();
    Value::Object(kept)
}

/// Whether `live` holds what the plan wants: every wanted setting (AWS lists settings the
/// plan did not name, such as `containerInsights`), the rest equal.
fn contains(live: Option<&Value>, want: &Value) -> bool {
    match (live, want) {
        (Some(Value::Array(l)), Value::Array(w)) if w.iter().all(|i| i.get("name").is_some()) => {
            w.iter().all(|i| l.contains(i))
        }
        (Some(l), w) => l == w,
        (None, _) => false,
    }
}

fn cluster_difference(want: &Cluster, live: &Cluster) -> Option<String> {
    let (w, l) = (cluster_json(want), cluster_json(live));
    CLUSTER_COMPARED
        .iter()
        .find(|k| w.get(**k).is_some_and(|v| !contains(l.get(**k), v)))
        .map(|k| k.to_string())
}

// ---- task definitions ----------------------------------------------------------------------

/// The members RegisterTaskDefinition takes (but `inferenceAccelerators`, which AWS no
/// longer offers); the rest of a described task definition
/// (`revision`, `status`, `compatibilities`, `requiresAttributes`, `registeredAt`,
/// `registeredBy`, the ARN) is AWS's own.
const REGISTRABLE: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "runtimePlatform",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "ephemeralStorage",
    "enableFaultInjection",
];

pub async fn task_definition(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    let family = copy.name.as_str();
    let want = wanted_task_definition(&copy.config, family)?;
    let want_json = registrable(&want);
    let ecs = cx.session().await?.ecs(cx.region());
    let wanted_tags = wanted_tags(cx);
    if let Some((live, tags)) = latest_active(cx, &ecs, family).await?
        && registrable(&live) == want_json
    {
        let arn = live.task_definition_arn().unwrap_or_default().to_string();
        let tagged = tag_resource(cx, &ecs, &arn, ecs_tags(&tags)).await?;
        return Ok(Outcome::changed(tagged).with_output("task_definition_arn", arn));
    }
    let arn = register(cx, &ecs, &want, &wanted_tags).await?;
    verify_task_definition(cx, &ecs, &arn, &want_json).await?;
    Ok(Outcome::changed(true).with_output("task_definition_arn", arn))
}

fn wanted_task_definition(config: &Value, family: &str) -> Result<TaskDefinition, StepError> {
    let td =
        from_json(config, TaskDefinition::deserialize).map_err(|e| input_error("config", e))?;
    if td.family() != Some(family) {
        return Err(input_error(
            "config.family",
            format!("{:?} is not the step's family {family}", td.family()),
        ));
    }
    if td.container_definitions().is_empty() {
        return Err(input_error("config.containerDefinitions", "empty"));
    }
    Ok(td)
}

/// A task definition's registrable members as JSON, with what AWS fills in by itself made
/// equal to leaving it out, so a copy compares equal to what registering it gives back:
/// - null, empty lists and empty objects are dropped at every depth (AWS answers
///   `portMappings: []`, `mountPoints: []`, `volumesFrom: []`, `environment: []`,
///   `volumes: []`, `placementConstraints: []`, `systemControls: []` for unset members);
/// - a container's `cpu: 0` and `essential: true` are dropped (AWS's defaults, which it
///   writes into every container it describes);
/// - a container's `environment` and `secrets` are sorted by name (their order means
///   nothing to ECS);
/// - `enableFaultInjection: false` is dropped (the default, which newer answers spell out).
pub(super) fn registrable(td: &TaskDefinition) -> Value {
    let all = to_json(td);
    let mut picked = serde_json::Map::new();
    for k in REGISTRABLE {
        if let Some(v) = all.get(*k) {
            picked.insert(k.to_string(), v.clone());
        }
    }
    if picked.get("enableFaultInjection") == Some(&json!(false)) {
        picked.remove("enableFaultInjection");
    }
    let mut v = prune(&Value::Object(picked));
    let containers = v
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut);
    for c in containers.into_iter().flatten() {
        let Some(c) = c.as_object_mut() else { continue };
        if c.get("cpu") == Some(&json!(0)) {
            c.remove("cpu");
        }
        if c.get("essential") == Some(&json!(true)) {
            c.remove("essential");
        }
        for key in ["environment", "secrets"] {
            if let Some(items) = c.get_mut(key).and_then(Value::as_array_mut) {
                items.sort_by_key(|i| i["name"].to_string());
            }
        }
    }
    v
}

/// The latest ACTIVE revision of a family in the step's account and region, with its tags.
/// DescribeTaskDefinition on a family name is documented to answer exactly that; when it
/// answers an INACTIVE revision anyway (the emulator does: it takes the highest revision
/// whatever its status), the ACTIVE revisions are listed instead.
pub(super) async fn latest_active(
    cx: &StepContext,
    ecs: &Client,
    family: &str,
) -> Result<Option<(TaskDefinition, Vec<Tag>)>, StepError> {
    let Some((td, tags)) = describe_task_definition(cx, ecs, family).await? else {
        return Ok(None);
    };
    if td.status() == Some(&TaskDefinitionStatus::Active) {
        return Ok(Some((td, tags)));
    }
    let listed = ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .max_results(1)
        .send()
        .await
        .map_err(|e| aws_error(cx, ECS, "ListTaskDefinitions", e))?;
    let newest = listed
        .task_definition_arns()
        .iter()
        .filter(|arn| family_of(arn) == Some(family))
        .max_by_key(|arn| revision_of(arn));
    match newest {
        Some(arn) => describe_task_definition(cx, ecs, arn).await,
        None => Ok(None),
    }
}

async fn describe_task_definition(
    cx: &StepContext,
    ecs: &Client,
    name: &str,
) -> Result<Option<(TaskDefinition, Vec<Tag>)>, StepError> {
    let out = ecs
        .describe_task_definition()
        .task_definition(name)
        .include(TaskDefinitionField::Tags)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out
            .task_definition()
            .cloned()
            .map(|td| (td, out.tags().to_vec()))),
        // ECS answers a family it does not know with ClientException "Unable to describe
        // task definition", not with a not-found code.
        Err(e)
            if e.code() == Some("ClientException")
                && e.message()
                    .is_some_and(|m| m.contains("Unable to describe task definition")) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error(cx, ECS, "DescribeTaskDefinition", e).into()),
    }
}

async fn register(
    cx: &StepContext,
    ecs: &Client,
    td: &TaskDefinition,
    tags: &BTreeMap<String, String>,
) -> Result<String, StepError> {
    let out = ecs
        .register_task_definition()
        .set_family(td.family().map(str::to_string))
        .set_task_role_arn(td.task_role_arn().map(str::to_string))
        .set_execution_role_arn(td.execution_role_arn().map(str::to_string))
        .set_network_mode(td.network_mode().cloned())
        .set_container_definitions(Some(td.container_definitions().to_vec()))
        .set_volumes(non_empty(td.volumes()))
        .set_placement_constraints(non_empty(td.placement_constraints()))
        .set_requires_compatibilities(non_empty(td.requires_compatibilities()))
        .set_cpu(td.cpu().map(str::to_string))
        .set_memory(td.memory().map(str::to_string))
        .set_runtime_platform(td.runtime_platform().cloned())
        .set_pid_mode(td.pid_mode().cloned())
        .set_ipc_mode(td.ipc_mode().cloned())
        .set_proxy_configuration(td.proxy_configuration().cloned())
        .set_ephemeral_storage(td.ephemeral_storage().cloned())
        .set_enable_fault_injection(td.enable_fault_injection())
        .set_tags(non_empty(&tag_list(tags)))
        .send()
        .await
        .map_err(|e| aws_error(cx, ECS, "RegisterTaskDefinition", e))?;
    out.task_definition()
        .and_then(|t| t.task_definition_arn())
        .map(str::to_string)
        .ok_or_else(|| StepError::Verify("RegisterTaskDefinition returned no ARN".into()))
}

/// Reads the new revision back: every registrable member, the ARNs inside included (roles,
/// secrets' `valueFrom`), must be what the plan asked for.
async fn verify_task_definition(
    cx: &StepContext,
    ecs: &Client,
    arn: &str,
    want: &Value,
) -> Result<(), StepError> {
    let (live, _) = describe_task_definition(cx, ecs, arn)
        .await?
        .ok_or_else(|| {
            StepError::Verify(format!(
                "task definition {arn} is not there after registering it"
            ))
        })?;
    if let Some(field) = first_difference(want, &registrable(&live)) {
        return Err(StepError::Verify(format!(
            "task definition {arn}: {field} differs from the plan"
        )));
    }
    Ok(())
}

/// `arn:…:task-definition/FAMILY[:REVISION]` (or `FAMILY[:REVISION]`) -> FAMILY.
pub(super) fn family_of(task_definition: &str) -> Option<&str> {
    let tail = task_definition
        .rsplit_once("task-definition/")
        .map_or(task_definition, |(_, t)| t);
    let family = tail.split(':').next()?;
    (!family.is_empty() && !family.contains('/')).then_some(family)
}

fn revision_of(arn: &str) -> u64 {
    arn.rsplit(':')
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// A task definition ARN of the plan, made to point at the latest ACTIVE revision of its
/// family in the step's account: the plan kept the source's revision number, which means
/// nothing in the target. ARNs of other accounts are left as they are.
pub(super) async fn target_task_definition(
    cx: &StepContext,
    arn: &str,
) -> Result<String, StepError> {
    let Some((region, account, _)) = shared::arn_parts(arn) else {
        return Ok(arn.to_string());
    };
    if account != cx.step.account {
        return Ok(arn.to_string());
    }
    let family = family_of(arn).ok_or_else(|| {
        input_error(
            "TaskDefinitionArn",
            format!("{arn} is not a task definition ARN"),
        )
    })?;
    let ecs = cx.session().await?.ecs(region);
    latest_active_arn(cx, &ecs, family, region).await
}

/// The ARN of the latest ACTIVE revision of `family` in the step's account; a missing one
/// means the family's own step has not run yet.
async fn latest_active_arn(
    cx: &StepContext,
    ecs: &Client,
    family: &str,
    region: &str,
) -> Result<String, StepError> {
    latest_active(cx, ecs, family)
        .await?
        .and_then(|(td, _)| td.task_definition_arn().map(str::to_string))
        .ok_or_else(|| {
            StepError::Failed(format!(
                "task definition family {family} has no ACTIVE revision in account {} ({region}): its ecs-task-definition step must succeed first",
                cx.step.account
            ))
        })
}

// ---- services ------------------------------------------------------------------------------

pub async fn service(cx: &StepContext, inputs: &ServiceCopy) -> Result<Outcome, StepError> {
    let planned = PlannedService::from_inputs(inputs)?;
    let (cluster, name) = (planned.cluster.as_str(), planned.name.as_str());
    let ecs = cx.session().await?.ecs(cx.region());
    let task_definition = latest_active_arn(cx, &ecs, &planned.family, cx.region()).await?;
    let wanted = WantedService {
        cluster,
        name,
        task_definition: &task_definition,
        desired_count: planned.service.desired_count(),
        network: &planned.network,
    };
    let live = describe_service(cx, &ecs, cluster, name).await?;
    let changed = converge_service(cx, &ecs, &planned.service, &wanted, live.as_ref()).await?;
    let after = match (changed, live) {
        (false, Some(live)) => Some(live),
        _ => describe_service(cx, &ecs, cluster, name).await?,
    };
    let after = after
        .filter(|s| s.status() == Some("ACTIVE"))
        .ok_or_else(|| {
            StepError::Verify(format!(
                "ECS service {cluster}/{name} is not ACTIVE after writing it"
            ))
        })?;
    if let Some(field) = service_difference(&wanted, &after) {
        return Err(StepError::Verify(format!(
            "ECS service {cluster}/{name}: {field} differs from the plan"
        )));
    }
    let arn = after.service_arn().unwrap_or_default().to_string();
    let tagged = tag_resource(cx, &ecs, &arn, ecs_tags(after.tags())).await?;
    Ok(Outcome::changed(changed || tagged).with_output("service_arn", arn))
}

/// The service as the plan recorded it, with the environment's network.
struct PlannedService {
    service: Service,
    cluster: String,
    name: String,
    family: String,
    network: NetworkConfiguration,
}

impl PlannedService {
    fn from_inputs(inputs: &ServiceCopy) -> Result<PlannedService, StepError> {
        let config = &inputs.copy.config;
        let service =
            from_json(config, Service::deserialize).map_err(|e| input_error("config", e))?;
        refuse_unmigrated_parts(&service)?;
        let network = wanted_network(inputs.network.as_ref())?;
        let name = service
            .service_name()
            .ok_or_else(|| input_error("config.serviceName", "missing"))?
            .to_string();
        let cluster = config
            .get("cluster")
            .and_then(Value::as_str)
            .and_then(|c| c.rsplit('/').next())
            .ok_or_else(|| input_error("config.cluster", "missing"))?
            .to_string();
        let family = service
            .task_definition()
            .and_then(family_of)
            .ok_or_else(|| {
                input_error("config.taskDefinition", "missing or not a task definition")
            })?
            .to_string();
        Ok(PlannedService {
            service,
            cluster,
            name,
            family,
            network,
        })
    }
}

/// Creates the service when it is missing (or deleted: INACTIVE), updates it when it
/// differs; whether it did either.
async fn converge_service(
    cx: &StepContext,
    ecs: &Client,
    planned: &Service,
    wanted: &WantedService<'_>,
    live: Option<&Service>,
) -> Result<bool, StepError> {
    let Some(live) = live.filter(|s| s.status() != Some("INACTIVE")) else {
        create_service(cx, ecs, planned, wanted).await?;
        return Ok(true);
    };
    if live.status() == Some("DRAINING") {
        return Err(StepError::Failed(format!(
            "ECS service {}/{} is being deleted (DRAINING): run apply again once it is INACTIVE",
            wanted.cluster, wanted.name
        )));
    }
    if service_difference(wanted, live).is_none() {
        return Ok(false);
    }
    update_service(cx, ecs, wanted).await?;
    Ok(true)
}

/// What a service copy holds to: the target's latest task definition of the family, the
/// source's desired count, and the environment's network from the config.
struct WantedService<'a> {
    cluster: &'a str,
    name: &'a str,
    task_definition: &'a str,
    desired_count: i32,
    network: &'a NetworkConfiguration,
}

/// `inputs.network` (from the config's `[[network]]`): the planner leaves a service
/// without one as a manual item, so a step without it is a plan this code cannot act on.
fn wanted_network(net: Option<&Network>) -> Result<NetworkConfiguration, StepError> {
    let net = net.ok_or_else(|| {
        input_error(
            "network",
            "missing: a service needs a [[network]] for its environment",
        )
    })?;
    if net.subnets.is_empty() {
        return Err(input_error("network.subnets", "empty"));
    }
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(net.subnets.clone()))
        .set_security_groups(Some(net.security_groups.clone()))
        .assign_public_ip(if net.assign_public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| input_error("network", e.to_string()))?;
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build())
}

/// Load balancers' target groups and service registries stay in the source account: a
/// copy without them would run but serve nobody, so the step refuses instead.
fn refuse_unmigrated_parts(want: &Service) -> Result<(), StepError> {
    if !want.load_balancers().is_empty() {
        return Err(input_error(
            "config.loadBalancers",
            "a service behind a load balancer is not migrated (its target groups stay in the source account): create it by hand",
        ));
    }
    if !want.service_registries().is_empty() {
        return Err(input_error(
            "config.serviceRegistries",
            "a service with Cloud Map registries is not migrated: create it by hand",
        ));
    }
    Ok(())
}

async fn describe_service(
    cx: &StepContext,
    ecs: &Client,
    cluster: &str,
    name: &str,
) -> Result<Option<Service>, StepError> {
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .include(ServiceField::Tags)
        .send()
        .await;
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            let err = aws_error(cx, ECS, "DescribeServices", e);
            return if err.is_not_found() {
                Err(StepError::Failed(format!(
                    "ECS cluster {cluster} is not in account {}: its ecs-cluster step must succeed first",
                    cx.step.account
                )))
            } else {
                Err(err.into())
            };
        }
    };
    // Several services of one name can be listed (an INACTIVE one and its successor).
    let mut found: Vec<&Service> = out
        .services()
        .iter()
        .filter(|s| s.service_name() == Some(name))
        .collect();
    found.sort_by_key(|s| s.status() != Some("ACTIVE"));
    Ok(found.first().map(|s| (*s).clone()))
}

async fn create_service(
    cx: &StepContext,
    ecs: &Client,
    want: &Service,
    w: &WantedService<'_>,
) -> Result<(), StepError> {
    ecs.create_service()
        .cluster(w.cluster)
        .service_name(w.name)
        .task_definition(w.task_definition)
        .desired_count(w.desired_count)
        .set_launch_type(want.launch_type().cloned())
        .set_capacity_provider_strategy(non_empty(want.capacity_provider_strategy()))
        .set_platform_version(want.platform_version().map(str::to_string))
        .set_scheduling_strategy(want.scheduling_strategy().cloned())
        .set_deployment_configuration(want.deployment_configuration().cloned())
        .set_deployment_controller(want.deployment_controller().cloned())
        .set_placement_constraints(non_empty(want.placement_constraints()))
        .set_placement_strategy(non_empty(want.placement_strategy()))
        .enable_ecs_managed_tags(want.enable_ecs_managed_tags())
        .set_propagate_tags(want.propagate_tags().cloned())
        .enable_execute_command(want.enable_execute_command())
        .set_availability_zone_rebalancing(want.availability_zone_rebalancing().cloned())
        .network_configuration(w.network.clone())
        .set_tags(non_empty(&tag_list(&wanted_tags(cx))))
        .send()
        .await
        .map_err(|e| aws_error(cx, ECS, "CreateService", e))?;
    Ok(())
}

async fn update_service(
    cx: &StepContext,
    ecs: &Client,
    w: &WantedService<'_>,
) -> Result<(), StepError> {
    ecs.update_service()
        .cluster(w.cluster)
        .service(w.name)
        .task_definition(w.task_definition)
        .desired_count(w.desired_count)
        .network_configuration(w.network.clone())
        .send()
        .await
        .map_err(|e| aws_error(cx, ECS, "UpdateService", e))?;
    Ok(())
}

/// The first of task definition, desired count and network that differs.
fn service_difference(w: &WantedService<'_>, live: &Service) -> Option<&'static str> {
    if live.task_definition() != Some(w.task_definition) {
        return Some("taskDefinition");
    }
    if live.desired_count() != w.desired_count {
        return Some("desiredCount");
    }
    if network_key(live.network_configuration()) != network_key(Some(w.network)) {
        return Some("networkConfiguration");
    }
    None
}

/// Subnets and security groups as sorted sets, and the public-IP switch (AWS's default,
/// DISABLED, when unset).
fn network_key(n: Option<&NetworkConfiguration>) -> (Vec<String>, Vec<String>, String) {
    let vpc = n.and_then(|n| n.awsvpc_configuration());
    let sorted = |v: &[String]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    (
        vpc.map(|v| sorted(v.subnets())).unwrap_or_default(),
        vpc.map(|v| sorted(v.security_groups())).unwrap_or_default(),
        vpc.and_then(|v| v.assign_public_ip())
            .map_or("DISABLED", |a| a.as_str())
            .to_string(),
    )
}

// ---- tags ----------------------------------------------------------------------------------

fn ecs_tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Adds the plan's tags that `arn` lacks; whether it had to.
async fn tag_resource(
    cx: &StepContext,
    ecs: &Client,
    arn: &str,
    have: BTreeMap<String, String>,
) -> Result<bool, StepError> {
    let missing = tags_to_add(&wanted_tags(cx), &have);
    if missing.is_empty() || arn.is_empty() {
        return Ok(false);
    }
    ecs.tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tag_list(&missing)))
        .send()
        .await
        .map_err(|e| aws_error(cx, ECS, "TagResource", e))?;
    Ok(true)
}

fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

#[cfg(test)]
mod tests {
    use super::shared::*;
    use super::*;

    #[test]
    fn families_and_revisions() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:222222222222:task-definition/dev-api:3"),
            Some("dev-api")
        );
        assert_eq!(family_of("dev-api:3"), Some("dev-api"));
        assert_eq!(family_of("dev-api"), Some("dev-api"));
        assert_eq!(
            revision_of("arn:aws:ecs:us-east-1:2:task-definition/dev-api:12"),
            12
        );
        assert_eq!(
            arn_parts("arn:aws:ecs:us-east-1:222222222222:cluster/batch"),
            Some(("us-east-1", "222222222222", "cluster/batch"))
        );
    }

    #[test]
    fn registrable_ignores_what_aws_adds() {
        let planned = json!({
            "family": "f",
            "containerDefinitions": [{"name": "c", "image": "i", "memory": 512,
                "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}],
            "revision": 3,
            "cpu": "256",
            "enableFaultInjection": false
        });
        let described = json!({
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:2:task-definition/f:1",
            "family": "f",
            "containerDefinitions": [{"name": "c", "image": "i", "memory": 512, "cpu": 0,
                "essential": true, "portMappings": [], "mountPoints": [], "volumesFrom": [],
                "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}],
            "revision": 1, "status": "ACTIVE", "volumes": [], "placementConstraints": [],
            "compatibilities": ["EC2", "FARGATE"], "cpu": "256"
        });
        let a = from_json(&planned, TaskDefinition::deserialize).unwrap();
        let b = from_json(&described, TaskDefinition::deserialize).unwrap();
        assert_eq!(registrable(&a), registrable(&b));
        let mut changed = described.clone();
        changed["containerDefinitions"][0]["image"] = json!("other");
        let c = from_json(&changed, TaskDefinition::deserialize).unwrap();
        assert_eq!(
            first_difference(&registrable(&a), &registrable(&c)).as_deref(),
            Some("containerDefinitions[0].image")
        );
    }

    #[test]
    fn differences_are_named() {
        assert_eq!(first_difference(&json!({"a": 1}), &json!({"a": 1})), None);
        assert_eq!(
            first_difference(&json!({"a": [1, 2]}), &json!({"a": [1, 3]})).as_deref(),
            Some("a[1]")
        );
        assert_eq!(
            first_difference(&json!({"a": 1}), &json!({"b": 1})).as_deref(),
            Some("a")
        );
        assert_eq!(
            first_difference(&json!({"a": [1]}), &json!({"a": [1, 2]})).as_deref(),
            Some("a")
        );
        assert_eq!(
            prune(&json!({"a": [], "b": {"c": null}, "d": [{}], "e": 0})),
            json!({"d": [{}], "e": 0})
        );
    }

    #[test]
    fn cluster_settings_are_a_subset() {
        let want = from_json(
            &json!({"clusterName": "batch", "settings": [{"name": "containerInsights", "value": "enabled"}]}),
            Cluster::deserialize,
        )
        .unwrap();
        let live = from_json(
            &json!({"clusterName": "batch", "status": "ACTIVE", "settings": [{"name": "other", "value": "x"}, {"name": "containerInsights", "value": "enabled"}]}),
            Cluster::deserialize,
        )
        .unwrap();
        assert_eq!(cluster_difference(&want, &live), None);
        let off = from_json(
            &json!({"clusterName": "batch", "settings": [{"name": "containerInsights", "value": "disabled"}]}),
            Cluster::deserialize,
        )
        .unwrap();
        assert_eq!(cluster_difference(&want, &off).as_deref(), Some("settings"));
    }

    #[test]
    fn only_missing_or_different_tags_are_added() {
        let want: BTreeMap<String, String> =
            [("a".into(), "1".into()), ("b".into(), "2".into())].into();
        let have: BTreeMap<String, String> = [
            ("a".into(), "1".into()),
            ("b".into(), "x".into()),
            ("c".into(), "3".into()),
        ]
        .into();
        assert_eq!(
            tags_to_add(&want, &have),
            [("b".to_string(), "2".to_string())].into()
        );
    }
}
