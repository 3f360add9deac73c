//! `kms-key`: a customer-managed KMS key created in the target with the source key's
//! description, usage, spec, aliases, rotation, tags and (rewritten) key policy; its ARN is the
//! step's output (`${kms-key-arn:ADDRESS}` in later steps). `kms-key-policy`: that policy, set
//! once the principals it names exist.
//!
//! KMS chooses a new key's id and `CreateKey` takes no idempotency token, so a key is found
//! again by its first alias, or, when a run died between `CreateKey` and `CreateAlias`, by the
//! tag [`COPY_OF_TAG`] naming the source key: a step run twice never makes two keys.

use aws_sdk_kms::Client;
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, Tag};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;
use std::collections::BTreeMap;

use super::propagation::{self, Propagating};
use super::support::{input_error, missing_tags, verified};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::{KeyCopy, KeyPolicy};

type At<'a> = super::support::At<'a, Client>;

/// Tags the copy with the source key's ARN, so a copy whose alias was never made is found.
pub const COPY_OF_TAG: &str = "orgsplit:copy-of";

/// PutKeyPolicy naming a principal KMS does not see yet: "The principals in the key policy
/// must exist and be visible to KMS. When you create a new AWS principal, you might need to
/// enforce a delay before including the new principal in a key policy"
/// (<https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html>).
const KEY_POLICY_PRINCIPAL: Propagating =
    Propagating { code: "MalformedPolicyDocumentException", message: "invalid principals" };

/// What the target's copy holds.
#[derive(Debug)]
struct Live {
    arn: String,
    id: String,
    description: String,
    state: Option<KeyState>,
}

pub async fn key(cx: &StepContext, input: &KeyCopy) -> Result<Outcome, StepError> {
    let copy = &input.copy;
    let aliases = aliases(&copy.config)?;
    let description =
        copy.config.get("Description").and_then(Value::as_str).unwrap_or_default().to_string();
    let policy = policy_text(copy.config.get("Policy"))?;
    let region = cx.region();
    let session = cx.session().await?;
    let client = session.kms(region);
    let at = At {
        service: "kms",
        client: &client,
        account: &session.account_id,
        region,
        name: &copy.name,
    };

    let mut changed = false;
    let live = match describe(&at, &aliases[0]).await? {
        Some(live) => live,
        None => match orphan(&at, &copy.source_arn).await? {
            Some(live) => live,
            None => {
                changed = true;
                let initial = if input.policy_later { None } else { policy.as_deref() };
                create(&at, &copy.config, &description, initial, &copy.source_arn, &copy.tags)
                    .await?
            }
        },
    };
    if matches!(live.state, Some(KeyState::PendingDeletion)) {
        return Err(StepError::Failed(format!(
            "key {} ({}) in the target is pending deletion: cancel its deletion (CancelKeyDeletion) or delete its aliases, then run apply again",
            aliases[0], live.id
        )));
    }
    for alias in &aliases {
        changed |= ensure_alias(&at, alias, &live).await?;
    }
    if live.description != description {
        at.client
            .update_key_description()
            .key_id(&live.id)
            .description(&description)
            .send()
            .await
            .map_err(at.error_of("UpdateKeyDescription"))?;
        changed = true;
    }
    changed |= ensure_rotation(&at, &live.id, &copy.config).await?;
    if !input.policy_later
        && let Some(policy) = &policy
    {
        changed |= ensure_policy(&at, &live.id, policy).await?;
    }
    changed |= ensure_tags(&at, &live.id, &copy.tags).await?;
    if changed {
        verify(&at, &aliases, &live, &copy.config, &copy.tags).await?;
    }
    Ok(Outcome::changed(changed).with_output(OutputKey::KmsKeyArn, live.arn))
}

pub async fn policy(cx: &StepContext, input: &KeyPolicy) -> Result<Outcome, StepError> {
    let Some(policy) = policy_text(Some(&input.policy))? else {
        return Err(input_error("policy", "a key policy is required"));
    };
    let region = cx.region();
    let session = cx.session().await?;
    let client = session.kms(region);
    let at = At {
        service: "kms",
        client: &client,
        account: &session.account_id,
        region,
        name: &input.name,
    };
    let changed = ensure_policy(&at, &input.key_arn, &policy).await?;
    if changed {
        let live = live_policy(&at, &input.key_arn).await?;
        verified(
            &format!("the policy of key {}", input.name),
            if live.as_ref() == Some(&input.policy) { &[] } else { &["policy"] },
        )?;
    }
    Ok(Outcome::changed(changed))
}

fn aliases(config: &Value) -> Result<Vec<String>, StepError> {
    let aliases: Vec<String> = config
        .get("Aliases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if aliases.is_empty() {
        // Without an alias nothing could find the copy again, nor name it to a person.
        return Err(input_error("config.Aliases", "a copied key needs at least one alias"));
    }
    Ok(aliases)
}

fn policy_text(policy: Option<&Value>) -> Result<Option<String>, StepError> {
    match policy {
        None | Some(Value::Null) => Ok(None),
        Some(p @ Value::Object(_)) => Ok(Some(p.to_string())),
        Some(_) => Err(input_error("config.Policy", "a key policy is a JSON object")),
    }
}

async fn describe(at: &At<'_>, key_id: &str) -> Result<Option<Live>, StepError> {
    match at.client.describe_key().key_id(key_id).send().await {
        Ok(out) => {
            let Some(m) = out.key_metadata() else { return Ok(None) };
            Ok(Some(Live {
                arn: m.arn().unwrap_or_default().to_string(),
                id: m.key_id().to_string(),
                description: m.description().unwrap_or_default().to_string(),
                state: m.key_state().cloned(),
            }))
        }
        Err(e) if e.code() == Some("NotFoundException") => Ok(None),
        Err(e) => Err(at.err("DescribeKey", e).into()),
    }
}

/// A key an earlier run created but never aliased: the customer-managed key tagged
/// [`COPY_OF_TAG`] with this source key.
async fn orphan(at: &At<'_>, source_arn: &str) -> Result<Option<Live>, StepError> {
    let mut pages = at.client.list_keys().limit(1000).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(at.error_of("ListKeys"))?;
        for k in page.keys() {
            let Some(id) = k.key_id() else { continue };
            let tags = match at.client.list_resource_tags().key_id(id).send().await {
                Ok(t) => t,
                // An AWS-managed key, or one the role may not read: not ours.
                Err(e) if e.code() == Some("AccessDeniedException") => continue,
                Err(e) => return Err(at.err("ListResourceTags", e).into()),
            };
            if tags.tags().iter().any(|t| t.tag_key() == COPY_OF_TAG && t.tag_value() == source_arn)
                && let Some(live) = describe(at, id).await?
                && !matches!(live.state, Some(KeyState::PendingDeletion))
            {
                return Ok(Some(live));
            }
        }
    }
    Ok(None)
}

async fn create(
    at: &At<'_>,
    config: &Value,
    description: &str,
    policy: Option<&str>,
    source_arn: &str,
    tags: &BTreeMap<String, String>,
) -> Result<Live, StepError> {
    let s = |k: &str| config.get(k).and_then(Value::as_str);
    let mut sdk_tags = vec![tag(COPY_OF_TAG, source_arn)?];
    for (k, v) in tags {
        sdk_tags.push(tag(k, v)?);
    }
    let policy = policy.map(str::to_string);
    let created = propagation::retry(KEY_POLICY_PRINCIPAL, || {
        at.client
            .create_key()
            .description(description)
            .set_key_usage(s("KeyUsage").map(KeyUsageType::from))
            .set_key_spec(s("KeySpec").map(KeySpec::from))
            .set_policy(policy.clone())
            .set_tags(Some(sdk_tags.clone()))
            .send()
    })
    .await
    .map_err(at.error_of("CreateKey"))?;
    let m = created
        .key_metadata()
        .ok_or_else(|| StepError::Failed("CreateKey returned no key".into()))?;
    Ok(Live {
        arn: m.arn().unwrap_or_default().to_string(),
        id: m.key_id().to_string(),
        description: description.to_string(),
        state: m.key_state().cloned(),
    })
}

fn tag(key: &str, value: &str) -> Result<Tag, StepError> {
    Tag::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
        .map_err(|e| StepError::Failed(format!("tag {key}: {e}")))
}

/// Points `alias` at the key; an alias of the target naming another key is an error, never
/// moved (it may be in use).
async fn ensure_alias(at: &At<'_>, alias: &str, live: &Live) -> Result<bool, StepError> {
    match describe(at, alias).await? {
        Some(named) if named.id == live.id => Ok(false),
        Some(named) => Err(StepError::Failed(format!(
            "alias {alias} already names key {} in the target: delete or rename it, then run apply again",
            named.id
        ))),
        None => {
            at.client
                .create_alias()
                .alias_name(alias)
                .target_key_id(&live.id)
                .send()
                .await
                .map_err(at.error_of("CreateAlias"))?;
            Ok(true)
        }
    }
}

async fn ensure_rotation(at: &At<'_>, key_id: &str, config: &Value) -> Result<bool, StepError> {
    let Some(wanted) = config.get("KeyRotationEnabled").and_then(Value::as_bool) else {
        return Ok(false);
    };
    let period = config.get("RotationPeriodInDays").and_then(Value::as_i64).map(|d| d as i32);
    let live = at
        .client
        .get_key_rotation_status()
        .key_id(key_id)
        .send()
        .await
        .map_err(at.error_of("GetKeyRotationStatus"))?;
    let same_period = period.is_none() || live.rotation_period_in_days() == period;
    if live.key_rotation_enabled() == wanted && (!wanted || same_period) {
        return Ok(false);
    }
    if wanted {
        at.client
            .enable_key_rotation()
            .key_id(key_id)
            .set_rotation_period_in_days(period)
            .send()
            .await
            .map_err(at.error_of("EnableKeyRotation"))?;
    } else {
        at.client
            .disable_key_rotation()
            .key_id(key_id)
            .send()
            .await
            .map_err(at.error_of("DisableKeyRotation"))?;
    }
    Ok(true)
}

async fn live_policy(at: &At<'_>, key_id: &str) -> Result<Option<Value>, StepError> {
    let out = at
        .client
        .get_key_policy()
        .key_id(key_id)
        .policy_name("default")
        .send()
        .await
        .map_err(at.error_of("GetKeyPolicy"))?;
    Ok(out.policy().and_then(|p| serde_json::from_str(p).ok()))
}

/// Puts `policy` unless the key has it already (compared as JSON, not as text).
async fn ensure_policy(at: &At<'_>, key_id: &str, policy: &str) -> Result<bool, StepError> {
    let wanted: Value = serde_json::from_str(policy).expect("serialised from a JSON value");
    if live_policy(at, key_id).await?.as_ref() == Some(&wanted) {
        return Ok(false);
    }
    propagation::retry(KEY_POLICY_PRINCIPAL, || {
        at.client.put_key_policy().key_id(key_id).policy_name("default").policy(policy).send()
    })
    .await
    .map_err(at.error_of("PutKeyPolicy"))?;
    Ok(true)
}

async fn live_tags(at: &At<'_>, key_id: &str) -> Result<BTreeMap<String, String>, StepError> {
    let out = at
        .client
        .list_resource_tags()
        .key_id(key_id)
        .send()
        .await
        .map_err(at.error_of("ListResourceTags"))?;
    Ok(out.tags().iter().map(|t| (t.tag_key().to_string(), t.tag_value().to_string())).collect())
}

async fn ensure_tags(
    at: &At<'_>,
    key_id: &str,
    wanted: &BTreeMap<String, String>,
) -> Result<bool, StepError> {
    if wanted.is_empty() {
        return Ok(false);
    }
    let missing = missing_tags(wanted, &live_tags(at, key_id).await?);
    if missing.is_empty() {
        return Ok(false);
    }
    let tags = missing.iter().map(|(k, v)| tag(k, v)).collect::<Result<Vec<_>, _>>()?;
    at.client
        .tag_resource()
        .key_id(key_id)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(at.error_of("TagResource"))?;
    Ok(true)
}

async fn verify(
    at: &At<'_>,
    aliases: &[String],
    live: &Live,
    config: &Value,
    tags: &BTreeMap<String, String>,
) -> Result<(), StepError> {
    let mut differs = Vec::new();
    for alias in aliases {
        if describe(at, alias).await?.is_none_or(|k| k.id != live.id) {
            differs.push("aliases");
            break;
        }
    }
    if let Some(wanted) = config.get("KeyRotationEnabled").and_then(Value::as_bool) {
        let got = at
            .client
            .get_key_rotation_status()
            .key_id(&live.id)
            .send()
            .await
            .map_err(at.error_of("GetKeyRotationStatus"))?;
        if got.key_rotation_enabled() != wanted {
            differs.push("rotation");
        }
    }
    if !missing_tags(tags, &live_tags(at, &live.id).await?).is_empty() {
        differs.push("tags");
    }
    verified(&format!("key {}", aliases[0]), &differs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_key_needs_an_alias_and_an_object_policy() {
        assert!(aliases(&json!({"Aliases": []})).is_err());
        assert_eq!(aliases(&json!({"Aliases": ["alias/a"]})).unwrap(), vec!["alias/a"]);
        assert_eq!(policy_text(None).unwrap(), None);
        assert!(policy_text(Some(&json!("text"))).is_err());
        assert_eq!(policy_text(Some(&json!({"a": 1}))).unwrap().as_deref(), Some(r#"{"a":1}"#));
    }
}
