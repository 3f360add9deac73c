//! The data copy steps (SSM parameters, secrets, IAM policies and roles, log groups, S3
//! buckets, ECR pull access) against the emulator's demo scenario: each test plans the
//! demo, runs one workloads account's steps, and checks the result by reading AWS back in
//! the target (and the source), never by trusting the steps' outcomes.
// Each test prints a summary line of what it checked (seen with `--nocapture`).
#![allow(clippy::print_stdout)]

mod common;

use common::data::*;

#[test]
fn dev_workloads_copies_match_the_source_and_a_second_run_changes_nothing() {
    let world = World::demo(&["dev-workloads", "dev-admin"]);
    let (_, rt, aws, plan, ids) = world.parts();
    let target = ids["dev-workloads"].clone();
    let steps = data_steps(plan, "dev/dev-workloads");
    let kinds: BTreeSet<StepKind> = steps.iter().map(|s| s.kind()).collect();
    // Every data kind but customer managed policies (only prod has one in the demo).
    for k in DATA_KINDS.into_iter().filter(|k| *k != StepKind::IamPolicy) {
        assert!(kinds.contains(&k), "the demo plan has no {k:?} step for dev");
    }

    let first = rt.block_on(run_all(aws, plan, &steps, ids));
    let unchanged: Vec<&String> = first.iter().filter(|(_, c)| !c).map(|(a, _)| a).collect();
    assert!(unchanged.is_empty(), "first run left unchanged: {unchanged:?}");
    println!("first run: {} steps, all changed", first.len());
    rt.block_on(check_copies(aws, &steps, &target));
    // The comparison above means something: the demo's artifact bucket has every setting.
    let source = rt.block_on(aws.session(SOURCE_ACCOUNT)).unwrap();
    let settings = rt.block_on(bucket_settings(&source, "us-east-1", "acme-pipeline-artifacts"));
    assert!(
        settings.policy.is_some()
            && settings.public_access.is_some()
            && settings.ownership.is_some()
            && settings.lifecycle.is_some()
            && settings.cors.is_some(),
        "{settings:?}"
    );

    assert_second_run_is_a_no_op(&world, &steps, "dev-workloads");
}

/// Changes made by hand in the target (or a run killed half-way) are put back by the next
/// run, and only those.
#[test]
fn drift_in_the_target_is_repaired() {
    let world = World::demo(&["dev-workloads", "dev-admin"]);
    let (_, rt, aws, plan, ids) = world.parts();
    let target = ids["dev-workloads"].clone();
    let steps = data_steps(plan, "dev/dev-workloads");
    rt.block_on(run_all(aws, plan, &steps, ids));

    let param = common::step(plan, "dev/dev-workloads/ssm:/dev/api/DB_URL");
    let secret = common::step(plan, "dev/dev-workloads/secret:dev/mailer/api-key");
    let role = common::step(plan, "dev/dev-workloads/iam-role:ecs-task-execution");
    let logs = common::step(plan, "dev/dev-workloads/logs:/ecs/dev-api");
    let bucket = common::step(plan, "dev/dev-workloads/s3:acme-terraform-state");
    let ecr = common::step(plan, "dev/dev-workloads/ecr:api");
    let drifted = [param, secret, role, logs, bucket, ecr];
    let bucket_name = format!("acme-terraform-state-{target}");

    rt.block_on(async {
        let dest = aws.session(&target).await.unwrap();
        let source = aws.session(SOURCE_ACCOUNT).await.unwrap();
        dest.ssm("us-east-1")
            .put_parameter()
            .name("/dev/api/DB_URL")
            .value("postgres://changed-by-hand")
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .unwrap();
        change_secret_by_hand(&dest).await;
        let iam = dest.iam();
        iam.put_role_policy()
            .role_name("ecs-task-execution")
            .policy_name("pull-and-log")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
        iam.update_assume_role_policy()
            .role_name("ecs-task-execution")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
            .send()
            .await
            .unwrap();
        // Extra things in the target are not the copy's business: they stay.
        iam.put_role_policy()
            .role_name("ecs-task-execution")
            .policy_name("added-by-hand")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
        dest.logs("us-east-1")
            .delete_retention_policy()
            .log_group_name("/ecs/dev-api")
            .send()
            .await
            .unwrap();
        dest.s3("us-east-1")
            .put_bucket_versioning()
            .bucket(&bucket_name)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        source
            .ecr("us-east-1")
            .delete_repository_policy()
            .repository_name("api")
            .send()
            .await
            .unwrap();
    });

    let rerun = rt.block_on(async {
        let mut out = Vec::new();
        for step in drifted {
            out.push((step.address.clone(), changed(&run(aws, plan, step, ids).await)));
        }
        out
    });
    for (address, changed) in &rerun {
        assert!(changed, "{address}: drift not seen");
    }
    rt.block_on(async {
        check_copies(aws, &drifted, &target).await;
        let dest = aws.session(&target).await.unwrap();
        let inline = inline_policies(&dest, "ecs-task-execution").await;
        assert!(inline.contains_key("added-by-hand"), "an extra inline policy was removed");
    });
    println!("drift repaired: {rerun:?}");

    // Everything else was never touched: the whole account converges with no write.
    assert_second_run_is_a_no_op(&world, &steps, "the whole account");
}

/// A half-done earlier run: things exist in the target but incomplete. The step finishes
/// them without creating anything twice.
#[test]
fn a_half_done_earlier_run_is_finished() {
    let world = World::demo(&["dev-workloads", "dev-admin"]);
    let (_, rt, aws, plan, ids) = world.parts();
    let target = ids["dev-workloads"].clone();
    let secret = common::step(plan, "dev/dev-workloads/secret:dev/mailer/api-key");
    let role = common::step(plan, "dev/dev-workloads/iam-role:dev-mail-sender-task");
    let logs = common::step(plan, "dev/dev-workloads/logs:/ecs/dev-mail-sender");
    let bucket = common::step(plan, "dev/dev-workloads/s3:acme-terraform-state");
    rt.block_on(async {
        let dest = aws.session(&target).await.unwrap();
        // Created, killed before the value / policies / retention / configuration.
        dest.secretsmanager("us-east-1")
            .create_secret()
            .name("dev/mailer/api-key")
            .send()
            .await
            .unwrap();
        dest.iam()
            .create_role()
            .role_name("dev-mail-sender-task")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
            .send()
            .await
            .unwrap();
        dest.logs("us-east-1")
            .create_log_group()
            .log_group_name("/ecs/dev-mail-sender")
            .send()
            .await
            .unwrap();
        dest.s3("us-east-1")
            .create_bucket()
            .bucket(format!("acme-terraform-state-{target}"))
            .send()
            .await
            .unwrap();
    });
    let steps = [secret, role, logs, bucket];
    let outcomes = rt.block_on(run_all(aws, plan, &steps, ids));
    assert!(outcomes.iter().all(|(_, c)| *c), "{outcomes:?}");
    rt.block_on(async {
        check_copies(aws, &steps, &target).await;
        let dest = aws.session(&target).await.unwrap();
        let listed = dest.secretsmanager("us-east-1").list_secrets().send().await.unwrap();
        assert_eq!(listed.secret_list().len(), 1, "a secret was created twice");
    });
    assert_second_run_is_a_no_op(&world, &steps, "the half-done steps");
}

/// Customer managed policies (only prod has one in the demo) are copied first and attached
/// by the role that uses them; a changed document becomes a new default version, within
/// IAM's five-version limit.
#[test]
fn prod_policies_are_copied_attached_and_versioned() {
    let world = World::demo(&["prod-workloads", "prod-admin"]);
    let (emu, rt, aws, plan, ids) = world.parts();
    let target = ids["prod-workloads"].clone();
    let policy = common::step(plan, "prod/prod-workloads/iam-policy:prod-mailer-ses-send");
    let role = common::step(plan, "prod/prod-workloads/iam-role:prod-mail-sender-task");
    assert!(role.depends_on.contains(&policy.address));
    let arn = format!("arn:aws:iam::{target}:policy/prod-mailer-ses-send");

    // The role's policy names the prod mailer's secret by full ARN: the secret comes first.
    let secret = common::step(plan, "prod/prod-workloads/secret:prod/mailer/api-key");
    assert!(role.depends_on.contains(&secret.address));
    // ... and the signing key by its ARN: the key's copy comes first too.
    let key = common::step(plan, "prod/prod-workloads/kms:prod/app");
    assert!(role.depends_on.contains(&key.address));
    let first = rt.block_on(async {
        run(aws, plan, secret, ids).await;
        run(aws, plan, key, ids).await;
        let p = run(aws, plan, policy, ids).await;
        let Outcome::Done { outputs, .. } = &p else { panic!("policy step waits") };
        assert_eq!(outputs.get("policy_arn"), Some(&arn));
        let r = run(aws, plan, role, ids).await;
        (changed(&p), changed(&r))
    });
    assert_eq!(first, (true, true));
    rt.block_on(check_copies(aws, &[secret, key, policy, role], &target));

    emu.clear_requests();
    let second = rt.block_on(async {
        (changed(&run(aws, plan, policy, ids).await), changed(&run(aws, plan, role, ids).await))
    });
    assert_eq!(second, (false, false));
    assert!(emu.mutating_requests().is_empty(), "{:#?}", emu.mutating_requests());

    // Drift: four hand-made versions (five in all, the last one default) and the policy
    // detached from the role.
    rt.block_on(async {
        let iam = aws.session(&target).await.unwrap().iam();
        for i in 0..4 {
            iam.create_policy_version()
                .policy_arn(&arn)
                .policy_document(format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sns:Publish{i}","Resource":"*"}}]}}"#))
                .set_as_default(true)
                .send()
                .await
                .unwrap();
        }
        iam.detach_role_policy()
            .role_name("prod-mail-sender-task")
            .policy_arn(&arn)
            .send()
            .await
            .unwrap();
    });
    let third = rt.block_on(async {
        (changed(&run(aws, plan, policy, ids).await), changed(&run(aws, plan, role, ids).await))
    });
    assert_eq!(third, (true, true));
    rt.block_on(async {
        check_copies(aws, &[secret, key, policy, role], &target).await;
        let iam = aws.session(&target).await.unwrap().iam();
        let versions = iam.list_policy_versions().policy_arn(&arn).send().await.unwrap();
        assert!(versions.versions().len() <= 5, "{:?}", versions.versions());
        println!("policy versions after repair: {}", versions.versions().len());
    });
}

/// A source bucket whose name leaves no room for `-ACCOUNT` (S3 allows 63 characters; the
/// strict emulator refuses longer names as S3 does) is copied under a name that fits, read
/// back with HeadBucket in the target.
#[test]
fn a_bucket_with_a_long_name_is_copied_under_a_name_s3_accepts() {
    const LONG: &str = "acme-dev-terraform-state-for-the-payments-and-billing-team-2026";
    let emu = Emulator::start_with(Some("demo"));
    emu.export_env();
    let rt = orgsplit_testkit::runtime();
    rt.block_on(async {
        let aws = common::aws(&emu).await;
        let source = aws.session(SOURCE_ACCOUNT).await.unwrap();
        source.s3("us-east-1").create_bucket().bucket(LONG).send().await.expect("CreateBucket");
        let plan = common::demo_plan(&aws).await;
        let ids = common::create_accounts(&aws, &["dev-workloads", "dev-admin"]).await;
        let address = format!("dev/dev-workloads/s3:{LONG}");
        let step = common::step(&plan, &address);
        let StepSpec::S3Bucket(bucket) = &step.spec else {
            panic!("{address} is not a bucket copy")
        };
        let name = bucket.target_name.replace("${account:dev-workloads}", &ids["dev-workloads"]);
        assert!(name.len() <= 63, "{name} is {} characters", name.len());
        assert!(changed(&run(&aws, &plan, step, &ids).await));
        let dest = aws.session(&ids["dev-workloads"]).await.unwrap();
        dest.s3("us-east-1")
            .head_bucket()
            .bucket(&name)
            .send()
            .await
            .expect("HeadBucket on the copy");
        println!("{LONG} ({} characters) copied as {name} ({})", LONG.len(), name.len());
    });
}

/// An advanced parameter's expiration policy is copied with it (read back with
/// DescribeParameters in both accounts).
#[test]
fn a_parameter_keeps_its_tier_and_expiration_policy() {
    let world = World::demo(&["prod-workloads", "prod-admin"]);
    let (_, rt, aws, plan, ids) = world.parts();
    let step = common::step(plan, "prod/prod-workloads/ssm:/prod/api/LAUNCH_BANNER");
    rt.block_on(async {
        assert!(changed(&run(aws, plan, step, ids).await));
        let source = aws.session(SOURCE_ACCOUNT).await.unwrap();
        let target = aws.session(&ids["prod-workloads"]).await.unwrap();
        let want = parameter_policies(&source, "us-east-1", "/prod/api/LAUNCH_BANNER").await;
        assert_eq!(want.0.as_deref(), Some("Advanced"));
        assert_eq!(want.1.len(), 1, "the demo's parameter has one policy: {want:?}");
        let got = parameter_policies(&target, "us-east-1", "/prod/api/LAUNCH_BANNER").await;
        assert_eq!(got, want);
        assert!(!changed(&run(aws, plan, step, ids).await), "a second run changed it");
        println!("copied with {:?}", got.1);
    });
}
