//! `pipelines migrate`: a pipeline's v1 GitHub sources replaced in place by CodeStar
//! Connections sources.
//!
//! Per pipeline, in an order that a crash at any point leaves resumable by running the
//! same command again: save the declaration (token masked) under `plans/pipelines/`;
//! grant the pipeline's role `UseConnection` on the connection; deregister its v1 webhooks
//! from GitHub while the v1 action still stands (DeregisterWebhookWithThirdParty "is
//! currently supported only for webhooks that target an action type of GitHub"); update the
//! pipeline; delete the webhooks (while they exist, the converted source keeps
//! `DetectChanges`, and a pipeline left with webhooks is selected again); read everything
//! back. A deregistration that fails (a resumed run after the source was converted, or
//! GitHub refusing) is a warning naming the hook to remove by hand; the delete still runs. Each write is made only when what is there differs, so a second run changes
//! nothing.

use aws_sdk_codepipeline::types::PipelineDeclaration;
use orgsplit_aws::sdk_json::from_json;
use orgsplit_aws::{AccountSession, call_error};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

use crate::PipelinesError;
use crate::convert::{is_codestar_source, redact_tokens, to_codestar_with, token_paths};
use crate::grant::{allows_use_connection, arn_account, ensure_use_connection, role_name};
use crate::scan::{PipelineScan, Webhook, get_pipeline};

/// The saved declaration's format.
pub const SAVED_FORMAT_VERSION: u32 = 1;

/// A pipeline's declaration as it was before `migrate`, for `rollback`. Never holds a
/// token: every `OAuthToken` is the mask.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedDeclaration {
    pub format_version: u32,
    pub account: String,
    pub region: String,
    pub pipeline: String,
    pub saved_at: String,
    /// The connection the pipeline was moved to.
    pub connection_arn: String,
    pub declaration: Value,
    /// Its v1 webhooks (secrets left out: a rollback makes new ones).
    pub webhooks: Vec<Webhook>,
}

impl SavedDeclaration {
    /// `DIR/NAME.v1.json`.
    pub fn path(dir: &Path, pipeline: &str) -> PathBuf {
        dir.join(format!("{pipeline}.v1.json"))
    }

    pub fn load(path: &Path) -> Result<SavedDeclaration, PipelinesError> {
        let invalid =
            |message: String| PipelinesError::Input { what: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?;
        let saved: SavedDeclaration = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("not a saved declaration: {e}")))?;
        if saved.format_version != SAVED_FORMAT_VERSION {
            return Err(invalid(format!(
                "format_version {} is not {SAVED_FORMAT_VERSION}, the one this orgsplit reads",
                saved.format_version
            )));
        }
        if saved.declaration.get("name").and_then(Value::as_str) != Some(saved.pipeline.as_str()) {
            return Err(invalid(format!(
                "declaration.name is not the pipeline {}",
                saved.pipeline
            )));
        }
        Ok(saved)
    }
}

/// What migrating one pipeline would change or changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Migrated {
    pub region: String,
    pub pipeline: String,
    /// Where the declaration was saved, when it was.
    pub saved: Option<PathBuf>,
    /// The role was granted `UseConnection`.
    pub granted: bool,
    /// The pipeline was updated.
    pub updated: bool,
    pub webhooks_deleted: Vec<String>,
    /// Hooks left on GitHub that a person has to remove (deregistration failed).
    pub warnings: Vec<String>,
}

impl Migrated {
    pub fn changed(&self) -> bool {
        self.granted || self.updated || !self.webhooks_deleted.is_empty()
    }
}

/// The declaration a migration writes, from the one read (`version` kept: UpdatePipeline
/// takes the current one).
pub fn converted(p: &PipelineScan, connection_arn: &str) -> Value {
    to_codestar_with(&p.declaration, connection_arn, &|action| {
        p.webhooks.iter().any(|w| w.target_action == action)
    })
}

/// What must hold before anything is changed (so that bad input changes nothing): every
/// v1 source has its owner, repository and branch, and the declaration's save file, if one
/// is there, is a readable save of this same pipeline.
pub fn precheck(p: &PipelineScan, account: &str, save_dir: &Path) -> Result<(), PipelinesError> {
    for s in &p.sources {
        let missing = s.source.missing();
        if !missing.is_empty() {
            return Err(PipelinesError::Input {
                what: format!(
                    "pipeline {} ({}), source {}.{}",
                    p.name, p.region, s.source.stage, s.source.action
                ),
                message: format!("lacks {}: it cannot be converted", missing.join(", ")),
            });
        }
    }
    let path = SavedDeclaration::path(save_dir, &p.name);
    if p.has_v1_sources() && path.exists() {
        let existing = SavedDeclaration::load(&path).map_err(|e| PipelinesError::Input {
            what: path.display().to_string(),
            message: format!("{e}: move it away first"),
        })?;
        if existing.account != account || existing.region != p.region {
            return Err(PipelinesError::Input {
                what: path.display().to_string(),
                message: format!(
                    "holds pipeline {} of account {} ({}), not of account {account} ({}): move it away first",
                    p.name, existing.account, existing.region, p.region
                ),
            });
        }
    }
    Ok(())
}

/// What the role needs, for a dry run: `None` when the pipeline has no role to grant.
pub fn role_of(p: &PipelineScan) -> Option<&str> {
    p.role_arn.as_deref().and_then(role_name)
}

/// Migrates one pipeline onto an AVAILABLE connection of its own account and region.
pub async fn migrate(
    session: &AccountSession,
    p: &PipelineScan,
    connection_arn: &str,
    save_dir: &Path,
    now: &str,
) -> Result<Migrated, PipelinesError> {
    let account = session.account_id.as_str();
    let region = p.region.as_str();
    let fail = |m: String| PipelinesError::Failed(format!("pipeline {} ({region}): {m}", p.name));
    let mut done =
        Migrated { region: region.to_string(), pipeline: p.name.clone(), ..Migrated::default() };
    let uses_connection = p.has_v1_sources() || p.connections.iter().any(|c| c == connection_arn);

    if p.has_v1_sources() {
        done.saved = Some(save(session, p, connection_arn, save_dir, now)?);
    }

    let role = if uses_connection {
        let role_arn =
            p.role_arn.as_deref().ok_or_else(|| fail("the declaration has no roleArn".into()))?;
        let role =
            role_name(role_arn).ok_or_else(|| fail(format!("{role_arn} is not a role ARN")))?;
        if arn_account(role_arn) != Some(account) {
            return Err(fail(format!(
                "its role {role_arn} is in another account: grant it codestar-connections:UseConnection on {connection_arn} there, then run migrate again"
            )));
        }
        done.granted = ensure_use_connection(&session.iam(), account, region, role, connection_arn)
            .await
            .map_err(|e| fail(e.to_string()))?;
        Some(role.to_string())
    } else {
        None
    };

    let client = session.codepipeline(region);
    for hook in &p.webhooks {
        if let Some(warning) = deregister_webhook(&client, p, account, region, &hook.name).await {
            done.warnings.push(warning);
        }
    }
    if p.has_v1_sources() {
        let want = converted(p, connection_arn);
        let declaration = from_json(&want, PipelineDeclaration::deserialize)
            .map_err(|e| fail(format!("the converted declaration does not encode: {e}")))?;
        client
            .update_pipeline()
            .pipeline(declaration)
            .send()
            .await
            .map_err(|e| call_error("codepipeline", "UpdatePipeline", account, region, e))?;
        done.updated = true;
    }

    for hook in &p.webhooks {
        delete_webhook(&client, account, region, &hook.name).await?;
        done.webhooks_deleted.push(hook.name.clone());
    }

    verify(session, p, connection_arn, role.as_deref()).await?;
    Ok(done)
}

/// Writes `NAME.v1.json` (token masked), refusing to overwrite the save of a pipeline of
/// the same name in another account or region.
fn save(
    session: &AccountSession,
    p: &PipelineScan,
    connection_arn: &str,
    dir: &Path,
    now: &str,
) -> Result<PathBuf, PipelinesError> {
    let path = SavedDeclaration::path(dir, &p.name);
    if path.exists()
        && let Ok(existing) = SavedDeclaration::load(&path)
        && (existing.account != session.account_id || existing.region != p.region)
    {
        return Err(PipelinesError::Input {
            what: path.display().to_string(),
            message: format!(
                "holds pipeline {} of account {} ({}), not of account {} ({}): move it away first",
                p.name, existing.account, existing.region, session.account_id, p.region
            ),
        });
    }
    let mut declaration = p.declaration.clone();
    redact_tokens(&mut declaration);
    let saved = SavedDeclaration {
        format_version: SAVED_FORMAT_VERSION,
        account: session.account_id.clone(),
        region: p.region.clone(),
        pipeline: p.name.clone(),
        saved_at: now.to_string(),
        connection_arn: connection_arn.to_string(),
        declaration,
        webhooks: p.webhooks.clone(),
    };
    let text = serde_json::to_string_pretty(&saved).expect("a saved declaration serialises") + "\n";
    write_atomic(&path, &text)?;
    Ok(path)
}

/// A file written whole or not at all.
pub(crate) fn write_atomic(path: &Path, text: &str) -> Result<(), PipelinesError> {
    let fail = |e: std::io::Error| PipelinesError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(fail)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Deregisters a webhook from GitHub. A webhook already gone is fine; any other failure is
/// returned as a warning naming the repository whose hook a person has to remove.
async fn deregister_webhook(
    client: &aws_sdk_codepipeline::Client,
    p: &PipelineScan,
    account: &str,
    region: &str,
    name: &str,
) -> Option<String> {
    let e = client.deregister_webhook_with_third_party().webhook_name(name).send().await.err()?;
    let err = call_error("codepipeline", "DeregisterWebhookWithThirdParty", account, region, e);
    if err.is_not_found() {
        return None;
    }
    let repos: Vec<String> =
        p.sources.iter().map(|s| format!("{}/{}", s.source.owner, s.source.repo)).collect();
    let repos =
        if repos.is_empty() { "its GitHub repository".to_string() } else { repos.join(", ") };
    Some(format!(
        "pipeline {} ({region}): webhook {name} could not be deregistered from GitHub ({err}); remove the hook whose URL starts with https://{region}.webhooks.aws/trigger from {repos} (Settings, Webhooks) by hand",
        p.name
    ))
}

/// Deletes a webhook (deleting one already gone succeeds).
async fn delete_webhook(
    client: &aws_sdk_codepipeline::Client,
    account: &str,
    region: &str,
    name: &str,
) -> Result<(), PipelinesError> {
    client
        .delete_webhook()
        .name(name)
        .send()
        .await
        .map_err(|e| call_error("codepipeline", "DeleteWebhook", account, region, e))?;
    Ok(())
}

/// The pipeline as read back: each former v1 source a CodeStar source on the connection,
/// no token anywhere, no webhook targeting it, the role allowed to use the connection.
async fn verify(
    session: &AccountSession,
    p: &PipelineScan,
    connection_arn: &str,
    role: Option<&str>,
) -> Result<(), PipelinesError> {
    let account = session.account_id.as_str();
    let region = p.region.as_str();
    let fail = |m: String| PipelinesError::Verify(format!("pipeline {} ({region}): {m}", p.name));
    let client = session.codepipeline(region);
    let (live, _) = get_pipeline(&client, account, region, &p.name)
        .await?
        .ok_or_else(|| fail("not there when read back".into()))?;
    for s in &p.sources {
        let action = live["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|st| st["name"] == json!(s.source.stage))
            .flat_map(|st| st["actions"].as_array().into_iter().flatten())
            .find(|a| a["name"] == json!(s.source.action));
        let ok = action.is_some_and(|a| {
            is_codestar_source(a)
                && a.pointer("/configuration/ConnectionArn") == Some(&json!(connection_arn))
                && a.pointer("/configuration/FullRepositoryId")
                    == Some(&json!(format!("{}/{}", s.source.owner, s.source.repo)))
                && a.pointer("/configuration/BranchName") == Some(&json!(s.source.branch))
        });
        if !ok {
            return Err(fail(format!(
                "source {}.{} is not a CodeStarSourceConnection on {connection_arn} for {}/{}@{}",
                s.source.stage, s.source.action, s.source.owner, s.source.repo, s.source.branch
            )));
        }
    }
    if let Some(at) = token_paths(&live).first() {
        return Err(fail(format!("a GitHub token key is still at {at}")));
    }
    let left = crate::scan::webhooks(session, region).await?;
    if let Some(hooks) = left.get(&p.name) {
        return Err(fail(format!(
            "webhooks still target it: {}",
            hooks.iter().map(|h| h.name.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    if let Some(role) = role {
        let policy = crate::grant::role_policy(&session.iam(), account, region, role)
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !policy.is_some_and(|p| allows_use_connection(&p, connection_arn)) {
            return Err(fail(format!("role {role} is not allowed to use {connection_arn}")));
        }
    }
    Ok(())
}

/// The declaration as shown in a dry run: keys sorted, `version` left out (it is not
/// part of the change).
pub fn for_review(declaration: &Value) -> String {
    let mut d = declaration.clone();
    if let Some(o) = d.as_object_mut() {
        o.remove("version");
    }
    redact_tokens(&mut d);
    serde_json::to_string_pretty(&sort_keys(&d)).unwrap_or_default() + "\n"
}

fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), sort_keys(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}
