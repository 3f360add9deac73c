//! EventBridge Scheduler schedules (scheduled ECS tasks among them), copied into the
//! target account, in a schedule group of the same name (created when missing). Like
//! EventBridge rules, targets are the inventory's PascalCase JSON, built and read back
//! field by field (this SDK has no schema codec) and compared as that JSON.
//!
//! A copy is created `DISABLED` and apply never changes its state afterwards: the source's
//! schedule keeps firing until `orgsplit cutover` switches them. UpdateSchedule replaces every
//! member ("if you do not set an optional field in your request, that field will be set to its
//! system-default value", Scheduler API Reference, UpdateSchedule; State's is ENABLED), so a
//! repair re-sends the copy's live state.

use aws_sdk_scheduler::Client;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::primitives::DateTime;
use aws_sdk_scheduler::primitives::DateTimeFormat;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, EventBridgeParameters, FlexibleTimeWindow, FlexibleTimeWindowMode,
    KinesisParameters, ScheduleState, Target,
};
use serde_json::{Value, json};
use std::time::SystemTime;

use super::support::{first_difference, input_error, prune};
use super::targets::{common_target_members, ecs_parameters_builder, json_str, normalize_target};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_aws::Found;
use orgsplit_aws::targets::scheduler_target_json;
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::ResourceCopy;

const SCHEDULER: &str = "scheduler";
const DEFAULT_GROUP: &str = "default";
/// The state a copy is created in: it fires only after cutover.
pub const QUIESCED_STATE: &str = "DISABLED";

/// AWS's retry policy for a target that names none.
const DEFAULT_RETRY: (i32, i32) = (185, 86_400);

pub async fn run(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    let config = &copy.config;
    let group = config.get("GroupName").and_then(Value::as_str).unwrap_or(DEFAULT_GROUP);
    let full = copy.name.as_str();
    let name = full.strip_prefix(&format!("{group}/")).unwrap_or(full);
    let mut want = Wanted::from_config(cx, config).await?;
    let scheduler = cx.session().await?.scheduler(cx.region());

    let mut changed = ensure_group(cx, &scheduler, group).await?;
    let live = get_schedule(cx, &scheduler, group, name).await?;
    want.state = Some(match &live {
        // A schedule without a state is ENABLED, AWS's default.
        Some(l) => l.state().cloned().unwrap_or(ScheduleState::Enabled),
        None => ScheduleState::from(QUIESCED_STATE),
    });
    let want_json = want.json();
    let differs = live.as_ref().is_none_or(|l| difference(&want_json, l).is_some());
    if differs {
        put(cx, &scheduler, (group, name), &want, live.is_some()).await?;
        changed = true;
    }
    let after = match (differs, live) {
        (false, Some(live)) => live,
        _ => get_schedule(cx, &scheduler, group, name).await?.ok_or_else(|| {
            StepError::Verify(format!("schedule {group}/{name} is not there after writing it"))
        })?,
    };
    if let Some(field) = difference(&want_json, &after) {
        return Err(StepError::Verify(format!(
            "schedule {group}/{name}: {field} differs from the plan"
        )));
    }
    let arn = after.arn().unwrap_or_default().to_string();
    Ok(Outcome::changed(changed).with_output(OutputKey::ScheduleArn, arn))
}

/// The schedule as CreateSchedule and UpdateSchedule take it (both take every member:
/// UpdateSchedule replaces the whole schedule).
struct Wanted {
    expression: String,
    timezone: Option<String>,
    window: FlexibleTimeWindow,
    target: Target,
    state: Option<ScheduleState>,
    description: Option<String>,
    kms_key: Option<String>,
    start: Option<DateTime>,
    end: Option<DateTime>,
    after_completion: Option<ActionAfterCompletion>,
}

impl Wanted {
    async fn from_config(cx: &StepContext, config: &Value) -> Result<Wanted, StepError> {
        let s = |k: &str| {
            config.get(k).and_then(Value::as_str).filter(|v| !v.is_empty()).map(str::to_string)
        };
        let date = |k: &str| -> Result<Option<DateTime>, StepError> {
            s(k).map(|v| {
                DateTime::from_str(&v, DateTimeFormat::DateTime)
                    .map_err(|e| input_error(&format!("config.{k}"), e.to_string()))
            })
            .transpose()
        };
        let mut target =
            config.get("Target").cloned().ok_or_else(|| input_error("config.Target", "missing"))?;
        if let Some(kinds) = target.get("UnrecordedParameters") {
            return Err(input_error(
                "config.Target",
                format!("target parameters {kinds} are not recorded: copy this schedule by hand"),
            ));
        }
        if let Some(arn) =
            target.pointer("/EcsParameters/TaskDefinitionArn").and_then(Value::as_str)
        {
            let pinned = super::ecs_task_definition::target_task_definition(cx, arn).await?;
            target["EcsParameters"]["TaskDefinitionArn"] = json!(pinned);
        }
        Ok(Wanted {
            expression: s("ScheduleExpression")
                .ok_or_else(|| input_error("config.ScheduleExpression", "missing"))?,
            timezone: s("ScheduleExpressionTimezone"),
            window: window_from_json(config.get("FlexibleTimeWindow"))?,
            target: target_from_json(&target)?,
            // Set by `run`: quiesced for a new copy, the live state for an existing one.
            state: None,
            description: s("Description"),
            kms_key: s("KmsKeyArn"),
            // A start in the past has passed in the source too; AWS refuses one more than
            // five minutes old, and a copy that starts now is the same schedule.
            start: date("StartDate")?.filter(|d| d.secs() > now_secs() + 300),
            end: date("EndDate")?,
            after_completion: s("ActionAfterCompletion")
                .map(|v| ActionAfterCompletion::from(v.as_str())),
        })
    }

    fn json(&self) -> Value {
        schedule_json(ScheduleView {
            expression: Some(&self.expression),
            timezone: self.timezone.as_deref(),
            window: Some(&self.window),
            target: Some(&self.target),
            state: self.state.as_ref().map(|s| s.as_str()),
            description: self.description.as_deref(),
            kms_key: self.kms_key.as_deref(),
            start: self.start.as_ref(),
            end: self.end.as_ref(),
            after_completion: self.after_completion.as_ref().map(|a| a.as_str()),
        })
    }
}

fn now_secs() -> i64 {
    DateTime::from(SystemTime::now()).secs()
}

/// The members of a schedule, wherever they come from.
struct ScheduleView<'a> {
    expression: Option<&'a str>,
    timezone: Option<&'a str>,
    window: Option<&'a FlexibleTimeWindow>,
    target: Option<&'a Target>,
    state: Option<&'a str>,
    description: Option<&'a str>,
    kms_key: Option<&'a str>,
    start: Option<&'a DateTime>,
    end: Option<&'a DateTime>,
    after_completion: Option<&'a str>,
}

/// A schedule as comparable JSON, AWS's defaults filled in (timezone UTC, state ENABLED,
/// action after completion NONE, an empty description as none).
fn schedule_json(v: ScheduleView<'_>) -> Value {
    let date = |d: Option<&DateTime>| d.and_then(|d| d.fmt(DateTimeFormat::DateTime).ok());
    let out = json!({
        "ScheduleExpression": v.expression,
        "ScheduleExpressionTimezone": v.timezone.filter(|t| !t.is_empty()).unwrap_or("UTC"),
        "FlexibleTimeWindow": v.window.map(|w| json!({
            "Mode": w.mode().as_str(),
            "MaximumWindowInMinutes": w.maximum_window_in_minutes(),
        })),
        "Target": v.target.map(|t| normalize_target(&target_json(t))),
        "State": v.state.unwrap_or("ENABLED"),
        "Description": v.description.filter(|d| !d.is_empty()),
        "KmsKeyArn": v.kms_key,
        "StartDate": date(v.start),
        "EndDate": date(v.end),
        "ActionAfterCompletion": v.after_completion.unwrap_or("NONE"),
    });
    prune(&out)
}

/// The first member of the live schedule that differs from the wanted one. A start date
/// is compared only when the plan sets one (a past one is not copied).
fn difference(want: &Value, live: &GetScheduleOutput) -> Option<String> {
    let mut got = schedule_json(ScheduleView {
        expression: live.schedule_expression(),
        timezone: live.schedule_expression_timezone(),
        window: live.flexible_time_window(),
        target: live.target(),
        state: live.state().map(|s| s.as_str()),
        description: live.description(),
        kms_key: live.kms_key_arn(),
        start: live.start_date(),
        end: live.end_date(),
        after_completion: live.action_after_completion().map(|a| a.as_str()),
    });
    if want.get("StartDate").is_none()
        && let Some(o) = got.as_object_mut()
    {
        o.remove("StartDate");
    }
    first_difference(want, &got)
}

fn window_from_json(w: Option<&Value>) -> Result<FlexibleTimeWindow, StepError> {
    let mode = w.and_then(|w| w.get("Mode")).and_then(Value::as_str).unwrap_or("OFF");
    FlexibleTimeWindow::builder()
        .mode(FlexibleTimeWindowMode::from(mode))
        .set_maximum_window_in_minutes(
            w.and_then(|w| w.get("MaximumWindowInMinutes"))
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok()),
        )
        .build()
        .map_err(|e| input_error("config.FlexibleTimeWindow", e.to_string()))
}

fn target_from_json(t: &Value) -> Result<Target, StepError> {
    let at = "config.Target";
    let s = json_str;
    let mut b = Target::builder()
        .set_arn(s(t, "Arn"))
        .set_role_arn(s(t, "RoleArn"))
        .set_input(s(t, "Input"));
    if let Some(p) = t.get("EcsParameters") {
        let mut ecs = ecs_parameters_builder!(aws_sdk_scheduler, p, at);
        for tags in p.get("Tags").and_then(Value::as_array).into_iter().flatten() {
            let map = tags
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            ecs = ecs.tags(map);
        }
        b = b.ecs_parameters(
            ecs.build().map_err(|e| input_error(&format!("{at}.EcsParameters"), e.to_string()))?,
        );
    }
    if let Some(e) = t.get("EventBridgeParameters") {
        b = b.event_bridge_parameters(
            EventBridgeParameters::builder()
                .set_detail_type(s(e, "DetailType"))
                .set_source(s(e, "Source"))
                .build()
                .map_err(|e| input_error(&format!("{at}.EventBridgeParameters"), e.to_string()))?,
        );
    }
    if let Some(k) = t.get("KinesisParameters") {
        b = b.kinesis_parameters(
            KinesisParameters::builder()
                .set_partition_key(s(k, "PartitionKey"))
                .build()
                .map_err(|e| input_error(&format!("{at}.KinesisParameters"), e.to_string()))?,
        );
    }
    b = common_target_members!(aws_sdk_scheduler, b, t);
    b.build().map_err(|e| input_error(at, e.to_string()))
}

/// A target as the inventory records it; a missing retry policy is AWS's default one.
fn target_json(t: &Target) -> Value {
    let mut v = scheduler_target_json(t);
    let retry = &mut v["RetryPolicy"];
    if retry.get("MaximumRetryAttempts").is_none() {
        retry["MaximumRetryAttempts"] = json!(DEFAULT_RETRY.0);
    }
    if retry.get("MaximumEventAgeInSeconds").is_none() {
        retry["MaximumEventAgeInSeconds"] = json!(DEFAULT_RETRY.1);
    }
    v
}

/// The default group always exists; another one is created when missing (its tags are
/// not recorded by the inventory, so none are set).
async fn ensure_group(
    cx: &StepContext,
    scheduler: &Client,
    group: &str,
) -> Result<bool, StepError> {
    if group == DEFAULT_GROUP {
        return Ok(false);
    }
    let got = scheduler.get_schedule_group().name(group).send().await;
    if got.map_err(cx.error_of(SCHEDULER, "GetScheduleGroup")).found()?.is_some() {
        return Ok(false);
    }
    scheduler
        .create_schedule_group()
        .name(group)
        .send()
        .await
        .map_err(cx.error_of(SCHEDULER, "CreateScheduleGroup"))?;
    Ok(true)
}

async fn get_schedule(
    cx: &StepContext,
    scheduler: &Client,
    group: &str,
    name: &str,
) -> Result<Option<GetScheduleOutput>, StepError> {
    let request = scheduler.get_schedule().group_name(group).name(name);
    let got = request.send().await.map_err(cx.error_of(SCHEDULER, "GetSchedule"));
    Ok(got.found()?)
}

/// CreateSchedule and UpdateSchedule take the same members: an update replaces them all.
macro_rules! schedule_members {
    ($request:expr, $group:expr, $name:expr, $w:expr) => {{
        let w: &Wanted = $w;
        $request
            .group_name($group)
            .name($name)
            .schedule_expression(&w.expression)
            .set_schedule_expression_timezone(w.timezone.clone())
            .flexible_time_window(w.window.clone())
            .target(w.target.clone())
            .set_state(w.state.clone())
            .set_description(w.description.clone())
            .set_kms_key_arn(w.kms_key.clone())
            .set_start_date(w.start)
            .set_end_date(w.end)
            .set_action_after_completion(w.after_completion.clone())
    }};
}

/// CreateSchedule when the schedule does not exist, else UpdateSchedule (which replaces
/// every member).
async fn put(
    cx: &StepContext,
    scheduler: &Client,
    (group, name): (&str, &str),
    w: &Wanted,
    exists: bool,
) -> Result<(), StepError> {
    if exists {
        let request = schedule_members!(scheduler.update_schedule(), group, name, w);
        request.send().await.map_err(cx.error_of(SCHEDULER, "UpdateSchedule"))?;
    } else {
        let request = schedule_members!(scheduler.create_schedule(), group, name, w);
        request.send().await.map_err(cx.error_of(SCHEDULER, "CreateSchedule"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_round_trips_and_defaults_compare_equal() {
        let planned = json!({
            "Arn": "arn:aws:ecs:us-east-1:222222222222:cluster/batch",
            "RoleArn": "arn:aws:iam::222222222222:role/scheduler-run-task",
            "EcsParameters": {
                "TaskDefinitionArn": "arn:aws:ecs:us-east-1:222222222222:task-definition/dev-mail-sender:1",
                "TaskCount": 1,
                "LaunchType": "FARGATE",
                "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["s"], "SecurityGroups": ["g"], "AssignPublicIp": "DISABLED"}},
                "Tags": [{"team": "mail"}]
            },
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
        });
        let t = target_from_json(&planned).unwrap();
        let json = normalize_target(&target_json(&t));
        assert_eq!(json["EcsParameters"]["Tags"], json!([{"team": "mail"}]));
        assert_eq!(
            json["EcsParameters"]["NetworkConfiguration"]["awsvpcConfiguration"]["Subnets"],
            json!(["s"])
        );
        let mut without_retry = planned.clone();
        without_retry.as_object_mut().unwrap().remove("RetryPolicy");
        let u = target_from_json(&without_retry).unwrap();
        assert_eq!(normalize_target(&target_json(&u)), json);
    }

    #[test]
    fn schedules_fill_in_defaults() {
        let window = window_from_json(Some(&json!({"Mode": "OFF"}))).unwrap();
        let a = schedule_json(ScheduleView {
            expression: Some("rate(1 hour)"),
            timezone: None,
            window: Some(&window),
            target: None,
            state: None,
            description: Some(""),
            kms_key: None,
            start: None,
            end: None,
            after_completion: None,
        });
        assert_eq!(
            a,
            json!({"ScheduleExpression": "rate(1 hour)", "ScheduleExpressionTimezone": "UTC",
                   "FlexibleTimeWindow": {"Mode": "OFF"},
                   "State": "ENABLED", "ActionAfterCompletion": "NONE"})
        );
    }
}
