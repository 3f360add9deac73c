//! End to end: the real binary applies both OUs of the demo plan against the emulator, and
//! the result is read back through the AWS API in the new accounts, not through orgsplit.
#![allow(clippy::print_stdout)] // the test prints what it read back

use orgsplit_aws::policy::policy_document;
use orgsplit_model::{Plan, StepKind};
use orgsplit_testkit::{Emulator, SOURCE_ACCOUNT, scenario};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

mod common;
use common::{apply_ou, aws_for, demo_world, inventory_and_plan, orgsplit};
use orgsplit_testkit::runtime;

#[test]
fn applies_both_ous_and_reads_the_result_back() {
    let (emu, dir) = demo_world();
    let d = dir.path();
    let mut log = Vec::new();
    let [inv, plan_run] = inventory_and_plan(&emu, d);
    log.extend([inv, plan_run]);

    // Without a terminal and without --yes: refused, nothing changed.
    emu.clear_requests();
    let refused = orgsplit(&emu, d, &["apply", "plan.json", "--ou", "dev"]);
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    assert!(refused.stderr.contains("pass --yes"), "{}", refused.stderr);
    // While another apply holds the plan's lock: refused, naming the holder.
    {
        let _held =
            orgsplit_apply::PlanLock::acquire(&d.join("plan.json"), "pid 4242 applying OU dev")
                .unwrap();
        let locked = orgsplit(&emu, d, &["apply", "plan.json", "--ou", "dev", "--yes"]);
        assert_eq!(locked.code, Some(3), "{}", locked.stderr);
        assert!(locked.stderr.contains("pid 4242 applying OU dev"), "{}", locked.stderr);
        log.push(locked);
    }
    assert!(emu.mutating_requests().is_empty(), "a refused apply changed something");
    log.push(refused);

    apply_ou(&emu, d, "plan.json", "dev", &mut log);
    apply_ou(&emu, d, "plan.json", "prod", &mut log);

    let plan = Plan::from_json(&std::fs::read_to_string(d.join("plan.json")).unwrap()).unwrap();
    let journal = std::fs::read_to_string(d.join("plan.json.journal.jsonl")).unwrap();
    let status = orgsplit(&emu, d, &["status", "plan.json", "--output", "json"]);
    let status: Value = serde_json::from_str(&status.stdout).unwrap();
    for row in status["steps"].as_array().unwrap() {
        assert!(
            ["done", "done (was in place)", "no-op", "manual"]
                .contains(&row["state"].as_str().unwrap()),
            "{row}"
        );
    }

    let checked = runtime().block_on(read_back(&emu, &plan, &journal));
    println!("read back: {checked:?}");

    // Applying again changes nothing: the journal skips what succeeded ...
    emu.clear_requests();
    for ou in ["dev", "prod"] {
        let again = orgsplit(&emu, d, &["apply", "plan.json", "--ou", ou, "--yes"]);
        assert_eq!(again.code, Some(0), "{}", again.stderr);
        log.push(again);
    }
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "re-apply with the journal");
    // ... and a fresh plan of the same source, applied with no journal at all, finds every
    // copy in place: each step checks before it acts.
    let replan = orgsplit(&emu, d, &["plan", "--out", "plan2.json"]);
    assert_eq!(replan.code, Some(0), "{}", replan.stderr);
    log.push(replan);
    emu.clear_requests();
    for ou in ["dev", "prod"] {
        let again = orgsplit(&emu, d, &["apply", "plan2.json", "--ou", ou, "--yes"]);
        assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
        assert!(again.stdout.contains(" 0 changed"), "{}", again.stdout);
        log.push(again);
    }
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "re-apply of a fresh plan");

    // `orgsplit reconcile`: an account moved to another OU trusts the new OU's admin account
    // only, after one reconcile; a second reconcile changes nothing.
    let moved = runtime().block_on(move_account(&emu, &plan, &journal, "dev-workloads", "prod"));
    let reconcile = orgsplit(&emu, d, &["reconcile", "--account", &moved.account]);
    assert_eq!(reconcile.code, Some(0), "{}{}", reconcile.stdout, reconcile.stderr);
    assert!(
        reconcile.stdout.contains("instances removed: orgsplit-baseline-dev"),
        "{}",
        reconcile.stdout
    );
    let trusted = runtime().block_on(trusted_by(&emu, &moved.account, "terraform-apply"));
    assert_eq!(trusted, vec![format!("arn:aws:iam::{}:root", moved.new_admin)]);
    emu.clear_requests();
    let again = orgsplit(&emu, d, &["reconcile"]);
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    assert!(
        again.stdout.contains("Reconciled 4 accounts: 0 changed, 4 unchanged, 0 failed."),
        "{}",
        again.stdout
    );
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "a second reconcile");
    log.extend([reconcile, again]);

    // No secret, raw or hashed, in any output, plan or journal.
    let mut haystack = journal.clone();
    haystack.push_str(&std::fs::read_to_string(d.join("plan.json")).unwrap());
    haystack.push_str(&std::fs::read_to_string(d.join("plan2.json.journal.jsonl")).unwrap());
    for r in &log {
        haystack.push_str(&r.stdout);
        haystack.push_str(&r.stderr);
    }
    let secrets = scenario("demo")["secrets"].as_array().unwrap().clone();
    for s in secrets.iter().map(|s| s.as_str().unwrap()) {
        assert!(!haystack.contains(s), "a seeded secret leaked: {}…", &s[..4]);
        assert!(!haystack.contains(&hex::encode(Sha256::digest(s.as_bytes()))));
    }
}

struct Moved {
    account: String,
    new_admin: String,
}

fn account_ids(journal: &str) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for line in journal.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        if r["event"] == "succeeded"
            && let Some(id) = r["outputs"]["account_id"].as_str()
        {
            let name = r["address"].as_str().unwrap().split('/').nth(1).unwrap();
            ids.insert(name.to_string(), id.to_string());
        }
    }
    ids
}

/// Moves an account into another OU by hand, the way a person (or Control Tower) would.
async fn move_account(
    emu: &Emulator,
    plan: &Plan,
    journal: &str,
    account: &str,
    to: &str,
) -> Moved {
    let aws = aws_for(emu).await;
    let ids = account_ids(journal);
    let org = aws.session(&plan.management_account_id).await.unwrap().organizations();
    let id = ids[account].clone();
    let from = org.list_parents().child_id(&id).send().await.unwrap().parents()[0]
        .id()
        .unwrap()
        .to_string();
    let root = org.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    let ous = org.list_organizational_units_for_parent().parent_id(root).send().await.unwrap();
    let dest = ous
        .organizational_units()
        .iter()
        .find(|o| o.name() == Some(to))
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    org.move_account()
        .account_id(&id)
        .source_parent_id(from)
        .destination_parent_id(dest)
        .send()
        .await
        .unwrap();
    let admin = &plan.ou(to).unwrap().admin_account;
    Moved { account: id, new_admin: ids[admin].clone() }
}

/// The AWS principals a role's trust policy allows.
async fn trusted_by(emu: &Emulator, account: &str, role: &str) -> Vec<String> {
    let aws = aws_for(emu).await;
    let got =
        aws.session(account).await.unwrap().iam().get_role().role_name(role).send().await.unwrap();
    let trust = policy_document(got.role().unwrap().assume_role_policy_document().unwrap());
    let mut out = Vec::new();
    for s in trust["Statement"].as_array().unwrap() {
        match &s["Principal"]["AWS"] {
            Value::String(p) => out.push(p.clone()),
            Value::Array(ps) => out.extend(ps.iter().map(|p| p.as_str().unwrap().to_string())),
            other => panic!("unexpected principal {other}"),
        }
    }
    out
}

#[derive(Debug, Default)]
#[allow(dead_code)]
struct Checked {
    /// Every connection ARN a copied pipeline's source uses, and how many sources.
    pipeline_connections: std::collections::BTreeSet<String>,
    connection_sources: usize,
    parameters: usize,
    task_definitions: usize,
    /// Task-definition secrets named by full ARN that name the target's copy.
    secret_arns: usize,
    roles: usize,
    terraform_roles: usize,
    /// SecureStrings under a customer-managed key read back under the target's own key of
    /// the same alias.
    cmk_parameters: usize,
    /// Copied key policies naming the target's own roles.
    key_policies: usize,
    /// Log groups under the target's own copy of their key.
    cmk_log_groups: usize,
    /// Pipeline build actions whose project exists in the target.
    build_projects: usize,
    /// Secrets replicated in the target to the Regions of their source's replicas.
    replicated_secrets: usize,
}

/// Reads the new accounts through the AWS API and compares with the source.
async fn read_back(emu: &Emulator, plan: &Plan, journal: &str) -> Checked {
    let aws = aws_for(emu).await;
    // Account ids, from the journal's account steps.
    let ids = account_ids(journal);
    assert_eq!(ids.len(), 4, "four accounts created: {ids:?}");
    let org_id = plan.organization_id.clone();
    let source = aws.session(SOURCE_ACCOUNT).await.unwrap();
    let mut checked = Checked::default();
    for ou in &plan.ous {
        let admin = &ids[&ou.admin_account];
        for account in &ou.accounts {
            let id = &ids[&account.name];
            let target = aws.session(id).await.unwrap();
            // Every account of the OU: terraform-apply (and -plan) trust exactly the admin.
            for role in ["terraform-apply", "terraform-plan"] {
                let got = target.iam().get_role().role_name(role).send().await;
                let got = got.unwrap_or_else(|e| panic!("{role} in {}: {e}", account.name));
                let trust =
                    policy_document(got.role().unwrap().assume_role_policy_document().unwrap());
                let statements = trust["Statement"].as_array().unwrap();
                assert_eq!(statements.len(), 1, "{role} in {}: {trust}", account.name);
                let principal = &statements[0]["Principal"]["AWS"];
                let principal = principal.as_str().map(str::to_string).or_else(|| {
                    principal
                        .as_array()
                        .filter(|a| a.len() == 1)
                        .map(|a| a[0].as_str().unwrap().to_string())
                });
                assert_eq!(
                    principal.as_deref(),
                    Some(format!("arn:aws:iam::{admin}:root").as_str()),
                    "{role} in {}",
                    account.name
                );
                assert_eq!(
                    statements[0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"],
                    json!(org_id)
                );
                checked.terraform_roles += 1;
            }
            for step in &account.steps {
                let region = step.region.clone().unwrap_or_else(|| "us-east-1".into());
                match step.kind() {
                    StepKind::SsmParameter => {
                        let name = step.spec.name().unwrap();
                        let get = |s: &orgsplit_aws::AccountSession| {
                            let c = s.ssm(&region);
                            let name = name.to_string();
                            async move {
                                c.get_parameter()
                                    .name(name)
                                    .with_decryption(true)
                                    .send()
                                    .await
                                    .unwrap()
                            }
                        };
                        let (want, got) = (get(&source).await, get(&target).await);
                        let (want, got) = (want.parameter().unwrap(), got.parameter().unwrap());
                        assert_eq!(
                            want.value(),
                            got.value(),
                            "value of {name} in {}",
                            account.name
                        );
                        assert_eq!(want.r#type(), got.r#type(), "type of {name}");
                        checked.parameters += 1;
                        checked.cmk_parameters +=
                            same_key_alias(&source, &target, &region, name).await as usize;
                    }
                    StepKind::Secret => {
                        let copy = step.spec.copy().unwrap();
                        let Some(wanted) = copy.config.get("ReplicaRegions") else { continue };
                        let sm = target.secretsmanager(&region);
                        let got = sm.describe_secret().secret_id(&copy.name).send().await.unwrap();
                        let regions: Vec<&str> =
                            got.replication_status().iter().filter_map(|r| r.region()).collect();
                        assert_eq!(json!(regions), *wanted, "replicas of {}", copy.name);
                        for r in &regions {
                            let replica = target.secretsmanager(r);
                            let found =
                                replica.describe_secret().secret_id(&copy.name).send().await;
                            assert_eq!(found.unwrap().primary_region(), Some(region.as_str()));
                        }
                        checked.replicated_secrets += 1;
                    }
                    StepKind::LogGroup => {
                        let copy = step.spec.copy().unwrap();
                        if copy.config.get("KmsKeyId").is_none() {
                            continue;
                        }
                        let logs = target.logs(&region);
                        let got = logs.describe_log_groups().log_group_name_prefix(&copy.name);
                        let got = got.send().await.unwrap();
                        let key = got.log_groups()[0].kms_key_id().unwrap().to_string();
                        let alias = target.kms(&region).describe_key().key_id("alias/prod/app");
                        let alias = alias.send().await.unwrap();
                        assert_eq!(Some(key.as_str()), alias.key_metadata().unwrap().arn());
                        checked.cmk_log_groups += 1;
                    }
                    StepKind::KmsKeyPolicy => {
                        key_policy_names_the_copies(&target, &region, step, id).await;
                        checked.key_policies += 1;
                    }
                    StepKind::Pipeline => {
                        checked.build_projects +=
                            build_projects_exist(&target, &region, step, id).await;
                        let name = step.spec.name().unwrap();
                        let got = target.codepipeline(&region).get_pipeline().name(name);
                        let got = orgsplit_aws::sdk_json::to_json(
                            got.send().await.unwrap().pipeline().unwrap(),
                        );
                        for stage in got["stages"].as_array().unwrap() {
                            for action in stage["actions"].as_array().unwrap() {
                                if let Some(arn) = action["configuration"]["ConnectionArn"].as_str()
                                {
                                    checked.pipeline_connections.insert(arn.to_string());
                                    checked.connection_sources += 1;
                                }
                            }
                        }
                    }
                    StepKind::EcsTaskDefinition => {
                        let family = step.spec.name().unwrap();
                        let got = target
                            .ecs(&region)
                            .describe_task_definition()
                            .task_definition(family)
                            .send()
                            .await
                            .unwrap();
                        let td = got.task_definition().unwrap();
                        for arn in
                            [td.task_role_arn(), td.execution_role_arn()].into_iter().flatten()
                        {
                            assert!(
                                arn.contains(&format!(":{id}:")),
                                "{family}: {arn} not rewritten to {id}"
                            );
                        }
                        for c in td.container_definitions() {
                            for s in c.secrets() {
                                let from = s.value_from();
                                assert!(!from.contains(SOURCE_ACCOUNT), "{family}: secret {from}");
                                // By full ARN: the copy's own (its random suffix differs from
                                // the source's), or no task could start.
                                if let Some((_, name)) = from.split_once(":secret:") {
                                    let name = &name[..name.len() - 7];
                                    let sm = target.secretsmanager(&region);
                                    let copy = sm.describe_secret().secret_id(name).send().await;
                                    let copy = copy.unwrap_or_else(|e| panic!("{name}: {e:?}"));
                                    assert_eq!(copy.arn(), Some(from), "{family} names {from}");
                                    checked.secret_arns += 1;
                                }
                            }
                        }
                        checked.task_definitions += 1;
                    }
                    StepKind::IamRole => {
                        let name = step.spec.name().unwrap();
                        target
                            .iam()
                            .get_role()
                            .role_name(name)
                            .send()
                            .await
                            .unwrap_or_else(|e| panic!("role {name}: {e}"));
                        checked.roles += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(checked.parameters >= 40, "{checked:?}");
    assert!(checked.task_definitions >= 4, "{checked:?}");
    assert_eq!(checked.secret_arns, 2, "the dev and prod mail senders: {checked:?}");
    assert!(checked.roles >= 6, "{checked:?}");
    assert_eq!(checked.terraform_roles, 8);
    assert_eq!(checked.cmk_parameters, 1, "/prod/api/SIGNING_KEY: {checked:?}");
    assert_eq!(checked.key_policies, 1, "alias/prod/app in prod: {checked:?}");
    assert_eq!(checked.cmk_log_groups, 1, "/ecs/prod-api: {checked:?}");
    assert_eq!(checked.build_projects, 2, "the dev and prod api pipelines: {checked:?}");
    assert_eq!(checked.replicated_secrets, 1, "prod/mailer/api-key to eu-west-1: {checked:?}");
    one_shared_connection(&aws, plan, &ids, &checked).await;
    checked
}

/// Every copied pipeline (dev's and prod's) reads back on the organization's one
/// `codeconnections` connection, owned by the management account: one handshake for the
/// whole split. No other account holds a connection of its own, and the source account,
/// which it is not shared with, cannot read it.
async fn one_shared_connection(
    aws: &orgsplit_aws::Aws,
    plan: &Plan,
    ids: &BTreeMap<String, String>,
    checked: &Checked,
) {
    let mgmt = &plan.management_account_id;
    assert!(checked.connection_sources >= 3, "{checked:?}");
    assert_eq!(checked.pipeline_connections.len(), 1, "{checked:?}");
    let arn = checked.pipeline_connections.first().unwrap();
    let prefix = format!("arn:aws:codeconnections:us-east-1:{mgmt}:connection/");
    assert!(arn.starts_with(&prefix), "{arn}");
    let mut owned = 0;
    let accounts = ids.values().chain([mgmt, &plan.source_account_id]);
    for id in accounts {
        let s = aws.session(id).await.unwrap();
        let listed = s.codeconnections("us-east-1").list_connections().send().await.unwrap();
        owned += listed.connections().len();
    }
    assert_eq!(owned, 1, "one connection in the whole organization, one handshake");
    let source = aws.session(&plan.source_account_id).await.unwrap();
    let unshared = source.codeconnections("us-east-1").get_connection().connection_arn(arn);
    let err = unshared.send().await.expect_err("the source account reads an unshared connection");
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&err),
        Some("ResourceNotFoundException"),
        "{err:?}"
    );
}

/// For a parameter the source encrypts under a customer-managed key: the target's copy is
/// under a key of the target account with the same alias, and decrypts there (the value was
/// compared by the caller). Returns whether the source's key was customer-managed.
async fn same_key_alias(
    source: &orgsplit_aws::AccountSession,
    target: &orgsplit_aws::AccountSession,
    region: &str,
    name: &str,
) -> bool {
    let key_of = |s: &orgsplit_aws::AccountSession| {
        let c = s.ssm(region);
        let name = name.to_string();
        async move {
            let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
                .key("Name")
                .values(name)
                .build()
                .unwrap();
            let out = c.describe_parameters().parameter_filters(filter).send().await.unwrap();
            out.parameters()[0].key_id().map(str::to_string)
        }
    };
    let Some(source_key) = key_of(source).await.filter(|k| !k.starts_with("alias/aws/")) else {
        return false;
    };
    let aliases_of = |s: &orgsplit_aws::AccountSession, key: String| {
        let kms = s.kms(region);
        async move {
            let meta = kms.describe_key().key_id(&key).send().await.unwrap();
            let meta = meta.key_metadata().unwrap().clone();
            let aliases = kms.list_aliases().key_id(meta.key_id()).send().await.unwrap();
            let names = aliases.aliases().iter().filter_map(|a| a.alias_name().map(str::to_string));
            (meta.arn().unwrap().to_string(), names.collect::<Vec<_>>())
        }
    };
    let target_key = key_of(target).await.unwrap_or_else(|| panic!("{name}: no key in the target"));
    let (source_arn, source_aliases) = aliases_of(source, source_key).await;
    let (target_arn, target_aliases) = aliases_of(target, target_key).await;
    assert!(target_arn.contains(&format!(":{}:", target.account_id)), "{name}: {target_arn}");
    assert_ne!(source_arn, target_arn, "{name} must not stay under the source key");
    assert_eq!(source_aliases, target_aliases, "{name}: aliases of its key");
    true
}

/// A copied key policy names the target's roles, never the source account; the role it names
/// grants itself the key by the target key's ARN.
async fn key_policy_names_the_copies(
    target: &orgsplit_aws::AccountSession,
    region: &str,
    step: &orgsplit_model::Step,
    id: &str,
) {
    let orgsplit_model::StepSpec::KmsKeyPolicy(input) = &step.spec else { unreachable!() };
    let kms = target.kms(region);
    let alias = format!("alias/{}", input.name);
    let meta = kms.describe_key().key_id(&alias).send().await.unwrap();
    let arn = meta.key_metadata().unwrap().arn().unwrap().to_string();
    let got = kms.get_key_policy().key_id(&arn).policy_name("default").send().await.unwrap();
    let policy: Value = serde_json::from_str(got.policy().unwrap()).unwrap();
    assert!(!policy.to_string().contains(SOURCE_ACCOUNT), "{alias}: {policy}");
    let role = format!("arn:aws:iam::{id}:role/prod-mail-sender-task");
    assert!(policy.to_string().contains(&role), "{alias} names {role}: {policy}");
    let decrypt = target
        .iam()
        .get_role_policy()
        .role_name("prod-mail-sender-task")
        .policy_name("decrypt")
        .send()
        .await
        .unwrap();
    let decrypt = policy_document(decrypt.policy_document());
    assert_eq!(decrypt["Statement"][0]["Resource"], json!(arn), "the role names the copy");
}

/// Every CodeBuild project a copied pipeline builds with exists in the target, with a service
/// role of the target account. Returns how many build actions were checked.
async fn build_projects_exist(
    target: &orgsplit_aws::AccountSession,
    region: &str,
    step: &orgsplit_model::Step,
    id: &str,
) -> usize {
    let name = step.spec.name().unwrap();
    let got = target.codepipeline(region).get_pipeline().name(name).send().await.unwrap();
    let mut found = 0;
    for stage in got.pipeline().unwrap().stages() {
        for action in stage.actions() {
            if action.action_type_id().map(|t| t.provider()) != Some("CodeBuild") {
                continue;
            }
            let project = &action.configuration().unwrap()["ProjectName"];
            let out = target.codebuild(region).batch_get_projects().names(project).send().await;
            let out = out.unwrap();
            let p =
                out.projects().first().unwrap_or_else(|| panic!("{name}: no project {project}"));
            let role = p.service_role().unwrap();
            assert!(role.contains(&format!(":{id}:")), "{project}: role {role}");
            found += 1;
        }
    }
    found
}
