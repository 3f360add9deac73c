//! CodePipeline pipelines with their webhooks. The pipeline structure is kept in the API's
//! JSON (camelCase) under `declaration`; every action's `OAuthToken` configuration key and
//! every webhook's `SecretToken` are removed before anything is recorded.
//!
//! Calls per region, for `n` pipelines and `w` webhooks:
//! `ListPipelines = max(1, ceil(n / 1000))`, `GetPipeline = n`,
//! `ListTagsForResource = n` (at most 50 tags: one page each; the Tagging API does not
//! cover CodePipeline in the emulator), `ListWebhooks = max(1, ceil(w / 100))`.

use futures::stream::{self, StreamExt, TryStreamExt};
use orgsplit_aws::AccountSession;
use orgsplit_aws::listing::{pipeline_names, pipeline_tags, pipeline_webhooks};
use orgsplit_model::inventory::Reference;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::InventoryError;
use crate::util::{Collected, object, to_json};

const CONCURRENCY: usize = 8;

/// A described pipeline: name, ARN, declaration (scrubbed), tags.
type Described = (String, String, Value, BTreeMap<String, String>);

/// Configuration keys that hold secrets, dropped wherever they appear in an action.
const SECRET_KEYS: &[&str] = &["OAuthToken"];

pub async fn collect(session: &AccountSession, region: &str) -> Collected {
    let client = session.codepipeline(region);

    let names = async { Ok::<_, InventoryError>(pipeline_names(session, region).await?) };
    // Pipeline name -> its webhooks (secret token removed).
    let webhooks = async {
        let mut by_pipeline: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for w in &pipeline_webhooks(session, region).await? {
            let Some(def) = w.definition() else { continue };
            let mut v = to_json(def);
            scrub_webhook(&mut v);
            if let Some(o) = v.as_object_mut() {
                o.remove("targetPipeline");
                o.insert("url".into(), json!(w.url()));
                if let Some(arn) = w.arn() {
                    o.insert("arn".into(), json!(arn));
                }
            }
            by_pipeline.entry(def.target_pipeline().to_string()).or_default().push(v);
        }
        Ok::<_, InventoryError>(by_pipeline)
    };
    let (names, mut webhooks) = futures::try_join!(names, webhooks)?;

    let described: Vec<Option<Described>> = stream::iter(names)
        .map(|name| {
            let client = client.clone();
            async move {
                let got = client
                    .get_pipeline()
                    .name(&name)
                    .send()
                    .await
                    .map_err(session.error_of("codepipeline", "GetPipeline", region))?;
                let (Some(decl), Some(arn)) =
                    (got.pipeline(), got.metadata().and_then(|m| m.pipeline_arn()))
                else {
                    tracing::warn!(%name, "GetPipeline without a structure or ARN: skipped");
                    return Ok(None);
                };
                let mut declaration = to_json(decl);
                scrub_declaration(&mut declaration);
                let found = pipeline_tags(session, region, arn).await?;
                Ok::<_, InventoryError>(Some((name, arn.to_string(), declaration, found)))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;

    let mut out = Vec::new();
    for (name, arn, declaration, found) in described.into_iter().flatten() {
        let references =
            declaration_references(&declaration, &session.partition, region, &session.account_id);
        let config = object([
            ("declaration", declaration),
            ("webhooks", Value::Array(webhooks.remove(&name).unwrap_or_default())),
        ]);
        out.push(Resource::new(
            ResourceKind::Pipeline,
            name,
            arn,
            Some(region.to_string()),
            found,
            config,
            references,
        ));
    }
    for (pipeline, hooks) in webhooks {
        tracing::warn!(%pipeline, count = hooks.len(), "webhooks of a pipeline not listed");
    }
    Ok(out)
}

/// Drops secret configuration keys (`OAuthToken`, masked or not) from every action.
fn scrub_declaration(declaration: &mut Value) {
    let Some(stages) = declaration.get_mut("stages").and_then(Value::as_array_mut) else {
        return;
    };
    for stage in stages {
        let Some(actions) = stage.get_mut("actions").and_then(Value::as_array_mut) else {
            continue;
        };
        for action in actions {
            if let Some(conf) = action.get_mut("configuration").and_then(Value::as_object_mut) {
                conf.retain(|k, _| !SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(k)));
            }
        }
    }
}

/// Drops a webhook's shared secret.
fn scrub_webhook(webhook: &mut Value) {
    if let Some(auth) =
        webhook.get_mut("authenticationConfiguration").and_then(Value::as_object_mut)
    {
        auth.remove("SecretToken");
    }
}

/// The pipeline's role, its actions' roles, its artifact buckets and the CodeBuild projects
/// its build actions run (by name, in the action's region).
fn declaration_references(
    declaration: &Value,
    partition: &str,
    region: &str,
    account: &str,
) -> Vec<Reference> {
    let mut refs = Vec::new();
    if let Some(role) = declaration.get("roleArn").and_then(Value::as_str) {
        refs.push(Reference::new(role, "declaration.roleArn"));
    }
    if let Some(bucket) = declaration.pointer("/artifactStore/location").and_then(Value::as_str)
        && declaration.pointer("/artifactStore/type").and_then(Value::as_str) != Some("other")
    {
        refs.push(Reference::new(
            format!("arn:{partition}:s3:::{bucket}"),
            "declaration.artifactStore.location",
        ));
    }
    if let Some(stores) = declaration.get("artifactStores").and_then(Value::as_object) {
        for (region, store) in stores {
            if let Some(bucket) = store.get("location").and_then(Value::as_str) {
                refs.push(Reference::new(
                    format!("arn:{partition}:s3:::{bucket}"),
                    format!("declaration.artifactStores.{region}.location"),
                ));
            }
        }
    }
    let stages = declaration.get("stages").and_then(Value::as_array);
    for (i, stage) in stages.into_iter().flatten().enumerate() {
        let actions = stage.get("actions").and_then(Value::as_array);
        for (j, action) in actions.into_iter().flatten().enumerate() {
            if let Some(role) = action.get("roleArn").and_then(Value::as_str) {
                refs.push(Reference::new(
                    role,
                    format!("declaration.stages[{i}].actions[{j}].roleArn"),
                ));
            }
            if action.pointer("/actionTypeId/provider").and_then(Value::as_str) == Some("CodeBuild")
                && let Some(project) =
                    action.pointer("/configuration/ProjectName").and_then(Value::as_str)
            {
                let region = action.get("region").and_then(Value::as_str).unwrap_or(region);
                refs.push(Reference::new(
                    format!("arn:{partition}:codebuild:{region}:{account}:project/{project}"),
                    format!("declaration.stages[{i}].actions[{j}].configuration.ProjectName"),
                ));
            }
        }
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_removed() {
        let mut d = json!({"stages": [{"name": "Source", "actions": [{"name": "Source",
            "configuration": {"Owner": "acme", "OAuthToken": "****", "Repo": "api"}}]}]});
        scrub_declaration(&mut d);
        assert_eq!(
            d["stages"][0]["actions"][0]["configuration"],
            json!({"Owner": "acme", "Repo": "api"})
        );
        let mut w = json!({"name": "h", "authenticationConfiguration": {"SecretToken": "s", "AllowedIPRange": "1.2.3.4/32"}});
        scrub_webhook(&mut w);
        assert_eq!(w["authenticationConfiguration"], json!({"AllowedIPRange": "1.2.3.4/32"}));
    }
}
