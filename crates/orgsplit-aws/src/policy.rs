//! IAM policy documents as IAM returns them: URL-encoded JSON (RFC 3986); SSM parameter
//! policies as DescribeParameters returns them.

use serde_json::Value;

/// The document as JSON. What cannot be read stays a string, which never equals a
/// document, so a comparison with it always finds a difference.
pub fn policy_document(raw: &str) -> Value {
    if let Ok(v) = serde_json::from_str(raw) {
        return v;
    }
    let decoded = percent_decode(raw);
    serde_json::from_str(&decoded).unwrap_or(Value::String(decoded))
}

/// A parameter's policies (expiration, notifications) as the JSON array PutParameter's
/// `Policies` takes, or `Value::Null` when it has none
/// (<https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policies.html>).
pub fn parameter_policies(policies: &[aws_sdk_ssm::types::ParameterInlinePolicy]) -> Value {
    let texts: Vec<Value> =
        policies.iter().filter_map(|p| p.policy_text()).map(policy_document).collect();
    if texts.is_empty() { Value::Null } else { Value::Array(texts) }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // `+` stays a plus: IAM encodes per RFC 3986, not as a form.
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_encoded_documents_are_decoded() {
        assert_eq!(
            policy_document("%7B%22Statement%22%3A%5B%5D%2C%22a%22%3A%22x+y%22%7D"),
            json!({"Statement": [], "a": "x+y"})
        );
        assert_eq!(policy_document(r#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(policy_document("%ZZ"), json!("%ZZ"));
        assert_eq!(policy_document("%E2%82"), Value::String("\u{fffd}".into()));
    }
}
