//! `ssm-parameter`: a parameter copied with its value, read from the source account at
//! apply time. A SecureString is re-encrypted with the target account's default key: the
//! source's customer managed key does not exist in the target.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{
    ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging, Tag,
};
use orgsplit_aws::call_error;
use orgsplit_model::Secret;
use serde_json::Value;
use std::collections::BTreeMap;

use super::support::{missing_tags, redact, verified};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_aws::Found;
use orgsplit_aws::policy::parameter_policies;
use orgsplit_model::step::ResourceCopy;

type At<'a> = super::support::At<'a, Client>;

/// AWS's data type when none is given.
const DEFAULT_DATA_TYPE: &str = "text";

/// What the plan wants, apart from the value (read live) and the tags.
#[derive(Debug)]
struct Desired {
    kind: String,
    data_type: String,
    description: String,
    tier: String,
    allowed_pattern: String,
    /// Expiration and notification policies (a JSON array), when the source has any.
    policies: Option<Value>,
    /// The ARN of the customer-managed key a SecureString is encrypted under (the copied
    /// key); `None`: the account's AWS-managed `alias/aws/ssm`.
    key_id: Option<String>,
}

/// The target's parameter as AWS returns it.
#[derive(Debug)]
struct Live {
    value: Secret,
    kind: String,
    data_type: String,
    description: String,
    tier: String,
    allowed_pattern: String,
    policies: Value,
    key_id: String,
}

/// Where calls go, for error messages.
pub async fn run(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    let name = copy.name.as_str();
    let desired = desired(&copy.config)?;
    let tags = copy.tags.clone();
    let region = cx.region();
    let value = source_value(cx, name).await?;

    let session = cx.session().await?;
    let client = session.ssm(region);
    let at = At { service: "ssm", client: &client, account: &session.account_id, region, name };
    let live = read(&at).await?;
    let mut changed = false;
    let differs = match &live {
        None => vec!["existence"],
        Some(live) => differences(&desired, &value, live),
    };
    if !differs.is_empty() {
        tracing::debug!(parameter = name, fields = ?differs, "parameter differs: writing it");
        put(&at, &desired, &value, live.as_ref()).await?;
        changed = true;
    }
    changed |= ensure_tags(&at, &tags).await?;
    if changed {
        verify(&at, &desired, &value, &tags).await?;
    }
    Ok(Outcome::changed(changed))
}

fn desired(cfg: &Value) -> Result<Desired, StepError> {
    let field = |k: &str| cfg.get(k).and_then(Value::as_str).unwrap_or_default();
    let kind = field("Type");
    if !ParameterType::values().contains(&kind) {
        return Err(StepError::Input {
            field: "config.Type".into(),
            message: format!("{kind:?} is not a parameter type"),
        });
    }
    Ok(Desired {
        kind: kind.to_string(),
        data_type: non_empty_or(field("DataType"), DEFAULT_DATA_TYPE),
        description: field("Description").to_string(),
        tier: non_empty_or(field("Tier"), ParameterTier::Standard.as_str()),
        allowed_pattern: field("AllowedPattern").to_string(),
        policies: cfg.get("Policies").filter(|p| p.is_array()).cloned(),
        key_id: cfg
            .get("KeyId")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty() && kind == ParameterType::SecureString.as_str())
            .map(str::to_string),
    })
}

fn non_empty_or(s: &str, default: &str) -> String {
    if s.is_empty() { default } else { s }.to_string()
}

/// The value in the source account, decrypted.
async fn source_value(cx: &StepContext, name: &str) -> Result<Secret, StepError> {
    let source = cx.source().await?;
    let region = cx.region();
    let out = source
        .ssm(region)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| call_error("ssm", "GetParameter", &source.account_id, region, e))?;
    out.parameter().and_then(|p| p.value()).map(Secret::new).ok_or_else(|| {
        StepError::Failed(format!("ssm parameter {name}: the source account returned no value"))
    })
}

/// The target's parameter, or `None` when it does not exist. GetParameter has the value
/// and type; only DescribeParameters has the description, tier and allowed pattern.
async fn read(at: &At<'_>) -> Result<Option<Live>, StepError> {
    let request = at.client.get_parameter().name(at.name).with_decryption(true);
    let got = request.send().await.map_err(at.error_of("GetParameter"));
    let Some(got) = got.found()? else {
        return Ok(None);
    };
    let Some(p) = got.parameter() else {
        return Ok(None);
    };
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(at.name)
        .build()
        .map_err(|e| StepError::Failed(format!("ssm parameter {}: {e}", at.name)))?;
    let described = at
        .client
        .describe_parameters()
        .parameter_filters(filter)
        .send()
        .await
        .map_err(|e| call_error("ssm", "DescribeParameters", at.account, at.region, e))?;
    let meta = described.parameters().iter().find(|m| m.name() == Some(at.name));
    Ok(Some(Live {
        value: Secret::new(p.value().unwrap_or_default()),
        kind: p.r#type().map(|t| t.as_str()).unwrap_or_default().into(),
        data_type: non_empty_or(p.data_type().unwrap_or_default(), DEFAULT_DATA_TYPE),
        description: meta.and_then(|m| m.description()).unwrap_or_default().into(),
        tier: non_empty_or(
            meta.and_then(|m| m.tier()).map_or("", |t| t.as_str()),
            ParameterTier::Standard.as_str(),
        ),
        allowed_pattern: meta.and_then(|m| m.allowed_pattern()).unwrap_or_default().into(),
        policies: meta.map_or(Value::Null, |m| parameter_policies(m.policies())),
        key_id: meta.and_then(|m| m.key_id()).unwrap_or_default().into(),
    }))
}

/// The names of the fields that differ (never their values).
fn differences(desired: &Desired, value: &Secret, live: &Live) -> Vec<&'static str> {
    let mut out = Vec::new();
    if live.value.expose() != value.expose() {
        out.push("value");
    }
    if live.kind != desired.kind {
        out.push("type");
    }
    if live.data_type != desired.data_type {
        out.push("data type");
    }
    if live.description != desired.description {
        out.push("description");
    }
    if tier(desired, Some(live)) != live.tier {
        out.push("tier");
    }
    if live.allowed_pattern != desired.allowed_pattern {
        out.push("allowed pattern");
    }
    if desired.policies.as_ref().is_some_and(|p| p != &live.policies) {
        out.push("policies");
    }
    if desired.key_id.as_deref().is_some_and(|k| !same_key(k, &live.key_id)) {
        out.push("key");
    }
    out
}

/// Whether the key a parameter reports (`KeyId`: the id, ARN or alias it was written with)
/// is the key ARN `wanted`.
fn same_key(wanted: &str, live: &str) -> bool {
    !live.is_empty()
        && (wanted == live || wanted.rsplit_once("key/").is_some_and(|(_, id)| id == live))
}

/// The tier to write: AWS never turns an advanced parameter back into a standard one, so
/// an advanced target stays advanced.
fn tier(desired: &Desired, live: Option<&Live>) -> String {
    match live {
        Some(l) if l.tier == ParameterTier::Advanced.as_str() => l.tier.clone(),
        _ => desired.tier.clone(),
    }
}

/// PutParameter, with the copied key's ARN as KeyId when the source used a customer-managed
/// key (else none: the target's `alias/aws/ssm`), and without tags (AWS refuses Tags
/// together with Overwrite).
async fn put(
    at: &At<'_>,
    desired: &Desired,
    value: &Secret,
    live: Option<&Live>,
) -> Result<(), StepError> {
    let mut req = at
        .client
        .put_parameter()
        .name(at.name)
        .value(value.expose())
        .r#type(ParameterType::from(desired.kind.as_str()))
        .data_type(&desired.data_type)
        .tier(ParameterTier::from(tier(desired, live).as_str()))
        .overwrite(live.is_some())
        .set_key_id(desired.key_id.clone());
    // Sent empty only to clear what the target has: PutParameter keeps them otherwise.
    if !desired.description.is_empty() || live.is_some_and(|l| !l.description.is_empty()) {
        req = req.description(&desired.description);
    }
    if !desired.allowed_pattern.is_empty() || live.is_some_and(|l| !l.allowed_pattern.is_empty()) {
        req = req.allowed_pattern(&desired.allowed_pattern);
    }
    if let Some(policies) = &desired.policies {
        // Only an advanced parameter takes policies; a source with policies is advanced.
        req = req.policies(policies.to_string());
    }
    req.send()
        .await
        .map_err(|e| redact(call_error("ssm", "PutParameter", at.account, at.region, e), value))?;
    Ok(())
}

async fn live_tags(at: &At<'_>) -> Result<BTreeMap<String, String>, StepError> {
    let out = at
        .client
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(at.name)
        .send()
        .await
        .map_err(|e| call_error("ssm", "ListTagsForResource", at.account, at.region, e))?;
    Ok(out.tag_list().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
}

/// Adds the plan's tags the target lacks (or holds with another value); tags found only
/// in the target are left alone.
async fn ensure_tags(at: &At<'_>, wanted: &BTreeMap<String, String>) -> Result<bool, StepError> {
    if wanted.is_empty() {
        return Ok(false);
    }
    let live = live_tags(at).await?;
    let missing = missing_tags(wanted, &live);
    if missing.is_empty() {
        return Ok(false);
    }
    let tags = missing
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StepError::Failed(format!("ssm parameter {}: tags: {e}", at.name)))?;
    at.client
        .add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(at.name)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| call_error("ssm", "AddTagsToResource", at.account, at.region, e))?;
    Ok(true)
}

/// Reads everything back and compares it with what was written.
async fn verify(
    at: &At<'_>,
    desired: &Desired,
    value: &Secret,
    tags: &BTreeMap<String, String>,
) -> Result<(), StepError> {
    let Some(live) = read(at).await? else {
        return Err(StepError::Verify(format!(
            "ssm parameter {} is not in the target after PutParameter",
            at.name
        )));
    };
    let mut differs = differences(desired, value, &live);
    if !tags.is_empty() && !missing_tags(tags, &live_tags(at).await?).is_empty() {
        differs.push("tags");
    }
    verified(&format!("ssm parameter {}", at.name), &differs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(value: &str) -> Live {
        Live {
            value: Secret::new(value),
            kind: "SecureString".into(),
            data_type: "text".into(),
            description: String::new(),
            tier: "Standard".into(),
            allowed_pattern: String::new(),
            policies: Value::Null,
            key_id: "alias/aws/ssm".into(),
        }
    }

    #[test]
    fn a_parameter_under_another_key_differs_by_its_key() {
        let arn = "arn:aws:kms:us-east-1:222222222222:key/k-2";
        let d = desired(&json!({"Type": "SecureString", "KeyId": arn})).unwrap();
        assert_eq!(differences(&d, &Secret::new("a"), &live("a")), vec!["key"]);
        let mut under_it = live("a");
        for named in [arn, "k-2"] {
            under_it.key_id = named.into();
            assert!(differences(&d, &Secret::new("a"), &under_it).is_empty(), "{named}");
        }
        let plain = desired(&json!({"Type": "String", "KeyId": arn})).unwrap();
        assert_eq!(plain.key_id, None, "only a SecureString has a key");
    }

    #[test]
    fn differences_name_fields_never_values() {
        let d = desired(&json!({"Type": "SecureString", "Tier": "Standard"})).unwrap();
        assert!(differences(&d, &Secret::new("a"), &live("a")).is_empty());
        let diff = differences(&d, &Secret::new("hunter2"), &live("other"));
        assert_eq!(diff, vec!["value"]);
        let mut advanced = live("a");
        advanced.tier = "Advanced".into();
        assert!(
            differences(&d, &Secret::new("a"), &advanced).is_empty(),
            "an advanced target cannot go back to standard"
        );
        let d = desired(&json!({"Type": "String", "Description": "x"})).unwrap();
        assert_eq!(differences(&d, &Secret::new("a"), &live("a")), vec!["type", "description"]);
    }

    #[test]
    fn a_bad_type_is_an_input_error() {
        assert!(desired(&json!({"Type": "Secret"})).is_err());
        assert!(desired(&json!({})).is_err());
    }
}
