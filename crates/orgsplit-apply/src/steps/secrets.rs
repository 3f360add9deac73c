//! `secret`: a Secrets Manager secret copied with its current value, read from the source
//! account at apply time, encrypted in the target under the copy of the source's
//! customer-managed key (`KmsKeyId`, the copied key's ARN), or the target's own
//! `aws/secretsmanager` key when the source used that one.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{ReplicaRegionType, Tag};
use aws_smithy_types::base64;
use orgsplit_aws::call_error;
use orgsplit_model::Secret;
use serde_json::Value;
use std::collections::BTreeMap;

use super::support::{missing_tags, redact, verified};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_aws::Found;
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::ResourceCopy;

type At<'a> = super::support::At<'a, Client>;

/// A secret's current value. Binary values are held base64-encoded, so that both kinds
/// live inside [`Secret`] (which redacts every rendering).
#[derive(Debug)]
enum SecretValue {
    Text(Secret),
    Binary(Secret),
}

impl SecretValue {
    fn same(&self, other: &SecretValue) -> bool {
        match (self, other) {
            (SecretValue::Text(a), SecretValue::Text(b))
            | (SecretValue::Binary(a), SecretValue::Binary(b)) => a.expose() == b.expose(),
            _ => false,
        }
    }

    fn exposed(&self) -> &Secret {
        match self {
            SecretValue::Text(s) | SecretValue::Binary(s) => s,
        }
    }

    fn blob(encoded: &Secret) -> Result<Blob, StepError> {
        base64::decode(encoded.expose())
            .map(Blob::new)
            .map_err(|_| StepError::Failed("a binary secret value is not valid base64".into()))
    }
}

/// What the target holds besides the value.
struct Live {
    /// The copy's full ARN: its six-character suffix is the target's own.
    arn: String,
    description: String,
    tags: BTreeMap<String, String>,
    scheduled_for_deletion: bool,
    /// The Regions the secret is replicated to.
    replicas: Vec<String>,
}

pub async fn run(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    if copy.config.get("PrimaryRegion").and_then(Value::as_str).is_some_and(|p| p != cx.region()) {
        return replica(cx, copy).await;
    }
    let name = copy.name.as_str();
    let source_id = copy.source_arn.as_str();
    let description = copy.config.get("Description").and_then(Value::as_str).unwrap_or_default();
    let kms_key = copy.config.get("KmsKeyId").and_then(Value::as_str);
    let tags = copy.tags.clone();
    let region = cx.region();
    let value = source_value(cx, source_id, name).await?;

    let session = cx.session().await?;
    let client = session.secretsmanager(region);
    let at = At {
        service: "secretsmanager",
        client: &client,
        account: &session.account_id,
        region,
        name,
    };
    let (mut changed, arn) = match describe(&at).await? {
        None => (true, create(&at, kms_key, description, &value, &tags).await?),
        Some(live) => (reconcile(&at, &live, description, &value, &tags).await?, live.arn),
    };
    let replicas = replica_regions(&copy.config);
    changed |= ensure_replicas(&at, &replicas).await?;
    if changed {
        verify(&at, description, &value, &tags, &replicas).await?;
    }
    // What `${secret-arn:ADDRESS}` in later steps resolves to.
    Ok(Outcome::changed(changed).with_output(OutputKey::SecretArn, arn))
}

/// A replica: Secrets Manager writes it from its primary, whose step (run first) replicated
/// it here. This step finds it and records its ARN for the steps that name it.
async fn replica(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    let region = cx.region();
    let session = cx.session().await?;
    let client = session.secretsmanager(region);
    let at = At {
        service: "secretsmanager",
        client: &client,
        account: &session.account_id,
        region,
        name: &copy.name,
    };
    let Some(live) = describe(&at).await? else {
        return Err(StepError::Failed(format!(
            "secret {}: its replica in {region} does not exist yet; the step that copies its primary replicates it: run apply again",
            copy.name
        )));
    };
    Ok(Outcome::unchanged().with_output(OutputKey::SecretArn, live.arn))
}

/// The Regions the plan replicates the secret to.
fn replica_regions(config: &Value) -> Vec<String> {
    let regions = config.get("ReplicaRegions").and_then(Value::as_array).into_iter().flatten();
    regions.filter_map(Value::as_str).map(str::to_string).collect()
}

/// Replicates the secret to the Regions it is not in yet (replicas found only in the target
/// are kept). The replica is encrypted under the Region's `aws/secretsmanager` key.
async fn ensure_replicas(at: &At<'_>, wanted: &[String]) -> Result<bool, StepError> {
    if wanted.is_empty() {
        return Ok(false);
    }
    let live = describe(at).await?.map(|l| l.replicas).unwrap_or_default();
    let missing: Vec<ReplicaRegionType> = wanted
        .iter()
        .filter(|r| !live.contains(r))
        .map(|r| ReplicaRegionType::builder().region(r).build())
        .collect();
    if missing.is_empty() {
        return Ok(false);
    }
    at.client
        .replicate_secret_to_regions()
        .secret_id(at.name)
        .set_add_replica_regions(Some(missing))
        .send()
        .await
        .map_err(|e| {
            call_error("secretsmanager", "ReplicateSecretToRegions", at.account, at.region, e)
        })?;
    Ok(true)
}

async fn source_value(
    cx: &StepContext,
    source_id: &str,
    name: &str,
) -> Result<SecretValue, StepError> {
    let source = cx.source().await?;
    let region = cx.region();
    let client = source.secretsmanager(region);
    let at = At {
        service: "secretsmanager",
        client: &client,
        account: &source.account_id,
        region,
        name,
    };
    current_value(&at, source_id).await?.ok_or_else(|| {
        StepError::Failed(format!("secret {name}: the source account has no current value"))
    })
}

/// The AWSCURRENT value, or `None` when the secret has none (created without a value).
async fn current_value(at: &At<'_>, id: &str) -> Result<Option<SecretValue>, StepError> {
    let got = at.client.get_secret_value().secret_id(id).send().await;
    let Some(out) = got.map_err(at.error_of("GetSecretValue")).found()? else {
        return Ok(None);
    };
    if let Some(s) = out.secret_string() {
        return Ok(Some(SecretValue::Text(Secret::new(s))));
    }
    Ok(out.secret_binary().map(|b| SecretValue::Binary(Secret::new(base64::encode(b.as_ref())))))
}

async fn describe(at: &At<'_>) -> Result<Option<Live>, StepError> {
    let got = at.client.describe_secret().secret_id(at.name).send().await;
    let described = got.map_err(at.error_of("DescribeSecret")).found()?;
    Ok(described.as_ref().map(live))
}

fn live(out: &DescribeSecretOutput) -> Live {
    Live {
        arn: out.arn().unwrap_or_default().to_string(),
        description: out.description().unwrap_or_default().to_string(),
        tags: out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().into())))
            .collect(),
        scheduled_for_deletion: out.deleted_date().is_some(),
        replicas: out
            .replication_status()
            .iter()
            .filter_map(|r| r.region().map(str::to_string))
            .collect(),
    }
}

async fn create(
    at: &At<'_>,
    kms_key: Option<&str>,
    description: &str,
    value: &SecretValue,
    tags: &BTreeMap<String, String>,
) -> Result<String, StepError> {
    let mut req = at
        .client
        .create_secret()
        .name(at.name)
        .set_kms_key_id(kms_key.map(str::to_string))
        .set_tags(Some(sdk_tags(tags)));
    if !description.is_empty() {
        req = req.description(description);
    }
    req = match value {
        SecretValue::Text(s) => req.secret_string(s.expose()),
        SecretValue::Binary(b) => req.secret_binary(SecretValue::blob(b)?),
    };
    let created = req.send().await.map_err(|e| {
        redact(
            call_error("secretsmanager", "CreateSecret", at.account, at.region, e),
            value.exposed(),
        )
    })?;
    created.arn().map(str::to_string).ok_or_else(|| {
        StepError::Failed(format!("secret {}: CreateSecret returned no ARN", at.name))
    })
}

/// Brings an existing secret in line: value, description, tags. Tags found only in the
/// target are left alone.
async fn reconcile(
    at: &At<'_>,
    live: &Live,
    description: &str,
    value: &SecretValue,
    tags: &BTreeMap<String, String>,
) -> Result<bool, StepError> {
    let mut changed = false;
    if live.scheduled_for_deletion {
        // A secret pending deletion blocks its name: take it back rather than fail.
        at.client
            .restore_secret()
            .secret_id(at.name)
            .send()
            .await
            .map_err(|e| call_error("secretsmanager", "RestoreSecret", at.account, at.region, e))?;
        changed = true;
    }
    let current = current_value(at, at.name).await?;
    if !current.is_some_and(|c| c.same(value)) {
        put_value(at, value).await?;
        changed = true;
    }
    if live.description != description {
        at.client
            .update_secret()
            .secret_id(at.name)
            .description(description)
            .send()
            .await
            .map_err(|e| call_error("secretsmanager", "UpdateSecret", at.account, at.region, e))?;
        changed = true;
    }
    let missing = missing_tags(tags, &live.tags);
    if !missing.is_empty() {
        at.client
            .tag_resource()
            .secret_id(at.name)
            .set_tags(Some(sdk_tags(&missing)))
            .send()
            .await
            .map_err(|e| call_error("secretsmanager", "TagResource", at.account, at.region, e))?;
        changed = true;
    }
    Ok(changed)
}

async fn put_value(at: &At<'_>, value: &SecretValue) -> Result<(), StepError> {
    let req = at.client.put_secret_value().secret_id(at.name);
    let req = match value {
        SecretValue::Text(s) => req.secret_string(s.expose()),
        SecretValue::Binary(b) => req.secret_binary(SecretValue::blob(b)?),
    };
    req.send().await.map_err(|e| {
        redact(
            call_error("secretsmanager", "PutSecretValue", at.account, at.region, e),
            value.exposed(),
        )
    })?;
    Ok(())
}

async fn verify(
    at: &At<'_>,
    description: &str,
    value: &SecretValue,
    tags: &BTreeMap<String, String>,
    replicas: &[String],
) -> Result<(), StepError> {
    let Some(live) = describe(at).await? else {
        return Err(StepError::Verify(format!(
            "secret {} is not in the target after writing it",
            at.name
        )));
    };
    let mut differs = Vec::new();
    if !current_value(at, at.name).await?.is_some_and(|c| c.same(value)) {
        differs.push("value");
    }
    if live.description != description {
        differs.push("description");
    }
    if !missing_tags(tags, &live.tags).is_empty() {
        differs.push("tags");
    }
    if live.scheduled_for_deletion {
        differs.push("scheduled deletion");
    }
    if replicas.iter().any(|r| !live.replicas.contains(r)) {
        differs.push("replica Regions");
    }
    verified(&format!("secret {}", at.name), &differs)
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_by_kind_and_content_and_never_print() {
        let a = SecretValue::Text(Secret::new("hunter2"));
        assert!(a.same(&SecretValue::Text(Secret::new("hunter2"))));
        assert!(!a.same(&SecretValue::Binary(Secret::new("hunter2"))));
        assert!(!a.same(&SecretValue::Text(Secret::new("other"))));
        assert!(!format!("{a:?}").contains("hunter2"));
    }

    #[test]
    fn binary_values_round_trip() {
        let encoded = Secret::new(base64::encode([0u8, 1, 2, 255]));
        let blob = SecretValue::blob(&encoded).unwrap();
        assert_eq!(blob.as_ref(), &[0u8, 1, 2, 255]);
    }
}
