//! ECS clusters, task definitions and services, EventBridge rules and Scheduler schedules
//! against the emulator's demo scenario. Each test plans the demo, runs one workloads
//! account's steps and reads the result back in the target account through the SDK, never
//! trusting the steps' outcomes; a second run must change nothing (no mutating request in the
//! emulator's log), and a change made by hand in the target is put back by the next run.
#![allow(clippy::print_stdout)]

mod common;

use common::world::*;

// ---- ECS task definitions, clusters, rules and schedules ---------------------------------------

// The mail senders name their secret by full ARN: its copy comes first, and the copied task
// definitions name the copy's own ARN.
const DEV: [&str; 5] = [
    "dev/dev-workloads/secret:dev/mailer/api-key",
    "dev/dev-workloads/ecs-cluster:batch",
    "dev/dev-workloads/ecs-taskdef:dev-api",
    "dev/dev-workloads/ecs-taskdef:dev-mail-sender",
    "dev/dev-workloads/schedule:default/dev-mail-hourly",
];

const PROD: [&str; 5] = [
    "prod/prod-workloads/secret:prod/mailer/api-key",
    "prod/prod-workloads/ecs-cluster:batch",
    "prod/prod-workloads/ecs-taskdef:prod-api",
    "prod/prod-workloads/ecs-taskdef:prod-mail-sender",
    "prod/prod-workloads/events-rule:prod-nightly-mail",
];

#[test]
fn task_definitions_clusters_rules_and_schedules_point_at_the_target() {
    // Without a [[network]] the demo's services and scheduled tasks are manual items: their
    // tasks would run in the source account's subnets, which the targets do not have.
    let without = World::demo(&["dev-workloads", "prod-workloads"]);
    for address in [
        "dev/dev-workloads/ecs-service:batch/dev-api",
        "prod/prod-workloads/ecs-service:batch/prod-api",
        "dev/dev-workloads/schedule:default/dev-mail-hourly",
        "prod/prod-workloads/events-rule:prod-nightly-mail",
    ] {
        assert_eq!(without.step(address).action, Action::Manual, "{address}");
    }
    drop(without);
    let mut w = world_with_networks();
    let dev_network = w.emu.default_network(&w.ids["dev-workloads"]);
    let all: Vec<&str> = DEV.iter().chain(PROD.iter()).copied().collect();
    let first = w.run_all(&all);
    let unchanged: Vec<&String> = first.iter().filter(|(_, c)| !c).map(|(a, _)| a).collect();
    assert!(unchanged.is_empty(), "first run left unchanged: {unchanged:?}");

    let (dev, prod) = (w.session("dev-workloads"), w.session("prod-workloads"));
    let (dev_id, prod_id) = (w.ids["dev-workloads"].clone(), w.ids["prod-workloads"].clone());
    w.rt.block_on(async {
        for (s, id) in [(&dev, &dev_id), (&prod, &prod_id)] {
            let c = cluster(s, "batch").await;
            assert_eq!(c["status"], "ACTIVE");
            assert_eq!(c["clusterArn"], json!(format!("arn:aws:ecs:{REGION}:{id}:cluster/batch")));
            assert!(
                c["settings"].as_array().is_some_and(
                    |s| s.contains(&json!({"name": "containerInsights", "value": "disabled"}))
                ),
                "{c:#}"
            );
        }
        check_task_definition(&dev, "dev-api", false).await;
        let dev_mail = check_task_definition(&dev, "dev-mail-sender", true).await;
        check_task_definition(&prod, "prod-api", false).await;
        let prod_mail = check_task_definition(&prod, "prod-mail-sender", true).await;
        for (s, family) in [(&dev, "dev-mail-sender"), (&prod, "prod-mail-sender")] {
            let secrets =
                task_definition(s, family).await["containerDefinitions"][0]["secrets"].to_string();
            assert!(secrets.contains(":secretsmanager:"), "{family} names no secret by ARN");
        }

        // The source's rule and schedule are ENABLED; their copies wait for cutover.
        let (expr, state, targets) = rule(&prod, "prod-nightly-mail").await;
        assert_eq!((expr.as_str(), state.as_str()), ("cron(0 2 * * ? *)", "DISABLED"));
        assert_eq!(
            targets,
            vec![(
                "run-task".to_string(),
                format!("arn:aws:ecs:{REGION}:{prod_id}:cluster/batch"),
                format!("arn:aws:iam::{prod_id}:role/ecs-events-invoke"),
                prod_mail.clone(),
                1
            )]
        );
        // The scheduled task runs in the dev account's own subnets, not the source's.
        let got =
            dev.scheduler(REGION).get_schedule().group_name("default").name("dev-mail-hourly");
        let got = got.send().await.expect("GetSchedule");
        let vpc =
            got.target().and_then(|t| t.ecs_parameters()).and_then(|e| e.network_configuration());
        let subnets = vpc.and_then(|n| n.awsvpc_configuration()).map(|v| v.subnets().to_vec());
        assert_eq!(subnets, Some(dev_network.0.clone()), "the schedule's subnets");
        let got = schedule(&dev, "default", "dev-mail-hourly").await;
        assert_eq!(
            got,
            (
                "rate(1 hour)".to_string(),
                "DISABLED".to_string(),
                format!("arn:aws:ecs:{REGION}:{dev_id}:cluster/batch"),
                format!("arn:aws:iam::{dev_id}:role/scheduler-run-task"),
                dev_mail.clone()
            )
        );
    });
    assert_eq!(
        w.outputs["dev/dev-workloads/ecs-taskdef:dev-mail-sender"]["task_definition_arn"],
        format!("arn:aws:ecs:{REGION}:{dev_id}:task-definition/dev-mail-sender:1")
    );
    println!("first run: {} steps, all changed, read back in both targets", first.len());
    w.assert_second_run_is_a_no_op(&all, "ecs, rules, schedules");
}

#[test]
fn drift_in_task_definitions_rules_schedules_and_clusters_is_repaired() {
    let mut w = world_with_networks();
    let all: Vec<&str> = DEV.iter().chain(PROD.iter()).copied().collect();
    w.run_all(&all);
    let (dev, prod) = (w.session("dev-workloads"), w.session("prod-workloads"));
    let (dev_id, prod_id) = (w.ids["dev-workloads"].clone(), w.ids["prod-workloads"].clone());
    let dev_mail_1 = format!("arn:aws:ecs:{REGION}:{dev_id}:task-definition/dev-mail-sender:1");

    // By hand: the task definition deregistered, the rule rescheduled (PutRule without a
    // State: ENABLED) and its target changed, the schedule enabled, the cluster's container
    // insights switched on. A copy's state is cutover's: the repair keeps it.
    w.rt.block_on(async {
        dev.ecs(REGION)
            .deregister_task_definition()
            .task_definition(&dev_mail_1)
            .send()
            .await
            .expect("DeregisterTaskDefinition");
        let events = prod.events(REGION);
        events
            .put_rule()
            .name("prod-nightly-mail")
            .schedule_expression("rate(5 minutes)")
            .send()
            .await
            .expect("PutRule");
        let (_, _, targets) = rule(&prod, "prod-nightly-mail").await;
        let ecs = aws_sdk_eventbridge::types::EcsParameters::builder()
            .task_definition_arn(&targets[0].3)
            .task_count(7)
            .build()
            .expect("ecs parameters");
        events
            .put_targets()
            .rule("prod-nightly-mail")
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("run-task")
                    .arn(&targets[0].1)
                    .role_arn(&targets[0].2)
                    .ecs_parameters(ecs)
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("PutTargets");
        let current = dev
            .scheduler(REGION)
            .get_schedule()
            .name("dev-mail-hourly")
            .send()
            .await
            .expect("GetSchedule");
        dev.scheduler(REGION)
            .update_schedule()
            .name("dev-mail-hourly")
            .schedule_expression("rate(1 hour)")
            .set_flexible_time_window(current.flexible_time_window().cloned())
            .set_target(current.target().cloned())
            .state(aws_sdk_scheduler::types::ScheduleState::Enabled)
            .send()
            .await
            .expect("UpdateSchedule");
        prod.ecs(REGION)
            .update_cluster()
            .cluster("batch")
            .settings(
                aws_sdk_ecs::types::ClusterSetting::builder()
                    .name(aws_sdk_ecs::types::ClusterSettingName::ContainerInsights)
                    .value("enabled")
                    .build(),
            )
            .send()
            .await
            .expect("UpdateCluster");
    });

    let repaired = w.run_all(&all);
    let changed: BTreeMap<String, bool> = repaired.into_iter().collect();
    for address in [
        "dev/dev-workloads/ecs-taskdef:dev-mail-sender",
        "dev/dev-workloads/schedule:default/dev-mail-hourly",
        "prod/prod-workloads/events-rule:prod-nightly-mail",
        "prod/prod-workloads/ecs-cluster:batch",
    ] {
        assert!(changed[address], "{address} did not repair its drift");
    }
    for address in [
        "dev/dev-workloads/ecs-cluster:batch",
        "dev/dev-workloads/ecs-taskdef:dev-api",
        "prod/prod-workloads/ecs-taskdef:prod-api",
        "prod/prod-workloads/ecs-taskdef:prod-mail-sender",
    ] {
        assert!(!changed[address], "{address} changed without drift");
    }
    w.rt.block_on(async {
        let dev_mail_2 = format!("arn:aws:ecs:{REGION}:{dev_id}:task-definition/dev-mail-sender:2");
        let td = task_definition(&dev, "dev-mail-sender").await;
        assert_eq!(td["taskDefinitionArn"], json!(dev_mail_2));
        assert_eq!(td["status"], "ACTIVE");
        let (_, state, _, _, taskdef) = schedule(&dev, "default", "dev-mail-hourly").await;
        assert_eq!((state.as_str(), taskdef.as_str()), ("ENABLED", dev_mail_2.as_str()));
        let (expr, state, targets) = rule(&prod, "prod-nightly-mail").await;
        assert_eq!((expr.as_str(), state.as_str()), ("cron(0 2 * * ? *)", "ENABLED"));
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].4, 1, "task count back to the source's");
        assert_eq!(
            targets[0].3,
            format!("arn:aws:ecs:{REGION}:{prod_id}:task-definition/prod-mail-sender:1")
        );
        let c = cluster(&prod, "batch").await;
        assert!(
            c["settings"].as_array().is_some_and(
                |s| s.contains(&json!({"name": "containerInsights", "value": "disabled"}))
            ),
            "{c:#}"
        );
    });
    println!("drift: task definition, schedule, rule and cluster repaired; the rest unchanged");
    w.assert_second_run_is_a_no_op(&all, "after repairs");
}

// ---- ECS services ------------------------------------------------------------------------------

/// The demo config with a `[[network]]` per (environment, subnets, security group), planned
/// (the accounts exist by then).
async fn plan_with_networks(aws: &Aws, networks: &[(&str, &[String], &str)]) -> Plan {
    let path = repo_root().join("plans/examples/orgsplit.toml");
    let mut text = std::fs::read_to_string(&path).expect("demo config");
    for (env, subnets, group) in networks {
        let quoted: Vec<String> = subnets.iter().map(|s| format!("{s:?}")).collect();
        text.push_str(&format!(
            "\n[[network]]\nenvironment = {env:?}\nsubnets = [{}]\nsecurity_groups = [{group:?}]\nassign_public_ip = false\n",
            quoted.join(", ")
        ));
    }
    let config = Config::parse(&path, &text).expect("config with networks");
    common::plan_for(aws, &config).await
}

/// The demo world with both workloads accounts and a `[[network]]` for dev and prod (their
/// default VPCs): scheduled tasks and services are copies, not manual items.
fn world_with_networks() -> World {
    let emu = Emulator::start_with(Some("demo"));
    emu.export_env();
    let rt = orgsplit_testkit::runtime();
    let (aws, ids) = rt.block_on(async {
        let aws = common::aws(&emu).await;
        let ids = create_accounts(&aws, &["dev-workloads", "prod-workloads"]).await;
        (aws, ids)
    });
    let (dev_subnets, dev_group) = emu.default_network(&ids["dev-workloads"]);
    let (prod_subnets, prod_group) = emu.default_network(&ids["prod-workloads"]);
    let networks: [(&str, &[String], &str); 2] =
        [("dev", &dev_subnets, &dev_group), ("prod", &prod_subnets, &prod_group)];
    let plan = rt.block_on(plan_with_networks(&aws, &networks));
    World { emu, rt, aws, plan, ids, outputs: BTreeMap::new() }
}

#[test]
fn a_service_runs_the_target_task_definition_on_the_configured_network() {
    let emu = Emulator::start_with(Some("demo"));
    emu.export_env();
    let rt = orgsplit_testkit::runtime();
    let (aws, ids) = rt.block_on(async {
        let aws = common::aws(&emu).await;
        let ids = create_accounts(&aws, &["dev-workloads"]).await;
        (aws, ids)
    });
    let dev_id = ids["dev-workloads"].clone();
    let (subnets, group) = emu.default_network(&dev_id);
    let plan = rt.block_on(plan_with_networks(&aws, &[("dev", &subnets, &group)]));
    let mut w = World { emu, rt, aws, plan, ids, outputs: BTreeMap::new() };
    let address = "dev/dev-workloads/ecs-service:batch/dev-api";
    let step = w.step(address);
    assert_eq!(step.action, Action::Create, "{address} is still manual");
    let StepSpec::EcsService(inputs) = &step.spec else {
        panic!("{address} is not an ECS service step")
    };
    let network = inputs.network.as_ref().expect("the [[network]] is planned");
    assert_eq!(network.subnets, subnets);

    // Before its task definition exists in the target the service cannot be made.
    w.run("dev/dev-workloads/ecs-cluster:batch");
    let early = w.try_run(address).expect_err("a service before its task definition");
    assert!(early.to_string().contains("dev-api"), "{early}");

    let steps =
        ["dev/dev-workloads/ecs-cluster:batch", "dev/dev-workloads/ecs-taskdef:dev-api", address];
    let first = w.run_all(&steps);
    assert!(first[2].1, "the service was not created");
    let dev = w.session("dev-workloads");
    let svc = w.rt.block_on(service(&dev, "batch", "dev-api"));
    assert_eq!(svc["status"], "ACTIVE");
    assert_eq!(
        svc["taskDefinition"],
        json!(format!("arn:aws:ecs:{REGION}:{dev_id}:task-definition/dev-api:1"))
    );
    assert_eq!(svc["desiredCount"], 0, "a copy waits for cutover (the source's is 1)");
    assert_eq!(svc["launchType"], "FARGATE");
    let vpc = &svc["networkConfiguration"]["awsvpcConfiguration"];
    assert_eq!(vpc["subnets"], json!(subnets));
    assert_eq!(vpc["securityGroups"], json!([group]));
    assert_eq!(vpc["assignPublicIp"], "DISABLED");
    assert_eq!(w.outputs[address]["service_arn"], svc["serviceArn"].as_str().expect("service arn"));
    println!("service created on {subnets:?} / {group} with dev-api:1");
    w.assert_second_run_is_a_no_op(&steps, "service");

    // By hand: scaled up, and moved onto other subnets. The next run repairs the network and
    // keeps the count: a copy's desired count is cutover's.
    let public = aws_sdk_ecs::types::AwsVpcConfiguration::builder()
        .set_subnets(Some(subnets.clone()))
        .security_groups(group.clone())
        .assign_public_ip(aws_sdk_ecs::types::AssignPublicIp::Enabled)
        .build()
        .expect("awsvpc configuration");
    w.rt.block_on(
        dev.ecs(REGION)
            .update_service()
            .cluster("batch")
            .service("dev-api")
            .desired_count(4)
            .network_configuration(
                aws_sdk_ecs::types::NetworkConfiguration::builder()
                    .awsvpc_configuration(public)
                    .build(),
            )
            .send(),
    )
    .expect("UpdateService");
    assert!(changed(&w.run(address)), "the service's network was not repaired");
    let svc = w.rt.block_on(service(&dev, "batch", "dev-api"));
    assert_eq!(svc["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"], "DISABLED");
    assert_eq!(svc["desiredCount"], 4, "apply changed a copy's desired count");
    w.assert_second_run_is_a_no_op(&steps, "service after repair");
}
