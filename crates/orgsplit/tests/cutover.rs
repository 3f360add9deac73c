//! `orgsplit cutover` on the demo, read back through the AWS API in both accounts: apply
//! leaves every copy quiesced; cutover runs each copy at the source's count or state, then
//! stops the source, and holds each source pipeline's stage after its source stage; a second
//! cutover changes nothing; `--rollback` restores the source and quiesces the copy; a cutover after it switches again (a new generation). A copy whose tasks
//! never start fails its chain (exit 1) and leaves its source running. An OU not yet applied
//! is refused with exit 3 and nothing written.

mod common;

use common::{add_networks, apply_ou, aws_for, demo_world, inventory_and_plan, orgsplit};
use orgsplit_aws::AccountSession;
use orgsplit_testkit::{Emulator, SOURCE_ACCOUNT, runtime};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";

/// What cutover moves, as one account shows it.
#[derive(Debug, PartialEq, Eq)]
struct Switched {
    /// (desired, running, deployments) of each service.
    dev_api: (i32, i32, usize),
    prod_api: (i32, i32, usize),
    dev_schedule: String,
    prod_rule: String,
}

async fn service(s: &AccountSession, name: &str) -> (i32, i32, usize) {
    let out = s.ecs(REGION).describe_services().cluster("batch").services(name).send().await;
    let out = out.expect("DescribeServices");
    let svc = out.services().iter().find(|x| x.status() == Some("ACTIVE")).expect("ACTIVE");
    (svc.desired_count(), svc.running_count(), svc.deployments().len())
}

/// The source, dev-workloads and prod-workloads, each as it shows what cutover moves (the
/// dev copy has no prod service, and the other way round: those read as the source's).
fn states(emu: &Emulator) -> [Switched; 3] {
    runtime().block_on(async {
        let aws = aws_for(emu).await;
        let (caller, _) = aws.caller().await.unwrap();
        let mgmt = aws.session(&caller).await.unwrap();
        let ids = orgsplit_aws::organizations::accounts_by_email(&mgmt).await.unwrap();
        let source = aws.session(SOURCE_ACCOUNT).await.unwrap();
        let dev = aws.session(&ids["aws+dev-workloads@example.com"]).await.unwrap();
        let prod = aws.session(&ids["aws+prod-workloads@example.com"]).await.unwrap();
        let src = read_partial(&source, true, true).await;
        [src, read_partial(&dev, true, false).await, read_partial(&prod, false, true).await]
    })
}

/// Reads what the account holds: dev's workloads, prod's, or both (the source).
async fn read_partial(s: &AccountSession, dev: bool, prod: bool) -> Switched {
    let none = (-1, -1, 0);
    let mut out = Switched {
        dev_api: none,
        prod_api: none,
        dev_schedule: String::new(),
        prod_rule: String::new(),
    };
    if dev {
        out.dev_api = service(s, "dev-api").await;
        let schedule = s.scheduler(REGION).get_schedule().name("dev-mail-hourly").send().await;
        out.dev_schedule = schedule.expect("GetSchedule").state().unwrap().as_str().to_string();
    }
    if prod {
        out.prod_api = service(s, "prod-api").await;
        let rule = s.events(REGION).describe_rule().name("prod-nightly-mail").send().await;
        out.prod_rule = rule.expect("DescribeRule").state().unwrap().as_str().to_string();
    }
    out
}

fn switched(dev_api: (i32, i32, usize), prod_api: (i32, i32, usize), s: &str, r: &str) -> Switched {
    Switched { dev_api, prod_api, dev_schedule: s.into(), prod_rule: r.into() }
}

/// The services' desired counts, the schedule's and the rule's state.
fn desired(s: &Switched) -> (i32, i32, &str, &str) {
    (s.dev_api.0, s.prod_api.0, &s.dev_schedule, &s.prod_rule)
}

/// Whether each source pipeline's second stage takes runs (`None`: it has no second stage).
fn transitions(emu: &Emulator) -> Vec<(&'static str, Option<bool>)> {
    runtime().block_on(async {
        let source = aws_for(emu).await.session(SOURCE_ACCOUNT).await.unwrap();
        let cp = source.codepipeline(REGION);
        let mut out = Vec::new();
        for name in ["dev-api-build", "prod-api-release"] {
            let state = cp.get_pipeline_state().name(name).send().await.expect("GetPipelineState");
            let second = state.stage_states().get(1);
            let enabled = second.map(|s| s.inbound_transition_state().is_none_or(|t| t.enabled()));
            out.push((name, enabled));
        }
        out
    })
}

fn mutating(emu: &Emulator) -> Vec<String> {
    emu.mutating_requests()
        .iter()
        .map(|r| format!("{} {}", r["account"].as_str().unwrap_or("?"), r["operation"]))
        .collect()
}

#[test]
fn cutover_switches_copies_on_then_sources_off_and_rollback_restores_the_source() {
    let (emu, dir) = demo_world();
    let d = dir.path();
    let mut log = Vec::new();
    log.extend(inventory_and_plan(&emu, d));

    // Nothing of OU prod is applied yet: refused, nothing written.
    emu.clear_requests();
    let early = orgsplit(&emu, d, &["cutover", "plan.json", "--ou", "prod", "--yes"]);
    assert_eq!(early.code, Some(3), "{}", early.stderr);
    assert!(early.stderr.contains("not fully applied"), "{}", early.stderr);
    assert_eq!(mutating(&emu), Vec::<String>::new(), "a refused cutover wrote");

    apply_ou(&emu, d, "plan.json", "dev", &mut log);
    apply_ou(&emu, d, "plan.json", "prod", &mut log);
    // The services were manual items (no [[network]] before the accounts existed): with the
    // new accounts' networks in the config, plan again (from a new inventory: the
    // organization has changed) and apply that plan.
    add_networks(&emu, d);
    let planned = orgsplit(&emu, d, &["plan", "--out", "plan2.json"]);
    assert_eq!(planned.code, Some(0), "{}", planned.stderr);
    apply_ou(&emu, d, "plan2.json", "dev", &mut log);
    apply_ou(&emu, d, "plan2.json", "prod", &mut log);
    let none = (-1, -1, 0);
    let [source, dev, prod] = states(&emu);
    // The seeded source services: their desired counts (the seeder runs no tasks).
    assert_eq!(desired(&source), (1, 2, "ENABLED", "ENABLED"), "source before");
    assert_eq!(
        dev,
        switched((0, 0, 1), none, "DISABLED", ""),
        "apply left the dev copies quiesced"
    );
    assert_eq!(prod, switched(none, (0, 0, 1), "", "DISABLED"), "apply left prod quiesced");

    // Without --yes and with no terminal: refused before any change.
    emu.clear_requests();
    let unconfirmed =
        orgsplit(&emu, d, &["cutover", "plan2.json", "--wait-minutes", "2", "--ou", "dev"]);
    assert_eq!(unconfirmed.code, Some(3), "{}", unconfirmed.stderr);
    assert_eq!(mutating(&emu), Vec::<String>::new(), "an unconfirmed cutover wrote");

    // A copy whose tasks never start: its chain fails once the wait runs out (exit 1) and its
    // source keeps running; the OU's other chains switch. Rolled back, fixed, cut over again.
    emu.set_strict(json!({"ecs_deployment_fail": ["prod-api"]}));
    let failed = orgsplit(
        &emu,
        d,
        &["cutover", "plan2.json", "--wait-minutes", "1", "--ou", "prod", "--yes"],
    );
    assert_eq!(failed.code, Some(1), "{}{}", failed.stdout, failed.stderr);
    assert!(failed.stderr.contains("batch/prod-api"), "{}", failed.stderr);
    // A FAILED rollout (the circuit breaker) ends the wait at once; without one, the timeout.
    assert!(failed.stderr.contains("steady"), "{}", failed.stderr);
    let [source, _, prod] = states(&emu);
    assert_eq!(source.prod_api, (2, 2, 1), "the source stopped although its copy never ran");
    assert_eq!((prod.prod_api.0, prod.prod_api.1), (2, 0), "the copy asked for 2, runs none");
    assert_eq!((source.prod_rule.as_str(), prod.prod_rule.as_str()), ("DISABLED", "ENABLED"));
    emu.set_strict(json!({"ecs_deployment_fail": []}));
    let back = orgsplit(
        &emu,
        d,
        &["cutover", "plan2.json", "--wait-minutes", "2", "--ou", "prod", "--rollback", "--yes"],
    );
    assert_eq!(back.code, Some(0), "rollback: {}{}", back.stdout, back.stderr);
    let [source, _, prod] = states(&emu);
    assert_eq!(desired(&source).1, 2, "source after the rollback of a failed cutover");
    assert_eq!(source.prod_rule, "ENABLED", "the rule back to its recorded state");
    assert_eq!(desired(&prod), (-1, 0, "", "DISABLED"), "prod copies quiesced again");
    let released = vec![("dev-api-build", Some(true)), ("prod-api-release", Some(true))];
    assert_eq!(transitions(&emu), released, "prod's pipeline released");

    emu.clear_requests();
    for ou in ["dev", "prod"] {
        let run = orgsplit(
            &emu,
            d,
            &["cutover", "plan2.json", "--wait-minutes", "2", "--ou", ou, "--yes"],
        );
        assert_eq!(run.code, Some(0), "cutover {ou}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.contains("0 failed"), "{}", run.stdout);
    }
    let [source, dev, prod] = states(&emu);
    assert_eq!(desired(&source), (0, 0, "DISABLED", "DISABLED"), "source after");
    let held = vec![("dev-api-build", Some(false)), ("prod-api-release", Some(false))];
    assert_eq!(transitions(&emu), held, "the source pipelines build nothing after cutover");
    assert_eq!(dev, switched((1, 1, 1), none, "ENABLED", ""), "dev copies after");
    assert_eq!(prod, switched(none, (2, 2, 1), "", "ENABLED"), "prod copies after");
    // Each copy was up before its source went down: walking the writes in order, every source
    // write of a kind comes after at least as many copy writes of the matching kind.
    let order = mutating(&emu);
    for (up, down) in [
        ("UpdateService", "UpdateService"),
        ("UpdateSchedule", "UpdateSchedule"),
        ("EnableRule", "DisableRule"),
    ] {
        let (mut ups, mut downs) = (0, 0);
        for write in &order {
            let in_source = write.starts_with(SOURCE_ACCOUNT);
            if !in_source && write.ends_with(&format!("{up:?}")) {
                ups += 1;
            }
            if in_source && write.ends_with(&format!("{down:?}")) {
                downs += 1;
                assert!(ups >= downs, "a source {down} before its copy's {up}: {order:?}");
            }
        }
        assert!(downs > 0, "no source {down}: {order:?}");
    }

    // While another command holds the plan's lock: refused, naming the holder.
    let held = orgsplit_apply::PlanLock::acquire(&d.join("plan2.json"), "pid 1 test holder");
    let held = held.expect("lock");
    emu.clear_requests();
    let locked = orgsplit(
        &emu,
        d,
        &["cutover", "plan2.json", "--wait-minutes", "2", "--ou", "dev", "--yes"],
    );
    assert_eq!(locked.code, Some(3), "{}", locked.stderr);
    assert!(locked.stderr.contains("test holder"), "{}", locked.stderr);
    assert_eq!(mutating(&emu), Vec::<String>::new(), "a cutover without the lock wrote");
    drop(held);

    // Again: everything in place, nothing written.
    emu.clear_requests();
    let again = orgsplit(
        &emu,
        d,
        &["cutover", "plan2.json", "--wait-minutes", "2", "--ou", "dev", "--yes"],
    );
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.contains("0 changed"), "{}", again.stdout);
    assert_eq!(mutating(&emu), Vec::<String>::new(), "a second cutover wrote");

    // Rollback of prod (generation 2): the source back to its recorded count and state, the
    // copy quiesced.
    let back = orgsplit(
        &emu,
        d,
        &["cutover", "plan2.json", "--wait-minutes", "2", "--ou", "prod", "--rollback", "--yes"],
    );
    assert_eq!(back.code, Some(0), "rollback: {}{}", back.stdout, back.stderr);
    let [source, dev, prod] = states(&emu);
    assert_eq!(
        source,
        switched((0, 0, 1), (2, 2, 1), "DISABLED", "ENABLED"),
        "source after rollback"
    );
    assert_eq!(dev, switched((1, 1, 1), none, "ENABLED", ""), "dev untouched by prod's rollback");
    assert_eq!(source.prod_api, (2, 2, 1), "rollback waits until the source is steady again");
    let released = vec![("dev-api-build", Some(false)), ("prod-api-release", Some(true))];
    assert_eq!(transitions(&emu), released, "prod's pipeline released, dev's still held");
    // The copy's tasks stop in their own time (desired 0 is the switch).
    assert_eq!(desired(&prod), (-1, 0, "", "DISABLED"), "prod copies after rollback");

    // A cutover after the rollback is a new generation (3): it switches again.
    let second = orgsplit(
        &emu,
        d,
        &[
            "cutover",
            "plan2.json",
            "--wait-minutes",
            "2",
            "--ou",
            "prod",
            "--yes",
            "--output",
            "json",
        ],
    );
    assert_eq!(second.code, Some(0), "{}", second.stderr);
    let addresses: Vec<String> = second
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|e| e["address"].as_str().map(str::to_string))
        .collect();
    assert!(
        addresses.iter().any(|a| a.starts_with("cutover/3/prod/prod-workloads/ecs-service:")),
        "{addresses:?}"
    );
    let [source, _, prod] = states(&emu);
    assert_eq!((source.prod_api.0, source.prod_rule.as_str()), (0, "DISABLED"));
    assert_eq!((prod.prod_api.0, prod.prod_rule.as_str()), (2, "ENABLED"));

    // A plan made after the cutover (its own journal, nothing switched in it yet): applying
    // and cutting it over keeps the running copies running; a source at 0 whose copy runs
    // is switched already, and its copy is not scaled to the source's 0.
    let replanned = orgsplit(&emu, d, &["plan", "--out", "plan3.json"]);
    assert_eq!(replanned.code, Some(0), "{}", replanned.stderr);
    apply_ou(&emu, d, "plan3.json", "dev", &mut log);
    let args = ["cutover", "plan3.json", "--wait-minutes", "2", "--ou", "dev", "--yes"];
    let third = orgsplit(&emu, d, &args);
    assert_eq!(third.code, Some(0), "{}{}", third.stdout, third.stderr);
    assert!(third.stderr.contains("~ ecs-service:batch/dev-api"), "{}", third.stderr);
    let [source, dev, _] = states(&emu);
    assert_eq!(desired(&source).0, 0, "the source stays at 0");
    assert_eq!(dev.dev_api, (1, 1, 1), "a cutover of a later plan stopped the running copy");
    assert_eq!(dev.dev_schedule, "ENABLED");
}
