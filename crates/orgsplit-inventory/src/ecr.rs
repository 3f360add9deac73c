//! ECR repositories (DescribeRepositories, 1,000 a page) with their tags (ListTagsForResource
//! each: the listing has none, and the emulator's Tagging API does not cover ECR). Images
//! are not listed: repositories stay in the source account as the shared registry.
//!
//! Calls per region, for `n` repositories: `DescribeRepositories = max(1, ceil(n / 1000))`,
//! `ListTagsForResource = n`.

use futures::stream::{self, StreamExt, TryStreamExt};
use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Value, json};

use crate::InventoryError;
use crate::util::{Collected, object, opt_str, tags};

const CONCURRENCY: usize = 8;

pub async fn collect(session: &AccountSession, region: &str) -> Collected {
    let ecr = session.ecr(region);
    let repos = every_page!(ecr.describe_repositories().max_results(1000), repositories)
        .map_err(session.error_of("ecr", "DescribeRepositories", region))?;
    let collected: Vec<Option<Resource>> = stream::iter(repos)
        .map(|r| {
            let ecr = ecr.clone();
            async move {
                let (Some(name), Some(arn)) = (r.repository_name(), r.repository_arn()) else {
                    tracing::warn!(?r, "repository without a name or ARN: skipped");
                    return Ok(None);
                };
                let listed = ecr
                    .list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
                    .await
                    .map_err(session.error_of("ecr", "ListTagsForResource", region))?;
                let config = object([
                    ("repositoryUri", json!(r.repository_uri())),
                    ("imageTagMutability", json!(r.image_tag_mutability().map(|m| m.as_str()))),
                    (
                        "imageScanningConfiguration",
                        r.image_scanning_configuration()
                            .map_or(Value::Null, |c| json!({ "scanOnPush": c.scan_on_push() })),
                    ),
                    (
                        "encryptionConfiguration",
                        r.encryption_configuration().map_or(Value::Null, |e| {
                            object([
                                ("encryptionType", json!(e.encryption_type().as_str())),
                                ("kmsKey", opt_str(e.kms_key())),
                            ])
                        }),
                    ),
                ]);
                Ok::<_, InventoryError>(Some(Resource::new(
                    ResourceKind::EcrRepository,
                    name,
                    arn,
                    Some(region.to_string()),
                    tags(listed.tags().iter().map(|t| (Some(t.key()), Some(t.value())))),
                    config,
                    vec![],
                )))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(collected.into_iter().flatten().collect())
}
