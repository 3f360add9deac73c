//! `orgsplit cleanup` on the demo, read back through the AWS API: refused before the OU's
//! cutover is complete; a copy changed by hand stops its own delete (exit 3, named, its value
//! nowhere in the output) while the rest goes; shared resources stay until the last OU is
//! cleaned up; a bucket that holds objects is kept (exit 3) until a person empties it; the
//! shared account ends holding none of what was copied, and once a person has done the manual
//! items, the audit finds no mixed environments there.

mod common;

use common::{Run, add_networks, apply_ou, aws_for, demo_world, inventory_and_plan, orgsplit};
use orgsplit_aws::AccountSession;
use orgsplit_testkit::{Emulator, SOURCE_ACCOUNT, runtime};
use std::collections::BTreeSet;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

/// What the shared account holds of the kinds cleanup deletes, as `kind:name`.
fn source_names(emu: &Emulator) -> BTreeSet<String> {
    runtime().block_on(async {
        let s = aws_for(emu).await.session(SOURCE_ACCOUNT).await.unwrap();
        names(&s).await
    })
}

async fn names(s: &AccountSession) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for region in REGIONS {
        let mut pages = s.ssm(region).describe_parameters().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.unwrap();
            out.extend(page.parameters().iter().map(|p| format!("ssm:{}", p.name().unwrap())));
        }
        let secrets = s.secretsmanager(region).list_secrets().send().await.unwrap();
        out.extend(
            secrets.secret_list().iter().map(|x| format!("secret:{}@{region}", x.name().unwrap())),
        );
    }
    let region = REGIONS[0];
    let roles = s.iam().list_roles().send().await.unwrap();
    out.extend(
        roles
            .roles()
            .iter()
            .filter(|r| !r.path().starts_with("/aws-service-role/"))
            .filter(|r| r.role_name() != "OrganizationAccountAccessRole")
            .map(|r| format!("iam-role:{}", r.role_name())),
    );
    let policies = s.iam().list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local);
    let policies = policies.send().await.unwrap();
    out.extend(
        policies.policies().iter().map(|p| format!("iam-policy:{}", p.policy_name().unwrap())),
    );
    let groups = s.logs(region).describe_log_groups().send().await.unwrap();
    out.extend(groups.log_groups().iter().map(|g| format!("logs:{}", g.log_group_name().unwrap())));
    let buckets = s.s3(region).list_buckets().send().await.unwrap();
    out.extend(buckets.buckets().iter().map(|b| format!("s3:{}", b.name().unwrap())));
    let ecs = s.ecs(region);
    for cluster in ecs.list_clusters().send().await.unwrap().cluster_arns() {
        let name = cluster.rsplit('/').next().unwrap();
        out.insert(format!("ecs-cluster:{name}"));
        for svc in ecs.list_services().cluster(cluster).send().await.unwrap().service_arns() {
            out.insert(format!("ecs-service:{name}/{}", svc.rsplit('/').next().unwrap()));
        }
    }
    let families = ecs
        .list_task_definition_families()
        .status(aws_sdk_ecs::types::TaskDefinitionFamilyStatus::Active)
        .send()
        .await
        .unwrap();
    out.extend(families.families().iter().map(|f| format!("ecs-taskdef:{f}")));
    let rules = s.events(region).list_rules().send().await.unwrap();
    out.extend(rules.rules().iter().map(|r| format!("events-rule:{}", r.name().unwrap())));
    let schedules = s.scheduler(region).list_schedules().send().await.unwrap();
    out.extend(schedules.schedules().iter().map(|x| format!("schedule:{}", x.name().unwrap())));
    let pipelines = s.codepipeline(region).list_pipelines().send().await.unwrap();
    out.extend(pipelines.pipelines().iter().map(|p| format!("pipeline:{}", p.name().unwrap())));
    // A v1 pipeline's webhooks outlive DeletePipeline: cleanup must remove them itself.
    let hooks = s.codepipeline(region).list_webhooks().send().await.unwrap();
    out.extend(
        hooks
            .webhooks()
            .iter()
            .filter_map(|h| h.definition())
            .map(|w| format!("webhook:{}->{}", w.name(), w.target_pipeline())),
    );
    let projects = s.codebuild(region).list_projects().send().await.unwrap();
    out.extend(projects.projects().iter().map(|p| format!("codebuild:{p}")));
    out
}

fn cleanup(emu: &Emulator, dir: &std::path::Path, ou: &str) -> Run {
    let args = ["cleanup", "plan2.json", "--ou", ou, "--yes", "--delete-logs"];
    orgsplit(emu, dir, &args)
}

/// The names in `a` and not in `b`.
fn gone(a: &BTreeSet<String>, b: &BTreeSet<String>) -> BTreeSet<String> {
    a.difference(b).cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// A session in the source account and in prod-workloads.
fn sessions(emu: &Emulator) -> (AccountSession, AccountSession) {
    runtime().block_on(async {
        let aws = aws_for(emu).await;
        let (caller, _) = aws.caller().await.unwrap();
        let mgmt = aws.session(&caller).await.unwrap();
        let ids = orgsplit_aws::organizations::accounts_by_email(&mgmt).await.unwrap();
        let source = aws.session(SOURCE_ACCOUNT).await.unwrap();
        (source, aws.session(&ids["aws+prod-workloads@example.com"]).await.unwrap())
    })
}

#[test]
fn cleanup_deletes_what_each_ou_copied_and_shared_resources_after_the_last_ou() {
    let (emu, dir) = demo_world();
    let d = dir.path();
    let mut log = Vec::new();
    log.extend(inventory_and_plan(&emu, d));
    apply_ou(&emu, d, "plan.json", "dev", &mut log);
    apply_ou(&emu, d, "plan.json", "prod", &mut log);
    // Services are copied once the new accounts' networks are in the config: plan again.
    add_networks(&emu, d);
    let planned = orgsplit(&emu, d, &["plan", "--out", "plan2.json"]);
    assert_eq!(planned.code, Some(0), "{}", planned.stderr);
    apply_ou(&emu, d, "plan2.json", "dev", &mut log);
    apply_ou(&emu, d, "plan2.json", "prod", &mut log);
    let before = source_names(&emu);
    let hook = "webhook:prod-api-release--Source--acme--api->prod-api-release";
    assert!(before.contains(hook), "the scenario's v1 webhook is missing: {before:?}");

    // Before its cutover: refused, nothing written.
    emu.clear_requests();
    let early = cleanup(&emu, d, "dev");
    assert_eq!(early.code, Some(3), "{}", early.stderr);
    assert!(early.stderr.contains("cutover of OU dev is not complete"), "{}", early.stderr);
    assert!(emu.mutating_requests().is_empty(), "a refused cleanup wrote");
    for ou in ["dev", "prod"] {
        let args = ["cutover", "plan2.json", "--ou", ou, "--yes", "--wait-minutes", "2"];
        let run = orgsplit(&emu, d, &args);
        assert_eq!(run.code, Some(0), "cutover {ou}: {}{}", run.stdout, run.stderr);
    }

    // A source changed since the plan (a tag added): refused before any delete, as stale,
    // until it is as planned again.
    let (source, prod_account) = sessions(&emu);
    let tag = |add: bool| {
        runtime().block_on(async {
            let ssm = source.ssm("us-east-1");
            let id = "/dev/api/LOG_LEVEL";
            let kind = aws_sdk_ssm::types::ResourceTypeForTagging::Parameter;
            if add {
                let t =
                    aws_sdk_ssm::types::Tag::builder().key("late").value("edit").build().unwrap();
                ssm.add_tags_to_resource()
                    .resource_type(kind)
                    .resource_id(id)
                    .tags(t)
                    .send()
                    .await
                    .unwrap();
            } else {
                ssm.remove_tags_from_resource()
                    .resource_type(kind)
                    .resource_id(id)
                    .tag_keys("late")
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    tag(true);
    emu.clear_requests();
    let stale = cleanup(&emu, d, "dev");
    assert_eq!(stale.code, Some(3), "{}{}", stale.stdout, stale.stderr);
    assert!(
        stale.stderr.contains("plan is stale") && stale.stderr.contains("/dev/api/LOG_LEVEL"),
        "{}",
        stale.stderr
    );
    assert!(emu.mutating_requests().is_empty(), "a stale cleanup wrote");
    tag(false);

    // While another command holds the plan's lock: refused, naming the holder, no write.
    let held = orgsplit_apply::PlanLock::acquire(&d.join("plan2.json"), "pid 1 test holder");
    let held = held.expect("lock");
    emu.clear_requests();
    let locked = cleanup(&emu, d, "dev");
    assert_eq!(locked.code, Some(3), "{}", locked.stderr);
    assert!(locked.stderr.contains("test holder"), "{}", locked.stderr);
    assert!(emu.mutating_requests().is_empty(), "a cleanup without the lock wrote");
    drop(held);

    // dev: its own resources go; what prod copied too (shared) stays, listed with `!`.
    let dev = cleanup(&emu, d, "dev");
    assert_eq!(dev.code, Some(0), "{}{}", dev.stdout, dev.stderr);
    assert!(
        dev.stdout
            .contains("  ! iam-role:codebuild-service: shared: waits for the cleanup of OU prod"),
        "{}",
        dev.stdout
    );
    let after_dev = source_names(&emu);
    let dev_only = [
        "ecs-service:batch/dev-api",
        "ecs-taskdef:dev-api",
        "ecs-taskdef:dev-mail-sender",
        "iam-role:dev-mail-sender-task",
        "iam-role:scheduler-run-task",
        "logs:/ecs/dev-api",
        "logs:/ecs/dev-mail-sender",
        "pipeline:dev-api-build",
        "schedule:dev-mail-hourly",
        "secret:dev/mailer/api-key@us-east-1",
    ];
    let deleted = gone(&before, &after_dev);
    let (params, rest): (BTreeSet<String>, BTreeSet<String>) =
        deleted.into_iter().partition(|n| n.starts_with("ssm:"));
    assert_eq!(rest, set(&dev_only), "what dev's cleanup deleted besides parameters");
    assert!(params.iter().all(|p| p.starts_with("ssm:/dev/")), "{params:?}");
    assert_eq!(params.len(), 20, "{params:?}");
    assert!(after_dev.contains("ssm:/shared/org/NAME") && after_dev.contains("ecs-cluster:batch"));
    assert!(after_dev.contains("ecs-service:batch/prod-api"), "prod's own resources stay");

    // The secret is recoverable for the default 30 days; no rollback once cleanup began.
    let deleted_in = runtime().block_on(async {
        let sm = source.secretsmanager("us-east-1");
        let d = sm.describe_secret().secret_id("dev/mailer/api-key").send().await.unwrap();
        let when = d.deleted_date().expect("DeletedDate").secs();
        when - std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
            as i64
    });
    assert!((29 * 86400..=30 * 86400 + 60).contains(&deleted_in), "{deleted_in} s");
    let args = ["cutover", "plan2.json", "--ou", "dev", "--rollback", "--yes"];
    let back = orgsplit(&emu, d, &args);
    assert_eq!(back.code, Some(3), "{}", back.stderr);
    assert!(back.stderr.contains("cleanup of OU dev has begun"), "{}", back.stderr);

    // A prod copy changed by hand: its source stays (exit 3, named), the value is nowhere in
    // the output; the rest of prod goes.
    const HAND_VALUE: &str = "changed-by-hand-7f3a";
    runtime().block_on(async {
        let ssm = prod_account.ssm("us-east-1");
        let put = ssm.put_parameter().name("/prod/api/LOG_LEVEL").value(HAND_VALUE).overwrite(true);
        put.send().await.unwrap();
    });
    let prod = cleanup(&emu, d, "prod");
    assert_eq!(prod.code, Some(3), "{}{}", prod.stdout, prod.stderr);
    let all = format!("{}{}", prod.stdout, prod.stderr);
    assert!(
        all.contains(
            "ssm:/prod/api/LOG_LEVEL differs from its source (apply would call ssm:PutParameter)"
        ),
        "{all}"
    );
    assert!(!all.contains(HAND_VALUE), "the copy's value reached the output");
    // The versioned Terraform state bucket holds objects, and a standalone task (a manual
    // item) still runs in the cluster: both kept, named.
    assert!(all.contains("bucket acme-terraform-state holds objects"), "{all}");
    assert!(all.contains("cluster batch still runs tasks"), "{all}");
    let after_prod = source_names(&emu);
    assert!(
        after_prod.contains("ssm:/prod/api/LOG_LEVEL"),
        "a differing copy's source was deleted"
    );
    assert!(
        !after_prod.contains("ssm:/prod/api/DB_URL")
            && !after_prod.contains("iam-role:codebuild-service")
    );
    assert!(!after_prod.contains("ssm:/shared/org/NAME"), "the last OU deletes shared resources");

    // A person puts the copy right, empties the bucket and stops the task: cleanup ends.
    runtime().block_on(async {
        let value =
            source.ssm("us-east-1").get_parameter().name("/prod/api/LOG_LEVEL").send().await;
        let value = value.unwrap().parameter().unwrap().value().unwrap().to_string();
        let ssm = prod_account.ssm("us-east-1");
        ssm.put_parameter()
            .name("/prod/api/LOG_LEVEL")
            .value(value)
            .overwrite(true)
            .send()
            .await
            .unwrap();
        let s3 = source.s3("us-east-1");
        let versions =
            s3.list_object_versions().bucket("acme-terraform-state").send().await.unwrap();
        let ids =
            versions.versions().iter().map(|v| (v.key().unwrap(), v.version_id().unwrap())).chain(
                versions
                    .delete_markers()
                    .iter()
                    .map(|m| (m.key().unwrap(), m.version_id().unwrap())),
            );
        for (key, version) in ids {
            s3.delete_object()
                .bucket("acme-terraform-state")
                .key(key)
                .version_id(version)
                .send()
                .await
                .unwrap();
        }
        let ecs = source.ecs("us-east-1");
        for task in ecs.list_tasks().cluster("batch").send().await.unwrap().task_arns() {
            ecs.stop_task().cluster("batch").task(task).send().await.unwrap();
        }
    });
    let last = cleanup(&emu, d, "prod");
    assert_eq!(last.code, Some(0), "{}{}", last.stdout, last.stderr);
    let left = source_names(&emu);
    assert_eq!(left, BTreeSet::new(), "the shared account still holds copied resources");
    // `status` lists the derived actions from the journal, per command and OU.
    let status = orgsplit(&emu, d, &["status", "plan2.json"]);
    assert_eq!(status.code, Some(0), "{}", status.stderr);
    for line in ["OU dev cutover (generation 1): ", "OU prod cutover (generation 1): "] {
        assert!(status.stdout.contains(line), "{line}: {}", status.stdout);
    }
    let cleaned = status.stdout.lines().find(|l| l.starts_with("cleanup of the shared account: "));
    let cleaned = cleaned.unwrap_or_else(|| panic!("{}", status.stdout));
    assert!(!cleaned.contains("waiting") && !cleaned.contains("failed"), "{cleaned}");

    // What is left is the person's: the tagged manual items (moved by hand; here deleted) and
    // the KMS key cleanup kept (its deletion scheduled). Then the audit finds no mixed
    // environments in the shared account.
    runtime().block_on(async {
        let region = "us-east-1";
        source.dynamodb(region).delete_table().table_name("dev-sessions").send().await.unwrap();
        let sqs = source.sqs(region);
        let url = sqs.get_queue_url().queue_name("prod-mail-outbox").send().await.unwrap();
        sqs.delete_queue().queue_url(url.queue_url().unwrap()).send().await.unwrap();
        let kms = source.kms(region);
        for key in kms.list_keys().send().await.unwrap().keys() {
            let meta = kms.describe_key().key_id(key.key_id().unwrap()).send().await.unwrap();
            let meta = meta.key_metadata().unwrap();
            if meta.key_manager().map(|m| m.as_str()) == Some("CUSTOMER") {
                let id = meta.key_id();
                kms.schedule_key_deletion()
                    .key_id(id)
                    .pending_window_in_days(30)
                    .send()
                    .await
                    .unwrap();
            }
        }
    });
    let audit = orgsplit(&emu, d, &["audit", "--output", "json"]);
    let report: serde_json::Value = serde_json::from_str(&audit.stdout).expect("audit JSON");
    let mixed: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "mixed-environments")
        .collect();
    assert_eq!(mixed, Vec::<&serde_json::Value>::new(), "{}", audit.stderr);
    assert!(!audit.stderr.contains("webhooks of a pipeline not listed"), "{}", audit.stderr);
    let source_audited = report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["account_id"] == SOURCE_ACCOUNT && a["audited"] == true);
    assert!(source_audited, "the shared account was not audited: {}", audit.stdout);
}
