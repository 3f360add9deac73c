//! v1 GitHub source actions (`Source/ThirdParty/GitHub/1`, authenticated by an OAuth token
//! kept in the pipeline) and their replacement, `Source/AWS/CodeStarSourceConnection/1`.
//!
//! Declarations are the CodePipeline API's JSON (`stages[].actions[]`, camelCase members,
//! action `configuration` values as strings), as `GetPipeline` returns them.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// The replacement's provider (owner `AWS`, category `Source`, version `1`).
pub const CONNECTION_PROVIDER: &str = "CodeStarSourceConnection";

/// Configuration keys of a v1 source that hold the GitHub token (masked or not).
pub const TOKEN_KEYS: &[&str] = &["OAuthToken"];

/// One v1 GitHub source action of a declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct V1Source {
    pub stage: String,
    pub action: String,
    /// The GitHub owner (user or organization); empty when the action has none.
    pub owner: String,
    pub repo: String,
    pub branch: String,
    /// `PollForSourceChanges`; `None` when absent (AWS then polls) or unreadable.
    pub poll_for_source_changes: Option<bool>,
    pub output_artifacts: Vec<String>,
}

impl V1Source {
    /// The configuration keys a conversion needs that this action lacks.
    pub fn missing(&self) -> Vec<&'static str> {
        [("Owner", &self.owner), ("Repo", &self.repo), ("Branch", &self.branch)]
            .into_iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(k, _)| k)
            .collect()
    }

    /// Whether the converted source should start the pipeline on a push: a v1 source did
    /// when it polled (the default) or when a webhook called it.
    pub fn detect_changes(&self, has_webhook: bool) -> bool {
        has_webhook || self.poll_for_source_changes != Some(false)
    }
}

/// Whether an action is a v1 GitHub source.
pub fn is_v1_github(action: &Value) -> bool {
    action_type_is(action, "Source", "ThirdParty", "GitHub", "1")
}

/// Whether an action is a CodeStar Connections source.
pub fn is_codestar_source(action: &Value) -> bool {
    action_type_is(action, "Source", "AWS", CONNECTION_PROVIDER, "1")
}

fn action_type_is(
    action: &Value,
    category: &str,
    owner: &str,
    provider: &str,
    version: &str,
) -> bool {
    let Some(t) = action.get("actionTypeId") else {
        return false;
    };
    let field = |k: &str| t.get(k).and_then(Value::as_str);
    field("category") == Some(category)
        && field("owner") == Some(owner)
        && field("provider") == Some(provider)
        && field("version") == Some(version)
}

/// Every v1 GitHub source action, in stage and action order.
pub fn v1_github_sources(declaration: &Value) -> Vec<V1Source> {
    let mut out = Vec::new();
    for stage in array(declaration, "stages") {
        let stage_name = text(stage, "name");
        for action in array(stage, "actions").iter().filter(|a| is_v1_github(a)) {
            let conf = action.get("configuration");
            let key = |k: &str| conf.map_or_else(String::new, |c| text(c, k));
            out.push(V1Source {
                stage: stage_name.clone(),
                action: text(action, "name"),
                owner: key("Owner"),
                repo: key("Repo"),
                branch: key("Branch"),
                poll_for_source_changes: conf
                    .and_then(|c| c.get("PollForSourceChanges"))
                    .and_then(boolean),
                output_artifacts: array(action, "outputArtifacts")
                    .iter()
                    .map(|a| text(a, "name"))
                    .collect(),
            });
        }
    }
    out
}

/// The declaration with every v1 GitHub source replaced by a CodeStar Connections source
/// on `connection_arn`. A converted action keeps its name, run order, output artifacts,
/// region and namespace; everything else of the v1 action (the token first) is dropped.
/// `DetectChanges` is `"false"` only for a source that never started the pipeline by itself
/// (`PollForSourceChanges` `"false"` and no webhook). Other actions are left as they are,
/// so converting twice gives the same declaration as converting once.
pub fn to_codestar(declaration: &Value, connection_arn: &str, has_webhook: bool) -> Value {
    to_codestar_with(declaration, connection_arn, &|_| has_webhook)
}

/// [`to_codestar`], with whether a webhook starts each action (by action name): a source
/// keeps detecting changes when it polled or its own webhook called it.
pub fn to_codestar_with(
    declaration: &Value,
    connection_arn: &str,
    webhook_on: &dyn Fn(&str) -> bool,
) -> Value {
    let mut out = declaration.clone();
    let stages = out.get_mut("stages").and_then(Value::as_array_mut);
    for stage in stages.into_iter().flatten() {
        let actions = stage.get_mut("actions").and_then(Value::as_array_mut);
        for action in actions.into_iter().flatten() {
            if is_v1_github(action) {
                let hooked = webhook_on(&text(action, "name"));
                *action = converted(action, connection_arn, hooked);
            }
        }
    }
    out
}

fn converted(v1: &Value, connection_arn: &str, has_webhook: bool) -> Value {
    let conf = v1.get("configuration");
    let key = |k: &str| conf.map_or_else(String::new, |c| text(c, k));
    let polls = conf.and_then(|c| c.get("PollForSourceChanges")).and_then(boolean);
    let detect = has_webhook || polls != Some(false);
    let mut action = Map::new();
    action.insert("name".into(), json!(text(v1, "name")));
    action.insert(
        "actionTypeId".into(),
        json!({"category": "Source", "owner": "AWS", "provider": CONNECTION_PROVIDER, "version": "1"}),
    );
    if let Some(run_order) = v1.get("runOrder").filter(|v| !v.is_null()) {
        action.insert("runOrder".into(), run_order.clone());
    }
    action.insert(
        "configuration".into(),
        json!({
            "ConnectionArn": connection_arn,
            "FullRepositoryId": format!("{}/{}", key("Owner"), key("Repo")),
            "BranchName": key("Branch"),
            "OutputArtifactFormat": "CODE_ZIP",
            "DetectChanges": if detect { "true" } else { "false" },
        }),
    );
    action.insert(
        "outputArtifacts".into(),
        v1.get("outputArtifacts").filter(|v| !v.is_null()).cloned().unwrap_or_else(|| json!([])),
    );
    for k in ["region", "namespace"] {
        if let Some(v) = v1.get(k).filter(|v| !v.is_null()) {
            action.insert(k.into(), v.clone());
        }
    }
    Value::Object(action)
}

/// Where a token key appears anywhere in `value` (`stages[0].actions[0].configuration.OAuthToken`).
pub fn token_paths(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_token_paths(value, String::new(), &mut out);
    out
}

fn collect_token_paths(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                if TOKEN_KEYS.iter().any(|t| t.eq_ignore_ascii_case(k)) {
                    out.push(path.clone());
                }
                collect_token_paths(v, path, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_token_paths(v, format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The mask AWS shows in place of a token.
pub const MASK: &str = "****";

/// Every token key's value, anywhere in `value`, replaced by the mask (what is saved to
/// disk never holds a token, even where an API forgot to mask it). The count of values
/// masked.
pub fn redact_tokens(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter_mut()
            .map(|(k, v)| {
                if TOKEN_KEYS.iter().any(|t| t.eq_ignore_ascii_case(k)) {
                    *v = json!(MASK);
                    1
                } else {
                    redact_tokens(v)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(redact_tokens).sum(),
        _ => 0,
    }
}

/// The token put back into every v1 GitHub source of a declaration (a rollback). The count
/// of sources given it.
pub fn restore_tokens(declaration: &mut Value, token: &orgsplit_model::Secret) -> usize {
    let mut n = 0;
    let stages = declaration.get_mut("stages").and_then(Value::as_array_mut);
    for stage in stages.into_iter().flatten() {
        let actions = stage.get_mut("actions").and_then(Value::as_array_mut);
        for action in actions.into_iter().flatten() {
            if !is_v1_github(action) {
                continue;
            }
            if let Some(conf) = action.get_mut("configuration").and_then(Value::as_object_mut) {
                conf.insert("OAuthToken".into(), json!(token.expose()));
                n += 1;
            }
        }
    }
    n
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default()
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// Action configuration values are strings (`"false"`); a JSON boolean is accepted too.
fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:codestar-connections:us-east-1:222222222222:connection/abc";

    fn demo(poll: &str) -> Value {
        json!({
            "name": "prod-api-release",
            "roleArn": "arn:aws:iam::222222222222:role/codepipeline-service",
            "artifactStore": {"type": "S3", "location": "bucket"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source",
                    "actionTypeId": {"category": "Source", "owner": "ThirdParty", "provider": "GitHub", "version": "1"},
                    "runOrder": 1,
                    "configuration": {"Owner": "acme", "Repo": "api", "Branch": "main",
                                      "PollForSourceChanges": poll, "OAuthToken": "****"},
                    "outputArtifacts": [{"name": "source_output"}],
                    "inputArtifacts": [],
                    "namespace": "SourceVariables"
                }]},
                {"name": "Approve", "actions": [{
                    "name": "Approve",
                    "actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"},
                    "runOrder": 1, "configuration": {}, "outputArtifacts": [], "inputArtifacts": []
                }]}
            ],
            "version": 3
        })
    }

    #[test]
    fn finds_v1_sources() {
        let found = v1_github_sources(&demo("false"));
        assert_eq!(
            found,
            vec![V1Source {
                stage: "Source".into(),
                action: "Source".into(),
                owner: "acme".into(),
                repo: "api".into(),
                branch: "main".into(),
                poll_for_source_changes: Some(false),
                output_artifacts: vec!["source_output".into()],
            }]
        );
        assert!(found[0].missing().is_empty());
        assert!(!found[0].detect_changes(false));
        assert!(found[0].detect_changes(true));
    }

    #[test]
    fn converts_the_source_and_leaves_the_rest() {
        let before = demo("false");
        let after = to_codestar(&before, ARN, true);
        let action = &after["stages"][0]["actions"][0];
        assert_eq!(
            action,
            &json!({
                "name": "Source",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "runOrder": 1,
                "configuration": {
                    "ConnectionArn": ARN,
                    "FullRepositoryId": "acme/api",
                    "BranchName": "main",
                    "OutputArtifactFormat": "CODE_ZIP",
                    "DetectChanges": "true"
                },
                "outputArtifacts": [{"name": "source_output"}],
                "namespace": "SourceVariables"
            })
        );
        assert_eq!(after["stages"][1], before["stages"][1]);
        assert_eq!(after["roleArn"], before["roleArn"]);
        assert_eq!(after["version"], before["version"]);
        assert!(token_paths(&after).is_empty());
        assert_eq!(
            token_paths(&before),
            vec!["stages[0].actions[0].configuration.OAuthToken".to_string()]
        );
        assert!(v1_github_sources(&after).is_empty());
        assert!(is_codestar_source(action));
    }

    #[test]
    fn detect_changes_follows_polling_and_webhooks() {
        let detect = |poll: &str, hook: bool| {
            to_codestar(&demo(poll), ARN, hook)["stages"][0]["actions"][0]["configuration"]
                ["DetectChanges"]
                .clone()
        };
        assert_eq!(detect("false", false), "false");
        assert_eq!(detect("false", true), "true");
        assert_eq!(detect("true", false), "true");
        // Absent: AWS's default for a v1 source is to poll.
        let mut d = demo("x");
        d["stages"][0]["actions"][0]["configuration"]
            .as_object_mut()
            .unwrap()
            .remove("PollForSourceChanges");
        assert_eq!(
            to_codestar(&d, ARN, false)["stages"][0]["actions"][0]["configuration"]["DetectChanges"],
            "true"
        );
    }

    #[test]
    fn missing_keys_are_reported() {
        let mut d = demo("true");
        d["stages"][0]["actions"][0]["configuration"] = json!({"Repo": "api"});
        assert_eq!(v1_github_sources(&d)[0].missing(), vec!["Owner", "Branch"]);
    }

    #[test]
    fn tokens_are_redacted_and_restored() {
        let mut d = demo("true");
        d["stages"][0]["actions"][0]["configuration"]["OAuthToken"] = json!("ghp_secret");
        assert_eq!(redact_tokens(&mut d), 1);
        assert!(!d.to_string().contains("ghp_secret"));
        assert_eq!(d["stages"][0]["actions"][0]["configuration"]["OAuthToken"], MASK);
        let token = orgsplit_model::Secret::new("ghp_new");
        assert_eq!(restore_tokens(&mut d, &token), 1);
        assert_eq!(d["stages"][0]["actions"][0]["configuration"]["OAuthToken"], "ghp_new");
        // Only v1 GitHub sources get one.
        assert!(d["stages"][1]["actions"][0]["configuration"].get("OAuthToken").is_none());
    }

    #[test]
    fn declarations_without_stages_are_left_alone() {
        assert_eq!(to_codestar(&json!({"name": "x"}), ARN, false), json!({"name": "x"}));
        assert!(v1_github_sources(&json!(null)).is_empty());
    }
}
