//! Canonical JSON: object keys sorted, no insignificant whitespace. Digests are taken over
//! this form so that a file re-indented by a reviewer's editor still verifies, while any
//! change of meaning does not.
//!
//! The form is written straight into the hasher (or a string), never built whole: a plan of
//! 100,000 steps would otherwise hold a second copy of itself just to be digested.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Write;

/// Serialises `value` with every object's keys sorted, compactly.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// Writes the canonical form of `value` to `out`.
pub fn write_canonical<W: Write>(value: &Value, out: &mut W) -> std::io::Result<()> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.write_all(b"{")?;
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_canonical(item, out)?;
            }
            out.write_all(b"}")
        }
        Value::Array(items) => {
            out.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_canonical(item, out)?;
            }
            out.write_all(b"]")
        }
        scalar => Ok(serde_json::to_writer(&mut *out, scalar)?),
    }
}

/// One field of [`CanonicalHasher::object`]: its key, and what writes its value.
pub type Field<'a> = (&'static str, Box<dyn FnOnce(&mut CanonicalHasher) + 'a>);

/// A field whose value is written whole.
pub fn field<'a, T: Serialize + ?Sized>(key: &'static str, value: &'a T) -> Field<'a> {
    (key, Box::new(move |h: &mut CanonicalHasher| h.value(value)))
}

/// A SHA-256 that canonical JSON is written into.
#[derive(Default)]
pub struct CanonicalHasher(Sha256);

impl CanonicalHasher {
    /// Adds the canonical form of any serialisable value.
    pub fn value<T: Serialize + ?Sized>(&mut self, value: &T) {
        let value = serde_json::to_value(value).expect("orgsplit's own types always serialise");
        write_canonical(&value, self).expect("hashing cannot fail");
    }

    /// Adds an object written field by field: for the few large types whose whole JSON tree
    /// would cost as much memory as the type itself. The fields are sorted here; each writes
    /// its own value. Whoever lists the fields must list each one `serde` writes (a test per
    /// type compares with [`digest_of`]).
    pub fn object(&mut self, mut fields: Vec<Field<'_>>) {
        fields.sort_by_key(|f| f.0);
        self.0.update(b"{");
        for (i, (key, write)) in fields.into_iter().enumerate() {
            if i > 0 {
                self.0.update(b",");
            }
            serde_json::to_writer(&mut *self, key).expect("hashing cannot fail");
            self.0.update(b":");
            write(self);
        }
        self.0.update(b"}");
    }

    /// Adds an array, one element's tree at a time.
    pub fn array<T>(&mut self, items: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.0.update(b"[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.0.update(b",");
            }
            each(self, item);
        }
        self.0.update(b"]");
    }

    /// `sha256:<hex>` of everything added.
    pub fn finish(self) -> String {
        format!("sha256:{}", hex::encode(self.0.finalize()))
    }
}

impl Write for CanonicalHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The top-level `format_version` of a JSON document, read without building the rest: a
/// file of another format is named as such before its shape is checked. `Ok(None)` when the
/// object has no such member; a member that is present is returned whatever its type (`null`
/// included), so that a reader can name it as an unknown version.
pub fn format_version_of(text: &str) -> Result<Option<Value>, String> {
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        <Value as serde::Deserialize>::deserialize(d).map(Some)
    }
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "present")]
        format_version: Option<Value>,
    }
    // serde accepts a JSON array for a struct too: only an object is a document of ours.
    if !text.trim_start().starts_with('{') {
        return Err("the top level is not a JSON object".into());
    }
    let probe: Probe = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(probe.format_version)
}

/// `sha256:<hex>` of the bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `sha256:<hex>` of the canonical JSON of any serialisable value.
pub fn digest_of<T: Serialize + ?Sized>(value: &T) -> String {
    let mut hasher = CanonicalHasher::default();
    hasher.value(value);
    hasher.finish()
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

    #[test]
    fn the_version_probe_reads_only_an_object_and_keeps_a_null_version() {
        assert_eq!(format_version_of(r#" {"a": [1], "format_version": 3}"#), Ok(Some(json!(3))));
        assert_eq!(format_version_of(r#"{"format_version": null}"#), Ok(Some(Value::Null)));
        assert_eq!(format_version_of(r#"{"a": 1}"#), Ok(None));
        for not_object in ["[]", "[3]", "3", "\"x\"", ""] {
            assert_eq!(
                format_version_of(not_object),
                Err("the top level is not a JSON object".to_string()),
                "{not_object:?}"
            );
        }
        assert!(format_version_of("{").is_err());
    }

    #[test]
    fn the_streamed_digest_is_the_digest_of_the_canonical_text() {
        let v = json!({"z": "line\nbreak \u{1} \"q\"", "a": [1.5, -2, true, null, {"k": {}}]});
        assert_eq!(digest_of(&v), sha256_hex(canonical_json(&v).as_bytes()));
    }
}
