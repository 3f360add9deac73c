//! Listings that more than one crate reads (the inventory, `pipelines scan` and `migrate`):
//! one home each, every page read, at the largest page size the API allows.

use aws_sdk_codepipeline::types::ListWebhookItem;

use crate::{AccountSession, AwsError, call_error};

/// The names of every pipeline of a region (`ListPipelines`, up to 1,000 a page).
pub async fn pipeline_names(
    session: &AccountSession,
    region: &str,
) -> Result<Vec<String>, AwsError> {
    let client = session.codepipeline(region);
    let account = session.account_id.as_str();
    let mut names = Vec::new();
    let mut pages = client
        .list_pipelines()
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| call_error("codepipeline", "ListPipelines", account, region, e))?;
        names.extend(
            page.pipelines()
                .iter()
                .filter_map(|p| p.name())
                .map(str::to_string),
        );
    }
    Ok(names)
}

/// Every webhook of a region (`ListWebhooks`, up to 100 a page). Each holds its secret
/// token: the callers drop it before anything is kept.
pub async fn pipeline_webhooks(
    session: &AccountSession,
    region: &str,
) -> Result<Vec<ListWebhookItem>, AwsError> {
    let client = session.codepipeline(region);
    let account = session.account_id.as_str();
    let mut out = Vec::new();
    let mut pages = client
        .list_webhooks()
        .max_results(100)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| call_error("codepipeline", "ListWebhooks", account, region, e))?;
        out.extend(page.webhooks().iter().cloned());
    }
    Ok(out)
}
