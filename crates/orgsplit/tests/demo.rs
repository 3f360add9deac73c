//! End to end on the demo scenario: the real binary runs inventory, plan and show against
//! the emulator. Every seeded resource appears exactly once in the plan, classified as the
//! example config says; no seeded secret or token appears in any output or file; and the
//! whole run made no mutating AWS call.

use assert_cmd::Command;
use orgsplit_model::{Action, Plan};
use orgsplit_testkit::{Emulator, scenario};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;

const EXAMPLE: &str = include_str!("../../../plans/examples/orgsplit.toml");

fn run(emu: &Emulator, dir: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::cargo_bin("orgsplit").unwrap();
    cmd.current_dir(dir).env("NO_COLOR", "1").env_remove("AWS_PROFILE");
    for (k, v) in emu.env() {
        cmd.env(k, v);
    }
    cmd.args(args).arg("-vv").output().unwrap()
}

#[test]
fn demo_inventory_plan_show() {
    let emu = Emulator::start_with(Some("demo"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("orgsplit.toml"), EXAMPLE).unwrap();
    emu.clear_requests();

    let mut outputs = Vec::new();
    let inv = run(&emu, dir.path(), &["inventory", "--out", "inventory.json"]);
    assert_eq!(inv.status.code(), Some(0), "inventory: {}", String::from_utf8_lossy(&inv.stderr));
    let plan_out =
        run(&emu, dir.path(), &["plan", "--inventory", "inventory.json", "--out", "plan.json"]);
    assert_eq!(
        plan_out.status.code(),
        Some(0),
        "plan: {}",
        String::from_utf8_lossy(&plan_out.stderr)
    );
    let live_plan =
        run(&emu, dir.path(), &["plan", "--out", "plan-live.json", "--detailed-exitcode"]);
    assert_eq!(
        live_plan.status.code(),
        Some(2),
        "live plan has changes: {}",
        String::from_utf8_lossy(&live_plan.stderr)
    );
    let show = run(&emu, dir.path(), &["show", "plan.json"]);
    assert_eq!(show.status.code(), Some(0));
    let show_json = run(&emu, dir.path(), &["show", "plan.json", "--output", "json"]);
    outputs.extend([inv, plan_out, live_plan, show, show_json]);

    let plan =
        Plan::from_json(&std::fs::read_to_string(dir.path().join("plan.json")).unwrap()).unwrap();
    let review = String::from_utf8_lossy(&outputs[3].stdout).into_owned();

    // Every seeded resource exactly once, with the expected environment.
    let sc = scenario("demo");
    let expect = sc["expect"].as_array().unwrap();
    assert!(plan.unclassified.is_empty(), "unclassified: {:#?}", plan.unclassified);
    assert_eq!(plan.resources.len(), expect.len(), "the plan lists exactly the seeded resources");
    for e in expect {
        let kind = e["kind"].as_str().unwrap();
        let region = e["region"].as_str();
        let matches: Vec<_> = plan
            .resources
            .iter()
            .filter(|r| r.kind.as_str() == kind && r.region.as_deref() == region)
            .filter(|r| match e["name"].as_str() {
                Some(name) => r.name == name,
                // A task: by its task definition.
                None => r.reason == format!("runs ecs-taskdef:{}", e["taskdef"].as_str().unwrap()),
            })
            .collect();
        assert_eq!(matches.len(), 1, "{e}: found {matches:#?}");
        let r = matches[0];
        assert_eq!(r.environment, e["env"].as_str().unwrap(), "{e}: reason {}", r.reason);
        let steps: Vec<_> = plan.steps().filter(|s| r.steps.contains(&s.address)).collect();
        // A key whose policy names roles the plan creates has a second step setting it.
        let (policies, steps): (Vec<_>, Vec<_>) =
            steps.into_iter().partition(|s| s.kind() == orgsplit_model::StepKind::KmsKeyPolicy);
        assert_eq!(policies.len(), usize::from(kind == "kms"), "{e}: {:?}", r.steps);
        let per_env = if r.environment == "shared" { 2 } else { 1 };
        assert_eq!(steps.len(), per_env, "{e}: steps {:?}", r.steps);
        if e["manual"] == Value::Bool(true) {
            assert!(steps.iter().all(|s| s.action == Action::Manual), "{e} is a manual item");
        }
        for s in &steps {
            assert!(
                review.contains(s.address.rsplit_once('/').map_or(&s.address[..], |(_, t)| t)),
                "review shows {}",
                s.address
            );
        }
    }
    assert!(review.contains("OU prod (environment prod, admin account prod-admin)"));
    assert!(review.contains("Plan: "));
    // What was listed directly (the demo's never-tagged table and function are manual items
    // above), and what no listing sees.
    assert!(review.contains("listed directly, tagged or not"), "{review}");
    assert!(review.contains("DynamoDB tables") && review.contains("Lambda functions"), "{review}");
    assert!(review.contains("not seen: resources of other kinds that never carried a tag"));
    for untagged in ["table/prod-orders-archive", "function:prod-thumbnailer"] {
        assert!(
            plan.resources.iter().any(|r| r.arn.ends_with(untagged)),
            "{untagged} is not planned"
        );
    }

    // No secret, raw or hashed, anywhere.
    let mut haystack = String::new();
    for o in &outputs {
        haystack.push_str(&String::from_utf8_lossy(&o.stdout));
        haystack.push_str(&String::from_utf8_lossy(&o.stderr));
    }
    for f in ["inventory.json", "plan.json", "plan-live.json"] {
        haystack.push_str(&std::fs::read_to_string(dir.path().join(f)).unwrap());
    }
    let secrets: Vec<String> =
        sc["secrets"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    assert!(secrets.len() >= 5, "the scenario lists its secrets");
    for s in &secrets {
        assert!(
            !haystack.contains(s.as_str()),
            "a seeded secret leaked: {}…",
            &s[..4.min(s.len())]
        );
        let hashed = hex::encode(Sha256::digest(s.as_bytes()));
        assert!(!haystack.contains(&hashed), "a hashed secret leaked");
    }

    // Reading never writes.
    let mutating = emu.mutating_requests();
    assert!(mutating.is_empty(), "mutating calls: {mutating:#?}");
}
