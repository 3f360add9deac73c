//! SSM parameters: metadata only (DescribeParameters, 50 a page). Values are never read
//! here; tags come from the Tagging API sweep.

use orgsplit_aws::AccountSession;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::json;

use crate::InventoryError;
use crate::util::{aws_err, object, opt_str, time};

pub async fn collect(
    session: &AccountSession,
    region: &str,
) -> Result<Vec<Resource>, InventoryError> {
    let ssm = session.ssm(region);
    let account = session.account_id.as_str();
    let mut out = Vec::new();
    let mut pages = ssm
        .describe_parameters()
        .max_results(50)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_err("ssm", "DescribeParameters", account, region, e))?;
        for p in page.parameters() {
            let Some(name) = p.name() else { continue };
            let arn = p.arn().map(str::to_string).unwrap_or_else(|| {
                let sep = if name.starts_with('/') { "" } else { "/" };
                format!("arn:aws:ssm:{region}:{account}:parameter{sep}{name}")
            });
            let config = object([
                ("Type", json!(p.r#type().map(|t| t.as_str()))),
                ("Tier", json!(p.tier().map(|t| t.as_str()))),
                ("DataType", opt_str(p.data_type())),
                ("Description", opt_str(p.description())),
                ("AllowedPattern", opt_str(p.allowed_pattern())),
                ("KeyId", opt_str(p.key_id())),
                ("Version", json!(p.version())),
                ("LastModifiedDate", time(p.last_modified_date())),
            ]);
            out.push(Resource::new(
                ResourceKind::SsmParameter,
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
