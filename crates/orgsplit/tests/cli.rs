//! The command line without AWS: init, config errors, plan files (tampered, truncated,
//! unknown version), --detailed-exitcode, and a snapshot of `show`.

use assert_cmd::Command;
use serde_json::json;
use std::path::{Path, PathBuf};

const EXAMPLE: &str = include_str!("../../../plans/examples/orgsplit.toml");

fn orgsplit(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("orgsplit").unwrap();
    cmd.current_dir(dir)
        .env_remove("AWS_PROFILE")
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// An inventory of the example's source account: one parameter per environment, one unowned.
fn inventory_file(dir: &Path) -> PathBuf {
    let param = |name: &str| {
        json!({"kind": "ssm", "name": name, "arn": format!("arn:aws:ssm:us-east-1:111111111111:parameter{name}"),
               "region": "us-east-1", "tags": {}, "config": {"Type": "String"}, "references": [], "fingerprint": "sha256:00"})
    };
    let inv = json!({
        "format_version": 1, "orgsplit_version": "test", "created_at": "2026-11-23T09:00:00Z",
        "source_account_id": "111111111111", "regions": ["us-east-1", "eu-west-1"],
        "organization": {"id": "o-example1234", "management_account_id": "123456789012", "root_id": "r-root",
            "ous": [], "accounts": [], "service_access": [], "policies": []},
        "resources": [param("/dev/app/A"), param("/prod/app/B"), param("/shared/c")]
    });
    let path = dir.join("inventory.json");
    std::fs::write(&path, serde_json::to_string_pretty(&inv).unwrap()).unwrap();
    path
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orgsplit.toml"), EXAMPLE).unwrap();
    let inv = inventory_file(dir.path());
    (dir, inv)
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `orgsplit plan --detailed-exitcode` of the inventory, into `plan.json`.
fn plan_detailed(dir: &Path, inventory: &Path) -> std::process::Output {
    let mut cmd = orgsplit(dir);
    cmd.args(["plan", "--detailed-exitcode", "--inventory"]).arg(inventory);
    cmd.args(["--out", "plan.json"]).output().unwrap()
}
#[test]
fn init_writes_the_example_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = orgsplit(dir.path()).args(["init", "proj"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let proj = dir.path().join("proj");
    assert_eq!(std::fs::read_to_string(proj.join("orgsplit.toml")).unwrap(), EXAMPLE);
    assert!(
        std::fs::read_to_string(proj.join("stacksets/baseline/template.yaml"))
            .unwrap()
            .contains("terraform-apply")
    );
    // The trigger's template too: docs/trigger.md tells users to deploy it from there.
    assert_eq!(
        std::fs::read_to_string(proj.join("stacksets/trigger/template.yaml")).unwrap(),
        std::fs::read_to_string(
            orgsplit_testkit::repo_root().join("stacksets/trigger/template.yaml")
        )
        .unwrap()
    );
    let again = orgsplit(dir.path()).args(["init", "proj"]).output().unwrap();
    assert_eq!(again.status.code(), Some(3));
    assert!(stderr_of(&again).contains("already exists"), "{}", stderr_of(&again));
}

#[test]
fn config_errors_exit_2_with_file_line_and_key() {
    let cases = [
        (
            "access_role = \"OrganizationAccountAccessRole\"",
            "access_role = \"OrganizationAccountAccessRole\"\nacess_role = 1",
            "acess_role",
            "acess_role = 1",
        ),
        (
            "ou = \"prod\"\nworkloads = true",
            "ou = \"staging\"\nworkloads = true",
            "account[3].ou",
            "ou = \"staging\"",
        ),
        (
            "admin_account = \"prod-admin\"",
            "admin_account = \"nobody\"",
            "ou[1].admin_account",
            "nobody",
        ),
        (
            "name_pattern = '^/shared/'",
            "name_pattern = '^/shared/(['",
            "rule[3].name_pattern",
            "^/shared/([",
        ),
    ];
    for (from, to, key, needle) in cases {
        let (dir, inv) = setup();
        let text = EXAMPLE.replacen(from, to, 1);
        std::fs::write(dir.path().join("orgsplit.toml"), &text).unwrap();
        let out = orgsplit(dir.path())
            .args(["plan", "--inventory"])
            .arg(&inv)
            .args(["--out", "plan.json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{key}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        let line = text.lines().position(|l| l.contains(needle)).unwrap() + 1;
        let first = err.lines().next().unwrap();
        assert!(first.starts_with(&format!("error: orgsplit.toml:{line}:")), "{key}: {err}");
        assert!(first.contains(key), "{key}: {err}");
        assert!(!dir.path().join("plan.json").exists(), "nothing written");
    }
}

#[test]
fn plan_from_a_file_then_show_and_the_plan_file_checks() {
    let (dir, inv) = setup();
    let out = plan_detailed(dir.path(), &inv);
    assert_eq!(
        out.status.code(),
        Some(2),
        "changes -> 2 with --detailed-exitcode: {}",
        stderr_of(&out)
    );
    let review = String::from_utf8_lossy(&out.stdout);
    assert!(review.contains("+ ssm:/prod/app/B"), "{review}");
    let plan_path = dir.path().join("plan.json");
    let text = std::fs::read_to_string(&plan_path).unwrap();

    let show = orgsplit(dir.path()).args(["show", "plan.json", "--ou", "prod"]).output().unwrap();
    assert_eq!(show.status.code(), Some(0), "{}", stderr_of(&show));
    let shown = String::from_utf8_lossy(&show.stdout);
    assert!(shown.contains("OU prod") && !shown.contains("OU dev"), "{shown}");
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[digest]");
    settings.add_filter(r"created \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "created [time]");
    settings.add_filter(r"orgsplit \d+\.\d+\.\d+", "orgsplit [version]");
    settings.bind(|| insta::assert_snapshot!(shown));

    let unknown_ou =
        orgsplit(dir.path()).args(["show", "plan.json", "--ou", "staging"]).output().unwrap();
    assert_eq!(unknown_ou.status.code(), Some(2));

    // Tampered: a changed e-mail, digest unchanged.
    std::fs::write(
        dir.path().join("tampered.json"),
        text.replace("aws+prod-workloads@example.com", "aws+evil@example.com"),
    )
    .unwrap();
    let out = orgsplit(dir.path()).args(["show", "tampered.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("tampered.json: plan digest mismatch"), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("hint:"));

    std::fs::write(dir.path().join("truncated.json"), &text[..text.len() / 3]).unwrap();
    let out = orgsplit(dir.path()).args(["show", "truncated.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));

    std::fs::write(
        dir.path().join("future.json"),
        text.replacen(
            &format!("\"format_version\": {}", orgsplit_model::plan::PLAN_FORMAT_VERSION),
            "\"format_version\": 9",
            1,
        ),
    )
    .unwrap();
    let out = orgsplit(dir.path()).args(["show", "future.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));

    // The JSON output is the plan file itself.
    let json_out =
        orgsplit(dir.path()).args(["show", "plan.json", "--output", "json"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&json_out.stdout), text);
}

#[test]
fn existing_ous_and_accounts_plan_as_no_ops() {
    // An organization that already has every OU and account, in place, and no resources.
    let (dir, inv) = setup();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inv).unwrap()).unwrap();
    v["resources"] = json!([]);
    let org = &mut v["organization"];
    org["ous"] = json!([{"id": "ou-dev", "name": "dev", "parent_id": "r-root"}, {"id": "ou-prod", "name": "prod", "parent_id": "r-root"}]);
    org["accounts"] = json!(["dev-admin", "dev-workloads", "prod-admin", "prod-workloads"].iter().enumerate().map(|(i, n)| json!({
        "id": format!("22222222222{i}"), "name": n, "email": format!("aws+{n}@example.com"), "status": "ACTIVE",
        "parent_id": if n.starts_with("dev") { "ou-dev" } else { "ou-prod" }})).collect::<Vec<_>>());
    std::fs::write(&inv, v.to_string()).unwrap();
    let out = plan_detailed(dir.path(), &inv);
    let review = String::from_utf8_lossy(&out.stdout);
    // StackSets, the SCP and budgets are create-or-update steps, so the plan still has changes;
    // the OUs and accounts are no-ops.
    assert!(review.contains("= ou:dev") && review.contains("= account"), "{review}");
    assert!(!review.contains("> account-move"), "{review}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = orgsplit(dir.path()).args(["plan"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = orgsplit(dir.path()).args(["frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = orgsplit(dir.path()).args(["show", "missing.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).starts_with("error: missing.json: cannot read"), "{}", stderr_of(&out));
}

#[test]
fn a_bucket_name_clash_found_while_the_plan_is_written_leaves_the_old_plan() {
    let (dir, inv) = setup();
    // A shared bucket: copied into the dev and the prod workloads accounts.
    let mut inventory: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&inv).unwrap()).unwrap();
    inventory["resources"].as_array_mut().unwrap().push(json!({
        "kind": "s3", "name": "shared-state", "arn": "arn:aws:s3:::shared-state",
        "region": "us-east-1", "tags": {"Environment": "shared"}, "config": {"Region": "us-east-1"},
        "references": [],
        "fingerprint": "sha256:00"
    }));
    std::fs::write(&inv, inventory.to_string()).unwrap();
    let out = plan_detailed(dir.path(), &inv);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let before = std::fs::read(dir.path().join("plan.json")).unwrap();

    // One name for both copies: the clash is found at the second workloads account, once
    // the first one's steps are written.
    let config = format!("{EXAMPLE}\n[bucket_names]\n\"shared-state\" = \"shared-state-copy\"\n");
    std::fs::write(dir.path().join("orgsplit.toml"), config).unwrap();
    let out = plan_detailed(dir.path(), &inv);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "error: bucket \"shared-state\": its copy would be named \"shared-state-copy\""
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(dir.path().join("plan.json")).unwrap(), before, "the old plan stays");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["inventory.json", "orgsplit.toml", "plan.json"], "no file left behind");
}

#[test]
fn plan_with_json_output_prints_the_plan_file_it_wrote() {
    let (dir, inv) = setup();
    let mut cmd = orgsplit(dir.path());
    cmd.args(["plan", "--output", "json", "--inventory"]).arg(&inv);
    let out = cmd.args(["--out", "plan.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let file = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), file, "stdout is the file, as written");
    let plan: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(plan["format_version"], 5);
    assert!(
        plan["digest"].as_str().is_some_and(|d| d.starts_with("sha256:")),
        "{}",
        plan["digest"]
    );
}
