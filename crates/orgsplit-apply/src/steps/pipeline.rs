//! CodePipeline pipelines, re-created in the target account with their v1 GitHub sources
//! (an OAuth token in the pipeline) converted to connection sources on the organization's
//! connection (shared with the account through AWS RAM), whose ARN the connection step put
//! in its outputs. The pipeline's role is granted `UseConnection` on it by an inline policy.

use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::types::{PipelineDeclaration, Tag};
use orgsplit_aws::sdk_json::{from_json, to_json};
use orgsplit_model::step::{PipelineCopy, StepKind};
use orgsplit_pipelines::convert::{is_codestar_source, token_paths};
use orgsplit_pipelines::grant::GrantError;
use orgsplit_pipelines::{to_codestar, v1_github_sources};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::support::{first_difference, input_error, missing_tags, prune, wanted_tags};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_aws::Found;
use orgsplit_model::journal::OutputKey;

const CODEPIPELINE: &str = "codepipeline";

/// Top-level members AWS fills in when a declaration leaves them out: compared only when
/// the plan sets them.
const AWS_DEFAULTED: &[&str] = &["pipelineType", "executionMode"];

pub async fn run(cx: &StepContext, inputs: &PipelineCopy) -> Result<Outcome, StepError> {
    let name = inputs.copy.name.as_str();
    let planned = inputs
        .copy
        .config
        .get("declaration")
        .ok_or_else(|| input_error("config.declaration", "missing"))?;
    let sources = v1_github_sources(planned);
    if let Some(s) = sources.iter().find(|s| !s.missing().is_empty()) {
        return Err(input_error(
            &format!("config.declaration.stages.{}.{}", s.stage, s.action),
            format!("the v1 GitHub source lacks {}", s.missing().join(", ")),
        ));
    }
    let connection = connection_arn(cx).await?;
    let had_webhook = inputs.v1_webhooks > 0;
    let want = wanted_declaration(cx, name, planned, &connection, had_webhook)?;
    let role = want
        .get("roleArn")
        .and_then(Value::as_str)
        .ok_or_else(|| input_error("config.declaration.roleArn", "missing"))?;

    let mut changed = grant_use_connection(cx, role, &connection).await?;
    let client = cx.session().await?.codepipeline(cx.region());
    let live = get_pipeline(cx, &client, name).await?;
    let differs = live.as_ref().is_none_or(|(l, _)| {
        first_difference(&comparable(&want), &live_comparable(l, &want)).is_some()
    });
    if differs {
        let declaration = from_json(&want, PipelineDeclaration::deserialize)
            .map_err(|e| input_error("config.declaration", e))?;
        match live {
            None => create(cx, &client, declaration).await?,
            Some(_) => update(cx, &client, declaration).await?,
        }
        changed = true;
    }
    let (after, arn) = match (differs, live) {
        (false, Some(live)) => live,
        _ => get_pipeline(cx, &client, name).await?.ok_or_else(|| {
            StepError::Verify(format!("pipeline {name} is not there after writing it"))
        })?,
    };
    verify(name, &want, &after, &sources, &connection)?;
    changed |= tag_pipeline(cx, &client, &arn).await?;
    Ok(Outcome::changed(changed).with_output(OutputKey::PipelineArn, arn))
}

/// The connection step's output; the connection must still be AVAILABLE (a pipeline on a
/// pending connection would fail its first run), read from the pipeline's own account (the
/// organization's connection is shared with it, so it reads there only once shared).
async fn connection_arn(cx: &StepContext) -> Result<String, StepError> {
    let address = cx
        .step
        .depends_on
        .iter()
        .find(|a| cx.plan.steps().any(|s| &s.address == *a && s.kind() == StepKind::Connection))
        .ok_or_else(|| input_error("depends_on", "no connection step among them"))?;
    let arn = cx.output(address, OutputKey::ConnectionArn).ok_or_else(|| {
        StepError::Failed(format!(
            "{address} has not succeeded yet: the connection must be AVAILABLE first"
        ))
    })?;
    let got = cx
        .session()
        .await?
        .codeconnections(cx.region())
        .get_connection()
        .connection_arn(&arn)
        .send()
        .await
        .map_err(cx.error_of("codeconnections", "GetConnection"))?;
    let status =
        got.connection().and_then(|c| c.connection_status()).map(|s| s.as_str().to_string());
    if status.as_deref() != Some("AVAILABLE") {
        return Err(StepError::Failed(format!(
            "connection {arn} is {}, not AVAILABLE: complete it in the console ({}) and run apply again",
            status.as_deref().unwrap_or("without a status"),
            super::connection::console_url(cx.region())
        )));
    }
    Ok(arn)
}

/// The declaration to create: the plan's (account ids rewritten), v1 sources converted,
/// sources on another account's connection moved to this account's one (artifact buckets
/// already name their copies: the planner rewrote them), through the SDK's codec so it
/// compares like a live one.
fn wanted_declaration(
    cx: &StepContext,
    name: &str,
    planned: &Value,
    connection: &str,
    // Whether the source pipeline had v1 webhooks (a webhook-triggered source keeps
    // detecting changes): the planner records their count, having dropped them.
    had_webhook: bool,
) -> Result<Value, StepError> {
    if planned.get("name").and_then(Value::as_str) != Some(name) {
        return Err(input_error(
            "config.declaration.name",
            format!("is not the step's pipeline {name}"),
        ));
    }
    let mut d = to_codestar(planned, connection, had_webhook);
    repoint_connections(&mut d, connection, &cx.step.account);
    if let Some(o) = d.as_object_mut() {
        o.remove("version");
    }
    let sdk = from_json(&d, PipelineDeclaration::deserialize)
        .map_err(|e| input_error("config.declaration", e))?;
    Ok(to_json(&sdk))
}

/// A connection source on a connection of another account (the source account's, which is
/// not shared with this one) is moved to the organization's connection.
fn repoint_connections(d: &mut Value, connection: &str, account: &str) {
    let stages = d.get_mut("stages").and_then(Value::as_array_mut);
    for stage in stages.into_iter().flatten() {
        let actions = stage.get_mut("actions").and_then(Value::as_array_mut);
        for action in actions.into_iter().flatten() {
            if !is_codestar_source(action) {
                continue;
            }
            let Some(arn) = action.pointer_mut("/configuration/ConnectionArn") else {
                continue;
            };
            let elsewhere = arn
                .as_str()
                .and_then(super::support::arn_parts)
                .is_some_and(|(_, acct, _)| acct != account);
            if elsewhere {
                *arn = json!(connection);
            }
        }
    }
}

/// A declaration as compared: no `version` (AWS counts updates), a run order of 1 left
/// out (AWS's default), empty members left out.
fn comparable(d: &Value) -> Value {
    let mut v = prune(d);
    if let Some(o) = v.as_object_mut() {
        o.remove("version");
    }
    let stages = v.get_mut("stages").and_then(Value::as_array_mut);
    for stage in stages.into_iter().flatten() {
        let actions = stage.get_mut("actions").and_then(Value::as_array_mut);
        for action in actions.into_iter().flatten().filter_map(Value::as_object_mut) {
            if action.get("runOrder") == Some(&json!(1)) {
                action.remove("runOrder");
            }
        }
    }
    v
}

fn live_comparable(live: &Value, want: &Value) -> Value {
    let mut v = comparable(live);
    if let Some(o) = v.as_object_mut() {
        for k in AWS_DEFAULTED {
            if want.get(*k).is_none() {
                o.remove(*k);
            }
        }
    }
    v
}

/// The pipeline's declaration as JSON and its ARN, if it exists.
async fn get_pipeline(
    cx: &StepContext,
    client: &Client,
    name: &str,
) -> Result<Option<(Value, String)>, StepError> {
    let got = client.get_pipeline().name(name).send().await;
    let Some(out) = got.map_err(cx.error_of(CODEPIPELINE, "GetPipeline")).found()? else {
        return Ok(None);
    };
    let decl = out.pipeline().map(to_json).unwrap_or(Value::Null);
    let arn = out.metadata().and_then(|m| m.pipeline_arn());
    Ok(Some((decl, arn.unwrap_or_default().to_string())))
}

async fn create(
    cx: &StepContext,
    client: &Client,
    declaration: PipelineDeclaration,
) -> Result<(), StepError> {
    let tags = tag_list(&wanted_tags(cx));
    // A role created moments ago in this run may not have propagated to CodePipeline yet.
    super::propagation::retry(super::propagation::PIPELINE_ROLE, || {
        client
            .create_pipeline()
            .pipeline(declaration.clone())
            .set_tags((!tags.is_empty()).then_some(tags.clone()))
            .send()
    })
    .await
    .map_err(cx.error_of(CODEPIPELINE, "CreatePipeline"))?;
    Ok(())
}

async fn update(
    cx: &StepContext,
    client: &Client,
    declaration: PipelineDeclaration,
) -> Result<(), StepError> {
    super::propagation::retry(super::propagation::PIPELINE_ROLE, || {
        client.update_pipeline().pipeline(declaration.clone()).send()
    })
    .await
    .map_err(cx.error_of(CODEPIPELINE, "UpdatePipeline"))?;
    Ok(())
}

/// The pipeline as read back: the declaration the plan wants, each former v1 source a
/// CodeStar source on this account's connection, and no token anywhere.
fn verify(
    name: &str,
    want: &Value,
    live: &Value,
    sources: &[orgsplit_pipelines::V1Source],
    connection: &str,
) -> Result<(), StepError> {
    if let Some(field) = first_difference(&comparable(want), &live_comparable(live, want)) {
        return Err(StepError::Verify(format!("pipeline {name}: {field} differs from the plan")));
    }
    for s in sources {
        let action = live["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|st| st["name"] == json!(s.stage))
            .flat_map(|st| st["actions"].as_array().into_iter().flatten())
            .find(|a| a["name"] == json!(s.action));
        let ok = action.is_some_and(|a| {
            is_codestar_source(a)
                && a.pointer("/configuration/ConnectionArn") == Some(&json!(connection))
        });
        if !ok {
            return Err(StepError::Verify(format!(
                "pipeline {name}: source {}.{} is not a CodeStarSourceConnection on {connection}",
                s.stage, s.action
            )));
        }
    }
    if let Some(at) = token_paths(live).first() {
        return Err(StepError::Verify(format!("pipeline {name}: a GitHub token is still at {at}")));
    }
    Ok(())
}

/// The inline policy that lets the pipeline's role use the connection (shared with
/// `pipelines migrate`).
async fn grant_use_connection(
    cx: &StepContext,
    role_arn: &str,
    connection: &str,
) -> Result<bool, StepError> {
    let role = orgsplit_pipelines::grant::role_name(role_arn).ok_or_else(|| {
        input_error("config.declaration.roleArn", format!("{role_arn} is not a role ARN"))
    })?;
    let iam = cx.session().await?.iam();
    orgsplit_pipelines::grant::ensure_use_connection(
        &iam,
        &cx.step.account,
        cx.region(),
        role,
        connection,
    )
    .await
    .map_err(|e| match e {
        GrantError::Aws(a) => StepError::Aws(a),
        other @ GrantError::Verify { .. } => StepError::Verify(other.to_string()),
    })
}

fn tag_list(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok()).collect()
}

async fn tag_pipeline(cx: &StepContext, client: &Client, arn: &str) -> Result<bool, StepError> {
    let want = wanted_tags(cx);
    if want.is_empty() || arn.is_empty() {
        return Ok(false);
    }
    let session = cx.session().await?;
    let have = orgsplit_aws::listing::pipeline_tags(&session, cx.region(), arn).await?;
    let missing = missing_tags(&want, &have);
    if missing.is_empty() {
        return Ok(false);
    }
    client
        .tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tag_list(&missing)))
        .send()
        .await
        .map_err(cx.error_of(CODEPIPELINE, "TagResource"))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_compare_without_aws_defaults() {
        let want = json!({"name": "p", "stages": [{"name": "S", "actions": [{"name": "A", "runOrder": 1, "configuration": {}}]}]});
        let live = json!({"name": "p", "version": 4, "pipelineType": "V1", "executionMode": "SUPERSEDED",
            "stages": [{"name": "S", "actions": [{"name": "A", "inputArtifacts": [], "outputArtifacts": []}]}]});
        assert_eq!(first_difference(&comparable(&want), &live_comparable(&live, &want)), None);
        let v2 = json!({"name": "p", "pipelineType": "V2", "stages": want["stages"].clone()});
        assert_eq!(
            first_difference(&comparable(&v2), &live_comparable(&live, &v2)).as_deref(),
            Some("pipelineType")
        );
    }

    #[test]
    fn foreign_connections_are_repointed() {
        let mut d = json!({"stages": [{"name": "S", "actions": [
            {"name": "A", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
             "configuration": {"ConnectionArn": "arn:aws:codestar-connections:us-east-1:111111111111:connection/old"}},
            {"name": "B", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
             "configuration": {"ConnectionArn": "arn:aws:codestar-connections:us-east-1:222222222222:connection/mine"}}
        ]}]});
        repoint_connections(
            &mut d,
            "arn:aws:codestar-connections:us-east-1:222222222222:connection/new",
            "222222222222",
        );
        assert_eq!(
            d["stages"][0]["actions"][0]["configuration"]["ConnectionArn"],
            "arn:aws:codestar-connections:us-east-1:222222222222:connection/new"
        );
        assert_eq!(
            d["stages"][0]["actions"][1]["configuration"]["ConnectionArn"],
            "arn:aws:codestar-connections:us-east-1:222222222222:connection/mine"
        );
    }
}
