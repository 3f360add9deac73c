//! What the planner's tests share: the example config, a small inventory with every kind
//! of resource, and helpers to plan and look into the result.
// A prelude: each test file uses its part of it.
#![allow(dead_code, unused_imports)]

pub use orgsplit_model::config::Config;
pub use orgsplit_model::inventory::{
    AccountState, INVENTORY_FORMAT_VERSION, Inventory, OrganizationState,
};
pub use orgsplit_model::stackset::{ParameterSource, StackSetSpec};
pub use orgsplit_model::step::TrustedAccess;
pub use orgsplit_model::{Action, Plan, Reference, Resource, ResourceKind, Step, StepSpec};
pub use orgsplit_planner::{PlanInput, ReviewOptions, build_plan, render_review};
pub use serde_json::{Value, json};
pub use std::collections::BTreeMap;
pub use std::path::Path;

pub const EXAMPLE: &str = include_str!("../../../../plans/examples/orgsplit.toml");
pub const SRC: &str = "111111111111";

pub fn config() -> Config {
    Config::parse(Path::new("orgsplit.toml"), EXAMPLE).unwrap()
}

pub fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub fn param(name: &str, kind: &str, t: &[(&str, &str)]) -> Resource {
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

pub fn role(name: &str, refs: Vec<Reference>) -> Resource {
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

pub fn taskdef(env: &str) -> Resource {
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

pub fn inventory() -> Inventory {
    let mut resources = vec![
        param("/dev/mailer/SMTP_PASSWORD", "SecureString", &[]),
        param("/prod/mailer/SMTP_PASSWORD", "SecureString", &[("Environment", "prod")]),
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
        partition: "aws".into(),
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
        coverage: vec![],
    };
    inv.normalise();
    inv
}

pub fn baseline() -> Vec<StackSetSpec> {
    vec![StackSetSpec {
        template: "baseline".into(),
        description: "terraform roles".into(),
        template_digest: "sha256:0000".into(),
        template_body: "Resources: {}\n".into(),
        capabilities: vec!["CAPABILITY_NAMED_IAM".into()],
        parameters: [
            ("AdminAccountId".to_string(), ParameterSource::OuAdminAccountId),
            ("OrganizationId".to_string(), ParameterSource::OrganizationId),
        ]
        .into(),
        operation: Default::default(),
    }]
}

pub fn plan() -> Plan {
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

pub fn env_of(plan: &Plan, kind: ResourceKind, name: &str) -> String {
    plan.resources
        .iter()
        .chain(&plan.unclassified)
        .find(|r| r.kind == kind && r.name == name)
        .unwrap_or_else(|| panic!("{kind}:{name} not in plan"))
        .environment
        .clone()
}

/// A copy step's `config`: the resource as AWS describes it, rewritten for the target.
pub fn copied_config(step: &Step) -> &Value {
    &step.spec.copy().expect("a copy step").config
}

pub fn stackset_parameters(step: &Step) -> &BTreeMap<String, String> {
    match &step.spec {
        StepSpec::StackSet(s) => &s.parameters,
        other => panic!("{} is not a StackSet step: {other:?}", step.address),
    }
}

/// The plan of `inv` (normalised first) with the test config and the baseline StackSet.
pub fn plan_of(config: &Config, mut inv: Inventory) -> Plan {
    inv.normalise();
    build_plan(PlanInput {
        config,
        inventory: &inv,
        stacksets: &baseline(),
        created_at: "2026-11-23T09:30:00Z".into(),
    })
    .unwrap()
}

pub fn plan_has_reserved_warning(plan: &Plan) -> bool {
    plan.warnings.iter().any(|w| w.message.contains("reserved aws:"))
}

/// A dev role: its trust names `trusted` roles; its inline policy may pass `passes` roles.
pub fn dev_role(name: &str, trusted: &[&str], passes: &[&str]) -> Resource {
    let arn = |n: &&str| format!("arn:aws:iam::{SRC}:role/{n}");
    let mut refs: Vec<Reference> = trusted
        .iter()
        .map(|n| Reference::new(arn(n), "AssumeRolePolicyDocument.Statement[0].Principal.AWS"))
        .collect();
    refs.extend(
        passes.iter().map(|n| Reference::new(arn(n), "RolePolicies[0].Statement[0].Resource")),
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
