//! Small helpers shared by collectors.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use orgsplit_aws::AwsError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// RFC 3339 for a timestamp AWS returned.
pub fn time(t: Option<&DateTime>) -> Value {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
        .map_or(Value::Null, Value::String)
}

/// Maps an SDK error to ours, with where it happened.
pub fn aws_err<E>(
    service: &str,
    op: &str,
    account: &str,
    region: &str,
    err: aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> AwsError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    orgsplit_aws::call_error(service, op, account, region, err)
}

/// A JSON object from pairs, leaving out nulls (AWS omits unset fields too).
pub fn object<I: IntoIterator<Item = (&'static str, Value)>>(pairs: I) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if !v.is_null() {
            m.insert(k.to_string(), v);
        }
    }
    Value::Object(m)
}

pub fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// Tags from `(key, value)` pairs.
pub fn tags<'a>(
    pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k?.to_string(), v.unwrap_or_default().to_string())))
        .collect()
}

pub use orgsplit_aws::policy::policy_document;

pub use orgsplit_aws::sdk_json::to_json;

/// An EventBridge or Scheduler target's `EcsParameters` as the API's JSON (the two SDKs
/// have distinct but alike types). `Tags` are left to the caller: their shapes differ.
macro_rules! ecs_parameters_json {
    ($p:expr) => {{
        let p = $p;
        $crate::util::object([
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
                        serde_json::json!({ "awsvpcConfiguration": $crate::util::object([
                            ("Subnets", serde_json::json!(a.subnets())),
                            ("SecurityGroups", serde_json::json!(a.security_groups())),
                            (
                                "AssignPublicIp",
                                serde_json::json!(a.assign_public_ip().map(|v| v.as_str())),
                            ),
                        ]) })
                    }),
            ),
            ("PlatformVersion", $crate::util::opt_str(p.platform_version())),
            ("Group", $crate::util::opt_str(p.group())),
            (
                "CapacityProviderStrategy",
                $crate::util::non_empty(
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
                $crate::util::non_empty(
                    p.placement_constraints()
                        .iter()
                        .map(|c| {
                            $crate::util::object([
                                ("type", serde_json::json!(c.r#type().map(|v| v.as_str()))),
                                ("expression", $crate::util::opt_str(c.expression())),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "PlacementStrategy",
                $crate::util::non_empty(
                    p.placement_strategy()
                        .iter()
                        .map(|c| {
                            $crate::util::object([
                                ("type", serde_json::json!(c.r#type().map(|v| v.as_str()))),
                                ("field", $crate::util::opt_str(c.field())),
                            ])
                        })
                        .collect(),
                ),
            ),
            (
                "PropagateTags",
                serde_json::json!(p.propagate_tags().map(|v| v.as_str())),
            ),
            ("ReferenceId", $crate::util::opt_str(p.reference_id())),
        ])
    }};
}
pub(crate) use ecs_parameters_json;

/// A JSON array, or null when empty (so [`object`] leaves it out).
pub fn non_empty(items: Vec<Value>) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        Value::Array(items)
    }
}

/// The members `keys` of a JSON object, in that order, leaving out absent and null ones.
pub fn pick(v: &Value, keys: &[&'static str]) -> Value {
    object(
        keys.iter()
            .map(|&k| (k, v.get(k).cloned().unwrap_or(Value::Null))),
    )
}

/// Whether an ARN or account-scoped name belongs to AWS itself (`arn:aws:iam::aws:policy/…`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?.split(':').nth(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_url_encoded_policies() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            policy_document(raw),
            serde_json::json!({"Version": "2012-10-17", "Statement": []})
        );
        assert_eq!(policy_document("{\"a\": 1}"), serde_json::json!({"a": 1}));
    }
}
