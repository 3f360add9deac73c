//! Incident 1: dev and prod in one account share its quotas. Also workloads in the
//! management account, where no SCP applies and every mistake is the organization's.

use orgsplit_model::config::{IGNORE, SHARED};
use orgsplit_model::{Resource, ResourceKind};
use orgsplit_planner::classify::{UNCLASSIFIED, classify};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::{CheckContext, items};
use crate::facts::AccountFacts;
use crate::finding::{AccountRole, Finding, FindingCode};

/// Examples named in a message.
const EXAMPLES: usize = 3;

/// Resources per configured environment (not `shared`, `ignore` or unclassified), by the
/// config's rules and the references between the account's resources, as `plan` classifies.
fn by_environment<'r>(
    cx: &CheckContext<'_>,
    resources: &'r [Resource],
) -> BTreeMap<String, Vec<&'r Resource>> {
    let classified = classify(cx.config, resources);
    let mut out: BTreeMap<String, Vec<&Resource>> = BTreeMap::new();
    for (r, c) in resources.iter().zip(&classified.per_resource) {
        let env = &*c.environment;
        if env == SHARED || env == IGNORE || env == UNCLASSIFIED {
            continue;
        }
        out.entry(env.to_string()).or_default().push(r);
    }
    out
}

fn labels(resources: &[&Resource], home: &str) -> Vec<String> {
    resources.iter().take(EXAMPLES).map(|r| r.label(home)).collect()
}

pub fn mixed_environments(cx: &CheckContext<'_>, account: &AccountFacts) -> Option<Finding> {
    let envs = by_environment(cx, &account.resources);
    if envs.len() < 2 {
        return None;
    }
    let home = cx.config.home_region.as_str();
    let counts: Vec<String> = envs.iter().map(|(env, rs)| format!("{env} {}", rs.len())).collect();
    let examples: serde_json::Map<String, serde_json::Value> =
        envs.iter().map(|(env, rs)| (env.clone(), json!(labels(rs, home)))).collect();
    let fix = if account.role == AccountRole::Source {
        "split it: `orgsplit plan --out plan.json`, review, then `orgsplit apply plan.json --ou NAME` for each OU".to_string()
    } else {
        format!(
            "move each environment's resources to its own account (plan them with [source] account_id = \"{}\")",
            account.account_id
        )
    };
    Some(
        Finding::new(
            FindingCode::MixedEnvironments,
            &account.account_id,
            format!(
                "resources of {} environments share this account's quotas: {}",
                envs.len(),
                counts.join(", ")
            ),
            fix,
        )
        .details(json!({
            "environments": envs.iter().map(|(e, rs)| (e.clone(), json!(rs.len()))).collect::<serde_json::Map<_, _>>(),
            "examples": examples,
        })),
    )
}

/// Whether a resource is a workload wherever it is, whatever the rules say. EventBridge rules
/// and schedules are only when they run ECS tasks: a management account rightly holds rules
/// of its own (orgsplit's trigger, Control Tower's, other services' `ManagedBy` rules).
fn is_workload(r: &Resource) -> bool {
    let has_ecs = |target: &Value| target.get("EcsParameters").is_some_and(|p| !p.is_null());
    match r.kind {
        ResourceKind::SsmParameter
        | ResourceKind::Secret
        | ResourceKind::EcsCluster
        | ResourceKind::EcsTaskDefinition
        | ResourceKind::EcsService
        | ResourceKind::EcsTask
        | ResourceKind::CodeBuildProject
        | ResourceKind::Pipeline => true,
        ResourceKind::EventsRule => {
            r.config.get("ManagedBy").is_none_or(Value::is_null)
                && items(r.config.get("Targets")).into_iter().any(has_ecs)
        }
        ResourceKind::Schedule => r.config.get("Target").is_some_and(has_ecs),
        _ => false,
    }
}

pub fn management_workloads(cx: &CheckContext<'_>, account: &AccountFacts) -> Option<Finding> {
    if account.role != AccountRole::Management {
        return None;
    }
    let classified = classify(cx.config, &account.resources);
    let home = cx.config.home_region.as_str();
    let workloads: Vec<&Resource> = account
        .resources
        .iter()
        .zip(&classified.per_resource)
        .filter(|(r, c)| {
            is_workload(r)
                || cx.config.environments().contains(&&*c.environment)
                || &*c.environment == SHARED
        })
        .map(|(r, _)| r)
        .collect();
    if workloads.is_empty() {
        return None;
    }
    let all: Vec<String> = workloads.iter().map(|r| r.label(home)).collect();
    Some(
        Finding::new(
            FindingCode::ManagementAccountWorkloads,
            &account.account_id,
            format!(
                "{} workload resources in the management account, where no SCP applies: {}{}",
                all.len(),
                all.iter().take(EXAMPLES).cloned().collect::<Vec<_>>().join(", "),
                if all.len() > EXAMPLES { ", …" } else { "" }
            ),
            "move them to a member account: plan them with [source] account_id set to the management account, then apply",
        )
        .details(json!({ "resources": all })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use serde_json::json;
    use time::macros::datetime;

    fn run(role: AccountRole, id: &str, resources: Vec<Resource>) -> Vec<Finding> {
        let config = config();
        let org = org();
        let cx = CheckContext { config: &config, org: &org, now: datetime!(2026-11-23 12:00 UTC) };
        let facts = account(id, role, resources);
        mixed_environments(&cx, &facts)
            .into_iter()
            .chain(management_workloads(&cx, &facts))
            .collect()
    }

    #[test]
    fn two_environments_are_mixed_one_with_shared_is_not() {
        let dev = resource(ResourceKind::SsmParameter, "/dev/app/URL", &[], json!({}));
        let prod = resource(ResourceKind::SsmParameter, "/prod/app/URL", &[], json!({}));
        let shared = resource(ResourceKind::SsmParameter, "/shared/x", &[], json!({}));
        let tagged =
            resource(ResourceKind::LogGroup, "/ecs/api", &[("Environment", "prod")], json!({}));
        let found =
            run(AccountRole::Source, SOURCE, vec![dev.clone(), prod, shared.clone(), tagged]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].code, FindingCode::MixedEnvironments);
        assert!(found[0].message.contains("dev 1, prod 2"), "{}", found[0].message);
        assert_eq!(found[0].details["environments"], json!({"dev": 1, "prod": 2}));
        assert!(run(AccountRole::Member, MEMBER, vec![dev, shared]).is_empty());
    }

    #[test]
    fn management_account_workloads_are_found_and_only_there() {
        let cluster = resource(ResourceKind::EcsCluster, "batch", &[], json!({}));
        let role = resource(ResourceKind::IamRole, "auditor", &[], json!({}));
        let found = run(AccountRole::Management, MGMT, vec![cluster.clone(), role.clone()]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, FindingCode::ManagementAccountWorkloads);
        assert_eq!(found[0].details["resources"], json!(["ecs-cluster:batch"]));
        assert!(run(AccountRole::Management, MGMT, vec![role]).is_empty());
        // The trigger's rule (an SQS target) is not a workload; a scheduled ECS task is.
        let trigger = resource(
            ResourceKind::EventsRule,
            "orgsplit-new-account",
            &[],
            json!({"Targets": [{"Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]}),
        );
        assert!(run(AccountRole::Management, MGMT, vec![trigger]).is_empty());
        let nightly = resource(
            ResourceKind::EventsRule,
            "nightly",
            &[],
            json!({"Targets": [{"Arn": "arn:aws:ecs:x", "EcsParameters": {"TaskCount": 1}}]}),
        );
        assert_eq!(run(AccountRole::Management, MGMT, vec![nightly]).len(), 1);
        assert!(run(AccountRole::Member, MEMBER, vec![cluster]).is_empty());
    }
}
