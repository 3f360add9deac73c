//! An inventory that finishes: a bucket whose policy denies the access role (the emulator
//! evaluates the Deny, as S3 does) is recorded as unreadable, the inventory and the plan go
//! on, the bucket is a manual item saying what could not be read, and the review warns.
#![allow(clippy::print_stdout)] // the test prints what the step says

mod common;

use common::{aws_for, demo_world, inventory_and_plan};
use orgsplit_model::{Action, Plan};
use orgsplit_testkit::{SOURCE_ACCOUNT, runtime};

const LOCKED: &str = "acme-prod-locked-reports";

#[test]
fn a_bucket_the_access_role_may_not_read_is_a_manual_item_not_the_end_of_the_inventory() {
    let (emu, dir) = demo_world();
    let d = dir.path();
    runtime().block_on(async {
        let source = aws_for(&emu).await.session(SOURCE_ACCOUNT).await.unwrap();
        let s3 = source.s3("us-east-1");
        s3.create_bucket().bucket(LOCKED).send().await.expect("CreateBucket");
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{LOCKED}"), format!("arn:aws:s3:::{LOCKED}/*")],
            "Condition": {"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/data-admin"}}}]});
        let put = s3.put_bucket_policy().bucket(LOCKED).policy(policy.to_string());
        put.send().await.expect("PutBucketPolicy");
    });
    let [inventory, plan_run] = inventory_and_plan(&emu, d);
    assert_eq!(inventory.code, Some(0), "{}", inventory.stderr);
    assert_eq!(plan_run.code, Some(0), "{}", plan_run.stderr);
    assert!(
        emu.requests().iter().any(|r| r["refused"] == "bucket_policies"),
        "the emulator refused no read: the test proves nothing"
    );

    let plan = Plan::from_json(&std::fs::read_to_string(d.join("plan.json")).unwrap()).unwrap();
    let address = format!("prod/prod-workloads/s3:{LOCKED}");
    let step = plan.steps().find(|s| s.address == address).expect("a step for the locked bucket");
    assert_eq!(step.action, Action::Manual, "{step:#?}");
    assert!(
        step.notes
            .iter()
            .any(|n| n.contains("could not be read (") && n.contains(": AccessDenied")),
        "{:?}",
        step.notes
    );
    // The other buckets are still copies.
    let copies = plan.steps().filter(|s| s.address.contains("/s3:") && s.action == Action::Create);
    assert_eq!(copies.count(), 4, "the demo's two shared buckets, in dev and in prod");
    assert!(plan_run.stdout.contains("could not be read"), "{}", plan_run.stdout);
    println!("{address}: {}", step.notes.join(" | "));
}
