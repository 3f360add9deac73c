//! Listings that more than one crate reads (the inventory, apply, `pipelines scan` and
//! `migrate`):
//! one home each, every page read, at the largest page size the API allows.

use aws_sdk_codepipeline::types::ListWebhookItem;
use aws_sdk_eventbridge::types::{Rule, Target};
use std::collections::BTreeMap;

use crate::pages::token_pages;
use crate::{AccountSession, AwsError, every_page};

/// The names of every pipeline of a region (`ListPipelines`, up to 1,000 a page).
pub async fn pipeline_names(
    session: &AccountSession,
    region: &str,
) -> Result<Vec<String>, AwsError> {
    let request = session.codepipeline(region).list_pipelines().max_results(1000);
    let error_of = session.error_of("codepipeline", "ListPipelines", region);
    let pipelines = every_page!(request, pipelines).map_err(error_of)?;
    Ok(pipelines.iter().filter_map(|p| p.name().map(str::to_string)).collect())
}

/// Every webhook of a region (`ListWebhooks`, up to 100 a page). Each holds its secret
/// token: the callers drop it before anything is kept.
pub async fn pipeline_webhooks(
    session: &AccountSession,
    region: &str,
) -> Result<Vec<ListWebhookItem>, AwsError> {
    let request = session.codepipeline(region).list_webhooks().max_results(100);
    every_page!(request, webhooks).map_err(session.error_of("codepipeline", "ListWebhooks", region))
}

/// The tags of a pipeline (`ListTagsForResource`, up to 100 a page).
pub async fn pipeline_tags(
    session: &AccountSession,
    region: &str,
    arn: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let request =
        session.codepipeline(region).list_tags_for_resource().resource_arn(arn).max_results(100);
    let error_of = session.error_of("codepipeline", "ListTagsForResource", region);
    let tags = every_page!(request, tags).map_err(error_of)?;
    Ok(tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
}

/// Every EventBridge rule of a region's default event bus (`ListRules`, 100 a page).
pub async fn event_rules(session: &AccountSession, region: &str) -> Result<Vec<Rule>, AwsError> {
    let client = &session.events(region);
    token_pages(|token| async move {
        let request = client.list_rules().limit(100).set_next_token(token);
        let page = request.send().await.map_err(session.error_of("events", "ListRules", region))?;
        Ok((page.rules().to_vec(), page.next_token().map(str::to_string)))
    })
    .await
}

/// The targets of a rule on `bus` (the default bus when `None`; `ListTargetsByRule`, 100 a
/// page).
pub async fn rule_targets(
    session: &AccountSession,
    region: &str,
    rule: &str,
    bus: Option<&str>,
) -> Result<Vec<Target>, AwsError> {
    let client = &session.events(region);
    token_pages(|token| async move {
        let request = client
            .list_targets_by_rule()
            .rule(rule)
            .set_event_bus_name(bus.map(str::to_string))
            .limit(100)
            .set_next_token(token);
        let error_of = session.error_of("events", "ListTargetsByRule", region);
        let page = request.send().await.map_err(error_of)?;
        Ok((page.targets().to_vec(), page.next_token().map(str::to_string)))
    })
    .await
}
