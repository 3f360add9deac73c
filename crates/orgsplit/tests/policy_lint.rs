//! Every IAM policy document orgsplit writes passes the IAM policy linter (parliament, pinned
//! in tests/lint/requirements.txt), like the documents of the shipped templates do: an
//! action that does not exist or a resource an action cannot take is refused by AWS (or,
//! in an SCP, silently denies nothing).

use orgsplit_model::Config;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

fn repo_root() -> PathBuf {
    orgsplit_testkit::repo_root()
}

fn example_config() -> Config {
    let path = repo_root().join("plans/examples/orgsplit.toml");
    Config::load(&path).expect("the example config loads")
}

/// Writes each document as NAME.json (NAME.trust.json / NAME.resource.json for policies with
/// a Principal and no Resource) and runs the linter on them; returns its output and status.
fn lint(documents: &[(&str, Value)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = documents
        .iter()
        .map(|(name, doc)| {
            let path = dir.path().join(format!("{name}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(doc).unwrap()).unwrap();
            path
        })
        .collect();
    let script = repo_root().join("tests/lint/policies");
    let out = Command::new(&script)
        .arg("--iam-only")
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn written_documents() -> Vec<(&'static str, Value)> {
    let config = example_config();
    assert!(
        !config.guardrails.protected_tag_keys.is_empty(),
        "the example protects tag keys, so the SCP has both statements"
    );
    let connection = "arn:aws:codestar-connections:us-east-1:123456789012:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789";
    let queue = "arn:aws:sqs:us-east-1:123456789012:orgsplit-trigger";
    let rule = "arn:aws:events:us-east-1:123456789012:rule/orgsplit-new-account";
    vec![
        ("guardrail-scp", orgsplit_planner::build::guardrail_policy(&config)),
        ("use-connection", orgsplit_pipelines::grant::use_connection_policy(connection)),
        (
            "trigger-queue.resource",
            json!({"Version": "2012-10-17", "Statement": [
                orgsplit_trigger::install::queue_statement(queue, rule)
            ]}),
        ),
        (
            "control-tower-forward",
            orgsplit_trigger::forward::role_policy(&orgsplit_trigger::forward::events_bus_arn(
                "aws",
                "123456789012",
            )),
        ),
        ("control-tower-forward.trust", orgsplit_trigger::forward::role_trust("123456789012")),
        (
            "ecr-pull.resource",
            json!({"Version": "2012-10-17", "Statement": [
                orgsplit_apply::ecr_pull_statement("210987654321", "aws", vec![
                    json!("ecr:BatchCheckLayerAvailability"),
                    json!("ecr:BatchGetImage"),
                    json!("ecr:GetDownloadUrlForLayer"),
                ])
            ]}),
        ),
    ]
}

#[test]
fn every_policy_orgsplit_writes_passes_the_iam_linter() {
    let (ok, text) = lint(&written_documents());
    assert!(ok, "the IAM policy linter found problems:\n{text}");
    // The templates' documents were linted too (the script always reads them): 11 of the
    // shipped templates, and the 6 above.
    assert!(text.contains("17 documents, 0 findings"), "{text}");
}

#[test]
fn the_linter_refuses_an_action_that_does_not_exist() {
    // The guardrail once listed s3:DeleteBucketTagging, which is no IAM action (DeleteBucketTagging
    // is authorised by s3:PutBucketTagging): the check must catch that kind of mistake.
    let bad = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Action": ["s3:PutBucketTagging", "s3:DeleteBucketTagging"], "Resource": "*"}]});
    let (ok, text) = lint(&[("bad", bad)]);
    assert!(!ok, "{text}");
    assert!(text.contains("Unknown action s3:DeleteBucketTagging"), "{text}");
}
