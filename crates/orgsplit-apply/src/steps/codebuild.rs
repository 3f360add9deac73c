//! `codebuild-project`: a CodeBuild project copied as BatchGetProjects described it (source,
//! environment with its variables, service role, logs, artifacts, cache, timeouts, encryption
//! key), rewritten for the target by the planner. Environment variables of type
//! `PARAMETER_STORE` and `SECRETS_MANAGER` name parameters and secrets that the plan copies
//! first; the project never holds their values.

use aws_sdk_codebuild::Client;
use aws_sdk_codebuild::types::{Project, Tag};
use orgsplit_aws::sdk_json::{from_json, to_json};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::propagation::{self, Propagating};
use super::support::{first_difference, input_error, missing_tags, prune, verified};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::step::ResourceCopy;

type At<'a> = super::support::At<'a, Client>;

/// CreateProject with a service role IAM has not propagated yet: "CodeBuild is not authorized
/// to perform: sts:AssumeRole on …" (the Terraform AWS provider retries the same message in its
/// aws_codebuild_project resource).
const SERVICE_ROLE: Propagating = Propagating {
    code: "InvalidInputException",
    message: "not authorized to perform: sts:AssumeRole",
};

pub async fn run(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    let name = copy.name.as_str();
    let wanted = wanted(&copy.config, name)?;
    let region = cx.region();
    let session = cx.session().await?;
    let client = session.codebuild(region);
    let at =
        At { service: "codebuild", client: &client, account: &session.account_id, region, name };
    let project = from_json(&wanted, Project::deserialize).map_err(|e| input_error("config", e))?;

    let changed = match describe(&at).await? {
        None => {
            create(&at, &project, &copy.tags).await?;
            true
        }
        Some(live) => {
            let mut changed = false;
            if let Some(path) = difference(&wanted, &live) {
                tracing::info!(project = name, differs_at = %path, "updating the project");
                update(&at, &project).await?;
                changed = true;
            }
            let live_tags: BTreeMap<String, String> = live
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    Some((
                        t.get("key")?.as_str()?.to_string(),
                        t.get("value")?.as_str()?.to_string(),
                    ))
                })
                .collect();
            if !missing_tags(&copy.tags, &live_tags).is_empty() {
                let mut all = live_tags;
                all.extend(copy.tags.clone());
                at.client
                    .update_project()
                    .name(name)
                    .set_tags(Some(tags(&all)))
                    .send()
                    .await
                    .map_err(at.error_of("UpdateProject"))?;
                changed = true;
            }
            changed
        }
    };
    if changed {
        let Some(live) = describe(&at).await? else {
            return Err(StepError::Verify(format!(
                "project {name} is not in the target after creating it"
            )));
        };
        let mut differs = Vec::new();
        if difference(&wanted, &live).is_some() {
            differs.push("configuration");
        }
        verified(&format!("project {name}"), &differs)?;
    }
    Ok(Outcome::changed(changed))
}

/// The configuration with the step's name, checked.
fn wanted(config: &Value, name: &str) -> Result<Value, StepError> {
    let Some(members) = config.as_object() else {
        return Err(input_error("config", "a project is a JSON object"));
    };
    if members.get("name").and_then(Value::as_str).is_some_and(|n| n != name) {
        return Err(input_error("config.name", format!("is not the step's project {name}")));
    }
    let mut members: Map<String, Value> = members.clone();
    members.insert("name".into(), Value::String(name.to_string()));
    Ok(Value::Object(members))
}

/// Where the live project differs from what the step wants, looking only at the members the
/// step sets (CodeBuild fills in defaults for the others: `badge`, `cache`, `encryptionKey`).
fn difference(wanted: &Value, live: &Value) -> Option<String> {
    let want = prune(wanted);
    let Some(want_members) = want.as_object() else { return Some("(the whole value)".into()) };
    let live = prune(live);
    let projected: Map<String, Value> =
        want_members.keys().filter_map(|k| live.get(k).map(|v| (k.clone(), v.clone()))).collect();
    first_difference(&want, &Value::Object(projected))
}

async fn describe(at: &At<'_>) -> Result<Option<Value>, StepError> {
    let out = at
        .client
        .batch_get_projects()
        .names(at.name)
        .send()
        .await
        .map_err(at.error_of("BatchGetProjects"))?;
    Ok(out.projects().iter().find(|p| p.name() == Some(at.name)).map(to_json))
}

fn tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The members CreateProject and UpdateProject share, set from the planned project (two
/// request builders of the same shape, as `stackset_members!` does for StackSets).
macro_rules! project_members {
    ($request:expr, $project:expr) => {{
        let p: &Project = $project;
        $request
            .set_description(p.description().map(str::to_string))
            .set_source(p.source().cloned())
            .set_secondary_sources(non_empty(p.secondary_sources()))
            .set_source_version(p.source_version().map(str::to_string))
            .set_secondary_source_versions(non_empty(p.secondary_source_versions()))
            .set_artifacts(p.artifacts().cloned())
            .set_secondary_artifacts(non_empty(p.secondary_artifacts()))
            .set_cache(p.cache().cloned())
            .set_environment(p.environment().cloned())
            .set_service_role(p.service_role().map(str::to_string))
            .set_timeout_in_minutes(p.timeout_in_minutes())
            .set_queued_timeout_in_minutes(p.queued_timeout_in_minutes())
            .set_encryption_key(p.encryption_key().map(str::to_string))
            .set_logs_config(p.logs_config().cloned())
            .set_file_system_locations(non_empty(p.file_system_locations()))
            .set_build_batch_config(p.build_batch_config().cloned())
            .set_concurrent_build_limit(p.concurrent_build_limit())
    }};
}

async fn create(
    at: &At<'_>,
    p: &Project,
    wanted_tags: &BTreeMap<String, String>,
) -> Result<(), StepError> {
    let sent = propagation::retry(SERVICE_ROLE, || {
        project_members!(at.client.create_project().name(at.name), p)
            .set_tags((!wanted_tags.is_empty()).then(|| tags(wanted_tags)))
            .send()
    })
    .await;
    match sent {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = at.err("CreateProject", e);
            // Made by an earlier run that died before the journal heard of it.
            if matches!(&err, orgsplit_aws::AwsError::Call { code: Some(c), .. } if c == "ResourceAlreadyExistsException")
            {
                Ok(())
            } else {
                Err(err.into())
            }
        }
    }
}

async fn update(at: &At<'_>, p: &Project) -> Result<(), StepError> {
    propagation::retry(SERVICE_ROLE, || {
        project_members!(at.client.update_project().name(at.name), p).send()
    })
    .await
    .map_err(at.error_of("UpdateProject"))?;
    Ok(())
}

fn non_empty<T: Clone>(items: &[T]) -> Option<Vec<T>> {
    (!items.is_empty()).then(|| items.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_members_the_step_sets_are_compared() {
        let wanted = json!({"name": "api-build", "serviceRole": "arn:aws:iam::2:role/b", "environment": {"image": "i", "environmentVariables": []}});
        let live = json!({"name": "api-build", "serviceRole": "arn:aws:iam::2:role/b", "environment": {"image": "i"}, "badge": {"badgeEnabled": false}, "encryptionKey": "arn:aws:kms:us-east-1:2:alias/aws/s3"});
        assert_eq!(difference(&wanted, &live), None);
        let other = json!({"name": "api-build", "serviceRole": "arn:aws:iam::1:role/b", "environment": {"image": "i"}});
        assert_eq!(difference(&wanted, &other).as_deref(), Some("serviceRole"));
    }

    #[test]
    fn the_step_name_is_the_project_name() {
        assert!(wanted(&json!({"name": "other"}), "api-build").is_err());
        assert_eq!(wanted(&json!({}), "api-build").unwrap()["name"], "api-build");
    }
}
