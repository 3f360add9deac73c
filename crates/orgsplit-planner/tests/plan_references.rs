//! References that follow the copy: a copied bucket's other name (generated, or from
//! `[bucket_names]`) wherever the copied configurations name the bucket, and a secret named by
//! full ARN through the placeholder its copy's ARN replaces at apply time.

mod common;

use common::*;

fn bucket(name: &str, env: &str) -> Resource {
    Resource::new(
        ResourceKind::S3Bucket,
        name,
        format!("arn:aws:s3:::{name}"),
        Some("us-east-1".into()),
        tags(&[("Environment", env)]),
        json!({"Region": "us-east-1", "Versioning": "Enabled"}),
        vec![],
    )
}

/// A prod role whose policy names `bucket` by ARN, and a secret by full ARN.
fn prod_role(bucket: &str, secret_arn: &str) -> Resource {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")]},
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}
    ]});
    Resource::new(
        ResourceKind::IamRole,
        "prod-reports-task",
        format!("arn:aws:iam::{SRC}:role/prod-reports-task"),
        None,
        tags(&[("Environment", "prod")]),
        json!({"AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
               "InlinePolicies": {"read": policy}}),
        vec![Reference::new(secret_arn, "InlinePolicies.read.Statement[1].Resource")],
    )
}

fn secret(name: &str) -> Resource {
    Resource::new(
        ResourceKind::Secret,
        name,
        format!("arn:aws:secretsmanager:us-east-1:{SRC}:secret:{name}-AbC123"),
        Some("us-east-1".into()),
        tags(&[]),
        json!({"Description": ""}),
        vec![],
    )
}

fn step<'p>(plan: &'p Plan, suffix: &str) -> &'p Step {
    plan.steps()
        .find(|s| s.address.ends_with(suffix))
        .unwrap_or_else(|| panic!("no step ending in {suffix}"))
}

fn with(extra: &str) -> Config {
    Config::parse(Path::new("orgsplit.toml"), &format!("{EXAMPLE}\n{extra}\n")).unwrap()
}

fn inventory_with(resources: Vec<Resource>) -> Inventory {
    let mut inv = inventory();
    inv.resources.extend(resources);
    inv
}

#[test]
fn a_policy_naming_a_copied_bucket_names_the_copy() {
    let source_secret =
        format!("arn:aws:secretsmanager:us-east-1:{SRC}:secret:prod/reports-AbC123");
    let inv = inventory_with(vec![
        bucket("acme-reports", "prod"),
        secret("prod/reports"),
        prod_role("acme-reports", &source_secret),
    ]);
    let plan = plan_of(&config(), inv);
    let role = step(&plan, "iam-role:prod-reports-task");
    let text = copied_config(role).to_string();
    let copy = "acme-reports-${account:prod-workloads}";
    assert!(text.contains(&format!("arn:aws:s3:::{copy}\"")), "{text}");
    assert!(text.contains(&format!("arn:aws:s3:::{copy}/*")), "{text}");
    assert!(
        !text.contains("arn:aws:s3:::acme-reports\""),
        "the source bucket is still named: {text}"
    );
    assert!(
        role.notes.iter().any(|n| n.contains("bucket acme-reports is copied as")),
        "{:?}",
        role.notes
    );

    // The secret by full ARN: its copy's ARN, known once the secret step has run.
    let secret_step = step(&plan, "secret:prod/reports");
    assert!(
        text.contains(&format!("${{secret-arn:{}}}", secret_step.address)),
        "the secret's full ARN is not a placeholder: {text}"
    );
    assert!(!text.contains("-AbC123"), "the source's suffix is still there: {text}");
    assert!(role.depends_on.contains(&secret_step.address), "{:?}", role.depends_on);
}

#[test]
fn bucket_names_in_the_config_name_the_copies_and_their_references() {
    let config = with(
        "[bucket_names]\n\"acme-reports\" = \"acme-reports-prod\"\n\"acme-state\" = { dev = \"acme-state-dev\", prod = \"acme-state-prod\" }\n\"acme-gone\" = \"acme-gone-prod\"",
    );
    let source_secret =
        format!("arn:aws:secretsmanager:us-east-1:{SRC}:secret:prod/reports-AbC123");
    let inv = inventory_with(vec![
        bucket("acme-reports", "prod"),
        bucket("acme-state", "shared"),
        secret("prod/reports"),
        prod_role("acme-reports", &source_secret),
    ]);
    let plan = plan_of(&config, inv);
    let names: Vec<(String, String)> = plan
        .steps()
        .filter_map(|s| match &s.spec {
            StepSpec::S3Bucket(b) => Some((s.address.clone(), b.target_name.clone())),
            _ => None,
        })
        .collect();
    for (suffix, want) in [
        ("prod-workloads/s3:acme-reports", "acme-reports-prod"),
        ("dev-workloads/s3:acme-state", "acme-state-dev"),
        ("prod-workloads/s3:acme-state", "acme-state-prod"),
    ] {
        assert!(names.iter().any(|(a, n)| a.ends_with(suffix) && n == want), "{suffix}: {names:?}");
    }
    let text = copied_config(step(&plan, "iam-role:prod-reports-task")).to_string();
    assert!(text.contains("arn:aws:s3:::acme-reports-prod/*"), "{text}");
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.message.contains("\"acme-gone\", which the inventory does not have")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn one_name_for_a_bucket_copied_into_two_environments_is_refused() {
    let config = with("[bucket_names]\n\"acme-state\" = \"acme-state-copy\"");
    let mut inv = inventory_with(vec![bucket("acme-state", "shared")]);
    inv.normalise();
    let err = build_plan(PlanInput {
        config: &config,
        inventory: &inv,
        stacksets: &baseline(),
        created_at: "2026-11-23T09:30:00Z".into(),
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("bucket \"acme-state\": its copy would be named \"acme-state-copy\""),
        "{err}"
    );
    assert!(err.contains("bucket names are global"), "{err}");
}

#[test]
fn a_bucket_name_s3_refuses_is_an_error_on_its_line() {
    for (value, why) in [
        ("\"Acme_State\"", "'A' is not allowed"),
        ("\"ab\"", "2 characters"),
        (
            "{ dev = \"acme-state-dev\", qa = \"acme-state-qa\" }",
            "\"qa\" is not an OU's environment",
        ),
        ("{ dev = \"acme-same\", prod = \"acme-same\" }", "bucket names are global"),
    ] {
        let text = format!("{EXAMPLE}\n[bucket_names]\n\"acme-state\" = {value}\n");
        let err = Config::parse(Path::new("orgsplit.toml"), &text).unwrap_err();
        let line = text.lines().count();
        assert_eq!(err.line, line, "{value}: {err}");
        assert!(err.key.starts_with("bucket_names.\"acme-state\""), "{value}: {err}");
        assert!(err.message.contains(why), "{value}: {err}");
    }
}

#[test]
fn a_rotating_secret_is_copied_with_a_note_and_a_replica_is_a_manual_item() {
    let mut rotating = secret("prod/db-rotating");
    rotating.config = json!({"RotationEnabled": true,
        "RotationLambdaARN": format!("arn:aws:lambda:us-east-1:{SRC}:function:prod-rotate-db"),
        "PrimaryRegion": "us-east-1"})
    .into();
    let mut replica = secret("prod/db-replica");
    replica.config = json!({"PrimaryRegion": "eu-west-1"}).into();
    let plan = plan_of(&config(), inventory_with(vec![rotating, replica]));
    let copy = step(&plan, "secret:prod/db-rotating");
    assert_eq!(copy.action, Action::Create);
    assert!(
        copy.notes
            .iter()
            .any(|n| n.contains("rotation (by arn:aws:lambda") && n.contains("not copied")),
        "{:?}",
        copy.notes
    );
    let manual = step(&plan, "secret:prod/db-replica");
    assert_eq!(manual.action, Action::Manual);
    assert!(
        manual.notes.iter().any(|n| n.contains("a replica of the secret in eu-west-1")),
        "{:?}",
        manual.notes
    );
}

#[test]
fn a_bucket_under_a_source_kms_key_is_copied_under_the_target_s_own_key() {
    let mut encrypted = bucket("acme-prod-exports", "prod");
    let key = format!("arn:aws:kms:us-east-1:{SRC}:key/1234abcd-12ab-34cd-56ef-1234567890ab");
    encrypted.config["Encryption"] = json!({"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}, "BucketKeyEnabled": true}]});
    let plan = plan_of(&config(), inventory_with(vec![encrypted]));
    let copy = step(&plan, "s3:acme-prod-exports");
    let rule = &copied_config(copy)["Encryption"]["Rules"][0];
    assert_eq!(rule["ApplyServerSideEncryptionByDefault"], json!({"SSEAlgorithm": "aws:kms"}));
    assert_eq!(rule["BucketKeyEnabled"], json!(true));
    assert!(
        copy.notes.iter().any(|n| n.contains(&key) && n.contains("aws/s3")),
        "{:?}",
        copy.notes
    );
    assert!(
        !copy.notes.iter().any(|n| n.contains("left pointing at the source")),
        "{:?}",
        copy.notes
    );
}

#[test]
fn a_scheduled_task_runs_on_the_configured_network_or_is_a_manual_item() {
    let rule = Resource::new(
        ResourceKind::EventsRule,
        "prod-nightly-report",
        format!("arn:aws:events:us-east-1:{SRC}:rule/prod-nightly-report"),
        Some("us-east-1".into()),
        tags(&[]),
        json!({"Name": "prod-nightly-report", "ScheduleExpression": "cron(0 2 * * ? *)", "Targets": [{"Id": "t",
            "Arn": format!("arn:aws:ecs:us-east-1:{SRC}:cluster/batch"),
            "EcsParameters": {"TaskCount": 1, "NetworkConfiguration": {"awsvpcConfiguration": {
                "Subnets": ["subnet-source1"], "SecurityGroups": ["sg-source1"], "AssignPublicIp": "DISABLED"}}}}]}),
        vec![],
    );
    let without = plan_of(&config(), inventory_with(vec![rule.clone()]));
    let manual = step(&without, "events-rule:prod-nightly-report");
    assert_eq!(manual.action, Action::Manual);
    assert!(
        manual.notes.iter().any(|n| n.contains("add a [[network]] for environment prod")),
        "{:?}",
        manual.notes
    );

    let with = plan_of(
        &with(
            "[[network]]\nenvironment = \"prod\"\nsubnets = [\"subnet-target1\", \"subnet-target2\"]\nsecurity_groups = [\"sg-target1\"]\nassign_public_ip = true",
        ),
        inventory_with(vec![rule]),
    );
    let copy = step(&with, "events-rule:prod-nightly-report");
    assert_eq!(copy.action, Action::Create);
    assert_eq!(
        copied_config(copy)["Targets"][0]["EcsParameters"]["NetworkConfiguration"]["awsvpcConfiguration"],
        json!({"Subnets": ["subnet-target1", "subnet-target2"], "SecurityGroups": ["sg-target1"], "AssignPublicIp": "ENABLED"})
    );
}

#[test]
fn an_aws_cn_inventory_is_planned_in_aws_cn() {
    let source_secret =
        format!("arn:aws:secretsmanager:us-east-1:{SRC}:secret:prod/reports-AbC123");
    let mut role = prod_role("acme-reports", &source_secret);
    role.config["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] =
        json!({"AWS": format!("arn:aws:iam::{SRC}:root")});
    let inv = inventory_with(vec![bucket("acme-reports", "prod"), secret("prod/reports"), role]);
    // The same account in China: every ARN in `aws-cn`, as the inventory reads them there.
    let text = serde_json::to_string(&inv).unwrap().replace("arn:aws:", "arn:aws-cn:");
    let mut inv: Inventory = serde_json::from_str(&text).unwrap();
    inv.partition = "aws-cn".into();
    let plan = plan_of(&config(), inv);
    let role = copied_config(step(&plan, "iam-role:prod-reports-task")).to_string();
    let copy = "acme-reports-${account:prod-workloads}";
    assert!(role.contains(&format!("arn:aws-cn:s3:::{copy}/*")), "{role}");
    assert!(
        role.contains("\"arn:aws-cn:iam::${account:prod-workloads}:root\""),
        "the source account's root does not follow the copy: {role}"
    );
    let whole = serde_json::to_string(&plan).unwrap();
    assert!(!whole.contains("arn:aws:"), "an `aws` ARN in an aws-cn plan");
}
