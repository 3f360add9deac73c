//! The planner on a small inventory shaped like the demo: classification, references,
//! rewriting, determinism, and snapshots of the review and of the plan file.

use orgsplit_model::config::Config;
use orgsplit_model::inventory::{
    AccountState, INVENTORY_FORMAT_VERSION, Inventory, OrganizationState,
};
use orgsplit_model::stackset::{ParameterSource, StackSetSpec};
use orgsplit_model::step::TrustedAccess;
use orgsplit_model::{Action, Plan, Reference, Resource, ResourceKind, Step, StepSpec};
use orgsplit_planner::{PlanInput, ReviewOptions, build_plan, render_review};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

const EXAMPLE: &str = include_str!("../../../plans/examples/orgsplit.toml");
const SRC: &str = "111111111111";

fn config() -> Config {
    Config::parse(Path::new("orgsplit.toml"), EXAMPLE).unwrap()
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn param(name: &str, kind: &str, t: &[(&str, &str)]) -> Resource {
    Resource::new(
        ResourceKind::SsmParameter,
        name,
        format!("arn:aws:ssm:us-east-1:{SRC}:parameter{name}"),
        Some("us-east-1".into()),
        tags(t),
        json!({"Type": kind, "Tier": "Standard", "DataType": "text", "KeyId": if kind == "SecureString" { "alias/aws/ssm" } else { "" }}),
        vec![],
    )
}

fn role(name: &str, refs: Vec<Reference>) -> Resource {
    Resource::new(
        ResourceKind::IamRole,
        name,
        format!("arn:aws:iam::{SRC}:role/{name}"),
        None,
        tags(&[]),
        json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}),
        refs,
    )
}

fn taskdef(env: &str) -> Resource {
    let family = format!("{env}-mail-sender");
    let param = format!("arn:aws:ssm:us-east-1:{SRC}:parameter/{env}/mailer/SMTP_PASSWORD");
    let exec = format!("arn:aws:iam::{SRC}:role/ecs-task-execution");
    let task = format!("arn:aws:iam::{SRC}:role/{env}-mail-sender-task");
    let repo = format!("arn:aws:ecr:us-east-1:{SRC}:repository/mail-sender");
    Resource::new(
        ResourceKind::EcsTaskDefinition,
        &family,
        format!("arn:aws:ecs:us-east-1:{SRC}:task-definition/{family}:3"),
        Some("us-east-1".into()),
        tags(&[]),
        json!({
            "family": family, "executionRoleArn": exec, "taskRoleArn": task,
            "containerDefinitions": [{"name": "mailer", "image": format!("{SRC}.dkr.ecr.us-east-1.amazonaws.com/mail-sender:1.4.2"),
                "secrets": [{"name": "SMTP_PASSWORD", "valueFrom": param}]}]
        }),
        vec![
            Reference::new(&exec, "executionRoleArn"),
            Reference::new(&task, "taskRoleArn"),
            Reference::new(&param, "containerDefinitions[0].secrets[0].valueFrom"),
            Reference::new(&repo, "containerDefinitions[0].image"),
        ],
    )
}

fn inventory() -> Inventory {
    let mut resources = vec![
        param("/dev/mailer/SMTP_PASSWORD", "SecureString", &[]),
        param(
            "/prod/mailer/SMTP_PASSWORD",
            "SecureString",
            &[("Environment", "prod")],
        ),
        param("/shared/github/org", "String", &[]),
        param("/misc/unowned", "String", &[]),
        role("ecs-task-execution", vec![]),
        role("dev-mail-sender-task", vec![]),
        role(
            "prod-mail-sender-task",
            vec![Reference::new(
                format!("arn:aws:iam::{SRC}:policy/prod-mailer-ses-send"),
                "AttachedManagedPolicies[0]",
            )],
        ),
        Resource::new(
            ResourceKind::IamPolicy,
            "prod-mailer-ses-send",
            format!("arn:aws:iam::{SRC}:policy/prod-mailer-ses-send"),
            None,
            tags(&[]),
            json!({"Document": {}}),
            vec![],
        ),
        Resource::new(
            ResourceKind::EcrRepository,
            "mail-sender",
            format!("arn:aws:ecr:us-east-1:{SRC}:repository/mail-sender"),
            Some("us-east-1".into()),
            tags(&[]),
            json!({}),
            vec![],
        ),
        taskdef("dev"),
        taskdef("prod"),
        Resource::new(
            ResourceKind::EcsTask,
            "batch/0a1b2c",
            format!("arn:aws:ecs:us-east-1:{SRC}:task/batch/0a1b2c"),
            Some("us-east-1".into()),
            tags(&[]),
            json!({"startedAt": "2026-11-20T08:00:00Z"}),
            vec![Reference::new(
                format!("arn:aws:ecs:us-east-1:{SRC}:task-definition/prod-mail-sender:3"),
                "taskDefinitionArn",
            )],
        ),
        Resource::new(
            ResourceKind::Other,
            format!("arn:aws:sqs:us-east-1:{SRC}:prod-mail-outbox"),
            format!("arn:aws:sqs:us-east-1:{SRC}:prod-mail-outbox"),
            Some("us-east-1".into()),
            tags(&[("Environment", "prod")]),
            json!({}),
            vec![],
        ),
        Resource::new(
            ResourceKind::Pipeline,
            "prod-api-release",
            format!("arn:aws:codepipeline:us-east-1:{SRC}:prod-api-release"),
            Some("us-east-1".into()),
            tags(&[]),
            json!({"declaration": {"name": "prod-api-release", "roleArn": format!("arn:aws:iam::{SRC}:role/prod-mail-sender-task")},
                   "webhooks": [{"name": "prod-api-release--Source", "arn": format!("arn:aws:codepipeline:us-east-1:{SRC}:webhook:prod-api-release--Source")}]}),
            vec![Reference::new(
                format!("arn:aws:iam::{SRC}:role/prod-mail-sender-task"),
                "declaration.roleArn",
            )],
        ),
        param("/dev/region/x", "String", &[]),
    ];
    // One parameter in the second region.
    let last = resources.last_mut().unwrap();
    last.region = Some("eu-west-1".into());
    last.arn = format!("arn:aws:ssm:eu-west-1:{SRC}:parameter/dev/region/x");
    let mut inv = Inventory {
        format_version: INVENTORY_FORMAT_VERSION,
        orgsplit_version: "test".into(),
        created_at: "2026-11-23T09:00:00Z".into(),
        source_account_id: SRC.into(),
        regions: vec!["us-east-1".into(), "eu-west-1".into()],
        organization: OrganizationState {
            id: "o-example".into(),
            management_account_id: "123456789012".into(),
            root_id: "r-root".into(),
            ous: vec![],
            accounts: vec![AccountState {
                id: SRC.into(),
                name: "shared-workloads".into(),
                email: "aws+shared@example.com".into(),
                status: "ACTIVE".into(),
                parent_id: "r-root".into(),
            }],
            service_access: vec![],
            stacksets_access: String::new(),
            policies: vec![],
        },
        resources,
    };
    inv.normalise();
    inv
}

fn baseline() -> Vec<StackSetSpec> {
    vec![StackSetSpec {
        template: "baseline".into(),
        description: "terraform roles".into(),
        template_digest: "sha256:0000".into(),
        template_body: "Resources: {}\n".into(),
        capabilities: vec!["CAPABILITY_NAMED_IAM".into()],
        parameters: [
            (
                "AdminAccountId".to_string(),
                ParameterSource::OuAdminAccountId,
            ),
            (
                "OrganizationId".to_string(),
                ParameterSource::OrganizationId,
            ),
        ]
        .into(),
    }]
}

fn plan() -> Plan {
    let config = config();
    let inv = inventory();
    let stacksets = baseline();
    build_plan(PlanInput {
        config: &config,
        inventory: &inv,
        stacksets: &stacksets,
        created_at: "2026-11-23T09:30:00Z".into(),
    })
    .unwrap()
}

fn env_of(plan: &Plan, kind: ResourceKind, name: &str) -> String {
    plan.resources
        .iter()
        .chain(&plan.unclassified)
        .find(|r| r.kind == kind && r.name == name)
        .unwrap_or_else(|| panic!("{kind}:{name} not in plan"))
        .environment
        .clone()
}

#[test]
fn classifies_by_rule_reference_and_sharing() {
    let plan = plan();
    assert_eq!(
        env_of(
            &plan,
            ResourceKind::SsmParameter,
            "/dev/mailer/SMTP_PASSWORD"
        ),
        "dev"
    );
    assert_eq!(
        env_of(
            &plan,
            ResourceKind::SsmParameter,
            "/prod/mailer/SMTP_PASSWORD"
        ),
        "prod"
    );
    assert_eq!(
        env_of(&plan, ResourceKind::SsmParameter, "/shared/github/org"),
        "shared"
    );
    assert_eq!(
        env_of(&plan, ResourceKind::IamRole, "ecs-task-execution"),
        "shared"
    );
    assert_eq!(
        env_of(&plan, ResourceKind::IamPolicy, "prod-mailer-ses-send"),
        "prod"
    );
    assert_eq!(
        env_of(&plan, ResourceKind::EcrRepository, "mail-sender"),
        "shared"
    );
    assert_eq!(env_of(&plan, ResourceKind::EcsTask, "batch/0a1b2c"), "prod");
    assert_eq!(
        env_of(&plan, ResourceKind::SsmParameter, "/misc/unowned"),
        "unclassified"
    );
    assert_eq!(plan.unclassified.len(), 1);
    assert!(plan.warnings.iter().any(|w| w.subject.as_deref()
        == Some("iam-role:ecs-task-execution")
        && w.message.contains("dev and prod")));
    let reason = &plan
        .resources
        .iter()
        .find(|r| r.name == "/prod/mailer/SMTP_PASSWORD")
        .unwrap()
        .reason;
    assert_eq!(reason, "rule 1: tag Environment in [prod, production]");
}

#[test]
fn every_classified_resource_has_its_steps_and_shared_ones_one_per_environment() {
    let plan = plan();
    let addresses: Vec<&str> = plan.steps().map(|s| s.address.as_str()).collect();
    for r in &plan.resources {
        let expected = if r.environment == "shared" { 2 } else { 1 };
        assert_eq!(
            r.steps.len(),
            expected,
            "{}:{} -> {:?}",
            r.kind,
            r.name,
            r.steps
        );
        for a in &r.steps {
            assert_eq!(
                addresses.iter().filter(|x| *x == a).count(),
                1,
                "{a} appears once"
            );
        }
    }
    let mut sorted = addresses.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), addresses.len(), "addresses are unique");
    // Every dependency names a step of the plan.
    for s in plan.steps() {
        for d in &s.depends_on {
            assert!(
                addresses.contains(&d.as_str()),
                "{} depends on unknown {d}",
                s.address
            );
        }
    }
    assert!(addresses.contains(&"dev/dev-workloads/ssm@eu-west-1:/dev/region/x"));
}

/// A copy step's `config`: the resource as AWS describes it, rewritten for the target.
fn copied_config(step: &Step) -> &Value {
    &step.spec.copy().expect("a copy step").config
}

fn stackset_parameters(step: &Step) -> &BTreeMap<String, String> {
    match &step.spec {
        StepSpec::StackSet(s) => &s.parameters,
        other => panic!("{} is not a StackSet step: {other:?}", step.address),
    }
}

#[test]
fn arns_are_rewritten_to_the_target_and_images_stay() {
    let plan = plan();
    let step = plan
        .steps()
        .find(|s| s.address == "prod/prod-workloads/ecs-taskdef:prod-mail-sender")
        .unwrap();
    let c = &step.spec.copy().expect("a copy step").config;
    assert_eq!(
        c["taskRoleArn"],
        "arn:aws:iam::${account:prod-workloads}:role/prod-mail-sender-task"
    );
    assert_eq!(
        c["executionRoleArn"],
        "arn:aws:iam::${account:prod-workloads}:role/ecs-task-execution"
    );
    assert_eq!(
        c["containerDefinitions"][0]["secrets"][0]["valueFrom"],
        "arn:aws:ssm:us-east-1:${account:prod-workloads}:parameter/prod/mailer/SMTP_PASSWORD"
    );
    assert_eq!(
        c["containerDefinitions"][0]["image"],
        "111111111111.dkr.ecr.us-east-1.amazonaws.com/mail-sender:1.4.2"
    );
    assert!(
        step.depends_on
            .contains(&"prod/prod-workloads/iam-role:prod-mail-sender-task".to_string())
    );
    assert!(
        step.depends_on
            .contains(&"prod/prod-workloads/ssm:/prod/mailer/SMTP_PASSWORD".to_string())
    );
    let ecr = plan
        .steps()
        .find(|s| s.address == "prod/prod-workloads/ecr:mail-sender")
        .unwrap();
    assert_eq!(ecr.action, Action::Update);
    assert_eq!(ecr.account, SRC);
}

#[test]
fn pipelines_wait_on_a_connection_and_drop_their_v1_webhooks() {
    let plan = plan();
    let step = plan
        .steps()
        .find(|s| s.address == "prod/prod-workloads/pipeline:prod-api-release")
        .unwrap();
    assert!(
        copied_config(step).get("webhooks").is_none(),
        "{:#}",
        copied_config(step)
    );
    assert_eq!(
        copied_config(step)["declaration"]["roleArn"],
        "arn:aws:iam::${account:prod-workloads}:role/prod-mail-sender-task"
    );
    assert!(
        step.notes
            .iter()
            .any(|n| n.starts_with("1 v1 webhook(s) are not recreated")),
        "{:?}",
        step.notes
    );
    assert!(
        !step.notes.iter().any(|n| n.contains(":webhook:")),
        "{:?}",
        step.notes
    );
    assert!(
        step.depends_on
            .contains(&"prod/prod-workloads/codestar-connection:orgsplit-github".to_string())
    );
    let conn = plan
        .steps()
        .find(|s| s.address == "prod/prod-workloads/codestar-connection:orgsplit-github")
        .unwrap();
    assert_eq!(conn.action, Action::Create);
    assert!(
        plan.steps()
            .all(|s| s.address != "dev/dev-workloads/codestar-connection:orgsplit-github"),
        "dev has no pipeline"
    );
}

#[test]
fn the_plan_is_deterministic_and_its_digest_verifies() {
    let a = plan().to_json();
    let b = plan().to_json();
    assert_eq!(a, b);
    let read = Plan::from_json(&a).unwrap();
    assert_eq!(read.to_json(), a);
    let tampered = a.replace(
        "\"aws+prod-workloads@example.com\"",
        "\"aws+evil@example.com\"",
    );
    assert!(matches!(
        Plan::from_json(&tampered),
        Err(orgsplit_model::PlanError::DigestMismatch { .. })
    ));
    let reindented: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert!(
        Plan::from_json(&serde_json::to_string(&reindented).unwrap()).is_ok(),
        "whitespace does not matter"
    );
    assert!(matches!(
        Plan::from_json(&a[..a.len() / 2]),
        Err(orgsplit_model::PlanError::Malformed(_))
    ));
    let v2 = a.replacen("\"format_version\": 1", "\"format_version\": 2", 1);
    assert!(matches!(
        Plan::from_json(&v2),
        Err(orgsplit_model::PlanError::UnknownVersion { .. })
    ));
}

#[test]
fn existing_ous_and_accounts_are_no_ops() {
    let config = config();
    let mut inv = inventory();
    inv.organization.ous.push(orgsplit_model::OuState {
        id: "ou-dev".into(),
        name: "dev".into(),
        parent_id: "r-root".into(),
    });
    inv.organization.accounts.push(AccountState {
        id: "222222222222".into(),
        name: "dev-admin".into(),
        email: "aws+dev-admin@example.com".into(),
        status: "ACTIVE".into(),
        parent_id: "ou-dev".into(),
    });
    let stacksets = baseline();
    let plan = build_plan(PlanInput {
        config: &config,
        inventory: &inv,
        stacksets: &stacksets,
        created_at: "t".into(),
    })
    .unwrap();
    let action = |a: &str| plan.steps().find(|s| s.address == a).unwrap().action;
    assert_eq!(action("dev/ou:dev"), Action::NoOp);
    assert_eq!(action("dev/dev-admin/account"), Action::NoOp);
    assert_eq!(action("dev/dev-admin/account-move"), Action::NoOp);
    assert_eq!(action("prod/ou:prod"), Action::Create);
    let stackset = plan
        .steps()
        .find(|s| s.address == "dev/stackset:baseline")
        .unwrap();
    assert_eq!(
        stackset_parameters(stackset)["AdminAccountId"],
        "222222222222"
    );
    let prod_stackset = plan
        .steps()
        .find(|s| s.address == "prod/stackset:baseline")
        .unwrap();
    assert_eq!(
        stackset_parameters(prod_stackset)["AdminAccountId"],
        "${account:prod-admin}"
    );
}

#[test]
fn review_snapshot() {
    insta::assert_snapshot!(render_review(&plan(), &ReviewOptions::default()));
}

#[test]
fn review_of_one_ou_snapshot() {
    insta::assert_snapshot!(render_review(
        &plan(),
        &ReviewOptions {
            ou: Some("dev".into()),
            color: false
        }
    ));
}

#[test]
fn plan_file_snapshot() {
    insta::assert_snapshot!(plan().to_json());
}

#[test]
fn reserved_aws_tags_never_reach_the_plan_and_the_plan_says_how_many() {
    // A CloudFormation-made parameter: AWS refuses every write of an `aws:` tag, so the
    // copy's step must not carry them.
    let config = config();
    let mut inv = inventory();
    inv.resources.push(param(
        "/prod/stack/made",
        "String",
        &[
            ("Environment", "prod"),
            ("aws:cloudformation:stack-name", "prod-app"),
            ("AWS:CloudFormation:Logical-Id", "Param"),
        ],
    ));
    let plan = plan_of(&config, inv);
    for step in plan.steps() {
        let text = serde_json::to_string(step).unwrap().to_ascii_lowercase();
        assert!(!text.contains("aws:cloudformation"), "{text}");
    }
    let step = plan
        .steps()
        .find(|s| s.address.ends_with("ssm:/prod/stack/made"))
        .expect("the parameter is copied");
    assert_eq!(
        step.spec.copy().expect("a copy step").tags,
        BTreeMap::from([("Environment".to_string(), "prod".to_string())])
    );
    let warning = plan
        .warnings
        .iter()
        .find(|w| w.message.contains("reserved aws: prefix"))
        .expect("a warning counts the dropped tags");
    assert!(
        warning.message.starts_with("2 tag(s)"),
        "{}",
        warning.message
    );
    // Without such tags there is no warning.
    assert!(!plan_has_reserved_warning(&self::plan()));
}

/// The plan of `inv` (normalised first) with the test config and the baseline StackSet.
fn plan_of(config: &Config, mut inv: Inventory) -> Plan {
    inv.normalise();
    build_plan(PlanInput {
        config,
        inventory: &inv,
        stacksets: &baseline(),
        created_at: "2026-11-23T09:30:00Z".into(),
    })
    .unwrap()
}

fn plan_has_reserved_warning(plan: &Plan) -> bool {
    plan.warnings
        .iter()
        .any(|w| w.message.contains("reserved aws:"))
}

#[test]
fn a_cluster_with_an_auto_scaling_capacity_provider_is_a_manual_item() {
    // A network for prod, so that services are copies unless their cluster is manual.
    let text = format!(
        "{EXAMPLE}\n[[network]]\nenvironment = \"prod\"\nsubnets = [\"subnet-0a1b2c3d\"]\nsecurity_groups = [\"sg-0a1b2c3d\"]\n"
    );
    let config = Config::parse(Path::new("orgsplit.toml"), &text).unwrap();
    let mut inv = inventory();
    let cluster = |name: &str, providers: Value| {
        Resource::new(
            ResourceKind::EcsCluster,
            name,
            format!("arn:aws:ecs:us-east-1:{SRC}:cluster/{name}"),
            Some("us-east-1".into()),
            tags(&[("Environment", "prod")]),
            json!({"clusterName": name, "capacityProviders": providers}),
            vec![],
        )
    };
    inv.resources
        .push(cluster("prod-asg", json!(["FARGATE", "prod-asg-provider"])));
    inv.resources
        .push(cluster("prod-spot", json!(["FARGATE", "FARGATE_SPOT"])));
    let service = |name: &str, cluster: &str| {
        let cluster_arn = format!("arn:aws:ecs:us-east-1:{SRC}:cluster/{cluster}");
        Resource::new(
            ResourceKind::EcsService,
            name,
            format!("arn:aws:ecs:us-east-1:{SRC}:service/{cluster}/{name}"),
            Some("us-east-1".into()),
            tags(&[("Environment", "prod")]),
            json!({"serviceName": name, "clusterArn": cluster_arn, "desiredCount": 1}),
            vec![Reference::new(&cluster_arn, "clusterArn")],
        )
    };
    inv.resources.push(service("prod-worker", "prod-asg"));
    inv.resources.push(service("prod-web", "prod-spot"));
    let plan = plan_of(&config, inv);
    let step = |name: &str| {
        plan.steps()
            .find(|s| s.address.ends_with(&format!("ecs-cluster:{name}")))
            .unwrap_or_else(|| panic!("no step for cluster {name}"))
            .clone()
    };
    let asg = step("prod-asg");
    assert_eq!(asg.action, Action::Manual);
    assert!(
        asg.notes.iter().any(|n| n.contains("prod-asg-provider")),
        "{:?}",
        asg.notes
    );
    assert_eq!(step("prod-spot").action, Action::Create);
    // A service on the manual cluster cannot be copied before it: manual too, saying why.
    let service_step = |name: &str| {
        plan.steps()
            .find(|s| s.address.ends_with(&format!("ecs-service:{name}")))
            .unwrap_or_else(|| panic!("no step for service {name}"))
            .clone()
    };
    let worker = service_step("prod-worker");
    assert_eq!(worker.action, Action::Manual);
    assert!(worker.depends_on.is_empty());
    assert!(
        worker
            .notes
            .iter()
            .any(|n| n.contains("ecs-cluster:prod-asg") && n.contains("manual item")),
        "{:?}",
        worker.notes
    );
    let web = service_step("prod-web");
    assert_eq!(web.action, Action::Create);
    assert!(
        web.depends_on
            .iter()
            .any(|d| d.ends_with("ecs-cluster:prod-spot"))
    );
}

#[test]
fn a_role_named_in_another_roles_trust_is_copied_first_and_the_trust_points_at_the_copy() {
    let config = config();
    let mut inv = inventory();
    let deployer = format!("arn:aws:iam::{SRC}:role/dev-deployer");
    inv.resources.push(Resource::new(
        ResourceKind::IamRole,
        "dev-deployer",
        deployer.clone(),
        None,
        tags(&[]),
        json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}),
        vec![],
    ));
    inv.resources.push(Resource::new(
        ResourceKind::IamRole,
        "dev-release",
        format!("arn:aws:iam::{SRC}:role/dev-release"),
        None,
        tags(&[]),
        json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": deployer}, "Action": "sts:AssumeRole"}]}}),
        vec![Reference::new(
            deployer.clone(),
            "AssumeRolePolicyDocument.Statement[0].Principal.AWS",
        )],
    ));
    let plan = plan_of(&config, inv);
    let release = plan
        .steps()
        .find(|s| s.address.ends_with("iam-role:dev-release"))
        .expect("dev-release is copied");
    assert!(
        release
            .depends_on
            .iter()
            .any(|d| d.ends_with("iam-role:dev-deployer")),
        "{:?}",
        release.depends_on
    );
    let trust = copied_config(release).to_string();
    assert!(
        !trust.contains(&deployer),
        "the trust still names the source role: {trust}"
    );
    assert!(trust.contains(":role/dev-deployer"), "{trust}");
}

#[test]
fn an_opt_in_region_is_enabled_in_every_account_before_anything_is_copied_there() {
    let text = EXAMPLE.replacen(
        "regions = [\"us-east-1\", \"eu-west-1\"]",
        "regions = [\"us-east-1\", \"eu-west-1\", \"af-south-1\"]",
        1,
    );
    assert_ne!(text, EXAMPLE, "the example lists its regions on one line");
    let config = Config::parse(Path::new("orgsplit.toml"), &text).unwrap();
    let mut inv = inventory();
    inv.regions.push("af-south-1".into());
    let mut cape = param("/dev/cape/url", "String", &[("Environment", "dev")]);
    cape.region = Some("af-south-1".into());
    cape.arn = format!("arn:aws:ssm:af-south-1:{SRC}:parameter/dev/cape/url");
    inv.resources.push(cape);
    let plan = plan_of(&config, inv);
    let access = plan
        .steps()
        .find(|s| s.address == "organization/org-trusted-access:account")
        .expect("Account Management trusted access is planned");
    assert_eq!(
        access.spec,
        StepSpec::OrgTrustedAccess(TrustedAccess {
            service_principal: Some("account.amazonaws.com".into())
        })
    );
    // one opt-in step per account of the config, from the management account
    let opt_ins: Vec<&orgsplit_model::Step> = plan
        .steps()
        .filter(|s| s.kind() == orgsplit_model::StepKind::RegionOptIn)
        .collect();
    assert_eq!(opt_ins.len(), config.accounts.len(), "{opt_ins:#?}");
    assert!(opt_ins.iter().all(|s| {
        s.account == "123456789012"
            && matches!(&s.spec, StepSpec::RegionOptIn(r) if r.region == "af-south-1")
            && s.depends_on
                .contains(&"organization/org-trusted-access:account".to_string())
    }));
    let copy = plan
        .steps()
        .find(|s| s.address.ends_with("ssm@af-south-1:/dev/cape/url"))
        .expect("the af-south-1 parameter is copied");
    assert!(
        copy.depends_on
            .contains(&"dev/dev-workloads/region-opt-in:af-south-1".to_string()),
        "{:?}",
        copy.depends_on
    );
    // Without an opt-in region there is no such step.
    assert!(
        !self::plan()
            .steps()
            .any(|s| s.kind() == orgsplit_model::StepKind::RegionOptIn)
    );
}

#[test]
fn stacksets_trusted_access_is_a_no_op_only_when_cloudformation_says_enabled() {
    let config = config();
    let action = |stacksets_access: &str, service_access: Vec<String>| {
        let mut inv = inventory();
        inv.organization.stacksets_access = stacksets_access.into();
        inv.organization.service_access = service_access;
        let plan = plan_of(&config, inv);
        plan.steps()
            .find(|s| s.address == "organization/org-trusted-access:stacksets")
            .expect("a trusted access step")
            .action
    };
    let principal = "member.org.stacksets.cloudformation.amazonaws.com".to_string();
    // Organizations listing the StackSets principal is not enough: enabled through
    // EnableAWSServiceAccess, StackSets' own service-linked roles may be missing.
    assert_eq!(action("DISABLED", vec![principal.clone()]), Action::Create);
    assert_eq!(action("", vec![]), Action::Create);
    assert_eq!(action("ENABLED", vec![principal]), Action::NoOp);
}

/// A dev role: its trust names `trusted` roles; its inline policy may pass `passes` roles.
fn dev_role(name: &str, trusted: &[&str], passes: &[&str]) -> Resource {
    let arn = |n: &&str| format!("arn:aws:iam::{SRC}:role/{n}");
    let mut refs: Vec<Reference> = trusted
        .iter()
        .map(|n| {
            Reference::new(
                arn(n),
                "AssumeRolePolicyDocument.Statement[0].Principal.AWS",
            )
        })
        .collect();
    refs.extend(
        passes
            .iter()
            .map(|n| Reference::new(arn(n), "RolePolicies[0].Statement[0].Resource")),
    );
    let principal = if trusted.is_empty() {
        json!({"Service": "codebuild.amazonaws.com"})
    } else {
        json!({"AWS": trusted.iter().map(arn).collect::<Vec<_>>()})
    };
    Resource::new(
        ResourceKind::IamRole,
        name,
        format!("arn:aws:iam::{SRC}:role/{name}"),
        None,
        tags(&[("Environment", "dev")]),
        json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}}),
        refs,
    )
}

#[test]
fn roles_naming_each_other_are_ordered_by_trust_and_a_trust_cycle_is_manual() {
    let config = config();
    let mut inv = inventory();
    // runner trusts builder; builder may pass runner: runner waits for builder only.
    inv.resources
        .push(dev_role("dev-builder", &[], &["dev-runner"]));
    inv.resources
        .push(dev_role("dev-runner", &["dev-builder"], &[]));
    // ping and pong trust each other: neither can be created first.
    inv.resources.push(dev_role("dev-ping", &["dev-pong"], &[]));
    inv.resources.push(dev_role("dev-pong", &["dev-ping"], &[]));
    let plan = plan_of(&config, inv);
    let step = |name: &str| {
        plan.steps()
            .find(|s| s.address.ends_with(&format!("iam-role:{name}")))
            .unwrap_or_else(|| panic!("no step for role {name}"))
            .clone()
    };
    let runner = step("dev-runner");
    assert_eq!(runner.action, Action::Create);
    assert!(
        runner
            .depends_on
            .iter()
            .any(|d| d.ends_with("iam-role:dev-builder")),
        "{:?}",
        runner.depends_on
    );
    let builder = step("dev-builder");
    assert_eq!(builder.action, Action::Create);
    assert!(
        !builder
            .depends_on
            .iter()
            .any(|d| d.ends_with("iam-role:dev-runner")),
        "{:?}",
        builder.depends_on
    );
    for (name, other) in [("dev-ping", "dev-pong"), ("dev-pong", "dev-ping")] {
        let s = step(name);
        assert_eq!(s.action, Action::Manual, "{name}");
        assert!(
            s.notes
                .iter()
                .any(|n| n.contains(other) && n.contains("name each other")),
            "{name}: {:?}",
            s.notes
        );
    }
}
