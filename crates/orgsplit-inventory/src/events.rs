//! EventBridge rules of the default event bus, with their targets (scheduled ECS tasks are
//! rules with an ECS target). Tags come from the Tagging API sweep.
//!
//! Calls per region, for `n` rules: `ListRules = max(1, ceil(n / 100))`,
//! `ListTargetsByRule = n` (a rule has at most 5 targets: one page each).

use futures::stream::{self, StreamExt, TryStreamExt};
use orgsplit_aws::AccountSession;
use orgsplit_aws::listing::{event_rules, rule_targets};
use orgsplit_model::inventory::Reference;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Value, json};

use crate::InventoryError;
use crate::util::{Collected, object, opt_str};
use orgsplit_aws::targets::events_target_json;

const CONCURRENCY: usize = 8;

pub async fn collect(session: &AccountSession, region: &str) -> Collected {
    let rules = event_rules(session, region).await?;
    let collected: Vec<Option<Resource>> = stream::iter(rules)
        .map(|rule| async move {
            let (Some(name), Some(arn)) = (rule.name(), rule.arn()) else {
                tracing::warn!(?rule, "rule without a name or ARN: skipped");
                return Ok(None);
            };
            let bus = rule.event_bus_name();
            let listed = rule_targets(session, region, name, bus).await?;
            let targets: Vec<Value> = listed.iter().map(events_target_json).collect();
            let references = target_references(&targets);
            let mut refs = references;
            if let Some(role) = rule.role_arn() {
                refs.push(Reference::new(role, "RoleArn"));
            }
            let config = object([
                ("ScheduleExpression", opt_str(rule.schedule_expression())),
                ("EventPattern", opt_str(rule.event_pattern())),
                ("State", json!(rule.state().map(|s| s.as_str()))),
                ("Description", opt_str(rule.description())),
                ("EventBusName", opt_str(rule.event_bus_name())),
                ("RoleArn", opt_str(rule.role_arn())),
                ("ManagedBy", opt_str(rule.managed_by())),
                ("Targets", Value::Array(targets)),
            ]);
            Ok::<_, InventoryError>(Some(Resource::new(
                ResourceKind::EventsRule,
                name,
                arn,
                Some(region.to_string()),
                Default::default(),
                config,
                refs,
            )))
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(collected.into_iter().flatten().collect())
}

/// Each target's `Arn` (for ECS: the cluster), `RoleArn` and ECS task definition.
fn target_references(targets: &[Value]) -> Vec<Reference> {
    let mut refs = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        for (pointer, via) in [
            ("/Arn", "Arn"),
            ("/RoleArn", "RoleArn"),
            ("/EcsParameters/TaskDefinitionArn", "EcsParameters.TaskDefinitionArn"),
        ] {
            if let Some(arn) = t.pointer(pointer).and_then(Value::as_str) {
                refs.push(Reference::new(arn, format!("Targets[{i}].{via}")));
            }
        }
    }
    refs
}
