//! EventBridge and EventBridge Scheduler targets as JSON: one home for the conversion the
//! inventory records and apply compares a live target with. Only the members orgsplit
//! re-creates are written; the kinds of parameters it does not copy are flagged in
//! `UnrecordedParameters`, so a live target that has them differs from the record.

use serde_json::{Value, json};

use crate::sdk_json::{non_empty, object, opt_str};

/// An EventBridge or Scheduler target's `EcsParameters` as the API's JSON (the two SDKs
/// have distinct but alike types). `Tags` are left to the caller: their shapes differ.
macro_rules! ecs_parameters_json {
    ($p:expr) => {{
        let p = $p;
        $crate::sdk_json::object([
            ("TaskDefinitionArn", serde_json::json!(p.task_definition_arn())),
            ("TaskCount", serde_json::json!(p.task_count())),
            (
                "LaunchType",
                serde_json::json!(p.launch_type().map(|v| v.as_str())),
            ),
            (
                "NetworkConfiguration",
                p.network_configuration()
                    .and_then(|n| n.awsvpc_configuration())
                    .map_or(serde_json::Value::Null, |a| {
                        serde_json::json!({ "awsvpcConfiguration": $crate::sdk_json::object([
                            ("Subnets", serde_json::json!(a.subnets())),
                            ("SecurityGroups", serde_json::json!(a.security_groups())),
                            (
                                "AssignPublicIp",
                                serde_json::json!(a.assign_public_ip().map(|v| v.as_str())),
                            ),
                        ]) })
                    }),
            ),
            ("PlatformVersion", $crate::sdk_json::opt_str(p.platform_version())),
            ("Group", $crate::sdk_json::opt_str(p.group())),
            (
                "CapacityProviderStrategy",
                $crate::sdk_json::non_empty(
                    p.capacity_provider_strategy()
                        .iter()
                        .map(|c| {
                            serde_json::json!({
                                "capacityProvider": c.capacity_provider(),
                                "weight": c.weight(),
                                "base": c.base(),
                            })
                        })
                        .collect(),
                ),
            ),
            (
                "EnableECSManagedTags",
                serde_json::json!(p.enable_ecs_managed_tags()),
            ),
            (
                "EnableExecuteCommand",
                serde_json::json!(p.enable_execute_command()),
            ),
            (
                "PlacementConstraints",
                $crate::sdk_json::non_empty(
                    p.placement_constraints()
                        .iter()
                        .map(|c| {
                            $crate::sdk_json::object([
                                ("type", serde_json::json!(c.r#type().map(|v| v.as_str()))),
                                ("expression", $crate::sdk_json::opt_str(c.expression())),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "PlacementStrategy",
                $crate::sdk_json::non_empty(
                    p.placement_strategy()
                        .iter()
                        .map(|c| {
                            $crate::sdk_json::object([
                                ("type", serde_json::json!(c.r#type().map(|v| v.as_str()))),
                                ("field", $crate::sdk_json::opt_str(c.field())),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "PropagateTags",
                serde_json::json!(p.propagate_tags().map(|v| v.as_str())),
            ),
            ("ReferenceId", $crate::sdk_json::opt_str(p.reference_id())),
        ])
    }};
}

/// The members both SDKs' targets share, with the same names and shapes: `SqsParameters`,
/// `DeadLetterConfig` and `RetryPolicy`.
macro_rules! shared_members_json {
    ($t:expr) => {{
        let t = $t;
        [
            (
                "SqsParameters",
                t.sqs_parameters().map_or(Value::Null, |s| {
                    object([("MessageGroupId", opt_str(s.message_group_id()))])
                }),
            ),
            (
                "DeadLetterConfig",
                t.dead_letter_config().map_or(Value::Null, |d| object([("Arn", opt_str(d.arn()))])),
            ),
            (
                "RetryPolicy",
                t.retry_policy().map_or(Value::Null, |r| {
                    object([
                        ("MaximumRetryAttempts", json!(r.maximum_retry_attempts())),
                        ("MaximumEventAgeInSeconds", json!(r.maximum_event_age_in_seconds())),
                    ])
                }),
            ),
        ]
    }};
}

/// A target as PutTargets takes it (PascalCase, like the API).
pub fn events_target_json(t: &aws_sdk_eventbridge::types::Target) -> Value {
    let ecs = t.ecs_parameters().map_or(Value::Null, |p| {
        let mut v = ecs_parameters_json!(p);
        let tags: Vec<Value> =
            p.tags().iter().map(|t| json!({ "Key": t.key(), "Value": t.value() })).collect();
        if let (Some(o), Value::Array(tags)) = (v.as_object_mut(), non_empty(tags)) {
            o.insert("Tags".into(), Value::Array(tags));
        }
        v
    });
    let [sqs, dead_letter, retry] = shared_members_json!(t);
    object([
        ("Id", json!(t.id())),
        ("Arn", json!(t.arn())),
        ("RoleArn", opt_str(t.role_arn())),
        ("Input", opt_str(t.input())),
        ("InputPath", opt_str(t.input_path())),
        (
            "InputTransformer",
            t.input_transformer().map_or(Value::Null, |i| {
                object([
                    ("InputPathsMap", json!(i.input_paths_map())),
                    ("InputTemplate", json!(i.input_template())),
                ])
            }),
        ),
        ("EcsParameters", ecs),
        sqs,
        (
            "KinesisParameters",
            t.kinesis_parameters()
                .map_or(Value::Null, |k| json!({ "PartitionKeyPath": k.partition_key_path() })),
        ),
        dead_letter,
        retry,
        // Kinds orgsplit does not re-create field by field: flagged for the plan.
        (
            "UnrecordedParameters",
            non_empty(
                [
                    ("RunCommandParameters", t.run_command_parameters().is_some()),
                    ("BatchParameters", t.batch_parameters().is_some()),
                    ("HttpParameters", t.http_parameters().is_some()),
                    ("RedshiftDataParameters", t.redshift_data_parameters().is_some()),
                    ("SageMakerPipelineParameters", t.sage_maker_pipeline_parameters().is_some()),
                    ("AppSyncParameters", t.app_sync_parameters().is_some()),
                ]
                .into_iter()
                .filter(|(_, set)| *set)
                .map(|(k, _)| json!(k))
                .collect(),
            ),
        ),
    ])
}

/// A schedule's target as CreateSchedule takes it (PascalCase, like the API).
pub fn scheduler_target_json(t: &aws_sdk_scheduler::types::Target) -> Value {
    let ecs = t.ecs_parameters().map_or(Value::Null, |p| {
        let mut v = ecs_parameters_json!(p);
        if let (Some(o), Value::Array(tags)) =
            (v.as_object_mut(), non_empty(p.tags().iter().map(|m| json!(m)).collect()))
        {
            o.insert("Tags".into(), Value::Array(tags));
        }
        v
    });
    let [sqs, dead_letter, retry] = shared_members_json!(t);
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
        sqs,
        (
            "KinesisParameters",
            t.kinesis_parameters()
                .map_or(Value::Null, |k| json!({ "PartitionKey": k.partition_key() })),
        ),
        dead_letter,
        retry,
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
