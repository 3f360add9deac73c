//! End to end: `orgsplit audit` on the demo scenario before and after the split, and each
//! finding on state built to have it, then gone once the state is fixed. AWS state is set up
//! and changed through the SDK, as a person would, never through orgsplit.
#![allow(clippy::print_stdout)] // the test prints the reports it judged

mod common;

use aws_sdk_budgets::types::{Budget, BudgetType, Spend, TimeUnit};
use aws_sdk_organizations::types::PolicyType;
use common::{Run, apply_ou, aws_for, orgsplit};
use orgsplit_testkit::runtime;
use orgsplit_testkit::{Emulator, MANAGEMENT_ACCOUNT, SOURCE_ACCOUNT, scenario};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;

const EXAMPLE: &str = include_str!("../../../plans/examples/orgsplit.toml");

/// The five signs the demo's shared account shows before the split.
const BEFORE_SPLIT: [&str; 5] = [
    "mixed-environments",
    "long-running-task",
    "no-budget",
    "v1-github-source",
    "unprotected-tag-key",
];

fn audit_json(emu: &Emulator, dir: &Path, extra: &[&str], log: &mut Vec<Run>) -> Value {
    let mut args = vec!["audit", "--output", "json"];
    args.extend_from_slice(extra);
    let run = orgsplit(emu, dir, &args);
    assert_eq!(run.code, Some(0), "audit {extra:?}: {}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    log.push(run);
    report
}

fn codes_of(report: &Value, account: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["account_id"] == account)
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

fn findings_of<'a>(report: &'a Value, account: &str, code: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["account_id"] == account && f["code"] == code)
        .collect()
}

fn assert_no_secret(log: &[Run]) {
    let secrets = scenario("demo")["secrets"].as_array().unwrap().clone();
    assert!(!secrets.is_empty());
    for run in log {
        let haystack = format!("{}{}", run.stdout, run.stderr);
        for s in secrets.iter().map(|s| s.as_str().unwrap()) {
            assert!(!haystack.contains(s), "a seeded secret was printed");
            assert!(!haystack.contains(&hex::encode(Sha256::digest(s.as_bytes()))));
        }
    }
}

#[test]
fn demo_before_and_after_the_split() {
    let emu = Emulator::start_with(Some("demo"));
    emu.export_env();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("orgsplit.toml"), EXAMPLE).unwrap();
    let mut log = Vec::new();

    emu.clear_requests();
    let before = audit_json(&emu, d, &[], &mut log);
    assert!(
        emu.mutating_requests().is_empty(),
        "the audit changed something: {:?}",
        emu.mutating_requests()
    );
    println!(
        "before the split: {} ({} API calls)",
        before["summary"],
        emu.requests().len()
    );
    assert_eq!(before["schema_version"], 1);
    let source: BTreeSet<String> = codes_of(&before, SOURCE_ACCOUNT).into_iter().collect();
    for code in BEFORE_SPLIT {
        assert!(source.contains(code), "{code} missing: {source:?}");
    }
    // The demo's roles trust services and the organization only; its access role is not
    // yet superseded by a terraform-apply role; nothing runs in the management account.
    for code in [
        "role-trusts-anyone",
        "role-trusts-outside-org",
        "access-role-admin",
    ] {
        assert!(!source.contains(code), "{code} on the demo: {before:#}");
    }
    assert!(
        !codes_of(&before, MANAGEMENT_ACCOUNT).contains(&"management-account-workloads".into())
    );
    let mixed = &findings_of(&before, SOURCE_ACCOUNT, "mixed-environments")[0];
    assert_eq!(mixed["severity"], "high");
    assert!(mixed["details"]["environments"]["dev"].as_u64().unwrap() > 0);
    assert!(mixed["details"]["environments"]["prod"].as_u64().unwrap() > 0);
    let task = &findings_of(&before, SOURCE_ACCOUNT, "long-running-task")[0];
    let hours = task["details"]["hours"].as_f64().unwrap();
    assert!((79.0..=81.0).contains(&hours), "{task}");
    assert_eq!(task["details"]["started_by"], "manual-release");
    let pipelines: BTreeSet<&str> = findings_of(&before, SOURCE_ACCOUNT, "v1-github-source")
        .iter()
        .map(|f| f["resource"].as_str().unwrap())
        .collect();
    assert_eq!(
        pipelines,
        BTreeSet::from(["dev-api-build", "mail-sender-release", "prod-api-release"])
    );
    let tag = &findings_of(&before, SOURCE_ACCOUNT, "unprotected-tag-key")[0];
    assert_eq!(tag["resource"], "tag:Environment");

    // A threshold above the task's 80 hours: no finding.
    std::fs::write(
        d.join("patient.toml"),
        EXAMPLE.replace("max_task_hours = 24", "max_task_hours = 100"),
    )
    .unwrap();
    let patient = audit_json(&emu, d, &["--config", "patient.toml"], &mut log);
    assert!(findings_of(&patient, SOURCE_ACCOUNT, "long-running-task").is_empty());

    // Text: grouped by account and severity, each finding with its fix.
    let text = orgsplit(&emu, d, &["audit"]);
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    let source_block = text
        .stdout
        .split("\n\n")
        .find(|b| b.starts_with(SOURCE_ACCOUNT))
        .unwrap_or_else(|| panic!("no block for the source account: {}", text.stdout));
    let high = source_block.find("\n  high\n").expect("a high group");
    let medium = source_block.find("\n  medium\n").expect("a medium group");
    assert!(high < medium, "{source_block}");
    assert!(
        source_block.contains(
            "fix: orgsplit pipelines migrate --account 111111111111 --pipeline prod-api-release"
        ),
        "{source_block}"
    );
    assert!(
        text.stdout.contains("Audit of 2 accounts (0 not audited)"),
        "{}",
        text.stdout
    );
    log.push(text);

    // --fail-on: exit 1 at or above the threshold.
    let gate = orgsplit(&emu, d, &["audit", "--fail-on", "high"]);
    assert_eq!(gate.code, Some(1), "{}", gate.stderr);
    assert!(
        gate.stderr.contains("findings at or above high"),
        "{}",
        gate.stderr
    );
    log.push(gate);

    // The split: both OUs applied.
    let inv = orgsplit(&emu, d, &["inventory", "--out", "inventory.json"]);
    assert_eq!(inv.code, Some(0), "{}", inv.stderr);
    let plan = orgsplit(
        &emu,
        d,
        &[
            "plan",
            "--inventory",
            "inventory.json",
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    apply_ou(&emu, d, "plan.json", "dev", &mut log);
    apply_ou(&emu, d, "plan.json", "prod", &mut log);

    emu.clear_requests();
    let after = audit_json(&emu, d, &[], &mut log);
    assert!(emu.mutating_requests().is_empty());
    println!(
        "after the split: {} ({} API calls)",
        after["summary"],
        emu.requests().len()
    );
    let new_accounts: Vec<&Value> = after["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["ou"] == "dev" || a["ou"] == "prod")
        .collect();
    assert_eq!(new_accounts.len(), 4, "{after:#}");
    for a in &new_accounts {
        let id = a["account_id"].as_str().unwrap();
        assert_eq!(a["audited"], true, "{a}");
        assert!(a["resources"].as_u64().unwrap() >= 2, "{a}");
        let codes = codes_of(&after, id);
        for code in BEFORE_SPLIT {
            assert!(
                !codes.contains(&code.to_string()),
                "{id} ({}) reports {code}: {after:#}",
                a["name"]
            );
        }
        println!("{} ({}): {codes:?}", a["name"], a["ou"]);
    }
    // The workloads accounts hold the copies, of one environment each (plus shared ones).
    let workloads = new_accounts
        .iter()
        .find(|a| a["name"] == "prod-workloads")
        .unwrap();
    assert!(workloads["resources"].as_u64().unwrap() > 20, "{workloads}");
    // A clean account passes the CI gate.
    let gate = orgsplit(
        &emu,
        d,
        &[
            "audit",
            "--account",
            workloads["account_id"].as_str().unwrap(),
            "--fail-on",
            "low",
        ],
    );
    assert_eq!(gate.code, Some(0), "{}{}", gate.stdout, gate.stderr);
    assert!(
        gate.stdout
            .contains("Audit of 1 account (0 not audited): 0 findings"),
        "{}",
        gate.stdout
    );
    log.push(gate);
    // The shared account still holds everything until it is cleaned up.
    assert!(codes_of(&after, SOURCE_ACCOUNT).contains(&"mixed-environments".into()));
    assert_no_secret(&log);
}

const ORG_ONLY: &str = "o-"; // organization ids start so

/// Builds one instance of each finding the demo lacks, then fixes every finding of the
/// shared and management accounts, and checks what the audit says each time.
#[test]
fn each_finding_appears_when_built_and_goes_when_fixed() {
    let emu = Emulator::start_with(Some("demo"));
    emu.export_env();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("orgsplit.toml"), EXAMPLE).unwrap();
    let mut log = Vec::new();
    let rt = runtime();
    let both = ["--account", SOURCE_ACCOUNT, "--account", MANAGEMENT_ACCOUNT];

    // Invalid input: exit 2, nothing read.
    for (bad, says) in [
        ("12", "not a 12-digit account id"),
        ("999999999999", "not an account of organization"),
    ] {
        let run = orgsplit(&emu, d, &["audit", "--account", bad]);
        assert_eq!(run.code, Some(2), "{}", run.stderr);
        assert!(
            run.stderr.contains(says) && run.stderr.contains(bad),
            "{}",
            run.stderr
        );
        log.push(run);
    }

    // Near misses first: each looks like a finding's state but is not one.
    rt.block_on(build_near_misses(&emu));
    let near = audit_json(&emu, d, &both, &mut log);
    println!("near misses: {}", near["summary"]);
    // An admin access role in an account not yet bootstrapped is how it is managed.
    assert!(findings_of(&near, SOURCE_ACCOUNT, "access-role-admin").is_empty());
    // A rule of the management account's own (the trigger's kind: an SQS target) is no workload.
    assert!(findings_of(&near, MANAGEMENT_ACCOUNT, "management-account-workloads").is_empty());
    // An SCP that requires the tag does not stop anyone from changing it.
    let tag = findings_of(&near, SOURCE_ACCOUNT, "unprotected-tag-key");
    assert_eq!(tag.len(), 1, "{near:#}");
    assert_eq!(
        tag[0]["details"]["scps_in_force"],
        json!(["FullAWSAccess", "require-environment-tag"]),
        "{near:#}"
    );

    let org_id = rt.block_on(build_findings(&emu));
    assert!(org_id.starts_with(ORG_ONLY));
    let built = audit_json(&emu, d, &both, &mut log);
    println!("built: {}", built["summary"]);
    let anyone = findings_of(&built, SOURCE_ACCOUNT, "role-trusts-anyone");
    assert_eq!(anyone.len(), 1, "{built:#}");
    assert!(
        anyone[0]["resource"]
            .as_str()
            .unwrap()
            .ends_with(":role/audit-open-trust")
    );
    let outside = findings_of(&built, SOURCE_ACCOUNT, "role-trusts-outside-org");
    assert_eq!(outside.len(), 1, "{built:#}");
    assert_eq!(outside[0]["details"]["accounts"], json!(["999988887777"]));
    let admin = findings_of(&built, SOURCE_ACCOUNT, "access-role-admin");
    assert_eq!(admin.len(), 1, "{built:#}");
    assert_eq!(admin[0]["severity"], "info");
    assert_eq!(
        admin[0]["details"]["inline_admin"],
        json!(["administrator"])
    );
    let mgmt = findings_of(&built, MANAGEMENT_ACCOUNT, "management-account-workloads");
    assert_eq!(mgmt.len(), 1, "{built:#}");
    assert_eq!(
        mgmt[0]["details"]["resources"],
        json!(["ssm:/prod/leftover/API_URL"])
    );
    // The source account's medium findings fail a medium gate.
    let gate = orgsplit(
        &emu,
        d,
        &["audit", "--account", SOURCE_ACCOUNT, "--fail-on", "medium"],
    );
    assert_eq!(gate.code, Some(1), "{}", gate.stderr);
    log.push(gate);

    rt.block_on(fix_findings(&emu, &org_id));
    let fixed = audit_json(&emu, d, &both, &mut log);
    println!("fixed: {}", fixed["summary"]);
    for code in [
        "role-trusts-anyone",
        "role-trusts-outside-org",
        "access-role-admin",
        "long-running-task",
        "no-budget",
        "unprotected-tag-key",
    ] {
        assert!(
            findings_of(&fixed, SOURCE_ACCOUNT, code).is_empty(),
            "{code} still there: {fixed:#}"
        );
    }
    assert!(findings_of(&fixed, MANAGEMENT_ACCOUNT, "management-account-workloads").is_empty());
    assert!(findings_of(&fixed, MANAGEMENT_ACCOUNT, "no-budget").is_empty());
    // What is left on the shared account is what only the split fixes.
    let left: BTreeSet<String> = codes_of(&fixed, SOURCE_ACCOUNT).into_iter().collect();
    assert_eq!(
        left,
        BTreeSet::from([
            "mixed-environments".to_string(),
            "v1-github-source".to_string()
        ])
    );

    // The CI gate on a new account at the root: bootstrapped, admin access role kept, no
    // budget yet (medium and info findings).
    let extra = rt.block_on(extra_account(&emu));
    let gate = |level: &str, log: &mut Vec<Run>| {
        let run = orgsplit(&emu, d, &["audit", "--account", &extra, "--fail-on", level]);
        let code = run.code;
        log.push(run);
        code
    };
    let report = audit_json(&emu, d, &["--account", &extra], &mut log);
    let codes: BTreeSet<String> = codes_of(&report, &extra).into_iter().collect();
    assert_eq!(
        codes,
        BTreeSet::from(["access-role-admin".to_string(), "no-budget".to_string()]),
        "{report:#}"
    );
    assert_eq!(gate("high", &mut log), Some(0));
    assert_eq!(gate("medium", &mut log), Some(1));
    rt.block_on(create_budget(&emu, &extra));
    // Only the info finding is left: it never fails the gate.
    assert_eq!(gate("low", &mut log), Some(0));
    let report = audit_json(&emu, d, &["--account", &extra], &mut log);
    assert_eq!(codes_of(&report, &extra), ["access-role-admin"]);

    // An account that cannot be read: the report still comes, the run fails (exit 1).
    emu.set_faults(json!({"error5xx": 1.0, "services": ["budgets"]}));
    let broken = orgsplit(
        &emu,
        d,
        &["audit", "--output", "json", "--account", SOURCE_ACCOUNT],
    );
    emu.set_faults(json!({}));
    assert_eq!(broken.code, Some(1), "{}", broken.stderr);
    assert!(
        broken.stderr.contains("accounts could not be read"),
        "{}",
        broken.stderr
    );
    let report: Value = serde_json::from_str(&broken.stdout).unwrap();
    assert_eq!(report["accounts"][0]["audited"], false);
    assert_eq!(report["summary"]["not_audited"], 1);
    log.push(broken);
    assert_no_secret(&log);
}

fn trust(principal: Value, condition: Option<Value>) -> String {
    let mut statement =
        json!({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"});
    if let Some(c) = condition {
        statement["Condition"] = c;
    }
    json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
}

fn allow_everything() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
        .to_string()
}

/// Creates `name` unless it exists, trusting the management account.
async fn ensure_role(iam: &aws_sdk_iam::Client, name: &str) {
    if iam.get_role().role_name(name).send().await.is_err() {
        iam.create_role()
            .role_name(name)
            .assume_role_policy_document(trust(
                json!(format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:root")),
                None,
            ))
            .send()
            .await
            .unwrap();
    }
}

/// State that resembles a finding's without being one.
async fn build_near_misses(emu: &Emulator) {
    let aws = aws_for(emu).await;
    let source = aws.session(SOURCE_ACCOUNT).await.unwrap();
    // moto does not load AWS managed policies (attaching AdministratorAccess fails there), so
    // the access role gets the same grant inline; the attached form is covered by unit tests.
    let iam = source.iam();
    ensure_role(&iam, "OrganizationAccountAccessRole").await;
    iam.put_role_policy()
        .role_name("OrganizationAccountAccessRole")
        .policy_name("administrator")
        .policy_document(allow_everything())
        .send()
        .await
        .unwrap();
    let mgmt = aws.session(MANAGEMENT_ACCOUNT).await.unwrap();
    let events = mgmt.events("us-east-1");
    events
        .put_rule()
        .name("orgsplit-new-account")
        .event_pattern(json!({"source": ["aws.organizations"]}).to_string())
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("orgsplit-new-account")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(format!(
                    "arn:aws:sqs:us-east-1:{MANAGEMENT_ACCOUNT}:orgsplit-trigger"
                ))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let org = mgmt.organizations();
    org.enable_policy_type()
        .root_id(root_id(&org).await)
        .policy_type(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    // EnablePolicyType is asynchronous: wait for ENABLED, as any client must.
    let enabled = || async {
        org.list_roots().send().await.unwrap().roots()[0]
            .policy_types()
            .iter()
            .any(|p| {
                p.r#type() == Some(&PolicyType::ServiceControlPolicy)
                    && p.status() == Some(&aws_sdk_organizations::types::PolicyTypeStatus::Enabled)
            })
    };
    for _ in 0..100 {
        if enabled().await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    scp_on_root(
        &org,
        "require-environment-tag",
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Action": ["ecs:CreateCluster", "ssm:PutParameter"], "Resource": "*",
            "Condition": {"Null": {"aws:RequestTag/Environment": "true"}}}]}),
    )
    .await;
}

async fn root_id(org: &aws_sdk_organizations::Client) -> String {
    org.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string()
}

/// Creates an SCP and attaches it to the root (SCPs already enabled).
async fn scp_on_root(org: &aws_sdk_organizations::Client, name: &str, document: Value) {
    let created = org
        .create_policy()
        .name(name)
        .description(name)
        .r#type(PolicyType::ServiceControlPolicy)
        .content(document.to_string())
        .send()
        .await
        .unwrap();
    let id = created
        .policy()
        .unwrap()
        .policy_summary()
        .unwrap()
        .id()
        .unwrap();
    org.attach_policy()
        .policy_id(id)
        .target_id(root_id(org).await)
        .send()
        .await
        .unwrap();
}

/// Returns the organization's id.
async fn build_findings(emu: &Emulator) -> String {
    let aws = aws_for(emu).await;
    let source = aws.session(SOURCE_ACCOUNT).await.unwrap();
    let iam = source.iam();
    iam.create_role()
        .role_name("audit-open-trust")
        .assume_role_policy_document(trust(json!("*"), None))
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("audit-vendor-trust")
        .assume_role_policy_document(trust(json!("arn:aws:iam::999988887777:root"), None))
        .send()
        .await
        .unwrap();
    // Bootstrapped (a terraform-apply role), yet the access role kept its admin grant.
    ensure_role(&iam, "terraform-apply").await;
    // A workload left in the management account.
    let mgmt = aws.session(MANAGEMENT_ACCOUNT).await.unwrap();
    mgmt.ssm("us-east-1")
        .put_parameter()
        .name("/prod/leftover/API_URL")
        .value("https://api.example.com")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let org = mgmt
        .organizations()
        .describe_organization()
        .send()
        .await
        .unwrap();
    org.organization().unwrap().id().unwrap().to_string()
}

async fn fix_findings(emu: &Emulator, org_id: &str) {
    let aws = aws_for(emu).await;
    let source = aws.session(SOURCE_ACCOUNT).await.unwrap();
    let iam = source.iam();
    iam.update_assume_role_policy()
        .role_name("audit-open-trust")
        .policy_document(trust(
            json!("*"),
            Some(json!({"StringEquals": {"aws:PrincipalOrgID": org_id}})),
        ))
        .send()
        .await
        .unwrap();
    iam.update_assume_role_policy()
        .role_name("audit-vendor-trust")
        .policy_document(trust(
            json!(format!("arn:aws:iam::{MANAGEMENT_ACCOUNT}:root")),
            None,
        ))
        .send()
        .await
        .unwrap();
    iam.delete_role_policy()
        .role_name("OrganizationAccountAccessRole")
        .policy_name("administrator")
        .send()
        .await
        .unwrap();
    // The long-running task stopped.
    let ecs = source.ecs("us-east-1");
    for arn in ecs
        .list_tasks()
        .cluster("batch")
        .send()
        .await
        .unwrap()
        .task_arns()
    {
        ecs.stop_task()
            .cluster("batch")
            .task(arn)
            .send()
            .await
            .unwrap();
    }
    // A budget in both accounts.
    let mgmt = aws.session(MANAGEMENT_ACCOUNT).await.unwrap();
    for account in [SOURCE_ACCOUNT, MANAGEMENT_ACCOUNT] {
        create_budget(emu, account).await;
    }
    // The workload out of the management account.
    mgmt.ssm("us-east-1")
        .delete_parameter()
        .name("/prod/leftover/API_URL")
        .send()
        .await
        .unwrap();
    // An SCP protecting the tag key, on the root.
    scp_on_root(
        &mgmt.organizations(),
        "protect-environment-tag",
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny",
            "Action": ["*:TagResource", "*:UntagResource"], "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Environment"]}}}]}),
    )
    .await;
}

/// A new account at the root: bootstrapped, its access role still admin, no budget.
async fn extra_account(emu: &Emulator) -> String {
    let aws = aws_for(emu).await;
    let mgmt = aws.session(MANAGEMENT_ACCOUNT).await.unwrap();
    let id = orgsplit_testkit::create_account(
        &mgmt.organizations(),
        "audit-extra",
        "aws+audit-extra@example.com",
    )
    .await;
    let iam = aws.session(&id).await.unwrap().iam();
    ensure_role(&iam, "OrganizationAccountAccessRole").await;
    ensure_role(&iam, "terraform-apply").await;
    iam.put_role_policy()
        .role_name("OrganizationAccountAccessRole")
        .policy_name("administrator")
        .policy_document(allow_everything())
        .send()
        .await
        .unwrap();
    id
}

async fn create_budget(emu: &Emulator, account: &str) {
    let aws = aws_for(emu).await;
    aws.session(account)
        .await
        .unwrap()
        .budgets()
        .create_budget()
        .account_id(account)
        .budget(
            Budget::builder()
                .budget_name("monthly")
                .budget_type(BudgetType::Cost)
                .time_unit(TimeUnit::Monthly)
                .budget_limit(Spend::builder().amount("500").unit("USD").build().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}
