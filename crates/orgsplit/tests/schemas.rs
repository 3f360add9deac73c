//! The JSON Schemas in `docs/schemas/` are generated from the types orgsplit writes, and the
//! files the demo produces match them.
//!
//! After changing one of those types: `ORGSPLIT_BLESS_SCHEMAS=1 cargo test -p orgsplit --test
//! schemas`, then review the diff of `docs/schemas/`.

mod common;

use common::{demo_world, orgsplit};
use orgsplit_apply::events::ApplyEvent;
use orgsplit_audit::AuditReport;
use orgsplit_model::{Inventory, Plan};
use orgsplit_testkit::repo_root;
use serde_json::{Value, json};
use std::path::PathBuf;

/// Each published schema: its file name under `docs/schemas/`, and the schema of its type.
fn schemas() -> Vec<(&'static str, Value)> {
    let of = |s: schemars::Schema| serde_json::to_value(s).expect("schemas serialise");
    vec![
        ("plan.schema.json", of(schemars::schema_for!(Plan))),
        ("inventory.schema.json", of(schemars::schema_for!(Inventory))),
        ("audit-report.schema.json", of(schemars::schema_for!(AuditReport))),
        ("apply-event.schema.json", of(schemars::schema_for!(ApplyEvent))),
    ]
}

fn published(name: &str) -> PathBuf {
    repo_root().join("docs/schemas").join(name)
}

fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(published(name))
        .unwrap_or_else(|e| panic!("docs/schemas/{name}: {e}"));
    let schema: Value = serde_json::from_str(&text).expect("a published schema is JSON");
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name} is no schema: {e}"))
}

/// Every way `instance` breaks the schema, as `path: message` lines.
fn violations(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).take(10).collect()
}

#[test]
fn published_schemas_are_generated_from_the_types() {
    let bless = std::env::var_os("ORGSPLIT_BLESS_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in schemas() {
        let text = format!("{}\n", serde_json::to_string_pretty(&schema).unwrap());
        let path = published(name);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "docs/schemas/ is out of date for {stale:?}: run ORGSPLIT_BLESS_SCHEMAS=1 cargo test -p orgsplit --test schemas"
    );
}

#[test]
fn the_plan_schema_refuses_inputs_of_another_kind() {
    let plan = validator("plan.schema.json");
    let step = |kind: &str, inputs: Value| {
        json!({"address": "dev/ou:dev", "action": "create", "kind": kind, "inputs": inputs,
            "account": "123456789012", "region": null, "depends_on": [], "reads": [],
            "reason": "", "notes": []})
    };
    let with = |s: Value| {
        json!({"format_version": 1, "orgsplit_version": "0", "created_at": "", "organization_id": "o",
            "management_account_id": "1", "source_account_id": "2", "home_region": "us-east-1",
            "access_role": "r", "regions": [], "config_digest": "", "inventory_digest": "",
            "fingerprints": {}, "organization": [s], "ous": [], "resources": [],
            "unclassified": [], "warnings": [], "digest": ""})
    };
    let good = with(step("ou", json!({"name": "dev", "parent_id": "r-1", "ou_id": null})));
    assert_eq!(violations(&plan, &good), Vec::<String>::new());
    let other_kinds_inputs = with(step("ou", json!({"policy": "p", "ou": "dev"})));
    assert!(!violations(&plan, &other_kinds_inputs).is_empty());
    let unknown_kind = with(step("teleport", json!({})));
    assert!(!violations(&plan, &unknown_kind).is_empty());
}

#[test]
fn files_the_demo_writes_match_their_schemas() {
    let (emu, dir) = demo_world();
    let d = dir.path();
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(name)).unwrap()).unwrap()
    };

    let inv = orgsplit(&emu, d, &["inventory", "--out", "inventory.json"]);
    assert_eq!(inv.code, Some(0), "{}", inv.stderr);
    let inventory = read("inventory.json");
    assert_eq!(violations(&validator("inventory.schema.json"), &inventory), Vec::<String>::new());

    let plan = orgsplit(&emu, d, &["plan", "--inventory", "inventory.json", "--out", "plan.json"]);
    assert_eq!(plan.code, Some(0), "{}", plan.stderr);
    let plan = read("plan.json");
    assert_eq!(violations(&validator("plan.schema.json"), &plan), Vec::<String>::new());

    let audit = orgsplit(&emu, d, &["audit", "--output", "json"]);
    let report: Value = serde_json::from_str(&audit.stdout)
        .unwrap_or_else(|e| panic!("audit --output json: {e}: {}", audit.stderr));
    assert!(
        report["findings"].as_array().is_some_and(|f| !f.is_empty()),
        "the demo's audit finds its warning signs: {report}"
    );
    assert_eq!(violations(&validator("audit-report.schema.json"), &report), Vec::<String>::new());

    // The dev OU, through the connection handshake, with NDJSON events both times.
    let apply = ["apply", "plan.json", "--ou", "dev", "--yes", "--output", "json"];
    let first = orgsplit(&emu, d, &apply);
    assert_eq!(first.code, Some(3), "waits on the handshake: {}", first.stderr);
    for line in first.stdout.lines() {
        let event: Value = serde_json::from_str(line).unwrap_or(Value::Null);
        if let Some(arn) = event["message"].as_str().and_then(|m| {
            m.split(['(', ')', ' ']).find(|w| w.starts_with("arn:aws:codeconnections:"))
        }) {
            emu.mark_connection_available(arn);
        }
    }
    let second = orgsplit(&emu, d, &apply);
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let log = [first, second];
    let events = validator("apply-event.schema.json");
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for run in &log {
        for line in run.stdout.lines() {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not an NDJSON line ({e}): {line}"));
            assert_eq!(violations(&events, &event), Vec::<String>::new(), "{line}");
            let name = match event["event"].as_str() {
                Some("step") => format!("step {}", event["status"].as_str().unwrap_or("?")),
                other => other.unwrap_or("?").to_string(),
            };
            *seen.entry(name).or_default() += 1;
        }
    }
    // Both runs (waiting on the handshake, then done) and every kind of line were checked.
    for kind in ["summary", "step changed", "step waiting", "step manual"] {
        assert!(seen.contains_key(kind), "no {kind} event: {seen:?}");
    }
    assert_eq!(seen["summary"], 2, "{seen:?}");
}
