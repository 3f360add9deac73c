//! Shared by the apply crate's emulator tests: the demo plan, built the way `orgsplit plan`
//! builds it, and what a test needs to run single steps of it.
#![allow(dead_code)]

pub mod data;
pub mod world;

use orgsplit_apply::StepContext;
use orgsplit_aws::{Aws, AwsOptions};
use orgsplit_inventory::{InventoryOptions, NoReporter};
use orgsplit_model::{Config, Plan, Step};
use orgsplit_planner::{PlanInput, build_plan};
use orgsplit_testkit::{Emulator, SOURCE_ACCOUNT, repo_root};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

pub async fn aws(emu: &Emulator) -> Aws {
    Aws::load(AwsOptions { endpoint_url: Some(emu.url.clone()), ..AwsOptions::new("us-east-1") })
        .await
        .expect("aws config")
}

pub fn demo_config() -> Config {
    Config::load(&repo_root().join("plans/examples/orgsplit.toml")).expect("demo config")
}

/// Inventories the emulator's source account and plans with the demo config.
pub async fn demo_plan(aws: &Aws) -> Plan {
    plan_for(aws, &demo_config()).await
}

/// Inventories the emulator's source account and plans with `config`.
pub async fn plan_for(aws: &Aws, config: &Config) -> Plan {
    let inventory = orgsplit_inventory::inventory(
        aws,
        &InventoryOptions {
            source_account_id: SOURCE_ACCOUNT.into(),
            home_region: config.home_region.clone(),
            regions: config.regions.clone(),
            created_at: "2026-11-23T00:00:00Z".into(),
            count_objects: true,
        },
        &NoReporter,
    )
    .await
    .expect("inventory");
    let names: Vec<String> = config.ous.iter().flat_map(|o| o.stacksets.clone()).collect();
    let catalog =
        orgsplit_stacksets::resolve(&repo_root().join("stacksets"), &names).expect("catalog");
    let specs: Vec<_> = catalog.into_iter().map(|e| e.spec).collect();
    build_plan(PlanInput {
        config,
        inventory: &inventory,
        stacksets: &specs,
        created_at: "2026-11-23T00:00:00Z".into(),
    })
    .expect("plan")
}

/// Creates an account in the emulator's organization (polled until SUCCEEDED, with the access
/// role) and returns its id.
pub async fn create_account(aws: &Aws, name: &str, email: &str) -> String {
    let (caller, _) = aws.caller().await.expect("caller");
    let org = aws.session(&caller).await.expect("session").organizations();
    orgsplit_testkit::create_account(&org, name, email).await
}

/// Every step of the plan, by address.
pub fn step<'a>(plan: &'a Plan, address: &str) -> &'a Step {
    plan.steps().find(|s| s.address == address).unwrap_or_else(|| panic!("no step {address}"))
}

/// A context for one step of `plan`, with `${account:NAME}` replaced from `ids`.
pub fn context(aws: &Aws, plan: &Plan, step: &Step, ids: &BTreeMap<String, String>) -> StepContext {
    let step = orgsplit_apply::placeholders::substitute(step, ids)
        .unwrap_or_else(|missing| panic!("{}: no id for {missing:?}", step.address));
    StepContext {
        aws: aws.clone(),
        plan: Arc::new(plan.clone()),
        step,
        outputs: Default::default(),
        shared: Arc::default(),
    }
}

/// A policy document as IAM returns it (URL-encoded or not) as JSON.
pub fn document(raw: &str) -> Value {
    if let Ok(v) = serde_json::from_str(raw) {
        return v;
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = raw.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("policy document {raw}: {e}"))
}

/// Creates the OU's accounts in the emulator's organization; `{name: id}`.
pub async fn create_accounts(aws: &Aws, names: &[&str]) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for n in names {
        let id = create_account(aws, n, &format!("aws+{n}@example.com")).await;
        ids.insert(n.to_string(), id);
    }
    ids
}

/// Whether a step changed something; a step that waits fails the test.
pub fn changed(outcome: &orgsplit_apply::Outcome) -> bool {
    match outcome {
        orgsplit_apply::Outcome::Done { changed, .. } => *changed,
        orgsplit_apply::Outcome::Waiting { message, .. } => panic!("a step waits: {message}"),
    }
}

/// The emulator with an organization and nothing else, strict as `strict` says (`{}`: its
/// defaults), its settings exported; and a runtime.
pub fn org_only(strict: serde_json::Value) -> (Emulator, tokio::runtime::Runtime) {
    let emu = Emulator::start_with(Some("org-only"));
    emu.export_env();
    if strict != serde_json::json!({}) {
        emu.set_strict(strict);
    }
    (emu, orgsplit_testkit::runtime())
}
