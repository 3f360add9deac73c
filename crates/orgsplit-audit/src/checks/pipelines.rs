//! Incident 3: revoking one GitHub token broke every pipeline with a v1 GitHub source.

use orgsplit_model::ResourceKind;
use orgsplit_pipelines::convert::v1_github_sources;
use serde_json::{Value, json};

use crate::facts::AccountFacts;
use crate::finding::{Finding, FindingCode};

pub fn v1_github_sources_of(account: &AccountFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in account.resources.iter().filter(|r| r.kind == ResourceKind::Pipeline) {
        let Some(declaration) = p.config.get("declaration") else {
            continue;
        };
        let sources = v1_github_sources(declaration);
        if sources.is_empty() {
            continue;
        }
        let webhooks: Vec<String> = p
            .config
            .get("webhooks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|w| w.get("name").and_then(Value::as_str).map(str::to_string))
            .collect();
        let repos: Vec<String> =
            sources.iter().map(|s| format!("{}/{}@{}", s.owner, s.repo, s.branch)).collect();
        let region = p.region.clone().unwrap_or_default();
        out.push(
            Finding::new(
                FindingCode::V1GithubSource,
                &account.account_id,
                format!(
                    "pipeline {} builds {} from a v1 GitHub source: revoking its OAuth token breaks it{}",
                    p.name,
                    repos.join(", "),
                    if webhooks.is_empty() {
                        String::new()
                    } else {
                        format!(" (webhooks {})", webhooks.join(", "))
                    }
                ),
                format!(
                    "orgsplit pipelines migrate --account {} --pipeline {} --org-connection",
                    account.account_id, p.name
                ),
            )
            .region(region)
            .resource(p.name.clone())
            .details(json!({
                "sources": sources.iter().map(|s| json!({
                    "stage": s.stage, "action": s.action, "owner": s.owner,
                    "repo": s.repo, "branch": s.branch,
                })).collect::<Vec<_>>(),
                "webhooks": webhooks,
            })),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::finding::AccountRole;

    fn pipeline(provider: &str, version: &str) -> orgsplit_model::Resource {
        resource(
            ResourceKind::Pipeline,
            "prod-api-release",
            &[],
            json!({"declaration": {"stages": [{"name": "Source", "actions": [{"name": "Source",
                "actionTypeId": {"category": "Source", "owner": if provider == "GitHub" { "ThirdParty" } else { "AWS" },
                                 "provider": provider, "version": version},
                "configuration": {"Owner": "acme", "Repo": "api", "Branch": "main"}}]}]},
                   "webhooks": [{"name": "prod-api-release-hook"}]}),
        )
    }

    #[test]
    fn v1_sources_are_found_codestar_ones_are_not() {
        let a = account(SOURCE, AccountRole::Source, vec![pipeline("GitHub", "1")]);
        let found = v1_github_sources_of(&a);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("acme/api@main"), "{}", found[0].message);
        assert_eq!(found[0].details["webhooks"], json!(["prod-api-release-hook"]));
        let b =
            account(SOURCE, AccountRole::Source, vec![pipeline("CodeStarSourceConnection", "1")]);
        assert!(v1_github_sources_of(&b).is_empty());
    }
}
