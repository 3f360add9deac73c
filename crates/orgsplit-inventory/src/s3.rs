//! S3 buckets (a global listing, collected once): configuration, and the objects counted
//! (never read: no GetObject). Each bucket is kept with its own region, inventoried regions
//! or not. Tags come from the Tagging API sweep.
//!
//! Calls, for `b` buckets and `o_k` objects in bucket `k`:
//! `ListBuckets = max(1, ceil(b / 10000))`; `GetBucketLocation` = the buckets ListBuckets
//! returned without `BucketRegion` (AWS includes it, so 0 there; the emulator does not, so
//! `b` there); `b` each of GetBucketVersioning, GetBucketEncryption, GetBucketPolicy,
//! GetPublicAccessBlock, GetBucketOwnershipControls, GetBucketCors,
//! GetBucketLifecycleConfiguration, GetBucketReplication, GetBucketNotificationConfiguration
//! and GetBucketLogging; `ListObjectsV2 = Σ_k min(10, max(1, ceil(o_k / 1000)))` when
//! objects are counted.

use aws_sdk_s3::types::ServerSideEncryptionConfiguration;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::stream::{self, StreamExt, TryStreamExt};
use orgsplit_aws::s3_config::{
    NO_CORS, NO_LIFECYCLE, NO_OWNERSHIP_CONTROLS, NO_POLICY, NO_PUBLIC_ACCESS_BLOCK, cors_json,
    lifecycle_json, ownership_json, public_access_block_json,
};
use orgsplit_aws::sdk_json::non_empty;
use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Value, json};

use crate::InventoryError;
use crate::util::{object, opt_str, policy_document, read};

const CONCURRENCY: usize = 8;

/// GetBucketLocation's answer as a region name (`null` is us-east-1, `EU` is eu-west-1).
fn location_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(r) => r.to_string(),
    }
}

pub async fn collect(
    session: &AccountSession,
    home_region: &str,
    count_objects: bool,
) -> Result<Vec<Resource>, InventoryError> {
    let s3 = session.s3(home_region);
    let listed = every_page!(s3.list_buckets().max_buckets(10000), buckets)
        .map_err(session.error_of("s3", "ListBuckets", home_region))?;
    let mut buckets: Vec<(String, Option<String>)> = Vec::new();
    for b in &listed {
        let Some(name) = b.name() else { continue };
        buckets.push((name.to_string(), b.bucket_region().map(str::to_string)));
    }
    stream::iter(buckets)
        .map(|(name, region)| {
            let s3 = s3.clone();
            async move {
                let region = match region {
                    Some(r) => r,
                    None => {
                        let loc = s3.get_bucket_location().bucket(&name).send();
                        match read("GetBucketLocation", &[], loc).await {
                            Ok(loc) => location_region(
                                loc.as_ref()
                                    .and_then(|l| l.location_constraint())
                                    .map(|c| c.as_str()),
                            ),
                            // Where it is cannot be read: nothing else can be either.
                            Err(why) => {
                                return Ok(unreadable_bucket(session, &name, home_region, why));
                            }
                        }
                    }
                };
                collect_bucket(session, &name, &region, count_objects).await
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

/// At most this many ListObjectsV2 pages (1,000 keys each) per bucket: beyond that the
/// count is a lower bound (`ObjectCountIsLowerBound`), so a bucket of millions of objects does
/// not hold the inventory up.
pub const MAX_OBJECT_PAGES: usize = 10;

/// A bucket's configuration. A Get call that fails (a bucket policy denying the access role,
/// an SCP) is recorded in `unreadable`, never the end of the inventory: the planner makes such
/// a bucket a manual item.
async fn collect_bucket(
    session: &AccountSession,
    name: &str,
    region: &str,
    count_objects: bool,
) -> Result<Resource, InventoryError> {
    let s3 = session.s3(region);
    let b = || name.to_string();
    let (versioning, encryption, policy, public_access, ownership, cors, lifecycle) = futures::join!(
        read("GetBucketVersioning", &[], s3.get_bucket_versioning().bucket(b()).send()),
        read(
            "GetBucketEncryption",
            &["ServerSideEncryptionConfigurationNotFoundError"],
            s3.get_bucket_encryption().bucket(b()).send()
        ),
        read("GetBucketPolicy", &[NO_POLICY], s3.get_bucket_policy().bucket(b()).send()),
        read(
            "GetPublicAccessBlock",
            &[NO_PUBLIC_ACCESS_BLOCK],
            s3.get_public_access_block().bucket(b()).send()
        ),
        read(
            "GetBucketOwnershipControls",
            &[NO_OWNERSHIP_CONTROLS],
            s3.get_bucket_ownership_controls().bucket(b()).send()
        ),
        read("GetBucketCors", &[NO_CORS], s3.get_bucket_cors().bucket(b()).send()),
        read(
            "GetBucketLifecycleConfiguration",
            &[NO_LIFECYCLE],
            s3.get_bucket_lifecycle_configuration().bucket(b()).send()
        ),
    );
    let (replication, notifications, logging, objects) = futures::join!(
        read(
            "GetBucketReplication",
            &["ReplicationConfigurationNotFoundError"],
            s3.get_bucket_replication().bucket(b()).send()
        ),
        read(
            "GetBucketNotificationConfiguration",
            &[],
            s3.get_bucket_notification_configuration().bucket(b()).send()
        ),
        read("GetBucketLogging", &[], s3.get_bucket_logging().bucket(b()).send()),
        count(&s3, name, count_objects),
    );
    let mut unreadable = Vec::new();
    macro_rules! ok {
        ($read:expr) => {
            match $read {
                Ok(v) => v,
                Err(why) => {
                    tracing::warn!(bucket = name, "{why}: recorded as unreadable");
                    unreadable.push(why);
                    None
                }
            }
        };
    }
    let versioning = ok!(versioning);
    let encryption = ok!(encryption).map_or(Value::Null, |out| {
        out.server_side_encryption_configuration().map_or(Value::Null, encryption_json)
    });
    let policy = ok!(policy).and_then(|p| p.policy().map(policy_document)).unwrap_or(Value::Null);
    let public_access = ok!(public_access).map_or(Value::Null, |p| {
        p.public_access_block_configuration().map_or(Value::Null, public_access_block_json)
    });
    let ownership = ok!(ownership)
        .map_or(Value::Null, |o| o.ownership_controls().map_or(Value::Null, ownership_json));
    let cors = ok!(cors).map_or(Value::Null, |c| cors_json(c.cors_rules()));
    let lifecycle = ok!(lifecycle).map_or(Value::Null, |l| lifecycle_json(l.rules()));
    let replication = ok!(replication).map_or(Value::Null, |r| {
        let destinations = r.replication_configuration().map(|c| {
            c.rules().iter().filter_map(|r| r.destination().map(|d| json!(d.bucket()))).collect()
        });
        destinations.map_or(Value::Null, non_empty)
    });
    let notifications = ok!(notifications).map_or(Value::Null, |n| {
        let mut to: Vec<Value> = Vec::new();
        to.extend(n.topic_configurations().iter().map(|c| json!(c.topic_arn())));
        to.extend(n.queue_configurations().iter().map(|c| json!(c.queue_arn())));
        to.extend(
            n.lambda_function_configurations().iter().map(|c| json!(c.lambda_function_arn())),
        );
        if n.event_bridge_configuration().is_some() {
            to.push(json!("EventBridge"));
        }
        non_empty(to)
    });
    let logging = ok!(logging)
        .and_then(|l| l.logging_enabled().map(|e| json!(e.target_bucket())))
        .unwrap_or(Value::Null);
    let (count, bytes, lower_bound) = match objects {
        Ok(v) => v,
        Err(why) => {
            unreadable.push(why);
            (Value::Null, Value::Null, false)
        }
    };
    let config = object([
        ("Region", json!(region)),
        ("Versioning", json!(versioning.as_ref().and_then(|v| v.status()).map(|s| s.as_str()))),
        ("MFADelete", json!(versioning.as_ref().and_then(|v| v.mfa_delete()).map(|s| s.as_str()))),
        ("Encryption", encryption),
        ("Policy", policy),
        ("PublicAccessBlock", public_access),
        ("OwnershipControls", ownership),
        ("Cors", cors),
        ("Lifecycle", lifecycle),
        // Not copied (the plan notes them): where the bucket replicates, notifies and logs to.
        ("ReplicationDestinations", replication),
        ("NotificationDestinations", notifications),
        ("LoggingTargetBucket", logging),
        ("ObjectCount", count),
        ("ObjectBytes", bytes),
        ("ObjectCountIsLowerBound", if lower_bound { json!(true) } else { Value::Null }),
    ]);
    // Roles the policy names as principals: S3 refuses a policy naming a principal that does
    // not exist ("Invalid principal in policy"), so they are copied first.
    let references =
        crate::iam::document_references(&config["Policy"], &session.account_id, "Policy");
    let mut r = Resource::new(
        ResourceKind::S3Bucket,
        name,
        format!("arn:{}:s3:::{name}", session.partition),
        Some(region.to_string()),
        Default::default(),
        config,
        references,
    );
    r.unreadable = unreadable;
    Ok(r)
}

fn unreadable_bucket(session: &AccountSession, name: &str, region: &str, why: String) -> Resource {
    tracing::warn!(bucket = name, "{why}: recorded as unreadable");
    let mut r = Resource::new(
        ResourceKind::S3Bucket,
        name,
        format!("arn:{}:s3:::{name}", session.partition),
        Some(region.to_string()),
        Default::default(),
        json!({}),
        vec![],
    );
    r.unreadable = vec![why];
    r
}

fn encryption_json(c: &ServerSideEncryptionConfiguration) -> Value {
    let rules: Vec<Value> = c
        .rules()
        .iter()
        .map(|r| {
            let default = r.apply_server_side_encryption_by_default().map_or(Value::Null, |d| {
                object([
                    ("SSEAlgorithm", json!(d.sse_algorithm().as_str())),
                    ("KMSMasterKeyID", opt_str(d.kms_master_key_id())),
                ])
            });
            object([
                ("ApplyServerSideEncryptionByDefault", default),
                ("BucketKeyEnabled", json!(r.bucket_key_enabled())),
            ])
        })
        .collect();
    json!({ "Rules": rules })
}

/// The objects' count and bytes, from at most [`MAX_OBJECT_PAGES`] pages (and whether that
/// cut the listing short); nulls when not asked to count. Counted for the reader (the review,
/// `copy_objects`); apply's staleness check does not count them: objects come and go by
/// themselves (see orgsplit_model::inventory::VOLATILE).
async fn count(
    s3: &aws_sdk_s3::Client,
    name: &str,
    count_objects: bool,
) -> Result<(Value, Value, bool), String> {
    if !count_objects {
        return Ok((Value::Null, Value::Null, false));
    }
    let mut pages = s3.list_objects_v2().bucket(name).max_keys(1000).into_paginator().send();
    let (mut objects, mut bytes, mut read_pages) = (0u64, 0i64, 0);
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("ListObjectsV2: {}", e.code().unwrap_or("error")))?;
        objects += page.contents().len() as u64;
        bytes += page.contents().iter().map(|o| o.size().unwrap_or(0)).sum::<i64>();
        read_pages += 1;
        if read_pages == MAX_OBJECT_PAGES && page.is_truncated() == Some(true) {
            return Ok((json!(objects), json!(bytes), true));
        }
    }
    Ok((json!(objects), json!(bytes), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_constraints() {
        assert_eq!(location_region(None), "us-east-1");
        assert_eq!(location_region(Some("")), "us-east-1");
        assert_eq!(location_region(Some("EU")), "eu-west-1");
        assert_eq!(location_region(Some("eu-central-1")), "eu-central-1");
    }
}
