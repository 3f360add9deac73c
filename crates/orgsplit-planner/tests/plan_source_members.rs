//! The members of a source configuration the planner reads for its notes and decisions, read
//! from an inventory file (configurations held as text, as `orgsplit plan` reads them) and
//! from an inventory held as trees: the same plan, and no tree left in the inventory.

mod common;

use common::*;

fn prod(kind: ResourceKind, name: &str, arn: String, config: Value) -> Resource {
    let region = Some("us-east-1".to_string());
    Resource::new(kind, name, arn, region, tags(&[("Environment", "prod")]), config, vec![])
}

/// Resources whose configurations hold every member a note or a decision is made of.
fn with_members() -> Inventory {
    let mut inv = inventory();
    inv.resources.extend([
        prod(
            ResourceKind::S3Bucket,
            "prod-exports",
            "arn:aws:s3:::prod-exports".into(),
            json!({"ObjectCount": 12, "ObjectCountIsLowerBound": true,
                "ReplicationDestinations": ["arn:aws:s3:::dr-exports", 7],
                "NotificationDestinations": ["arn:aws:sqs:us-east-1:222222222222:exports"],
                "LoggingTargetBucket": "audit-logs"}),
        ),
        prod(
            ResourceKind::KmsKey,
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            format!("arn:aws:kms:us-east-1:{SRC}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
            json!({"Origin": "EXTERNAL", "MultiRegion": true, "KeyState": "Disabled",
                "Aliases": ["alias/prod-imported"]}),
        ),
        prod(
            ResourceKind::CodeBuildProject,
            "prod-build",
            format!("arn:aws:codebuild:us-east-1:{SRC}:project/prod-build"),
            json!({"name": "prod-build", "source": {"type": "GITHUB", "location": "x"},
                "vpcConfig": {"vpcId": "vpc-0a1b2c3d"}}),
        ),
        prod(
            ResourceKind::Secret,
            "prod/rotated",
            format!("arn:aws:secretsmanager:us-east-1:{SRC}:secret:prod/rotated-AbCdEf"),
            json!({"RotationEnabled": true,
                "RotationLambdaARN": format!("arn:aws:lambda:us-east-1:{SRC}:function:rotate"),
                "ReplicaRegions": ["eu-west-1"]}),
        ),
    ]);
    inv.normalise();
    inv
}

fn plan_with(inv: Inventory) -> Plan {
    build_plan(PlanInput {
        config: &config(),
        inventory: &inv,
        stacksets: &baseline(),
        created_at: "2026-11-23T09:30:00Z".into(),
    })
    .unwrap()
}

fn step<'p>(plan: &'p Plan, address_end: &str) -> &'p Step {
    plan.steps()
        .find(|s| s.address.ends_with(address_end))
        .unwrap_or_else(|| panic!("no step ending in {address_end}"))
}

fn assert_noted(step: &Step, parts: &[&str]) {
    for part in parts {
        assert!(
            step.notes.iter().any(|n| n.contains(part)),
            "{}: no note with {part:?}: {:?}",
            step.address,
            step.notes
        );
    }
}

#[test]
#[cfg_attr(not(debug_assertions), ignore = "relies on the planner's debug assertions")]
fn the_members_read_from_text_and_from_trees_make_the_same_plan() {
    let trees = with_members();
    let from_file: Inventory =
        serde_json::from_str(&serde_json::to_string(&trees).unwrap()).unwrap();
    assert!(from_file.resources.iter().all(|r| r.config.as_text().is_some()));
    // That planning from text keeps no tree in the inventory is asserted by the planner itself
    // where it frees the configurations (a debug assertion: tests are debug builds).
    let plan = plan_with(from_file);
    assert_eq!(plan.ous, plan_with(trees).ous);

    let bucket = step(&plan, "/s3:prod-exports");
    assert_noted(
        bucket,
        &[
            "replication (to arn:aws:s3:::dr-exports)",
            "event notifications (to arn:aws:sqs:us-east-1:222222222222:exports)",
            "server access logging (to bucket audit-logs)",
        ],
    );
    let key = step(&plan, "/kms:1234abcd-12ab-34cd-56ef-1234567890ab");
    assert_eq!(key.action, Action::Manual);
    assert_noted(
        key,
        &[
            "its key material comes from EXTERNAL: create the key in this account the same way, with aliases alias/prod-imported",
            "a multi-Region key in the source",
            "disabled in the source",
        ],
    );
    let project = step(&plan, "/codebuild:prod-build");
    assert_eq!(project.action, Action::Manual);
    assert_noted(project, &["its GITHUB source needs credentials", "the source account's VPC"]);
    let secret = step(&plan, "/secret:prod/rotated");
    assert_noted(
        secret,
        &[
            &format!("rotation (by arn:aws:lambda:us-east-1:{SRC}:function:rotate) is not copied"),
            "replicated to eu-west-1 as in the source",
        ],
    );
}
