//! EventBridge rules (scheduled ECS tasks among them) with their targets, copied into the
//! target account. Targets are the inventory's JSON (PascalCase, as PutTargets takes
//! them); this SDK has no schema codec, so they are built and read back field by field,
//! and compared as that same JSON.
//!
//! An ECS target's `TaskDefinitionArn` is pinned to the latest ACTIVE revision of its
//! family in the target account: EventBridge documents the member only as "the ARN of the
//! task definition", so a revision-less ARN is not relied upon.
//!
//! A copy is created `DISABLED` and apply never changes its state afterwards: the source's
//! rule keeps firing until `orgsplit cutover` enables the copy and disables the source. PutRule
//! replaces the whole rule ("If you omit arguments in PutRule, the old values for those
//! arguments are not kept", EventBridge API Reference, PutRule; an omitted State is ENABLED),
//! so a repair re-sends the copy's live state.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::operation::describe_rule::DescribeRuleOutput;
use aws_sdk_eventbridge::types::{InputTransformer, KinesisParameters, RuleState, Tag, Target};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::support::{first_difference, input_error, missing_tags, wanted_tags};
use super::targets::{common_target_members, ecs_parameters_builder, json_str, normalize_target};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_aws::Found;
use orgsplit_aws::listing::rule_targets;
use orgsplit_aws::targets::events_target_json;
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::ResourceCopy;

const EVENTS: &str = "events";
/// The state a copy is created in: it fires only after cutover.
pub const QUIESCED_STATE: &str = "DISABLED";

pub async fn run(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    let name = copy.name.as_str();
    let config = &copy.config;
    let mut want = WantedRule::from_config(config)?;
    let targets = wanted_targets(cx, config).await?;
    let events = cx.session().await?.events(cx.region());

    let live = describe_rule(cx, &events, name, &want.bus).await?;
    if let Some(state) = live.as_ref().and_then(|l| l.state()) {
        want.state = state.as_str().to_string();
    }
    let mut changed = false;
    if live.as_ref().is_none_or(|l| want.difference(l).is_some()) {
        put_rule(cx, &events, name, &want).await?;
        changed = true;
    }
    let live_targets = list_targets(cx, name, &want.bus).await?;
    let stale: Vec<&(Value, Target)> =
        targets.iter().filter(|(json, t)| live_targets.get(t.id()) != Some(json)).collect();
    if !stale.is_empty() {
        put_targets(cx, &events, name, &want.bus, &stale).await?;
        changed = true;
    }

    let rule = match (changed, live) {
        (false, Some(live)) => live,
        _ => verify(cx, &events, name, &want, &targets).await?,
    };
    let arn = rule.arn().unwrap_or_default().to_string();
    let tagged = tag_rule(cx, &events, &arn).await?;
    Ok(Outcome::changed(changed || tagged).with_output(OutputKey::RuleArn, arn))
}

/// The rule itself, as PutRule takes it.
struct WantedRule {
    bus: String,
    schedule: Option<String>,
    /// Parsed: patterns are compared as JSON, not as text.
    pattern: Option<Value>,
    pattern_text: Option<String>,
    /// [`QUIESCED_STATE`] for a new copy, the live state for an existing one.
    state: String,
    description: Option<String>,
    role: Option<String>,
}

impl WantedRule {
    fn from_config(config: &Value) -> Result<WantedRule, StepError> {
        let s = |k: &str| {
            config.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_string)
        };
        if let Some(by) = s("ManagedBy") {
            return Err(input_error(
                "config.ManagedBy",
                format!("the rule is managed by {by}, which creates it itself"),
            ));
        }
        let pattern_text = s("EventPattern");
        let pattern = match &pattern_text {
            Some(p) => Some(
                serde_json::from_str(p)
                    .map_err(|e| input_error("config.EventPattern", format!("not JSON: {e}")))?,
            ),
            None => None,
        };
        if pattern.is_none() && s("ScheduleExpression").is_none() {
            return Err(input_error(
                "config",
                "a rule needs a ScheduleExpression or an EventPattern",
            ));
        }
        Ok(WantedRule {
            bus: s("EventBusName").unwrap_or_else(|| "default".into()),
            schedule: s("ScheduleExpression"),
            pattern,
            pattern_text,
            state: QUIESCED_STATE.into(),
            description: s("Description"),
            role: s("RoleArn"),
        })
    }

    /// The first member of the live rule that differs.
    fn difference(&self, live: &DescribeRuleOutput) -> Option<&'static str> {
        let text = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
        let pattern = live.event_pattern().and_then(|p| serde_json::from_str::<Value>(p).ok());
        if text(live.schedule_expression()) != self.schedule {
            Some("ScheduleExpression")
        } else if pattern != self.pattern {
            Some("EventPattern")
        } else if live.state().map_or("ENABLED", |s| s.as_str()) != self.state {
            Some("State")
        } else if text(live.description()) != self.description {
            Some("Description")
        } else if text(live.role_arn()) != self.role {
            Some("RoleArn")
        } else {
            None
        }
    }
}

/// The plan's targets as SDK targets, each with its comparable JSON. An ECS target's task
/// definition is the latest ACTIVE revision of its family in the target account.
async fn wanted_targets(
    cx: &StepContext,
    config: &Value,
) -> Result<Vec<(Value, Target)>, StepError> {
    let planned =
        config.get("Targets").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut out = Vec::new();
    for (i, t) in planned.iter().enumerate() {
        let at = format!("config.Targets[{i}]");
        if let Some(kinds) = t.get("UnrecordedParameters") {
            return Err(input_error(
                &at,
                format!("target parameters {kinds} are not recorded: copy this rule by hand"),
            ));
        }
        let mut t = t.clone();
        if let Some(arn) = t.pointer("/EcsParameters/TaskDefinitionArn").and_then(Value::as_str) {
            let pinned = super::ecs_task_definition::target_task_definition(cx, arn).await?;
            t["EcsParameters"]["TaskDefinitionArn"] = json!(pinned);
        }
        let target = target_from_json(&t, &at)?;
        out.push((normalize_target(&events_target_json(&target)), target));
    }
    Ok(out)
}

fn target_from_json(t: &Value, at: &str) -> Result<Target, StepError> {
    let s = json_str;
    let mut b = Target::builder()
        .set_id(s(t, "Id"))
        .set_arn(s(t, "Arn"))
        .set_role_arn(s(t, "RoleArn"))
        .set_input(s(t, "Input"))
        .set_input_path(s(t, "InputPath"));
    if let Some(p) = t.get("EcsParameters") {
        let mut ecs = ecs_parameters_builder!(aws_sdk_eventbridge, p, at);
        for tag in p.get("Tags").and_then(Value::as_array).into_iter().flatten() {
            let tag = Tag::builder()
                .set_key(s(tag, "Key"))
                .set_value(s(tag, "Value"))
                .build()
                .map_err(|e| input_error(&format!("{at}.EcsParameters.Tags"), e.to_string()))?;
            ecs = ecs.tags(tag);
        }
        b = b.ecs_parameters(
            ecs.build().map_err(|e| input_error(&format!("{at}.EcsParameters"), e.to_string()))?,
        );
    }
    if let Some(it) = t.get("InputTransformer") {
        let paths = it.get("InputPathsMap").and_then(Value::as_object).map(|m| {
            m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect()
        });
        b = b.input_transformer(
            InputTransformer::builder()
                .set_input_paths_map(paths)
                .set_input_template(s(it, "InputTemplate"))
                .build()
                .map_err(|e| input_error(&format!("{at}.InputTransformer"), e.to_string()))?,
        );
    }
    if let Some(k) = t.get("KinesisParameters") {
        b = b.kinesis_parameters(
            KinesisParameters::builder()
                .set_partition_key_path(s(k, "PartitionKeyPath"))
                .build()
                .map_err(|e| input_error(&format!("{at}.KinesisParameters"), e.to_string()))?,
        );
    }
    b = common_target_members!(aws_sdk_eventbridge, b, t);
    b.build().map_err(|e| input_error(at, e.to_string()))
}

async fn describe_rule(
    cx: &StepContext,
    events: &Client,
    name: &str,
    bus: &str,
) -> Result<Option<DescribeRuleOutput>, StepError> {
    let request = events.describe_rule().name(name).event_bus_name(bus);
    let described = request.send().await.map_err(cx.error_of(EVENTS, "DescribeRule"));
    Ok(described.found()?)
}

/// PutRule creates the rule or replaces its definition; tags are set on creation only
/// (PutRule ignores them for an existing rule), the rest by [`tag_rule`].
async fn put_rule(
    cx: &StepContext,
    events: &Client,
    name: &str,
    want: &WantedRule,
) -> Result<(), StepError> {
    let tags: Vec<Tag> = wanted_tags(cx)
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    events
        .put_rule()
        .name(name)
        .event_bus_name(&want.bus)
        .set_schedule_expression(want.schedule.clone())
        .set_event_pattern(want.pattern_text.clone())
        .state(RuleState::from(want.state.as_str()))
        .set_description(want.description.clone())
        .set_role_arn(want.role.clone())
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .map_err(cx.error_of(EVENTS, "PutRule"))?;
    Ok(())
}

/// The rule's targets by id, as comparable JSON.
async fn list_targets(
    cx: &StepContext,
    name: &str,
    bus: &str,
) -> Result<BTreeMap<String, Value>, StepError> {
    let session = cx.session().await?;
    let listed = rule_targets(&session, cx.region(), name, Some(bus)).await?;
    Ok(listed
        .iter()
        .map(|t| (t.id().to_string(), normalize_target(&events_target_json(t))))
        .collect())
}

async fn put_targets(
    cx: &StepContext,
    events: &Client,
    name: &str,
    bus: &str,
    targets: &[&(Value, Target)],
) -> Result<(), StepError> {
    // PutTargets takes at most 10 targets a call (a rule has at most 5).
    for chunk in targets.chunks(10) {
        let out = events
            .put_targets()
            .rule(name)
            .event_bus_name(bus)
            .set_targets(Some(chunk.iter().map(|(_, t)| t.clone()).collect()))
            .send()
            .await
            .map_err(cx.error_of(EVENTS, "PutTargets"))?;
        if let Some(f) = out.failed_entries().first() {
            return Err(StepError::Failed(format!(
                "events:PutTargets on rule {name} in account {}: target {} failed: {} {}",
                cx.step.account,
                f.target_id().unwrap_or("?"),
                f.error_code().unwrap_or_default(),
                f.error_message().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// Reads the rule and its targets back after writing them.
async fn verify(
    cx: &StepContext,
    events: &Client,
    name: &str,
    want: &WantedRule,
    targets: &[(Value, Target)],
) -> Result<DescribeRuleOutput, StepError> {
    let rule = describe_rule(cx, events, name, &want.bus)
        .await?
        .ok_or_else(|| StepError::Verify(format!("rule {name} is not there after PutRule")))?;
    if let Some(field) = want.difference(&rule) {
        return Err(StepError::Verify(format!("rule {name}: {field} differs from the plan")));
    }
    let live = list_targets(cx, name, &want.bus).await?;
    for (json, t) in targets {
        let got = live.get(t.id()).unwrap_or(&Value::Null);
        if let Some(field) = first_difference(json, got) {
            return Err(StepError::Verify(format!(
                "rule {name}, target {}: {field} differs from the plan",
                t.id()
            )));
        }
    }
    Ok(rule)
}

async fn tag_rule(cx: &StepContext, events: &Client, arn: &str) -> Result<bool, StepError> {
    let want = wanted_tags(cx);
    if want.is_empty() || arn.is_empty() {
        return Ok(false);
    }
    let have: BTreeMap<String, String> = events
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(cx.error_of(EVENTS, "ListTagsForResource"))?
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let missing = missing_tags(&want, &have);
    if missing.is_empty() {
        return Ok(false);
    }
    let tags: Vec<Tag> = missing
        .into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect();
    events
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(cx.error_of(EVENTS, "TagResource"))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned() -> Value {
        json!({
            "Id": "run-task",
            "Arn": "arn:aws:ecs:us-east-1:222222222222:cluster/batch",
            "RoleArn": "arn:aws:iam::222222222222:role/ecs-events-invoke",
            "EcsParameters": {
                "TaskDefinitionArn": "arn:aws:ecs:us-east-1:222222222222:task-definition/prod-mail-sender:1",
                "TaskCount": 1,
                "LaunchType": "FARGATE",
                "NetworkConfiguration": {"awsvpcConfiguration": {
                    "Subnets": ["subnet-1", "subnet-2"], "SecurityGroups": ["sg-1"], "AssignPublicIp": "DISABLED"}},
                "EnableECSManagedTags": false,
                "EnableExecuteCommand": false,
                "Tags": [{"Key": "team", "Value": "mail"}]
            },
            "RetryPolicy": {"MaximumRetryAttempts": 3}
        })
    }

    #[test]
    fn a_target_round_trips_through_the_sdk_type() {
        let t = target_from_json(&planned(), "t").unwrap();
        let back = normalize_target(&events_target_json(&t));
        let mut expected = planned();
        let ecs = expected["EcsParameters"].as_object_mut().unwrap();
        ecs.remove("TaskCount");
        ecs.remove("EnableECSManagedTags");
        ecs.remove("EnableExecuteCommand");
        assert_eq!(first_difference(&expected, &back), None, "{back:#}");
    }

    #[test]
    fn rules_compare_patterns_as_json() {
        let want = WantedRule::from_config(&json!({
            "EventPattern": "{\"source\": [\"aws.ec2\"]}", "State": "ENABLED"
        }))
        .unwrap();
        assert_eq!(want.state, QUIESCED_STATE, "the source's state is not copied");
        let live = DescribeRuleOutput::builder()
            .event_pattern("{\"source\":[\"aws.ec2\"]}")
            .state(RuleState::Disabled)
            .build();
        assert_eq!(want.difference(&live), None);
        let other =
            DescribeRuleOutput::builder().event_pattern("{\"source\":[\"aws.s3\"]}").build();
        assert_eq!(want.difference(&other), Some("EventPattern"));
        assert!(
            WantedRule::from_config(
                &json!({"ManagedBy": "x", "ScheduleExpression": "rate(1 hour)"})
            )
            .is_err()
        );
        assert!(WantedRule::from_config(&json!({"State": "ENABLED"})).is_err());
    }
}
