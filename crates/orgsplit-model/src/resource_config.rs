//! A resource's configuration as AWS describes it, held as its compact JSON text until
//! something reads a member of it.
//!
//! A 100,000-resource inventory holds about 30 MB of configurations. As `serde_json::Value`
//! trees they took several hundred MiB and most of the planner's time (every map an
//! allocation, every key and string another), although the planner reads a member of few of
//! them and copies most of them unchanged into the plan. So the planner reads the text
//! (`Resource::config` is read with [`ResourceConfig::deserialize_text`]), copies it as text
//! into the plan when nothing in it changes, and writes it back verbatim. A reader that
//! derefs it gets the tree, parsed once on first use and kept; a reader of a member or two
//! ([`ResourceConfig::member`], as the planner) gets them from the text, and no tree is
//! kept. Plans are read into trees (their steps are read through `#[serde(flatten)]`, which
//! buffers the text and cannot hand it over as is).

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

/// JSON text or its tree; derefs to the tree (parsing the text on first use).
pub struct ResourceConfig {
    /// The compact JSON text, while it is what this configuration is: `None` once the tree
    /// was changed through `DerefMut` (the tree is then the configuration).
    text: Option<Box<RawValue>>,
    /// Boxed: most configurations are never parsed, and an empty cell is then one word.
    tree: OnceLock<Box<Value>>,
}

impl ResourceConfig {
    /// The configuration held as compact JSON text (the tree dropped).
    pub fn text_of(value: &Value) -> Self {
        let text = serde_json::value::to_raw_value(value).expect("a JSON tree serialises");
        ResourceConfig { text: Some(text), tree: OnceLock::new() }
    }

    /// This configuration held as text only: for a copy that is kept but no longer read.
    pub fn into_text(self) -> Self {
        match self.text {
            Some(text) => ResourceConfig { text: Some(text), tree: OnceLock::new() },
            None => {
                Self::text_of(self.tree.get().expect("a configuration without text has a tree"))
            }
        }
    }

    /// A configuration held as `text`, compact JSON (checked to be JSON; whitespace outside
    /// strings is the caller's to leave out): for a copy rewritten as text.
    pub fn from_compact_text(text: String) -> Result<Self, serde_json::Error> {
        Ok(ResourceConfig { text: Some(RawValue::from_string(text)?), tree: OnceLock::new() })
    }

    /// The compact JSON text, when the configuration is held as text.
    pub fn as_text(&self) -> Option<&str> {
        self.text.as_deref().map(RawValue::get)
    }

    /// The top-level member `key` (`None` when absent, or when the configuration is not an
    /// object), read from the text without building the whole tree, and without keeping
    /// one: derefing keeps the tree, and the planner, which reads a member or two of many of
    /// 100,000 configurations, kept 47 MB of trees that way (heaptrack of a 100k plan).
    pub fn member(&self, key: &str) -> Option<Value> {
        match (self.tree.get(), &self.text) {
            (Some(tree), _) => tree.get(key).cloned(),
            (None, Some(text)) => {
                let mut de = serde_json::Deserializer::from_str(text.get());
                de.deserialize_map(MemberVisitor { key }).ok().flatten()
            }
            (None, None) => unreachable!("a configuration is text or a tree"),
        }
    }

    /// Whether a tree is held (parsed by a deref, or the configuration itself).
    pub fn has_tree(&self) -> bool {
        self.tree.get().is_some()
    }

    /// A new tree of this configuration, leaving this one as it is (no tree kept here): for a
    /// copy that is changed, then held as text again.
    pub fn to_tree(&self) -> Value {
        match (self.tree.get(), &self.text) {
            (Some(tree), _) => Value::clone(tree),
            (None, Some(text)) => parse(text),
            (None, None) => unreachable!("a configuration is text or a tree"),
        }
    }

    /// Reads a configuration as its JSON text, whitespace outside strings left out, without
    /// building its tree (`#[serde(deserialize_with = "ResourceConfig::deserialize_text")]`).
    /// Only for a member read straight by `serde_json` (not through `flatten` or a tagged
    /// enum, which buffer the text).
    pub fn deserialize_text<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        let text = match compact(raw.get()) {
            Some(compacted) => {
                RawValue::from_string(compacted).map_err(serde::de::Error::custom)?
            }
            None => raw,
        };
        Ok(ResourceConfig { text: Some(text), tree: OnceLock::new() })
    }
}

fn parse(text: &RawValue) -> Value {
    serde_json::from_str(text.get()).expect("the text of a configuration is JSON")
}

/// `text` (valid JSON) without the whitespace outside its strings, or `None` when it has none.
/// A string is skipped to its closing quote in one search, not byte by byte: a 100,000-resource
/// inventory holds about 30 MB of configurations.
fn compact(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    // Started at the first whitespace outside a string: most texts have none.
    let mut out: Option<Vec<u8>> = None;
    let mut kept_from = 0;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                at += 1;
                let quote_or_escape = |b: &u8| *b == b'"' || *b == b'\\';
                while let Some(found) =
                    bytes.get(at..).and_then(|r| r.iter().position(quote_or_escape))
                {
                    at += found;
                    if bytes[at] == b'"' {
                        break;
                    }
                    at += 2; // an escape: the backslash and the character it escapes
                }
                at += 1;
            }
            b' ' | b'\n' | b'\r' | b'\t' => {
                out.get_or_insert_with(|| Vec::with_capacity(bytes.len()))
                    .extend_from_slice(&bytes[kept_from..at]);
                while at < bytes.len() && matches!(bytes[at], b' ' | b'\n' | b'\r' | b'\t') {
                    at += 1;
                }
                kept_from = at;
            }
            _ => at += 1,
        }
    }
    out.map(|mut out| {
        out.extend_from_slice(&bytes[kept_from.min(bytes.len())..]);
        String::from_utf8(out).expect("only ASCII whitespace was left out")
    })
}

impl From<Value> for ResourceConfig {
    /// The configuration held as a tree (as read from AWS, or from a plan).
    fn from(tree: Value) -> Self {
        ResourceConfig { text: None, tree: OnceLock::from(Box::new(tree)) }
    }
}

impl Default for ResourceConfig {
    fn default() -> Self {
        Value::Null.into()
    }
}

impl Deref for ResourceConfig {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.tree.get_or_init(|| {
            Box::new(parse(self.text.as_ref().expect("a configuration without a tree has text")))
        })
    }
}

impl DerefMut for ResourceConfig {
    fn deref_mut(&mut self) -> &mut Value {
        let _ = Deref::deref(&*self);
        // The tree may change: it is the configuration from now on.
        self.text = None;
        self.tree.get_mut().expect("parsed above").as_mut()
    }
}

/// Finds one member of an object, skipping the others' values without building them; the
/// last of duplicate members wins, as in a tree.
struct MemberVisitor<'k> {
    key: &'k str,
}

impl<'de> serde::de::Visitor<'de> for MemberVisitor<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(is_key) = map.next_key_seed(IsKey(self.key))? {
            if is_key {
                found = Some(map.next_value::<Value>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Whether a member's name is the one looked for (compared as read, escapes resolved).
struct IsKey<'k>(&'k str);

impl<'de> serde::de::DeserializeSeed<'de> for IsKey<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for IsKey<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<bool, E> {
        Ok(name == self.0)
    }
}

impl Clone for ResourceConfig {
    /// Text is cloned as text (a tree parsed from it is not copied).
    fn clone(&self) -> Self {
        match &self.text {
            Some(text) => ResourceConfig { text: Some(text.clone()), tree: OnceLock::new() },
            None => ResourceConfig { text: None, tree: self.tree.clone() },
        }
    }
}

impl PartialEq for ResourceConfig {
    fn eq(&self, other: &Self) -> bool {
        match (self.as_text(), other.as_text()) {
            (Some(a), Some(b)) if a == b => true,
            _ => **self == **other,
        }
    }
}

impl PartialEq<Value> for ResourceConfig {
    fn eq(&self, other: &Value) -> bool {
        **self == *other
    }
}

impl std::fmt::Debug for ResourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.text, self.tree.get()) {
            (Some(text), _) => write!(f, "{}", text.get()),
            (None, Some(tree)) => write!(f, "{tree}"),
            (None, None) => Ok(()),
        }
    }
}

impl std::fmt::Display for ResourceConfig {
    /// The compact JSON text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl Serialize for ResourceConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.text {
            // serde_json writes the text as it is; any other serializer (a tree, the
            // canonical digest) gets it parsed.
            Some(text) => text.serialize(s),
            None => self.deref().serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ResourceConfig {
    /// Read as a tree: see [`ResourceConfig::deserialize_text`] for reading the text.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Self::from)
    }
}

impl JsonSchema for ResourceConfig {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        Value::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        Value::json_schema(generator)
    }

    fn inline_schema() -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize, Serialize)]
    struct Holder {
        #[serde(deserialize_with = "ResourceConfig::deserialize_text")]
        config: ResourceConfig,
    }

    #[test]
    fn text_is_read_compacted_and_written_back_as_it_is() {
        let file = "{\"config\": {\n  \"a\": [1, 2.5, \"x y\\\" z\"],\n  \"b\": {\"c\": null}\n}}";
        let h: Holder = serde_json::from_str(file).unwrap();
        assert_eq!(h.config.as_text(), Some(r#"{"a":[1,2.5,"x y\" z"],"b":{"c":null}}"#));
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"config":{"a":[1,2.5,"x y\" z"],"b":{"c":null}}}"#
        );
        assert_eq!(h.config["a"][2], "x y\" z", "a member read parses the text");
        assert_eq!(
            serde_json::to_value(&h.config).unwrap(),
            json!({"a": [1, 2.5, "x y\" z"], "b": {"c": null}})
        );
    }

    #[test]
    fn a_changed_tree_is_the_configuration_and_a_copy_of_text_stays_text() {
        let h: Holder = serde_json::from_str(r#"{"config": {"a": 1}}"#).unwrap();
        let copy = h.config.clone();
        let mut changed = h.config;
        changed["a"] = json!(2);
        assert_eq!(changed.as_text(), None);
        assert_eq!(serde_json::to_string(&changed).unwrap(), r#"{"a":2}"#);
        assert_eq!(copy.as_text(), Some(r#"{"a":1}"#));
        assert_eq!(changed.into_text().as_text(), Some(r#"{"a":2}"#));
        assert_eq!(copy, ResourceConfig::from(json!({"a": 1})));
        assert_ne!(copy, ResourceConfig::from(json!({"a": 2})));
    }

    #[test]
    fn a_member_is_read_from_the_text_without_keeping_a_tree() {
        let h: Holder = serde_json::from_str(
            r#"{"config": {"a": [1, {"b": "}"}], "c\u0064": 2, "c": 3, "c": 4}}"#,
        )
        .unwrap();
        assert_eq!(h.config.member("a"), Some(json!([1, {"b": "}"}])));
        assert_eq!(h.config.member("cd"), Some(json!(2)), "a name is compared unescaped");
        assert_eq!(h.config.member("c"), Some(json!(4)), "the last duplicate wins, as in a tree");
        assert_eq!(h.config.member("b"), None, "only top-level members");
        assert!(!h.config.has_tree(), "no tree was built and kept");
        assert_eq!(h.config["c"], 4);
        assert_eq!(h.config.member("c"), Some(json!(4)), "from the tree once there is one");
        let list: Holder = serde_json::from_str(r#"{"config": [1]}"#).unwrap();
        assert_eq!(list.config.member("a"), None);
    }

    #[test]
    fn compact_keeps_whitespace_inside_strings_and_after_escapes() {
        assert_eq!(compact(r#"{"a":"b"}"#), None);
        assert_eq!(
            compact("{ \"a\\\\\" : \" b \\\" c \" }").as_deref(),
            Some("{\"a\\\\\":\" b \\\" c \"}")
        );
        assert_eq!(compact("[ 1 ,\n\t2 ]").as_deref(), Some("[1,2]"));
    }
}
