//! EventBridge rules and Scheduler schedules: the copy switched to the source's state, then
//! the source DISABLED (and back, on rollback). A source that is DISABLED already leaves its
//! copy DISABLED: cutover moves what runs, it does not start what was stopped.
//!
//! A rule's state changes with EnableRule/DisableRule; a state other than those two
//! (`ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`) is set by PutRule, which replaces the
//! rule, so every member DescribeRule gave is sent back ("If you omit arguments in PutRule,
//! the old values for those arguments are not kept", EventBridge API Reference, PutRule).
//! A schedule has no state call: UpdateSchedule replaces every member ("if you do not set an
//! optional field in your request, that field will be set to its system-default value",
//! Scheduler API Reference, UpdateSchedule), so every member GetSchedule gave is sent back
//! with the new state.

use aws_sdk_eventbridge::operation::describe_rule::DescribeRuleOutput;
use aws_sdk_eventbridge::types::RuleState;
use aws_sdk_scheduler::operation::get_schedule::GetScheduleOutput;
use aws_sdk_scheduler::primitives::DateTime;
use aws_sdk_scheduler::types::ScheduleState;
use orgsplit_model::StepSpec;
use orgsplit_model::journal::OutputKey;
use serde_json::Value;
use std::time::SystemTime;

use super::Phase;
use super::run::{Side, Switch};
use crate::context::{Outcome, StepError};

const DISABLED: &str = "DISABLED";
/// A rule or schedule without a state is ENABLED, AWS's default.
const ENABLED: &str = "ENABLED";

/// The state to set where, per phase: `Some(state)` to set, `None` when nothing is to be
/// done (a disabled source, or a rollback with no state recorded).
struct Plan {
    side: Side,
    want: Option<String>,
    /// Recorded as the action's output (the source's state before the switch).
    prior: Option<String>,
}

/// What the phase sets, given a reader of the source's live state.
async fn plan<F, Fut>(sw: &Switch, source_state: F) -> Result<Plan, StepError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<String, StepError>>,
{
    Ok(match sw.phase {
        Phase::TargetOn => {
            let s = source_state().await?;
            let want = (s != DISABLED).then(|| s.clone());
            Plan { side: Side::Target, want, prior: Some(s) }
        }
        Phase::SourceOff => Plan { side: Side::Source, want: Some(DISABLED.into()), prior: None },
        Phase::SourceOn => Plan {
            side: Side::Source,
            want: sw.forward.get(OutputKey::PriorState.as_str()).cloned(),
            prior: None,
        },
        Phase::TargetOff => Plan { side: Side::Target, want: Some(DISABLED.into()), prior: None },
        other => {
            return Err(StepError::Failed(format!(
                "{} is not a rule or schedule action",
                other.as_str()
            )));
        }
    })
}

fn outcome(changed: bool, prior: Option<String>) -> Outcome {
    match prior {
        Some(p) => Outcome::changed(changed).with_output(OutputKey::PriorState, p),
        None => Outcome::changed(changed),
    }
}

fn copy_config(sw: &Switch) -> Result<(&str, &Value), StepError> {
    match &sw.cx.step.spec {
        StepSpec::EventsRule(c) | StepSpec::Schedule(c) => Ok((c.name.as_str(), &c.config)),
        _ => Err(StepError::Failed("not a rule or schedule copy".into())),
    }
}

// ---- rules ---------------------------------------------------------------------------------

pub(super) async fn rule(sw: &Switch) -> Result<Outcome, StepError> {
    let (name, config) = copy_config(sw)?;
    let bus = config.get("EventBusName").and_then(Value::as_str).unwrap_or("default");
    let plan = plan(sw, || async {
        let live = describe_rule(sw, Side::Source, name, bus).await?;
        Ok(live.state().map_or(ENABLED, |s| s.as_str()).to_string())
    })
    .await?;
    let Some(want) = plan.want else {
        return Ok(outcome(false, plan.prior));
    };
    let live = describe_rule(sw, plan.side, name, bus).await?;
    if live.state().map_or(ENABLED, |s| s.as_str()) == want {
        return Ok(outcome(false, plan.prior));
    }
    let events = sw.session(plan.side).await?.events(sw.cx.region());
    let account = sw.account(plan.side);
    match want.as_str() {
        ENABLED => {
            let request = events.enable_rule().name(name).event_bus_name(bus);
            request.send().await.map_err(sw.cx.error_in(account, "events", "EnableRule"))?;
        }
        DISABLED => {
            let request = events.disable_rule().name(name).event_bus_name(bus);
            request.send().await.map_err(sw.cx.error_in(account, "events", "DisableRule"))?;
        }
        other => {
            let request = events
                .put_rule()
                .name(name)
                .event_bus_name(bus)
                .set_schedule_expression(live.schedule_expression().map(str::to_string))
                .set_event_pattern(live.event_pattern().map(str::to_string))
                .state(RuleState::from(other))
                .set_description(live.description().map(str::to_string))
                .set_role_arn(live.role_arn().map(str::to_string));
            request.send().await.map_err(sw.cx.error_in(account, "events", "PutRule"))?;
        }
    }
    Ok(outcome(true, plan.prior))
}

async fn describe_rule(
    sw: &Switch,
    side: Side,
    name: &str,
    bus: &str,
) -> Result<DescribeRuleOutput, StepError> {
    let events = sw.session(side).await?.events(sw.cx.region());
    let request = events.describe_rule().name(name).event_bus_name(bus);
    let err = sw.cx.error_in(sw.account(side), "events", "DescribeRule");
    Ok(request.send().await.map_err(err)?)
}

// ---- schedules -----------------------------------------------------------------------------

pub(super) async fn schedule(sw: &Switch) -> Result<Outcome, StepError> {
    let (full, config) = copy_config(sw)?;
    let group = config.get("GroupName").and_then(Value::as_str).unwrap_or("default");
    let name = full.strip_prefix(&format!("{group}/")).unwrap_or(full);
    let plan = plan(sw, || async {
        let live = get_schedule(sw, Side::Source, group, name).await?;
        Ok(live.state().map_or(ENABLED, |s| s.as_str()).to_string())
    })
    .await?;
    let Some(want) = plan.want else {
        return Ok(outcome(false, plan.prior));
    };
    let live = get_schedule(sw, plan.side, group, name).await?;
    if live.state().map_or(ENABLED, |s| s.as_str()) == want {
        return Ok(outcome(false, plan.prior));
    }
    // A start date in the past has passed: re-sending it could be refused (a new start may
    // be at most five minutes old), and leaving it out changes nothing about a schedule
    // that has started.
    let now = DateTime::from(SystemTime::now()).secs();
    let scheduler = sw.session(plan.side).await?.scheduler(sw.cx.region());
    scheduler
        .update_schedule()
        .group_name(group)
        .name(name)
        .set_schedule_expression(live.schedule_expression().map(str::to_string))
        .set_schedule_expression_timezone(live.schedule_expression_timezone().map(str::to_string))
        .set_flexible_time_window(live.flexible_time_window().cloned())
        .set_target(live.target().cloned())
        .state(ScheduleState::from(want.as_str()))
        .set_description(live.description().map(str::to_string))
        .set_kms_key_arn(live.kms_key_arn().map(str::to_string))
        .set_start_date(live.start_date().filter(|d| d.secs() > now).cloned())
        .set_end_date(live.end_date().cloned())
        .set_action_after_completion(live.action_after_completion().cloned())
        .send()
        .await
        .map_err(sw.cx.error_in(sw.account(plan.side), "scheduler", "UpdateSchedule"))?;
    Ok(outcome(true, plan.prior))
}

async fn get_schedule(
    sw: &Switch,
    side: Side,
    group: &str,
    name: &str,
) -> Result<GetScheduleOutput, StepError> {
    let scheduler = sw.session(side).await?.scheduler(sw.cx.region());
    let request = scheduler.get_schedule().group_name(group).name(name);
    let err = sw.cx.error_in(sw.account(side), "scheduler", "GetSchedule");
    Ok(request.send().await.map_err(err)?)
}
