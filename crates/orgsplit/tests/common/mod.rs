//! Helpers shared by the end-to-end tests: run the real binary against the emulator, apply
//! an OU through the connection handshake, reach the emulator through the SDK.
#![allow(dead_code)] // each test file uses its own subset

use orgsplit_aws::{Aws, AwsOptions};
use orgsplit_testkit::Emulator;
use serde_json::Value;
use std::path::Path;

/// The demo's example configuration.
pub const EXAMPLE: &str = include_str!("../../../../plans/examples/orgsplit.toml");

/// The emulator seeded with the demo, its settings exported for the test's own SDK clients,
/// and a folder holding the example configuration.
pub fn demo_world() -> (Emulator, tempfile::TempDir) {
    let emu = Emulator::start_with(Some("demo"));
    emu.export_env();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orgsplit.toml"), EXAMPLE).unwrap();
    (emu, dir)
}

/// `orgsplit inventory` then `orgsplit plan` in `dir` (`inventory.json`, `plan.json`), each
/// asserted to succeed.
pub fn inventory_and_plan(emu: &Emulator, dir: &Path) -> [Run; 2] {
    let inventory = orgsplit(emu, dir, &["inventory", "--out", "inventory.json"]);
    assert_eq!(inventory.code, Some(0), "inventory: {}", inventory.stderr);
    let args = ["plan", "--inventory", "inventory.json", "--out", "plan.json"];
    let plan = orgsplit(emu, dir, &args);
    assert_eq!(plan.code, Some(0), "plan: {}", plan.stderr);
    [inventory, plan]
}

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// `orgsplit` in `dir`, pointed at the emulator, with none of the caller's settings that
/// would change what it does (profile, token, Lambda runtime).
pub fn command(emu: &Emulator, dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("orgsplit"));
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("GH_TOKEN")
        .env_remove("AWS_LAMBDA_RUNTIME_API");
    for (k, v) in emu.env() {
        cmd.env(k, v);
    }
    cmd
}

/// Runs a command to its end.
pub fn output(cmd: &mut std::process::Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `orgsplit ARGS -vvv`: the most verbose logs, so that secret checks see everything.
pub fn orgsplit(emu: &Emulator, dir: &Path, args: &[&str]) -> Run {
    output(command(emu, dir).args(args).arg("-vvv"))
}

/// The SDK side, in us-east-1, with the emulator's credentials.
pub async fn aws_for(emu: &Emulator) -> Aws {
    Aws::load(AwsOptions { endpoint_url: Some(emu.url.clone()), ..AwsOptions::new("us-east-1") })
        .await
        .unwrap()
}

/// Applies one OU; a run that waits on the connection handshake gets it (the emulator's
/// stand-in for the console) and is run again.
pub fn apply_ou(emu: &Emulator, dir: &Path, plan: &str, ou: &str, log: &mut Vec<Run>) {
    let first = orgsplit(emu, dir, &["apply", plan, "--ou", ou, "--yes", "--output", "json"]);
    let waiting: Vec<Value> = first
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["status"] == "waiting")
        .collect();
    let code = first.code;
    log.push(first);
    if code == Some(0) {
        return;
    }
    assert_eq!(code, Some(3), "apply --ou {ou}: {}", log.last().unwrap().stderr);
    assert!(!waiting.is_empty(), "exit 3 without a waiting step: {}", log.last().unwrap().stderr);
    for event in &waiting {
        let message = event["message"].as_str().unwrap();
        let arn = message
            .split(['(', ')', ' '])
            .find(|w| w.starts_with("arn:aws:codeconnections:"))
            .unwrap_or_else(|| panic!("no connection ARN in {message}"));
        assert!(event["url"].as_str().unwrap().starts_with("https://console.aws.amazon.com/"));
        emu.mark_connection_available(arn);
    }
    let again = orgsplit(emu, dir, &["apply", plan, "--ou", ou, "--yes"]);
    assert_eq!(
        again.code,
        Some(0),
        "apply --ou {ou} after the handshake: {}{}",
        again.stdout,
        again.stderr
    );
    log.push(again);
}

/// A `[[network]]` per environment in the config: the new workload accounts' default VPC.
pub fn add_networks(emu: &Emulator, dir: &std::path::Path) {
    let ids = orgsplit_testkit::runtime().block_on(async {
        let aws = aws_for(emu).await;
        let (caller, _) = aws.caller().await.unwrap();
        let mgmt = aws.session(&caller).await.unwrap();
        orgsplit_aws::organizations::accounts_by_email(&mgmt).await.unwrap()
    });
    let path = dir.join("orgsplit.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for env in ["dev", "prod"] {
        let (subnets, group) =
            emu.default_network(&ids[&format!("aws+{env}-workloads@example.com")]);
        let quoted: Vec<String> = subnets.iter().map(|s| format!("{s:?}")).collect();
        text.push_str(&format!(
            "\n[[network]]\nenvironment = {env:?}\nsubnets = [{}]\nsecurity_groups = [{group:?}]\n",
            quoted.join(", ")
        ));
    }
    std::fs::write(path, text).unwrap();
}
