//! Staleness is a change in what a step copies, not in what moves by itself. Between plan and
//! apply, objects written to a copied bucket, a copied secret given a new value and a rule and
//! a schedule disabled (their state is cutover's, not copied) do not stop apply, and the copy
//! holds the secret's current value; a log group's retention changed (a member the copy
//! carries) stops the OU's apply with exit 3, naming only it, and changes nothing. Once an
//! OU's steps have all succeeded, its apply compares nothing again.

mod common;

use common::{apply_ou, aws_for, demo_world, inventory_and_plan, orgsplit};
use orgsplit_testkit::{SOURCE_ACCOUNT, runtime};

const REGION: &str = "us-east-1";
const SECRET: &str = "dev/mailer/api-key";
const ROTATED: &str = "dev-mailer-apikey-rotated-after-the-plan";
/// Retention 90 days in the demo.
const LOG_GROUP: &str = "/ecs/prod-mail-sender";
const RULE: &str = "prod-nightly-mail";
const SCHEDULE: &str = "dev-mail-hourly";
/// Copied by dev's apply.
const DEV_PARAMETER: &str = "/dev/api/LOG_LEVEL";

#[test]
fn what_moves_by_itself_does_not_stop_apply_and_a_copied_change_does() {
    let (emu, dir) = demo_world();
    let d = dir.path();
    let mut log = Vec::new();
    log.extend(inventory_and_plan(&emu, d));
    let rt = runtime();

    // After the plan: a shared bucket written to, the dev secret rotated, the prod rule and
    // the dev schedule disabled.
    rt.block_on(async {
        let source = aws_for(&emu).await.session(SOURCE_ACCOUNT).await.unwrap();
        let put = source.s3(REGION).put_object().bucket("acme-terraform-state").key("new.tfstate");
        put.body(b"{}".to_vec().into()).send().await.expect("PutObject");
        let rotate = source.secretsmanager(REGION).put_secret_value().secret_id(SECRET);
        rotate.secret_string(ROTATED).send().await.expect("PutSecretValue");
        let disable = source.events(REGION).disable_rule().name(RULE);
        disable.send().await.expect("DisableRule");
        let scheduler = source.scheduler(REGION);
        let live = scheduler.get_schedule().name(SCHEDULE).send().await.expect("GetSchedule");
        scheduler
            .update_schedule()
            .name(SCHEDULE)
            .set_schedule_expression(live.schedule_expression().map(str::to_string))
            .set_flexible_time_window(live.flexible_time_window().cloned())
            .set_target(live.target().cloned())
            .state(aws_sdk_scheduler::types::ScheduleState::Disabled)
            .send()
            .await
            .expect("UpdateSchedule");
    });
    apply_ou(&emu, d, "plan.json", "dev", &mut log);
    let copied = rt.block_on(async {
        let aws = aws_for(&emu).await;
        let (caller, _) = aws.caller().await.unwrap();
        let mgmt = aws.session(&caller).await.unwrap();
        let ids = orgsplit_aws::organizations::accounts_by_email(&mgmt).await.unwrap();
        let target = aws.session(&ids["aws+dev-workloads@example.com"]).await.unwrap();
        let got = target.secretsmanager(REGION).get_secret_value().secret_id(SECRET).send().await;
        got.expect("GetSecretValue in dev-workloads").secret_string().map(str::to_string)
    });
    assert_eq!(copied.as_deref(), Some(ROTATED), "the copy does not hold the current value");

    // A prod log group's retention changed: what its copy carries, so prod's apply refuses.
    rt.block_on(async {
        let source = aws_for(&emu).await.session(SOURCE_ACCOUNT).await.unwrap();
        let request = source.logs(REGION).put_retention_policy().log_group_name(LOG_GROUP);
        request.retention_in_days(365).send().await.expect("PutRetentionPolicy");
    });
    emu.clear_requests();
    let refused = orgsplit(&emu, d, &["apply", "plan.json", "--ou", "prod", "--yes"]);
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    assert!(refused.stderr.contains("plan is stale"), "{}", refused.stderr);
    assert!(refused.stderr.contains(LOG_GROUP), "{}", refused.stderr);
    assert!(!refused.stderr.contains(RULE), "a disabled rule counted as stale: {}", refused.stderr);
    assert_eq!(emu.mutating_requests(), Vec::<serde_json::Value>::new(), "a refused apply wrote");

    // Every dev step has succeeded: a source dev's apply copied, changed since (a tag added:
    // part of its fingerprint), is cleanup's
    // to compare (it deletes the source), not a reason to stop a run with nothing left to
    // copy; that run reads no source object again.
    rt.block_on(async {
        let source = aws_for(&emu).await.session(SOURCE_ACCOUNT).await.unwrap();
        let tag = aws_sdk_ssm::types::Tag::builder().key("Owner").value("api-team").build();
        let ssm = source.ssm(REGION);
        let request = ssm.add_tags_to_resource().resource_id(DEV_PARAMETER);
        let request = request.resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter);
        request.tags(tag.unwrap()).send().await.expect("AddTagsToResource");
    });
    emu.clear_requests();
    let resumed = orgsplit(&emu, d, &["apply", "plan.json", "--ou", "dev", "--yes"]);
    assert_eq!(resumed.code, Some(0), "{}", resumed.stderr);
    let source_reads: Vec<_> = emu
        .requests()
        .into_iter()
        .filter(|r| r["account"] == SOURCE_ACCOUNT && r["service"] != "sts")
        .collect();
    assert_eq!(source_reads, Vec::<serde_json::Value>::new(), "a done run read the source");
    assert_eq!(emu.mutating_requests(), Vec::<serde_json::Value>::new(), "a done run wrote");
}
