//! The Resource Groups Tagging API sweep: every tagged resource of a region, 100 a page.
//! It gives the tags of kinds whose own APIs need a call per resource for them (SSM
//! parameters, log groups, EventBridge rules, S3 buckets), and finds the resources of types
//! orgsplit does not migrate, which become manual items.

use orgsplit_aws::{AccountSession, every_page};
use std::collections::BTreeMap;

use crate::InventoryError;
use crate::util::tags;

/// ARN -> tags, for one region.
pub async fn sweep(
    session: &AccountSession,
    region: &str,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, InventoryError> {
    let request = session.tagging(region).get_resources().resources_per_page(100);
    let error_of = session.error_of("tagging", "GetResources", region);
    let mappings = every_page!(request, resource_tag_mapping_list).map_err(error_of)?;
    let mut out = BTreeMap::new();
    for m in &mappings {
        let Some(arn) = m.resource_arn() else {
            continue;
        };
        out.insert(
            arn.to_string(),
            tags(m.tags().iter().map(|t| (Some(t.key()), Some(t.value())))),
        );
    }
    Ok(out)
}

/// Whether an ARN from the sweep belongs to a kind some collector covers (so it is not an
/// `other` item). Task definitions are covered by family (every revision), tasks by the
/// ECS collector.
pub fn is_covered_service(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let service = parts.nth(2).unwrap_or("");
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    match service {
        "ssm" => resource.starts_with("parameter/"),
        "secretsmanager" => resource.starts_with("secret:"),
        "iam" => resource.starts_with("role/") || resource.starts_with("policy/"),
        "ecs" => ["cluster/", "task-definition/", "service/", "task/"]
            .iter()
            .any(|p| resource.starts_with(p)),
        "events" => resource.starts_with("rule/"),
        "scheduler" => resource.starts_with("schedule/"),
        "codepipeline" => true,
        "s3" => !resource.contains('/'),
        "logs" => resource.starts_with("log-group:"),
        "ecr" => resource.starts_with("repository/"),
        "kms" => resource.starts_with("key/"),
        "codebuild" => resource.starts_with("project/"),
        _ => false,
    }
}
