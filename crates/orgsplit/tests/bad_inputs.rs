//! What users feed orgsplit, wrong, tried as a new user would: config files, plan files,
//! events, Terraform states, arguments and environment. Each case must end with its
//! documented exit code, exactly one `error:` line that names the file, field or resource
//! (plus `hint:` lines), no panic text, no quoted value longer than a line, and no mutating
//! call in the emulator's request log.
//!
//! All cases run (one emulator), and every failing case is named at the end.

mod common;

use orgsplit_testkit::Emulator;
use std::path::Path;
use std::process::Stdio;

const EXAMPLE: &str = include_str!("../../../plans/examples/orgsplit.toml");
const INVALID: i32 = 2;
const REFUSED: i32 = 3;

struct Case {
    name: &'static str,
    args: Vec<String>,
    /// Files written into the working directory before the run (the example config is
    /// always written as orgsplit.toml first; a case may replace it).
    files: Vec<(&'static str, Vec<u8>)>,
    env: Vec<(&'static str, String)>,
    code: i32,
    /// Text the `error:` line must contain (the file, field or resource).
    names: &'static str,
}

fn case(name: &'static str, args: &[&str], code: i32, names: &'static str) -> Case {
    Case {
        name,
        args: args.iter().map(|a| a.to_string()).collect(),
        files: vec![],
        env: vec![],
        code,
        names,
    }
}

impl Case {
    fn file(mut self, path: &'static str, text: impl Into<Vec<u8>>) -> Case {
        self.files.push((path, text.into()));
        self
    }
    fn config(self, text: String) -> Case {
        self.file("orgsplit.toml", text)
    }
    fn env(mut self, key: &'static str, value: &str) -> Case {
        self.env.push((key, value.to_string()));
        self
    }
}

/// The example config with the first occurrence of `from` replaced by `to`.
fn edited(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "the example has no {from:?}");
    EXAMPLE.replacen(from, to, 1)
}

fn inventory_json() -> String {
    let param = |name: &str| {
        serde_json::json!({"kind": "ssm", "name": name, "arn": format!("arn:aws:ssm:us-east-1:111111111111:parameter{name}"),
               "region": "us-east-1", "tags": {}, "config": {"Type": "String"}, "references": [], "fingerprint": "sha256:00"})
    };
    serde_json::json!({
        "format_version": 1, "orgsplit_version": "test", "created_at": "2026-11-23T09:00:00Z",
        "source_account_id": "111111111111", "regions": ["us-east-1", "eu-west-1"],
        "organization": {"id": "o-example1234", "management_account_id": "123456789012", "root_id": "r-root",
            "ous": [], "accounts": [], "service_access": [], "policies": []},
        "resources": [param("/dev/app/A"), param("/prod/app/B")]
    })
    .to_string()
}

/// A valid plan file for the example config, made by `orgsplit plan` from the inventory.
fn valid_plan(emu: &Emulator) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orgsplit.toml"), EXAMPLE).unwrap();
    std::fs::write(dir.path().join("inventory.json"), inventory_json()).unwrap();
    let out =
        run(emu, dir.path(), &["plan", "--inventory", "inventory.json", "--out", "plan.json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(dir.path().join("plan.json")).unwrap()
}

fn run(emu: &Emulator, dir: &Path, args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    let mut cmd = common::command(emu, dir);
    cmd.args(args).env_remove("ORGSPLIT_CONFIG").stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn event(detail: serde_json::Value) -> String {
    serde_json::json!({"version": "0", "id": "e1", "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.organizations", "account": "123456789012", "region": "us-east-1", "detail": detail})
    .to_string()
}

fn create_account_event(account: serde_json::Value) -> String {
    event(serde_json::json!({"eventName": "CreateAccountResult", "serviceEventDetails": {
        "createAccountStatus": {"state": "SUCCEEDED", "accountId": account}}}))
}

fn cases(plan: &str) -> Vec<Case> {
    let plan_value: serde_json::Value = serde_json::from_str(plan).unwrap();
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = plan_value.clone();
        f(&mut v);
        v.to_string()
    };
    let inventory = ["plan", "--inventory", "inventory.json", "--out", "p.json"];
    let big = "9".repeat(5 * 1024 * 1024);
    vec![
        // ---- config (orgsplit.toml) ------------------------------------------------------
        case("config version as a string", &inventory, INVALID, "orgsplit.toml:4:11: version:").config(edited("version = 1", "version = \"1\"")),
        case("config version 2", &inventory, INVALID, "version").config(edited("version = 1", "version = 2")),
        case("config source account of 11 digits", &inventory, INVALID, "account_id").config(edited("111111111111", "11111111111")),
        case("config home region misspelt", &inventory, INVALID, "home_region").config(edited("home_region = \"us-east-1\"", "home_region = \"us-east\"")),
        case("config unknown top-level key", &inventory, INVALID, "colour").config(format!("colour = \"blue\"\n{EXAMPLE}")),
        case("config TOML syntax error", &inventory, INVALID, "orgsplit.toml").config(format!("{EXAMPLE}\n[[ou]\n")),
        case("config empty file", &inventory, INVALID, "orgsplit.toml").config(String::new()),
        case("config file missing", &["plan", "--inventory", "inventory.json", "--out", "p.json", "--config", "nope.toml"], INVALID, "nope.toml"),
        case("config is a directory", &["plan", "--inventory", "inventory.json", "--out", "p.json", "--config", "dir"], INVALID, "dir").file("dir/x", "x"),
        case("config OU name with _ and StackSets", &inventory, INVALID, "ou[0].name").config(edited("name = \"dev\"", "name = \"dev_ou\"")),
        case("config StackSet folder that does not exist", &inventory, INVALID, "ou[0].stacksets[0]").config(edited("stacksets = [\"baseline\"]", "stacksets = [\"baselin\"]")),
        case("config StackSet folder with _", &inventory, INVALID, "ou[0].stacksets[0]").config(edited("stacksets = [\"baseline\"]", "stacksets = [\"base_line\"]")),
        case("config account name over 50 characters", &inventory, INVALID, "account[0].name").config(edited("name = \"dev-admin\"", &format!("name = \"{}\"", "a".repeat(51)))),
        case("config account e-mail without @", &inventory, INVALID, "account[0].email").config(edited("aws+dev-admin@example.com", "aws-dev-admin.example.com")),
        case("config e-mail of 2 MB", &inventory, INVALID, "account[0].email").config(edited("aws+dev-admin@example.com", &"a".repeat(2 * 1024 * 1024))),
        case("config rule regex that does not compile", &inventory, INVALID, "rule").config(format!("{EXAMPLE}\n[[rule]]\nenvironment = \"dev\"\nname_pattern = \"(unclosed\"\n")),
        case("config OU environment reserved", &inventory, INVALID, "ou[0].environment").config(edited("environment = \"dev\"", "environment = \"shared\"")),
        case("config admin account names nothing", &inventory, INVALID, "ou[0].admin_account").config(edited("admin_account = \"dev-admin\"", "admin_account = \"dev-admn\"")),
        case("config via ORGSPLIT_CONFIG that does not exist", &inventory, INVALID, "/nonexistent/orgsplit.toml").env("ORGSPLIT_CONFIG", "/nonexistent/orgsplit.toml"),
        // ---- inventory file ---------------------------------------------------------------
        case("inventory file missing", &["plan", "--inventory", "missing.json", "--out", "p.json"], INVALID, "missing.json"),
        case("inventory not JSON", &["plan", "--inventory", "inv.json", "--out", "p.json"], INVALID, "inv.json").file("inv.json", "{ not json"),
        case("inventory is a JSON array", &["plan", "--inventory", "inv.json", "--out", "p.json"], INVALID, "inv.json: not an inventory file: the top level is not a JSON object").file("inv.json", "[1]"),
        case("inventory of another account", &["plan", "--inventory", "inventory.json", "--out", "p.json"], INVALID, "111111111111").config(edited("account_id = \"111111111111\"", "account_id = \"222222222222\"")),
        // ---- plan file ----------------------------------------------------------------------
        case("plan file missing", &["show", "nope.json"], INVALID, "nope.json"),
        case("plan not JSON", &["show", "plan.json"], INVALID, "plan.json").file("plan.json", "plan: yes"),
        case("plan truncated", &["show", "plan.json"], INVALID, "plan.json").file("plan.json", plan[..plan.len() / 2].to_string()),
        case("plan is a JSON array", &["show", "plan.json"], INVALID, "plan.json: not a valid plan file: the top level is not a JSON object").file("plan.json", "[]"),
        case("plan with a null format_version", &["show", "plan.json"], REFUSED, "format_version null").file("plan.json", with(&|v| v["format_version"] = serde_json::Value::Null)),
        case("plan of an unknown format_version", &["show", "plan.json"], REFUSED, "format_version").file("plan.json", with(&|v| v["format_version"] = 99.into())),
        case("plan edited by hand", &["show", "plan.json"], REFUSED, "plan.json").file("plan.json", with(&|v| v["source_account_id"] = "222222222222".into())),
        case("plan with an unknown action (an edit)", &["show", "plan.json"], REFUSED, "plan.json").file("plan.json", plan.replacen("\"create\"", "\"destroy\"", 1)),
        case("show an OU the plan does not have", &["show", "plan.json", "--ou", "staging"], INVALID, "staging").file("plan.json", plan.to_string()),
        case("show an account the plan does not have", &["show", "plan.json", "--account", "staging-admin"], INVALID, "--account staging-admin: the plan has no such account").file("plan.json", plan.to_string()),
        case("show a step kind that does not exist", &["show", "plan.json", "--kind", "ssm"], INVALID, "--kind ssm: not a step kind").file("plan.json", plan.to_string()),
        case("show an address glob that does not compile", &["show", "plan.json", "--address", "dev/[a"], INVALID, "--address dev/[a: not a glob").file("plan.json", plan.to_string()),
        case("show both --full and --summary", &["show", "plan.json", "--full", "--summary"], INVALID, "--summary").file("plan.json", plan.to_string()),
        case("apply an OU the plan does not have", &["apply", "plan.json", "--ou", "staging", "--yes"], INVALID, "staging").file("plan.json", plan.to_string()),
        case("apply without --ou", &["apply", "plan.json", "--yes"], INVALID, "--ou").file("plan.json", plan.to_string()),
        case("apply an edited plan", &["apply", "plan.json", "--ou", "dev", "--yes"], REFUSED, "plan.json").file("plan.json", with(&|v| v["home_region"] = "eu-west-1".into())),
        case("status of a missing plan", &["status", "gone.json"], INVALID, "gone.json"),
        // ---- events (trigger handle) ------------------------------------------------------------
        case("event not JSON", &["trigger", "handle", "--event", "e.json"], INVALID, "event").file("e.json", "{"),
        case("event is a JSON array", &["trigger", "handle", "--event", "e.json"], INVALID, "event").file("e.json", "[1]"),
        case("event file empty", &["trigger", "handle", "--event", "e.json"], INVALID, "event").file("e.json", ""),
        case("event file missing", &["trigger", "handle", "--event", "none.json"], INVALID, "none.json"),
        case("event without detail", &["trigger", "handle", "--event", "e.json"], INVALID, "detail").file("e.json", serde_json::json!({"source": "aws.organizations"}).to_string()),
        case("event account id of 11 digits", &["trigger", "handle", "--event", "e.json"], INVALID, "accountId").file("e.json", create_account_event("12345678901".into())),
        case("event account id a number", &["trigger", "handle", "--event", "e.json"], INVALID, "accountId").file("e.json", create_account_event(123456789012u64.into())),
        case("event account id of 5 MB", &["trigger", "handle", "--event", "e.json"], INVALID, "accountId").file("e.json", create_account_event(big.clone().into())),
        case("event MoveAccount to a malformed OU id", &["trigger", "handle", "--event", "e.json"], INVALID, "destinationParentId").file("e.json", event(serde_json::json!({"eventName": "MoveAccount", "requestParameters": {"accountId": "123456789012", "destinationParentId": "dev", "sourceParentId": "r-ab12"}}))),
        // ---- Terraform states (pipelines scan) -------------------------------------------------
        case("tfstate not JSON", &["pipelines", "scan", "--tfstate", "states"], INVALID, "broken.tfstate").file("states/broken.tfstate", "{\"version\": 4, \"resources\": ["),
        case("tfstate folder missing", &["pipelines", "scan", "--tfstate", "no-such-dir"], INVALID, "no-such-dir"),
        case("tfstate S3 location without a bucket", &["pipelines", "scan", "--tfstate", "s3://"], INVALID, "s3://"),
        // ---- arguments -------------------------------------------------------------------------
        case("endpoint URL without a scheme", &["--endpoint-url", "localhost:4566", "audit"], INVALID, "--endpoint-url"),
        case("endpoint URL without a host", &["--endpoint-url", "http://", "audit"], INVALID, "--endpoint-url"),
        case("endpoint URL with a space", &["--endpoint-url", "http://local host", "audit"], INVALID, "--endpoint-url"),
        case("endpoint URL with a port out of range", &["--endpoint-url", "http://localhost:99999", "audit"], INVALID, "--endpoint-url"),
        case("unknown subcommand", &["split"], INVALID, "split"),
        case("unknown flag", &["plan", "--inventroy", "inventory.json"], INVALID, "--inventroy"),
        case("missing required flag", &["plan", "--inventory", "inventory.json"], INVALID, "--out"),
        case("audit account not 12 digits", &["audit", "--account", "1234"], INVALID, "1234"),
        case("audit account outside the organization", &["audit", "--account", "999999999999"], INVALID, "999999999999"),
        case("audit --fail-on unknown severity", &["audit", "--fail-on", "severe"], INVALID, "--fail-on"),
        case("--output yaml", &["--output", "yaml", "audit"], INVALID, "--output"),
        case("reconcile account not an id", &["reconcile", "--account", "dev-workloads"], INVALID, "dev-workloads"),
        case("migrate with a malformed connection ARN", &["pipelines", "migrate", "--connection-arn", "arn:aws:s3:::bucket", "--yes"], INVALID, "arn:aws:s3:::bucket"),
        case("rollback without --token-env", &["pipelines", "rollback", "--pipeline", "p"], INVALID, "--token-env"),
        case("rollback with an unset token variable", &["pipelines", "rollback", "--pipeline", "p", "--token-env", "NO_SUCH_TOKEN_VAR"], INVALID, "NO_SUCH_TOKEN_VAR"),
        case("trigger install with a malformed target", &["trigger", "install", "--target-arn", "queue"], INVALID, "queue"),
        case("completions for an unknown shell", &["completions", "tcsh"], INVALID, "tcsh"),
        case("init into a file", &["init", "afile"], INVALID, "afile").file("afile", "x"),
        // ---- environment ------------------------------------------------------------------------
        case("AWS_ENDPOINT_URL not a URL", &["audit"], INVALID, "AWS_ENDPOINT_URL").env("AWS_ENDPOINT_URL", "not a url"),
        case("AWS_ENDPOINT_URL_SSM not a URL", &["audit"], INVALID, "AWS_ENDPOINT_URL_SSM").env("AWS_ENDPOINT_URL_SSM", "ssm.internal"),
    ]
}

#[test]
fn every_bad_input_gets_one_error_line_its_exit_code_and_changes_nothing() {
    let emu = Emulator::start_with(Some("org-only"));
    let plan = valid_plan(&emu);
    let cases = cases(&plan);
    assert!(cases.len() >= 60, "the corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("orgsplit.toml"), EXAMPLE).unwrap();
        std::fs::write(dir.path().join("inventory.json"), inventory_json()).unwrap();
        for (path, text) in &c.files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        emu.clear_requests();
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let out = run(&emu, dir.path(), &args, &c.env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        let mut problems = Vec::new();
        if out.status.code() != Some(c.code) {
            problems.push(format!("exit {:?}, expected {}", out.status.code(), c.code));
        }
        if errors.len() != 1 {
            problems.push(format!("{} error: lines", errors.len()));
        }
        if let Some(line) = errors.first() {
            if !line.contains(c.names) {
                problems.push(format!("the error line does not name {:?}", c.names));
            }
            if line.len() > 400 {
                problems.push(format!("the error line has {} characters", line.len()));
            }
        }
        for (what, text) in [("stderr", &stderr), ("stdout", &stdout)] {
            if text.contains("panicked") || text.contains("RUST_BACKTRACE") {
                problems.push(format!("panic text on {what}"));
            }
        }
        // Clap's layout (several lines, `Usage:`, `tip:`) is folded into one error line too.
        if stderr.lines().any(|l| l.starts_with("Usage:") || l.starts_with("tip:")) {
            problems.push("clap's multi-line layout on stderr".into());
        }
        let mutating = emu.mutating_requests();
        if !mutating.is_empty() {
            problems.push(format!("{} mutating calls: {:?}", mutating.len(), mutating.first()));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n    stderr: {}",
                c.name,
                problems.join("; "),
                stderr
                    .lines()
                    .take(4)
                    .collect::<Vec<_>>()
                    .join(" | ")
                    .chars()
                    .take(600)
                    .collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bad-input cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
