//! `iam-policy`: a customer managed policy re-created in the target with the plan's
//! (rewritten) document; a changed document becomes the new default version.

use orgsplit_aws::policy::policy_document as decode_document;
use serde_json::Value;
use std::collections::BTreeMap;

use super::iam::{At, at, read_back, sdk_tags, str_field};
use super::support::{missing_tags, partition, verified};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_aws::Found;
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::ResourceCopy;

/// A managed policy keeps at most five versions.
const MAX_POLICY_VERSIONS: usize = 5;

// ---------------------------------------------------------------------------------------
// iam-policy

struct DesiredPolicy {
    name: String,
    path: String,
    description: String,
    document: Value,
    tags: BTreeMap<String, String>,
}

pub async fn policy(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    let desired = desired_policy(copy)?;
    let session = cx.session().await?;
    let client = session.iam();
    let at = at(&client, &session.account_id);
    let arn = format!(
        "arn:{}:iam::{}:policy{}{}",
        partition(&copy.source_arn),
        at.account,
        desired.path,
        desired.name
    );
    let mut changed = false;
    match get_policy(&at, &arn).await? {
        None => {
            create_policy(&at, &desired).await?;
            changed = true;
        }
        Some(live) => {
            if live.description != desired.description {
                // IAM has no call that changes a managed policy's description.
                tracing::warn!(policy = %arn, "the target policy's description differs from the source's; IAM cannot change it");
            }
            if live.document != desired.document {
                new_default_version(&at, &arn, &desired.document).await?;
                changed = true;
            }
        }
    }
    let live_tags = policy_tags(&at, &arn).await?;
    let missing = missing_tags(&desired.tags, &live_tags);
    if !missing.is_empty() {
        at.client
            .tag_policy()
            .policy_arn(&arn)
            .set_tags(Some(sdk_tags(&missing)?))
            .send()
            .await
            .map_err(at.error_of("TagPolicy"))?;
        changed = true;
    }
    if changed {
        verify_policy(&at, &arn, &desired).await?;
    }
    Ok(Outcome::changed(changed).with_output(OutputKey::PolicyArn, arn))
}

fn desired_policy(copy: &ResourceCopy) -> Result<DesiredPolicy, StepError> {
    let cfg = &copy.config;
    let document = match cfg.get("Document") {
        Some(d @ Value::Object(_)) => d.clone(),
        _ => {
            return Err(StepError::Input {
                field: "config.Document".into(),
                message: "missing or not a JSON object".into(),
            });
        }
    };
    Ok(DesiredPolicy {
        name: copy.name.clone(),
        path: str_field(cfg, "Path").unwrap_or("/").to_string(),
        description: str_field(cfg, "Description").unwrap_or_default().to_string(),
        document,
        tags: copy.tags.clone(),
    })
}

struct LivePolicy {
    description: String,
    document: Value,
}

async fn get_policy(at: &At<'_>, arn: &str) -> Result<Option<LivePolicy>, StepError> {
    let got = at.client.get_policy().policy_arn(arn).send().await;
    let Some(out) = got.map_err(at.error_of("GetPolicy")).found()? else {
        return Ok(None);
    };
    let Some(p) = out.policy() else {
        return Ok(None);
    };
    let version = p.default_version_id().ok_or_else(|| {
        StepError::Failed(format!("iam policy {arn}: GetPolicy returned no default version"))
    })?;
    let got = at
        .client
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(at.error_of("GetPolicyVersion"))?;
    let document =
        got.policy_version().and_then(|v| v.document()).map_or(Value::Null, decode_document);
    Ok(Some(LivePolicy { description: p.description().unwrap_or_default().to_string(), document }))
}

async fn create_policy(at: &At<'_>, desired: &DesiredPolicy) -> Result<(), StepError> {
    let mut req = at
        .client
        .create_policy()
        .policy_name(&desired.name)
        .path(&desired.path)
        .policy_document(desired.document.to_string())
        .set_tags(Some(sdk_tags(&desired.tags)?));
    if !desired.description.is_empty() {
        req = req.description(&desired.description);
    }
    req.send().await.map_err(at.error_of("CreatePolicy"))?;
    Ok(())
}

/// A new default version with `document`, making room first when the policy already has
/// the most versions IAM allows (the oldest non-default one goes).
async fn new_default_version(at: &At<'_>, arn: &str, document: &Value) -> Result<(), StepError> {
    let listed = at
        .client
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(at.error_of("ListPolicyVersions"))?;
    let versions = listed.versions();
    if versions.len() >= MAX_POLICY_VERSIONS {
        let oldest = versions
            .iter()
            .filter(|v| !v.is_default_version())
            .min_by_key(|v| v.create_date().map(|d| (d.secs(), d.subsec_nanos())))
            .and_then(|v| v.version_id());
        if let Some(id) = oldest {
            tracing::debug!(
                policy = arn,
                version = id,
                "deleting the oldest policy version to make room"
            );
            at.client
                .delete_policy_version()
                .policy_arn(arn)
                .version_id(id)
                .send()
                .await
                .map_err(at.error_of("DeletePolicyVersion"))?;
        }
    }
    at.client
        .create_policy_version()
        .policy_arn(arn)
        .policy_document(document.to_string())
        .set_as_default(true)
        .send()
        .await
        .map_err(at.error_of("CreatePolicyVersion"))?;
    Ok(())
}

async fn policy_tags(at: &At<'_>, arn: &str) -> Result<BTreeMap<String, String>, StepError> {
    let mut tags = BTreeMap::new();
    let mut pages = at.client.list_policy_tags().policy_arn(arn).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(at.error_of("ListPolicyTags"))?;
        tags.extend(page.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())));
    }
    Ok(tags)
}

async fn verify_policy(at: &At<'_>, arn: &str, desired: &DesiredPolicy) -> Result<(), StepError> {
    let Some(live) = read_back(|| get_policy(at, arn)).await? else {
        return Err(StepError::Verify(format!(
            "iam policy {arn} is not in the target after creating it"
        )));
    };
    let mut differs = Vec::new();
    if live.document != desired.document {
        differs.push("document");
    }
    if !missing_tags(&desired.tags, &policy_tags(at, arn).await?).is_empty() {
        differs.push("tags");
    }
    verified(&format!("iam policy {arn}"), &differs)
}
