//! End to end: `orgsplit audit` on the demo scenario before and after the split, and each
//! finding on state built to have it, then gone once the state is fixed. AWS state is set up
//! and changed through the SDK, as a person would, never through orgsplit.
#![allow(clippy::print_stdout)] // the test prints the reports it judged

#[path = "../common/mod.rs"]
mod common;
mod findings;

use aws_sdk_budgets::types::{Budget, BudgetType, Spend, TimeUnit};
use aws_sdk_organizations::types::PolicyType;
use common::{EXAMPLE, Run, apply_ou, aws_for, demo_world, inventory_and_plan, orgsplit};
use orgsplit_testkit::runtime;
use orgsplit_testkit::{Emulator, MANAGEMENT_ACCOUNT, SOURCE_ACCOUNT, scenario};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::Path;

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
    let (emu, dir) = demo_world();
    let d = dir.path();
    let mut log = Vec::new();

    emu.clear_requests();
    let before = audit_json(&emu, d, &[], &mut log);
    assert!(
        emu.mutating_requests().is_empty(),
        "the audit changed something: {:?}",
        emu.mutating_requests()
    );
    println!("before the split: {} ({} API calls)", before["summary"], emu.requests().len());
    assert_eq!(before["schema_version"], 1);
    let source: BTreeSet<String> = codes_of(&before, SOURCE_ACCOUNT).into_iter().collect();
    for code in BEFORE_SPLIT {
        assert!(source.contains(code), "{code} missing: {source:?}");
    }
    // The demo's roles trust services and the organization only; its access role is not
    // yet superseded by a terraform-apply role; nothing runs in the management account.
    for code in ["role-trusts-anyone", "role-trusts-outside-org", "access-role-admin"] {
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
    assert!(text.stdout.contains("Audit of 2 accounts (0 not audited)"), "{}", text.stdout);
    log.push(text);

    // --fail-on: exit 1 at or above the threshold.
    let gate = orgsplit(&emu, d, &["audit", "--fail-on", "high"]);
    assert_eq!(gate.code, Some(1), "{}", gate.stderr);
    assert!(gate.stderr.contains("findings at or above high"), "{}", gate.stderr);
    log.push(gate);

    // The split: both OUs applied.
    log.extend(inventory_and_plan(&emu, d));
    apply_ou(&emu, d, "plan.json", "dev", &mut log);
    apply_ou(&emu, d, "plan.json", "prod", &mut log);

    emu.clear_requests();
    let after = audit_json(&emu, d, &[], &mut log);
    assert!(emu.mutating_requests().is_empty());
    println!("after the split: {} ({} API calls)", after["summary"], emu.requests().len());
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
    let workloads = new_accounts.iter().find(|a| a["name"] == "prod-workloads").unwrap();
    assert!(workloads["resources"].as_u64().unwrap() > 20, "{workloads}");
    // A clean account passes the CI gate.
    let gate = orgsplit(
        &emu,
        d,
        &["audit", "--account", workloads["account_id"].as_str().unwrap(), "--fail-on", "low"],
    );
    assert_eq!(gate.code, Some(0), "{}{}", gate.stdout, gate.stderr);
    assert!(
        gate.stdout.contains("Audit of 1 account (0 not audited): 0 findings"),
        "{}",
        gate.stdout
    );
    log.push(gate);
    // The shared account still holds everything until it is cleaned up.
    assert!(codes_of(&after, SOURCE_ACCOUNT).contains(&"mixed-environments".into()));
    assert_no_secret(&log);
}
