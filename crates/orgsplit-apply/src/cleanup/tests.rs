use super::*;
use orgsplit_model::journal::{JournalEvent, RUN_ADDRESS};
use orgsplit_model::plan::{AccountPlan, OuPlan};
use orgsplit_model::step::ResourceCopy;
use orgsplit_model::{Action, StepSpec};

const SOURCE: &str = "111111111111";

fn copy(ou: &str, kind: &str, name: &str, arn: &str, spec: fn(ResourceCopy) -> StepSpec) -> Step {
    let c = ResourceCopy {
        source_arn: arn.into(),
        name: name.into(),
        config: serde_json::json!({}).into(),
        tags: Default::default(),
    };
    let address = format!("{ou}/{ou}-workloads/{kind}:{name}");
    Step::new(address, Action::Create, &format!("${{account:{ou}-workloads}}"), spec(c))
}

fn resource(
    arn: &str,
    kind: ResourceKind,
    name: &str,
    env: &str,
    steps: &[&Step],
) -> ResourceEntry {
    ResourceEntry {
        arn: arn.into(),
        kind,
        name: name.into(),
        region: Some("us-east-1".into()),
        environment: env.into(),
        reason: String::new(),
        steps: steps.iter().map(|s| s.address.clone()).collect(),
    }
}

const ROLE: &str = "arn:aws:iam::111111111111:role/task";
const TASKDEF: &str = "arn:aws:ecs:us-east-1:111111111111:task-definition/dev-api:3";
const RULE: &str = "arn:aws:events:us-east-1:111111111111:rule/dev-nightly";
const LOGS: &str = "arn:aws:logs:us-east-1:111111111111:log-group:/ecs/dev-api";

/// A dev task definition using a role both OUs copied, a rule running the task definition,
/// and its log group.
fn plan() -> Plan {
    let role_dev = copy("dev", "iam-role", "task", ROLE, StepSpec::IamRole);
    let role_prod = copy("prod", "iam-role", "task", ROLE, StepSpec::IamRole);
    let logs = copy("dev", "logs", "/ecs/dev-api", LOGS, StepSpec::LogGroup);
    let taskdef = copy("dev", "ecs-taskdef", "dev-api", TASKDEF, StepSpec::EcsTaskDefinition)
        .after([role_dev.address.clone(), logs.address.clone()]);
    let rule = copy("dev", "events-rule", "dev-nightly", RULE, StepSpec::EventsRule)
        .after([taskdef.address.clone(), role_dev.address.clone()]);
    let resources = vec![
        resource(ROLE, ResourceKind::IamRole, "task", "shared", &[&role_dev, &role_prod]),
        resource(LOGS, ResourceKind::LogGroup, "/ecs/dev-api", "dev", &[&logs]),
        resource(TASKDEF, ResourceKind::EcsTaskDefinition, "dev-api", "dev", &[&taskdef]),
        resource(RULE, ResourceKind::EventsRule, "dev-nightly", "dev", &[&rule]),
    ];
    let ou = |name: &str, steps: Vec<Step>| OuPlan {
        name: name.into(),
        environment: name.into(),
        admin_account: format!("{name}-admin"),
        steps: Vec::new(),
        accounts: vec![AccountPlan {
            name: format!("{name}-workloads"),
            email: format!("{name}@example.com"),
            account_id: None,
            workloads: true,
            steps,
        }],
    };
    Plan {
        format_version: orgsplit_model::plan::PLAN_FORMAT_VERSION,
        orgsplit_version: "test".into(),
        created_at: String::new(),
        organization_id: "o-test".into(),
        management_account_id: "000000000000".into(),
        source_account_id: SOURCE.into(),
        home_region: "us-east-1".into(),
        access_role: "OrganizationAccountAccessRole".into(),
        limits: Default::default(),
        regions: vec!["us-east-1".into()],
        config_digest: String::new(),
        inventory_digest: String::new(),
        fingerprints: Default::default(),
        organization: Vec::new(),
        ous: vec![ou("dev", vec![role_dev, logs, taskdef, rule]), ou("prod", vec![role_prod])],
        resources,
        unclassified: Vec::new(),
        warnings: Vec::new(),
        coverage: Vec::new(),
        digest: String::new(),
    }
}

fn cleaned(ou: &str) -> JournalRecord {
    JournalRecord {
        time: "t".into(),
        plan_digest: "d".into(),
        address: RUN_ADDRESS.into(),
        event: JournalEvent::RunFinished {
            ou: ou.into(),
            outcome: "succeeded".into(),
            command: RunCommand::Cleanup,
        },
    }
}

fn summary(removals: &[Removal]) -> Vec<(String, String)> {
    removals
        .iter()
        .map(|r| {
            let what = match &r.disposition {
                Disposition::Delete => format!("delete after [{}]", r.after.join(", ")),
                Disposition::Keep(why) | Disposition::Later(why) => why.clone(),
            };
            (r.kind_label(), what)
        })
        .collect()
}

#[test]
fn users_go_first_and_a_shared_role_waits_for_the_other_ou() {
    let removals = removals(&plan(), "dev", &[], CleanupOptions::default()).unwrap();
    let got = summary(&removals);
    let labels: Vec<&str> = got.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        labels,
        ["events-rule:dev-nightly", "ecs-taskdef:dev-api", "iam-role:task", "logs:/ecs/dev-api"]
    );
    assert_eq!(got[0].1, "delete after []");
    assert_eq!(got[1].1, format!("delete after [cleanup/{RULE}]"));
    assert_eq!(got[2].1, "shared: waits for the cleanup of OU prod");
    assert_eq!(got[3].1, "log group: kept (pass --delete-logs to delete)");
    assert_eq!(removals[2].address, format!("cleanup/{ROLE}"));
    assert_eq!(removals[2].copies.len(), 2, "both OUs' copies are verified");
}

#[test]
fn the_last_ou_cleaned_up_deletes_the_shared_role_after_its_users() {
    let options = CleanupOptions { delete_logs: true, ..CleanupOptions::default() };
    let removals = removals(&plan(), "dev", &[cleaned("prod")], options).unwrap();
    let got = summary(&removals);
    let role = got.iter().find(|(l, _)| l == "iam-role:task").unwrap();
    assert_eq!(role.1, format!("delete after [cleanup/{TASKDEF}, cleanup/{RULE}]"));
    let logs = got.iter().find(|(l, _)| l == "logs:/ecs/dev-api").unwrap();
    assert_eq!(logs.1, format!("delete after [cleanup/{TASKDEF}]"));
    // prod copied only the role; its cleanup, with dev not cleaned up, keeps it.
    let prod = summary(&removals_of("prod", &[]));
    assert_eq!(
        prod,
        [("iam-role:task".to_string(), "shared: waits for the cleanup of OU dev".to_string())]
    );
}

fn removals_of(ou: &str, records: &[JournalRecord]) -> Vec<Removal> {
    removals(&plan(), ou, records, CleanupOptions::default()).unwrap()
}

#[test]
fn a_resource_whose_user_stays_stays_too() {
    let mut plan = plan();
    plan.ous[0].accounts[0].steps.retain(|s| !s.address.ends_with("events-rule:dev-nightly"));
    plan.resources.retain(|r| r.arn != RULE);
    // A rule of another plan environment (not copied by anyone) still runs the task definition.
    let rule = copy("dev", "events-rule", "dev-nightly", RULE, StepSpec::EventsRule)
        .after(["dev/dev-workloads/ecs-taskdef:dev-api"]);
    let mut manual = rule.clone();
    manual.action = Action::Manual;
    plan.ous[0].accounts[0].steps.push(manual.clone());
    plan.resources.push(resource(RULE, ResourceKind::EventsRule, "dev-nightly", "dev", &[&manual]));
    let got =
        summary(&removals(&plan, "dev", &[cleaned("prod")], CleanupOptions::default()).unwrap());
    let taskdef = got.iter().find(|(l, _)| l == "ecs-taskdef:dev-api").unwrap();
    assert_eq!(taskdef.1, format!("still used by {RULE}, which this cleanup does not delete"));
    let role = got.iter().find(|(l, _)| l == "iam-role:task").unwrap();
    assert_eq!(role.1, "still used by ecs-taskdef:dev-api, which stays for now");
}

#[test]
fn a_manual_item_holds_what_its_inputs_name() {
    // The rule is a manual item (no dependencies, as the planner leaves them); its target
    // names the task definition by ARN, in the copy's account's form.
    let mut plan = plan();
    let rule = plan.ous[0].accounts[0]
        .steps
        .iter_mut()
        .find(|s| s.address.contains("events-rule"))
        .unwrap();
    rule.action = Action::Manual;
    rule.depends_on.clear();
    if let StepSpec::EventsRule(copy) = &mut rule.spec {
        copy.config = serde_json::json!({"Targets": [{"EcsParameters": {
            "TaskDefinitionArn": "arn:aws:ecs:us-east-1:${account:dev-workloads}:task-definition/dev-api:3"
        }}]})
        .into();
    }
    let got =
        summary(&removals(&plan, "dev", &[cleaned("prod")], CleanupOptions::default()).unwrap());
    let taskdef = got.iter().find(|(l, _)| l == "ecs-taskdef:dev-api").unwrap();
    assert_eq!(taskdef.1, format!("still used by {RULE}, which this cleanup does not delete"));
    assert!(got.iter().all(|(l, _)| l != "events-rule:dev-nightly"), "a manual item is no removal");
    assert_eq!(arn_resource(ROLE), Some("role/task"));
}
