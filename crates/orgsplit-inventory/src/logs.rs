//! CloudWatch Logs log groups (DescribeLogGroups, 50 a page). Tags come from the Tagging
//! API sweep; log events are never read.
//!
//! Calls per region, for `n` log groups: `DescribeLogGroups = max(1, ceil(n / 50))`.

use orgsplit_aws::AccountSession;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::json;

use crate::InventoryError;
use crate::util::{aws_err, object, opt_str};

pub async fn collect(
    session: &AccountSession,
    region: &str,
) -> Result<Vec<Resource>, InventoryError> {
    let logs = session.logs(region);
    let account = session.account_id.as_str();
    let mut out = Vec::new();
    let mut pages = logs.describe_log_groups().limit(50).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_err("logs", "DescribeLogGroups", account, region, e))?;
        for g in page.log_groups() {
            let Some(name) = g.log_group_name() else {
                continue;
            };
            // Built, not taken from `arn`: that one ends in `:*` (the log streams).
            let arn = format!("arn:aws:logs:{region}:{account}:log-group:{name}");
            let config = object([
                ("RetentionInDays", json!(g.retention_in_days())),
                ("KmsKeyId", opt_str(g.kms_key_id())),
                (
                    "LogGroupClass",
                    json!(g.log_group_class().map(|c| c.as_str())),
                ),
            ]);
            out.push(Resource::new(
                ResourceKind::LogGroup,
                name,
                arn,
                Some(region.to_string()),
                Default::default(),
                config,
                vec![],
            ));
        }
    }
    Ok(out)
}
