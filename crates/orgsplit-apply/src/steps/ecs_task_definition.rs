//! ECS task definitions, registered in the target account from the inventory's JSON (see
//! `ecs.rs`): a new revision only when the latest ACTIVE one differs from the plan.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    SortOrder, Tag, TaskDefinition, TaskDefinitionField, TaskDefinitionStatus,
};
use orgsplit_aws::sdk_json::{from_json, to_json};
use orgsplit_aws::shapes::ECS_TASK_DEFINITION_REGISTRABLE;
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::ecs::{ECS, ecs_tags, non_empty, tag_list, tag_resource};
use super::support::{arn_parts, first_difference, input_error, prune, wanted_tags};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::ResourceCopy;

// ---- task definitions ----------------------------------------------------------------------

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
        return Ok(Outcome::changed(tagged).with_output(OutputKey::TaskDefinitionArn, arn));
    }
    let arn = register(cx, &ecs, &want, &wanted_tags).await?;
    verify_task_definition(cx, &ecs, &arn, &want_json).await?;
    Ok(Outcome::changed(true).with_output(OutputKey::TaskDefinitionArn, arn))
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
    for k in ECS_TASK_DEFINITION_REGISTRABLE {
        if let Some(v) = all.get(*k) {
            picked.insert(k.to_string(), v.clone());
        }
    }
    if picked.get("enableFaultInjection") == Some(&json!(false)) {
        picked.remove("enableFaultInjection");
    }
    let mut v = prune(&Value::Object(picked));
    let containers = v.get_mut("containerDefinitions").and_then(Value::as_array_mut);
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
        .map_err(cx.error_of(ECS, "ListTaskDefinitions"))?;
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
        Ok(out) => Ok(out.task_definition().cloned().map(|td| (td, out.tags().to_vec()))),
        // ECS answers a family it does not know with ClientException "Unable to describe
        // task definition", not with a not-found code.
        Err(e)
            if e.code() == Some("ClientException")
                && e.message()
                    .is_some_and(|m| m.contains("Unable to describe task definition")) =>
        {
            Ok(None)
        }
        Err(e) => Err(cx.error_of(ECS, "DescribeTaskDefinition")(e).into()),
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
        .map_err(cx.error_of(ECS, "RegisterTaskDefinition"))?;
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
    let (live, _) = describe_task_definition(cx, ecs, arn).await?.ok_or_else(|| {
        StepError::Verify(format!("task definition {arn} is not there after registering it"))
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
    let tail = task_definition.rsplit_once("task-definition/").map_or(task_definition, |(_, t)| t);
    let family = tail.split(':').next()?;
    (!family.is_empty() && !family.contains('/')).then_some(family)
}

fn revision_of(arn: &str) -> u64 {
    arn.rsplit(':').next().and_then(|r| r.parse().ok()).unwrap_or(0)
}

/// A task definition ARN of the plan, made to point at the latest ACTIVE revision of its
/// family in the step's account: the plan kept the source's revision number, which means
/// nothing in the target. ARNs of other accounts are left as they are.
pub(super) async fn target_task_definition(
    cx: &StepContext,
    arn: &str,
) -> Result<String, StepError> {
    let Some((region, account, _)) = arn_parts(arn) else {
        return Ok(arn.to_string());
    };
    if account != cx.step.account {
        return Ok(arn.to_string());
    }
    let family = family_of(arn).ok_or_else(|| {
        input_error("TaskDefinitionArn", format!("{arn} is not a task definition ARN"))
    })?;
    let ecs = cx.session().await?.ecs(region);
    latest_active_arn(cx, &ecs, family, region).await
}

/// The ARN of the latest ACTIVE revision of `family` in the step's account; a missing one
/// means the family's own step has not run yet.
pub(super) async fn latest_active_arn(
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

#[cfg(test)]
mod tests {
    use super::super::support::first_difference;
    use super::*;

    #[test]
    fn families_and_revisions() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:222222222222:task-definition/dev-api:3"),
            Some("dev-api")
        );
        assert_eq!(family_of("dev-api:3"), Some("dev-api"));
        assert_eq!(family_of("dev-api"), Some("dev-api"));
        assert_eq!(revision_of("arn:aws:ecs:us-east-1:2:task-definition/dev-api:12"), 12);
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
}
