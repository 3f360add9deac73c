//! End to end: `orgsplit pipelines scan | migrate | rollback` on the demo scenario (three
//! v1 GitHub pipelines, one with a webhook; Terraform states in S3 with the token raw and
//! `hash-`-prefixed), every result read back through the AWS API in the source account.

mod common;

use common::{Run, aws_for, command, output};
use orgsplit_aws::AccountSession;
use orgsplit_aws::policy::policy_document;
use orgsplit_testkit::runtime;
use orgsplit_testkit::{Emulator, SOURCE_ACCOUNT, scenario};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;

const EXAMPLE: &str = include_str!("../../../plans/examples/orgsplit.toml");
const REGION: &str = "us-east-1";
const CONNECTION: &str = "github-acme";
const EU: &str = "eu-west-1";
const EU_PIPELINE: &str = "eu-api-build";

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
    let got = s
        .codepipeline(REGION)
        .get_pipeline()
        .name(name)
        .send()
        .await
        .unwrap();
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
    std::fs::write(
        states.join("imported.tfstate"),
        serde_json::to_string_pretty(&masked).unwrap(),
    )
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

#[test]
fn scan_migrate_rollback_on_the_demo_scenario() {
    let emu = Emulator::start_with(Some("demo"));
    emu.export_env();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("orgsplit.toml"), EXAMPLE).unwrap();
    let (pipelines, token, mut hook_secrets) = demo();
    assert_eq!(pipelines.len(), 3);
    write_local_states(d, &token);
    let rt = runtime();
    let src = rt.block_on(source(&emu));
    let mut log: Vec<Run> = Vec::new();

    // ---- scan: read-only, every v1 pipeline and every token reference, by form.
    emu.clear_requests();
    let scan = orgsplit(
        &emu,
        d,
        Some(&token),
        &[
            "pipelines",
            "scan",
            "--tfstate",
            "s3://acme-terraform-state/",
            "--tfstate",
            "states",
            "--token-env",
            "GH_TOKEN",
            "--output",
            "json",
        ],
    );
    assert_eq!(scan.code, Some(0), "{}", scan.stderr);
    let report: Value = serde_json::from_str(&scan.stdout).unwrap();
    let mut names: Vec<&str> = report["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["dev-api-build", "mail-sender-release", "prod-api-release"]
    );
    let prod = report["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "prod-api-release")
        .unwrap();
    assert_eq!(prod["sources"][0]["trigger"], "webhook");
    assert_eq!(prod["sources"][0]["owner"], "acme");
    assert_eq!(prod["sources"][0]["repo"], "api");
    assert_eq!(prod["sources"][0]["branch"], "main");
    assert_eq!(
        prod["webhooks"][0]["name"],
        "prod-api-release--Source--acme--api"
    );
    let states: Vec<(String, Vec<Found>)> = report["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let refs = s["references"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["resource"].as_str().unwrap_or_default().to_string(),
                        r["form"].as_str().unwrap().to_string(),
                        r["matches_token"].clone(),
                    )
                })
                .collect();
            (s["location"].as_str().unwrap().to_string(), refs)
        })
        .collect();
    let find = |suffix: &str| {
        states
            .iter()
            .find(|(l, _)| l.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} not scanned: {states:?}"))
            .1
            .clone()
    };
    assert_eq!(
        find("prod/pipelines.tfstate"),
        vec![
            (
                "aws_codepipeline.prod_api_release".into(),
                "raw".into(),
                json!(true)
            ),
            (
                "aws_codepipeline.mail_sender_release".into(),
                "raw".into(),
                json!(true)
            ),
        ]
    );
    assert_eq!(
        find("legacy/pipelines.tfstate"),
        vec![(
            "aws_codepipeline.dev_api_build".into(),
            "hashed".into(),
            json!(true)
        )]
    );
    assert_eq!(find("dev/network.tfstate"), vec![]);
    assert_eq!(
        find("imported.tfstate"),
        vec![(
            "aws_codepipeline.imported".into(),
            "masked".into(),
            json!(false)
        )]
    );
    assert_eq!(
        find("old.tfstate"),
        vec![("aws_codepipeline.old".into(), "hashed".into(), json!(true))]
    );
    assert_eq!(find("vpc.tfstate"), vec![]);
    assert_eq!(states.len(), 6, "only *.tfstate files are read: {states:?}");
    assert_eq!(report["summary"]["matching_token"], 4);
    assert_eq!(report["summary"]["states_with_tokens"], 3);
    log.push(scan);
    let text = orgsplit(
        &emu,
        d,
        None,
        &[
            "pipelines",
            "scan",
            "--tfstate",
            "s3://acme-terraform-state/",
        ],
    );
    assert_eq!(text.code, Some(0), "{}", text.stderr);
    assert!(
        text.stdout
            .contains("prod-api-release  Source.Source  acme/api@main  webhook"),
        "{}",
        text.stdout
    );
    log.push(text);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "scan wrote");

    // A file that is not a state: exit 2, named, after the rest was reported.
    std::fs::create_dir_all(d.join("bad")).unwrap();
    std::fs::write(
        d.join("bad/broken.tfstate"),
        "{\"version\": 4, \"resources\": [",
    )
    .unwrap();
    let bad = orgsplit(&emu, d, None, &["pipelines", "scan", "--tfstate", "bad"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    assert!(
        bad.stderr.contains("broken.tfstate: not a Terraform state"),
        "{}",
        bad.stderr
    );
    log.push(bad);

    // A fourth pipeline in the other configured region, on the same role, started by hand
    // (no polling, no webhook): its own connection, and DetectChanges false.
    rt.block_on(async {
        let mut decl = before_decl(&src, "dev-api-build").await;
        decl["name"] = json!(EU_PIPELINE);
        decl["stages"][0]["actions"][0]["configuration"] = json!({
            "Owner": "acme", "Repo": "eu-api", "Branch": "main", "PollForSourceChanges": "false",
            "OAuthToken": token.clone()});
        decl.as_object_mut().unwrap().remove("version");
        let sdk = orgsplit_aws::sdk_json::from_json(
            &decl,
            aws_sdk_codepipeline::types::PipelineDeclaration::deserialize,
        )
        .unwrap();
        src.codepipeline(EU)
            .create_pipeline()
            .pipeline(sdk)
            .send()
            .await
            .unwrap();
    });

    // ---- migrate: dry run and refusals change nothing.
    emu.clear_requests();
    let dry = orgsplit(
        &emu,
        d,
        None,
        &[
            "pipelines",
            "migrate",
            "--create-connection",
            CONNECTION,
            "--dry-run",
        ],
    );
    assert_eq!(dry.code, Some(0), "{}", dry.stderr);
    let diff_line = |sign: char, text: &str| {
        dry.stdout
            .lines()
            .filter(|l| l.starts_with(sign) && l.contains(text))
            .count()
    };
    assert_eq!(
        diff_line('+', "\"provider\": \"CodeStarSourceConnection\""),
        4,
        "{}",
        dry.stdout
    );
    assert_eq!(
        diff_line('-', "\"provider\": \"GitHub\""),
        4,
        "{}",
        dry.stdout
    );
    assert_eq!(
        diff_line('-', "\"OAuthToken\": \"****\""),
        4,
        "{}",
        dry.stdout
    );
    assert!(
        dry.stdout.contains("Dry run: 4 pipelines"),
        "{}",
        dry.stdout
    );
    log.push(dry);
    let no_yes = orgsplit(
        &emu,
        d,
        None,
        &["pipelines", "migrate", "--create-connection", CONNECTION],
    );
    assert_eq!(no_yes.code, Some(3), "{}", no_yes.stderr);
    log.push(no_yes);
    let bad_arn = orgsplit(
        &emu,
        d,
        None,
        &[
            "pipelines",
            "migrate",
            "--connection-arn",
            "arn:aws:iam::111111111111:role/x",
            "--yes",
        ],
    );
    assert_eq!(bad_arn.code, Some(2), "{}", bad_arn.stderr);
    log.push(bad_arn);
    assert_eq!(
        emu.mutating_requests(),
        Vec::<Value>::new(),
        "refusals wrote"
    );

    // PENDING: the connection is created once, nothing else changes, exit 3 with the URL.
    for _ in 0..2 {
        let pending = orgsplit(
            &emu,
            d,
            None,
            &[
                "pipelines",
                "migrate",
                "--create-connection",
                CONNECTION,
                "--yes",
            ],
        );
        assert_eq!(pending.code, Some(3), "{}", pending.stderr);
        assert!(pending.stderr.contains("PENDING"), "{}", pending.stderr);
        assert!(
            pending.stderr.contains(
                "https://console.aws.amazon.com/codesuite/settings/connections?region=us-east-1"
            ),
            "{}",
            pending.stderr
        );
        log.push(pending);
    }
    let ops: Vec<String> = emu
        .mutating_requests()
        .iter()
        .map(|r| r["operation"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ops,
        ["CreateConnection", "CreateConnection"],
        "while PENDING: one connection per region"
    );
    let connection_in = |region: &'static str| {
        rt.block_on(async {
            let got = src
                .codestar_connections(region)
                .list_connections()
                .send()
                .await
                .unwrap();
            let c: Vec<_> = got
                .connections()
                .iter()
                .filter(|c| c.connection_name() == Some(CONNECTION))
                .collect();
            assert_eq!(
                c.len(),
                1,
                "one connection in {region}, however often migrate runs"
            );
            c[0].connection_arn().unwrap().to_string()
        })
    };
    let connection_arn = connection_in(REGION);
    let eu_connection = connection_in(EU);
    let before: Vec<Value> = rt.block_on(async {
        let mut out = Vec::new();
        for p in &pipelines {
            let decl = declaration(&src, p["name"].as_str().unwrap()).await;
            assert_eq!(source_action(&decl)["actionTypeId"]["provider"], "GitHub");
            out.push(decl);
        }
        out
    });

    // The handshake, then every pipeline converts.
    emu.mark_connection_available(&connection_arn);
    emu.mark_connection_available(&eu_connection);
    let migrated = orgsplit(
        &emu,
        d,
        None,
        &[
            "pipelines",
            "migrate",
            "--create-connection",
            CONNECTION,
            "--yes",
        ],
    );
    assert_eq!(
        migrated.code,
        Some(0),
        "{}{}",
        migrated.stdout,
        migrated.stderr
    );
    assert!(
        migrated
            .stdout
            .contains("Migrated 4 pipelines: 4 changed, 0 unchanged, 0 failed."),
        "{}",
        migrated.stdout
    );
    log.push(migrated);
    rt.block_on(async {
        for (p, old) in pipelines.iter().zip(&before) {
            let name = p["name"].as_str().unwrap();
            let now = declaration(&src, name).await;
            let action = source_action(&now);
            assert_eq!(
                action["actionTypeId"],
                json!({"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"}),
                "{name}"
            );
            let conf = &action["configuration"];
            assert_eq!(conf["ConnectionArn"], json!(connection_arn), "{name}");
            assert_eq!(
                conf["FullRepositoryId"],
                json!(format!("{}/{}", p["owner"].as_str().unwrap(), p["repo"].as_str().unwrap())),
                "{name}"
            );
            assert_eq!(conf["BranchName"], p["branch"], "{name}");
            assert_eq!(conf["OutputArtifactFormat"], "CODE_ZIP", "{name}");
            // A webhook or polling started it; so does the connection.
            assert_eq!(conf["DetectChanges"], "true", "{name}");
            assert!(conf.get("OAuthToken").is_none(), "{name}");
            assert_eq!(action["outputArtifacts"], source_action(old)["outputArtifacts"]);
            // Every other stage as it was.
            assert_eq!(now["stages"][1], old["stages"][1], "{name}");
            assert_eq!(now["roleArn"], old["roleArn"], "{name}");
            assert_eq!(now["artifactStore"], old["artifactStore"], "{name}");
            assert_eq!(webhooks_of(&src, name).await, Vec::<String>::new(), "{name}");
            let saved = std::fs::read_to_string(
                d.join(format!("plans/pipelines/{name}.v1.json")),
            )
            .unwrap();
            let saved: Value = serde_json::from_str(&saved).unwrap();
            assert_eq!(
                source_action(&saved["declaration"])["configuration"]["OAuthToken"],
                "****"
            );
        }
        let policy = src
            .iam()
            .get_role_policy()
            .role_name("codepipeline-service")
            .policy_name("orgsplit-use-connection")
            .send()
            .await
            .unwrap();
        let policy = policy_document(policy.policy_document());
        let st = &policy["Statement"][0];
        assert_eq!(st["Effect"], "Allow");
        assert_eq!(
            st["Action"],
            json!(["codestar-connections:UseConnection", "codeconnections:UseConnection"])
        );
        // One role, pipelines in two regions: both connections stay allowed.
        let resources = st["Resource"].as_array().unwrap();
        for arn in [&connection_arn, &eu_connection] {
            assert!(resources.contains(&json!(arn)), "{arn} not in {policy}");
        }
        let eu = src
            .codepipeline(EU)
            .get_pipeline()
            .name(EU_PIPELINE)
            .send()
            .await
            .unwrap();
        let eu = orgsplit_aws::sdk_json::to_json(eu.pipeline().unwrap());
        let conf = &source_action(&eu)["configuration"];
        assert_eq!(conf["ConnectionArn"], json!(eu_connection));
        assert_eq!(conf["FullRepositoryId"], "acme/eu-api");
        // Neither polled nor had a webhook: it did not start by itself, and still does not.
        assert_eq!(conf["DetectChanges"], "false");
    });

    // Idempotent: nothing left to do, nothing written.
    emu.clear_requests();
    let again = orgsplit(
        &emu,
        d,
        None,
        &[
            "pipelines",
            "migrate",
            "--create-connection",
            CONNECTION,
            "--yes",
        ],
    );
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(
        again.stdout.contains("Nothing to migrate"),
        "{}",
        again.stdout
    );
    assert_eq!(
        emu.mutating_requests(),
        Vec::<Value>::new(),
        "second migrate"
    );
    log.push(again);

    // ---- rollback: the saved v1 source comes back, with its webhook.
    let no_token = orgsplit(
        &emu,
        d,
        None,
        &[
            "pipelines",
            "rollback",
            "--pipeline",
            "prod-api-release",
            "--token-env",
            "GH_TOKEN",
        ],
    );
    assert_eq!(no_token.code, Some(2), "{}", no_token.stderr);
    log.push(no_token);
    let rolled = orgsplit(
        &emu,
        d,
        Some(&token),
        &[
            "pipelines",
            "rollback",
            "--pipeline",
            "prod-api-release",
            "--token-env",
            "GH_TOKEN",
        ],
    );
    assert_eq!(rolled.code, Some(0), "{}{}", rolled.stdout, rolled.stderr);
    log.push(rolled);
    rt.block_on(async {
        let now = declaration(&src, "prod-api-release").await;
        let action = source_action(&now);
        assert_eq!(action["actionTypeId"]["provider"], "GitHub");
        assert_eq!(action["actionTypeId"]["owner"], "ThirdParty");
        let conf = &action["configuration"];
        assert_eq!(conf["Owner"], "acme");
        assert_eq!(conf["Repo"], "api");
        assert_eq!(conf["Branch"], "main");
        assert_eq!(conf["PollForSourceChanges"], "false");
        // The API masks the token; the key must be back.
        assert!(conf.get("OAuthToken").is_some(), "{conf}");
        assert_eq!(now["stages"][1], before[0]["stages"][1]);
        assert_eq!(
            webhooks_of(&src, "prod-api-release").await,
            ["prod-api-release--Source--acme--api"]
        );
        // The other two stay converted.
        let dev = declaration(&src, "dev-api-build").await;
        assert_eq!(
            source_action(&dev)["actionTypeId"]["provider"],
            "CodeStarSourceConnection"
        );
    });
    emu.clear_requests();
    let rolled_again = orgsplit(
        &emu,
        d,
        Some(&token),
        &[
            "pipelines",
            "rollback",
            "--pipeline",
            "prod-api-release",
            "--token-env",
            "GH_TOKEN",
        ],
    );
    assert_eq!(rolled_again.code, Some(0), "{}", rolled_again.stderr);
    // The token is written again (it cannot be compared); the webhook is not made twice.
    let ops: Vec<String> = emu
        .mutating_requests()
        .iter()
        .map(|r| r["operation"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ops, ["UpdatePipeline"], "second rollback");
    log.push(rolled_again);
    // The webhook's new secret is a secret too.
    let new_secret = rt.block_on(async {
        let got = src
            .codepipeline(REGION)
            .list_webhooks()
            .send()
            .await
            .unwrap();
        got.webhooks()
            .iter()
            .filter_map(|w| w.definition())
            .find(|d| d.target_pipeline() == "prod-api-release")
            .and_then(|d| d.authentication_configuration())
            .and_then(|c| c.secret_token())
            .unwrap()
            .to_string()
    });
    assert_eq!(new_secret.len(), 40);
    hook_secrets.push(new_secret);

    // A pipeline changed since its migration is not rolled back over the change.
    rt.block_on(async {
        let mut d = declaration(&src, "dev-api-build").await;
        d["stages"].as_array_mut().unwrap().push(json!({"name": "Extra", "actions": [{
            "name": "Wait", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}));
        let sdk = orgsplit_aws::sdk_json::from_json(
            &d,
            aws_sdk_codepipeline::types::PipelineDeclaration::deserialize,
        )
        .unwrap();
        src.codepipeline(REGION)
            .update_pipeline()
            .pipeline(sdk)
            .send()
            .await
            .unwrap();
    });
    emu.clear_requests();
    let refused = orgsplit(
        &emu,
        d,
        Some(&token),
        &[
            "pipelines",
            "rollback",
            "--pipeline",
            "dev-api-build",
            "--token-env",
            "GH_TOKEN",
        ],
    );
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    assert!(refused.stderr.contains("Extra"), "{}", refused.stderr);
    assert_eq!(
        emu.mutating_requests(),
        Vec::<Value>::new(),
        "refused rollback"
    );
    log.push(refused);

    // Migrating it again onto the same connection, by ARN this time.
    let by_arn = orgsplit(
        &emu,
        d,
        None,
        &[
            "pipelines",
            "migrate",
            "--connection-arn",
            &connection_arn,
            "--pipeline",
            "prod-api-release",
            "--yes",
        ],
    );
    assert_eq!(by_arn.code, Some(0), "{}{}", by_arn.stdout, by_arn.stderr);
    assert!(
        by_arn.stdout.contains("Migrated 1 pipelines: 1 changed"),
        "{}",
        by_arn.stdout
    );
    log.push(by_arn);
    rt.block_on(async {
        let now = declaration(&src, "prod-api-release").await;
        assert_eq!(
            source_action(&now)["configuration"]["ConnectionArn"],
            json!(connection_arn)
        );
        assert_eq!(
            webhooks_of(&src, "prod-api-release").await,
            Vec::<String>::new()
        );
    });

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
        haystack.push((
            p.display().to_string(),
            std::fs::read_to_string(&p).unwrap(),
        ));
    }
    assert!(haystack.len() > 20);
    for (what, text) in &haystack {
        for needle in [token.as_str(), hashed.as_str()]
            .into_iter()
            .chain(hook_secrets.iter().map(String::as_str))
        {
            assert!(!text.contains(needle), "a secret in {what}");
        }
    }
}
