//! Secrets Manager secrets: metadata and tags from ListSecrets (100 a page, tags included).
//! Secret values are never requested (no GetSecretValue, no BatchGetSecretValue).
//!
//! Calls per region: `ListSecrets = max(1, ceil(n / 100))` for `n` secrets.

use orgsplit_aws::AccountSession;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::json;

use crate::InventoryError;
use crate::util::{aws_err, object, opt_str, tags, time};

pub async fn collect(
    session: &AccountSession,
    region: &str,
) -> Result<Vec<Resource>, InventoryError> {
    let client = session.secretsmanager(region);
    let account = session.account_id.as_str();
    let mut out = Vec::new();
    let mut pages = client
        .list_secrets()
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| aws_err("secretsmanager", "ListSecrets", account, region, e))?;
        for s in page.secret_list() {
            let (Some(name), Some(arn)) = (s.name(), s.arn()) else {
                tracing::warn!(?s, "secret without a name or ARN: skipped");
                continue;
            };
            let config = object([
                ("Description", opt_str(s.description())),
                ("KmsKeyId", opt_str(s.kms_key_id())),
                ("LastChangedDate", time(s.last_changed_date())),
                (
                    "RotationEnabled",
                    json!(s.rotation_enabled().unwrap_or(false)),
                ),
            ]);
            out.push(Resource::new(
                ResourceKind::Secret,
                name,
                arn,
                Some(region.to_string()),
                tags(s.tags().iter().map(|t| (t.key(), t.value()))),
                config,
                vec![],
            ));
        }
    }
    Ok(out)
}
