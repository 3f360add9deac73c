//! What the step modules share: SDK errors mapped to a step's error, input errors, the JSON
//! comparison of wanted and live states, tags, partitions and ARN parts, redaction.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use orgsplit_aws::AwsError;
use orgsplit_model::Secret;
use orgsplit_model::arn::{DEFAULT_PARTITION, partition_of};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::context::{StepContext, StepError};
use orgsplit_model::journal::OutputKey;

pub fn input_error(field: &str, message: impl Into<String>) -> StepError {
    StepError::Input { field: field.to_string(), message: message.into() }
}

/// `value` without nulls, empty lists and empty objects, at any depth: AWS leaves unset
/// members out of some answers and returns them empty in others.
pub fn prune(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), prune(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(prune).collect()),
        other => other.clone(),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The first place where `got` differs from `want` (`containerDefinitions[0].image`),
/// `None` when they are equal.
pub fn first_difference(want: &Value, got: &Value) -> Option<String> {
    difference_at(want, got, "")
}

fn difference_at(want: &Value, got: &Value, at: &str) -> Option<String> {
    let here = || {
        if at.is_empty() { "(the whole value)".to_string() } else { at.to_string() }
    };
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            let keys: std::collections::BTreeSet<&String> = w.keys().chain(g.keys()).collect();
            keys.into_iter().find_map(|k| {
                let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                match (w.get(k), g.get(k)) {
                    (Some(a), Some(b)) => difference_at(a, b, &path),
                    _ => Some(path),
                }
            })
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .find_map(|(i, (a, b))| difference_at(a, b, &format!("{at}[{i}]"))),
        _ if want == got => None,
        _ => Some(here()),
    }
}

/// The tags the plan recorded for the copied resource.
pub fn wanted_tags(cx: &StepContext) -> BTreeMap<String, String> {
    cx.step.spec.copy().map(|c| c.tags.clone()).unwrap_or_default()
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` -> (region, account, resource).
pub fn arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let _partition = parts.next()?;
    let _service = parts.next()?;
    let region = parts.next()?;
    let account = parts.next()?;
    Some((region, account, parts.next()?))
}

/// The wanted tags that `live` lacks or holds with another value. Tags someone added in the
/// target are left alone: orgsplit adds what the source had, it does not own the rest.
pub fn missing_tags(
    wanted: &BTreeMap<String, String>,
    live: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    wanted
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The partition of the resource being copied (`aws`, `aws-cn`, …), from its source ARN.
pub fn partition(source_arn: &str) -> String {
    partition_of(source_arn).unwrap_or(DEFAULT_PARTITION).to_string()
}

/// An AWS error for a call that carried a secret value: a validation message can quote it.
pub fn redact(err: AwsError, value: &Secret) -> AwsError {
    match err {
        AwsError::Call { service, operation, account, region, class, code, message }
            if !value.expose().is_empty() =>
        {
            AwsError::Call {
                service,
                operation,
                account,
                region,
                class,
                code,
                message: message.replace(value.expose(), "<redacted>"),
            }
        }
        other => other,
    }
}

/// The OU's id: from its `ou` step's output, else looked up by name under the root.
pub async fn ou_id(
    cx: &StepContext,
    session: &orgsplit_aws::AccountSession,
    ou: &str,
) -> Result<String, StepError> {
    if let Some(id) = cx.output(&orgsplit_model::step::ou_address(ou), OutputKey::OuId) {
        return Ok(id);
    }
    let root = orgsplit_aws::organizations::root(session).await?;
    let root_id = root.as_ref().and_then(|r| r.id()).unwrap_or_default();
    orgsplit_aws::organizations::ou_named(session, root_id, ou)
        .await?
        .ok_or_else(|| StepError::Failed(format!("OU {ou} does not exist under the root")))
}

/// Where a step's calls go: one client, in one account and region, about one named
/// resource. Its errors name the call (`at.err("PutParameter", e)`).
pub struct At<'a, C> {
    pub client: &'a C,
    pub service: &'static str,
    pub account: &'a str,
    pub region: &'a str,
    pub name: &'a str,
}

impl<C> At<'_, C> {
    pub fn err<E, R>(&self, operation: &str, e: SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        orgsplit_aws::call_error(self.service, operation, self.account, self.region, e)
    }

    /// `.map_err(at.error_of("PutParameter"))`.
    pub fn error_of<E, R>(&self, operation: &str) -> impl FnOnce(SdkError<E, R>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        move |e| self.err(operation, e)
    }
}

/// What a read-back found different from what was written (`["tags"]`): none, or a
/// verification failure naming them.
pub fn verified(subject: &str, differs: &[&str]) -> Result<(), StepError> {
    if differs.is_empty() {
        Ok(())
    } else {
        Err(StepError::Verify(format!("{subject}: {} differ after writing", differs.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_lose_the_value() {
        let err = AwsError::Call {
            service: "ssm".into(),
            operation: "PutParameter".into(),
            account: "1".into(),
            region: "r".into(),
            class: orgsplit_aws::ErrorClass::Invalid,
            code: None,
            message: "Value 'hunter2' at 'value' failed".into(),
        };
        let text = redact(err, &Secret::new("hunter2")).to_string();
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn arns_split_into_region_account_and_resource() {
        assert_eq!(
            arn_parts("arn:aws:ecs:us-east-1:222222222222:cluster/batch"),
            Some(("us-east-1", "222222222222", "cluster/batch"))
        );
    }

    #[test]
    fn differences_are_named() {
        assert_eq!(first_difference(&json!({"a": 1}), &json!({"a": 1})), None);
        assert_eq!(
            first_difference(&json!({"a": [1, 2]}), &json!({"a": [1, 3]})).as_deref(),
            Some("a[1]")
        );
        assert_eq!(first_difference(&json!({"a": 1}), &json!({"b": 1})).as_deref(), Some("a"));
        assert_eq!(
            first_difference(&json!({"a": [1]}), &json!({"a": [1, 2]})).as_deref(),
            Some("a")
        );
        assert_eq!(
            prune(&json!({"a": [], "b": {"c": null}, "d": [{}], "e": 0})),
            json!({"d": [{}], "e": 0})
        );
    }

    #[test]
    fn only_missing_or_different_tags_are_added() {
        let want: BTreeMap<String, String> =
            [("a".into(), "1".into()), ("b".into(), "2".into())].into();
        let have: BTreeMap<String, String> =
            [("a".into(), "1".into()), ("b".into(), "x".into()), ("c".into(), "3".into())].into();
        assert_eq!(missing_tags(&want, &have), [("b".to_string(), "2".to_string())].into());
    }
}
