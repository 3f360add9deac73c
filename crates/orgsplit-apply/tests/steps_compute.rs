//! ECS clusters, task definitions and services, EventBridge rules, Scheduler schedules,
//! the CodeStar connection and pipelines against the emulator's demo scenario. Each test
//! plans the demo, runs one workloads account's steps and reads the result back in the
//! target account through the SDK, never trusting the steps' outcomes; a second run must
//! change nothing (no mutating request in the emulator's log), and a change made by hand
//! in the target is put back by the next run.
#![allow(clippy::print_stdout)]

mod common;

use orgsplit_apply::{Outcome, StepError, run_step};
use orgsplit_aws::sdk_json::to_json;
use orgsplit_aws::{AccountSession, Aws};
use orgsplit_model::journal::Outputs;
use orgsplit_model::{Action, Config, Plan, Step, StepKind, StepSpec};
use orgsplit_testkit::{Emulator, SOURCE_ACCOUNT, repo_root};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const REGION: &str = "us-east-1";

/// One emulator, its demo plan and the target accounts created for it.
struct World {
    emu: Emulator,
    rt: tokio::runtime::Runtime,
    aws: Aws,
    plan: Plan,
    ids: BTreeMap<String, String>,
    /// Outputs of the steps run so far, as the executor would hand them on.
    outputs: BTreeMap<String, Outputs>,
}

impl World {
    /// The demo plan, then the accounts (so the plan names them by placeholder, as a
    /// real first apply does).
    fn demo(accounts: &[&str]) -> World {
        let emu = Emulator::start_with(Some("demo"));
        emu.export_env();
        let rt = orgsplit_testkit::runtime();
        let (aws, plan, ids) = rt.block_on(async {
            let aws = common::aws(&emu).await;
            let plan = common::demo_plan(&aws).await;
            let ids = create_accounts(&aws, accounts).await;
            (aws, plan, ids)
        });
        World {
            emu,
            rt,
            aws,
            plan,
            ids,
            outputs: BTreeMap::new(),
        }
    }

    fn step(&self, address: &str) -> Step {
        common::step(&self.plan, address).clone()
    }

    fn try_run(&mut self, address: &str) -> Result<Outcome, StepError> {
        let step = self.step(address);
        let mut cx = common::context(&self.aws, &self.plan, &step, &self.ids);
        cx.outputs = self.outputs.clone();
        let outcome = self.rt.block_on(run_step(&cx))?;
        if let Outcome::Done { outputs, .. } = &outcome {
            self.outputs.insert(address.to_string(), outputs.clone());
        }
        Ok(outcome)
    }

    fn run(&mut self, address: &str) -> Outcome {
        self.try_run(address)
            .unwrap_or_else(|e| panic!("{address}: {e}"))
    }

    /// Runs the steps in order; whether each changed something.
    fn run_all(&mut self, addresses: &[&str]) -> Vec<(String, bool)> {
        addresses
            .iter()
            .map(|a| (a.to_string(), changed(&self.run(a))))
            .collect()
    }

    /// Runs the steps again: nothing may change, and no mutating request may be made.
    fn assert_second_run_is_a_no_op(&mut self, addresses: &[&str], what: &str) {
        self.emu.clear_requests();
        let again = self.run_all(addresses);
        let changed: Vec<&String> = again.iter().filter(|(_, c)| *c).map(|(a, _)| a).collect();
        assert!(
            changed.is_empty(),
            "{what}: a second run changed {changed:?}"
        );
        let mutating = self.emu.mutating_requests();
        assert!(
            mutating.is_empty(),
            "{what}: a second run made mutating requests: {mutating:#?}"
        );
        println!(
            "{what}: second run of {} steps: unchanged, {} requests, 0 mutating",
            again.len(),
            self.emu.requests().len()
        );
    }

    fn session(&self, account: &str) -> AccountSession {
        self.rt
            .block_on(self.aws.session(&self.ids[account]))
            .expect("session")
    }
}

async fn create_accounts(aws: &Aws, names: &[&str]) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for n in names {
        let id = common::create_account(aws, n, &format!("aws+{n}@example.com")).await;
        ids.insert(n.to_string(), id);
    }
    ids
}

fn changed(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Done { changed, .. } => *changed,
        Outcome::Waiting { message, .. } => panic!("a step waits: {message}"),
    }
}

fn output(outcome: &Outcome, key: &str) -> String {
    match outcome {
        Outcome::Done { outputs, .. } => outputs
            .get(key)
            .unwrap_or_else(|| panic!("no output {key}: {outputs:?}"))
            .clone(),
        Outcome::Waiting { message, .. } => panic!("a step waits: {message}"),
    }
}

// ---- reading the target back -----------------------------------------------------------------

async fn task_definition(s: &AccountSession, family: &str) -> Value {
    let out = s
        .ecs(REGION)
        .describe_task_definition()
        .task_definition(family)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeTaskDefinition {family} in {}: {e}", s.account_id));
    to_json(out.task_definition().expect("task definition"))
}

async fn cluster(s: &AccountSession, name: &str) -> Value {
    let out = s
        .ecs(REGION)
        .describe_clusters()
        .clusters(name)
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .expect("DescribeClusters");
    to_json(
        out.clusters()
            .first()
            .unwrap_or_else(|| panic!("cluster {name} missing in {}", s.account_id)),
    )
}

async fn service(s: &AccountSession, cluster: &str, name: &str) -> Value {
    let out = s
        .ecs(REGION)
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .expect("DescribeServices");
    to_json(
        out.services()
            .first()
            .unwrap_or_else(|| panic!("service {cluster}/{name} missing in {}", s.account_id)),
    )
}

/// (schedule expression, state, targets as (id, arn, role, task definition, task count)).
type RuleState = (String, String, Vec<(String, String, String, String, i32)>);

async fn rule(s: &AccountSession, name: &str) -> RuleState {
    let events = s.events(REGION);
    let r = events
        .describe_rule()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeRule {name} in {}: {e}", s.account_id));
    let targets = events
        .list_targets_by_rule()
        .rule(name)
        .send()
        .await
        .expect("ListTargetsByRule");
    (
        r.schedule_expression().unwrap_or_default().to_string(),
        r.state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        targets
            .targets()
            .iter()
            .map(|t| {
                let ecs = t.ecs_parameters();
                (
                    t.id().to_string(),
                    t.arn().to_string(),
                    t.role_arn().unwrap_or_default().to_string(),
                    ecs.map(|e| e.task_definition_arn().to_string())
                        .unwrap_or_default(),
                    ecs.and_then(|e| e.task_count()).unwrap_or(1),
                )
            })
            .collect(),
    )
}

/// (expression, state, target arn, role, task definition) of a schedule.
async fn schedule(
    s: &AccountSession,
    group: &str,
    name: &str,
) -> (String, String, String, String, String) {
    let out = s
        .scheduler(REGION)
        .get_schedule()
        .group_name(group)
        .name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetSchedule {group}/{name} in {}: {e}", s.account_id));
    let t = out.target().expect("target");
    (
        out.schedule_expression().unwrap_or_default().to_string(),
        out.state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        t.arn().to_string(),
        t.role_arn().to_string(),
        t.ecs_parameters()
            .map(|e| e.task_definition_arn().to_string())
            .unwrap_or_default(),
    )
}

async fn pipeline(s: &AccountSession, name: &str) -> Value {
    let out = s
        .codepipeline(REGION)
        .get_pipeline()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetPipeline {name} in {}: {e}", s.account_id));
    to_json(out.pipeline().expect("declaration"))
}

/// IAM hands documents back URL-encoded.
fn document(raw: &str) -> Value {
    if let Ok(v) = serde_json::from_str(raw) {
        return v;
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = raw
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("document {raw}: {e}"))
}

async fn role_policy(s: &AccountSession, role: &str, policy: &str) -> Option<Value> {
    s.iam()
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
        .ok()
        .map(|out| document(out.policy_document()))
}

async fn connections(s: &AccountSession) -> Vec<(String, String, String)> {
    s.codestar_connections(REGION)
        .list_connections()
        .send()
        .await
        .expect("ListConnections")
        .connections()
        .iter()
        .map(|c| {
            (
                c.connection_name().unwrap_or_default().to_string(),
                c.connection_arn().unwrap_or_default().to_string(),
                c.connection_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Checks a copied task definition: revision 1 of the target, roles and secrets in the
/// target account, the image left in the source registry. Returns its ARN.
async fn check_task_definition(s: &AccountSession, family: &str, with_task_role: bool) -> String {
    let td = task_definition(s, family).await;
    let target = &s.account_id;
    let arn = td["taskDefinitionArn"].as_str().expect("arn").to_string();
    assert_eq!(
        arn,
        format!("arn:aws:ecs:{REGION}:{target}:task-definition/{family}:1"),
        "{family}: {td:#}"
    );
    assert_eq!(
        td["executionRoleArn"],
        json!(format!("arn:aws:iam::{target}:role/ecs-task-execution"))
    );
    if with_task_role {
        assert_eq!(
            td["taskRoleArn"],
            json!(format!("arn:aws:iam::{target}:role/{family}-task"))
        );
    }
    let container = &td["containerDefinitions"][0];
    assert!(
        container["image"]
            .as_str()
            .is_some_and(|i| i.starts_with(&format!("{SOURCE_ACCOUNT}.dkr.ecr."))),
        "{family}: image {}",
        container["image"]
    );
    let secrets = container["secrets"].as_array().expect("secrets");
    assert!(!secrets.is_empty());
    for secret in secrets {
        let from = secret["valueFrom"].as_str().expect("valueFrom");
        assert!(
            from.starts_with(&format!("arn:aws:ssm:{REGION}:{target}:parameter/")),
            "{family}: secret points at {from}"
        );
    }
    assert_eq!(td["status"], "ACTIVE");
    arn
}

// ---- ECS task definitions, clusters, rules and schedules ---------------------------------------

const DEV: [&str; 4] = [
    "dev/dev-workloads/ecs-cluster:batch",
    "dev/dev-workloads/ecs-taskdef:dev-api",
    "dev/dev-workloads/ecs-taskdef:dev-mail-sender",
    "dev/dev-workloads/schedule:default/dev-mail-hourly",
];

const PROD: [&str; 4] = [
    "prod/prod-workloads/ecs-cluster:batch",
    "prod/prod-workloads/ecs-taskdef:prod-api",
    "prod/prod-workloads/ecs-taskdef:prod-mail-sender",
    "prod/prod-workloads/events-rule:prod-nightly-mail",
];

#[test]
fn task_definitions_clusters_rules_and_schedules_point_at_the_target() {
    let mut w = World::demo(&["dev-workloads", "prod-workloads"]);
    // Without a [[network]] the demo's services are manual items, not steps to run.
    for address in [
        "dev/dev-workloads/ecs-service:batch/dev-api",
        "prod/prod-workloads/ecs-service:batch/prod-api",
    ] {
        assert_eq!(w.step(address).action, Action::Manual, "{address}");
    }
    let all: Vec<&str> = DEV.iter().chain(PROD.iter()).copied().collect();
    let first = w.run_all(&all);
    let unchanged: Vec<&String> = first.iter().filter(|(_, c)| !c).map(|(a, _)| a).collect();
    assert!(
        unchanged.is_empty(),
        "first run left unchanged: {unchanged:?}"
    );

    let (dev, prod) = (w.session("dev-workloads"), w.session("prod-workloads"));
    let (dev_id, prod_id) = (
        w.ids["dev-workloads"].clone(),
        w.ids["prod-workloads"].clone(),
    );
    w.rt.block_on(async {
        for (s, id) in [(&dev, &dev_id), (&prod, &prod_id)] {
            let c = cluster(s, "batch").await;
            assert_eq!(c["status"], "ACTIVE");
            assert_eq!(
                c["clusterArn"],
                json!(format!("arn:aws:ecs:{REGION}:{id}:cluster/batch"))
            );
            assert!(
                c["settings"].as_array().is_some_and(
                    |s| s.contains(&json!({"name": "containerInsights", "value": "disabled"}))
                ),
                "{c:#}"
            );
        }
        check_task_definition(&dev, "dev-api", false).await;
        let dev_mail = check_task_definition(&dev, "dev-mail-sender", true).await;
        check_task_definition(&prod, "prod-api", false).await;
        let prod_mail = check_task_definition(&prod, "prod-mail-sender", true).await;

        let (expr, state, targets) = rule(&prod, "prod-nightly-mail").await;
        assert_eq!(
            (expr.as_str(), state.as_str()),
            ("cron(0 2 * * ? *)", "ENABLED")
        );
        assert_eq!(
            targets,
            vec![(
                "run-task".to_string(),
                format!("arn:aws:ecs:{REGION}:{prod_id}:cluster/batch"),
                format!("arn:aws:iam::{prod_id}:role/ecs-events-invoke"),
                prod_mail.clone(),
                1
            )]
        );
        let got = schedule(&dev, "default", "dev-mail-hourly").await;
        assert_eq!(
            got,
            (
                "rate(1 hour)".to_string(),
                "ENABLED".to_string(),
                format!("arn:aws:ecs:{REGION}:{dev_id}:cluster/batch"),
                format!("arn:aws:iam::{dev_id}:role/scheduler-run-task"),
                dev_mail.clone()
            )
        );
    });
    assert_eq!(
        w.outputs["dev/dev-workloads/ecs-taskdef:dev-mail-sender"]["task_definition_arn"],
        format!("arn:aws:ecs:{REGION}:{dev_id}:task-definition/dev-mail-sender:1")
    );
    println!(
        "first run: {} steps, all changed, read back in both targets",
        first.len()
    );
    w.assert_second_run_is_a_no_op(&all, "ecs, rules, schedules");
}

#[test]
fn drift_in_task_definitions_rules_schedules_and_clusters_is_repaired() {
    let mut w = World::demo(&["dev-workloads", "prod-workloads"]);
    let all: Vec<&str> = DEV.iter().chain(PROD.iter()).copied().collect();
    w.run_all(&all);
    let (dev, prod) = (w.session("dev-workloads"), w.session("prod-workloads"));
    let (dev_id, prod_id) = (
        w.ids["dev-workloads"].clone(),
        w.ids["prod-workloads"].clone(),
    );
    let dev_mail_1 = format!("arn:aws:ecs:{REGION}:{dev_id}:task-definition/dev-mail-sender:1");

    // By hand: the task definition deregistered, the rule rescheduled and its target
    // changed, the schedule disabled, the cluster's container insights switched on.
    w.rt.block_on(async {
        dev.ecs(REGION)
            .deregister_task_definition()
            .task_definition(&dev_mail_1)
            .send()
            .await
            .expect("DeregisterTaskDefinition");
        let events = prod.events(REGION);
        events
            .put_rule()
            .name("prod-nightly-mail")
            .schedule_expression("rate(5 minutes)")
            .send()
            .await
            .expect("PutRule");
        let (_, _, targets) = rule(&prod, "prod-nightly-mail").await;
        let ecs = aws_sdk_eventbridge::types::EcsParameters::builder()
            .task_definition_arn(&targets[0].3)
            .task_count(7)
            .build()
            .expect("ecs parameters");
        events
            .put_targets()
            .rule("prod-nightly-mail")
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("run-task")
                    .arn(&targets[0].1)
                    .role_arn(&targets[0].2)
                    .ecs_parameters(ecs)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("PutTargets");
        let current = dev
            .scheduler(REGION)
            .get_schedule()
            .name("dev-mail-hourly")
            .send()
            .await
            .expect("GetSchedule");
        dev.scheduler(REGION)
            .update_schedule()
            .name("dev-mail-hourly")
            .schedule_expression("rate(1 hour)")
            .set_flexible_time_window(current.flexible_time_window().cloned())
            .set_target(current.target().cloned())
            .state(aws_sdk_scheduler::types::ScheduleState::Disabled)
            .send()
            .await
            .expect("UpdateSchedule");
        prod.ecs(REGION)
            .update_cluster()
            .cluster("batch")
            .settings(
                aws_sdk_ecs::types::ClusterSetting::builder()
                    .name(aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
                    .value("enabled")
                    .build(),
            )
            .send()
            .await
            .expect("UpdateCluster");
    });

    let repaired = w.run_all(&all);
    let changed: BTreeMap<String, bool> = repaired.into_iter().collect();
    for address in [
        "dev/dev-workloads/ecs-taskdef:dev-mail-sender",
        "dev/dev-workloads/schedule:default/dev-mail-hourly",
        "prod/prod-workloads/events-rule:prod-nightly-mail",
        "prod/prod-workloads/ecs-cluster:batch",
    ] {
        assert!(changed[address], "{address} did not repair its drift");
    }
    for address in [
        "dev/dev-workloads/ecs-cluster:batch",
        "dev/dev-workloads/ecs-taskdef:dev-api",
        "prod/prod-workloads/ecs-taskdef:prod-api",
        "prod/prod-workloads/ecs-taskdef:prod-mail-sender",
    ] {
        assert!(!changed[address], "{address} changed without drift");
    }
    w.rt.block_on(async {
        let dev_mail_2 = format!("arn:aws:ecs:{REGION}:{dev_id}:task-definition/dev-mail-sender:2");
        let td = task_definition(&dev, "dev-mail-sender").await;
        assert_eq!(td["taskDefinitionArn"], json!(dev_mail_2));
        assert_eq!(td["status"], "ACTIVE");
        let (_, state, _, _, taskdef) = schedule(&dev, "default", "dev-mail-hourly").await;
        assert_eq!(
            (state.as_str(), taskdef.as_str()),
            ("ENABLED", dev_mail_2.as_str())
        );
        let (expr, _, targets) = rule(&prod, "prod-nightly-mail").await;
        assert_eq!(expr, "cron(0 2 * * ? *)");
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].4, 1, "task count back to the source's");
        assert_eq!(
            targets[0].3,
            format!("arn:aws:ecs:{REGION}:{prod_id}:task-definition/prod-mail-sender:1")
        );
        let c = cluster(&prod, "batch").await;
        assert!(
            c["settings"].as_array().is_some_and(
                |s| s.contains(&json!({"name": "containerInsights", "value": "disabled"}))
            ),
            "{c:#}"
        );
    });
    println!("drift: task definition, schedule, rule and cluster repaired; the rest unchanged");
    w.assert_second_run_is_a_no_op(&all, "after repairs");
}

// ---- ECS services ------------------------------------------------------------------------------

/// The default VPC's subnets and default security group of an account, through the EC2
/// query API (orgsplit has no EC2 client: services take their network from the config).
fn default_network(emu: &Emulator, account: &str) -> (Vec<String>, String) {
    let call = |body: &str| -> String {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    reqwest::blocking::Client::new()
                        .post(&emu.url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("x-moto-account-id", account)
                        .header(
                            "authorization",
                            format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0"),
                        )
                        .body(body.to_string())
                        .send()
                        .and_then(|r| r.text())
                        .expect("EC2 call")
                })
                .join()
                .expect("EC2 thread")
        })
    };
    let values = |xml: &str, tag: &str| -> Vec<String> {
        xml.split(&format!("<{tag}>"))
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .map(str::to_string)
            .collect()
    };
    let subnets = values(
        &call("Action=DescribeSubnets&Version=2016-11-15"),
        "subnetId",
    );
    let groups = values(
        &call(
            "Action=DescribeSecurityGroups&Version=2016-11-15&Filter.1.Name=group-name&Filter.1.Value.1=default",
        ),
        "groupId",
    );
    assert!(
        !subnets.is_empty() && !groups.is_empty(),
        "no default network in {account}"
    );
    (subnets.into_iter().take(2).collect(), groups[0].clone())
}

/// The demo config with a `[[network]]` for dev, planned (the accounts exist by then).
async fn plan_with_network(aws: &Aws, subnets: &[String], group: &str) -> Plan {
    let path = repo_root().join("plans/examples/orgsplit.toml");
    let text = std::fs::read_to_string(&path).expect("demo config");
    let quoted: Vec<String> = subnets.iter().map(|s| format!("{s:?}")).collect();
    let text = format!(
        "{text}\n[[network]]\nenvironment = \"dev\"\nsubnets = [{}]\nsecurity_groups = [{group:?}]\nassign_public_ip = false\n",
        quoted.join(", ")
    );
    let config = Config::parse(&path, &text).expect("config with a network");
    common::plan_for(aws, &config).await
}

#[test]
fn a_service_runs_the_target_task_definition_on_the_configured_network() {
    let emu = Emulator::start_with(Some("demo"));
    emu.export_env();
    let rt = orgsplit_testkit::runtime();
    let (aws, ids) = rt.block_on(async {
        let aws = common::aws(&emu).await;
        let ids = create_accounts(&aws, &["dev-workloads"]).await;
        (aws, ids)
    });
    let dev_id = ids["dev-workloads"].clone();
    let (subnets, group) = default_network(&emu, &dev_id);
    let plan = rt.block_on(plan_with_network(&aws, &subnets, &group));
    let mut w = World {
        emu,
        rt,
        aws,
        plan,
        ids,
        outputs: BTreeMap::new(),
    };
    let address = "dev/dev-workloads/ecs-service:batch/dev-api";
    let step = w.step(address);
    assert_eq!(step.action, Action::Create, "{address} is still manual");
    let StepSpec::EcsService(inputs) = &step.spec else {
        panic!("{address} is not an ECS service step")
    };
    let network = inputs.network.as_ref().expect("the [[network]] is planned");
    assert_eq!(network.subnets, subnets);

    // Before its task definition exists in the target the service cannot be made.
    w.run("dev/dev-workloads/ecs-cluster:batch");
    let early = w
        .try_run(address)
        .expect_err("a service before its task definition");
    assert!(early.to_string().contains("dev-api"), "{early}");

    let steps = [
        "dev/dev-workloads/ecs-cluster:batch",
        "dev/dev-workloads/ecs-taskdef:dev-api",
        address,
    ];
    let first = w.run_all(&steps);
    assert!(first[2].1, "the service was not created");
    let dev = w.session("dev-workloads");
    let svc = w.rt.block_on(service(&dev, "batch", "dev-api"));
    assert_eq!(svc["status"], "ACTIVE");
    assert_eq!(
        svc["taskDefinition"],
        json!(format!(
            "arn:aws:ecs:{REGION}:{dev_id}:task-definition/dev-api:1"
        ))
    );
    assert_eq!(svc["desiredCount"], 1);
    assert_eq!(svc["launchType"], "FARGATE");
    let vpc = &svc["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(vpc["subnets"], json!(subnets));
    assert_eq!(vpc["securityGroups"], json!([group]));
    assert_eq!(vpc["assignPublicIp"], "DISABLED");
    assert_eq!(
        w.outputs[address]["service_arn"],
        svc["serviceArn"].as_str().expect("service arn")
    );
    println!("service created on {subnets:?} / {group} with dev-api:1");
    w.assert_second_run_is_a_no_op(&steps, "service");

    // By hand: scaled up. The next run scales it back to the source's count.
    w.rt.block_on(
        dev.ecs(REGION)
            .update_service()
            .cluster("batch")
            .service("dev-api")
            .desired_count(4)
            .send(),
    )
    .expect("UpdateService");
    assert!(
        changed(&w.run(address)),
        "the scaled service was not repaired"
    );
    let svc = w.rt.block_on(service(&dev, "batch", "dev-api"));
    assert_eq!(svc["desiredCount"], 1);
    w.assert_second_run_is_a_no_op(&steps, "service after repair");
}

// ---- the connection and pipelines ----------------------------------------------------------------

const CONNECTION: &str = "prod/prod-workloads/codestar-connection:orgsplit-github";
const PIPELINES: [&str; 2] = [
    "prod/prod-workloads/pipeline:prod-api-release",
    "prod/prod-workloads/pipeline:mail-sender-release",
];

/// Checks a converted pipeline as read back from the target.
fn check_pipeline(d: &Value, repo: &str, connection: &str, target: &str) {
    let name = d["name"].as_str().unwrap_or("?");
    let source = &d["stages"][0]["actions"][0];
    assert_eq!(
        source["actionTypeId"],
        json!({"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"}),
        "{name}: {d:#}"
    );
    assert_eq!(
        source["configuration"],
        json!({
            "ConnectionArn": connection,
            "FullRepositoryId": format!("acme/{repo}"),
            "BranchName": "main",
            "OutputArtifactFormat": "CODE_ZIP",
            "DetectChanges": "true",
        }),
        "{name}"
    );
    assert_eq!(
        source["outputArtifacts"],
        json!([{"name": "source_output"}])
    );
    assert_eq!(
        d["stages"][1]["actions"][0]["actionTypeId"]["provider"],
        "Manual"
    );
    assert_eq!(
        d["roleArn"],
        json!(format!("arn:aws:iam::{target}:role/codepipeline-service"))
    );
    assert_eq!(
        d["artifactStore"]["location"],
        json!(format!("acme-pipeline-artifacts-{target}"))
    );
    let text = d.to_string();
    assert!(
        !text.contains("OAuthToken"),
        "{name} keeps an OAuthToken: {text}"
    );
    assert!(!text.contains("ghp_"), "{name} holds a GitHub token");
}

#[test]
fn the_connection_waits_for_the_handshake_then_pipelines_use_it() {
    let mut w = World::demo(&["prod-workloads"]);
    let prod = w.session("prod-workloads");
    let target = w.ids["prod-workloads"].clone();
    for p in PIPELINES {
        let step = w.step(p);
        assert_eq!(step.kind(), StepKind::Pipeline);
        assert!(
            step.depends_on.iter().any(|d| d == CONNECTION),
            "{p}: {:?}",
            step.depends_on
        );
    }

    // First run: created PENDING, the step waits with the console page.
    let url = "https://console.aws.amazon.com/codesuite/settings/connections?region=us-east-1";
    match w.run(CONNECTION) {
        Outcome::Waiting { message, url: got } => {
            assert_eq!(got.as_deref(), Some(url));
            assert!(
                message.contains("PENDING") && message.contains("orgsplit-github"),
                "{message}"
            );
        }
        done => panic!("a new connection is done: {done:?}"),
    }
    let listed = w.rt.block_on(connections(&prod));
    assert_eq!(listed.len(), 1, "{listed:?}");
    let (name, arn, status) = listed[0].clone();
    assert_eq!(
        (name.as_str(), status.as_str()),
        ("orgsplit-github", "PENDING")
    );

    // A pipeline cannot be made before the connection is done, and tries nothing.
    w.emu.clear_requests();
    let early = w
        .try_run(PIPELINES[0])
        .expect_err("a pipeline on a pending connection");
    assert!(early.to_string().contains("codestar-connection"), "{early}");
    assert!(w.emu.mutating_requests().is_empty());

    // Second run while pending: still waiting, nothing created.
    w.emu.clear_requests();
    assert!(matches!(w.run(CONNECTION), Outcome::Waiting { .. }));
    assert!(
        w.emu.mutating_requests().is_empty(),
        "{:#?}",
        w.emu.mutating_requests()
    );
    assert_eq!(w.rt.block_on(connections(&prod)).len(), 1);

    // The handshake, then the same connection is done.
    w.emu.mark_connection_available(&arn);
    let done = w.run(CONNECTION);
    assert!(!changed(&done));
    assert_eq!(output(&done, "connection_arn"), arn);
    assert_eq!(
        w.rt.block_on(connections(&prod)),
        vec![(
            "orgsplit-github".to_string(),
            arn.clone(),
            "AVAILABLE".to_string()
        )]
    );

    // The pipeline role: the emulator checks that it exists and trusts CodePipeline.
    ensure_pipeline_role(&mut w, &prod);
    let first = w.run_all(&PIPELINES);
    assert!(first.iter().all(|(_, c)| *c), "{first:?}");
    w.rt.block_on(async {
        check_pipeline(
            &pipeline(&prod, "prod-api-release").await,
            "api",
            &arn,
            &target,
        );
        check_pipeline(
            &pipeline(&prod, "mail-sender-release").await,
            "mail-sender",
            &arn,
            &target,
        );
        let policy = role_policy(&prod, "codepipeline-service", "orgsplit-use-connection")
            .await
            .expect("the pipeline role's UseConnection policy");
        let statement = &policy["Statement"][0];
        assert_eq!(
            statement["Action"],
            json!([
                "codestar-connections:UseConnection",
                "codeconnections:UseConnection"
            ])
        );
        assert!(
            statement["Resource"]
                .as_array()
                .unwrap()
                .contains(&json!(arn)),
            "{policy}"
        );
        let arn_of = pipeline_arn(&prod, "mail-sender-release").await;
        let tags = prod
            .codepipeline(REGION)
            .list_tags_for_resource()
            .resource_arn(arn_of)
            .send()
            .await
            .expect("ListTagsForResource");
        assert!(
            tags.tags()
                .iter()
                .any(|t| t.key() == "Environment" && t.value() == "prod"),
            "{:?}",
            tags.tags()
        );
    });
    println!("pipelines converted to CodeStarSourceConnection on {arn}");
    let mut again = vec![CONNECTION];
    again.extend(PIPELINES);
    w.assert_second_run_is_a_no_op(&again, "connection and pipelines");

    // By hand: the source branch changed and the role's policy deleted.
    w.rt.block_on(async {
        let cp = prod.codepipeline(REGION);
        let mut d = pipeline(&prod, "prod-api-release").await;
        d["stages"][0]["actions"][0]["configuration"]["BranchName"] = json!("hotfix");
        let decl = orgsplit_aws::sdk_json::from_json(
            &d,
            aws_sdk_codepipeline::types::PipelineDeclaration::deserialize,
        )
        .expect("declaration");
        cp.update_pipeline()
            .pipeline(decl)
            .send()
            .await
            .expect("UpdatePipeline");
        prod.iam()
            .delete_role_policy()
            .role_name("codepipeline-service")
            .policy_name("orgsplit-use-connection")
            .send()
            .await
            .expect("DeleteRolePolicy");
    });
    assert!(
        changed(&w.run(PIPELINES[0])),
        "the drifted pipeline was not repaired"
    );
    w.rt.block_on(async {
        check_pipeline(
            &pipeline(&prod, "prod-api-release").await,
            "api",
            &arn,
            &target,
        );
        assert!(
            role_policy(&prod, "codepipeline-service", "orgsplit-use-connection")
                .await
                .is_some()
        );
    });
    w.assert_second_run_is_a_no_op(&again, "pipelines after repair");
}

async fn pipeline_arn(s: &AccountSession, name: &str) -> String {
    s.codepipeline(REGION)
        .get_pipeline()
        .name(name)
        .send()
        .await
        .expect("GetPipeline")
        .metadata()
        .and_then(|m| m.pipeline_arn())
        .expect("pipeline arn")
        .to_string()
}

/// The pipeline role from its iam-role step; made by hand when that step fails (another
/// step kind's fault, not this test's subject), with a line saying so.
fn ensure_pipeline_role(w: &mut World, prod: &AccountSession) {
    let address = "prod/prod-workloads/iam-role:codepipeline-service";
    let Err(e) = w.try_run(address) else {
        return;
    };
    println!("NOTE: {address} failed ({e}); the role is made by hand for this test");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let made = w.rt.block_on(
        prod.iam()
            .create_role()
            .role_name("codepipeline-service")
            .assume_role_policy_document(trust.to_string())
            .send(),
    );
    if let Err(e) = made {
        let exists = e
            .as_service_error()
            .is_some_and(|s| s.is_entity_already_exists_exception());
        assert!(exists, "CreateRole codepipeline-service: {e}");
    }
}
