//! The data copy steps (SSM parameters, secrets, IAM policies and roles, log groups, S3
//! buckets, ECR pull access) against the emulator's demo scenario: each test plans the
//! demo, runs one workloads account's steps, and checks the result by reading AWS back in
//! the target (and the source), never by trusting the steps' outcomes.
// Each test prints a summary line of what it checked (seen with `--nocapture`).
#![allow(clippy::print_stdout)]

mod common;

use orgsplit_apply::{Outcome, StepError, run_step};
use orgsplit_aws::{AccountSession, Aws, AwsOptions};
use orgsplit_model::{Plan, Step, StepKind, StepSpec};
use orgsplit_testkit::{Emulator, SOURCE_ACCOUNT};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const DATA_KINDS: [StepKind; 7] = [
    StepKind::IamPolicy,
    StepKind::IamRole,
    StepKind::SsmParameter,
    StepKind::Secret,
    StepKind::LogGroup,
    StepKind::S3Bucket,
    StepKind::EcrPullAccess,
];

/// The steps of `account` (`dev/dev-workloads`) of the data kinds, policies before roles
/// before the rest (the order their dependencies need).
fn data_steps<'p>(plan: &'p Plan, prefix: &str) -> Vec<&'p Step> {
    let mut steps: Vec<&Step> = plan
        .steps()
        .filter(|s| s.address.starts_with(&format!("{prefix}/")))
        .filter(|s| DATA_KINDS.contains(&s.kind()))
        .collect();
    steps.sort_by_key(|s| DATA_KINDS.iter().position(|k| *k == s.kind()));
    steps
}

async fn run(aws: &Aws, plan: &Plan, step: &Step, ids: &BTreeMap<String, String>) -> Outcome {
    let cx = common::context(aws, plan, step, ids);
    run_step(&cx)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", step.address))
}

fn changed(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Done { changed, .. } => *changed,
        Outcome::Waiting { message, .. } => panic!("a data step waits: {message}"),
    }
}

fn name(step: &Step) -> &str {
    step.spec.name().expect("a copy step names what it copies")
}

fn region(step: &Step) -> &str {
    step.region.as_deref().unwrap_or("us-east-1")
}

/// A policy document as IAM returns it (URL-encoded or not) as JSON.
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
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("policy document {raw}: {e}"))
}

/// A source document as the target should hold it: the plan rewrites every source
/// account id in the demo's copied roles (their ARNs name copied parameters, wildcards of
/// copied services, or the account root).
fn rewritten(doc: &Value, target: &str) -> Value {
    serde_json::from_str(&doc.to_string().replace(SOURCE_ACCOUNT, target)).expect("json")
}

async fn parameter(session: &AccountSession, region: &str, name: &str) -> (String, String) {
    let out = session
        .ssm(region)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetParameter {name} in {}: {e}", session.account_id));
    let p = out.parameter().expect("parameter");
    (
        p.value().expect("value").to_string(),
        p.r#type().expect("type").as_str().to_string(),
    )
}

async fn secret_value(session: &AccountSession, region: &str, id: &str) -> String {
    session
        .secretsmanager(region)
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetSecretValue {id} in {}: {e}", session.account_id))
        .secret_string()
        .expect("secret string")
        .to_string()
}

async fn trust_policy(session: &AccountSession, role: &str) -> Value {
    let out = session
        .iam()
        .get_role()
        .role_name(role)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetRole {role} in {}: {e}", session.account_id));
    document(
        out.role()
            .and_then(|r| r.assume_role_policy_document())
            .expect("trust policy"),
    )
}

async fn inline_policies(session: &AccountSession, role: &str) -> BTreeMap<String, Value> {
    let iam = session.iam();
    let names = iam
        .list_role_policies()
        .role_name(role)
        .send()
        .await
        .expect("ListRolePolicies");
    let mut out = BTreeMap::new();
    for n in names.policy_names() {
        let got = iam
            .get_role_policy()
            .role_name(role)
            .policy_name(n)
            .send()
            .await
            .expect("GetRolePolicy");
        out.insert(n.clone(), document(got.policy_document()));
    }
    out
}

async fn attached_policies(session: &AccountSession, role: &str) -> BTreeSet<String> {
    session
        .iam()
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .expect("ListAttachedRolePolicies")
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_string))
        .collect()
}

async fn retention(session: &AccountSession, region: &str, group: &str) -> Option<i32> {
    session
        .logs(region)
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .expect("DescribeLogGroups")
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group))
        .unwrap_or_else(|| panic!("log group {group} missing in {}", session.account_id))
        .retention_in_days()
}

/// (versioning status, encryption algorithms, tags) of a bucket.
async fn bucket_config(
    session: &AccountSession,
    region: &str,
    bucket: &str,
) -> (Option<String>, Vec<String>, BTreeMap<String, String>) {
    let s3 = session.s3(region);
    let versioning = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetBucketVersioning {bucket}: {e}"))
        .status()
        .map(|s| s.as_str().to_string());
    let encryption = match s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => out
            .server_side_encryption_configuration()
            .map(|c| {
                c.rules()
                    .iter()
                    .filter_map(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| d.sse_algorithm().as_str().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let tags = match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        Err(_) => BTreeMap::new(),
    };
    (versioning, encryption, tags)
}

async fn repository_policy(source: &AccountSession, region: &str, repo: &str) -> Value {
    let out = source
        .ecr(region)
        .get_repository_policy()
        .repository_name(repo)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetRepositoryPolicy {repo}: {e}"));
    serde_json::from_str(out.policy_text().expect("policy text")).expect("policy json")
}

/// Creates the OU's accounts in the emulator's organization; `{name: id}`.
async fn accounts(aws: &Aws, names: &[&str]) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for n in names {
        let id = common::create_account(aws, n, &format!("aws+{n}@example.com")).await;
        ids.insert(n.to_string(), id);
    }
    ids
}

/// Every copied item of the target compared with the source's live state.
async fn check_copies(aws: &Aws, steps: &[&Step], target: &str) {
    let source = aws.session(SOURCE_ACCOUNT).await.expect("source session");
    let dest = aws.session(target).await.expect("target session");
    let mut checked: BTreeMap<StepKind, usize> = BTreeMap::new();
    for step in steps {
        let region = region(step);
        match step.kind() {
            StepKind::SsmParameter => {
                let want = parameter(&source, region, name(step)).await;
                let got = parameter(&dest, region, name(step)).await;
                assert_eq!(got, want, "{}: value or type differ", step.address);
            }
            StepKind::Secret => {
                let want = secret_value(&source, region, name(step)).await;
                let got = secret_value(&dest, region, name(step)).await;
                assert!(got == want, "{}: the value differs", step.address);
            }
            StepKind::IamRole => {
                let role = name(step);
                assert_eq!(
                    trust_policy(&dest, role).await,
                    rewritten(&trust_policy(&source, role).await, target),
                    "{}: trust policy",
                    step.address
                );
                let source_inline = inline_policies(&source, role).await;
                let want: BTreeMap<String, Value> = source_inline
                    .iter()
                    .map(|(k, v)| (k.clone(), rewritten(v, target)))
                    .collect();
                let got: BTreeMap<String, Value> = inline_policies(&dest, role)
                    .await
                    .into_iter()
                    .filter(|(k, _)| want.contains_key(k))
                    .collect();
                assert_eq!(got, want, "{}: inline policies", step.address);
                let want: BTreeSet<String> = attached_policies(&source, role)
                    .await
                    .iter()
                    .map(|a| a.replace(SOURCE_ACCOUNT, target))
                    .collect();
                let got = attached_policies(&dest, role).await;
                assert!(
                    want.is_subset(&got),
                    "{}: attached managed policies {got:?}, want {want:?}",
                    step.address
                );
            }
            StepKind::IamPolicy => {
                let iam_src = source.iam();
                let iam_dst = dest.iam();
                let src_arn = step.spec.copy().expect("a copy").source_arn.as_str();
                let dst_arn = src_arn.replace(SOURCE_ACCOUNT, target);
                let mut docs = Vec::new();
                for (iam, arn) in [(&iam_src, src_arn), (&iam_dst, dst_arn.as_str())] {
                    let p = iam
                        .get_policy()
                        .policy_arn(arn)
                        .send()
                        .await
                        .expect("GetPolicy");
                    let version = p.policy().and_then(|p| p.default_version_id()).expect("v");
                    let v = iam
                        .get_policy_version()
                        .policy_arn(arn)
                        .version_id(version)
                        .send()
                        .await
                        .expect("GetPolicyVersion");
                    docs.push(document(
                        v.policy_version().and_then(|v| v.document()).expect("doc"),
                    ));
                }
                assert_eq!(docs[1], rewritten(&docs[0], target), "{}", step.address);
            }
            StepKind::LogGroup => {
                assert_eq!(
                    retention(&dest, region, name(step)).await,
                    retention(&source, region, name(step)).await,
                    "{}: retention",
                    step.address
                );
            }
            StepKind::S3Bucket => {
                let StepSpec::S3Bucket(inputs) = &step.spec else {
                    unreachable!()
                };
                let bucket = inputs
                    .target_name
                    .replace("${account:dev-workloads}", target)
                    .replace("${account:prod-workloads}", target);
                let (sv, se, st) = bucket_config(&source, region, name(step)).await;
                let (tv, te, tt) = bucket_config(&dest, region, &bucket).await;
                assert_eq!(tv, sv, "{}: versioning", step.address);
                assert_eq!(te, se, "{}: encryption", step.address);
                for (k, v) in &st {
                    assert_eq!(tt.get(k), Some(v), "{}: tag {k}", step.address);
                }
            }
            StepKind::EcrPullAccess => {
                let StepSpec::EcrPullAccess(inputs) = &step.spec else {
                    unreachable!()
                };
                let repo = inputs.repository.as_str();
                let policy = repository_policy(&source, region, repo).await;
                let sid = format!("OrgsplitPull{target}");
                let statement = policy["Statement"]
                    .as_array()
                    .and_then(|s| s.iter().find(|s| s["Sid"] == sid.as_str()))
                    .unwrap_or_else(|| panic!("{}: no statement {sid} in {policy}", step.address));
                assert_eq!(statement["Effect"], "Allow");
                assert_eq!(
                    statement["Principal"]["AWS"],
                    format!("arn:aws:iam::{target}:root")
                );
                let mut actions: Vec<&str> = statement["Action"]
                    .as_array()
                    .expect("actions")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                actions.sort();
                assert_eq!(
                    actions,
                    [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer"
                    ]
                );
            }
            _ => continue,
        }
        *checked.entry(step.kind()).or_default() += 1;
    }
    println!("checked against the source: {checked:?}");
}

async fn run_all(
    aws: &Aws,
    plan: &Plan,
    steps: &[&Step],
    ids: &BTreeMap<String, String>,
) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for step in steps {
        let outcome = run(aws, plan, step, ids).await;
        out.push((step.address.clone(), changed(&outcome)));
    }
    out
}

fn start() -> (Emulator, tokio::runtime::Runtime) {
    let emu = Emulator::start_with(Some("demo"));
    emu.export_env();
    (emu, orgsplit_testkit::runtime())
}

#[test]
fn dev_workloads_copies_match_the_source_and_a_second_run_changes_nothing() {
    let (emu, rt) = start();
    let (aws, plan, ids) = rt.block_on(async {
        let aws = common::aws(&emu).await;
        let plan = common::demo_plan(&aws).await;
        let ids = accounts(&aws, &["dev-workloads", "dev-admin"]).await;
        (aws, plan, ids)
    });
    let target = ids["dev-workloads"].clone();
    let steps = data_steps(&plan, "dev/dev-workloads");
    let kinds: BTreeSet<StepKind> = steps.iter().map(|s| s.kind()).collect();
    for k in [
        StepKind::IamRole,
        StepKind::SsmParameter,
        StepKind::Secret,
        StepKind::LogGroup,
        StepKind::S3Bucket,
        StepKind::EcrPullAccess,
    ] {
        assert!(
            kinds.contains(&k),
            "the demo plan has no {k:?} step for dev"
        );
    }

    let first = rt.block_on(run_all(&aws, &plan, &steps, &ids));
    let unchanged: Vec<&String> = first.iter().filter(|(_, c)| !c).map(|(a, _)| a).collect();
    assert!(
        unchanged.is_empty(),
        "first run left unchanged: {unchanged:?}"
    );
    println!("first run: {} steps, all changed", first.len());
    rt.block_on(check_copies(&aws, &steps, &target));

    emu.clear_requests();
    let second = rt.block_on(run_all(&aws, &plan, &steps, &ids));
    let changed_again: Vec<&String> = second.iter().filter(|(_, c)| *c).map(|(a, _)| a).collect();
    assert!(
        changed_again.is_empty(),
        "second run changed: {changed_again:?}"
    );
    let mutating = emu.mutating_requests();
    assert!(mutating.is_empty(), "second run mutated: {mutating:#?}");
    println!(
        "second run: {} steps unchanged, {} requests, 0 mutating",
        second.len(),
        emu.requests().len()
    );
}

/// Changes made by hand in the target (or a run killed half-way) are put back by the next
/// run, and only those.
#[test]
fn drift_in_the_target_is_repaired() {
    let (emu, rt) = start();
    let (aws, plan, ids) = rt.block_on(async {
        let aws = common::aws(&emu).await;
        let plan = common::demo_plan(&aws).await;
        let ids = accounts(&aws, &["dev-workloads", "dev-admin"]).await;
        (aws, plan, ids)
    });
    let target = ids["dev-workloads"].clone();
    let steps = data_steps(&plan, "dev/dev-workloads");
    rt.block_on(run_all(&aws, &plan, &steps, &ids));

    let param = common::step(&plan, "dev/dev-workloads/ssm:/dev/api/DB_URL");
    let secret = common::step(&plan, "dev/dev-workloads/secret:dev/mailer/api-key");
    let role = common::step(&plan, "dev/dev-workloads/iam-role:ecs-task-execution");
    let logs = common::step(&plan, "dev/dev-workloads/logs:/ecs/dev-api");
    let bucket = common::step(&plan, "dev/dev-workloads/s3:acme-terraform-state");
    let ecr = common::step(&plan, "dev/dev-workloads/ecr:api");
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
        dest.secretsmanager("us-east-1")
            .put_secret_value()
            .secret_id("dev/mailer/api-key")
            .secret_string("changed-by-hand")
            .send()
            .await
            .unwrap();
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
            out.push((
                step.address.clone(),
                changed(&run(&aws, &plan, step, &ids).await),
            ));
        }
        out
    });
    for (address, changed) in &rerun {
        assert!(changed, "{address}: drift not seen");
    }
    rt.block_on(async {
        check_copies(&aws, &drifted, &target).await;
        let dest = aws.session(&target).await.unwrap();
        let inline = inline_policies(&dest, "ecs-task-execution").await;
        assert!(
            inline.contains_key("added-by-hand"),
            "an extra inline policy was removed"
        );
    });
    println!("drift repaired: {rerun:?}");

    // Everything else was never touched: the whole account converges with no write.
    emu.clear_requests();
    let again = rt.block_on(run_all(&aws, &plan, &steps, &ids));
    assert!(again.iter().all(|(_, c)| !c), "{again:?}");
    assert!(emu.mutating_requests().is_empty());
}

/// A half-done earlier run: things exist in the target but incomplete. The step finishes
/// them without creating anything twice.
#[test]
fn a_half_done_earlier_run_is_finished() {
    let (emu, rt) = start();
    let (aws, plan, ids) = rt.block_on(async {
        let aws = common::aws(&emu).await;
        let plan = common::demo_plan(&aws).await;
        let ids = accounts(&aws, &["dev-workloads", "dev-admin"]).await;
        (aws, plan, ids)
    });
    let target = ids["dev-workloads"].clone();
    let secret = common::step(&plan, "dev/dev-workloads/secret:dev/mailer/api-key");
    let role = common::step(&plan, "dev/dev-workloads/iam-role:dev-mail-sender-task");
    let logs = common::step(&plan, "dev/dev-workloads/logs:/ecs/dev-mail-sender");
    let bucket = common::step(&plan, "dev/dev-workloads/s3:acme-terraform-state");
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
    let outcomes = rt.block_on(run_all(&aws, &plan, &steps, &ids));
    assert!(outcomes.iter().all(|(_, c)| *c), "{outcomes:?}");
    rt.block_on(async {
        check_copies(&aws, &steps, &target).await;
        let dest = aws.session(&target).await.unwrap();
        let listed = dest
            .secretsmanager("us-east-1")
            .list_secrets()
            .send()
            .await
            .unwrap();
        assert_eq!(listed.secret_list().len(), 1, "a secret was created twice");
    });
    emu.clear_requests();
    let again = rt.block_on(run_all(&aws, &plan, &steps, &ids));
    assert!(again.iter().all(|(_, c)| !c), "{again:?}");
    assert!(emu.mutating_requests().is_empty());
}

/// Customer managed policies (only prod has one in the demo) are copied first and attached
/// by the role that uses them; a changed document becomes a new default version, within
/// IAM's five-version limit.
#[test]
fn prod_policies_are_copied_attached_and_versioned() {
    let (emu, rt) = start();
    let (aws, plan, ids) = rt.block_on(async {
        let aws = common::aws(&emu).await;
        let plan = common::demo_plan(&aws).await;
        let ids = accounts(&aws, &["prod-workloads", "prod-admin"]).await;
        (aws, plan, ids)
    });
    let target = ids["prod-workloads"].clone();
    let policy = common::step(&plan, "prod/prod-workloads/iam-policy:prod-mailer-ses-send");
    let role = common::step(&plan, "prod/prod-workloads/iam-role:prod-mail-sender-task");
    assert!(role.depends_on.contains(&policy.address));
    let arn = format!("arn:aws:iam::{target}:policy/prod-mailer-ses-send");

    let first = rt.block_on(async {
        let p = run(&aws, &plan, policy, &ids).await;
        let Outcome::Done { outputs, .. } = &p else {
            panic!("policy step waits")
        };
        assert_eq!(outputs.get("policy_arn"), Some(&arn));
        let r = run(&aws, &plan, role, &ids).await;
        (changed(&p), changed(&r))
    });
    assert_eq!(first, (true, true));
    rt.block_on(check_copies(&aws, &[policy, role], &target));

    emu.clear_requests();
    let second = rt.block_on(async {
        (
            changed(&run(&aws, &plan, policy, &ids).await),
            changed(&run(&aws, &plan, role, &ids).await),
        )
    });
    assert_eq!(second, (false, false));
    assert!(
        emu.mutating_requests().is_empty(),
        "{:#?}",
        emu.mutating_requests()
    );

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
        (
            changed(&run(&aws, &plan, policy, &ids).await),
            changed(&run(&aws, &plan, role, &ids).await),
        )
    });
    assert_eq!(third, (true, true));
    rt.block_on(async {
        check_copies(&aws, &[policy, role], &target).await;
        let iam = aws.session(&target).await.unwrap().iam();
        let versions = iam
            .list_policy_versions()
            .policy_arn(&arn)
            .send()
            .await
            .unwrap();
        assert!(versions.versions().len() <= 5, "{:?}", versions.versions());
        println!(
            "policy versions after repair: {}",
            versions.versions().len()
        );
    });
}

/// The scenario's secret values, as the seeder put them in the source.
fn seeded_secrets() -> Vec<String> {
    orgsplit_testkit::scenario("demo")["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn assert_no_secret(text: &str, secrets: &[String], what: &str) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{what} shows a secret value: {text}"
        );
    }
}

/// Outcomes and errors of the steps that handle secret values never show one, even when
/// AWS fails a call that carried the value.
#[test]
fn no_secret_value_in_outcomes_or_errors() {
    let (emu, rt) = start();
    let secrets = seeded_secrets();
    let (aws, plan, ids) = rt.block_on(async {
        let aws = common::aws(&emu).await;
        let plan = common::demo_plan(&aws).await;
        let ids = accounts(&aws, &["dev-workloads", "dev-admin"]).await;
        (aws, plan, ids)
    });
    let secret_steps: Vec<&Step> = data_steps(&plan, "dev/dev-workloads")
        .into_iter()
        .filter(|s| matches!(s.kind(), StepKind::SsmParameter | StepKind::Secret))
        .collect();
    assert!(secret_steps.len() > 10);

    let mut seen = 0;
    rt.block_on(async {
        for step in &secret_steps {
            let cx = common::context(&aws, &plan, step, &ids);
            let outcome = run_step(&cx).await;
            assert_no_secret(&format!("{outcome:?}"), &secrets, &step.address);
            seen += 1;
        }
    });

    // Writes that carry a value fail (throttled, and no retry): the target's copies
    // drifted first, so that the steps have to write.
    let drifted = [
        "dev/dev-workloads/ssm:/dev/mailer/SMTP_PASSWORD",
        "dev/dev-workloads/ssm:/dev/api/STRIPE_KEY",
        "dev/dev-workloads/secret:dev/mailer/api-key",
    ];
    let target = ids["dev-workloads"].clone();
    rt.block_on(async {
        let dest = aws.session(&target).await.unwrap();
        for name in ["/dev/mailer/SMTP_PASSWORD", "/dev/api/STRIPE_KEY"] {
            dest.ssm("us-east-1")
                .delete_parameter()
                .name(name)
                .send()
                .await
                .unwrap();
        }
        dest.secretsmanager("us-east-1")
            .put_secret_value()
            .secret_id("dev/mailer/api-key")
            .secret_string("changed-by-hand")
            .send()
            .await
            .unwrap();
    });
    let never = serde_json::json!({ "rate": 0.001, "burst": 0 });
    emu.set_faults(serde_json::json!({ "rates": {
        "ssm:PutParameter": never,
        "secretsmanager:PutSecretValue": never,
    } }));
    let strict = rt.block_on(async {
        Aws::load(AwsOptions {
            endpoint_url: Some(emu.url.clone()),
            max_attempts: 1,
            ..AwsOptions::new("us-east-1")
        })
        .await
        .expect("aws")
    });
    let mut errors: Vec<StepError> = Vec::new();
    rt.block_on(async {
        for address in drifted {
            let cx = common::context(&strict, &plan, common::step(&plan, address), &ids);
            match run_step(&cx).await {
                Err(e) => {
                    assert!(
                        e.to_string().contains("PutParameter")
                            || e.to_string().contains("PutSecretValue"),
                        "{address}: not the write that failed: {e}"
                    );
                    errors.push(e)
                }
                Ok(o) => panic!("{address}: succeeded with its write throttled: {o:?}"),
            }
        }
    });

    // Every call failing (HTTP 500): errors from wherever each step stops.
    emu.set_faults(serde_json::json!({ "error5xx": 1.0 }));
    rt.block_on(async {
        for step in secret_steps.iter().take(3) {
            let cx = common::context(&strict, &plan, step, &ids);
            match run_step(&cx).await {
                Err(e) => errors.push(e),
                Ok(o) => panic!("{}: succeeded with every call failing: {o:?}", step.address),
            }
        }
    });
    emu.set_faults(serde_json::json!({}));

    assert!(errors.len() >= 6, "{} errors", errors.len());
    for e in &errors {
        assert_no_secret(&format!("{e:?}"), &secrets, "an error's Debug");
        assert_no_secret(&e.to_string(), &secrets, "an error's Display");
        assert!(!e.to_string().contains('\n'), "a multi-line error: {e}");
        println!("error (checked): {e}");
    }
    println!(
        "{seen} outcomes and {} errors checked for {} secrets",
        errors.len(),
        secrets.len()
    );
}

/// A plan that asks for the objects to be copied is refused before anything is created.
#[test]
fn copying_objects_is_refused_before_any_change() {
    let (emu, rt) = start();
    let (aws, plan, ids) = rt.block_on(async {
        let aws = common::aws(&emu).await;
        let plan = common::demo_plan(&aws).await;
        let ids = accounts(&aws, &["dev-workloads", "dev-admin"]).await;
        (aws, plan, ids)
    });
    let mut bucket = common::step(&plan, "dev/dev-workloads/s3:acme-terraform-state").clone();
    match &mut bucket.spec {
        StepSpec::S3Bucket(inputs) => inputs.copy_objects = true,
        other => panic!("not a bucket step: {other:?}"),
    }
    emu.clear_requests();
    let result = rt.block_on(async {
        let cx = common::context(&aws, &plan, &bucket, &ids);
        run_step(&cx).await
    });
    let err = result.expect_err("copy_objects accepted");
    assert!(err.to_string().contains("not supported"), "{err}");
    assert!(emu.mutating_requests().is_empty());
}
