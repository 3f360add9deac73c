//! End to end: `orgsplit pipelines scan | migrate | rollback` on the demo scenario (three
//! v1 GitHub pipelines, one with a webhook; Terraform states in S3 with the token raw and
//! `hash-`-prefixed), every result read back through the AWS API in the source account.
// Each stage prints its name first: a failure's output names the stage that broke.
#![allow(clippy::print_stdout)]

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
mod migrate;
mod rollback;
mod scan;

use common::{Run, aws_for, command, output};
use orgsplit_aws::AccountSession;
use orgsplit_aws::policy::policy_document;
use orgsplit_testkit::runtime;
use orgsplit_testkit::{Emulator, MANAGEMENT_ACCOUNT, SOURCE_ACCOUNT, scenario};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;

const EXAMPLE: &str = include_str!("../../../../plans/examples/orgsplit.toml");
const REGION: &str = "us-east-1";
const CONNECTION: &str = "github-acme";
const EU: &str = "eu-west-1";
const EU_PIPELINE: &str = "eu-api-build";
const ORG_PIPELINE: &str = "org-api-build";

/// A token reference as scanned: resource address, form, whether it is the token.
type Found = (String, String, Value);

/// `orgsplit ARGS -vvv`, with the GitHub token in `GH_TOKEN` when given.
fn orgsplit(emu: &Emulator, dir: &Path, token: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = command(emu, dir);
    if let Some(t) = token {
        cmd.env("GH_TOKEN", t);
    }
    output(cmd.args(args).arg("-vvv"))
}

async fn source(emu: &Emulator) -> AccountSession {
    aws_for(emu).await.session(SOURCE_ACCOUNT).await.unwrap()
}

/// The demo scenario's pipelines, its token and its webhook secrets.
fn demo() -> (Vec<Value>, String, Vec<String>) {
    let s = scenario("demo");
    let pipelines = s["workloads"]["pipelines"].as_array().unwrap().clone();
    let token = pipelines[0]["token"].as_str().unwrap().to_string();
    let secrets = pipelines
        .iter()
        .filter_map(|p| p["webhook"]["secret"].as_str().map(str::to_string))
        .collect();
    (pipelines, token, secrets)
}

async fn declaration(s: &AccountSession, name: &str) -> Value {
    let got = s.codepipeline(REGION).get_pipeline().name(name).send().await.unwrap();
    orgsplit_aws::sdk_json::to_json(got.pipeline().unwrap())
}

async fn before_decl(s: &AccountSession, name: &str) -> Value {
    declaration(s, name).await
}

async fn webhooks_of(s: &AccountSession, name: &str) -> Vec<String> {
    let got = s.codepipeline(REGION).list_webhooks().send().await.unwrap();
    got.webhooks()
        .iter()
        .filter_map(|w| w.definition())
        .filter(|d| d.target_pipeline() == name)
        .map(|d| d.name().to_string())
        .collect()
}

fn source_action(d: &Value) -> &Value {
    &d["stages"][0]["actions"][0]
}

fn write_local_states(dir: &Path, token: &str) {
    let states = dir.join("states");
    std::fs::create_dir_all(states.join("nested")).unwrap();
    // A state refreshed from the API: the token is the mask.
    let masked = json!({"version": 4, "terraform_version": "1.9.0", "serial": 1, "lineage": "m", "outputs": {},
        "resources": [{"mode": "managed", "type": "aws_codepipeline", "name": "imported",
            "instances": [{"attributes": {"name": "imported", "stage": [{"name": "Source", "action": [{
                "category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1",
                "configuration": {"OAuthToken": "****", "Owner": "acme", "Repo": "x", "Branch": "main"}}]}]}}]}]});
    std::fs::write(states.join("imported.tfstate"), serde_json::to_string_pretty(&masked).unwrap())
        .unwrap();
    // Terraform 0.11 (state version 3), provider before v3.24.0: flattened and hashed.
    let hashed = format!("hash-{}", hex::encode(Sha256::digest(token.as_bytes())));
    let v3 = json!({"version": 3, "terraform_version": "0.11.14", "serial": 9, "modules": [{"path": ["root"],
        "resources": {"aws_codepipeline.old": {"type": "aws_codepipeline", "primary": {"id": "old", "attributes": {
            "name": "old", "stage.0.action.0.configuration.%": "4",
            "stage.0.action.0.configuration.OAuthToken": hashed,
            "stage.0.action.0.configuration.Owner": "acme"}}}}}]});
    std::fs::write(states.join("nested/old.tfstate"), v3.to_string()).unwrap();
    // No token at all, and a file that is not a state (not named *.tfstate: not read).
    std::fs::write(
        states.join("nested/vpc.tfstate"),
        json!({"version": 4, "resources": [{"mode": "managed", "type": "aws_vpc", "name": "main",
            "instances": [{"attributes": {"id": "vpc-1"}}]}]})
        .to_string(),
    )
    .unwrap();
    std::fs::write(states.join("notes.txt"), format!("token: {token}")).unwrap();
}

/// The scenario's state, handed from one stage to the next.
struct Scenario {
    emu: Emulator,
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    src: AccountSession,
    pipelines: Vec<Value>,
    token: String,
    hook_secrets: Vec<String>,
    log: Vec<Run>,
    connection_arn: String,
    eu_connection: String,
    /// The pipelines' declarations before migrate.
    before: Vec<Value>,
}

impl Scenario {
    fn start() -> Scenario {
        let emu = Emulator::start_with(Some("demo"));
        emu.export_env();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("orgsplit.toml"), EXAMPLE).unwrap();
        let (pipelines, token, hook_secrets) = demo();
        assert_eq!(pipelines.len(), 3);
        write_local_states(dir.path(), &token);
        let rt = runtime();
        let src = rt.block_on(source(&emu));
        Scenario {
            emu,
            dir,
            rt,
            src,
            pipelines,
            token,
            hook_secrets,
            log: Vec::new(),
            connection_arn: String::new(),
            eu_connection: String::new(),
            before: Vec::new(),
        }
    }
}

/// The stages, in order: each starts where the one before left the account.
/// A stage: its name, then what it does and checks.
type Stage = (&'static str, fn(&mut Scenario));

const STAGES: &[Stage] = &[
    (
        "scan reports every v1 pipeline and every token reference, by form, writing nothing",
        scan::scan_reports_every_pipeline_and_token_reference,
    ),
    (
        "scan names a file that is not a state, after reporting the rest",
        scan::scan_names_a_file_that_is_not_a_state,
    ),
    (
        "migrate: a dry run and refusals change nothing",
        migrate::migrate_dry_run_and_refusals_change_nothing,
    ),
    (
        "migrate: a PENDING connection is created once (for both regions), nothing else changes",
        migrate::migrate_waits_for_pending_connections,
    ),
    (
        "migrate converts every pipeline after the handshake",
        migrate::migrate_converts_every_pipeline_after_the_handshake,
    ),
    (
        "migrate again has nothing left to do and writes nothing",
        migrate::migrate_again_writes_nothing,
    ),
    (
        "rollback restores the saved v1 source and its webhook, once",
        rollback::rollback_restores_the_v1_source_and_its_webhook,
    ),
    (
        "rollback refuses a pipeline changed since its migration",
        rollback::rollback_refuses_a_pipeline_changed_since,
    ),
    ("migrate by connection ARN", migrate::migrate_by_connection_arn),
    (
        "migrate onto the organization's connection, shared through AWS RAM",
        migrate::migrate_onto_the_organization_connection,
    ),
    (
        "no token, hashed token or webhook secret in any output or saved file",
        no_secret_in_any_output_or_saved_file,
    ),
];

#[test]
fn scan_migrate_rollback_on_the_demo_scenario() {
    let mut scenario = Scenario::start();
    for (stage, run) in STAGES {
        println!("stage: {stage}");
        run(&mut scenario);
    }
}

/// No token, hashed token or webhook secret in any output or saved file.
fn no_secret_in_any_output_or_saved_file(s: &mut Scenario) {
    let d = s.dir.path();
    let token = s.token.as_str();
    fields!(s; ; hook_secrets, log);
    // No token, hashed token or webhook secret in any output or saved file.
    let hashed = hex::encode(Sha256::digest(token.as_bytes()));
    let mut haystack: Vec<(String, String)> = log
        .iter()
        .enumerate()
        .flat_map(|(i, r)| {
            [
                (format!("run {i} stdout"), r.stdout.clone()),
                (format!("run {i} stderr"), r.stderr.clone()),
            ]
        })
        .collect();
    for entry in std::fs::read_dir(d.join("plans/pipelines")).unwrap() {
        let p = entry.unwrap().path();
        haystack.push((p.display().to_string(), std::fs::read_to_string(&p).unwrap()));
    }
    assert!(haystack.len() > 20);
    for (what, text) in &haystack {
        for needle in
            [token, hashed.as_str()].into_iter().chain(hook_secrets.iter().map(String::as_str))
        {
            assert!(!text.contains(needle), "a secret in {what}");
        }
    }
}
