//! S3 buckets (a global listing, collected once): configuration, and the objects counted
//! (never read: no GetObject). Each bucket is kept with its own region, inventoried regions
//! or not. Tags come from the Tagging API sweep.
//!
//! Calls, for `b` buckets and `o_k` objects in bucket `k`:
//! `ListBuckets = max(1, ceil(b / 10000))`; `GetBucketLocation` = the buckets ListBuckets
//! returned without `BucketRegion` (AWS includes it, so 0 there; the emulator does not, so
//! `b` there); `GetBucketVersioning = b`, `GetBucketEncryption = b`,
//! `ListObjectsV2 = Σ_k max(1, ceil(o_k / 1000))`.

use futures::stream::{self, StreamExt, TryStreamExt};
use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Value, json};

use crate::InventoryError;
use crate::util::{object, opt_str};

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
                        let loc =
                            s3.get_bucket_location().bucket(&name).send().await.map_err(
                                session.error_of("s3", "GetBucketLocation", home_region),
                            )?;
                        location_region(loc.location_constraint().map(|c| c.as_str()))
                    }
                };
                collect_bucket(session, &name, &region, count_objects).await
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await
}

async fn collect_bucket(
    session: &AccountSession,
    name: &str,
    region: &str,
    count_objects: bool,
) -> Result<Resource, InventoryError> {
    let s3 = session.s3(region);
    let versioning = async {
        s3.get_bucket_versioning().bucket(name).send().await.map_err(session.error_of(
            "s3",
            "GetBucketVersioning",
            region,
        ))
    };
    let encryption = async {
        match s3.get_bucket_encryption().bucket(name).send().await {
            Ok(out) => Ok(out.server_side_encryption_configuration().map_or(Value::Null, |c| {
                let rules: Vec<Value> = c
                    .rules()
                    .iter()
                    .map(|r| {
                        object([
                            (
                                "ApplyServerSideEncryptionByDefault",
                                r.apply_server_side_encryption_by_default().map_or(
                                    Value::Null,
                                    |d| {
                                        object([
                                            ("SSEAlgorithm", json!(d.sse_algorithm().as_str())),
                                            ("KMSMasterKeyID", opt_str(d.kms_master_key_id())),
                                        ])
                                    },
                                ),
                            ),
                            ("BucketKeyEnabled", json!(r.bucket_key_enabled())),
                        ])
                    })
                    .collect();
                json!({ "Rules": rules })
            })),
            Err(e)
                if aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&e)
                    == Some("ServerSideEncryptionConfigurationNotFoundError") =>
            {
                Ok(Value::Null)
            }
            Err(e) => Err(session.error_of("s3", "GetBucketEncryption", region)(e)),
        }
    };
    // Counted for the reader (the review, `copy_objects`); apply's staleness check does not
    // count them: objects come and go by themselves (see orgsplit_model::inventory::VOLATILE).
    let objects = async {
        if !count_objects {
            return Ok::<_, orgsplit_aws::AwsError>((Value::Null, Value::Null));
        }
        let objects = every_page!(s3.list_objects_v2().bucket(name).max_keys(1000), contents)
            .map_err(session.error_of("s3", "ListObjectsV2", region))?;
        let bytes: i64 = objects.iter().map(|o| o.size().unwrap_or(0)).sum();
        Ok((json!(objects.len()), json!(bytes)))
    };
    let (versioning, encryption, (count, bytes)) =
        futures::try_join!(versioning, encryption, objects)?;
    let config = object([
        ("Region", json!(region)),
        ("Versioning", json!(versioning.status().map(|s| s.as_str()))),
        ("MFADelete", json!(versioning.mfa_delete().map(|s| s.as_str()))),
        ("Encryption", encryption),
        ("ObjectCount", count),
        ("ObjectBytes", bytes),
    ]);
    Ok(Resource::new(
        ResourceKind::S3Bucket,
        name,
        format!("arn:aws:s3:::{name}"),
        Some(region.to_string()),
        Default::default(),
        config,
        vec![],
    ))
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
