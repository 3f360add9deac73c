//! Incident 2: over 100 Fargate tasks ran for days and only the bill told. Standalone tasks
//! running past `max_task_hours`, and accounts without a budget to raise the alarm.

use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::CheckContext;
use crate::facts::AccountFacts;
use crate::finding::{AccountRole, Finding, FindingCode};

/// Task states past which a task no longer runs (or is on its way down by request).
const ENDING: &[&str] = &["DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED", "DELETED"];

/// When the task started: RFC 3339 as the inventory records it, or epoch seconds.
fn started_at(task: &Resource) -> Option<OffsetDateTime> {
    match task.config.get("startedAt")? {
        Value::String(s) => OffsetDateTime::parse(s, &Rfc3339).ok(),
        Value::Number(n) => OffsetDateTime::from_unix_timestamp(n.as_f64()? as i64).ok(),
        _ => None,
    }
}

pub fn long_running_tasks(cx: &CheckContext<'_>, account: &AccountFacts) -> Vec<Finding> {
    let limit_hours = f64::from(cx.config.guardrails.max_task_hours);
    let mut out = Vec::new();
    for task in account.resources.iter().filter(|r| r.kind == ResourceKind::EcsTask) {
        let status = task.config.get("lastStatus").and_then(Value::as_str).unwrap_or("RUNNING");
        if ENDING.contains(&status) {
            continue;
        }
        let Some(started) = started_at(task) else {
            tracing::debug!(task = %task.arn, "no start time: cannot tell how long it ran");
            continue;
        };
        let hours = (cx.now - started).as_seconds_f64() / 3600.0;
        if hours <= limit_hours {
            continue;
        }
        let (cluster, id) = task.name.split_once('/').unwrap_or(("", &task.name));
        let text = |k: &str| task.config.get(k).and_then(Value::as_str).unwrap_or("");
        let family = text("taskDefinitionArn").rsplit('/').next().unwrap_or_default().to_string();
        let started_by = text("startedBy");
        let region = task.region.clone().unwrap_or_default();
        out.push(
            Finding::new(
                FindingCode::LongRunningTask,
                &account.account_id,
                format!(
                    "standalone task {id} ({family}, started by {}) has run {:.0} h, over max_task_hours = {}",
                    if started_by.is_empty() { "unknown" } else { started_by },
                    hours.floor(),
                    cx.config.guardrails.max_task_hours
                ),
                format!(
                    "stop it if its work is done: aws ecs stop-task --cluster {cluster} --task {id} --region {region}"
                ),
            )
            .region(region.clone())
            .resource(task.arn.clone())
            .details(json!({
                "cluster": cluster,
                "task_definition": family,
                "started_by": started_by,
                "started_at": started.format(&Rfc3339).unwrap_or_default(),
                "hours": hours.floor(),
                "max_task_hours": cx.config.guardrails.max_task_hours,
            })),
        );
    }
    out
}

pub fn no_budget(account: &AccountFacts) -> Option<Finding> {
    if !account.budgets.is_empty() {
        return None;
    }
    let fix = if account.role == AccountRole::Member {
        "`orgsplit apply` gives every account of a configured OU one (guardrails.monthly_budget_usd); else `aws budgets create-budget` with an e-mail notification"
    } else {
        "create one with an e-mail notification: `aws budgets create-budget --account-id ACCOUNT --budget ... --notifications-with-subscribers ...`"
    };
    Some(Finding::new(
        FindingCode::NoBudget,
        &account.account_id,
        "no AWS Budgets budget: a runaway cost shows up only on the bill",
        fix,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use time::macros::datetime;

    fn task(started: &str, status: &str) -> Resource {
        resource(
            ResourceKind::EcsTask,
            "batch/abc123",
            &[],
            json!({"startedAt": started, "lastStatus": status, "startedBy": "manual-release",
                   "taskDefinitionArn": "arn:aws:ecs:us-east-1:111111111111:task-definition/prod-mail-sender:3"}),
        )
    }

    fn findings(resources: Vec<Resource>) -> Vec<Finding> {
        let config = config(); // max_task_hours = 24
        let org = org();
        let cx = CheckContext { config: &config, org: &org, now: datetime!(2026-11-23 12:00 UTC) };
        long_running_tasks(&cx, &account(SOURCE, AccountRole::Source, resources))
    }

    #[test]
    fn a_task_past_the_threshold_is_a_finding() {
        let found = findings(vec![task("2026-11-20T04:00:00Z", "RUNNING")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].details["hours"], json!(80.0));
        assert!(found[0].message.contains("prod-mail-sender:3"), "{}", found[0].message);
        assert!(found[0].fix.contains("--cluster batch --task abc123"), "{}", found[0].fix);
    }

    #[test]
    fn young_stopped_or_undated_tasks_are_not() {
        assert!(findings(vec![task("2026-11-23T00:00:00Z", "RUNNING")]).is_empty());
        assert!(findings(vec![task("2026-11-20T04:00:00Z", "STOPPED")]).is_empty());
        assert!(findings(vec![task("not a time", "RUNNING")]).is_empty());
    }

    #[test]
    fn budgets() {
        let mut a = account(MEMBER, AccountRole::Member, vec![]);
        assert!(no_budget(&a).is_none());
        a.budgets.clear();
        assert_eq!(no_budget(&a).unwrap().code, FindingCode::NoBudget);
    }
}
