//! KMS keys, CodeBuild projects and replicated secrets: copies that use the key's copy, a key
//! policy set after the roles it names, a pipeline after its build project, a replica after
//! its primary.

mod common;

use common::*;

const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn key_arn() -> String {
    format!("arn:aws:kms:us-east-1:{SRC}:key/{KEY_ID}")
}

/// Key `alias/prod/app`, whose policy names the account root and role `prod-api-task`.
fn key() -> Resource {
    let role = format!("arn:aws:iam::{SRC}:role/prod-api-task");
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{SRC}:root")}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "kms:Decrypt", "Resource": "*"}]});
    Resource::new(
        ResourceKind::KmsKey,
        "prod/app",
        key_arn(),
        Some("us-east-1".into()),
        tags(&[("Environment", "prod")]),
        json!({"KeyId": KEY_ID, "Aliases": ["alias/prod/app"], "KeyUsage": "ENCRYPT_DECRYPT",
               "KeySpec": "SYMMETRIC_DEFAULT", "Origin": "AWS_KMS", "KeyRotationEnabled": true, "Policy": policy}),
        vec![Reference::new(role, "Policy.Statement[1].Principal.AWS")],
    )
}

/// Role `prod-api-task`, allowed to decrypt with the key by its ARN.
fn key_user() -> Resource {
    let mut r = role(
        "prod-api-task",
        vec![Reference::new(key_arn(), "InlinePolicies.kms.Statement[0].Resource")],
    );
    r.config["InlinePolicies"] = json!({"kms": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn()}]}});
    r.fingerprint = r.compute_fingerprint();
    r
}

fn under_key(name: &str, env: &str) -> Resource {
    let mut p = param(name, "SecureString", &[("Environment", env)]);
    p.config["KeyId"] = json!(key_arn());
    p.references.push(Reference::new(key_arn(), "KeyId"));
    p.fingerprint = p.compute_fingerprint();
    p
}

fn step<'p>(plan: &'p Plan, suffix: &str) -> &'p Step {
    plan.steps()
        .find(|s| s.address.ends_with(suffix))
        .unwrap_or_else(|| panic!("no step ending in {suffix}"))
}

fn inventory_with(resources: Vec<Resource>) -> Inventory {
    let mut inv = inventory();
    inv.resources.extend(resources);
    inv
}

#[test]
fn copies_use_the_key_s_copy_and_its_policy_waits_for_the_roles_it_names() {
    let plan = plan_of(
        &config(),
        inventory_with(vec![key(), key_user(), under_key("/prod/app/SIGNING_KEY", "prod")]),
    );
    let key_step = step(&plan, "prod-workloads/kms:prod/app");
    let placeholder = "${kms-key-arn:prod/prod-workloads/kms:prod/app}";
    let StepSpec::KmsKey(inputs) = &key_step.spec else { panic!("{:?}", key_step.spec) };
    assert!(inputs.policy_later, "the policy names a role the plan creates");
    let role_step = step(&plan, "prod-workloads/iam-role:prod-api-task");
    assert!(!key_step.depends_on.contains(&role_step.address), "{:?}", key_step.depends_on);
    assert!(role_step.depends_on.contains(&key_step.address), "{:?}", role_step.depends_on);
    assert_eq!(
        copied_config(role_step)["InlinePolicies"]["kms"]["Statement"][0]["Resource"],
        placeholder
    );
    let parameter = step(&plan, "ssm:/prod/app/SIGNING_KEY");
    assert_eq!(copied_config(parameter)["KeyId"], placeholder);
    assert!(parameter.depends_on.contains(&key_step.address));

    let policy_step = step(&plan, "prod-workloads/kms-policy:prod/app");
    let StepSpec::KmsKeyPolicy(policy) = &policy_step.spec else { panic!() };
    assert_eq!(policy.key_arn, placeholder);
    assert_eq!(
        policy.policy["Statement"][1]["Principal"]["AWS"],
        "arn:aws:iam::${account:prod-workloads}:role/prod-api-task"
    );
    let mut wanted = vec![key_step.address.clone(), role_step.address.clone()];
    wanted.sort();
    assert_eq!(policy_step.depends_on, wanted);
    assert_eq!(
        policy_step.read_keys().collect::<Vec<_>>(),
        key_step.read_keys().collect::<Vec<_>>(),
        "staleness of the key covers its policy"
    );
}

#[test]
fn a_key_not_copied_into_the_account_is_dropped_with_a_note() {
    // A dev parameter under the prod key: the dev account gets no copy of the key.
    let plan = plan_of(&config(), inventory_with(vec![key(), under_key("/dev/app/TOKEN", "dev")]));
    let parameter = step(&plan, "ssm:/dev/app/TOKEN");
    assert!(copied_config(parameter).get("KeyId").is_none(), "{}", copied_config(parameter));
    assert!(
        parameter.notes.iter().any(|n| n.contains(&key_arn()) && n.contains("alias/aws/ssm")),
        "{:?}",
        parameter.notes
    );
    assert!(!parameter.notes.iter().any(|n| n.contains("left pointing at the source")));
}

#[test]
fn a_key_of_imported_material_is_a_manual_item() {
    let mut imported = key();
    imported.config["Origin"] = json!("EXTERNAL");
    let plan = plan_of(&config(), inventory_with(vec![imported]));
    let key_step = step(&plan, "kms:prod/app");
    assert_eq!(key_step.action, Action::Manual);
    assert!(key_step.notes.iter().any(|n| n.contains("EXTERNAL")), "{:?}", key_step.notes);
    assert!(!plan.steps().any(|s| s.address.ends_with("kms-policy:prod/app")));
}

fn project(vpc: bool) -> Resource {
    let role = format!("arn:aws:iam::{SRC}:role/codebuild-service");
    let mut config = json!({"name": "api-build", "serviceRole": role,
        "source": {"type": "CODEPIPELINE"}, "artifacts": {"type": "CODEPIPELINE"},
        "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL",
            "environmentVariables": [{"name": "DB_URL", "value": "/prod/api/DB_URL", "type": "PARAMETER_STORE"}]}});
    if vpc {
        config["vpcConfig"] =
            json!({"vpcId": "vpc-1", "subnets": ["subnet-1"], "securityGroupIds": ["sg-1"]});
    }
    Resource::new(
        ResourceKind::CodeBuildProject,
        "api-build",
        format!("arn:aws:codebuild:us-east-1:{SRC}:project/api-build"),
        Some("us-east-1".into()),
        tags(&[]),
        config,
        vec![
            Reference::new(role, "serviceRole"),
            Reference::new(
                format!("arn:aws:ssm:us-east-1:{SRC}:parameter/prod/api/DB_URL"),
                "environment.environmentVariables[0].value",
            ),
        ],
    )
}

fn building_pipeline() -> Resource {
    let arn = format!("arn:aws:codebuild:us-east-1:{SRC}:project/api-build");
    Resource::new(
        ResourceKind::Pipeline,
        "prod-web-release",
        format!("arn:aws:codepipeline:us-east-1:{SRC}:prod-api-release"),
        Some("us-east-1".into()),
        tags(&[]),
        json!({"declaration": {"name": "prod-web-release", "stages": [{"name": "Build", "actions": [{"name": "Build",
            "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
            "configuration": {"ProjectName": "api-build"}}]}]}, "webhooks": []}),
        vec![Reference::new(arn, "declaration.stages[0].actions[0].configuration.ProjectName")],
    )
}

#[test]
fn a_pipeline_waits_for_its_build_project_and_the_project_for_what_it_reads() {
    let inv = inventory_with(vec![
        project(false),
        building_pipeline(),
        role("codebuild-service", vec![]),
        param("/prod/api/DB_URL", "SecureString", &[]),
    ]);
    let plan = plan_of(&config(), inv);
    let project_step = step(&plan, "prod-workloads/codebuild:api-build");
    assert_eq!(project_step.action, Action::Create);
    assert_eq!(plan_env(&plan, ResourceKind::CodeBuildProject), "prod", "used by a prod pipeline");
    for needed in ["iam-role:codebuild-service", "ssm:/prod/api/DB_URL"] {
        assert!(
            project_step.depends_on.iter().any(|d| d.ends_with(needed)),
            "{needed}: {:?}",
            project_step.depends_on
        );
    }
    assert_eq!(
        copied_config(project_step)["serviceRole"],
        "arn:aws:iam::${account:prod-workloads}:role/codebuild-service"
    );
    let pipeline = step(&plan, "pipeline:prod-web-release");
    assert!(pipeline.depends_on.contains(&project_step.address), "{:?}", pipeline.depends_on);
}

#[test]
fn a_project_that_builds_in_a_vpc_is_manual_and_so_is_its_pipeline() {
    let plan = plan_of(&config(), inventory_with(vec![project(true), building_pipeline()]));
    let project_step = step(&plan, "codebuild:api-build");
    assert_eq!(project_step.action, Action::Manual);
    assert!(project_step.notes.iter().any(|n| n.contains("VPC")), "{:?}", project_step.notes);
    assert_eq!(step(&plan, "pipeline:prod-web-release").action, Action::Manual);
}

fn plan_env(plan: &Plan, kind: ResourceKind) -> String {
    plan.resources.iter().find(|r| r.kind == kind).expect("planned").environment.clone()
}

#[test]
fn a_replica_waits_for_its_primary_which_replicates_it() {
    let secret = |region: &str, primary: &str| {
        Resource::new(
            ResourceKind::Secret,
            "prod/db",
            format!("arn:aws:secretsmanager:{region}:{SRC}:secret:prod/db-AbC123"),
            Some(region.into()),
            tags(&[]),
            json!({"PrimaryRegion": primary}),
            vec![],
        )
    };
    let mut primary = secret("us-east-1", "us-east-1");
    primary.config["ReplicaRegions"] = json!(["eu-west-1"]);
    let plan = plan_of(&config(), inventory_with(vec![primary, secret("eu-west-1", "us-east-1")]));
    let primary_step = step(&plan, "prod-workloads/secret:prod/db");
    assert!(primary_step.notes.iter().any(|n| n.contains("replicated to eu-west-1")));
    let replica = step(&plan, "prod-workloads/secret@eu-west-1:prod/db");
    assert_eq!(replica.action, Action::Create);
    assert!(replica.depends_on.contains(&primary_step.address), "{:?}", replica.depends_on);
}
