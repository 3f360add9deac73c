//! Organization steps against the strict emulator: CreateAccount is asynchronous (IN_PROGRESS,
//! no account id, the account not yet a member), ListCreateAccountStatus comes in short pages,
//! and StackSets' trusted access is activated through CloudFormation. Outcomes are read back
//! through the Organizations and CloudFormation APIs and the request log.

mod common;

use orgsplit_apply::{Outcome, run_step};
use orgsplit_testkit::Emulator;
use serde_json::json;
use std::collections::BTreeMap;

fn count(emu: &Emulator, operation: &str) -> usize {
    emu.requests().iter().filter(|r| r["operation"] == operation).count()
}

/// Requests AWS accepted (HTTP 200): a `ConcurrentModificationException` the SDK retried is
/// in the log too (the strict emulator refuses 10 % of Organizations writes), but it made
/// nothing.
fn accepted(emu: &Emulator, operation: &str) -> usize {
    emu.requests().iter().filter(|r| r["operation"] == operation && r["status"] == 200).count()
}

fn account_id(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Done { outputs, .. } => {
            outputs.get("account_id").expect("an account_id output").clone()
        }
        other => panic!("expected done, got {other:?}"),
    }
}

#[test]
fn a_new_account_is_waited_for_until_its_creation_succeeds_and_it_is_usable() {
    let (emu, rt) = common::org_only(json!({"account_create_seconds": 2.0}));
    rt.block_on(async {
        let aws = common::aws(&emu).await;
        let plan = common::demo_plan(&aws).await;
        let step = common::step(&plan, "dev/dev-admin/account");
        let cx = common::context(&aws, &plan, step, &BTreeMap::new());
        let outcome = run_step(&cx).await.expect("account step");
        assert!(matches!(outcome, Outcome::Done { changed: true, .. }));
        let id = account_id(&outcome);

        // A member now, read back from Organizations, and its access role assumable.
        let (caller, _) = aws.caller().await.unwrap();
        let org = aws.session(&caller).await.unwrap().organizations();
        let described = org.describe_account().account_id(&id).send().await;
        let account = described.expect("DescribeAccount").account.expect("account");
        assert_eq!(account.email(), Some("aws+dev-admin@example.com"));
        let member = aws.session(&id).await.expect("member session");
        let who = member
            .sts()
            .get_caller_identity()
            .send()
            .await
            .expect("GetCallerIdentity as the member");
        assert_eq!(who.account(), Some(id.as_str()));
        // The step waited on DescribeCreateAccountStatus: it saw IN_PROGRESS more than once.
        assert!(count(&emu, "DescribeCreateAccountStatus") >= 2);
        assert_eq!(accepted(&emu, "CreateAccount"), 1);
    });
}

#[test]
fn a_creation_in_flight_on_a_later_page_is_waited_for_and_not_requested_again() {
    // One status per page; the plan's account is the third request in flight.
    let (emu, rt) = common::org_only(json!({"account_create_seconds": 3.0, "list_page_size": 1}));
    rt.block_on(async {
        let aws = common::aws(&emu).await;
        let plan = common::demo_plan(&aws).await;
        let (caller, _) = aws.caller().await.unwrap();
        let org = aws.session(&caller).await.unwrap().organizations();
        // An earlier run asked for dev-admin and was interrupted; two other requests came first.
        for (name, email) in [
            ("other-a", "aws+other-a@example.com"),
            ("other-b", "aws+other-b@example.com"),
            ("dev-admin", "aws+dev-admin@example.com"),
        ] {
            org.create_account()
                .account_name(name)
                .email(email)
                .send()
                .await
                .expect("CreateAccount");
        }
        emu.clear_requests();

        let step = common::step(&plan, "dev/dev-admin/account");
        let cx = common::context(&aws, &plan, step, &BTreeMap::new());
        let outcome = run_step(&cx).await.expect("account step");
        // Found on page three and waited for: not created twice.
        assert_eq!(count(&emu, "CreateAccount"), 0, "{:?}", emu.requests());
        assert!(count(&emu, "ListCreateAccountStatus") >= 3);
        let id = account_id(&outcome);
        let mut with_email = Vec::new();
        let mut token = None;
        loop {
            let page =
                org.list_accounts().set_next_token(token).send().await.expect("ListAccounts");
            with_email.extend(
                page.accounts()
                    .iter()
                    .filter(|a| a.email() == Some("aws+dev-admin@example.com"))
                    .filter_map(|a| a.id().map(str::to_string)),
            );
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        assert_eq!(with_email, vec![id]);
    });
}

#[test]
fn stacksets_trusted_access_is_activated_through_cloudformation() {
    let (emu, rt) = common::org_only(json!({}));
    rt.block_on(async {
        let aws = common::aws(&emu).await;
        let plan = common::demo_plan(&aws).await;
        let step = common::step(&plan, "organization/org-trusted-access:stacksets");
        assert_eq!(step.action, orgsplit_model::Action::Create);
        let cx = common::context(&aws, &plan, step, &BTreeMap::new());
        assert!(matches!(
            run_step(&cx).await.expect("trusted access"),
            Outcome::Done { changed: true, .. }
        ));
        assert_eq!(count(&emu, "ActivateOrganizationsAccess"), 1);
        assert_eq!(count(&emu, "EnableAWSServiceAccess"), 0);

        let (caller, _) = aws.caller().await.unwrap();
        let session = aws.session(&caller).await.unwrap();
        let status = session
            .cloudformation("us-east-1")
            .describe_organizations_access()
            .send()
            .await
            .expect("DescribeOrganizationsAccess");
        assert_eq!(status.status().map(|s| s.as_str()), Some("ENABLED"));
        let services = session
            .organizations()
            .list_aws_service_access_for_organization()
            .send()
            .await
            .expect("ListAWSServiceAccessForOrganization");
        assert!(services.enabled_service_principals().iter().any(|p| {
            p.service_principal() == Some("member.org.stacksets.cloudformation.amazonaws.com")
        }));

        // The next plan sees it active and makes the step a no-op.
        let again = common::demo_plan(&aws).await;
        let step = common::step(&again, "organization/org-trusted-access:stacksets");
        assert_eq!(step.action, orgsplit_model::Action::NoOp);
    });
}
