//! The planner's decisions beyond classification: reserved tags dropped, manual items and
//! what they make manual, roles ordered by trust, opt-in Regions, StackSets' trusted access.

mod common;

use common::*;

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
    inv.resources.push(cluster("prod-asg", json!(["FARGATE", "prod-asg-provider"])));
    inv.resources.push(cluster("prod-spot", json!(["FARGATE", "FARGATE_SPOT"])));
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
    assert!(asg.notes.iter().any(|n| n.contains("prod-asg-provider")), "{:?}", asg.notes);
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
    assert!(web.depends_on.iter().any(|d| d.ends_with("ecs-cluster:prod-spot")));
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
        release.depends_on.iter().any(|d| d.ends_with("iam-role:dev-deployer")),
        "{:?}",
        release.depends_on
    );
    let trust = copied_config(release).to_string();
    assert!(!trust.contains(&deployer), "the trust still names the source role: {trust}");
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
    let opt_ins: Vec<&orgsplit_model::Step> =
        plan.steps().filter(|s| s.kind() == orgsplit_model::StepKind::RegionOptIn).collect();
    assert_eq!(opt_ins.len(), config.accounts.len(), "{opt_ins:#?}");
    assert!(opt_ins.iter().all(|s| {
        s.account == "123456789012"
            && matches!(&s.spec, StepSpec::RegionOptIn(r) if r.region == "af-south-1")
            && s.depends_on.contains(&"organization/org-trusted-access:account".to_string())
    }));
    let copy = plan
        .steps()
        .find(|s| s.address.ends_with("ssm@af-south-1:/dev/cape/url"))
        .expect("the af-south-1 parameter is copied");
    assert!(
        copy.depends_on.contains(&"dev/dev-workloads/region-opt-in:af-south-1".to_string()),
        "{:?}",
        copy.depends_on
    );
    // Without an opt-in region there is no such step.
    assert!(!self::plan().steps().any(|s| s.kind() == orgsplit_model::StepKind::RegionOptIn));
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

#[test]
fn roles_naming_each_other_are_ordered_by_trust_and_a_trust_cycle_is_manual() {
    let config = config();
    let mut inv = inventory();
    // runner trusts builder; builder may pass runner: runner waits for builder only.
    inv.resources.push(dev_role("dev-builder", &[], &["dev-runner"]));
    inv.resources.push(dev_role("dev-runner", &["dev-builder"], &[]));
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
        runner.depends_on.iter().any(|d| d.ends_with("iam-role:dev-builder")),
        "{:?}",
        runner.depends_on
    );
    let builder = step("dev-builder");
    assert_eq!(builder.action, Action::Create);
    assert!(
        !builder.depends_on.iter().any(|d| d.ends_with("iam-role:dev-runner")),
        "{:?}",
        builder.depends_on
    );
    for (name, other) in [("dev-ping", "dev-pong"), ("dev-pong", "dev-ping")] {
        let s = step(name);
        assert_eq!(s.action, Action::Manual, "{name}");
        assert!(
            s.notes.iter().any(|n| n.contains(other) && n.contains("name each other")),
            "{name}: {:?}",
            s.notes
        );
    }
}

#[test]
fn a_secret_another_service_owns_is_a_manual_item() {
    let mut inv = inventory();
    let secret = |name: &str, owner: Option<&str>| {
        let config = match owner {
            Some(service) => json!({"Description": "", "OwningService": service}),
            None => json!({"Description": ""}),
        };
        let arn = format!("arn:aws:secretsmanager:us-east-1:{SRC}:secret:{name}-AbCdEf");
        let region = Some("us-east-1".into());
        Resource::new(
            ResourceKind::Secret,
            name,
            arn,
            region,
            tags(&[("Environment", "prod")]),
            config,
            vec![],
        )
    };
    inv.resources.push(secret("rds!db-0a1b2c3d-4e5f", Some("rds")));
    inv.resources.push(secret("prod/reports/api-key", None));
    let plan = plan_of(&config(), inv);
    let step = |name: &str| {
        plan.steps()
            .find(|s| s.address.ends_with(&format!("secret:{name}")))
            .unwrap_or_else(|| panic!("no step for secret {name}"))
            .clone()
    };
    let owned = step("rds!db-0a1b2c3d-4e5f");
    assert_eq!(owned.action, Action::Manual);
    assert!(owned.notes.iter().any(|n| n.contains("managed by rds")), "{:?}", owned.notes);
    let own = step("prod/reports/api-key");
    assert_eq!(own.action, Action::Create);
    assert_eq!(own.kind(), orgsplit_model::StepKind::Secret);
}

/// `[connection] owner`: the connection step acts in the owner's account, and an id outside
/// the organization is refused before anything is planned.
#[test]
fn the_connection_lives_in_its_owners_account() {
    let with_owner = |owner: &str| {
        let text = EXAMPLE.replacen("owner = \"management\"", &format!("owner = \"{owner}\""), 1);
        Config::parse(Path::new("orgsplit.toml"), &text).unwrap()
    };
    let inv = inventory();
    let connection_account = |plan: &Plan| {
        let steps: Vec<_> =
            plan.steps().filter(|s| s.kind() == orgsplit_model::StepKind::Connection).collect();
        assert_eq!(steps.len(), 1, "one connection for the organization");
        steps[0].account.clone()
    };
    let plan = plan_of(&with_owner("source"), inv.clone());
    assert_eq!(connection_account(&plan), SRC);
    for share in plan.steps().filter(|s| s.kind() == orgsplit_model::StepKind::ConnectionShare) {
        assert_eq!(share.account, SRC, "{}: the owner shares it", share.address);
    }
    let plan = plan_of(&with_owner("management"), inv.clone());
    assert_eq!(connection_account(&plan), plan.management_account_id);

    let mut normalised = inv.clone();
    normalised.normalise();
    let outsider = with_owner("999999999999");
    let refused = build_plan(PlanInput {
        config: &outsider,
        inventory: &normalised,
        stacksets: &baseline(),
        created_at: "2026-11-23T09:30:00Z".into(),
    })
    .expect_err("an owner outside the organization");
    assert!(refused.to_string().contains("999999999999"), "{refused}");
}
