//! EventBridge Scheduler schedules, in every schedule group (scheduled ECS tasks among
//! them). ListSchedules gives only a summary: GetSchedule per schedule has the target.
//!
//! Tags: AWS lets only schedule *groups* carry tags ("You can only assign tags to schedule
//! groups", Scheduler API reference, TagResource), so a schedule has none and no tag call
//! is made for it.
//!
//! Calls per region, for `n` schedules: `ListSchedules = max(1, ceil(n / 100))`,
//! `GetSchedule = n`.

use futures::stream::{self, StreamExt, TryStreamExt};
use orgsplit_aws::AccountSession;
use orgsplit_model::inventory::Reference;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Value, json};

use crate::InventoryError;
use crate::util::{aws_err, ecs_parameters_json, non_empty, object, opt_str, time};

const CONCURRENCY: usize = 8;

pub async fn collect(
    session: &AccountSession,
    region: &str,
) -> Result<Vec<Resource>, InventoryError> {
    let scheduler = session.scheduler(region);
    let account = session.account_id.as_str();
    let mut summaries = Vec::new();
    let mut pages = scheduler
        .list_schedules()
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_err("scheduler", "ListSchedules", account, region, e))?;
        for s in page.schedules() {
            let (Some(name), Some(group)) = (s.name(), s.group_name()) else {
                tracing::warn!(?s, "schedule without a name or group: skipped");
                continue;
            };
            summaries.push((group.to_string(), name.to_string()));
        }
    }
    let collected: Vec<Option<Resource>> = stream::iter(summaries)
        .map(|(group, name)| {
            let scheduler = scheduler.clone();
            async move {
                let s = scheduler
                    .get_schedule()
                    .group_name(&group)
                    .name(&name)
                    .send()
                    .await
                    .map_err(|e| aws_err("scheduler", "GetSchedule", account, region, e))?;
                let Some(arn) = s.arn() else {
                    tracing::warn!(%group, %name, "GetSchedule returned no ARN: skipped");
                    return Ok(None);
                };
                let target = s.target().map_or(Value::Null, target_json);
                let mut references = Vec::new();
                for (pointer, via) in [
                    ("/Arn", "Target.Arn"),
                    ("/RoleArn", "Target.RoleArn"),
                    (
                        "/EcsParameters/TaskDefinitionArn",
                        "Target.EcsParameters.TaskDefinitionArn",
                    ),
                    ("/DeadLetterConfig/Arn", "Target.DeadLetterConfig.Arn"),
                ] {
                    if let Some(a) = target.pointer(pointer).and_then(Value::as_str) {
                        references.push(Reference::new(a, via));
                    }
                }
                let config = object([
                    ("GroupName", json!(group)),
                    ("ScheduleExpression", opt_str(s.schedule_expression())),
                    (
                        "ScheduleExpressionTimezone",
                        opt_str(s.schedule_expression_timezone()),
                    ),
                    (
                        "FlexibleTimeWindow",
                        s.flexible_time_window().map_or(Value::Null, |f| {
                            object([
                                ("Mode", json!(f.mode().as_str())),
                                (
                                    "MaximumWindowInMinutes",
                                    json!(f.maximum_window_in_minutes()),
                                ),
                            ])
                        }),
                    ),
                    ("Target", target),
                    ("State", json!(s.state().map(|v| v.as_str()))),
                    ("Description", opt_str(s.description())),
                    ("StartDate", time(s.start_date())),
                    ("EndDate", time(s.end_date())),
                    ("KmsKeyArn", opt_str(s.kms_key_arn())),
                    (
                        "ActionAfterCompletion",
                        json!(s.action_after_completion().map(|v| v.as_str())),
                    ),
                ]);
                Ok::<_, InventoryError>(Some(Resource::new(
                    ResourceKind::Schedule,
                    format!("{group}/{name}"),
                    arn,
                    Some(region.to_string()),
                    Default::default(),
                    config,
                    references,
                )))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(collected.into_iter().flatten().collect())
}

/// A schedule's target as CreateSchedule takes it (PascalCase, like the API).
fn target_json(t: &aws_sdk_scheduler::types::Target) -> Value {
    let ecs = t.ecs_parameters().map_or(Value::Null, |p| {
        let mut v = ecs_parameters_json!(p);
        if let (Some(o), Value::Array(tags)) = (
            v.as_object_mut(),
            non_empty(p.tags().iter().map(|m| json!(m)).collect()),
        ) {
            o.insert("Tags".into(), Value::Array(tags));
        }
        v
    });
    object([
        ("Arn", json!(t.arn())),
        ("RoleArn", json!(t.role_arn())),
        ("Input", opt_str(t.input())),
        ("EcsParameters", ecs),
        (
            "EventBridgeParameters",
            t.event_bridge_parameters().map_or(
                Value::Null,
                |e| json!({ "DetailType": e.detail_type(), "Source": e.source() }),
            ),
        ),
        (
            "SqsParameters",
            t.sqs_parameters().map_or(Value::Null, |s| {
                object([("MessageGroupId", opt_str(s.message_group_id()))])
            }),
        ),
        (
            "KinesisParameters",
            t.kinesis_parameters().map_or(
                Value::Null,
                |k| json!({ "PartitionKey": k.partition_key() }),
            ),
        ),
        (
            "DeadLetterConfig",
            t.dead_letter_config()
                .map_or(Value::Null, |d| object([("Arn", opt_str(d.arn()))])),
        ),
        (
            "RetryPolicy",
            t.retry_policy().map_or(Value::Null, |r| {
                object([
                    ("MaximumRetryAttempts", json!(r.maximum_retry_attempts())),
                    (
                        "MaximumEventAgeInSeconds",
                        json!(r.maximum_event_age_in_seconds()),
                    ),
                ])
            }),
        ),
        (
            "UnrecordedParameters",
            non_empty(if t.sage_maker_pipeline_parameters().is_some() {
                vec![json!("SageMakerPipelineParameters")]
            } else {
                vec![]
            }),
        ),
    ])
}
