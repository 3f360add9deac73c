//! `pipelines scan`: the pipelines of an account with v1 GitHub sources (and their
//! webhooks), and the Terraform states that hold a GitHub OAuth token.
//!
//! CodePipeline masks the token (`****`), so the API cannot say which token a pipeline
//! uses; the states can, which is why both are searched. Calls per region, for `n`
//! pipelines and `w` webhooks: `ListPipelines = max(1, ceil(n / 1000))`,
//! `GetPipeline = n`, `ListWebhooks = max(1, ceil(w / 100))`. Per state source:
//! `ListObjectsV2` pages, `GetBucketLocation` once, `GetObject` once per `*.tfstate`.

use futures::stream::{self, StreamExt, TryStreamExt};
use orgsplit_aws::listing::{pipeline_names, pipeline_webhooks};
use orgsplit_aws::{AccountSession, call_error};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

use crate::PipelinesError;
use crate::convert::{V1Source, is_codestar_source, redact_tokens, v1_github_sources};
use crate::tfstate::{StateScan, TfstateError, TokenMatcher};

const CONCURRENCY: usize = 8;

/// A pipeline with a v1 GitHub source, or with webhooks left from one.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineScan {
    pub region: String,
    pub name: String,
    pub arn: String,
    pub role_arn: Option<String>,
    pub sources: Vec<SourceScan>,
    /// Connections its CodeStar sources use already.
    pub connections: Vec<String>,
    pub webhooks: Vec<Webhook>,
    /// The declaration as read, every token masked.
    #[serde(skip)]
    pub declaration: Value,
}

/// A v1 source and what starts its pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct SourceScan {
    #[serde(flatten)]
    pub source: V1Source,
    /// `webhook`, `polling` or `none` (started by hand or by another trigger).
    pub trigger: &'static str,
}

/// A v1 webhook, without its secret and its URL (whoever has the URL can start the
/// pipeline).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub name: String,
    pub target_action: String,
    pub authentication: String,
    /// `AllowedIPRange` for `IP` webhooks; `GITHUB_HMAC` secrets are never kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_ip_range: Option<String>,
    pub filters: Value,
}

impl PipelineScan {
    pub fn has_v1_sources(&self) -> bool {
        !self.sources.is_empty()
    }
}

/// The pipelines of one region with a v1 GitHub source or a webhook, sorted by name, and
/// how many pipelines the region has in all. `only` (when not empty) keeps those names.
pub async fn pipelines(
    session: &AccountSession,
    region: &str,
    only: &[String],
) -> Result<(Vec<PipelineScan>, usize), PipelinesError> {
    let client = session.codepipeline(region);
    let account = session.account_id.as_str();
    let names = async { Ok::<_, PipelinesError>(pipeline_names(session, region).await?) };
    let webhooks = webhooks(session, region);
    let (names, mut hooks) = futures::try_join!(names, webhooks)?;
    let total = names.len();
    let wanted: Vec<String> =
        names.into_iter().filter(|n| only.is_empty() || only.contains(n)).collect();
    let read: Vec<Option<PipelineScan>> = stream::iter(wanted)
        .map(|name| {
            let client = client.clone();
            let hooks = hooks.remove(&name).unwrap_or_default();
            async move {
                let Some((declaration, arn)) =
                    get_pipeline(&client, account, region, &name).await?
                else {
                    return Ok(None);
                };
                Ok::<_, PipelinesError>(describe(region, &name, arn, declaration, hooks))
            }
        })
        .buffered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut out: Vec<PipelineScan> = read.into_iter().flatten().collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((out, total))
}

fn describe(
    region: &str,
    name: &str,
    arn: String,
    mut declaration: Value,
    webhooks: Vec<Webhook>,
) -> Option<PipelineScan> {
    redact_tokens(&mut declaration);
    let sources: Vec<SourceScan> = v1_github_sources(&declaration)
        .into_iter()
        .map(|source| {
            let trigger = if webhooks.iter().any(|w| w.target_action == source.action) {
                "webhook"
            } else if source.poll_for_source_changes != Some(false) {
                "polling"
            } else {
                "none"
            };
            SourceScan { source, trigger }
        })
        .collect();
    if sources.is_empty() && webhooks.is_empty() {
        return None;
    }
    let mut connections: Vec<String> = declaration["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["actions"].as_array().into_iter().flatten())
        .filter(|a| is_codestar_source(a))
        .filter_map(|a| a.pointer("/configuration/ConnectionArn").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    connections.sort();
    connections.dedup();
    Some(PipelineScan {
        region: region.to_string(),
        name: name.to_string(),
        arn,
        role_arn: declaration.get("roleArn").and_then(Value::as_str).map(str::to_string),
        sources,
        connections,
        webhooks,
        declaration,
    })
}

/// A pipeline's declaration (as the API returns it) and ARN, if it exists.
pub(crate) async fn get_pipeline(
    client: &aws_sdk_codepipeline::Client,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<(Value, String)>, PipelinesError> {
    match client.get_pipeline().name(name).send().await {
        Ok(out) => {
            let declaration =
                out.pipeline().map(orgsplit_aws::sdk_json::to_json).unwrap_or(Value::Null);
            let arn = out.metadata().and_then(|m| m.pipeline_arn()).unwrap_or_default().to_string();
            Ok(Some((declaration, arn)))
        }
        Err(e) => {
            let err = call_error("codepipeline", "GetPipeline", account, region, e);
            if err.is_not_found() { Ok(None) } else { Err(err.into()) }
        }
    }
}

/// The region's webhooks by target pipeline, secrets and URLs left out.
pub(crate) async fn webhooks(
    session: &AccountSession,
    region: &str,
) -> Result<std::collections::BTreeMap<String, Vec<Webhook>>, PipelinesError> {
    let mut by_pipeline: std::collections::BTreeMap<String, Vec<Webhook>> = Default::default();
    for w in &pipeline_webhooks(session, region).await? {
        let Some(def) = w.definition() else { continue };
        let allowed_ip_range = def
            .authentication_configuration()
            .and_then(|c| c.allowed_ip_range())
            .map(str::to_string);
        let filters: Vec<Value> = def
            .filters()
            .iter()
            .map(|f| {
                let mut v = serde_json::Map::new();
                v.insert("jsonPath".into(), Value::from(f.json_path()));
                if let Some(m) = f.match_equals() {
                    v.insert("matchEquals".into(), Value::from(m));
                }
                Value::Object(v)
            })
            .collect();
        by_pipeline.entry(def.target_pipeline().to_string()).or_default().push(Webhook {
            name: def.name().to_string(),
            target_action: def.target_action().to_string(),
            authentication: def.authentication().as_str().to_string(),
            allowed_ip_range,
            filters: Value::Array(filters),
        });
    }
    for hooks in by_pipeline.values_mut() {
        hooks.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(by_pipeline)
}

/// Where Terraform states are read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSource {
    S3 { bucket: String, prefix: String },
    Local(PathBuf),
}

impl std::str::FromStr for StateSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("{s}: no bucket (expected s3://BUCKET/PREFIX)"));
            }
            return Ok(StateSource::S3 { bucket: bucket.into(), prefix: prefix.into() });
        }
        if s.is_empty() {
            return Err("an empty path".into());
        }
        Ok(StateSource::Local(PathBuf::from(s)))
    }
}

impl std::fmt::Display for StateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateSource::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            StateSource::Local(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One state and what was found in it.
#[derive(Debug, Clone, Serialize)]
pub struct StateReport {
    /// `s3://BUCKET/KEY` or a file path.
    pub location: String,
    pub bytes: Option<u64>,
    #[serde(flatten)]
    pub scan: StateScan,
    /// Why it could not be read as a Terraform state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every `*.tfstate` under the source (a file is scanned whatever its name), each streamed.
pub async fn states(
    session: &AccountSession,
    home_region: &str,
    source: &StateSource,
    token: Option<&std::sync::Arc<TokenMatcher>>,
) -> Result<Vec<StateReport>, PipelinesError> {
    match source {
        StateSource::Local(path) => local_states(path, token).await,
        StateSource::S3 { bucket, prefix } => {
            s3_states(session, home_region, bucket, prefix, token).await
        }
    }
}

fn is_state_name(name: &str) -> bool {
    name.ends_with(".tfstate")
}

async fn local_states(
    path: &Path,
    token: Option<&std::sync::Arc<TokenMatcher>>,
) -> Result<Vec<StateReport>, PipelinesError> {
    let meta = std::fs::metadata(path).map_err(|e| PipelinesError::Input {
        what: format!("--tfstate {}", path.display()),
        message: e.to_string(),
    })?;
    let files: Vec<PathBuf> = if meta.is_file() {
        vec![path.to_path_buf()]
    } else {
        let mut files = Vec::new();
        for entry in walkdir::WalkDir::new(path).follow_links(true).sort_by_file_name() {
            let entry = entry.map_err(|e| PipelinesError::Input {
                what: format!("--tfstate {}", path.display()),
                message: e.to_string(),
            })?;
            if entry.file_type().is_file() && is_state_name(&entry.file_name().to_string_lossy()) {
                files.push(entry.into_path());
            }
        }
        files
    };
    let mut out = Vec::new();
    for file in files {
        let token = token.cloned();
        let location = file.display().to_string();
        let (bytes, result) = tokio::task::spawn_blocking(move || {
            let f = std::fs::File::open(&file)?;
            let bytes = f.metadata().ok().map(|m| m.len());
            Ok::<_, std::io::Error>((bytes, crate::tfstate::scan(f, token.as_deref())))
        })
        .await
        .map_err(|e| PipelinesError::Internal(e.to_string()))?
        .map_err(|e| PipelinesError::Input { what: location.clone(), message: e.to_string() })?;
        out.push(report(location, bytes, result)?);
    }
    Ok(out)
}

/// A read that failed is the caller's problem to retry; a state that is not a state is a
/// finding of the scan.
fn report(
    location: String,
    bytes: Option<u64>,
    result: Result<StateScan, TfstateError>,
) -> Result<StateReport, PipelinesError> {
    match result {
        Ok(scan) => Ok(StateReport { location, bytes, scan, error: None }),
        Err(TfstateError::NotState(why)) => {
            Ok(StateReport { location, bytes, scan: StateScan::default(), error: Some(why) })
        }
        Err(TfstateError::Io(e)) => Err(PipelinesError::Read { location, message: e.to_string() }),
    }
}

/// Attempts at reading one S3 state: a connection dropped mid-body is not retried by the
/// SDK (the response had started), so the whole object is read again.
const S3_READ_ATTEMPTS: u32 = 5;

async fn s3_states(
    session: &AccountSession,
    home_region: &str,
    bucket: &str,
    prefix: &str,
    token: Option<&std::sync::Arc<TokenMatcher>>,
) -> Result<Vec<StateReport>, PipelinesError> {
    let account = session.account_id.as_str();
    let region = bucket_region(session, home_region, bucket).await?;
    let client = session.s3(&region);
    let mut keys = Vec::new();
    let mut pages = client.list_objects_v2().bucket(bucket).prefix(prefix).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_error("s3", "ListObjectsV2", account, &region, e))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(|k| (k.to_string(), o.size())))
                .filter(|(k, _)| is_state_name(k)),
        );
    }
    keys.sort();
    let mut out = Vec::new();
    for (key, size) in keys {
        let location = format!("s3://{bucket}/{key}");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let got = client
                .get_object()
                .bucket(bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| call_error("s3", "GetObject", account, &region, e))?;
            let reader = tokio_util::io::SyncIoBridge::new(got.body.into_async_read());
            let token = token.cloned();
            let result =
                tokio::task::spawn_blocking(move || crate::tfstate::scan(reader, token.as_deref()))
                    .await
                    .map_err(|e| PipelinesError::Internal(e.to_string()))?;
            match report(location.clone(), size.and_then(|s| u64::try_from(s).ok()), result) {
                Err(PipelinesError::Read { message, .. }) if attempt < S3_READ_ATTEMPTS => {
                    tracing::warn!(%location, attempt, %message, "state read broke off: reading it again");
                    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)))
                        .await;
                }
                other => {
                    out.push(other?);
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// The bucket's region (`GetBucketLocation` answers nothing for us-east-1); the home
/// region when the caller may not ask.
async fn bucket_region(
    session: &AccountSession,
    home_region: &str,
    bucket: &str,
) -> Result<String, PipelinesError> {
    let account = session.account_id.as_str();
    match session.s3(home_region).get_bucket_location().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .location_constraint()
            .map(|c| c.as_str().to_string())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "us-east-1".to_string())),
        Err(e) => {
            let err = call_error("s3", "GetBucketLocation", account, home_region, e);
            match err.class() {
                orgsplit_aws::ErrorClass::Denied => Ok(home_region.to_string()),
                orgsplit_aws::ErrorClass::NotFound => Err(PipelinesError::Input {
                    what: format!("--tfstate s3://{bucket}"),
                    message: format!("no such bucket in account {account}"),
                }),
                _ => Err(err.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn state_sources_parse() {
        assert_eq!(
            "s3://b/p/x".parse::<StateSource>().unwrap(),
            StateSource::S3 { bucket: "b".into(), prefix: "p/x".into() }
        );
        assert_eq!(
            "s3://b".parse::<StateSource>().unwrap(),
            StateSource::S3 { bucket: "b".into(), prefix: "".into() }
        );
        assert!("s3:///x".parse::<StateSource>().is_err());
        assert_eq!("states".parse::<StateSource>().unwrap(), StateSource::Local("states".into()));
    }

    #[test]
    fn triggers_follow_webhooks_and_polling() {
        let decl = json!({"name": "p", "roleArn": "arn:aws:iam::1:role/r", "stages": [{"name": "Source", "actions": [
            {"name": "A", "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
             "configuration": {"Owner": "o", "Repo": "r", "Branch": "b", "PollForSourceChanges": "false", "OAuthToken": "ghp_x"}},
            {"name": "B", "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
             "configuration": {"Owner": "o", "Repo": "r2", "Branch": "b", "OAuthToken": "ghp_x"}},
            {"name": "C", "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
             "configuration": {"Owner": "o", "Repo": "r3", "Branch": "b", "PollForSourceChanges": "false"}}
        ]}]});
        let hook = Webhook {
            name: "h".into(),
            target_action: "A".into(),
            authentication: "GITHUB_HMAC".into(),
            allowed_ip_range: None,
            filters: json!([]),
        };
        let p = describe("us-east-1", "p", "arn".into(), decl, vec![hook]).unwrap();
        let triggers: Vec<_> = p.sources.iter().map(|s| s.trigger).collect();
        assert_eq!(triggers, vec!["webhook", "polling", "none"]);
        assert!(!p.declaration.to_string().contains("ghp_x"));
        assert_eq!(p.role_arn.as_deref(), Some("arn:aws:iam::1:role/r"));
        // A pipeline with neither v1 sources nor webhooks is not a finding.
        assert!(describe("r", "q", "a".into(), json!({"stages": []}), vec![]).is_none());
    }
}
