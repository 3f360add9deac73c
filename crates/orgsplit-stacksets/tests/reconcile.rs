//! `reconcile_account` against the emulator: an account in `dev` gets dev's StackSet and
//! trusts exactly dev's admin; moved to `prod`, it trusts exactly prod's admin and dev's
//! instance is gone; a second run changes nothing; drift is repaired; a role that trusts
//! anyone else is reported.

use orgsplit_aws::policy::policy_document;
use orgsplit_aws::{Aws, AwsOptions};
use orgsplit_stacksets::reconcile::{
    self, AccountReconcile, DesiredStackSet, OuStackSets, ReconcileError,
};
use orgsplit_testkit::{Emulator, MANAGEMENT_ACCOUNT, drift_stackset_by_hand, runtime};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const REGION: &str = "us-east-1";

async fn aws(emu: &Emulator) -> Aws {
    Aws::load(AwsOptions { endpoint_url: Some(emu.url.clone()), ..AwsOptions::new(REGION) })
        .await
        .expect("aws config")
}

struct Org {
    org_id: String,
    dev: String,
    prod: String,
    dev_admin: String,
    prod_admin: String,
    member: String,
}

async fn create_account(aws: &Aws, name: &str) -> String {
    let org = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().organizations();
    orgsplit_testkit::create_account(&org, name, &format!("aws+{name}@example.com")).await
}

async fn create_ou(aws: &Aws, root: &str, name: &str) -> String {
    let org = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().organizations();
    let out = org
        .create_organizational_unit()
        .parent_id(root)
        .name(name)
        .send()
        .await
        .expect("create OU");
    out.organizational_unit().and_then(|o| o.id()).unwrap().to_string()
}

async fn move_account(aws: &Aws, account: &str, from: &str, to: &str) {
    let org = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().organizations();
    org.move_account()
        .account_id(account)
        .source_parent_id(from)
        .destination_parent_id(to)
        .send()
        .await
        .expect("move account");
}

/// OUs dev and prod, their admin accounts (left under the root) and a member in dev.
async fn organization(aws: &Aws) -> Org {
    let org = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().organizations();
    let root = org.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string();
    let org_id = org
        .describe_organization()
        .send()
        .await
        .unwrap()
        .organization()
        .and_then(|o| o.id())
        .unwrap()
        .to_string();
    let dev = create_ou(aws, &root, "dev").await;
    let prod = create_ou(aws, &root, "prod").await;
    let dev_admin = create_account(aws, "dev-admin").await;
    let prod_admin = create_account(aws, "prod-admin").await;
    let member = create_account(aws, "member").await;
    move_account(aws, &member, &root, &dev).await;
    Org { org_id, dev, prod, dev_admin, prod_admin, member }
}

/// The shipped baseline, as the planner resolves it for one OU.
fn baseline(ou: &str, admin: &str, org_id: &str) -> DesiredStackSet {
    let dir = tempfile::tempdir().unwrap();
    let entry =
        orgsplit_stacksets::resolve(dir.path(), &["baseline".to_string()]).unwrap().remove(0);
    DesiredStackSet {
        name: entry.spec.stackset_name(ou),
        template_body: entry.template,
        description: entry.spec.description,
        capabilities: entry.spec.capabilities,
        parameters: BTreeMap::from([
            ("AdminAccountId".to_string(), admin.to_string()),
            ("OrganizationId".to_string(), org_id.to_string()),
            (
                "TerraformApplyPolicyArn".to_string(),
                "arn:aws:iam::aws:policy/AdministratorAccess".to_string(),
            ),
        ]),
        auto_deployment: true,
        regions: vec![REGION.to_string()],
        operation: entry.spec.operation,
    }
}

/// The preferences every operation on `stackset` ran with, as DescribeStackSetOperation
/// answers them (`MaxConcurrentPercentage/FailureTolerancePercentage/Region…/Mode`).
async fn operation_preferences(aws: &Aws, stackset: &str) -> Vec<String> {
    let cfn = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().cloudformation(REGION);
    let ops = cfn.list_stack_set_operations().stack_set_name(stackset).send().await.unwrap();
    let mut out = Vec::new();
    for summary in ops.summaries() {
        let id = summary.operation_id().unwrap();
        let got = cfn.describe_stack_set_operation().stack_set_name(stackset).operation_id(id);
        let got = got.send().await.unwrap();
        let p = got.stack_set_operation().and_then(|o| o.operation_preferences());
        out.push(p.map_or("none".to_string(), |p| {
            format!(
                "{:?}/{:?}/{}/{}",
                p.max_concurrent_percentage(),
                p.failure_tolerance_percentage(),
                p.region_concurrency_type().map_or("-", |r| r.as_str()),
                p.concurrency_mode().map_or("-", |m| m.as_str())
            )
        }));
    }
    out
}

fn desired(o: &Org) -> Vec<OuStackSets> {
    vec![
        OuStackSets {
            ou_name: "dev".into(),
            ou_id: o.dev.clone(),
            stacksets: vec![baseline("dev", &o.dev_admin, &o.org_id)],
        },
        OuStackSets {
            ou_name: "prod".into(),
            ou_id: o.prod.clone(),
            stacksets: vec![baseline("prod", &o.prod_admin, &o.org_id)],
        },
    ]
}

/// The trust policy of `role` in `account`, read through IAM in that account.
async fn trust_of(aws: &Aws, account: &str, role: &str) -> Value {
    let iam = aws.session(account).await.unwrap().iam();
    let out = iam.get_role().role_name(role).send().await.expect("GetRole");
    policy_document(out.role().unwrap().assume_role_policy_document().unwrap())
}

/// Exactly one statement: Allow, the admin's root, inside the organization.
fn assert_trusts_exactly(doc: &Value, admin: &str, org_id: &str) {
    let statements = doc["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 1, "{doc}");
    let s = &statements[0];
    assert_eq!(s["Effect"], "Allow", "{doc}");
    assert_eq!(s["Principal"], json!({"AWS": format!("arn:aws:iam::{admin}:root")}), "{doc}");
    assert_eq!(s["Condition"], json!({"StringEquals": {"aws:PrincipalOrgID": org_id}}), "{doc}");
}

/// Accounts with an instance of `stackset`, straight from ListStackInstances.
async fn instance_accounts(aws: &Aws, stackset: &str) -> Vec<(String, String)> {
    let cfn = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().cloudformation(REGION);
    let out = cfn
        .list_stack_instances()
        .stack_set_name(stackset)
        .send()
        .await
        .expect("ListStackInstances");
    out.summaries()
        .iter()
        .map(|s| {
            (
                s.account().unwrap_or_default().to_string(),
                s.status().map(|x| x.as_str().to_string()).unwrap_or_default(),
            )
        })
        .collect()
}

fn reconcile(rt: &tokio::runtime::Runtime, aws: &Aws, o: &Org) -> AccountReconcile {
    rt.block_on(reconcile::reconcile_account(aws, &desired(o), &o.member))
        .unwrap_or_else(|e| panic!("reconcile: {e}"))
}

/// A second reconcile finds everything in place: no write, and a handful of reads.
fn assert_second_run_is_quiet(rt: &tokio::runtime::Runtime, emu: &Emulator, aws: &Aws, o: &Org) {
    emu.clear_requests();
    let again = reconcile(rt, aws, o);
    assert!(!again.changed(), "second reconcile changed something: {again:?}");
    assert_eq!(again.roles_verified.len(), 2, "{again:?}");
    let requests = emu.requests();
    let mutating: Vec<_> = requests.iter().filter(|r| r["mutating"] == true).collect();
    assert!(mutating.is_empty(), "second reconcile wrote: {mutating:?}");
    // ListParents, per StackSet one Describe or List, ListStackInstances, GetRole x2.
    assert!(requests.len() <= 6, "{} calls for one account: {requests:?}", requests.len());
}

#[test]
fn an_account_trusts_exactly_its_ous_admin_before_and_after_a_move() {
    let emu = Emulator::start_with(Some("org-only"));
    emu.export_env();
    let rt = runtime();
    let aws = rt.block_on(aws(&emu));
    let o = rt.block_on(organization(&aws));

    let first = reconcile(&rt, &aws, &o);
    assert_eq!(first.ou_name.as_deref(), Some("dev"));
    assert_eq!(first.stacksets_created, ["orgsplit-baseline-dev"]);
    assert_eq!(first.instances_created, ["orgsplit-baseline-dev us-east-1"]);
    assert!(first.instances_removed.is_empty(), "{first:?}");
    rt.block_on(async {
        for role in ["terraform-apply", "terraform-plan"] {
            let doc = trust_of(&aws, &o.member, role).await;
            assert_trusts_exactly(&doc, &o.dev_admin, &o.org_id);
        }
        let instances = instance_accounts(&aws, "orgsplit-baseline-dev").await;
        assert_eq!(instances, [(o.member.clone(), "CURRENT".to_string())]);
        // The instance was created with the shipped preferences (stackset.toml's defaults).
        let ran = operation_preferences(&aws, "orgsplit-baseline-dev").await;
        assert_eq!(ran, ["Some(100)/Some(10)/PARALLEL/SOFT_FAILURE_TOLERANCE"]);
    });
    assert_second_run_is_quiet(&rt, &emu, &aws, &o);

    rt.block_on(move_account(&aws, &o.member, &o.dev, &o.prod));
    let moved = reconcile(&rt, &aws, &o);
    assert_eq!(moved.ou_name.as_deref(), Some("prod"));
    assert_eq!(moved.instances_removed, ["orgsplit-baseline-dev us-east-1"]);
    assert_eq!(moved.instances_created, ["orgsplit-baseline-prod us-east-1"]);
    rt.block_on(async {
        let doc = trust_of(&aws, &o.member, "terraform-apply").await;
        assert_trusts_exactly(&doc, &o.prod_admin, &o.org_id);
        assert!(instance_accounts(&aws, "orgsplit-baseline-dev").await.is_empty());
        assert_eq!(
            instance_accounts(&aws, "orgsplit-baseline-prod").await,
            [(o.member.clone(), "CURRENT".to_string())]
        );
    });
    assert_second_run_is_quiet(&rt, &emu, &aws, &o);
}

#[test]
fn drift_is_repaired_and_a_role_trusting_anyone_is_reported() {
    let emu = Emulator::start_with(Some("org-only"));
    emu.export_env();
    let rt = runtime();
    let aws = rt.block_on(aws(&emu));
    let o = rt.block_on(organization(&aws));
    reconcile(&rt, &aws, &o);

    // By hand: the description edited, the member's instance deleted (with its roles).
    rt.block_on(async {
        let cfn = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().cloudformation(REGION);
        let stackset = "orgsplit-baseline-dev";
        drift_stackset_by_hand(&cfn, stackset, &o.dev, &o.member, REGION).await;
        let iam = aws.session(&o.member).await.unwrap().iam();
        assert!(iam.get_role().role_name("terraform-apply").send().await.is_err());
    });
    let repaired = reconcile(&rt, &aws, &o);
    assert_eq!(repaired.stacksets_updated, ["orgsplit-baseline-dev"]);
    assert_eq!(repaired.instances_created, ["orgsplit-baseline-dev us-east-1"]);
    rt.block_on(async {
        let cfn = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().cloudformation(REGION);
        let live = reconcile::describe(
            &cfn,
            &aws.session(MANAGEMENT_ACCOUNT).await.unwrap(),
            REGION,
            "orgsplit-baseline-dev",
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(live.description(), Some(desired(&o)[0].stacksets[0].description.as_str()));
        let doc = trust_of(&aws, &o.member, "terraform-apply").await;
        assert_trusts_exactly(&doc, &o.dev_admin, &o.org_id);
    });

    // By hand: terraform-plan trusts anyone as well.
    rt.block_on(async {
        let iam = aws.session(&o.member).await.unwrap().iam();
        let mut doc = trust_of(&aws, &o.member, "terraform-plan").await;
        doc["Statement"].as_array_mut().unwrap().push(
            json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
        );
        iam.update_assume_role_policy()
            .role_name("terraform-plan")
            .policy_document(doc.to_string())
            .send()
            .await
            .expect("edit trust by hand");
    });
    let err = rt
        .block_on(reconcile::reconcile_account(&aws, &desired(&o), &o.member))
        .expect_err("a role trusting * must fail the reconcile");
    match &err {
        ReconcileError::Trust { role, account, problem } => {
            assert_eq!(role, "terraform-plan");
            assert_eq!(account, &o.member);
            assert!(problem.contains("AWS:*"), "{problem}");
        }
        other => panic!("expected a trust error, got {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("terraform-plan") && text.contains(&o.member) && text.contains('*'),
        "{text}"
    );
}

#[test]
fn a_backfill_deploys_an_ou_in_one_operation_per_stackset_and_region() {
    let emu = Emulator::start_with(Some("org-only"));
    emu.export_env();
    let rt = runtime();
    let aws = rt.block_on(aws(&emu));
    let o = rt.block_on(organization(&aws));
    // Six accounts in dev with nothing deployed (the member is the sixth).
    let root = rt.block_on(async {
        let org = aws.session(MANAGEMENT_ACCOUNT).await.unwrap().organizations();
        org.list_roots().send().await.unwrap().roots()[0].id().unwrap().to_string()
    });
    let mut accounts = vec![o.member.clone()];
    for i in 0..5 {
        let a = rt.block_on(create_account(&aws, &format!("team-{i}")));
        rt.block_on(move_account(&aws, &a, &root, &o.dev));
        accounts.push(a);
    }
    emu.clear_requests();
    let done = rt.block_on(reconcile::backfill(&aws, &desired(&o), Some("dev"))).unwrap();
    assert!(done.failed.is_empty(), "{:?}", done.failed);
    assert_eq!(done.operations, 1, "one CreateStackInstances for the whole OU");
    let creates =
        emu.requests().iter().filter(|r| r["operation"] == "CreateStackInstances").count();
    assert_eq!(creates, 1, "per account it would be {}", accounts.len());
    assert_eq!(done.accounts.len(), accounts.len());
    rt.block_on(async {
        let mut deployed: Vec<String> = instance_accounts(&aws, "orgsplit-baseline-dev")
            .await
            .into_iter()
            .filter(|(_, status)| status == "CURRENT")
            .map(|(a, _)| a)
            .collect();
        deployed.sort();
        accounts.sort();
        assert_eq!(deployed, accounts);
        for a in &accounts {
            assert_trusts_exactly(
                &trust_of(&aws, a, "terraform-apply").await,
                &o.dev_admin,
                &o.org_id,
            );
        }
    });
    for r in &done.accounts {
        assert_eq!(r.instances_created, ["orgsplit-baseline-dev us-east-1"], "{r:?}");
        assert_eq!(r.roles_verified.len(), 2, "{r:?}");
    }
    // Again: nothing to deploy, nothing written, every account verified again.
    emu.clear_requests();
    let again = rt.block_on(reconcile::backfill(&aws, &desired(&o), None)).unwrap();
    assert_eq!(again.operations, 0);
    assert!(again.accounts.iter().all(|r| !r.changed()), "{:?}", again.accounts);
    let mutating: Vec<_> = emu.requests().into_iter().filter(|r| r["mutating"] == true).collect();
    assert!(mutating.is_empty(), "a second backfill wrote: {mutating:?}");
}
