//! The organization's connection and pipelines against the emulator's demo scenario: the
//! connection (in the management account) waits for the GitHub handshake, is shared with the
//! target account through AWS RAM, then each pipeline is re-created on it and read back in
//! the target account.
#![allow(clippy::print_stdout)]

mod common;

use common::world::*;

// ---- the connection and pipelines ----------------------------------------------------------------

const CONNECTION: &str = "organization/connection:orgsplit-github";
const RAM_SHARING: &str = "organization/org-trusted-access:ram";
const SHARE: &str = "prod/prod-workloads/connection-share:orgsplit-github";
const PIPELINES: [&str; 2] = [
    "prod/prod-workloads/pipeline:prod-api-release",
    "prod/prod-workloads/pipeline:mail-sender-release",
];

/// Checks a converted pipeline as read back from the target.
fn check_pipeline(d: &Value, repo: &str, connection: &str, target: &str) {
    let name = d["name"].as_str().unwrap_or("?");
    let source = &d["stages"][0]["actions"][0];
    assert_eq!(
        source["actionTypeId"],
        json!({"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"}),
        "{name}: {d:#}"
    );
    assert_eq!(
        source["configuration"],
        json!({
            "ConnectionArn": connection,
            "FullRepositoryId": format!("acme/{repo}"),
            "BranchName": "main",
            "OutputArtifactFormat": "CODE_ZIP",
            "DetectChanges": "true",
        }),
        "{name}"
    );
    assert_eq!(source["outputArtifacts"], json!([{"name": "source_output"}]));
    let stages = d["stages"].as_array().unwrap();
    let approve = stages.iter().find(|s| s["name"] == "Approve").expect("an Approve stage");
    assert_eq!(approve["actions"][0]["actionTypeId"]["provider"], "Manual");
    assert_eq!(d["roleArn"], json!(format!("arn:aws:iam::{target}:role/codepipeline-service")));
    assert_eq!(d["artifactStore"]["location"], json!(format!("acme-pipeline-artifacts-{target}")));
    let text = d.to_string();
    assert!(!text.contains("OAuthToken"), "{name} keeps an OAuthToken: {text}");
    assert!(!text.contains("ghp_"), "{name} holds a GitHub token");
}

#[test]
fn the_connection_waits_for_the_handshake_then_pipelines_use_it() {
    let mut w = World::demo(&["prod-workloads"]);
    let prod = w.session("prod-workloads");
    let target = w.ids["prod-workloads"].clone();
    let (mgmt_id, source_id) =
        (w.plan.management_account_id.clone(), w.plan.source_account_id.clone());
    let mgmt = w.rt.block_on(w.aws.session(&mgmt_id)).expect("management session");
    let source = w.rt.block_on(w.aws.session(&source_id)).expect("source session");
    for p in PIPELINES {
        let step = w.step(p);
        assert_eq!(step.kind(), StepKind::Pipeline);
        assert!(step.depends_on.iter().any(|d| d == CONNECTION), "{p}: {:?}", step.depends_on);
        assert!(step.depends_on.iter().any(|d| d == SHARE), "{p}: {:?}", step.depends_on);
    }
    assert_eq!(w.step(CONNECTION).account, mgmt_id, "the connection is the management account's");
    assert_eq!(w.step(SHARE).account, mgmt_id, "its owner shares it");

    // First run: created PENDING in the management account, the step waits with the console page.
    let url = "https://console.aws.amazon.com/codesuite/settings/connections?region=us-east-1";
    match w.run(CONNECTION) {
        Outcome::Waiting { message, url: got } => {
            assert_eq!(got.as_deref(), Some(url));
            assert!(
                message.contains("PENDING") && message.contains("orgsplit-github"),
                "{message}"
            );
        }
        done => panic!("a new connection is done: {done:?}"),
    }
    let listed = w.rt.block_on(connections(&mgmt));
    assert_eq!(listed.len(), 1, "{listed:?}");
    let (name, arn, status) = listed[0].clone();
    assert_eq!((name.as_str(), status.as_str()), ("orgsplit-github", "PENDING"));
    assert!(
        arn.starts_with(&format!("arn:aws:codeconnections:us-east-1:{mgmt_id}:connection/")),
        "{arn}"
    );
    assert!(w.rt.block_on(connections(&prod)).is_empty(), "no connection of its own in the target");

    // A pipeline cannot be made before the connection is done, and tries nothing.
    w.emu.clear_requests();
    let early = w.try_run(PIPELINES[0]).expect_err("a pipeline on a pending connection");
    assert!(early.to_string().contains("connection"), "{early}");
    assert!(w.emu.mutating_requests().is_empty());

    // Second run while pending: still waiting, nothing created.
    w.emu.clear_requests();
    assert!(matches!(w.run(CONNECTION), Outcome::Waiting { .. }));
    assert!(w.emu.mutating_requests().is_empty(), "{:#?}", w.emu.mutating_requests());
    assert_eq!(w.rt.block_on(connections(&mgmt)).len(), 1);

    // The handshake, then the same connection is done.
    w.emu.mark_connection_available(&arn);
    let done = w.run(CONNECTION);
    assert!(!changed(&done));
    assert_eq!(output(&done, "connection_arn"), arn);
    assert_eq!(
        w.rt.block_on(connections(&mgmt)),
        vec![("orgsplit-github".to_string(), arn.clone(), "AVAILABLE".to_string())]
    );

    // Not shared yet: the target cannot read it, so no pipeline of its can use it.
    assert!(!w.rt.block_on(can_read(&prod, &arn)), "an unshared account reads the connection");
    // Shared through RAM (sharing with the organization enabled first), then readable there.
    assert!(changed(&w.run(RAM_SHARING)));
    assert!(changed(&w.run(SHARE)));
    assert!(w.rt.block_on(can_read(&prod, &arn)), "the shared connection is not readable");
    assert!(!w.rt.block_on(can_read(&source, &arn)), "the source account was never given it");
    w.rt.block_on(async {
        let ram = mgmt.ram(REGION);
        let shares = ram
            .get_resource_shares()
            .resource_owner(aws_sdk_ram::types::ResourceOwner::SelfValue)
            .send()
            .await
            .expect("GetResourceShares");
        let names: Vec<_> = shares.resource_shares().iter().filter_map(|s| s.name()).collect();
        assert_eq!(names, ["orgsplit-github"]);
        let principals = ram
            .get_resource_share_associations()
            .association_type(aws_sdk_ram::types::ResourceShareAssociationType::Principal)
            .send()
            .await
            .expect("GetResourceShareAssociations");
        let got: Vec<_> = principals
            .resource_share_associations()
            .iter()
            .filter_map(|a| a.associated_entity())
            .collect();
        assert_eq!(got, [target.as_str()]);
    });
    w.assert_second_run_is_a_no_op(&[RAM_SHARING, SHARE], "sharing");

    // The pipeline role: the emulator checks that it exists and trusts CodePipeline.
    ensure_pipeline_role(&mut w, &prod);
    let first = w.run_all(&PIPELINES);
    assert!(first.iter().all(|(_, c)| *c), "{first:?}");
    w.rt.block_on(async {
        check_pipeline(&pipeline(&prod, "prod-api-release").await, "api", &arn, &target);
        check_pipeline(&pipeline(&prod, "mail-sender-release").await, "mail-sender", &arn, &target);
        let policy = role_policy(&prod, "codepipeline-service", "orgsplit-use-connection")
            .await
            .expect("the pipeline role's UseConnection policy");
        let statement = &policy["Statement"][0];
        assert_eq!(
            statement["Action"],
            json!(["codestar-connections:UseConnection", "codeconnections:UseConnection"])
        );
        assert!(statement["Resource"].as_array().unwrap().contains(&json!(arn)), "{policy}");
        let arn_of = pipeline_arn(&prod, "mail-sender-release").await;
        let request = prod.codepipeline(REGION).list_tags_for_resource().resource_arn(arn_of);
        let tags = request.send().await.expect("ListTagsForResource");
        assert!(
            tags.tags().iter().any(|t| t.key() == "Environment" && t.value() == "prod"),
            "{:?}",
            tags.tags()
        );
    });
    println!("pipelines converted to CodeStarSourceConnection on the shared {arn}");
    let mut again = vec![CONNECTION, RAM_SHARING, SHARE];
    again.extend(PIPELINES);
    w.assert_second_run_is_a_no_op(&again, "connection and pipelines");

    // By hand: the source branch changed and the role's policy deleted.
    w.rt.block_on(async {
        let cp = prod.codepipeline(REGION);
        let mut d = pipeline(&prod, "prod-api-release").await;
        d["stages"][0]["actions"][0]["configuration"]["BranchName"] = json!("hotfix");
        let decl = orgsplit_aws::sdk_json::from_json(
            &d,
            aws_sdk_codepipeline::types::PipelineDeclaration::deserialize,
        )
        .expect("declaration");
        cp.update_pipeline().pipeline(decl).send().await.expect("UpdatePipeline");
        prod.iam()
            .delete_role_policy()
            .role_name("codepipeline-service")
            .policy_name("orgsplit-use-connection")
            .send()
            .await
            .expect("DeleteRolePolicy");
    });
    assert!(changed(&w.run(PIPELINES[0])), "the drifted pipeline was not repaired");
    w.rt.block_on(async {
        check_pipeline(&pipeline(&prod, "prod-api-release").await, "api", &arn, &target);
        assert!(
            role_policy(&prod, "codepipeline-service", "orgsplit-use-connection").await.is_some()
        );
    });
    w.assert_second_run_is_a_no_op(&again, "pipelines after repair");
}

/// Whether the account can read the connection (it owns it, or it is shared with it).
async fn can_read(s: &AccountSession, arn: &str) -> bool {
    match s.codeconnections(REGION).get_connection().connection_arn(arn).send().await {
        Ok(_) => true,
        Err(e) => {
            let code = aws_sdk_iam::error::ProvideErrorMetadata::code(&e);
            assert_eq!(code, Some("ResourceNotFoundException"), "{e:?}");
            false
        }
    }
}

async fn pipeline_arn(s: &AccountSession, name: &str) -> String {
    s.codepipeline(REGION)
        .get_pipeline()
        .name(name)
        .send()
        .await
        .expect("GetPipeline")
        .metadata()
        .and_then(|m| m.pipeline_arn())
        .expect("pipeline arn")
        .to_string()
}

/// The pipeline role from its iam-role step; made by hand when that step fails (another
/// step kind's fault, not this test's subject), with a line saying so.
fn ensure_pipeline_role(w: &mut World, prod: &AccountSession) {
    let address = "prod/prod-workloads/iam-role:codepipeline-service";
    let Err(e) = w.try_run(address) else {
        return;
    };
    println!("NOTE: {address} failed ({e}); the role is made by hand for this test");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let made = w.rt.block_on(
        prod.iam()
            .create_role()
            .role_name("codepipeline-service")
            .assume_role_policy_document(trust.to_string())
            .send(),
    );
    if let Err(e) = made {
        let exists = e.as_service_error().is_some_and(|s| s.is_entity_already_exists_exception());
        assert!(exists, "CreateRole codepipeline-service: {e}");
    }
}
