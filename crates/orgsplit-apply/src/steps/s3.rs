//! `s3-bucket`: a bucket created under the plan's `target_name` (bucket names are global)
//! with the configuration the inventory recorded: versioning, default encryption, tags, and
//! (`s3_config`) ownership, Block Public Access, policy, CORS and lifecycle. Objects are not
//! copied.
//!
//! Every call after the bucket exists names the target account as the expected owner, so a
//! bucket of that name owned by someone else is refused by S3 instead of being configured.

use super::support::{missing_tags, verified};
use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, Tag, Tagging, VersioningConfiguration,
};
use aws_smithy_runtime_api::client::result::SdkError;
use orgsplit_aws::AwsError;
use orgsplit_model::step::{BucketCopy, ResourceCopy};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::context::{Outcome, StepContext, StepError};
use orgsplit_aws::Found;
use orgsplit_model::journal::OutputKey;

type At<'a> = super::support::At<'a, Client>;

/// The region whose buckets take no `LocationConstraint`.
const US_EAST_1: &str = "us-east-1";

/// The configuration the plan asks for.
#[derive(Debug)]
struct Desired {
    region: String,
    /// `Enabled`, `Suspended`, or `None` (never enabled in the source).
    versioning: Option<String>,
    /// Normalised rules ([`rule_json`]), `None` when the source had no configuration.
    encryption: Option<Vec<Value>>,
    tags: BTreeMap<String, String>,
    /// Ownership, Block Public Access, policy, CORS, lifecycle.
    settings: super::s3_config::Settings,
}

pub async fn run(cx: &StepContext, inputs: &BucketCopy) -> Result<Outcome, StepError> {
    let bucket = inputs.target_name.as_str();
    if inputs.copy_objects {
        return Err(StepError::Failed(format!(
            "s3 bucket {bucket}: copying objects (copy_objects = true) is not supported yet; plan without it and copy the objects by hand (aws s3 sync)"
        )));
    }
    let desired = desired(cx, &inputs.copy)?;
    let session = cx.session().await?;
    let client = session.s3(&desired.region);
    let at = At {
        service: "s3",
        client: &client,
        account: &session.account_id,
        region: &desired.region,
        name: bucket,
    };
    if let Some(mfa) = inputs.copy.config.get("MFADelete").and_then(Value::as_str)
        && mfa == "Enabled"
    {
        // Only the root user with an MFA device can enable it (x-amz-mfa): not an API job.
        tracing::warn!(
            bucket,
            "the source bucket has MFA delete enabled; it is not copied (root user and MFA device needed)"
        );
    }

    let mut changed = ensure_bucket(&at).await?;
    changed |= ensure_versioning(&at, desired.versioning.as_deref()).await?;
    if let Some(rules) = &desired.encryption {
        changed |= ensure_encryption(&at, rules).await?;
    }
    changed |= ensure_tags(&at, &desired.tags).await?;
    changed |= super::s3_config::ensure(&at, &desired.settings).await?;
    if changed {
        verify(&at, &desired).await?;
    }
    Ok(Outcome::changed(changed).with_output(OutputKey::Bucket, bucket))
}

fn desired(cx: &StepContext, copy: &ResourceCopy) -> Result<Desired, StepError> {
    let cfg = &copy.config;
    let region = cfg.get("Region").and_then(Value::as_str).unwrap_or(cx.region()).to_string();
    let encryption = match cfg.pointer("/Encryption/Rules") {
        None | Some(Value::Null) => None,
        Some(Value::Array(rules)) => Some(rules.iter().map(plan_rule).collect::<Result<_, _>>()?),
        Some(_) => {
            return Err(StepError::Input {
                field: "config.Encryption.Rules".into(),
                message: "not a list".into(),
            });
        }
    };
    Ok(Desired {
        region,
        versioning: cfg.get("Versioning").and_then(Value::as_str).map(str::to_string),
        encryption,
        tags: copy.tags.clone(),
        settings: super::s3_config::Settings::of(cfg),
    })
}

/// One encryption rule in the one shape both the plan and S3's answer are compared in.
fn rule_json(algorithm: &str, key: Option<&str>, bucket_key: bool) -> Value {
    json!({ "SSEAlgorithm": algorithm, "KMSMasterKeyID": key, "BucketKeyEnabled": bucket_key })
}

fn plan_rule(rule: &Value) -> Result<Value, StepError> {
    let default = rule.get("ApplyServerSideEncryptionByDefault");
    let algorithm = default
        .and_then(|d| d.get("SSEAlgorithm"))
        .and_then(Value::as_str)
        .ok_or_else(|| StepError::Input {
            field: "config.Encryption.Rules[].ApplyServerSideEncryptionByDefault.SSEAlgorithm"
                .into(),
            message: "missing".into(),
        })?;
    Ok(rule_json(
        algorithm,
        default.and_then(|d| d.get("KMSMasterKeyID")).and_then(Value::as_str),
        rule.get("BucketKeyEnabled").and_then(Value::as_bool).unwrap_or(false),
    ))
}

fn live_rule(rule: &ServerSideEncryptionRule) -> Value {
    let default = rule.apply_server_side_encryption_by_default();
    rule_json(
        default.map_or("", |d| d.sse_algorithm().as_str()),
        default.and_then(|d| d.kms_master_key_id()),
        rule.bucket_key_enabled().unwrap_or(false),
    )
}

fn code(err: &AwsError) -> Option<&str> {
    match err {
        AwsError::Call { code, .. } => code.as_deref(),
        _ => None,
    }
}

/// The bucket's region when it exists and is ours, `None` when it does not exist.
async fn bucket_region(at: &At<'_>) -> Result<Option<String>, StepError> {
    let head =
        at.client.head_bucket().bucket(at.name).expected_bucket_owner(at.account).send().await;
    // HeadBucket has no body: its status is all S3 says
    // (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html>).
    if let Err(SdkError::ServiceError(e)) = &head {
        let why = match e.raw().status().as_u16() {
            403 => {
                "answered 403: the name is taken by another account (bucket names are global), or the access role may not read it"
            }
            301 => {
                "answered 301: a bucket of that name exists in another Region, maybe another account's"
            }
            _ => "",
        };
        if !why.is_empty() {
            return Err(StepError::Failed(format!(
                "s3 bucket {}: HeadBucket {why}; give the copy another name in [bucket_names] and re-plan",
                at.name
            )));
        }
    }
    let Some(head) = head.map_err(at.error_of("HeadBucket")).found()? else {
        return Ok(None);
    };
    if let Some(region) = head.bucket_region() {
        return Ok(Some(region.to_string()));
    }
    let loc = at
        .client
        .get_bucket_location()
        .bucket(at.name)
        .expected_bucket_owner(at.account)
        .send()
        .await
        .map_err(at.error_of("GetBucketLocation"))?;
    Ok(Some(
        match loc.location_constraint().map(|c| c.as_str()) {
            None | Some("") => US_EAST_1,
            Some("EU") => "eu-west-1",
            Some(r) => r,
        }
        .to_string(),
    ))
}

/// Creates the bucket unless it exists; true when it was created.
async fn ensure_bucket(at: &At<'_>) -> Result<bool, StepError> {
    if let Some(region) = bucket_region(at).await? {
        if region != at.region {
            return Err(StepError::Failed(format!(
                "s3 bucket {} exists in {region}, the plan has {}: a bucket cannot move; delete it or re-plan",
                at.name, at.region
            )));
        }
        return Ok(false);
    }
    let mut req = at.client.create_bucket().bucket(at.name);
    if at.region != US_EAST_1 {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(at.region))
                .build(),
        );
    }
    match req.send().await {
        Ok(_) => Ok(true),
        Err(e) => {
            let err = at.err("CreateBucket", e);
            match code(&err) {
                // Ours already (an earlier run raced this one): the rest converges it.
                Some("BucketAlreadyOwnedByYou") => Ok(false),
                Some("BucketAlreadyExists") => Err(StepError::Failed(format!(
                    "s3 bucket {}: the name is taken by another account; choose another target name",
                    at.name
                ))),
                _ => Err(err.into()),
            }
        }
    }
}

async fn versioning(at: &At<'_>) -> Result<Option<String>, StepError> {
    let out = at
        .client
        .get_bucket_versioning()
        .bucket(at.name)
        .expected_bucket_owner(at.account)
        .send()
        .await
        .map_err(at.error_of("GetBucketVersioning"))?;
    Ok(out.status().map(|s| s.as_str().to_string()))
}

/// What to write, if anything. A bucket never versioned cannot go back to that state:
/// `Suspended` is the nearest to a source that never had versioning.
fn versioning_change(desired: Option<&str>, live: Option<&str>) -> Option<BucketVersioningStatus> {
    let enabled = BucketVersioningStatus::Enabled.as_str();
    match (desired, live) {
        (Some(d), l) if d == enabled && l != Some(enabled) => Some(BucketVersioningStatus::Enabled),
        (Some(d), Some(l)) if d != enabled && l == enabled => {
            Some(BucketVersioningStatus::Suspended)
        }
        (None, Some(l)) if l == enabled => Some(BucketVersioningStatus::Suspended),
        _ => None,
    }
}

async fn ensure_versioning(at: &At<'_>, desired: Option<&str>) -> Result<bool, StepError> {
    let live = versioning(at).await?;
    let Some(status) = versioning_change(desired, live.as_deref()) else {
        return Ok(false);
    };
    at.client
        .put_bucket_versioning()
        .bucket(at.name)
        .expected_bucket_owner(at.account)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .map_err(at.error_of("PutBucketVersioning"))?;
    Ok(true)
}

/// The default encryption rules, normalised; empty when the bucket has none.
async fn encryption(at: &At<'_>) -> Result<Vec<Value>, StepError> {
    let out = at
        .client
        .get_bucket_encryption()
        .bucket(at.name)
        .expected_bucket_owner(at.account)
        .send()
        .await;
    match out {
        Ok(out) => Ok(out
            .server_side_encryption_configuration()
            .map(|c| c.rules().iter().map(live_rule).collect())
            .unwrap_or_default()),
        Err(e) => {
            let err = at.err("GetBucketEncryption", e);
            if code(&err) == Some("ServerSideEncryptionConfigurationNotFoundError") {
                Ok(Vec::new())
            } else {
                Err(err.into())
            }
        }
    }
}

async fn ensure_encryption(at: &At<'_>, rules: &[Value]) -> Result<bool, StepError> {
    if encryption(at).await? == rules {
        return Ok(false);
    }
    let config = ServerSideEncryptionConfiguration::builder()
        .set_rules(Some(rules.iter().map(sdk_rule).collect::<Result<Vec<_>, _>>()?))
        .build()
        .map_err(|e| StepError::Failed(format!("s3 bucket {}: encryption: {e}", at.name)))?;
    at.client
        .put_bucket_encryption()
        .bucket(at.name)
        .expected_bucket_owner(at.account)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .map_err(at.error_of("PutBucketEncryption"))?;
    Ok(true)
}

fn sdk_rule(rule: &Value) -> Result<ServerSideEncryptionRule, StepError> {
    let algorithm = rule.get("SSEAlgorithm").and_then(Value::as_str).unwrap_or_default();
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(algorithm))
        .set_kms_master_key_id(
            rule.get("KMSMasterKeyID").and_then(Value::as_str).map(str::to_string),
        )
        .build()
        .map_err(|e| StepError::Failed(format!("encryption rule: {e}")))?;
    Ok(ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default)
        .bucket_key_enabled(rule.get("BucketKeyEnabled").and_then(Value::as_bool).unwrap_or(false))
        .build())
}

async fn live_tags(at: &At<'_>) -> Result<BTreeMap<String, String>, StepError> {
    let out = at
        .client
        .get_bucket_tagging()
        .bucket(at.name)
        .expected_bucket_owner(at.account)
        .send()
        .await;
    match out {
        Ok(out) => {
            Ok(out.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
        }
        Err(e) => {
            let err = at.err("GetBucketTagging", e);
            if code(&err) == Some("NoSuchTagSet") { Ok(BTreeMap::new()) } else { Err(err.into()) }
        }
    }
}

/// PutBucketTagging replaces the whole set: tags found only in the target are sent back
/// with the plan's, so none is lost.
async fn ensure_tags(at: &At<'_>, wanted: &BTreeMap<String, String>) -> Result<bool, StepError> {
    if wanted.is_empty() {
        return Ok(false);
    }
    let live = live_tags(at).await?;
    if missing_tags(wanted, &live).is_empty() {
        return Ok(false);
    }
    let mut all = live;
    all.extend(wanted.iter().map(|(k, v)| (k.clone(), v.clone())));
    let tag_set = all
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .and_then(|tags| Tagging::builder().set_tag_set(Some(tags)).build())
        .map_err(|e| StepError::Failed(format!("s3 bucket {}: tags: {e}", at.name)))?;
    at.client
        .put_bucket_tagging()
        .bucket(at.name)
        .expected_bucket_owner(at.account)
        .tagging(tag_set)
        .send()
        .await
        .map_err(at.error_of("PutBucketTagging"))?;
    Ok(true)
}

async fn verify(at: &At<'_>, desired: &Desired) -> Result<(), StepError> {
    let mut differs = Vec::new();
    match bucket_region(at).await? {
        None => {
            return Err(StepError::Verify(format!(
                "s3 bucket {} is not in the target after creating it",
                at.name
            )));
        }
        Some(r) if r != desired.region => differs.push("region"),
        Some(_) => {}
    }
    let live = versioning(at).await?;
    if versioning_change(desired.versioning.as_deref(), live.as_deref()).is_some() {
        differs.push("versioning");
    }
    if let Some(rules) = &desired.encryption
        && &encryption(at).await? != rules
    {
        differs.push("encryption");
    }
    if !desired.tags.is_empty() && !missing_tags(&desired.tags, &live_tags(at).await?).is_empty() {
        differs.push("tags");
    }
    differs.extend(super::s3_config::still_differing(at, &desired.settings).await?);
    verified(&format!("s3 bucket {}", at.name), &differs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioning_moves_only_where_s3_can() {
        use BucketVersioningStatus::{Enabled, Suspended};
        assert_eq!(versioning_change(Some("Enabled"), None), Some(Enabled));
        assert_eq!(versioning_change(Some("Enabled"), Some("Suspended")), Some(Enabled));
        assert_eq!(versioning_change(Some("Enabled"), Some("Enabled")), None);
        assert_eq!(versioning_change(Some("Suspended"), Some("Enabled")), Some(Suspended));
        assert_eq!(versioning_change(Some("Suspended"), None), None);
        assert_eq!(versioning_change(None, Some("Enabled")), Some(Suspended));
        assert_eq!(versioning_change(None, Some("Suspended")), None);
        assert_eq!(versioning_change(None, None), None);
    }

    #[test]
    fn plan_rules_normalise_like_live_ones() {
        let plan = plan_rule(&json!({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": false})).unwrap();
        let sdk = sdk_rule(&plan).unwrap();
        assert_eq!(live_rule(&sdk), plan);
        assert!(plan_rule(&json!({})).is_err());
    }
}
