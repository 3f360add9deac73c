//! ECS clusters (here), task definitions (`ecs_task_definition.rs`) and services
//! (`ecs_service.rs`), re-created in the target account from the configuration the
//! inventory recorded (the API's own camelCase JSON, account ids already rewritten by the
//! plan). SDK structures are built from that JSON with the SDK's codec, and live and wanted
//! states are compared as JSON after both went through the same codec, so a member the SDK
//! does not know can never make a re-run see a difference.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{Cluster, ClusterField, Tag};
use orgsplit_aws::sdk_json::{from_json, to_json};
use serde_json::Value;
use std::collections::BTreeMap;

use super::support::{input_error, missing_tags, prune, wanted_tags};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::ResourceCopy;

pub(super) const ECS: &str = "ecs";

// ---- clusters ------------------------------------------------------------------------------

/// What a cluster copy compares: the members the plan recorded, as JSON.
const CLUSTER_COMPARED: &[&str] =
    &["settings", "configuration", "capacityProviders", "defaultCapacityProviderStrategy"];

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
    Ok(Outcome::changed(changed).with_output(OutputKey::ClusterArn, arn))
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
        .map_err(cx.error_of(ECS, "DescribeClusters"))?;
    Ok(out.clusters().iter().find(|c| c.cluster_name() == Some(name)).cloned())
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
    .map_err(cx.error_of(ECS, "CreateCluster"))?;
    Ok(out.cluster().and_then(|c| c.cluster_arn()).unwrap_or_default().to_string())
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
            .map_err(cx.error_of(ECS, "UpdateCluster"))?;
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
            .map_err(cx.error_of(ECS, "PutClusterCapacityProviders"))?;
        changed = true;
    }
    Ok(changed)
}

/// The compared members, pruned; settings and providers sorted (their order means nothing).
fn cluster_json(c: &Cluster) -> Value {
    let mut v = prune(&to_json(c));
    for (key, by) in [("settings", "name"), ("capacityProviders", "")] {
        if let Some(items) = v.get_mut(key).and_then(Value::as_array_mut) {
            items.sort_by_key(|i| if by.is_empty() { i.to_string() } else { i[by].to_string() });
        }
    }
    let kept =
        CLUSTER_COMPARED.iter().filter_map(|k| Some((k.to_string(), v.get(*k)?.clone()))).collect();
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

// ---- tags ----------------------------------------------------------------------------------

pub(super) fn ecs_tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

pub(super) fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// Adds the plan's tags that `arn` lacks; whether it had to.
pub(super) async fn tag_resource(
    cx: &StepContext,
    ecs: &Client,
    arn: &str,
    have: BTreeMap<String, String>,
) -> Result<bool, StepError> {
    let missing = missing_tags(&wanted_tags(cx), &have);
    if missing.is_empty() || arn.is_empty() {
        return Ok(false);
    }
    ecs.tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tag_list(&missing)))
        .send()
        .await
        .map_err(cx.error_of(ECS, "TagResource"))?;
    Ok(true)
}

pub(super) fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
