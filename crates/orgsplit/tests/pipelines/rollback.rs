//! Stages of `pipelines rollback`.

use super::*;

/// `orgsplit pipelines rollback --pipeline PIPELINE`, with the token in `GH_TOKEN` when given.
fn rollback(emu: &Emulator, dir: &Path, token: Option<&str>, pipeline: &str) -> Run {
    let args = ["pipelines", "rollback", "--pipeline", pipeline, "--token-env", "GH_TOKEN"];
    orgsplit(emu, dir, token, &args)
}

/// Rollback restores the saved v1 source and its webhook, once.
pub(super) fn rollback_restores_the_v1_source_and_its_webhook(s: &mut Scenario) {
    let d = s.dir.path();
    let token = s.token.as_str();
    fields!(s; emu, rt, src, before; hook_secrets, log);
    // ---- rollback: the saved v1 source comes back, with its webhook.
    let no_token = rollback(emu, d, None, "prod-api-release");
    assert_eq!(no_token.code, Some(2), "{}", no_token.stderr);
    log.push(no_token);
    let rolled = rollback(emu, d, Some(token), "prod-api-release");
    assert_eq!(rolled.code, Some(0), "{}{}", rolled.stdout, rolled.stderr);
    log.push(rolled);
    rt.block_on(async {
        let now = declaration(src, "prod-api-release").await;
        let action = source_action(&now);
        assert_eq!(action["actionTypeId"]["provider"], "GitHub");
        assert_eq!(action["actionTypeId"]["owner"], "ThirdParty");
        let conf = &action["configuration"];
        assert_eq!(conf["Owner"], "acme");
        assert_eq!(conf["Repo"], "api");
        assert_eq!(conf["Branch"], "main");
        assert_eq!(conf["PollForSourceChanges"], "false");
        // The API masks the token; the key must be back.
        assert!(conf.get("OAuthToken").is_some(), "{conf}");
        assert_eq!(now["stages"][1], before[0]["stages"][1]);
        assert_eq!(
            webhooks_of(src, "prod-api-release").await,
            ["prod-api-release--Source--acme--api"]
        );
        // The other two stay converted.
        let dev = declaration(src, "dev-api-build").await;
        assert_eq!(source_action(&dev)["actionTypeId"]["provider"], "CodeStarSourceConnection");
    });
    emu.clear_requests();
    let rolled_again = rollback(emu, d, Some(token), "prod-api-release");
    assert_eq!(rolled_again.code, Some(0), "{}", rolled_again.stderr);
    // The token is written again (it cannot be compared); the webhook is not made twice.
    let ops: Vec<String> = emu
        .mutating_requests()
        .iter()
        .map(|r| r["operation"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ops, ["UpdatePipeline"], "second rollback");
    log.push(rolled_again);
    // The webhook's new secret is a secret too.
    let new_secret = rt.block_on(async {
        let got = src.codepipeline(REGION).list_webhooks().send().await.unwrap();
        got.webhooks()
            .iter()
            .filter_map(|w| w.definition())
            .find(|d| d.target_pipeline() == "prod-api-release")
            .and_then(|d| d.authentication_configuration())
            .and_then(|c| c.secret_token())
            .unwrap()
            .to_string()
    });
    assert_eq!(new_secret.len(), 40);
    hook_secrets.push(new_secret);
}

/// Rollback refuses a pipeline changed since its migration.
pub(super) fn rollback_refuses_a_pipeline_changed_since(s: &mut Scenario) {
    let d = s.dir.path();
    let token = s.token.as_str();
    fields!(s; emu, rt, src; log);
    // A pipeline changed since its migration is not rolled back over the change.
    rt.block_on(async {
        let mut d = declaration(src, "dev-api-build").await;
        d["stages"].as_array_mut().unwrap().push(json!({"name": "Extra", "actions": [{
            "name": "Wait", "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}]}));
        let sdk = orgsplit_aws::sdk_json::from_json(
            &d,
            aws_sdk_codepipeline::types::PipelineDeclaration::deserialize,
        )
        .unwrap();
        src.codepipeline(REGION)
            .update_pipeline()
            .pipeline(sdk)
            .send()
            .await
            .unwrap();
    });
    emu.clear_requests();
    let refused = rollback(emu, d, Some(token), "dev-api-build");
    assert_eq!(refused.code, Some(3), "{}", refused.stderr);
    assert!(refused.stderr.contains("Extra"), "{}", refused.stderr);
    assert_eq!(emu.mutating_requests(), Vec::<Value>::new(), "refused rollback");
    log.push(refused);
}
