use super::service::{Steadiness, steadiness};
use super::*;
use aws_sdk_ecs::types::{Deployment, Service};
use orgsplit_model::journal::RUN_ADDRESS;
use orgsplit_model::step::ResourceCopy;
use orgsplit_model::{Action, StepSpec};

fn service(running: i32, desired: i32, deployments: &[(&str, Option<&str>)]) -> Service {
    let mut s = Service::builder().status("ACTIVE").running_count(running).desired_count(desired);
    for (i, (status, rollout)) in deployments.iter().enumerate() {
        let mut d = Deployment::builder().id(format!("ecs-svc/{i}")).status(*status);
        if let Some(r) = rollout {
            d = d.rollout_state(aws_sdk_ecs::types::DeploymentRolloutState::from(*r));
        }
        s = s.deployments(d.build());
    }
    s.build()
}

#[test]
fn a_service_is_steady_with_one_completed_primary_deployment_and_every_task_running() {
    let steady = service(2, 2, &[("PRIMARY", Some("COMPLETED"))]);
    assert_eq!(steadiness(&steady), Steadiness::Steady);
    assert_eq!(steadiness(&service(2, 2, &[("PRIMARY", None)])), Steadiness::Steady);
    let cases = [
        ("tasks still starting", service(1, 2, &[("PRIMARY", Some("COMPLETED"))])),
        ("rollout in progress", service(2, 2, &[("PRIMARY", Some("IN_PROGRESS"))])),
        (
            "old deployment still active",
            service(2, 2, &[("PRIMARY", Some("COMPLETED")), ("ACTIVE", Some("COMPLETED"))]),
        ),
    ];
    for (case, s) in cases {
        assert!(matches!(steadiness(&s), Steadiness::Moving(_)), "{case}: {:?}", steadiness(&s));
    }
    let failed = service(0, 2, &[("PRIMARY", Some("FAILED"))]);
    assert!(matches!(steadiness(&failed), Steadiness::Failed(m) if m.contains("FAILED")));
    let replaced = service(0, 2, &[("PRIMARY", Some("IN_PROGRESS")), ("ACTIVE", Some("FAILED"))]);
    assert!(matches!(steadiness(&replaced), Steadiness::Moving(_)), "an old FAILED deployment");
    let draining = Service::builder().status("DRAINING").build();
    assert!(matches!(steadiness(&draining), Steadiness::Failed(m) if m.contains("DRAINING")));
}

fn rule_step() -> Step {
    let copy = ResourceCopy {
        source_arn: "arn:aws:events:us-east-1:111111111111:rule/nightly".into(),
        name: "nightly".into(),
        config: serde_json::json!({"State": "ENABLED"}).into(),
        tags: Default::default(),
    };
    Step::new(
        "prod/prod-workloads/events-rule:nightly",
        Action::Create,
        "${account:prod-workloads}",
        StepSpec::EventsRule(copy),
    )
}

#[test]
fn action_addresses_carry_command_generation_copy_and_phase() {
    let chain = Chain { copy: rule_step(), phases: vec![Phase::TargetOn, Phase::SourceOff] };
    assert_eq!(
        chain.address(RunCommand::Cutover, 1, Phase::TargetOn),
        "cutover/1/prod/prod-workloads/events-rule:nightly/target-on"
    );
    assert_eq!(
        chain.address(RunCommand::Rollback, 2, Phase::SourceOn),
        "rollback/2/prod/prod-workloads/events-rule:nightly/source-on"
    );
    assert_eq!(
        crate::group_of(&chain.address(RunCommand::Cutover, 1, Phase::TargetOn)),
        "prod-workloads"
    );
}

#[test]
fn each_finished_rollback_starts_a_new_generation() {
    let rec = |event| JournalRecord {
        time: "t".into(),
        plan_digest: "d".into(),
        address: RUN_ADDRESS.into(),
        event,
    };
    let finished = |command, outcome: &str| {
        rec(JournalEvent::RunFinished { ou: "dev".into(), outcome: outcome.into(), command })
    };
    let mut records = vec![finished(RunCommand::Cutover, "succeeded")];
    assert_eq!(generation(&records, "dev"), 1);
    records.push(finished(RunCommand::Rollback, "failed"));
    assert_eq!(generation(&records, "dev"), 1, "a failed rollback is resumed in its generation");
    records.push(finished(RunCommand::Rollback, "succeeded"));
    assert_eq!(generation(&records, "dev"), 2);
    assert_eq!(generation(&records, "prod"), 1);
}

#[test]
fn a_copy_is_touched_when_an_action_of_its_generation_started() {
    let rec = |address: &str, event| JournalRecord {
        time: "t".into(),
        plan_digest: "d".into(),
        address: address.into(),
        event,
    };
    let records = vec![
        rec(
            "cutover/1/dev/dev-workloads/ecs-service:batch/dev-api/target-up",
            JournalEvent::Started,
        ),
        rec("cutover/2/prod/prod-workloads/events-rule:nightly/target-on", JournalEvent::Started),
        rec("rollback/1/dev/dev-workloads/schedule:default/x/source-on", JournalEvent::Started),
    ];
    let one: Vec<&str> = touched(&records, 1).into_iter().collect();
    assert_eq!(one, ["dev/dev-workloads/ecs-service:batch/dev-api"]);
    let two: Vec<&str> = touched(&records, 2).into_iter().collect();
    assert_eq!(two, ["prod/prod-workloads/events-rule:nightly"]);
}
