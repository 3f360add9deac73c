//! Small helpers shared by step modules.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use orgsplit_aws::{AccountSession, AwsError, call_error};
use orgsplit_model::Secret;
use std::collections::BTreeMap;

/// Maps an SDK error of `service:op` in the session's account to ours:
/// `.map_err(aws_err(&session, "ssm", "PutParameter", region))`.
pub fn aws_err<E, R>(
    session: &AccountSession,
    service: &'static str,
    op: &'static str,
    region: &str,
) -> impl FnOnce(SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let account = session.account_id.clone();
    let region = region.to_string();
    move |e| call_error(service, op, &account, &region, e)
}

/// The wanted tags that `live` lacks or holds with another value.
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
    source_arn
        .split(':')
        .nth(1)
        .filter(|p| !p.is_empty())
        .unwrap_or("aws")
        .to_string()
}

/// An AWS error for a call that carried a secret value: a validation message can quote it.
pub fn redact(err: AwsError, value: &Secret) -> AwsError {
    match err {
        AwsError::Call {
            service,
            operation,
            account,
            region,
            class,
            code,
            message,
        } if !value.expose().is_empty() => AwsError::Call {
            service,
            operation,
            account,
            region,
            class,
            code,
            message: message.replace(value.expose(), "<redacted>"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
