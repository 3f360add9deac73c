//! Every paginated collector on more than one page, and the calls it makes: for each
//! operation the request log must show exactly the count of the formula documented at the
//! top of the collector's module (at the page sizes the emulator honours; where moto ignores
//! the page size it answers in one page, and the test says so).

use futures::stream::{self, StreamExt, TryStreamExt};
use orgsplit_aws::{AccountSession, Aws, AwsOptions};
use orgsplit_inventory::{InventoryOptions, NoReporter};
use orgsplit_model::{Resource, ResourceKind};
use orgsplit_testkit::{Emulator, MANAGEMENT_ACCOUNT};
use std::collections::BTreeMap;
use std::error::Error;

use orgsplit_testkit::runtime;

mod setup;
use setup::setup;

type Res<T = ()> = Result<T, Box<dyn Error + Send + Sync>>;

const REGION: &str = "us-east-1";
const PARAMETERS: usize = 120; // DescribeParameters: 50 a page -> 3 pages
const SECRETS: usize = 101; // ListSecrets: 100 a page -> 2
const LOG_GROUPS: usize = 60; // DescribeLogGroups: 50 a page -> 2
const RULES: usize = 101; // ListRules: 100 a page -> 2
const FAMILIES: usize = 12;
const SERVICES: usize = 12; // DescribeServices: 10 a call -> 2
const TASKS: usize = 101; // DescribeTasks: 100 a call -> 2
const REPOSITORIES: usize = 3;
const SCHEDULES: usize = 3;
const PIPELINES: usize = 2;
const WEBHOOKS: usize = 101; // ListWebhooks: 100 a page -> 2
const ROLES: usize = 4;
const POLICIES: usize = 3;
const OBJECTS: usize = 1001; // ListObjectsV2: 1000 a page -> 2
const WEBHOOK_SECRET: &str = "whsec-pagination-0f9e8d7c";
const SECRET_VALUE: &str = "pagination-secret-value";
const GITHUB_TOKEN: &str = "ghp_paginationTokenXyZ0123456789abcdefAB";

fn ceil(n: usize, page: usize) -> usize {
    n.div_ceil(page)
}

/// Runs `n` setup calls, 16 at a time.
async fn each<F, Fut>(n: usize, f: F) -> Res
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Res>,
{
    stream::iter(0..n).map(f).buffer_unordered(16).try_collect::<Vec<()>>().await?;
    Ok(())
}

/// A subnet and a security group of the emulator's default VPC (moto makes one per account
/// and region). Asked with plain EC2 query calls: this crate has no EC2 client, and moto
/// checks no signature.
fn default_network(emu: &Emulator) -> (String, String) {
    let ask = |action: &str, tag: &str| {
        let body = reqwest::blocking::Client::new()
            .post(format!("{}/", emu.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/ec2/aws4_request, \
                     SignedHeaders=host, Signature=0"
                ),
            )
            .body(format!("Action={action}&Version=2016-11-15"))
            .send()
            .and_then(|r| r.text())
            .unwrap_or_else(|e| panic!("{action}: {e}"));
        body.split(&format!("<{tag}>"))
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or_else(|| panic!("no {tag} in {body}"))
            .to_string()
    };
    (ask("DescribeSubnets", "subnetId"), ask("DescribeSecurityGroups", "groupId"))
}
fn count(resources: &[Resource], kind: ResourceKind) -> usize {
    resources.iter().filter(|r| r.kind == kind).count()
}

#[test]
fn every_page_is_read_with_the_fewest_calls() {
    let emu = Emulator::start();
    emu.export_env();
    let network = default_network(&emu);
    let rt = runtime();
    let set_up = rt.block_on(async {
        let setup_aws = Aws::load(AwsOptions {
            endpoint_url: Some(emu.url.clone()),
            ..AwsOptions::new(REGION)
        })
        .await
        .expect("aws config");
        let s = setup_aws.session(MANAGEMENT_ACCOUNT).await.expect("session");
        setup(&s, &network).await
    });
    if let Err(e) = set_up {
        let failed: Vec<_> = emu
            .requests()
            .into_iter()
            .filter(|r| r["status"].as_u64().is_none_or(|s| s >= 400))
            .collect();
        panic!("setup: {e}\nfailed calls: {failed:#?}");
    }
    emu.clear_requests();

    let resources = rt.block_on(async {
        let aws = Aws::load(AwsOptions {
            endpoint_url: Some(emu.url.clone()),
            ..AwsOptions::new(REGION)
        })
        .await
        .expect("aws config");
        let s = aws.session(MANAGEMENT_ACCOUNT).await.expect("session");
        orgsplit_inventory::collect_account(
            &s,
            &InventoryOptions {
                source_account_id: MANAGEMENT_ACCOUNT.into(),
                home_region: REGION.into(),
                regions: vec![REGION.into()],
                created_at: "2026-01-01T00:00:00Z".into(),
                count_objects: true,
            },
            &NoReporter,
        )
        .await
        .expect("collect")
    });

    // Complete.
    assert_eq!(count(&resources, ResourceKind::SsmParameter), PARAMETERS);
    assert_eq!(count(&resources, ResourceKind::Secret), SECRETS);
    assert_eq!(count(&resources, ResourceKind::LogGroup), LOG_GROUPS);
    assert_eq!(count(&resources, ResourceKind::EventsRule), RULES);
    assert_eq!(count(&resources, ResourceKind::EcsCluster), 2);
    assert_eq!(count(&resources, ResourceKind::EcsTaskDefinition), FAMILIES);
    assert_eq!(count(&resources, ResourceKind::EcsService), SERVICES);
    assert_eq!(count(&resources, ResourceKind::EcsTask), TASKS);
    assert_eq!(count(&resources, ResourceKind::EcrRepository), REPOSITORIES);
    assert_eq!(count(&resources, ResourceKind::Schedule), SCHEDULES);
    assert_eq!(count(&resources, ResourceKind::Pipeline), PIPELINES);
    assert_eq!(count(&resources, ResourceKind::IamRole), ROLES);
    assert_eq!(count(&resources, ResourceKind::IamPolicy), POLICIES);
    assert_eq!(count(&resources, ResourceKind::S3Bucket), 2);
    let find = |kind: ResourceKind, name: &str| {
        resources
            .iter()
            .find(|r| r.kind == kind && r.name == name)
            .unwrap_or_else(|| panic!("{kind}:{name} missing"))
    };
    let big = find(ResourceKind::S3Bucket, "big-bucket");
    assert_eq!(big.config["ObjectCount"], OBJECTS);
    assert_eq!(big.config["ObjectBytes"], 5 * OBJECTS);
    let eu = find(ResourceKind::S3Bucket, "eu-bucket");
    assert_eq!(eu.region.as_deref(), Some("eu-west-1"));
    assert_eq!(eu.config["Region"], "eu-west-1");
    let pipe = find(ResourceKind::Pipeline, "pipe-0");
    assert_eq!(pipe.config["webhooks"].as_array().map(Vec::len), Some(WEBHOOKS));
    assert_eq!(pipe.tags.get("n").map(String::as_str), Some("0"));
    assert_eq!(
        find(ResourceKind::IamPolicy, "policy-2").tags.get("n").map(String::as_str),
        Some("2")
    );
    assert_eq!(
        find(ResourceKind::EcrRepository, "repo-1").tags.get("n").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        find(ResourceKind::Secret, "app/s100").tags.get("n").map(String::as_str),
        Some("100")
    );
    assert_eq!(
        find(ResourceKind::SsmParameter, "/app/p000").tags.get("team").map(String::as_str),
        Some("core")
    );
    let role0 = find(ResourceKind::IamRole, "role-0");
    assert_eq!(
        role0.references[0].arn,
        format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:policy/policy-0")
    );
    assert_eq!(role0.references[0].via, "AttachedManagedPolicies[0]");
    let json = serde_json::to_string(&resources).expect("serialise");
    for secret in [WEBHOOK_SECRET, SECRET_VALUE, GITHUB_TOKEN, "value-1"] {
        assert!(!json.contains(secret), "{secret} is in the inventory");
    }

    // Calls per operation, as the modules' formulas say.
    let mut calls: BTreeMap<(String, String), usize> = BTreeMap::new();
    for r in emu.requests() {
        assert_eq!(r["mutating"], false, "{r}");
        if r["account"] != MANAGEMENT_ACCOUNT {
            continue;
        }
        let key = (
            r["service"].as_str().unwrap_or_default().to_string(),
            r["operation"].as_str().unwrap_or_default().to_string(),
        );
        *calls.entry(key).or_default() += 1;
    }
    let roles_total = ROLES + 2; // + the service-linked role and the access role
    let expected: &[(&str, &str, usize)] = &[
        // 50 a page, as AWS serves them (the emulator corrects moto's 10, see
        // docs/emulator-gaps.md).
        ("ssm", "DescribeParameters", ceil(PARAMETERS, 50)),
        ("secretsmanager", "ListSecrets", ceil(SECRETS, 100)),
        ("logs", "DescribeLogGroups", ceil(LOG_GROUPS, 50)),
        ("events", "ListRules", ceil(RULES, 100)),
        ("events", "ListTargetsByRule", RULES),
        // moto ignores maxResults for ListClusters, ListTaskDefinitionFamilies,
        // ListServices and ListTasks (one page each); the batches are ours.
        ("ecs", "ListClusters", 1),
        ("ecs", "DescribeClusters", ceil(2, 100)),
        ("ecs", "ListTaskDefinitionFamilies", ceil(FAMILIES, 100)),
        ("ecs", "DescribeTaskDefinition", FAMILIES),
        ("ecs", "ListServices", 2),                      // one per cluster
        ("ecs", "DescribeServices", ceil(SERVICES, 10)), // the small cluster: none
        ("ecs", "ListTasks", 2), // AWS: ceil(101/100) + 1 = 3; moto: one page per cluster
        ("ecs", "DescribeTasks", ceil(TASKS + SERVICES, 100)), // service tasks included, if any run
        ("ecr", "DescribeRepositories", 1),
        ("ecr", "ListTagsForResource", REPOSITORIES),
        ("scheduler", "ListSchedules", 1),
        ("scheduler", "GetSchedule", SCHEDULES),
        ("codepipeline", "ListPipelines", 1),
        ("codepipeline", "GetPipeline", PIPELINES),
        ("codepipeline", "ListTagsForResource", PIPELINES),
        ("codepipeline", "ListWebhooks", ceil(WEBHOOKS, 100)),
        ("iam", "GetAccountAuthorizationDetails", ceil(roles_total + POLICIES, 1000)),
        ("iam", "ListRoles", ceil(roles_total, 1000)),
        ("iam", "ListPolicyTags", POLICIES),
        ("s3", "ListBuckets", 1),
        ("s3", "GetBucketLocation", 2), // moto's ListBuckets has no BucketRegion
        ("s3", "GetBucketVersioning", 2),
        ("s3", "GetBucketEncryption", 2),
        ("s3", "GetBucketPolicy", 2),
        ("s3", "GetPublicAccessBlock", 2),
        ("s3", "GetBucketOwnershipControls", 2),
        ("s3", "GetBucketCors", 2),
        ("s3", "GetBucketLifecycleConfiguration", 2),
        ("s3", "GetBucketReplication", 2),
        ("s3", "GetBucketNotificationConfiguration", 2),
        ("s3", "GetBucketLogging", 2),
        ("s3", "ListObjectsV2", ceil(OBJECTS, 1000) + 1),
        // no keys and no projects here: one page each, and nothing described
        ("kms", "ListKeys", 1),
        ("kms", "ListAliases", 1),
        ("codebuild", "ListProjects", 1),
    ];
    let mut wrong = Vec::new();
    for (service, op, want) in expected {
        let got = calls.remove(&(service.to_string(), op.to_string())).unwrap_or(0);
        if got != *want {
            wrong.push(format!("{service}:{op}: {got} calls, formula {want}"));
        }
    }
    // What is left: the Tagging API sweep (not a collector of this change) and the
    // session's caller lookup, nothing else.
    calls.remove(&("tagging".to_string(), "GetResources".to_string()));
    calls.remove(&("sts".to_string(), "GetCallerIdentity".to_string()));
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(calls.is_empty(), "calls no formula accounts for: {calls:?}");
}
