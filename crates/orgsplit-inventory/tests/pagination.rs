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

type Res<T = ()> = Result<T, Box<dyn Error + Send + Sync>>;

const REGION: &str = "us-east-1";
const PARAMETERS: usize = 120; // DescribeParameters: 50 a page -> 3 pages (moto: 13, see below)
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
    stream::iter(0..n)
        .map(f)
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
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
    (
        ask("DescribeSubnets", "subnetId"),
        ask("DescribeSecurityGroups", "groupId"),
    )
}

async fn setup(s: &AccountSession, (subnet, group): &(String, String)) -> Res {
    let network = aws_sdk_ecs::types::NetworkConfiguration::builder()
        .awsvpc_configuration(
            aws_sdk_ecs::types::AwsVpcConfiguration::builder()
                .subnets(subnet)
                .security_groups(group)
                .build()?,
        )
        .build();
    let account = MANAGEMENT_ACCOUNT;
    let ssm = s.ssm(REGION);
    each(PARAMETERS, |i| {
        let ssm = ssm.clone();
        async move {
            let mut put = ssm
                .put_parameter()
                .name(format!("/app/p{i:03}"))
                .value(format!("value-{i}"))
                .r#type(aws_sdk_ssm::types::ParameterType::String);
            if i == 0 {
                put = put.tags(
                    aws_sdk_ssm::types::Tag::builder()
                        .key("team")
                        .value("core")
                        .build()?,
                );
            }
            put.send().await?;
            Ok(())
        }
    })
    .await?;
    let sm = s.secretsmanager(REGION);
    each(SECRETS, |i| {
        let sm = sm.clone();
        async move {
            sm.create_secret()
                .name(format!("app/s{i:03}"))
                .secret_string(format!("{SECRET_VALUE}-{i}"))
                .tags(
                    aws_sdk_secretsmanager::types::Tag::builder()
                        .key("n")
                        .value(i.to_string())
                        .build(),
                )
                .send()
                .await?;
            Ok(())
        }
    })
    .await?;
    let logs = s.logs(REGION);
    each(LOG_GROUPS, |i| {
        let logs = logs.clone();
        async move {
            logs.create_log_group()
                .log_group_name(format!("/app/g{i:03}"))
                .send()
                .await?;
            Ok(())
        }
    })
    .await?;

    // IAM: roles (one with an attached customer policy), policies with tags.
    let iam = s.iam();
    let trust = |service: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    };
    for i in 0..POLICIES {
        iam.create_policy()
            .policy_name(format!("policy-{i}"))
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}"#,
            )
            .tags(
                aws_sdk_iam::types::Tag::builder()
                    .key("n")
                    .value(i.to_string())
                    .build()?,
            )
            .send()
            .await?;
    }
    for i in 0..ROLES - 1 {
        iam.create_role()
            .role_name(format!("role-{i}"))
            .assume_role_policy_document(trust("ecs-tasks.amazonaws.com"))
            .send()
            .await?;
    }
    iam.attach_role_policy()
        .role_name("role-0")
        .policy_arn(format!("arn:aws:iam::{account}:policy/policy-0"))
        .send()
        .await?;
    iam.create_role()
        .role_name("pipeline-role")
        .assume_role_policy_document(trust("codepipeline.amazonaws.com"))
        .send()
        .await?;
    // Skipped by the collector: a service-linked role and the access role.
    iam.create_role()
        .role_name("AWSServiceRoleForECS")
        .path("/aws-service-role/ecs.amazonaws.com/")
        .assume_role_policy_document(trust("ecs.amazonaws.com"))
        .send()
        .await?;
    iam.create_role()
        .role_name("OrganizationAccountAccessRole")
        .assume_role_policy_document(trust("ecs.amazonaws.com"))
        .send()
        .await?;

    // ECS: two clusters, one with every service and task.
    let ecs = s.ecs(REGION);
    for c in ["big", "small"] {
        ecs.create_cluster().cluster_name(c).send().await?;
    }
    for i in 0..FAMILIES {
        ecs.register_task_definition()
            .family(format!("fam-{i:02}"))
            .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("app")
                    .image(format!("{account}.dkr.ecr.{REGION}.amazonaws.com/repo-0:1"))
                    .cpu(256)
                    .memory(512)
                    .essential(true)
                    .build(),
            )
            .send()
            .await?;
    }
    for i in 0..SERVICES {
        ecs.create_service()
            .cluster("big")
            .service_name(format!("svc-{i:02}"))
            .task_definition(format!("fam-{:02}", i % FAMILIES))
            .desired_count(1)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .network_configuration(network.clone())
            .send()
            .await?;
    }
    let mut started = 0;

    while started < TASKS {
        let n = (TASKS - started).min(10);
        let out = ecs
            .run_task()
            .cluster("big")
            .task_definition("fam-00")
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .count(n as i32)
            .network_configuration(network.clone())
            .started_by("batch")
            .send()
            .await?;
        started += out.tasks().len();
        if out.tasks().is_empty() {
            return Err(format!("RunTask started nothing: {:?}", out.failures()).into());
        }
    }

    // EventBridge rules, some with an ECS target.
    let events = s.events(REGION);
    each(RULES, |i| {
        let events = events.clone();
        async move {
            let name = format!("rule-{i:03}");
            events
                .put_rule()
                .name(&name)
                .schedule_expression("rate(1 day)")
                .send()
                .await?;
            if i < 3 {
                events
                    .put_targets()
                    .rule(&name)
                    .targets(
                        aws_sdk_eventbridge::types::Target::builder()
                            .id("t")
                            .arn(format!("arn:aws:ecs:{REGION}:{account}:cluster/big"))
                            .role_arn(format!("arn:aws:iam::{account}:role/role-1"))
                            .build()?,
                    )
                    .send()
                    .await?;
            }
            Ok(())
        }
    })
    .await?;

    let scheduler = s.scheduler(REGION);
    for i in 0..SCHEDULES {
        scheduler
            .create_schedule()
            .name(format!("sched-{i}"))
            .schedule_expression("rate(1 hour)")
            .flexible_time_window(
                aws_sdk_scheduler::types::FlexibleTimeWindow::builder()
                    .mode(aws_sdk_scheduler::types::FlexibleTimeWindowMode::Off)
                    .build()?,
            )
            .target(
                aws_sdk_scheduler::types::Target::builder()
                    .arn(format!("arn:aws:ecs:{REGION}:{account}:cluster/big"))
                    .role_arn(format!("arn:aws:iam::{account}:role/role-2"))
                    .build()?,
            )
            .send()
            .await?;
    }

    let ecr = s.ecr(REGION);
    for i in 0..REPOSITORIES {
        ecr.create_repository()
            .repository_name(format!("repo-{i}"))
            .tags(
                aws_sdk_ecr::types::Tag::builder()
                    .key("n")
                    .value(i.to_string())
                    .build()?,
            )
            .send()
            .await?;
    }

    // S3: a bucket here with more than a page of objects, one in another region.
    let s3 = s.s3(REGION);
    s3.create_bucket().bucket("big-bucket").send().await?;
    s.s3("eu-west-1")
        .create_bucket()
        .bucket("eu-bucket")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await?;
    each(OBJECTS, |i| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket("big-bucket")
                .key(format!("k/{i:04}"))
                .body(aws_sdk_s3::primitives::ByteStream::from_static(b"12345"))
                .send()
                .await?;
            Ok(())
        }
    })
    .await?;

    // Pipelines (GitHub v1 source with a token) and webhooks on the first one.
    let cp = s.codepipeline(REGION);
    use aws_sdk_codepipeline::types as cpt;
    for i in 0..PIPELINES {
        let source = cpt::ActionDeclaration::builder()
            .name("Source")
            .action_type_id(
                cpt::ActionTypeId::builder()
                    .category(cpt::ActionCategory::Source)
                    .owner(cpt::ActionOwner::ThirdParty)
                    .provider("GitHub")
                    .version("1")
                    .build()?,
            )
            .configuration("Owner", "acme")
            .configuration("Repo", "app")
            .configuration("Branch", "main")
            .configuration("OAuthToken", GITHUB_TOKEN)
            .output_artifacts(cpt::OutputArtifact::builder().name("src").build()?)
            .build()?;
        let approve = cpt::ActionDeclaration::builder()
            .name("Approve")
            .action_type_id(
                cpt::ActionTypeId::builder()
                    .category(cpt::ActionCategory::Approval)
                    .owner(cpt::ActionOwner::Aws)
                    .provider("Manual")
                    .version("1")
                    .build()?,
            )
            .build()?;
        cp.create_pipeline()
            .pipeline(
                cpt::PipelineDeclaration::builder()
                    .name(format!("pipe-{i}"))
                    .role_arn(format!("arn:aws:iam::{account}:role/pipeline-role"))
                    .artifact_store(
                        cpt::ArtifactStore::builder()
                            .r#type(cpt::ArtifactStoreType::S3)
                            .location("big-bucket")
                            .build()?,
                    )
                    .stages(
                        cpt::StageDeclaration::builder()
                            .name("Source")
                            .actions(source)
                            .build()?,
                    )
                    .stages(
                        cpt::StageDeclaration::builder()
                            .name("Approve")
                            .actions(approve)
                            .build()?,
                    )
                    .build()?,
            )
            .tags(cpt::Tag::builder().key("n").value(i.to_string()).build()?)
            .send()
            .await?;
    }
    each(WEBHOOKS, |i| {
        let cp = cp.clone();
        async move {
            cp.put_webhook()
                .webhook(
                    cpt::WebhookDefinition::builder()
                        .name(format!("hook-{i:03}"))
                        .target_pipeline("pipe-0")
                        .target_action("Source")
                        .filters(
                            cpt::WebhookFilterRule::builder()
                                .json_path("$.ref")
                                .match_equals("refs/heads/{Branch}")
                                .build()?,
                        )
                        .authentication(cpt::WebhookAuthenticationType::GithubHmac)
                        .authentication_configuration(
                            cpt::WebhookAuthConfiguration::builder()
                                .secret_token(WEBHOOK_SECRET)
                                .build(),
                        )
                        .build()?,
                )
                .send()
                .await?;
            Ok(())
        }
    })
    .await?;
    Ok(())
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
        let s = setup_aws
            .session(MANAGEMENT_ACCOUNT)
            .await
            .expect("session");
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
    assert_eq!(
        pipe.config["webhooks"].as_array().map(Vec::len),
        Some(WEBHOOKS)
    );
    assert_eq!(pipe.tags.get("n").map(String::as_str), Some("0"));
    assert_eq!(
        find(ResourceKind::IamPolicy, "policy-2")
            .tags
            .get("n")
            .map(String::as_str),
        Some("2")
    );
    assert_eq!(
        find(ResourceKind::EcrRepository, "repo-1")
            .tags
            .get("n")
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(
        find(ResourceKind::Secret, "app/s100")
            .tags
            .get("n")
            .map(String::as_str),
        Some("100")
    );
    assert_eq!(
        find(ResourceKind::SsmParameter, "/app/p000")
            .tags
            .get("team")
            .map(String::as_str),
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
        // AWS: ceil(n / 50) = 3. moto answers 10 a page whatever MaxResults says, with a
        // NextToken after every full page: n / 10 + 1.
        ("ssm", "DescribeParameters", PARAMETERS / 10 + 1),
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
        (
            "iam",
            "GetAccountAuthorizationDetails",
            ceil(roles_total + POLICIES, 1000),
        ),
        ("iam", "ListRoles", ceil(roles_total, 1000)),
        ("iam", "ListPolicyTags", POLICIES),
        ("s3", "ListBuckets", 1),
        ("s3", "GetBucketLocation", 2), // moto's ListBuckets has no BucketRegion
        ("s3", "GetBucketVersioning", 2),
        ("s3", "GetBucketEncryption", 2),
        ("s3", "ListObjectsV2", ceil(OBJECTS, 1000) + 1),
    ];
    let mut wrong = Vec::new();
    for (service, op, want) in expected {
        let got = calls
            .remove(&(service.to_string(), op.to_string()))
            .unwrap_or(0);
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
