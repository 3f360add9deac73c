//! Kinds orgsplit does not migrate, listed directly. The Tagging API sweep finds only
//! resources that carry tags or once did
//! (<https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html>):
//! a Lambda function or DynamoDB table nobody ever tagged is not in its answer. These
//! listings make such resources manual items of the plan instead of absent from it.
//!
//! A listing that fails (a service not enabled, an SCP) is recorded in the inventory's
//! coverage and shown in the review; it never ends the inventory.
//!
//! Calls per region: one page call per listing below (more when a listing has more pages).

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use futures::future::join_all;
use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::inventory::Coverage;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;

/// A listing's ARNs, or why it failed.
type Listed<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>, String>> + Send + 'a>>;

fn failed<E: ProvideErrorMetadata>(op: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{op}: {}", e.code().or(e.message()).unwrap_or("no answer"))
}

/// Every listing of one region, by what it lists.
fn listings<'a>(s: &'a AccountSession, region: &'a str) -> Vec<(&'static str, Listed<'a>)> {
    let account = s.account_id.as_str();
    let partition = s.partition.as_str();
    vec![
        (
            "Lambda functions",
            Box::pin(async move {
                let found = every_page!(s.lambda(region).list_functions(), functions);
                let found = found.map_err(failed("ListFunctions"))?;
                Ok(found.iter().filter_map(|f| f.function_arn().map(str::to_string)).collect())
            }),
        ),
        (
            "DynamoDB tables",
            Box::pin(async move {
                let found = every_page!(s.dynamodb(region).list_tables(), table_names);
                let found = found.map_err(failed("ListTables"))?;
                Ok(found
                    .iter()
                    .map(|t| format!("arn:{partition}:dynamodb:{region}:{account}:table/{t}"))
                    .collect())
            }),
        ),
        (
            "SQS queues",
            Box::pin(async move {
                let found = every_page!(s.sqs(region).list_queues(), queue_urls);
                let found = found.map_err(failed("ListQueues"))?;
                // https://sqs.REGION.amazonaws.com/ACCOUNT/NAME
                let name = |url: &String| url.rsplit('/').next().map(str::to_string);
                Ok(found
                    .iter()
                    .filter_map(name)
                    .map(|q| format!("arn:{partition}:sqs:{region}:{account}:{q}"))
                    .collect())
            }),
        ),
        (
            "SNS topics",
            Box::pin(async move {
                let found = every_page!(s.sns(region).list_topics(), topics);
                let found = found.map_err(failed("ListTopics"))?;
                Ok(found.iter().filter_map(|t| t.topic_arn().map(str::to_string)).collect())
            }),
        ),
        (
            "RDS instances",
            Box::pin(async move {
                let found = every_page!(s.rds(region).describe_db_instances(), db_instances);
                let found = found.map_err(failed("DescribeDBInstances"))?;
                Ok(found.iter().filter_map(|d| d.db_instance_arn().map(str::to_string)).collect())
            }),
        ),
        (
            "RDS clusters",
            Box::pin(async move {
                let found = every_page!(s.rds(region).describe_db_clusters(), db_clusters);
                let found = found.map_err(failed("DescribeDBClusters"))?;
                Ok(found.iter().filter_map(|d| d.db_cluster_arn().map(str::to_string)).collect())
            }),
        ),
        (
            "Step Functions state machines",
            Box::pin(async move {
                let found =
                    every_page!(s.stepfunctions(region).list_state_machines(), state_machines);
                let found = found.map_err(failed("ListStateMachines"))?;
                Ok(found.iter().map(|m| m.state_machine_arn().to_string()).collect())
            }),
        ),
        (
            "API Gateway REST APIs",
            Box::pin(async move {
                let found = every_page!(s.apigateway(region).get_rest_apis(), items);
                let found = found.map_err(failed("GetRestApis"))?;
                let arn = |id: &str| format!("arn:{partition}:apigateway:{region}::/restapis/{id}");
                Ok(found.iter().filter_map(|a| a.id().map(arn)).collect())
            }),
        ),
        (
            "API Gateway HTTP and WebSocket APIs",
            Box::pin(async move {
                // GetApis has no paginator in the SDK: one page of up to 500 is read.
                let found = s.apigatewayv2(region).get_apis().max_results("500").send().await;
                let found = found.map_err(failed("GetApis"))?;
                let arn = |id: &str| format!("arn:{partition}:apigateway:{region}::/apis/{id}");
                Ok(found.items().iter().filter_map(|a| a.api_id().map(arn)).collect())
            }),
        ),
        (
            "Kinesis streams",
            Box::pin(async move {
                let found = every_page!(s.kinesis(region).list_streams(), stream_summaries);
                let found = found.map_err(failed("ListStreams"))?;
                Ok(found.iter().map(|k| k.stream_arn().to_string()).collect())
            }),
        ),
        (
            "ElastiCache clusters",
            Box::pin(async move {
                let found =
                    every_page!(s.elasticache(region).describe_cache_clusters(), cache_clusters);
                let found = found.map_err(failed("DescribeCacheClusters"))?;
                Ok(found.iter().filter_map(|c| c.arn().map(str::to_string)).collect())
            }),
        ),
        (
            "EventBridge buses",
            Box::pin(async move {
                let found = s.events(region).list_event_buses().send().await;
                let found = found.map_err(failed("ListEventBuses"))?;
                // Every account has the default bus; the others are the workload's.
                let custom = found.event_buses().iter().filter(|b| b.name() != Some("default"));
                Ok(custom.filter_map(|b| b.arn().map(str::to_string)).collect())
            }),
        ),
        (
            "ECR pull-through cache rules",
            Box::pin(async move {
                let found = every_page!(
                    s.ecr(region).describe_pull_through_cache_rules(),
                    pull_through_cache_rules
                );
                let found = found.map_err(failed("DescribePullThroughCacheRules"))?;
                // A rule has no ARN: orgsplit names it by its repository prefix.
                let id = |p: &str| {
                    format!("arn:{partition}:ecr:{region}:{account}:pull-through-cache-rule/{p}")
                };
                Ok(found.iter().filter_map(|r| r.ecr_repository_prefix().map(id)).collect())
            }),
        ),
    ]
}

/// The resources every listing of `region` found, as `other` resources (untagged: the
/// Tagging API sweep gives the tagged ones their tags), and what each listing did.
pub async fn collect(session: &AccountSession, region: &str) -> (Vec<Resource>, Vec<Coverage>) {
    let (names, futures): (Vec<_>, Vec<_>) = listings(session, region).into_iter().unzip();
    let mut resources = Vec::new();
    let mut coverage = Vec::new();
    for (listing, found) in names.into_iter().zip(join_all(futures).await) {
        let (found, error) = match found {
            Ok(arns) => (arns, None),
            Err(why) => {
                tracing::warn!(region, "{listing}: {why}: not listed");
                (Vec::new(), Some(why))
            }
        };
        coverage.push(Coverage {
            listing: listing.to_string(),
            region: region.to_string(),
            found: found.len(),
            error,
        });
        resources.extend(found.into_iter().map(|arn| other(&arn, region, Default::default())));
    }
    (resources, coverage)
}

/// An `other` resource: a kind orgsplit does not migrate, named by its ARN.
pub(crate) fn other(
    arn: &str,
    region: &str,
    tags: std::collections::BTreeMap<String, String>,
) -> Resource {
    let service = arn.split(':').nth(2).unwrap_or("").to_string();
    let resource_type = arn
        .splitn(6, ':')
        .nth(5)
        .and_then(|r| r.split(['/', ':']).find(|p| !p.is_empty()))
        .unwrap_or("");
    Resource::new(
        ResourceKind::Other,
        arn,
        arn,
        Some(region.to_string()),
        tags,
        json!({ "service": service, "resource_type": resource_type }),
        vec![],
    )
}
