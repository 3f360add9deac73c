//! Stages of `pipelines migrate`.

use super::*;

/// Migrate: a dry run and refusals change nothing.
pub(super) fn migrate_dry_run_and_refusals_change_nothing(s: &mut Scenario) {
    let d = s.dir.path();
    let token = s.token.as_str();
    fields!(s; emu, rt, src; log);
    // A fourth pipeline in the other configured region, on the same role, started by hand
    // (no polling, no webhook): its own connection, and DetectChanges false.
    rt.block_on(v1_pipeline_like_dev_api_build(src, EU, EU_PIPELINE, "eu-api", token));

    // ---- migrate: dry run and refusals change nothing.
    emu.clear_requests();
    let dry = orgsplit(
        emu,
        d,
        None,
        &["pipelines", "migrate", "--create-connection", CONNECTION, "--dry-run"],
    );
    assert_eq!(dry.code, Some(0), "{}", dry.stderr);
    let diff_line = |sign: char, text: &str| {
        dry.stdout.lines().filter(|l| l.starts_with(sign) && l.contains(text)).count()
    };
    assert_eq!(diff_line('+', "\"provider\": \"CodeStarSourceConnection\""), 4, "{}", dry.stdout);
    assert_eq!(diff_line('-', "\"provider\": \"GitHub\""), 4, "{}", dry.stdout);
    assert_eq!(diff_line('-', "\"OAuthToken\": \"****\""), 4, "{}", dry.stdout);
    assert!(dry.stdout.contains("Dry run: 4 pipelines"), "{}", dry.stdout);
    log.push(dry);
    let no_yes =
        orgsplit(emu, d, None, &["pipelines", "migrate", "--create-connection", CONNECTION]);
    assert_eq!(no_yes.code, Some(3), "{}", no_yes.stderr);
    log.push(no_yes);
    let bad_arn = orgsplit(
        emu,
        d,
        None,
        &["pipelines", "migrate", "--connection-arn", "arn:aws:iam::111111111111:role/x", "--yes"],
    );
    assert_eq!(bad_arn.code, Some(2), "{}", bad_arn.stderr);
    log.push(bad_arn);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "refusals wrote");
}

/// Migrate: a PENDING connection is created once (connections are global), nothing else changes.
pub(super) fn migrate_waits_for_pending_connections(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, rt, src, pipelines; log, connection_arn, eu_connection, before);
    // PENDING: the connection is created once, nothing else changes, exit 3 with the URL.
    for _ in 0..2 {
        let pending = orgsplit(
            emu,
            d,
            None,
            &["pipelines", "migrate", "--create-connection", CONNECTION, "--yes"],
        );
        assert_eq!(pending.code, Some(3), "{}", pending.stderr);
        assert!(pending.stderr.contains("PENDING"), "{}", pending.stderr);
        assert!(
            pending.stderr.contains(
                "https://console.aws.amazon.com/codesuite/settings/connections?region=us-east-1"
            ),
            "{}",
            pending.stderr
        );
        log.push(pending);
    }
    let ops: Vec<String> = emu
        .mutating_requests()
        .iter()
        .map(|r| r["operation"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ops,
        ["CreateConnection"],
        "while PENDING: one connection, global, for both regions"
    );
    let connection_in = |region: &'static str| {
        rt.block_on(async {
            let got = src.codeconnections(region).list_connections().send().await.unwrap();
            let c: Vec<_> = got
                .connections()
                .iter()
                .filter(|c| c.connection_name() == Some(CONNECTION))
                .collect();
            assert_eq!(c.len(), 1, "one connection in {region}, however often migrate runs");
            c[0].connection_arn().unwrap().to_string()
        })
    };
    *connection_arn = connection_in(REGION);
    *eu_connection = connection_in(EU);
    assert_eq!(eu_connection, connection_arn, "the same connection, listed from either region");
    assert!(connection_arn.starts_with("arn:aws:codeconnections:us-east-1:"), "{connection_arn}");
    *before = rt.block_on(async {
        let mut out = Vec::new();
        for p in pipelines {
            let decl = declaration(src, p["name"].as_str().unwrap()).await;
            assert_eq!(source_action(&decl)["actionTypeId"]["provider"], "GitHub");
            out.push(decl);
        }
        out
    });
}

/// Migrate converts every pipeline after the handshake.
pub(super) fn migrate_converts_every_pipeline_after_the_handshake(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, rt, src, pipelines, before; log, connection_arn, eu_connection);
    // The handshake, then every pipeline converts.
    emu.mark_connection_available(connection_arn);
    emu.mark_connection_available(eu_connection);
    let migrated = orgsplit(
        emu,
        d,
        None,
        &["pipelines", "migrate", "--create-connection", CONNECTION, "--yes"],
    );
    assert_eq!(migrated.code, Some(0), "{}{}", migrated.stdout, migrated.stderr);
    assert!(
        migrated.stdout.contains("Migrated 4 pipelines: 4 changed, 0 unchanged, 0 failed."),
        "{}",
        migrated.stdout
    );
    log.push(migrated);
    rt.block_on(async {
        for (p, old) in pipelines.iter().zip(before) {
            let name = p["name"].as_str().unwrap();
            let now = declaration(src, name).await;
            let action = source_action(&now);
            assert_eq!(
                action["actionTypeId"],
                json!({"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"}),
                "{name}"
            );
            let conf = &action["configuration"];
            assert_eq!(conf["ConnectionArn"], json!(connection_arn), "{name}");
            assert_eq!(
                conf["FullRepositoryId"],
                json!(format!("{}/{}", p["owner"].as_str().unwrap(), p["repo"].as_str().unwrap())),
                "{name}"
            );
            assert_eq!(conf["BranchName"], p["branch"], "{name}");
            assert_eq!(conf["OutputArtifactFormat"], "CODE_ZIP", "{name}");
            // A webhook or polling started it; so does the connection.
            assert_eq!(conf["DetectChanges"], "true", "{name}");
            assert!(conf.get("OAuthToken").is_none(), "{name}");
            assert_eq!(action["outputArtifacts"], source_action(old)["outputArtifacts"]);
            // Every other stage as it was.
            assert_eq!(now["stages"][1], old["stages"][1], "{name}");
            assert_eq!(now["roleArn"], old["roleArn"], "{name}");
            assert_eq!(now["artifactStore"], old["artifactStore"], "{name}");
            assert_eq!(webhooks_of(src, name).await, Vec::<String>::new(), "{name}");
            let saved = std::fs::read_to_string(
                d.join(format!("plans/pipelines/{name}.v1.json")),
            )
            .unwrap();
            let saved: Value = serde_json::from_str(&saved).unwrap();
            assert_eq!(
                source_action(&saved["declaration"])["configuration"]["OAuthToken"],
                "****"
            );
        }
        let policy = use_connection_policy(src).await;
        let st = &policy["Statement"][0];
        assert_eq!(st["Effect"], "Allow");
        assert_eq!(
            st["Action"],
            json!(["codestar-connections:UseConnection", "codeconnections:UseConnection"])
        );
        // One role, pipelines in two regions: both connections stay allowed.
        let resources = st["Resource"].as_array().unwrap();
        for arn in [&connection_arn, &eu_connection] {
            assert!(resources.contains(&json!(arn)), "{arn} not in {policy}");
        }
        let eu = src.codepipeline(EU).get_pipeline().name(EU_PIPELINE).send().await.unwrap();
        let eu = orgsplit_aws::sdk_json::to_json(eu.pipeline().unwrap());
        let conf = &source_action(&eu)["configuration"];
        assert_eq!(conf["ConnectionArn"], json!(eu_connection));
        assert_eq!(conf["FullRepositoryId"], "acme/eu-api");
        // Neither polled nor had a webhook: it did not start by itself, and still does not.
        assert_eq!(conf["DetectChanges"], "false");
    });
}

/// Migrate again has nothing left to do and writes nothing.
pub(super) fn migrate_again_writes_nothing(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu; log);
    // Idempotent: nothing left to do, nothing written.
    emu.clear_requests();
    let again = orgsplit(
        emu,
        d,
        None,
        &["pipelines", "migrate", "--create-connection", CONNECTION, "--yes"],
    );
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.contains("Nothing to migrate"), "{}", again.stdout);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "second migrate");
    log.push(again);
}

/// Migrate by connection ARN.
pub(super) fn migrate_by_connection_arn(s: &mut Scenario) {
    let d = s.dir.path();
    fields!(s; emu, rt, src; log, connection_arn);
    // Migrating it again onto the same connection, by ARN this time.
    let by_arn = orgsplit(
        emu,
        d,
        None,
        &[
            "pipelines",
            "migrate",
            "--connection-arn",
            connection_arn,
            "--pipeline",
            "prod-api-release",
            "--yes",
        ],
    );
    assert_eq!(by_arn.code, Some(0), "{}{}", by_arn.stdout, by_arn.stderr);
    assert!(by_arn.stdout.contains("Migrated 1 pipelines: 1 changed"), "{}", by_arn.stdout);
    log.push(by_arn);
    rt.block_on(async {
        let now = declaration(src, "prod-api-release").await;
        assert_eq!(source_action(&now)["configuration"]["ConnectionArn"], json!(connection_arn));
        assert_eq!(webhooks_of(src, "prod-api-release").await, Vec::<String>::new());
    });
}

/// Migrate onto the organization's connection (`--org-connection`): a new v1 pipeline of the
/// source account ends on the management account's `codeconnections` connection, shared with
/// the source account through AWS RAM; one handshake, then a second run writes nothing.
pub(super) fn migrate_onto_the_organization_connection(s: &mut Scenario) {
    let d = s.dir.path();
    let token = s.token.clone();
    fields!(s; emu, rt, src; log);
    rt.block_on(v1_pipeline_like_dev_api_build(src, REGION, ORG_PIPELINE, "org-api", &token));
    let args = ["pipelines", "migrate", "--org-connection", "--pipeline", ORG_PIPELINE, "--yes"];
    let pending = orgsplit(emu, d, None, &args);
    assert_eq!(pending.code, Some(3), "{}{}", pending.stdout, pending.stderr);
    let mgmt_prefix = format!("arn:aws:codeconnections:us-east-1:{MANAGEMENT_ACCOUNT}:connection/");
    let arn = pending
        .stderr
        .split(['(', ')', ' '])
        .find(|w| w.starts_with(&mgmt_prefix))
        .unwrap_or_else(|| panic!("no management-account connection in {}", pending.stderr))
        .to_string();
    log.push(pending);
    emu.mark_connection_available(&arn);
    let done = orgsplit(emu, d, None, &args);
    assert_eq!(done.code, Some(0), "{}{}", done.stdout, done.stderr);
    log.push(done);
    rt.block_on(async {
        let now = declaration(src, ORG_PIPELINE).await;
        let action = source_action(&now);
        assert_eq!(action["actionTypeId"]["provider"], "CodeStarSourceConnection");
        assert_eq!(action["configuration"]["ConnectionArn"], json!(arn));
        // The source account reads it (shared), and owns no connection of that name.
        let cc = src.codeconnections(REGION);
        cc.get_connection().connection_arn(&arn).send().await.expect("shared with the source");
        let own = cc.list_connections().send().await.unwrap();
        assert!(
            own.connections().iter().all(|c| c.connection_name() != Some("orgsplit-github")),
            "the source account made a connection of its own"
        );
        let policy = use_connection_policy(src).await;
        let resources = policy["Statement"][0]["Resource"].as_array().unwrap().clone();
        assert!(resources.contains(&json!(arn)), "{policy}");
    });
    emu.clear_requests();
    let again = orgsplit(emu, d, None, &args);
    assert_eq!(again.code, Some(0), "{}{}", again.stdout, again.stderr);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "a second --org-connection run");
    log.push(again);
}

/// A new pipeline in `region` shaped like `dev-api-build` (same role and stages), whose source
/// is a v1 GitHub action on `acme/REPO@main` started by hand (no polling, no webhook).
async fn v1_pipeline_like_dev_api_build(
    src: &AccountSession,
    region: &str,
    name: &str,
    repo: &str,
    token: &str,
) {
    let mut decl = before_decl(src, "dev-api-build").await;
    decl["name"] = json!(name);
    decl["stages"][0]["actions"][0]["actionTypeId"] = json!({
        "category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"});
    decl["stages"][0]["actions"][0]["configuration"] = json!({
        "Owner": "acme", "Repo": repo, "Branch": "main", "PollForSourceChanges": "false",
        "OAuthToken": token});
    decl.as_object_mut().unwrap().remove("version");
    let sdk = orgsplit_aws::sdk_json::from_json(
        &decl,
        aws_sdk_codepipeline::types::PipelineDeclaration::deserialize,
    )
    .unwrap();
    src.codepipeline(region).create_pipeline().pipeline(sdk).send().await.unwrap();
}

/// The pipeline role's `orgsplit-use-connection` policy document.
async fn use_connection_policy(src: &AccountSession) -> Value {
    let got = src
        .iam()
        .get_role_policy()
        .role_name("codepipeline-service")
        .policy_name("orgsplit-use-connection")
        .send()
        .await
        .unwrap();
    policy_document(got.policy_document())
}
