//! Small helpers shared by collectors.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use orgsplit_model::Resource;
use serde_json::Value;
use std::collections::BTreeMap;

/// What a collector returns: the resources it found, in no particular order.
pub type Collected = Result<Vec<Resource>, crate::InventoryError>;

/// RFC 3339 for a timestamp AWS returned.
pub fn time(t: Option<&DateTime>) -> Value {
    t.and_then(|t| t.fmt(Format::DateTime).ok()).map_or(Value::Null, Value::String)
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

pub use orgsplit_aws::sdk_json::{object, opt_str, to_json};

/// The members `keys` of a JSON object, in that order, leaving out absent and null ones.
pub fn pick(v: &Value, keys: &[&'static str]) -> Value {
    object(keys.iter().map(|&k| (k, v.get(k).cloned().unwrap_or(Value::Null))))
}

/// Whether an ARN or account-scoped name belongs to AWS itself (`arn:aws:iam::aws:policy/…`).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?.split(':').nth(3)
}

/// One Get call's answer: `Ok(None)` when the service says the bucket has no such configuration
/// (`absent`: the codes it answers that with), `Err("Op: Code")` when it cannot be read.
pub async fn read<T, E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(
    op: &'static str,
    absent: &[&str],
    call: impl std::future::Future<Output = Result<T, E>>,
) -> Result<Option<T>, String> {
    match call.await {
        Ok(out) => Ok(Some(out)),
        Err(e) => match e.code() {
            Some(code) if absent.contains(&code) => Ok(None),
            Some(code) => Err(format!("{op}: {code}")),
            None => Err(format!("{op}: {}", e.message().unwrap_or("no answer"))),
        },
    }
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
