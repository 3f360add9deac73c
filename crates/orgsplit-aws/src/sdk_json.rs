//! SDK structures to and from AWS's own JSON, through the SDK's schema-based codec: the
//! inventory records what AWS returned without listing fields by hand, and apply builds the
//! same structures back from the (rewritten) plan without listing them either.
//!
//! Member names are the wire names (camelCase for ECS and CodePipeline, PascalCase for
//! EventBridge and Scheduler); timestamps are RFC 3339; unset members are left out.

use aws_smithy_json::codec::{JsonCodec, JsonCodecSettings};
use aws_smithy_schema::codec::Codec;
use aws_smithy_schema::serde::{
    SerdeError, SerializableStruct, ShapeDeserializer, ShapeSerializer,
};
use aws_smithy_types::date_time::Format;
use serde_json::{Map, Value};

fn codec() -> JsonCodec {
    JsonCodec::new(
        JsonCodecSettings::builder()
            .use_json_name(false)
            .default_timestamp_format(Format::DateTime)
            .build(),
    )
}

/// An SDK structure as JSON; `Value::Null` (with a warning) if the codec fails.
pub fn to_json<T: SerializableStruct>(value: &T) -> Value {
    let codec = codec();
    let mut ser = codec.create_serializer();
    if let Err(e) = ser.write_struct(value.schema(), value) {
        tracing::warn!(error = %e, "cannot serialise an SDK structure to JSON");
        return Value::Null;
    }
    let bytes = ser.finish();
    serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the SDK's JSON codec wrote invalid JSON");
        Value::Null
    })
}

/// An SDK structure from JSON, with the type's own `deserialize`
/// (`ContainerDefinition::deserialize`, …).
pub fn from_json<T>(
    value: &Value,
    deserialize: fn(&mut dyn ShapeDeserializer) -> Result<T, SerdeError>,
) -> Result<T, String> {
    let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    let codec = codec();
    let mut de = codec.create_deserializer(&bytes);
    deserialize(&mut de).map_err(|e| e.to_string())
}

/// A list of SDK structures from a JSON array (a missing or null value is an empty list).
pub fn list_from_json<T>(
    value: Option<&Value>,
    deserialize: fn(&mut dyn ShapeDeserializer) -> Result<T, SerdeError>,
) -> Result<Vec<T>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|v| from_json(v, deserialize)).collect(),
        Some(other) => Err(format!("expected a list, found {other}")),
    }
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

/// A JSON string, or null (so [`object`] leaves it out).
pub fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// A JSON array, or null when empty (so [`object`] leaves it out).
pub fn non_empty(items: Vec<Value>) -> Value {
    if items.is_empty() { Value::Null } else { Value::Array(items) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{ContainerDefinition, KeyValuePair, PortMapping};

    #[test]
    fn a_container_definition_round_trips() {
        let original = ContainerDefinition::builder()
            .name("app")
            .image("111111111111.dkr.ecr.us-east-1.amazonaws.com/app:1")
            .cpu(256)
            .essential(true)
            .environment(KeyValuePair::builder().name("A").value("b").build())
            .port_mappings(PortMapping::builder().container_port(8080).build())
            .build();
        let json = to_json(&original);
        assert_eq!(json["name"], "app");
        assert_eq!(json["portMappings"][0]["containerPort"], 8080);
        let back = from_json(&json, ContainerDefinition::deserialize).unwrap();
        assert_eq!(back, original);
        let list =
            list_from_json(Some(&serde_json::json!([json])), ContainerDefinition::deserialize)
                .unwrap();
        assert_eq!(list, vec![original]);
        assert!(
            from_json(&serde_json::json!({"cpu": "x"}), ContainerDefinition::deserialize).is_err()
        );
    }
}
