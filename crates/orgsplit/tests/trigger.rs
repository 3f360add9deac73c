//! End to end: the new-account trigger. Accounts are created and moved through the
//! Organizations API (as a person or Control Tower would), the events AWS would send are
//! handed to `orgsplit trigger` (from a file, from an SQS queue fed by the EventBridge rule
//! `trigger install` made, and through the Lambda runtime API), and every account's
//! `terraform-apply` role is read back in the account.
#![allow(clippy::print_stdout)] // the test prints its per-event figures

mod common;

use common::{Run, aws_for, command, output};
use orgsplit_aws::policy::policy_document;
use orgsplit_aws::{AccountSession, Aws};
use orgsplit_testkit::runtime;
use orgsplit_testkit::{Emulator, MANAGEMENT_ACCOUNT};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const REGION: &str = "us-east-1";
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../orgsplit-trigger/tests/fixtures"
);

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
    m.organizations().list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_string()
}

async fn parent(m: &AccountSession, account: &str) -> String {
    m.organizations()
        .list_parents()
        .child_id(account)
        .send()
        .await
        .unwrap()
        .parents()[0]
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
    let got = s
        .iam()
        .get_role()
        .role_name("terraform-apply")
        .send()
        .await
        .ok()?;
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
    let run = orgsplit(
        emu,
        dir,
        &["trigger", "handle", "--event", file, "--output", "json"],
    );
    let v = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run, v)
}

#[test]
fn events_reconcile_the_account_they_name() {
    let emu = Emulator::start_with(Some("org-only"));
    emu.export_env();
    let rt = runtime();
    let (aws, m) = rt.block_on(mgmt(&emu));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
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
    std::fs::write(d.join("orgsplit.toml"), config(&dev_admin, &prod_admin)).unwrap();
    let only = |admin: &str| (vec![format!("arn:aws:iam::{admin}:root")], true);
    let mut figures = Vec::new();

    // A new account, moved into dev: CreateAccountResult says nothing of the OU.
    let a = rt.block_on(async {
        let a = create_account(&m, "team-a").await;
        move_to(&m, &a, &dev_ou).await;
        a
    });
    std::fs::write(
        d.join("created.json"),
        fixture("create-account-result.json", &a, "", ""),
    )
    .unwrap();
    emu.clear_requests();
    let (run, out) = handle(&emu, d, "created.json");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["outcome"], "reconciled", "{}", run.stdout);
    assert_eq!(out["reconcile"]["ou"], "dev");
    figures.push((
        "CreateAccountResult, first account of the OU",
        out.clone(),
        emu.requests().len(),
    ));
    assert!(
        !emu.requests()
            .iter()
            .any(|r| r["operation"] == "ListAccounts" || r["operation"] == "ListAccountsForParent"),
        "one event listed the organization's accounts"
    );
    assert_eq!(rt.block_on(trusted(&aws, &a)), Some(only(&dev_admin)));

    // Moved to prod: only the prod admin is trusted after one event.
    let from = rt.block_on(move_to(&m, &a, &prod_ou));
    std::fs::write(
        d.join("moved.json"),
        fixture("move-account.json", &a, &from, &prod_ou),
    )
    .unwrap();
    emu.clear_requests();
    let (run, out) = handle(&emu, d, "moved.json");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["reconcile"]["ou"], "prod");
    assert_eq!(
        out["reconcile"]["instances_removed"],
        json!(["orgsplit-baseline-dev us-east-1"])
    );
    figures.push(("MoveAccount dev -> prod", out.clone(), emu.requests().len()));
    assert_eq!(rt.block_on(trusted(&aws, &a)), Some(only(&prod_admin)));

    // The same event again: nothing to change, nothing written.
    emu.clear_requests();
    let (run, out) = handle(&emu, d, "moved.json");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["reconcile"]["changed"], false);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "replay");
    figures.push(("MoveAccount replayed", out.clone(), emu.requests().len()));

    // Control Tower's event carries the OU; the reconcile still asks Organizations.
    std::fs::write(
        d.join("ct.json"),
        fixture("update-managed-account.json", &a, "", &prod_ou),
    )
    .unwrap();
    let (run, out) = handle(&emu, d, "ct.json");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["reconcile"]["ou"], "prod");

    // Other events are ignored; malformed ones exit 2; neither changes anything.
    emu.clear_requests();
    let (run, out) = handle(&emu, d, &format!("{FIXTURES}/other-event.json"));
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(out["outcome"], "ignored");
    std::fs::write(
        d.join("bad.json"),
        fixture("move-account.json", "12345", &from, &prod_ou),
    )
    .unwrap();
    let bad = orgsplit(&emu, d, &["trigger", "handle", "--event", "bad.json"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(
        bad.stderr.contains("detail.requestParameters.accountId"),
        "{}",
        bad.stderr
    );
    assert_eq!(
        emu.mutating_requests(),
        Vec::<Value>::new(),
        "ignored/malformed"
    );

    // Moved out of every configured OU (to the root): the old OU's instances go.
    let from = rt.block_on(move_to(&m, &a, &root));
    std::fs::write(
        d.join("to-root.json"),
        fixture("move-account.json", &a, &from, &root),
    )
    .unwrap();
    let (run, out) = handle(&emu, d, "to-root.json");
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        out["reconcile"]["instances_removed"],
        json!(["orgsplit-baseline-prod us-east-1"])
    );
    assert_eq!(rt.block_on(trusted(&aws, &a)), None, "no OU, no trust");

    // `trigger install` with an SQS target, then an event put on the bus arrives in the queue
    // and is handled from there.
    let (queue_url, queue_arn) = rt.block_on(async {
        let sqs = m.sqs(REGION);
        let url = sqs
            .create_queue()
            .queue_name("orgsplit-events")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        (
            url,
            format!("arn:aws:sqs:{REGION}:{MANAGEMENT_ACCOUNT}:orgsplit-events"),
        )
    });
    let installed = orgsplit(&emu, d, &["trigger", "install", "--target-arn", &queue_arn]);
    assert_eq!(installed.code, Some(0), "{}", installed.stderr);
    emu.clear_requests();
    let again = orgsplit(&emu, d, &["trigger", "install", "--target-arn", &queue_arn]);
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(
        again.stdout.contains("already in place"),
        "{}",
        again.stdout
    );
    assert_eq!(
        emu.mutating_requests(),
        Vec::<Value>::new(),
        "second install"
    );
    let b = rt.block_on(async {
        let b = create_account(&m, "team-b").await;
        let from = move_to(&m, &b, &dev_ou).await;
        let event: Value =
            serde_json::from_str(&fixture("move-account.json", &b, &from, &dev_ou)).unwrap();
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(event["source"].as_str().unwrap())
            .detail_type(event["detail-type"].as_str().unwrap())
            .detail(event["detail"].to_string())
            .build();
        let put = m
            .events(REGION)
            .put_events()
            .entries(entry)
            .send()
            .await
            .unwrap();
        assert_eq!(put.failed_entry_count(), 0);
        // Something else on the bus does not match the rule.
        let other: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{FIXTURES}/other-event.json")).unwrap(),
        )
        .unwrap();
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source("aws.organizations")
            .detail_type(other["detail-type"].as_str().unwrap())
            .detail(other["detail"].to_string())
            .build();
        m.events(REGION)
            .put_events()
            .entries(entry)
            .send()
            .await
            .unwrap();
        b
    });
    let consumed = orgsplit(
        &emu,
        d,
        &[
            "trigger",
            "handle",
            "--queue-url",
            &queue_url,
            "--wait-seconds",
            "2",
        ],
    );
    assert_eq!(consumed.code, Some(0), "{}", consumed.stderr);
    assert!(
        consumed.stdout.contains(
            "Handled 1 messages: 1 reconciled (1 changed), 0 ignored, 0 malformed, 0 failed."
        ),
        "{}",
        consumed.stdout
    );
    assert_eq!(rt.block_on(trusted(&aws, &b)), Some(only(&dev_admin)));

    // A Lambda target instead: the rule's target is replaced, and the function's resource
    // policy lets the rule (and only it) invoke the function.
    let function_arn = rt.block_on(async {
        m.iam()
            .create_role()
            .role_name("orgsplit-trigger")
            .assume_role_policy_document(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        // An empty zip: the function is never invoked through the emulator.
        let empty_zip = [&b"PK\x05\x06"[..], &[0u8; 18][..]].concat();
        let f = m
            .lambda(REGION)
            .create_function()
            .function_name("orgsplit-trigger")
            .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
            .handler("bootstrap")
            .role(format!(
                "arn:aws:iam::{MANAGEMENT_ACCOUNT}:role/orgsplit-trigger"
            ))
            .code(
                aws_sdk_lambda::types::FunctionCode::builder()
                    .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        f.function_arn().unwrap().to_string()
    });
    let to_lambda = orgsplit(
        &emu,
        d,
        &["trigger", "install", "--target-arn", &function_arn],
    );
    assert_eq!(to_lambda.code, Some(0), "{}", to_lambda.stderr);
    assert!(
        to_lambda.stdout.contains("target written"),
        "{}",
        to_lambda.stdout
    );
    rt.block_on(async {
        let targets = m
            .events(REGION)
            .list_targets_by_rule()
            .rule("orgsplit-new-account")
            .send()
            .await
            .unwrap();
        let arns: Vec<&str> = targets.targets().iter().map(|t| t.arn()).collect();
        assert_eq!(arns, [function_arn.as_str()]);
        let rule_arn = m
            .events(REGION)
            .describe_rule()
            .name("orgsplit-new-account")
            .send()
            .await
            .unwrap()
            .arn()
            .unwrap()
            .to_string();
        let policy = m
            .lambda(REGION)
            .get_policy()
            .function_name(&function_arn)
            .send()
            .await
            .unwrap();
        let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
        let st = policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "orgsplit-trigger-events")
            .unwrap_or_else(|| panic!("no orgsplit statement in {policy}"));
        assert_eq!(st["Principal"]["Service"], "events.amazonaws.com", "{st}");
        assert!(st.to_string().contains(&rule_arn), "{st}");
    });
    emu.clear_requests();
    let again = orgsplit(
        &emu,
        d,
        &["trigger", "install", "--target-arn", &function_arn],
    );
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(
        again.stdout.contains("already in place"),
        "{}",
        again.stdout
    );
    assert_eq!(
        emu.mutating_requests(),
        Vec::<Value>::new(),
        "second install (Lambda)"
    );

    // The Lambda runtime: `orgsplit` with no arguments under AWS_LAMBDA_RUNTIME_API serves
    // invocations: an EventBridge event directly, and an SQS batch.
    let c = rt.block_on(async {
        let c = create_account(&m, "team-c").await;
        move_to(&m, &c, &prod_ou).await;
        c
    });
    let direct: Value =
        serde_json::from_str(&fixture("create-account-result.json", &c, "", "")).unwrap();
    let batch = json!({"Records": [
        {"messageId": "1", "eventSource": "aws:sqs", "body": std::fs::read_to_string(format!("{FIXTURES}/other-event.json")).unwrap()}
    ]});
    let mut lambda = std::process::Command::new(assert_cmd::cargo::cargo_bin("orgsplit"));
    lambda
        .current_dir(d)
        .env("AWS_LAMBDA_RUNTIME_API", emu.runtime_api())
        .env("AWS_LAMBDA_FUNCTION_NAME", "orgsplit-trigger")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/orgsplit-trigger")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("ORGSPLIT_CONFIG", d.join("orgsplit.toml"))
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    for (k, v) in emu.env() {
        lambda.env(k, v);
    }
    let mut child = lambda.spawn().unwrap();
    let ids = emu.lambda_invoke(&[direct, batch]);
    let started = Instant::now();
    let results = loop {
        let r = emu.lambda_results();
        let done: Vec<Value> = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| ids.contains(&x["request_id"].as_str().unwrap().to_string()))
            .filter(|x| x["state"] == "response" || x["state"] == "error")
            .cloned()
            .collect();
        if done.len() == ids.len() {
            break done;
        }
        if started.elapsed() > Duration::from_secs(120) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the Lambda runtime answered {r} ({})",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = child.kill();
    let _ = child.wait();
    for r in &results {
        assert_eq!(r["state"], "response", "{r}");
    }
    let outcomes: Vec<String> = results
        .iter()
        .flat_map(|r| r["body"]["results"].as_array().unwrap().clone())
        .map(|x| x["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes.len(), 2, "{results:?}");
    assert!(outcomes.contains(&"reconciled".to_string()), "{results:?}");
    assert!(outcomes.contains(&"ignored".to_string()), "{results:?}");
    assert_eq!(rt.block_on(trusted(&aws, &c)), Some(only(&prod_admin)));

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
                (
                    i,
                    orgsplit_testkit::create_account(&org, &name, &email).await,
                )
            });
        }
        let mut ids = creations.join_all().await;
        ids.sort();
        let mut out = Vec::new();
        for (i, id) in ids {
            let dev = i % 2 == 0;
            move_to(&m, &id, if dev { &dev_ou } else { &prod_ou }).await;
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
            command(&emu, d)
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
        assert_eq!(
            out.status.code(),
            Some(0),
            "{id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        calls.push(v["api_calls"].as_u64().unwrap());
    }
    let burst = started.elapsed();
    rt.block_on(async {
        for (id, dev) in &accounts {
            let want = if *dev { &dev_admin } else { &prod_admin };
            assert_eq!(trusted(&aws, id).await, Some(only(want)), "{id}");
        }
    });
    println!("per event (api_calls as counted by orgsplit, request log entries, seconds):");
    for (label, out, logged) in &figures {
        println!(
            "  {label}: {} calls, {logged} logged, {} s",
            out["api_calls"], out["seconds"]
        );
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
