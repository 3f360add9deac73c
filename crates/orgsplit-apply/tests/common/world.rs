//! A world for tests that run single steps of the demo plan: one emulator, the demo plan,
//! the target accounts created for it, and readers of what the steps made there.
// A prelude: each test file uses its part of it.
#![allow(unused_imports)]
// Tests print a summary line of what they checked (seen with `--nocapture`).
#![allow(clippy::print_stdout)]

// What the tests that use the world need, in one import (`use common::world::*`).
pub use super::{changed, create_accounts, document};
pub use orgsplit_apply::{Outcome, StepError, run_step};
pub use orgsplit_aws::sdk_json::to_json;
pub use orgsplit_aws::{AccountSession, Aws};
pub use orgsplit_model::journal::Outputs;
pub use orgsplit_model::{Action, Config, Plan, Step, StepKind, StepSpec};
pub use orgsplit_testkit::{Emulator, SOURCE_ACCOUNT, repo_root};
pub use serde_json::{Value, json};
pub use std::collections::BTreeMap;

pub const REGION: &str = "us-east-1";

/// One emulator, its demo plan and the target accounts created for it.
pub struct World {
    pub emu: Emulator,
    pub rt: tokio::runtime::Runtime,
    pub aws: Aws,
    pub plan: Plan,
    pub ids: BTreeMap<String, String>,
    /// Outputs of the steps run so far, as the executor would hand them on.
    pub outputs: BTreeMap<String, Outputs>,
}

impl World {
    /// The demo plan, then the accounts (so the plan names them by placeholder, as a
    /// real first apply does).
    pub fn demo(accounts: &[&str]) -> World {
        let emu = Emulator::start_with(Some("demo"));
        emu.export_env();
        let rt = orgsplit_testkit::runtime();
        let (aws, plan, ids) = rt.block_on(async {
            let aws = super::aws(&emu).await;
            let plan = super::demo_plan(&aws).await;
            let ids = create_accounts(&aws, accounts).await;
            (aws, plan, ids)
        });
        World { emu, rt, aws, plan, ids, outputs: BTreeMap::new() }
    }

    /// The emulator, runtime, SDK side, plan and account ids, for tests that pass them on.
    pub fn parts(
        &self,
    ) -> (&Emulator, &tokio::runtime::Runtime, &Aws, &Plan, &BTreeMap<String, String>) {
        (&self.emu, &self.rt, &self.aws, &self.plan, &self.ids)
    }

    pub fn step(&self, address: &str) -> Step {
        super::step(&self.plan, address).clone()
    }

    pub fn try_run(&mut self, address: &str) -> Result<Outcome, StepError> {
        let step = self.step(address);
        let mut cx = super::context(&self.aws, &self.plan, &step, &self.ids);
        cx.step = orgsplit_apply::placeholders::substitute_outputs(&cx.step, &self.outputs)
            .unwrap_or_else(|missing| panic!("{address}: run {missing:?} first"));
        cx.outputs = orgsplit_apply::StepOutputs::new(self.outputs.clone());
        let outcome = self.rt.block_on(run_step(&cx))?;
        if let Outcome::Done { outputs, .. } = &outcome {
            self.outputs.insert(address.to_string(), outputs.clone());
        }
        Ok(outcome)
    }

    pub fn run(&mut self, address: &str) -> Outcome {
        self.try_run(address).unwrap_or_else(|e| panic!("{address}: {e}"))
    }

    /// Runs the steps in order; whether each changed something.
    pub fn run_all(&mut self, addresses: &[&str]) -> Vec<(String, bool)> {
        addresses.iter().map(|a| (a.to_string(), changed(&self.run(a)))).collect()
    }

    /// Runs the steps again: nothing may change, and no mutating request may be made.
    pub fn assert_second_run_is_a_no_op(&mut self, addresses: &[&str], what: &str) {
        self.emu.clear_requests();
        let again = self.run_all(addresses);
        assert_quiet(&self.emu, &again, what);
    }

    pub fn session(&self, account: &str) -> AccountSession {
        self.rt.block_on(self.aws.session(&self.ids[account])).expect("session")
    }
}

/// A second run (`again`: each step and whether it changed something) changed nothing and
/// made no mutating request.
pub fn assert_quiet(emu: &Emulator, again: &[(String, bool)], what: &str) {
    let changed: Vec<&String> = again.iter().filter(|(_, c)| *c).map(|(a, _)| a).collect();
    assert!(changed.is_empty(), "{what}: a second run changed {changed:?}");
    let mutating = emu.mutating_requests();
    assert!(mutating.is_empty(), "{what}: a second run made mutating requests: {mutating:#?}");
    println!(
        "{what}: second run of {} steps: unchanged, {} requests, 0 mutating",
        again.len(),
        emu.requests().len()
    );
}

pub fn output(outcome: &Outcome, key: &str) -> String {
    match outcome {
        Outcome::Done { outputs, .. } => {
            outputs.get(key).unwrap_or_else(|| panic!("no output {key}: {outputs:?}")).clone()
        }
        Outcome::Waiting { message, .. } => panic!("a step waits: {message}"),
    }
}

// ---- reading the target back -----------------------------------------------------------------

pub async fn task_definition(s: &AccountSession, family: &str) -> Value {
    let request = s.ecs(REGION).describe_task_definition().task_definition(family);
    let out = request.send().await;
    let out =
        out.unwrap_or_else(|e| panic!("DescribeTaskDefinition {family} in {}: {e}", s.account_id));
    to_json(out.task_definition().expect("task definition"))
}

pub async fn cluster(s: &AccountSession, name: &str) -> Value {
    let out = s
        .ecs(REGION)
        .describe_clusters()
        .clusters(name)
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .expect("DescribeClusters");
    to_json(
        out.clusters()
            .first()
            .unwrap_or_else(|| panic!("cluster {name} missing in {}", s.account_id)),
    )
}

pub async fn service(s: &AccountSession, cluster: &str, name: &str) -> Value {
    let out = s
        .ecs(REGION)
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .expect("DescribeServices");
    to_json(
        out.services()
            .first()
            .unwrap_or_else(|| panic!("service {cluster}/{name} missing in {}", s.account_id)),
    )
}

/// (schedule expression, state, targets as (id, arn, role, task definition, task count)).
type RuleState = (String, String, Vec<(String, String, String, String, i32)>);

pub async fn rule(s: &AccountSession, name: &str) -> RuleState {
    let events = s.events(REGION);
    let r = events
        .describe_rule()
        .name(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeRule {name} in {}: {e}", s.account_id));
    let targets = events.list_targets_by_rule().rule(name).send().await.expect("ListTargetsByRule");
    (
        r.schedule_expression().unwrap_or_default().to_string(),
        r.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        targets
            .targets()
            .iter()
            .map(|t| {
                let ecs = t.ecs_parameters();
                (
                    t.id().to_string(),
                    t.arn().to_string(),
                    t.role_arn().unwrap_or_default().to_string(),
                    ecs.map(|e| e.task_definition_arn().to_string()).unwrap_or_default(),
                    ecs.and_then(|e| e.task_count()).unwrap_or(1),
                )
            })
            .collect(),
    )
}

/// (expression, state, target arn, role, task definition) of a schedule.
pub async fn schedule(
    s: &AccountSession,
    group: &str,
    name: &str,
) -> (String, String, String, String, String) {
    let request = s.scheduler(REGION).get_schedule().group_name(group).name(name);
    let out = request.send().await;
    let out = out.unwrap_or_else(|e| panic!("GetSchedule {group}/{name} in {}: {e}", s.account_id));
    let t = out.target().expect("target");
    (
        out.schedule_expression().unwrap_or_default().to_string(),
        out.state().map(|s| s.as_str().to_string()).unwrap_or_default(),
        t.arn().to_string(),
        t.role_arn().to_string(),
        t.ecs_parameters().map(|e| e.task_definition_arn().to_string()).unwrap_or_default(),
    )
}

pub async fn pipeline(s: &AccountSession, name: &str) -> Value {
    let out = s.codepipeline(REGION).get_pipeline().name(name).send().await;
    let out = out.unwrap_or_else(|e| panic!("GetPipeline {name} in {}: {e}", s.account_id));
    to_json(out.pipeline().expect("declaration"))
}

pub async fn role_policy(s: &AccountSession, role: &str, policy: &str) -> Option<Value> {
    s.iam()
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
        .ok()
        .map(|out| document(out.policy_document()))
}

pub async fn connections(s: &AccountSession) -> Vec<(String, String, String)> {
    s.codeconnections(REGION)
        .list_connections()
        .send()
        .await
        .expect("ListConnections")
        .connections()
        .iter()
        .map(|c| {
            (
                c.connection_name().unwrap_or_default().to_string(),
                c.connection_arn().unwrap_or_default().to_string(),
                c.connection_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

/// Checks a copied task definition: revision 1 of the target, roles and secrets in the
/// target account, the image left in the source registry. Returns its ARN.
pub async fn check_task_definition(
    s: &AccountSession,
    family: &str,
    with_task_role: bool,
) -> String {
    let td = task_definition(s, family).await;
    let target = &s.account_id;
    let arn = td["taskDefinitionArn"].as_str().expect("arn").to_string();
    assert_eq!(
        arn,
        format!("arn:aws:ecs:{REGION}:{target}:task-definition/{family}:1"),
        "{family}: {td:#}"
    );
    assert_eq!(
        td["executionRoleArn"],
        json!(format!("arn:aws:iam::{target}:role/ecs-task-execution"))
    );
    if with_task_role {
        assert_eq!(td["taskRoleArn"], json!(format!("arn:aws:iam::{target}:role/{family}-task")));
    }
    let container = &td["containerDefinitions"][0];
    assert!(
        container["image"]
            .as_str()
            .is_some_and(|i| i.starts_with(&format!("{SOURCE_ACCOUNT}.dkr.ecr."))),
        "{family}: image {}",
        container["image"]
    );
    let secrets = container["secrets"].as_array().expect("secrets");
    assert!(!secrets.is_empty());
    for secret in secrets {
        let from = secret["valueFrom"].as_str().expect("valueFrom");
        if from.starts_with("arn:aws:secretsmanager:") {
            // Named by full ARN: the copy's own, random suffix included, so a task can start.
            let name = from.rsplit_once(":secret:").expect("a secret ARN").1;
            let name = &name[..name.len() - 7];
            let copy = s.secretsmanager(REGION).describe_secret().secret_id(name).send().await;
            let copy = copy.unwrap_or_else(|e| panic!("{family}: no copy of secret {name}: {e:?}"));
            assert_eq!(Some(from), copy.arn(), "{family}: names a secret that is not the copy");
            continue;
        }
        assert!(
            from.starts_with(&format!("arn:aws:ssm:{REGION}:{target}:parameter/")),
            "{family}: secret points at {from}"
        );
    }
    assert_eq!(td["status"], "ACTIVE");
    arn
}
