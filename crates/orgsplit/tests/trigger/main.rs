//! End to end: the new-account trigger. Accounts are created and moved through the
//! Organizations API (as a person or Control Tower would), the events AWS would send are
//! handed to `orgsplit trigger` (from a file, from an SQS queue fed by the EventBridge rule
//! `trigger install` made, and through the Lambda runtime API), and every account's
//! `terraform-apply` role is read back in the account.
#![allow(clippy::print_stdout)] // the test prints its per-event figures

/// Binds the fields of the scenario a stage uses: the first list as `&T`, the second (after
/// `;`) as `&mut T`.
macro_rules! fields {
    ($s:ident; $($shared:ident),*; $($mutable:ident),*) => {
        let Scenario { $($shared,)* $($mutable,)* .. } = $s;
        $(let $shared = &*$shared;)*
    };
}

#[path = "../common/mod.rs"]
mod common;
mod control_tower;
mod delivery;
mod single_events;

use common::{Run, aws_for, command, output};
use orgsplit_aws::policy::policy_document;
use orgsplit_aws::{AccountSession, Aws};
use orgsplit_testkit::runtime;
use orgsplit_testkit::{Emulator, MANAGEMENT_ACCOUNT};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const REGION: &str = "us-east-1";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../orgsplit-trigger/tests/fixtures");

/// `orgsplit ARGS` at the default log level (the per-event figures are read from stderr).
fn orgsplit(emu: &Emulator, dir: &Path, args: &[&str]) -> Run {
    output(command(emu, dir).args(args))
}

async fn mgmt(emu: &Emulator) -> (Aws, AccountSession) {
    let aws = aws_for(emu).await;
    let s = aws.session(MANAGEMENT_ACCOUNT).await.unwrap();
    (aws, s)
}

async fn create_account(m: &AccountSession, name: &str) -> String {
    orgsplit_testkit::create_account(&m.organizations(), name, &format!("aws+{name}@example.com"))
        .await
}

async fn root_id(m: &AccountSession) -> String {
    m.organizations().list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string()
}

async fn parent(m: &AccountSession, account: &str) -> String {
    m.organizations().list_parents().child_id(account).send().await.unwrap().parents()[0]
        .id()
        .unwrap()
        .to_string()
}

async fn move_to(m: &AccountSession, account: &str, to: &str) -> String {
    let from = parent(m, account).await;
    m.organizations()
        .move_account()
        .account_id(account)
        .source_parent_id(&from)
        .destination_parent_id(to)
        .send()
        .await
        .unwrap();
    from
}

/// Whom the account's `terraform-apply` role trusts (`arn:aws:iam::ID:root`), and whether
/// the trust carries the organization condition; None when the role does not exist.
async fn trusted(aws: &Aws, account: &str) -> Option<(Vec<String>, bool)> {
    let s = aws.session(account).await.unwrap();
    let got = s.iam().get_role().role_name("terraform-apply").send().await.ok()?;
    let doc = policy_document(got.role()?.assume_role_policy_document()?);
    let mut principals = Vec::new();
    let mut org_condition = true;
    for st in doc["Statement"].as_array().unwrap() {
        match &st["Principal"]["AWS"] {
            Value::String(p) => principals.push(p.clone()),
            Value::Array(a) => principals.extend(a.iter().map(|p| p.as_str().unwrap().to_string())),
            other => principals.push(other.to_string()),
        }
        org_condition &= st["Condition"]["StringEquals"]["aws:PrincipalOrgID"].is_string();
    }
    principals.sort();
    Some((principals, org_condition))
}

fn fixture(name: &str, account: &str, a: &str, b: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .unwrap()
        .replace("ACCOUNT_ID", account)
        .replace("SOURCE_PARENT", a)
        .replace("DESTINATION_PARENT", b)
        .replace("OU_ID", b)
}

fn config(dev_admin: &str, prod_admin: &str) -> String {
    format!(
        r#"version = 1
home_region = "us-east-1"
regions = ["us-east-1"]
access_role = "OrganizationAccountAccessRole"

[source]
account_id = "111111111111"

[[ou]]
name = "dev"
environment = "dev"
admin_account = "{dev_admin}"
stacksets = ["baseline"]

[[ou]]
name = "prod"
environment = "prod"
admin_account = "{prod_admin}"
stacksets = ["baseline"]

[[account]]
name = "dev-workloads"
email = "aws+dev-workloads@example.com"
ou = "dev"
workloads = true

[[account]]
name = "prod-workloads"
email = "aws+prod-workloads@example.com"
ou = "prod"
workloads = true

[[rule]]
environment = "prod"
name_pattern = "prod"

[guardrails]
monthly_budget_usd = 100
budget_email = "platform@example.com"
"#
    )
}

fn handle(emu: &Emulator, dir: &Path, file: &str) -> (Run, Value) {
    let run = orgsplit(emu, dir, &["trigger", "handle", "--event", file, "--output", "json"]);
    let v = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run, v)
}

/// The scenario's state, handed from one stage to the next.
struct Scenario {
    emu: Emulator,
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    aws: Aws,
    /// The management account.
    m: AccountSession,
    dev_ou: String,
    prod_ou: String,
    dev_admin: String,
    prod_admin: String,
    root: String,
    /// (event, `--output json` of its handling, request log entries): printed at the end.
    figures: Vec<(&'static str, Value, usize)>,
    /// The account the single-event stages move around.
    a: String,
    /// Where `a` was moved from last.
    from: String,
}

/// The trust a role should have: exactly `admin`'s root, in the organization.
fn only(admin: &str) -> (Vec<String>, bool) {
    (vec![format!("arn:aws:iam::{admin}:root")], true)
}

impl Scenario {
    fn start() -> Scenario {
        let emu = Emulator::start_with(Some("org-only"));
        emu.export_env();
        let rt = runtime();
        let (aws, m) = rt.block_on(mgmt(&emu));
        let dir = tempfile::tempdir().unwrap();
        let (dev_ou, prod_ou, dev_admin, prod_admin, root) = rt.block_on(async {
            let root = root_id(&m).await;
            let mut ous = Vec::new();
            for name in ["dev", "prod"] {
                let ou = m
                    .organizations()
                    .create_organizational_unit()
                    .parent_id(&root)
                    .name(name)
                    .send()
                    .await
                    .unwrap();
                ous.push(ou.organizational_unit().unwrap().id().unwrap().to_string());
            }
            let dev_admin = create_account(&m, "dev-admin").await;
            let prod_admin = create_account(&m, "prod-admin").await;
            (ous[0].clone(), ous[1].clone(), dev_admin, prod_admin, root)
        });
        std::fs::write(dir.path().join("orgsplit.toml"), config(&dev_admin, &prod_admin)).unwrap();

        Scenario {
            emu,
            dir,
            rt,
            aws,
            m,
            dev_ou,
            prod_ou,
            dev_admin,
            prod_admin,
            root,
            figures: Vec::new(),
            a: String::new(),
            from: String::new(),
        }
    }
}

/// The stages, in order: each starts where the one before left the organization.
/// A stage: its name, then what it does and checks.
type Stage = (&'static str, fn(&mut Scenario));

const STAGES: &[Stage] = &[
    (
        "a new account moved into dev is reconciled from CreateAccountResult, without listing the organization",
        single_events::a_new_account_is_reconciled_from_its_creation_event,
    ),
    (
        "moved to prod: only the prod admin is trusted after one event",
        single_events::a_moved_account_trusts_only_its_new_admin,
    ),
    (
        "the same event again changes nothing and writes nothing",
        single_events::a_replayed_event_writes_nothing,
    ),
    (
        "Control Tower's event: the reconcile still asks Organizations for the OU",
        single_events::control_towers_event_is_reconciled,
    ),
    (
        "other events are ignored and malformed ones exit 2, writing nothing",
        single_events::other_and_malformed_events_change_nothing,
    ),
    (
        "moved out of every configured OU: the old OU's instances go",
        single_events::an_account_moved_to_the_root_loses_its_instances,
    ),
    (
        "trigger install with home_region eu-west-1: the rule goes to us-east-1, after a trail",
        delivery::install_puts_the_rule_in_us_east_1_and_needs_a_trail,
    ),
    (
        "trigger install with an SQS target: an event on the bus is handled from the queue",
        delivery::sqs_target_delivers_events_from_the_bus,
    ),
    (
        "Control Tower in eu-west-1: its events are forwarded to us-east-1 and handled",
        control_tower::control_tower_events_are_forwarded_from_its_home_region,
    ),
    (
        "a Lambda target replaces the rule's target; only the rule may invoke the function",
        delivery::lambda_target_replaces_the_queue,
    ),
    (
        "the Lambda runtime serves an EventBridge event and an SQS batch",
        delivery::the_lambda_runtime_serves_invocations,
    ),
    ("50 events at once: every account reconciled, none fails", fifty_events_at_once_all_reconcile),
];

#[test]
fn events_reconcile_the_account_they_name() {
    let mut scenario = Scenario::start();
    for (stage, run) in STAGES {
        println!("stage: {stage}");
        run(&mut scenario);
    }
}

/// 50 events at once: every account reconciled, none fails.
fn fifty_events_at_once_all_reconcile(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, rt, aws, m, dev_ou, prod_ou, dev_admin, prod_admin; figures);
    // 50 events at once (50 handlers, as 50 Lambda invocations would run): every account ends
    // reconciled, none fails.
    let accounts: Vec<(String, bool)> = rt.block_on(async {
        // Created a few at a time, as AWS allows (each creation takes a while there and in
        // the strict emulator); 50 pollers at once only starve the emulator of CPU.
        let mut creations = tokio::task::JoinSet::new();
        let at_once = std::sync::Arc::new(tokio::sync::Semaphore::new(5));
        for i in 0..50 {
            let org = m.organizations();
            let at_once = at_once.clone();
            creations.spawn(async move {
                let _slot = at_once.acquire().await.expect("the semaphore stays open");
                let name = format!("burst-{i:02}");
                let email = format!("aws+{name}@example.com");
                (i, orgsplit_testkit::create_account(&org, &name, &email).await)
            });
        }
        let mut ids = creations.join_all().await;
        ids.sort();
        let mut out = Vec::new();
        for (i, id) in ids {
            let dev = i % 2 == 0;
            move_to(m, &id, if dev { dev_ou } else { prod_ou }).await;
            out.push((id, dev));
        }
        out
    });
    for (id, _) in &accounts {
        std::fs::write(
            d.join(format!("burst-{id}.json")),
            fixture("create-account-result.json", id, "", ""),
        )
        .unwrap();
    }
    let started = Instant::now();
    let children: Vec<_> = accounts
        .iter()
        .map(|(id, _)| {
            command(emu, d)
                .args([
                    "trigger",
                    "handle",
                    "--event",
                    &format!("burst-{id}.json"),
                    "--output",
                    "json",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut calls = Vec::new();
    for (child, (id, _)) in children.into_iter().zip(&accounts) {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{id}: {}", String::from_utf8_lossy(&out.stderr));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        calls.push(v["api_calls"].as_u64().unwrap());
    }
    let burst = started.elapsed();
    rt.block_on(async {
        for (id, dev) in &accounts {
            let want = if *dev { &dev_admin } else { &prod_admin };
            assert_eq!(trusted(aws, id).await, Some(only(want)), "{id}");
        }
    });
    println!("per event (api_calls as counted by orgsplit, request log entries, seconds):");
    for (label, out, logged) in figures.iter() {
        println!("  {label}: {} calls, {logged} logged, {} s", out["api_calls"], out["seconds"]);
    }
    calls.sort_unstable();
    println!(
        "50 events at once: {:.1} s in all; calls per event min {} median {} max {}",
        burst.as_secs_f64(),
        calls[0],
        calls[calls.len() / 2],
        calls[calls.len() - 1]
    );
}
