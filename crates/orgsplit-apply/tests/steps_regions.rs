//! Opt-in Regions against the (strict) emulator: a new account cannot use af-south-1 until the
//! plan's steps have enabled Account Management's trusted access and the Region; both steps
//! converge (a second run changes nothing), and the Region is read back through the API.

mod common;

use aws_sdk_account::types::RegionOptStatus;
use orgsplit_apply::{Outcome, run_step};
use orgsplit_model::Config;
use orgsplit_testkit::repo_root;
use serde_json::json;
use std::collections::BTreeMap;

const OPT_IN: &str = "af-south-1";

fn config() -> Config {
    let text = std::fs::read_to_string(repo_root().join("plans/examples/orgsplit.toml")).unwrap();
    let text = text.replacen(
        "regions = [\"us-east-1\", \"eu-west-1\"]",
        &format!("regions = [\"us-east-1\", \"{OPT_IN}\"]"),
        1,
    );
    Config::parse(std::path::Path::new("orgsplit.toml"), &text).unwrap()
}

fn changed(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Done { changed, .. } => *changed,
        Outcome::Waiting { message, .. } => panic!("waiting: {message}"),
    }
}

/// The opt-in Region's status for `account`, read from the management account.
async fn opt_status(aws: &orgsplit_aws::Aws, account: &str) -> Option<RegionOptStatus> {
    let (caller, _) = aws.caller().await.unwrap();
    let client = aws.session(&caller).await.unwrap().account();
    let request = client.get_region_opt_status().account_id(account).region_name(OPT_IN);
    request.send().await.expect("GetRegionOptStatus").region_opt_status().cloned()
}

#[test]
fn an_opt_in_region_is_enabled_in_a_new_account_and_then_usable() {
    let (emu, rt) = common::org_only(json!({"region_enable_seconds": 1.0}));
    rt.block_on(async {
        let aws = common::aws(&emu).await;
        let config = config();
        let plan = common::plan_for(&aws, &config).await;
        let account =
            common::create_account(&aws, "dev-workloads", "aws+dev-workloads@example.com").await;
        let ids = BTreeMap::from([("dev-workloads".to_string(), account.clone())]);
        let member = aws.session(&account).await.expect("member session");

        // Before: the Region refuses the new account's credentials, as AWS does.
        let refused = member.ssm(OPT_IN).describe_parameters().send().await;
        assert!(refused.is_err(), "{OPT_IN} is usable before it was enabled");

        let access = common::step(&plan, "organization/org-trusted-access:account");
        let cx = common::context(&aws, &plan, access, &ids);
        assert!(changed(&run_step(&cx).await.expect("trusted access")));
        assert!(!changed(&run_step(&cx).await.expect("trusted access again")));

        let opt_in = common::step(&plan, &format!("dev/dev-workloads/region-opt-in:{OPT_IN}"));
        let cx = common::context(&aws, &plan, opt_in, &ids);
        assert!(changed(&run_step(&cx).await.expect("enable the region")));

        // Read back through the API, from the management account and as the member.
        assert_eq!(opt_status(&aws, &account).await, Some(RegionOptStatus::Enabled));
        member
            .ssm(OPT_IN)
            .describe_parameters()
            .send()
            .await
            .expect("the Region answers once enabled");

        // A second run finds it enabled and changes nothing.
        emu.clear_requests();
        assert!(!changed(&run_step(&cx).await.expect("again")));
        assert!(emu.mutating_requests().is_empty(), "{:?}", emu.mutating_requests());
    });
}

#[test]
fn a_region_still_enabling_after_the_wait_ends_the_step_as_waiting_and_a_later_run_finishes() {
    // Hours, as AWS sometimes takes; the apply waits 2 s here instead of 10 minutes.
    let (emu, rt) = common::org_only(json!({"region_enable_seconds": 3600.0}));
    rt.block_on(async {
        let aws = orgsplit_aws::Aws::load(orgsplit_aws::AwsOptions {
            endpoint_url: Some(emu.url.clone()),
            region_enable_timeout: std::time::Duration::from_secs(2),
            ..orgsplit_aws::AwsOptions::new("us-east-1")
        })
        .await
        .expect("aws config");
        let config = config();
        let plan = common::plan_for(&aws, &config).await;
        let account =
            common::create_account(&aws, "dev-workloads", "aws+dev-workloads@example.com").await;
        let ids = BTreeMap::from([("dev-workloads".to_string(), account.clone())]);
        let access = common::step(&plan, "organization/org-trusted-access:account");
        run_step(&common::context(&aws, &plan, access, &ids)).await.expect("trusted access");
        let opt_in = common::step(&plan, &format!("dev/dev-workloads/region-opt-in:{OPT_IN}"));
        let cx = common::context(&aws, &plan, opt_in, &ids);
        let region_status = || opt_status(&aws, &account);

        for run in ["first", "second"] {
            match run_step(&cx).await.expect("opt-in step") {
                Outcome::Waiting { message, .. } => {
                    assert!(message.contains("ENABLING") && message.contains(OPT_IN), "{message}");
                }
                other => panic!("{run} run: expected waiting, got {other:?}"),
            }
            assert_eq!(region_status().await, Some(RegionOptStatus::Enabling));
        }
        // EnableRegion was asked once: the second run found the Region ENABLING and waited.
        let enables = emu.requests().iter().filter(|r| r["operation"] == "EnableRegion").count();
        assert_eq!(enables, 1);

        // AWS finishes; the next apply run completes the step.
        emu.set_strict(json!({"region_enable_seconds": 0.0}));
        assert!(matches!(run_step(&cx).await.expect("third run"), Outcome::Done { .. }));
        assert_eq!(region_status().await, Some(RegionOptStatus::Enabled));
    });
}
