//! `log-group`: a CloudWatch Logs log group with its retention, KMS key and tags (events are
//! not copied). The key is the copy of the source's customer-managed key (the planner wrote
//! its `${kms-key-arn:…}`), or none: a key not copied into the account was dropped at plan time.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::LogGroupClass;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

use super::support::{missing_tags, partition, verified};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::step::ResourceCopy;

type At<'a> = super::support::At<'a, Client>;

#[derive(Debug, PartialEq)]
struct Live {
    retention: Option<i32>,
    class: Option<String>,
    kms_key: Option<String>,
}

pub async fn run(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    let name = copy.name.as_str();
    let retention = retention(&copy.config)?;
    let class = copy.config.get("LogGroupClass").and_then(Value::as_str);
    let kms_key = copy.config.get("KmsKeyId").and_then(Value::as_str);
    let tags = copy.tags.clone();
    let region = cx.region();
    let session = cx.session().await?;
    let client = session.logs(region);
    let at = At { service: "logs", client: &client, account: &session.account_id, region, name };
    let arn = format!(
        "arn:{}:logs:{region}:{}:log-group:{name}",
        partition(&copy.source_arn),
        at.account
    );

    let mut changed = false;
    let live = match describe(&at).await? {
        Some(live) => live,
        None => {
            create(&at, class, kms_key, &tags).await?;
            changed = true;
            // Read, not assumed: an earlier run may have created it with a retention.
            describe(&at).await?.unwrap_or(Live {
                retention: None,
                class: class.map(str::to_string),
                kms_key: kms_key.map(str::to_string),
            })
        }
    };
    if let Some(wanted) = class
        && live.class.as_deref().is_some_and(|c| c != wanted)
    {
        tracing::warn!(
            log_group = name,
            "the target log group's class differs from the source's; a class is set only at creation"
        );
    }
    if live.retention != retention {
        set_retention(&at, retention).await?;
        changed = true;
    }
    if let Some(key) = kms_key
        && live.kms_key.as_deref() != Some(key)
    {
        // The key's policy must let CloudWatch Logs use it: the source's did, for the source.
        at.client
            .associate_kms_key()
            .log_group_name(name)
            .kms_key_id(key)
            .send()
            .await
            .map_err(at.error_of("AssociateKmsKey"))?;
        changed = true;
    }
    changed |= ensure_tags(&at, &arn, &tags).await?;
    if changed {
        verify(&at, &arn, retention, kms_key, &tags).await?;
    }
    Ok(Outcome::changed(changed))
}

/// `None`: the events never expire.
fn retention(config: &Value) -> Result<Option<i32>, StepError> {
    match config.get("RetentionInDays") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().and_then(|n| i32::try_from(n).ok()).map(Some).ok_or_else(|| {
            StepError::Input {
                field: "config.RetentionInDays".into(),
                message: "not a number of days".into(),
            }
        }),
    }
}

/// DescribeLogGroups takes a prefix: the exact name is looked for in every page.
async fn describe(at: &At<'_>) -> Result<Option<Live>, StepError> {
    let mut pages =
        at.client.describe_log_groups().log_group_name_prefix(at.name).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(at.error_of("DescribeLogGroups"))?;
        if let Some(g) = page.log_groups().iter().find(|g| g.log_group_name() == Some(at.name)) {
            return Ok(Some(Live {
                retention: g.retention_in_days(),
                class: g.log_group_class().map(|c| c.as_str().to_string()),
                kms_key: g.kms_key_id().map(str::to_string),
            }));
        }
    }
    Ok(None)
}

async fn create(
    at: &At<'_>,
    class: Option<&str>,
    kms_key: Option<&str>,
    tags: &BTreeMap<String, String>,
) -> Result<(), StepError> {
    let mut req = at
        .client
        .create_log_group()
        .log_group_name(at.name)
        .set_kms_key_id(kms_key.map(str::to_string))
        .set_log_group_class(class.map(LogGroupClass::from));
    if !tags.is_empty() {
        req = req.set_tags(Some(hash_map(tags)));
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = at.err("CreateLogGroup", e);
            // Created by an earlier run that died before the journal heard of it, between
            // our describe and this call: the rest of the step converges it.
            if matches!(&err, orgsplit_aws::AwsError::Call { code: Some(c), .. } if c == "ResourceAlreadyExistsException")
            {
                Ok(())
            } else {
                Err(err.into())
            }
        }
    }
}

async fn set_retention(at: &At<'_>, retention: Option<i32>) -> Result<(), StepError> {
    match retention {
        Some(days) => {
            at.client
                .put_retention_policy()
                .log_group_name(at.name)
                .retention_in_days(days)
                .send()
                .await
                .map_err(at.error_of("PutRetentionPolicy"))?;
        }
        None => {
            at.client
                .delete_retention_policy()
                .log_group_name(at.name)
                .send()
                .await
                .map_err(at.error_of("DeleteRetentionPolicy"))?;
        }
    }
    Ok(())
}

async fn live_tags(at: &At<'_>, arn: &str) -> Result<BTreeMap<String, String>, StepError> {
    let out = at
        .client
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(at.error_of("ListTagsForResource"))?;
    Ok(out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// Adds the plan's tags the target lacks; tags found only in the target are kept.
async fn ensure_tags(
    at: &At<'_>,
    arn: &str,
    wanted: &BTreeMap<String, String>,
) -> Result<bool, StepError> {
    if wanted.is_empty() {
        return Ok(false);
    }
    let missing = missing_tags(wanted, &live_tags(at, arn).await?);
    if missing.is_empty() {
        return Ok(false);
    }
    at.client
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(hash_map(&missing)))
        .send()
        .await
        .map_err(at.error_of("TagResource"))?;
    Ok(true)
}

async fn verify(
    at: &At<'_>,
    arn: &str,
    retention: Option<i32>,
    kms_key: Option<&str>,
    tags: &BTreeMap<String, String>,
) -> Result<(), StepError> {
    let Some(live) = describe(at).await? else {
        return Err(StepError::Verify(format!(
            "log group {} is not in the target after creating it",
            at.name
        )));
    };
    let mut differs = Vec::new();
    if live.retention != retention {
        differs.push("retention");
    }
    if kms_key.is_some_and(|k| live.kms_key.as_deref() != Some(k)) {
        differs.push("KMS key");
    }
    if !tags.is_empty() && !missing_tags(tags, &live_tags(at, arn).await?).is_empty() {
        differs.push("tags");
    }
    verified(&format!("log group {}", at.name), &differs)
}

fn hash_map(tags: &BTreeMap<String, String>) -> HashMap<String, String> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retention_absent_means_never_expire() {
        assert_eq!(retention(&json!({})).unwrap(), None);
        assert_eq!(retention(&json!({"RetentionInDays": 14})).unwrap(), Some(14));
        assert!(retention(&json!({"RetentionInDays": "x"})).is_err());
    }
}
