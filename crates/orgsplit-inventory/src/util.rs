//! Small helpers shared by collectors.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use orgsplit_aws::{AwsError, error_chain};
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

/// Decodes a policy document as IAM returns it (URL-encoded JSON) into JSON.
pub fn policy_document(raw: &str) -> Value {
    if let Ok(v) = serde_json::from_str(raw) {
        return v;
    }
    let decoded = percent_decode(raw);
    serde_json::from_str(&decoded).unwrap_or(Value::String(decoded))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // RFC 3986 encoding, as IAM documents: `+` is a plus, not a space.
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[allow(dead_code)]
pub fn chain<E: std::error::Error>(e: &E) -> String {
    error_chain(e)
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
