//! Finding GitHub OAuth tokens in Terraform state, streamed.
//!
//! A state can be hundreds of megabytes, so it is never read whole: [`scan`] walks the JSON
//! as it is read, remembering only where it is (the path of keys and indexes) and which
//! resource it is inside, and classifies each `OAuthToken` value as soon as it is seen. The
//! value itself is dropped there: a [`TokenRef`] says where a token is and in which form,
//! never what it is.
//!
//! Both state layouts are understood: version 4 (Terraform 0.12 and later: `resources[]`
//! with `instances[].attributes`, the configuration a nested map) and version 3 (Terraform
//! 0.11: `modules[].resources{ADDRESS}.primary.attributes`, flattened keys such as
//! `stage.0.action.0.configuration.OAuthToken`). AWS providers before v3.24.0 wrote the
//! token as `hash-` + hex(sha256(token)); later ones write it as given; a state refreshed
//! from the API holds the mask `****`.

use serde::Serialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Read;

/// How a token is written where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenForm {
    /// The token itself.
    Raw,
    /// `hash-` + hex(sha256(token)) (AWS providers before v3.24.0).
    Hashed,
    /// `****`: the API's mask, no token at all.
    Masked,
    /// An empty string or a non-string value: no token.
    Empty,
}

impl fmt::Display for TokenForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenForm::Raw => "raw",
            TokenForm::Hashed => "hashed",
            TokenForm::Masked => "masked",
            TokenForm::Empty => "empty",
        })
    }
}

/// One `OAuthToken` in a state: where, in which form, and (when a token was given to
/// compare with) whether it is that token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRef {
    /// The Terraform address of the resource holding it (`module.ci.aws_codepipeline.api`,
    /// with `[KEY]` for counted instances), when the state names one.
    pub resource: Option<String>,
    /// The JSON path to the value (`resources[3].instances[0].attributes.stage[0]...`).
    pub path: String,
    pub form: TokenForm,
    /// `Some(true)` when the value is the given token or its `hash-` form.
    pub matches_token: Option<bool>,
}

/// What a state yields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StateScan {
    pub references: Vec<TokenRef>,
    /// The state's `version` (3 or 4 for the layouts above), when it has one.
    pub state_version: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TfstateError {
    #[error("not a Terraform state: {0}")]
    NotState(String),
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
}

/// The token to compare with: the value and its `hash-` form, both kept only in memory.
pub struct TokenMatcher {
    raw: orgsplit_model::Secret,
    hashed: orgsplit_model::Secret,
}

impl TokenMatcher {
    pub fn new(token: &orgsplit_model::Secret) -> Self {
        TokenMatcher {
            raw: token.clone(),
            hashed: orgsplit_model::Secret::new(hashed_form(token.expose())),
        }
    }

    fn matches(&self, value: &str) -> bool {
        value == self.raw.expose() || value == self.hashed.expose()
    }
}

impl fmt::Debug for TokenMatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenMatcher(<redacted>)")
    }
}

/// What AWS providers before v3.24.0 stored in place of the token.
pub fn hashed_form(token: &str) -> String {
    format!("hash-{}", hex::encode(Sha256::digest(token.as_bytes())))
}

/// The form of a value found under a token key.
pub fn classify(value: &str) -> TokenForm {
    if value.is_empty() {
        TokenForm::Empty
    } else if value.bytes().all(|b| b == b'*') {
        TokenForm::Masked
    } else if value
        .strip_prefix("hash-")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        TokenForm::Hashed
    } else {
        TokenForm::Raw
    }
}

/// Whether a key names a token: `OAuthToken` itself (v4, and the pipeline API) or a
/// flattened v3 attribute ending in `.OAuthToken`.
pub fn is_token_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    crate::convert::TOKEN_KEYS.iter().any(|t| t.eq_ignore_ascii_case(last))
}

/// Scans one state as it is read. The reader is read to its end (a state is one JSON
/// document); anything that is not a JSON object with a `version`, or JSON at all, is an
/// error.
pub fn scan<R: Read>(reader: R, token: Option<&TokenMatcher>) -> Result<StateScan, TfstateError> {
    let reader = std::io::BufReader::with_capacity(256 * 1024, reader);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut walk = Walk {
        path: Vec::new(),
        token,
        out: StateScan::default(),
        index_of: Vec::new(),
        top_keys: 0,
    };
    Node { walk: &mut walk, resource: None, capture: false }
        .deserialize(&mut de)
        .map_err(json_error)?;
    de.end().map_err(json_error)?;
    if walk.top_keys == 0 || walk.out.state_version.is_none() {
        return Err(TfstateError::NotState(
            "no top-level \"version\": expected a Terraform state (JSON object with version, resources)"
                .into(),
        ));
    }
    Ok(walk.out)
}

fn json_error(e: serde_json::Error) -> TfstateError {
    if e.is_io() {
        TfstateError::Io(std::io::Error::other(e.to_string()))
    } else {
        TfstateError::NotState(e.to_string())
    }
}

#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

struct Walk<'t> {
    path: Vec<Segment>,
    token: Option<&'t TokenMatcher>,
    out: StateScan,
    /// Per reference, the `[KEY]` of the v4 instance it is in, until its resource closes.
    index_of: Vec<Option<String>>,
    top_keys: usize,
}

impl Walk<'_> {
    fn path_text(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                Segment::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                Segment::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }

    fn depth(&self) -> usize {
        self.path.len()
    }

    fn key_at(&self, i: usize) -> Option<&str> {
        match self.path.get(i) {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    fn record(&mut self, resource: Option<&str>, value: TokenValue) {
        let (form, matches) = match &value {
            TokenValue::Text(v) => {
                let form = classify(v);
                let matches = self
                    .token
                    .map(|t| matches!(form, TokenForm::Raw | TokenForm::Hashed) && t.matches(v));
                (form, matches)
            }
            TokenValue::Absent => return,
            TokenValue::Other => (TokenForm::Empty, self.token.map(|_| false)),
        };
        self.index_of.push(None);
        self.out.references.push(TokenRef {
            resource: resource.map(str::to_string),
            path: self.path_text(),
            form,
            matches_token: matches,
        });
    }
}

/// A token key's value: a string is classified then dropped; `null` is no reference.
enum TokenValue {
    Text(String),
    Absent,
    Other,
}

/// Short strings handed back to the enclosing object, for resource addresses.
enum Captured {
    Nothing,
    Text(String),
    Number(u64),
}

const MAX_CAPTURE: usize = 512;

/// One JSON value anywhere in the state.
struct Node<'w, 't> {
    walk: &'w mut Walk<'t>,
    /// The address of the resource this value is inside, if known.
    resource: Option<String>,
    /// Hand short strings and numbers back (resource `type`, `name`, `module`, `index_key`,
    /// the top-level `version`).
    capture: bool,
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_> {
    type Value = Captured;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Captured, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_> {
    type Value = Captured;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Captured, E> {
        Ok(if self.capture && v.len() <= MAX_CAPTURE {
            Captured::Text(v.to_string())
        } else {
            Captured::Nothing
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Captured, E> {
        Ok(if self.capture { Captured::Number(v) } else { Captured::Nothing })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Captured, E> {
        Ok(match u64::try_from(v) {
            Ok(u) if self.capture => Captured::Number(u),
            _ => Captured::Nothing,
        })
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Captured, E> {
        Ok(Captured::Nothing)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Captured, E> {
        Ok(Captured::Nothing)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Captured, E> {
        Ok(Captured::Nothing)
    }

    fn visit_none<E: de::Error>(self) -> Result<Captured, E> {
        Ok(Captured::Nothing)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Captured, A::Error> {
        let walk = self.walk;
        let mut i = 0;
        loop {
            walk.path.push(Segment::Index(i));
            let got = seq.next_element_seed(Node {
                walk: &mut *walk,
                resource: self.resource.clone(),
                capture: false,
            })?;
            walk.path.pop();
            if got.is_none() {
                break;
            }
            i += 1;
        }
        Ok(Captured::Nothing)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Captured, A::Error> {
        let walk = self.walk;
        let depth = walk.depth();
        let is_top = depth == 0;
        // v4: an element of `resources[]`, or of a resource's `instances[]`.
        let is_v4_resource = depth == 2 && walk.key_at(0) == Some("resources");
        let is_v4_instance =
            depth == 4 && is_v4_resource_path(walk) && walk.key_at(2) == Some("instances");
        // v3: an element of `modules[]`, and a module's `resources` map, keyed by address.
        let is_v3_module = depth == 2 && walk.key_at(0) == Some("modules");
        let is_v3_resources = depth >= 3
            && walk.key_at(0) == Some("modules")
            && walk.key_at(depth - 1) == Some("resources");
        // References found inside this object: their addresses are completed when it closes,
        // whatever order its members came in (a key-sorted state has `instances` before
        // `name`, `attributes` before `index_key`, `path` before `resources`).
        let first = walk.out.references.len();
        let mut parts = AddressParts::default();
        let mut index: Option<String> = None;
        let mut module_path: Option<Vec<String>> = None;
        while let Some(key) = map.next_key::<String>()? {
            if is_top {
                walk.top_keys += 1;
            }
            let token_key = is_token_key(&key);
            let capture = (is_top && key == "version")
                || (is_v4_resource && matches!(key.as_str(), "module" | "mode" | "type" | "name"))
                || (is_v4_instance && key == "index_key");
            let child_resource =
                if is_v3_resources { Some(key.clone()) } else { self.resource.clone() };
            walk.path.push(Segment::Key(key.clone()));
            if token_key {
                let value = map.next_value_seed(TokenSeed)?;
                walk.record(child_resource.as_deref(), value);
            } else if is_v3_module && key == "path" {
                module_path = map.next_value::<Option<Vec<String>>>()?;
            } else {
                let got = map.next_value_seed(Node {
                    walk: &mut *walk,
                    resource: child_resource,
                    capture,
                })?;
                match (key.as_str(), got) {
                    ("version", Captured::Number(n)) if is_top => walk.out.state_version = Some(n),
                    ("module", Captured::Text(t)) => parts.module = Some(t),
                    ("mode", Captured::Text(t)) => parts.mode = Some(t),
                    ("type", Captured::Text(t)) => parts.kind = Some(t),
                    ("name", Captured::Text(t)) => parts.name = Some(t),
                    ("index_key", Captured::Text(t)) if is_v4_instance => {
                        index = Some(format!("[\"{t}\"]"));
                    }
                    ("index_key", Captured::Number(n)) if is_v4_instance => {
                        index = Some(format!("[{n}]"));
                    }
                    _ => {}
                }
            }
            walk.path.pop();
        }
        let found = first..walk.out.references.len();
        if is_v4_instance && let Some(index) = index {
            for i in found.clone() {
                walk.index_of[i] = Some(index.clone());
            }
        }
        if is_v4_resource {
            let address = parts.address();
            for i in found.clone() {
                let index = walk.index_of[i].take().unwrap_or_default();
                walk.out.references[i].resource = address.as_ref().map(|a| format!("{a}{index}"));
            }
        }
        if is_v3_module {
            // `["root", "ci", "net"]` is `module.ci.module.net.`.
            let prefix: String = module_path
                .unwrap_or_default()
                .iter()
                .skip(1)
                .map(|m| format!("module.{m}."))
                .collect();
            if !prefix.is_empty() {
                for i in found {
                    if let Some(r) = walk.out.references[i].resource.as_mut() {
                        r.insert_str(0, &prefix);
                    }
                }
            }
        }
        Ok(Captured::Nothing)
    }
}

fn is_v4_resource_path(walk: &Walk) -> bool {
    walk.key_at(0) == Some("resources") && matches!(walk.path.get(1), Some(Segment::Index(_)))
}

/// The members of a v4 resource that make its address.
#[derive(Default)]
struct AddressParts {
    module: Option<String>,
    mode: Option<String>,
    kind: Option<String>,
    name: Option<String>,
}

impl AddressParts {
    fn address(&self) -> Option<String> {
        let (kind, name) = (self.kind.as_ref()?, self.name.as_ref()?);
        let mut a = String::new();
        if let Some(m) = self.module.as_ref().filter(|m| !m.is_empty()) {
            a.push_str(m);
            a.push('.');
        }
        if self.mode.as_deref() == Some("data") {
            a.push_str("data.");
        }
        a.push_str(kind);
        a.push('.');
        a.push_str(name);
        Some(a)
    }
}

/// A token key's value. Anything but a string or null is walked past.
struct TokenSeed;

impl<'de> DeserializeSeed<'de> for TokenSeed {
    type Value = TokenValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TokenValue, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TokenSeed {
    type Value = TokenValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a token")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<TokenValue, E> {
        Ok(TokenValue::Text(v.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<TokenValue, E> {
        Ok(TokenValue::Absent)
    }

    fn visit_none<E: de::Error>(self) -> Result<TokenValue, E> {
        Ok(TokenValue::Absent)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<TokenValue, E> {
        Ok(TokenValue::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<TokenValue, E> {
        Ok(TokenValue::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<TokenValue, E> {
        Ok(TokenValue::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<TokenValue, E> {
        Ok(TokenValue::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TokenValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(TokenValue::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TokenValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(TokenValue::Other)
    }
}

#[cfg(test)]
mod tests;
