//! Targets as EventBridge rules and Scheduler schedules share them: their `EcsParameters`
//! (alike in both APIs, but distinct SDK types, so built by macro for each) and the JSON a
//! target is compared as. The SDKs of both services have no schema codec, so targets are
//! built and read field by field.

use serde_json::{Value, json};

use super::support::prune;

/// A string member of the inventory's JSON (the macros' `s`).
pub(super) fn json_str(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

/// A 32-bit integer member of the inventory's JSON (the macros' `int`).
pub(super) fn json_i32(v: &Value, k: &str) -> Option<i32> {
    v.get(k).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok())
}

/// `EcsParameters` (EventBridge's or Scheduler's: alike but distinct types) from the
/// inventory's JSON, as a builder without tags (their shapes differ between the two).
macro_rules! ecs_parameters_builder {
    ($krate:ident, $p:expr, $at:expr) => {{
        use $krate::types as t;
        let p: &serde_json::Value = $p;
        let at: &str = $at;
        let s = $crate::steps::targets::json_str;
        let int = $crate::steps::targets::json_i32;
        let strings = |v: &serde_json::Value, k: &str| {
            v.get(k).and_then(serde_json::Value::as_array).map(|a| {
                a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect::<Vec<_>>()
            })
        };
        let list =
            |k: &str| p.get(k).and_then(serde_json::Value::as_array).cloned().unwrap_or_default();
        let mut b = t::EcsParameters::builder()
            .set_task_definition_arn(s(p, "TaskDefinitionArn"))
            .set_task_count(int(p, "TaskCount"))
            .set_launch_type(s(p, "LaunchType").map(|v| t::LaunchType::from(v.as_str())))
            .set_platform_version(s(p, "PlatformVersion"))
            .set_group(s(p, "Group"))
            .set_enable_ecs_managed_tags(
                p.get("EnableECSManagedTags").and_then(serde_json::Value::as_bool),
            )
            .set_enable_execute_command(
                p.get("EnableExecuteCommand").and_then(serde_json::Value::as_bool),
            )
            .set_propagate_tags(s(p, "PropagateTags").map(|v| t::PropagateTags::from(v.as_str())))
            .set_reference_id(s(p, "ReferenceId"));
        if let Some(vpc) = p.pointer("/NetworkConfiguration/awsvpcConfiguration") {
            let vpc = t::AwsVpcConfiguration::builder()
                .set_subnets(strings(vpc, "Subnets"))
                .set_security_groups(strings(vpc, "SecurityGroups"))
                .set_assign_public_ip(
                    s(vpc, "AssignPublicIp").map(|v| t::AssignPublicIp::from(v.as_str())),
                )
                .build()
                .map_err(|e| {
                    $crate::steps::support::input_error(
                        &format!("{at}.NetworkConfiguration"),
                        e.to_string(),
                    )
                })?;
            b = b.network_configuration(
                t::NetworkConfiguration::builder().awsvpc_configuration(vpc).build(),
            );
        }
        for c in list("CapacityProviderStrategy") {
            let item = t::CapacityProviderStrategyItem::builder()
                .set_capacity_provider(s(&c, "capacityProvider"))
                .set_weight(int(&c, "weight"))
                .set_base(int(&c, "base"))
                .build()
                .map_err(|e| {
                    $crate::steps::support::input_error(
                        &format!("{at}.CapacityProviderStrategy"),
                        e.to_string(),
                    )
                })?;
            b = b.capacity_provider_strategy(item);
        }
        for c in list("PlacementConstraints") {
            b = b.placement_constraints(
                t::PlacementConstraint::builder()
                    .set_type(s(&c, "type").map(|v| t::PlacementConstraintType::from(v.as_str())))
                    .set_expression(s(&c, "expression"))
                    .build(),
            );
        }
        for c in list("PlacementStrategy") {
            b = b.placement_strategy(
                t::PlacementStrategy::builder()
                    .set_type(s(&c, "type").map(|v| t::PlacementStrategyType::from(v.as_str())))
                    .set_field(s(&c, "field"))
                    .build(),
            );
        }
        b
    }};
}
pub(super) use ecs_parameters_builder;

/// A target's `SqsParameters`, `DeadLetterConfig` and `RetryPolicy` from the inventory's JSON,
/// added to the target builder `$b`: alike in EventBridge and Scheduler, but distinct SDK
/// types.
macro_rules! common_target_members {
    ($krate:ident, $b:expr, $target:expr) => {{
        use $krate::types as sdk;
        let target: &serde_json::Value = $target;
        let s = $crate::steps::targets::json_str;
        let int = $crate::steps::targets::json_i32;
        let mut b = $b;
        if let Some(q) = target.get("SqsParameters") {
            b = b.sqs_parameters(
                sdk::SqsParameters::builder().set_message_group_id(s(q, "MessageGroupId")).build(),
            );
        }
        if let Some(d) = target.get("DeadLetterConfig") {
            b = b.dead_letter_config(sdk::DeadLetterConfig::builder().set_arn(s(d, "Arn")).build());
        }
        if let Some(r) = target.get("RetryPolicy") {
            b = b.retry_policy(
                sdk::RetryPolicy::builder()
                    .set_maximum_retry_attempts(int(r, "MaximumRetryAttempts"))
                    .set_maximum_event_age_in_seconds(int(r, "MaximumEventAgeInSeconds"))
                    .build(),
            );
        }
        b
    }};
}
pub(super) use common_target_members;

/// A target as comparable JSON: pruned, with AWS's defaults made equal to leaving the
/// member out (`TaskCount` 1, the `Enable…` switches false, a weight or base of 0).
pub(super) fn normalize_target(target: &Value) -> Value {
    let mut v = prune(target);
    if let Some(ecs) = v.get_mut("EcsParameters").and_then(Value::as_object_mut) {
        if ecs.get("TaskCount") == Some(&json!(1)) {
            ecs.remove("TaskCount");
        }
        ecs.retain(|_, x| x != &json!(false));
        if let Some(items) = ecs.get_mut("CapacityProviderStrategy").and_then(Value::as_array_mut) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                item.retain(|k, x| !((k == "weight" || k == "base") && x == &json!(0)));
            }
        }
    }
    v
}
