//! What the data copy tests share: the data steps of an account, running them, and readers of
//! what they made in the target (and what the source holds).
// A prelude: each test file uses its part of it.
#![allow(unused_imports)]
// Tests print a summary line of what they checked (seen with `--nocapture`).
#![allow(clippy::print_stdout)]

// What the data tests need, in one import (`use common::data::*`).
pub use super::world::World;
pub use super::{changed, document};
pub use orgsplit_apply::{Outcome, StepError, run_step};
pub use orgsplit_aws::{AccountSession, Aws, AwsOptions};
pub use orgsplit_model::{Plan, Step, StepKind, StepSpec};
pub use orgsplit_testkit::{Emulator, SOURCE_ACCOUNT};
pub use serde_json::Value;
pub use std::collections::{BTreeMap, BTreeSet};

pub const DATA_KINDS: [StepKind; 7] = [
    StepKind::SsmParameter,
    StepKind::Secret,
    StepKind::IamPolicy,
    StepKind::IamRole,
    StepKind::LogGroup,
    StepKind::S3Bucket,
    StepKind::EcrPullAccess,
];

/// The steps of `account` (`dev/dev-workloads`) of the data kinds, secrets before policies
/// before roles before the rest (the order their dependencies need).
pub fn data_steps<'p>(plan: &'p Plan, prefix: &str) -> Vec<&'p Step> {
    let mut steps: Vec<&Step> = plan
        .steps()
        .filter(|s| s.address.starts_with(&format!("{prefix}/")))
        .filter(|s| DATA_KINDS.contains(&s.kind()))
        .collect();
    steps.sort_by_key(|s| DATA_KINDS.iter().position(|k| *k == s.kind()));
    steps
}

pub async fn run(aws: &Aws, plan: &Plan, step: &Step, ids: &BTreeMap<String, String>) -> Outcome {
    let mut cx = super::context(aws, plan, step, ids);
    let mut outputs = secret_outputs(aws, plan, &cx.step, ids).await;
    outputs.extend(key_outputs(aws, plan, &cx.step, ids).await);
    cx.step = orgsplit_apply::placeholders::substitute_outputs(&cx.step, &outputs)
        .unwrap_or_else(|missing| panic!("{}: no ARN for {missing:?}", step.address));
    cx.outputs = orgsplit_apply::StepOutputs::new(outputs);
    run_step(&cx).await.unwrap_or_else(|e| panic!("{}: {e}", step.address))
}

/// The `secret_arn` outputs the executor would hand `step`: the ARN of each copied secret it
/// names by placeholder, read back from the target (the secret step ran before it).
async fn secret_outputs(
    aws: &Aws,
    plan: &Plan,
    step: &Step,
    ids: &BTreeMap<String, String>,
) -> BTreeMap<String, orgsplit_model::journal::Outputs> {
    let mut outputs = BTreeMap::new();
    for address in orgsplit_apply::placeholders::secrets_in(step) {
        let secret = orgsplit_apply::placeholders::substitute(super::step(plan, &address), ids)
            .expect("the secret's account exists");
        let session = aws.session(&secret.account).await.expect("session");
        let described = session
            .secretsmanager(region(&secret))
            .describe_secret()
            .secret_id(name(&secret))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{address} has not run: {e:?}"));
        let arn = described.arn().expect("an ARN").to_string();
        outputs.insert(address, [("secret_arn".to_string(), arn)].into());
    }
    outputs
}

/// The `kms_key_arn` outputs the executor would hand `step`: the ARN of each copied key it
/// names by placeholder, found in the target by the key's first alias (its step ran first).
async fn key_outputs(
    aws: &Aws,
    plan: &Plan,
    step: &Step,
    ids: &BTreeMap<String, String>,
) -> BTreeMap<String, orgsplit_model::journal::Outputs> {
    let mut outputs = BTreeMap::new();
    for address in orgsplit_apply::placeholders::keys_in(step) {
        let key = orgsplit_apply::placeholders::substitute(super::step(plan, &address), ids)
            .expect("the key's account exists");
        let copy = key.spec.copy().expect("a key copy");
        let alias = copy.config["Aliases"][0].as_str().expect("a copied key has an alias");
        let session = aws.session(&key.account).await.expect("session");
        let kms = session.kms(region(&key));
        let aliases = kms.list_aliases().send().await.expect("ListAliases");
        let id = aliases
            .aliases()
            .iter()
            .find(|a| a.alias_name() == Some(alias))
            .and_then(|a| a.target_key_id())
            .unwrap_or_else(|| panic!("{address} has not run: no {alias}"));
        let described = kms.describe_key().key_id(id).send().await.expect("DescribeKey");
        let arn = described.key_metadata().and_then(|m| m.arn()).expect("an ARN").to_string();
        outputs.insert(address, [("kms_key_arn".to_string(), arn)].into());
    }
    outputs
}

pub fn name(step: &Step) -> &str {
    step.spec.name().expect("a copy step names what it copies")
}

pub fn region(step: &Step) -> &str {
    step.region.as_deref().unwrap_or("us-east-1")
}

/// A source document as the target should hold it: the plan rewrites every source
/// account id in the demo's copied roles (their ARNs name copied parameters, wildcards of
/// copied services, or the account root).
/// A secret's full ARN (`secrets`: source ARN -> the copy's ARN) names the copy: its random
/// suffix is the target's own.
pub fn rewritten(doc: &Value, target: &str, secrets: &BTreeMap<String, String>) -> Value {
    let mut text = doc.to_string();
    for (source_arn, copy_arn) in secrets {
        text = text.replace(source_arn, copy_arn);
    }
    serde_json::from_str(&text.replace(SOURCE_ACCOUNT, target)).expect("json")
}

/// What names a source resource -> what names its copy, for the secrets (full ARNs), KMS keys
/// (key ARNs: the id is the new key's) and buckets (ARNs: bucket names are global) `steps`
/// copy into `target`.
pub async fn secret_copies(aws: &Aws, steps: &[&Step], target: &str) -> BTreeMap<String, String> {
    let dest = aws.session(target).await.expect("target session");
    let mut out = BTreeMap::new();
    for step in steps {
        if let StepSpec::S3Bucket(bucket) = &step.spec {
            let copy = bucket.target_name.replace("${account:dev-workloads}", target);
            let copy = copy.replace("${account:prod-workloads}", target);
            out.insert(
                format!("arn:aws:s3:::{}", bucket.copy.name),
                format!("arn:aws:s3:::{copy}"),
            );
        }
    }
    for step in steps.iter().filter(|s| s.kind() == StepKind::Secret) {
        let got = dest.secretsmanager(region(step)).describe_secret().secret_id(name(step));
        let copy = got.send().await.unwrap_or_else(|e| panic!("{}: {e:?}", step.address));
        let source_arn = step.spec.copy().expect("a copy").source_arn.clone();
        out.insert(source_arn, copy.arn().expect("an ARN").to_string());
    }
    for step in steps.iter().filter(|s| s.kind() == StepKind::KmsKey) {
        let copy = step.spec.copy().expect("a copy");
        let alias = copy.config["Aliases"][0].as_str().expect("an alias");
        let got = dest.kms(region(step)).describe_key().key_id(alias).send().await;
        let got = got.unwrap_or_else(|e| panic!("{}: {e:?}", step.address));
        let arn = got.key_metadata().and_then(|m| m.arn()).expect("an ARN");
        out.insert(copy.source_arn.clone(), arn.to_string());
    }
    out
}

pub async fn parameter(session: &AccountSession, region: &str, name: &str) -> (String, String) {
    let request = session.ssm(region).get_parameter().name(name).with_decryption(true);
    let out = request.send().await;
    let out = out.unwrap_or_else(|e| panic!("GetParameter {name} in {}: {e}", session.account_id));
    let p = out.parameter().expect("parameter");
    (p.value().expect("value").to_string(), p.r#type().expect("type").as_str().to_string())
}

/// A parameter's tier and policies (as JSON), from DescribeParameters.
pub async fn parameter_policies(
    session: &AccountSession,
    region: &str,
    name: &str,
) -> (Option<String>, Vec<Value>) {
    let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
        .unwrap();
    let request = session.ssm(region).describe_parameters().parameter_filters(filter);
    let out = request.send().await.unwrap_or_else(|e| panic!("DescribeParameters {name}: {e}"));
    let p = out.parameters().first().unwrap_or_else(|| panic!("no parameter {name}"));
    let texts = p.policies().iter().filter_map(|p| p.policy_text()).map(document).collect();
    (p.tier().map(|t| t.as_str().to_string()), texts)
}

pub async fn secret_value(session: &AccountSession, region: &str, id: &str) -> String {
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

pub async fn trust_policy(session: &AccountSession, role: &str) -> Value {
    let out = session
        .iam()
        .get_role()
        .role_name(role)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetRole {role} in {}: {e}", session.account_id));
    document(out.role().and_then(|r| r.assume_role_policy_document()).expect("trust policy"))
}

pub async fn inline_policies(session: &AccountSession, role: &str) -> BTreeMap<String, Value> {
    let iam = session.iam();
    let names = iam.list_role_policies().role_name(role).send().await.expect("ListRolePolicies");
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

pub async fn attached_policies(session: &AccountSession, role: &str) -> BTreeSet<String> {
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

pub async fn retention(session: &AccountSession, region: &str, group: &str) -> Option<i32> {
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
pub async fn bucket_config(
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
        Ok(out) => {
            out.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
        }
        Err(_) => BTreeMap::new(),
    };
    (versioning, encryption, tags)
}

/// A bucket's access and data-management settings, as the SDK returns them (`None`: absent).
#[derive(Debug, PartialEq)]
pub struct BucketSettings {
    pub policy: Option<Value>,
    pub public_access: Option<aws_sdk_s3::types::PublicAccessBlockConfiguration>,
    pub ownership: Option<aws_sdk_s3::types::OwnershipControls>,
    pub lifecycle: Option<Vec<aws_sdk_s3::types::LifecycleRule>>,
    pub cors: Option<Vec<aws_sdk_s3::types::CorsRule>>,
}

pub async fn bucket_settings(
    session: &AccountSession,
    region: &str,
    bucket: &str,
) -> BucketSettings {
    let s3 = session.s3(region);
    BucketSettings {
        policy: s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|p| p.policy().map(document)),
        public_access: s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|p| p.public_access_block_configuration().cloned()),
        ownership: s3
            .get_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|o| o.ownership_controls().cloned()),
        lifecycle: s3
            .get_bucket_lifecycle_configuration()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .map(|l| l.rules().to_vec()),
        cors: s3
            .get_bucket_cors()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .map(|c| c.cors_rules().to_vec()),
    }
}

pub async fn repository_policy(source: &AccountSession, region: &str, repo: &str) -> Value {
    let request = source.ecr(region).get_repository_policy().repository_name(repo);
    let out = request.send().await.unwrap_or_else(|e| panic!("GetRepositoryPolicy {repo}: {e}"));
    serde_json::from_str(out.policy_text().expect("policy text")).expect("policy json")
}

/// The dev mailer's secret given another value by hand, in the target.
pub async fn change_secret_by_hand(dest: &AccountSession) {
    let request = dest.secretsmanager("us-east-1").put_secret_value();
    let request = request.secret_id("dev/mailer/api-key").secret_string("changed-by-hand");
    request.send().await.unwrap();
}

/// Every copied item of the target compared with the source's live state.
pub async fn check_copies(aws: &Aws, steps: &[&Step], target: &str) {
    let source = aws.session(SOURCE_ACCOUNT).await.expect("source session");
    let dest = aws.session(target).await.expect("target session");
    let mut checked: BTreeMap<StepKind, usize> = BTreeMap::new();
    let secrets = secret_copies(aws, steps, target).await;
    for step in steps {
        let region = region(step);
        match step.kind() {
            StepKind::SsmParameter => {
                let want = parameter(&source, region, name(step)).await;
                let got = parameter(&dest, region, name(step)).await;
                assert_eq!(got, want, "{}: value or type differ", step.address);
                let (want, got) = (
                    parameter_policies(&source, region, name(step)).await,
                    parameter_policies(&dest, region, name(step)).await,
                );
                assert_eq!(got, want, "{}: tier or policies differ", step.address);
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
                    rewritten(&trust_policy(&source, role).await, target, &secrets),
                    "{}: trust policy",
                    step.address
                );
                let source_inline = inline_policies(&source, role).await;
                let want: BTreeMap<String, Value> = source_inline
                    .iter()
                    .map(|(k, v)| (k.clone(), rewritten(v, target, &secrets)))
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
                    let p = iam.get_policy().policy_arn(arn).send().await.expect("GetPolicy");
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
                assert_eq!(docs[1], rewritten(&docs[0], target, &secrets), "{}", step.address);
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
                let StepSpec::S3Bucket(inputs) = &step.spec else { unreachable!() };
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
                // Policy (naming the copy and the target's roles), Block Public Access,
                // ownership, lifecycle and CORS, as the source has them.
                let mut want = bucket_settings(&source, region, name(step)).await;
                want.policy = want.policy.map(|p| rewritten(&p, target, &secrets));
                let got = bucket_settings(&dest, region, &bucket).await;
                assert_eq!(got, want, "{}: bucket settings", step.address);
                if want.policy.is_some() {
                    println!(
                        "{}: policy, block public access, ownership, lifecycle, cors as the source",
                        step.address
                    );
                }
            }
            StepKind::EcrPullAccess => {
                let StepSpec::EcrPullAccess(inputs) = &step.spec else { unreachable!() };
                let repo = inputs.repository.as_str();
                let policy = repository_policy(&source, region, repo).await;
                let sid = format!("OrgsplitPull{target}");
                let statement = policy["Statement"]
                    .as_array()
                    .and_then(|s| s.iter().find(|s| s["Sid"] == sid.as_str()))
                    .unwrap_or_else(|| panic!("{}: no statement {sid} in {policy}", step.address));
                assert_eq!(statement["Effect"], "Allow");
                assert_eq!(statement["Principal"]["AWS"], format!("arn:aws:iam::{target}:root"));
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

pub async fn run_all(
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

/// Runs the steps again: nothing may change, and no mutating request may be made.
pub fn assert_second_run_is_a_no_op(world: &World, steps: &[&Step], what: &str) {
    world.emu.clear_requests();
    let again = world.rt.block_on(run_all(&world.aws, &world.plan, steps, &world.ids));
    super::world::assert_quiet(&world.emu, &again, what);
}
