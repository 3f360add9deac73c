//! ECS services, created in the target account from the inventory's JSON (see `ecs.rs`)
//! with the environment's `[[network]]`, on the latest ACTIVE revision of their task
//! definition's family there.
//!
//! A copy is created quiesced, at a desired count of 0, and apply never changes its desired
//! count afterwards: the source keeps serving until `orgsplit cutover` scales the copy up to
//! the source's count and the source down (a copy started by apply would run the
//! environment's workload twice). UpdateService leaves a member it is not sent unchanged
//! (ECS API Reference, UpdateService), so apply's repairs send no desired count.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, NetworkConfiguration, Service, ServiceField,
};
use orgsplit_aws::sdk_json::from_json;
use serde_json::Value;

use super::ecs::{ECS, ecs_tags, non_empty, tag_list, tag_resource};
use super::ecs_task_definition::{family_of, latest_active_arn};
use super::support::{input_error, wanted_tags};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::{Network, ServiceCopy};

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
        network: &planned.network,
    };
    let live = describe_service(cx, &ecs, cluster, name).await?;
    let changed = converge_service(cx, &ecs, &planned.service, &wanted, live.as_ref()).await?;
    let after = match (changed, live) {
        (false, Some(live)) => Some(live),
        _ => describe_service(cx, &ecs, cluster, name).await?,
    };
    let after = after.filter(|s| s.status() == Some("ACTIVE")).ok_or_else(|| {
        StepError::Verify(format!("ECS service {cluster}/{name} is not ACTIVE after writing it"))
    })?;
    if let Some(field) = service_difference(&wanted, &after) {
        return Err(StepError::Verify(format!(
            "ECS service {cluster}/{name}: {field} differs from the plan"
        )));
    }
    let arn = after.service_arn().unwrap_or_default().to_string();
    let tagged = tag_resource(cx, &ecs, &arn, ecs_tags(after.tags())).await?;
    Ok(Outcome::changed(changed || tagged).with_output(OutputKey::ServiceArn, arn))
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
        Ok(PlannedService { service, cluster, name, family, network })
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

/// The desired count a copy is created with: none of its tasks run before cutover.
pub const QUIESCED_DESIRED_COUNT: i32 = 0;

/// What a service copy holds to: the target's latest task definition of the family and the
/// environment's network from the config. Its desired count is cutover's.
struct WantedService<'a> {
    cluster: &'a str,
    name: &'a str,
    task_definition: &'a str,
    network: &'a NetworkConfiguration,
}

/// `inputs.network` (from the config's `[[network]]`): the planner leaves a service
/// without one as a manual item, so a step without it is a plan this code cannot act on.
fn wanted_network(net: Option<&Network>) -> Result<NetworkConfiguration, StepError> {
    let net = net.ok_or_else(|| {
        input_error("network", "missing: a service needs a [[network]] for its environment")
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
    Ok(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
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
            let err = cx.error_of(ECS, "DescribeServices")(e);
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
    let mut found: Vec<&Service> =
        out.services().iter().filter(|s| s.service_name() == Some(name)).collect();
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
        .desired_count(QUIESCED_DESIRED_COUNT)
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
        .map_err(cx.error_of(ECS, "CreateService"))?;
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
        .network_configuration(w.network.clone())
        .send()
        .await
        .map_err(cx.error_of(ECS, "UpdateService"))?;
    Ok(())
}

/// The first of task definition and network that differs.
fn service_difference(w: &WantedService<'_>, live: &Service) -> Option<&'static str> {
    if live.task_definition() != Some(w.task_definition) {
        return Some("taskDefinition");
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
        vpc.and_then(|v| v.assign_public_ip()).map_or("DISABLED", |a| a.as_str()).to_string(),
    )
}
