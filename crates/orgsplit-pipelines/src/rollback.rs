//! `pipelines rollback`: a migrated pipeline's saved v1 declaration put back, with the
//! token from the environment, and its v1 webhooks made again (each with a new secret,
//! registered with GitHub, since the old ones were deregistered).
//!
//! The connection grant on the role is left: it is harmless, and a second `migrate` then
//! has nothing to grant.

use aws_sdk_codepipeline::types::{
    PipelineDeclaration, WebhookAuthConfiguration, WebhookAuthenticationType, WebhookDefinition,
    WebhookFilterRule,
};
use orgsplit_aws::sdk_json::from_json;
use orgsplit_aws::{AccountSession, call_error};
use orgsplit_model::Secret;
use rand::Rng;
use serde::Serialize;
use serde_json::Value;

use crate::PipelinesError;
use crate::convert::{V1Source, restore_tokens, v1_github_sources};
use crate::migrate::SavedDeclaration;
use crate::scan::{Webhook, get_pipeline, webhooks};

#[derive(Debug, Clone, Default, Serialize)]
pub struct RolledBack {
    pub region: String,
    pub pipeline: String,
    /// The pipeline was updated (it was not already as saved).
    pub updated: bool,
    pub webhooks_created: Vec<String>,
}

impl RolledBack {
    pub fn changed(&self) -> bool {
        self.updated || !self.webhooks_created.is_empty()
    }
}

/// Puts the saved declaration back with `token` in its v1 sources.
pub async fn rollback(
    session: &AccountSession,
    saved: &SavedDeclaration,
    token: &Secret,
) -> Result<RolledBack, PipelinesError> {
    let account = session.account_id.as_str();
    let region = saved.region.as_str();
    let name = saved.pipeline.as_str();
    let fail = |m: String| PipelinesError::Failed(format!("pipeline {name} ({region}): {m}"));
    let client = session.codepipeline(region);
    let (live, _) = get_pipeline(&client, account, region, name).await?.ok_or_else(|| {
        fail(format!("not found in account {account}: rollback restores an existing pipeline"))
    })?;
    let mut done = RolledBack {
        region: region.to_string(),
        pipeline: name.to_string(),
        ..RolledBack::default()
    };
    let want_sources = v1_github_sources(&saved.declaration);
    if want_sources.is_empty() {
        return Err(PipelinesError::Input {
            what: format!("saved declaration of {name}"),
            message: "has no v1 GitHub source to restore".into(),
        });
    }
    if let Some(what) = changed_since(&saved.declaration, &live, &want_sources) {
        return Err(PipelinesError::Refused(format!(
            "pipeline {name} ({region}): {what} changed since it was migrated: restoring the saved declaration would undo that"
        )));
    }
    // Always written: the token cannot be read back to compare (the API masks it), and a
    // rollback is how a new token is put in.
    let mut declaration = saved.declaration.clone();
    restore_tokens(&mut declaration, token);
    if let (Some(o), Some(v)) = (declaration.as_object_mut(), live.get("version")) {
        o.insert("version".into(), v.clone());
    }
    let sdk = from_json(&declaration, PipelineDeclaration::deserialize)
        .map_err(|e| fail(redact(&format!("the saved declaration does not encode: {e}"), token)))?;
    drop(declaration);
    client.update_pipeline().pipeline(sdk).send().await.map_err(|e| {
        let err = call_error("codepipeline", "UpdatePipeline", account, region, e);
        // A validation error may quote the request, token included.
        PipelinesError::Failed(redact(&err.to_string(), token))
    })?;
    done.updated = true;

    let existing = webhooks(session, region).await?;
    let have: Vec<&str> =
        existing.get(name).into_iter().flatten().map(|w| w.name.as_str()).collect();
    for hook in saved.webhooks.iter().filter(|h| !have.contains(&h.name.as_str())) {
        let definition = webhook_definition(name, hook).map_err(fail)?;
        client
            .put_webhook()
            .webhook(definition)
            .send()
            .await
            .map_err(|e| call_error("codepipeline", "PutWebhook", account, region, e))?;
        client.register_webhook_with_third_party().webhook_name(&hook.name).send().await.map_err(
            |e| call_error("codepipeline", "RegisterWebhookWithThirdParty", account, region, e),
        )?;
        done.webhooks_created.push(hook.name.clone());
    }

    // Read back.
    let (after, _) = get_pipeline(&client, account, region, name)
        .await?
        .ok_or_else(|| PipelinesError::Verify(format!("pipeline {name}: gone after the update")))?;
    if !restored(&after, &want_sources) {
        return Err(PipelinesError::Verify(format!(
            "pipeline {name} ({region}): its sources are not the saved v1 sources after the update"
        )));
    }
    let now = webhooks(session, region).await?;
    for hook in &saved.webhooks {
        if !now.get(name).is_some_and(|hs| hs.iter().any(|h| h.name == hook.name)) {
            return Err(PipelinesError::Verify(format!(
                "pipeline {name} ({region}): webhook {} is not there after PutWebhook",
                hook.name
            )));
        }
    }
    Ok(done)
}

/// The token, and its `hash-` form, out of a message.
fn redact(message: &str, token: &Secret) -> String {
    message
        .replace(token.expose(), "<redacted>")
        .replace(&crate::tfstate::hashed_form(token.expose()), "<redacted>")
}

/// What differs between the saved declaration and the live one, the migrated sources and
/// the version left out; None when nothing else changed.
fn changed_since(saved: &Value, live: &Value, sources: &[V1Source]) -> Option<String> {
    let strip = |d: &Value| -> Value {
        let mut d = d.clone();
        if let Some(o) = d.as_object_mut() {
            o.remove("version");
        }
        let stages = d.get_mut("stages").and_then(Value::as_array_mut);
        for stage in stages.into_iter().flatten() {
            let stage_name = stage["name"].as_str().unwrap_or_default().to_string();
            if let Some(actions) = stage.get_mut("actions").and_then(Value::as_array_mut) {
                actions.retain(|a| {
                    !sources.iter().any(|s| s.stage == stage_name && a["name"] == s.action.as_str())
                });
            }
        }
        d
    };
    let (a, b) = (strip(saved), strip(live));
    if a == b {
        return None;
    }
    let keys: std::collections::BTreeSet<&String> =
        a.as_object().into_iter().chain(b.as_object()).flat_map(|o| o.keys()).collect();
    for k in keys {
        if a.get(k) == b.get(k) {
            continue;
        }
        if k == "stages" {
            let names = |d: &Value| -> Vec<String> {
                d["stages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| s["name"].as_str().unwrap_or_default().to_string())
                    .collect()
            };
            let (sa, sb) = (names(&a), names(&b));
            if sa != sb {
                return Some(format!(
                    "its stages ({} now, {} saved)",
                    sb.join(", "),
                    sa.join(", ")
                ));
            }
            for (x, y) in a["stages"]
                .as_array()
                .into_iter()
                .flatten()
                .zip(b["stages"].as_array().into_iter().flatten())
            {
                if x != y {
                    return Some(format!("stage {}", x["name"].as_str().unwrap_or_default()));
                }
            }
        }
        return Some(format!("its {k}"));
    }
    Some("the declaration".into())
}

/// Whether the live pipeline has exactly the saved v1 sources (the token cannot be
/// compared: the API masks it).
fn restored(live: &Value, want: &[V1Source]) -> bool {
    v1_github_sources(live) == want
}

/// The saved webhook for the pipeline, with a new secret for `GITHUB_HMAC`.
fn webhook_definition(pipeline: &str, hook: &Webhook) -> Result<WebhookDefinition, String> {
    let mut auth = WebhookAuthConfiguration::builder();
    match hook.authentication.as_str() {
        "GITHUB_HMAC" => {
            let secret = Secret::new(new_secret());
            auth = auth.secret_token(secret.expose());
        }
        "IP" => {
            auth = auth.set_allowed_ip_range(hook.allowed_ip_range.clone());
        }
        _ => {}
    }
    let filters: Vec<WebhookFilterRule> = hook
        .filters
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            WebhookFilterRule::builder()
                .json_path(f.get("jsonPath").and_then(Value::as_str)?)
                .set_match_equals(f.get("matchEquals").and_then(Value::as_str).map(str::to_string))
                .build()
                .ok()
        })
        .collect();
    if filters.is_empty() {
        return Err(format!("webhook {}: the saved webhook has no filter", hook.name));
    }
    WebhookDefinition::builder()
        .name(&hook.name)
        .target_pipeline(pipeline)
        .target_action(&hook.target_action)
        .set_filters(Some(filters))
        .authentication(WebhookAuthenticationType::from(hook.authentication.as_str()))
        .authentication_configuration(auth.build())
        .build()
        .map_err(|e| format!("webhook {}: {e}", hook.name))
}

/// 40 random characters, like the secrets CodePipeline's console makes.
fn new_secret() -> String {
    rand::rng().sample_iter(rand::distr::Alphanumeric).take(40).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_changes_are_found_and_tokens_redacted() {
        let saved = json!({"name": "p", "version": 1, "stages": [
            {"name": "Source", "actions": [{"name": "Source", "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
              "configuration": {"Owner": "o", "Repo": "r", "Branch": "b", "OAuthToken": "****"}}]},
            {"name": "Build", "actions": [{"name": "B"}]}]});
        let sources = v1_github_sources(&saved);
        let mut live = saved.clone();
        live["version"] = json!(4);
        live["stages"][0]["actions"][0] =
            json!({"name": "Source", "configuration": {"ConnectionArn": "x"}});
        assert_eq!(changed_since(&saved, &live, &sources), None);
        live["stages"][1]["actions"][0]["name"] = json!("B2");
        assert_eq!(changed_since(&saved, &live, &sources).as_deref(), Some("stage Build"));
        live["stages"].as_array_mut().unwrap().push(json!({"name": "Deploy"}));
        assert!(changed_since(&saved, &live, &sources).unwrap().contains("Deploy"));
        let token = Secret::new("ghp_x");
        assert_eq!(redact("value ghp_x and hash-c9", &token), "value <redacted> and hash-c9");
    }

    #[test]
    fn webhooks_are_rebuilt_with_a_new_secret() {
        let hook = Webhook {
            name: "h".into(),
            target_action: "Source".into(),
            authentication: "GITHUB_HMAC".into(),
            allowed_ip_range: None,
            filters: json!([{"jsonPath": "$.ref", "matchEquals": "refs/heads/{Branch}"}]),
        };
        let a = webhook_definition("p", &hook).unwrap();
        let b = webhook_definition("p", &hook).unwrap();
        let secret = |d: &WebhookDefinition| {
            d.authentication_configuration().and_then(|c| c.secret_token()).unwrap().to_string()
        };
        assert_eq!(secret(&a).len(), 40);
        assert_ne!(secret(&a), secret(&b));
        assert_eq!(a.target_pipeline(), "p");
        assert_eq!(a.filters()[0].match_equals(), Some("refs/heads/{Branch}"));
        let no_filters = Webhook { filters: json!([]), ..hook };
        assert!(webhook_definition("p", &no_filters).is_err());
    }
}
