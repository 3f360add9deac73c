//! CodeBuild projects, as BatchGetProjects describes them (camelCase, the API's JSON), with
//! their tags. Environment variables of type `PLAINTEXT` are kept as the project holds them
//! (CodeBuild shows them to anyone who can read the project); `PARAMETER_STORE` and
//! `SECRETS_MANAGER` ones hold a name, never a value.
//!
//! Calls per region, for `n` projects: `ListProjects = max(1, ceil(n / 100))`,
//! `BatchGetProjects = ceil(n / 100)` (its limit is 100 names).

use orgsplit_aws::AccountSession;
use orgsplit_model::inventory::Reference;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::Value;

use crate::util::{Collected, tags, to_json};

/// BatchGetProjects takes at most 100 names
/// (<https://docs.aws.amazon.com/codebuild/latest/APIReference/API_BatchGetProjects.html>).
const BATCH: usize = 100;

/// Members that describe the project's history or AWS's own bookkeeping, not what a copy
/// needs: left out of the recorded configuration (and so of the fingerprint).
const NOT_COPIED: &[&str] = &[
    "arn",
    "created",
    "lastModified",
    "webhook",
    "badge",
    "tags",
    "projectVisibility",
    "publicProjectAlias",
    "resourceAccessRole",
];

pub async fn collect(session: &AccountSession, region: &str) -> Collected {
    let account = session.account_id.as_str();
    let client = session.codebuild(region);
    let mut names = Vec::new();
    let mut pages = client.list_projects().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(session.error_of("codebuild", "ListProjects", region))?;
        names.extend(page.projects().iter().cloned());
    }
    let mut out = Vec::new();
    for chunk in names.chunks(BATCH) {
        let got = client
            .batch_get_projects()
            .set_names(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(session.error_of("codebuild", "BatchGetProjects", region))?;
        for p in got.projects() {
            let (Some(name), Some(arn)) = (p.name(), p.arn()) else { continue };
            let mut config = to_json(p);
            let webhook = config.get("webhook").is_some_and(|w| !w.is_null());
            if let Some(members) = config.as_object_mut() {
                members.retain(|k, _| !NOT_COPIED.contains(&k.as_str()));
                if webhook {
                    // Recorded as a fact for the planner's note; a webhook is tied to the
                    // source provider's credentials in the source account.
                    members.insert("hasWebhook".into(), Value::Bool(true));
                }
            }
            let references = project_references(&config, &session.partition, region, account);
            out.push(Resource::new(
                ResourceKind::CodeBuildProject,
                name,
                arn,
                Some(region.to_string()),
                tags(p.tags().iter().map(|t| (t.key(), t.value()))),
                config,
                references,
            ));
        }
    }
    Ok(out)
}

/// The service role, the parameters and secrets environment variables name, the log group,
/// and the buckets of S3 sources and artifacts.
fn project_references(
    config: &Value,
    partition: &str,
    region: &str,
    account: &str,
) -> Vec<Reference> {
    let mut refs = Vec::new();
    if let Some(role) = config.get("serviceRole").and_then(Value::as_str) {
        refs.push(Reference::new(role, "serviceRole"));
    }
    let variables = config.pointer("/environment/environmentVariables").and_then(Value::as_array);
    for (i, v) in variables.into_iter().flatten().enumerate() {
        let Some(value) = v.get("value").and_then(Value::as_str) else { continue };
        let via = format!("environment.environmentVariables[{i}].value");
        match v.get("type").and_then(Value::as_str) {
            Some("PARAMETER_STORE") => {
                let name = value.split(":parameter").nth(1).unwrap_or(value);
                let sep = if name.starts_with('/') { "" } else { "/" };
                refs.push(Reference::new(
                    format!("arn:{partition}:ssm:{region}:{account}:parameter{sep}{name}"),
                    via,
                ));
            }
            Some("SECRETS_MANAGER") => {
                // `secret-id:json-key:version-stage:version-id`; the id is a name or an ARN
                // (<https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html#build-spec.env.secrets-manager>).
                let arn = if value.starts_with("arn:") {
                    value.splitn(8, ':').take(7).collect::<Vec<_>>().join(":")
                } else {
                    let id = value.split(':').next().unwrap_or(value);
                    format!("arn:{partition}:secretsmanager:{region}:{account}:secret:{id}")
                };
                refs.push(Reference::new(arn, via));
            }
            _ => {}
        }
    }
    if let Some(group) =
        config.pointer("/logsConfig/cloudWatchLogs/groupName").and_then(Value::as_str)
    {
        refs.push(Reference::new(
            format!("arn:{partition}:logs:{region}:{account}:log-group:{group}"),
            "logsConfig.cloudWatchLogs.groupName",
        ));
    }
    for (member, via) in [("/source", "source.location"), ("/artifacts", "artifacts.location")] {
        let Some(part) = config.pointer(member) else { continue };
        if part.get("type").and_then(Value::as_str) == Some("S3")
            && let Some(location) = part.get("location").and_then(Value::as_str)
        {
            let bucket = location.split('/').next().unwrap_or(location);
            refs.push(Reference::new(format!("arn:{partition}:s3:::{bucket}"), via));
        }
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_in_environment_variables_become_arns() {
        let config = json!({
            "serviceRole": "arn:aws:iam::111111111111:role/build",
            "environment": {"environmentVariables": [
                {"name": "A", "value": "/prod/app/DB_URL", "type": "PARAMETER_STORE"},
                {"name": "B", "value": "prod/mailer/api-key:password", "type": "SECRETS_MANAGER"},
                {"name": "C", "value": "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/x-AbCdEf:k::", "type": "SECRETS_MANAGER"},
                {"name": "D", "value": "plain", "type": "PLAINTEXT"}
            ]},
            "logsConfig": {"cloudWatchLogs": {"status": "ENABLED", "groupName": "/codebuild/api"}},
            "artifacts": {"type": "S3", "location": "acme-builds"}
        });
        let refs: Vec<String> = project_references(&config, "aws", "us-east-1", "111111111111")
            .into_iter()
            .map(|r| r.arn)
            .collect();
        assert_eq!(
            refs,
            vec![
                "arn:aws:iam::111111111111:role/build",
                "arn:aws:ssm:us-east-1:111111111111:parameter/prod/app/DB_URL",
                "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/mailer/api-key",
                "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/x-AbCdEf",
                "arn:aws:logs:us-east-1:111111111111:log-group:/codebuild/api",
                "arn:aws:s3:::acme-builds",
            ]
        );
    }
}
