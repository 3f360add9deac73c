//! What orgsplit reads in a CloudFormation template: the IAM roles it declares by name, so
//! that their trust can be checked in every account the StackSet reaches.
//!
//! Templates are YAML with CloudFormation's short-form tags (`!Sub`, `!Ref`, `!GetAtt`…),
//! which a plain YAML reader rejects. serde_norway keeps a tagged node as a tagged value; it
//! is turned into the long form (`{"Fn::Sub": …}`, `{"Ref": …}`) here, so the rest of the
//! code sees one JSON shape whether the template was written in YAML, short or long form,
//! or in JSON.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A role the template creates with a fixed `RoleName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredRole {
    pub logical_id: String,
    pub role_name: String,
    /// The resource has a `Condition`: the role may legitimately not exist.
    pub conditional: bool,
}

/// Values for `${AWS::…}` pseudo parameters in the account and region a stack runs in.
#[derive(Debug, Clone)]
pub struct Pseudo {
    pub account_id: String,
    pub region: String,
}

impl Pseudo {
    pub fn partition(&self) -> &'static str {
        orgsplit_model::arn::partition_of_region(&self.region)
    }
}

/// Parses a template (YAML or JSON) into JSON, short-form tags in their long form.
pub fn parse(body: &str) -> Result<Value, String> {
    let yaml: serde_norway::Value =
        serde_norway::from_str(body).map_err(|e| format!("not valid YAML: {e}"))?;
    to_json(yaml)
}

fn to_json(v: serde_norway::Value) -> Result<Value, String> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => scalar_key(&other)?,
                };
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let name = t.tag.to_string();
            let name = name.trim_start_matches('!');
            let inner = to_json(t.value)?;
            let key = match name {
                "Ref" | "Condition" => name.to_string(),
                // `!GetAtt A.B` is the long form's ["A", "B"].
                "GetAtt" => {
                    let parts = match &inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((a, b)) => Value::Array(vec![a.into(), b.into()]),
                            None => inner.clone(),
                        },
                        _ => inner.clone(),
                    };
                    return Ok(single("Fn::GetAtt", parts));
                }
                other => format!("Fn::{other}"),
            };
            single(&key, inner)
        }
    })
}

fn scalar_key(k: &serde_norway::Value) -> Result<String, String> {
    match k {
        serde_norway::Value::Bool(b) => Ok(b.to_string()),
        serde_norway::Value::Number(n) => Ok(n.to_string()),
        _ => Err("a mapping key is not a scalar".into()),
    }
}

fn single(key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), value);
    Value::Object(m)
}

/// Every `AWS::IAM::Role` with a `RoleName`, the name resolved from `parameters` (falling
/// back to the template's defaults) and `pseudo`. A role without a `RoleName` gets a
/// generated name that orgsplit cannot look up: it is left out, with a warning.
pub fn declared_roles(
    body: &str,
    parameters: &BTreeMap<String, String>,
    pseudo: &Pseudo,
) -> Result<Vec<DeclaredRole>, String> {
    let template = parse(body)?;
    let values = parameter_values(&template, parameters, pseudo);
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut roles = Vec::new();
    for (logical_id, resource) in resources {
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::IAM::Role") {
            continue;
        }
        let Some(name) = resource.pointer("/Properties/RoleName") else {
            tracing::warn!(
                role = %logical_id,
                "the template's role has no RoleName: its trust cannot be checked by name"
            );
            continue;
        };
        let role_name =
            resolve(name, &values).map_err(|e| format!("resource {logical_id}: RoleName: {e}"))?;
        roles.push(DeclaredRole {
            logical_id: logical_id.clone(),
            role_name,
            conditional: resource.get("Condition").is_some(),
        });
    }
    Ok(roles)
}

/// Parameter and pseudo-parameter values by name.
fn parameter_values(
    template: &Value,
    given: &BTreeMap<String, String>,
    pseudo: &Pseudo,
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    if let Some(declared) = template.get("Parameters").and_then(Value::as_object) {
        for (name, decl) in declared {
            if let Some(d) = decl.get("Default") {
                let d = match d {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                values.insert(name.clone(), d);
            }
        }
    }
    values.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
    values.insert("AWS::AccountId".into(), pseudo.account_id.clone());
    values.insert("AWS::Region".into(), pseudo.region.clone());
    values.insert("AWS::Partition".into(), pseudo.partition().into());
    let suffix = if pseudo.partition() == "aws-cn" { "amazonaws.com.cn" } else { "amazonaws.com" };
    values.insert("AWS::URLSuffix".into(), suffix.into());
    values
}

/// A string property: a literal, `Ref` to a parameter, or `Fn::Sub` over parameters.
fn resolve(v: &Value, values: &BTreeMap<String, String>) -> Result<String, String> {
    if let Some(s) = v.as_str() {
        return Ok(s.to_string());
    }
    if let Some(name) = v.get("Ref").and_then(Value::as_str) {
        return values
            .get(name)
            .cloned()
            .ok_or_else(|| format!("Ref to {name}, which has no value"));
    }
    match v.get("Fn::Sub") {
        Some(Value::String(s)) => substitute(s, values),
        Some(Value::Array(parts)) => {
            let text = parts.first().and_then(Value::as_str).ok_or("Fn::Sub without a string")?;
            let mut local = values.clone();
            if let Some(vars) = parts.get(1).and_then(Value::as_object) {
                for (k, v) in vars {
                    local.insert(k.clone(), resolve(v, values)?);
                }
            }
            substitute(text, &local)
        }
        _ => Err("only a literal, Ref or Fn::Sub can be resolved here".into()),
    }
}

/// `${Name}` replaced by its value; `${!Literal}` is the text `${Literal}`.
fn substitute(text: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or("unclosed ${ in Fn::Sub")?;
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else {
            let value = values
                .get(name)
                .ok_or_else(|| format!("Fn::Sub refers to {name}, which has no value"))?;
            out.push_str(value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo() -> Pseudo {
        Pseudo { account_id: "210987654321".into(), region: "eu-west-1".into() }
    }

    #[test]
    fn short_form_tags_become_the_long_form() {
        let t = parse("A: !Sub 'x-${P}'\nB: !GetAtt R.Arn\nC: !Ref P\nD: [1, true]\n").unwrap();
        assert_eq!(t["A"], serde_json::json!({"Fn::Sub": "x-${P}"}));
        assert_eq!(t["B"], serde_json::json!({"Fn::GetAtt": ["R", "Arn"]}));
        assert_eq!(t["C"], serde_json::json!({"Ref": "P"}));
        assert_eq!(t["D"], serde_json::json!([1, true]));
    }

    #[test]
    fn the_shipped_baseline_declares_its_two_roles() {
        let body = crate::SHIPPED[0].template;
        let roles = declared_roles(body, &BTreeMap::new(), &pseudo()).unwrap();
        let names: Vec<_> = roles.iter().map(|r| r.role_name.as_str()).collect();
        assert_eq!(names, ["terraform-apply", "terraform-plan"]);
    }

    #[test]
    fn role_names_resolve_through_ref_sub_and_defaults() {
        let body = r#"
Parameters:
  Env: { Type: String, Default: dev }
Resources:
  A:
    Type: AWS::IAM::Role
    Properties: { RoleName: !Sub "app-${Env}-${AWS::Region}-${!Lit}" }
  B:
    Type: AWS::IAM::Role
    Condition: IsProd
    Properties:
      RoleName: { Ref: Env }
  C:
    Type: AWS::IAM::Role
    Properties: { RoleName: !Sub ["x-${V}", { V: !Ref AWS::AccountId }] }
  D:
    Type: AWS::IAM::Role
    Properties: {}
  Q:
    Type: AWS::SQS::Queue
"#;
        let given = BTreeMap::from([("Env".to_string(), "prod".to_string())]);
        let roles = declared_roles(body, &given, &pseudo()).unwrap();
        let got: Vec<_> = roles
            .iter()
            .map(|r| (r.logical_id.as_str(), r.role_name.as_str(), r.conditional))
            .collect();
        assert_eq!(
            got,
            [
                ("A", "app-prod-eu-west-1-${Lit}", false),
                ("B", "prod", true),
                ("C", "x-210987654321", false),
            ]
        );
    }

    #[test]
    fn an_unresolvable_role_name_is_an_error() {
        let body = "Resources:\n  A:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !Join ['-', [a, b]]\n";
        let err = declared_roles(body, &BTreeMap::new(), &pseudo()).unwrap_err();
        assert!(err.contains("resource A: RoleName"), "{err}");
        assert!(parse("a: [").unwrap_err().starts_with("not valid YAML"));
    }
}
