//! Canonical JSON: object keys sorted, no insignificant whitespace. Digests are taken over
//! this form so that a file re-indented by a reviewer's editor still verifies, while any
//! change of meaning does not.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Serialises `value` with every object's keys sorted, compactly.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// `sha256:<hex>` of the bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `sha256:<hex>` of the canonical JSON of any serialisable value.
pub fn digest_of<T: Serialize + ?Sized>(value: &T) -> String {
    let value = serde_json::to_value(value).expect("orgsplit's own types always serialise");
    sha256_hex(canonical_json(&value).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_whitespace_do_not_change_the_digest() {
        let a: Value =
            serde_json::from_str(r#"{"b": [1, {"y": 2, "x": "é"}], "a": null}"#).unwrap();
        let b = json!({"a": null, "b": [1, {"x": "é", "y": 2}]});
        assert_eq!(canonical_json(&a), r#"{"a":null,"b":[1,{"x":"é","y":2}]}"#);
        assert_eq!(digest_of(&a), digest_of(&b));
    }

    #[test]
    fn a_changed_value_changes_the_digest() {
        assert_ne!(digest_of(&json!({"a": 1})), digest_of(&json!({"a": 2})));
        assert_ne!(digest_of(&json!([1, 2])), digest_of(&json!([2, 1])));
    }
}
