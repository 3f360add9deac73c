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
use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::inventory::Reference;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Value, json};

use crate::InventoryError;
use crate::util::{Collected, object, opt_str, time};
use orgsplit_aws::targets::scheduler_target_json;

const CONCURRENCY: usize = 8;

pub async fn collect(session: &AccountSession, region: &str) -> Collected {
    let scheduler = session.scheduler(region);
    let listed = every_page!(scheduler.list_schedules().max_results(100), schedules)
        .map_err(session.error_of("scheduler", "ListSchedules", region))?;
    let mut summaries = Vec::new();
    for s in &listed {
        let (Some(name), Some(group)) = (s.name(), s.group_name()) else {
            tracing::warn!(?s, "schedule without a name or group: skipped");
            continue;
        };
        summaries.push((group.to_string(), name.to_string()));
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
                    .map_err(session.error_of("scheduler", "GetSchedule", region))?;
                let Some(arn) = s.arn() else {
                    tracing::warn!(%group, %name, "GetSchedule returned no ARN: skipped");
                    return Ok(None);
                };
                let target = s.target().map_or(Value::Null, scheduler_target_json);
                let mut references = Vec::new();
                for (pointer, via) in [
                    ("/Arn", "Target.Arn"),
                    ("/RoleArn", "Target.RoleArn"),
                    ("/EcsParameters/TaskDefinitionArn", "Target.EcsParameters.TaskDefinitionArn"),
                    ("/DeadLetterConfig/Arn", "Target.DeadLetterConfig.Arn"),
                ] {
                    if let Some(a) = target.pointer(pointer).and_then(Value::as_str) {
                        references.push(Reference::new(a, via));
                    }
                }
                let config = object([
                    ("GroupName", json!(group)),
                    ("ScheduleExpression", opt_str(s.schedule_expression())),
                    ("ScheduleExpressionTimezone", opt_str(s.schedule_expression_timezone())),
                    (
                        "FlexibleTimeWindow",
                        s.flexible_time_window().map_or(Value::Null, |f| {
                            object([
                                ("Mode", json!(f.mode().as_str())),
                                ("MaximumWindowInMinutes", json!(f.maximum_window_in_minutes())),
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
