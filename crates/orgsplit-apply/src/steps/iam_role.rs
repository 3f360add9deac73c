//! `iam-role`: a role re-created in the target with the plan's (rewritten) trust policy,
//! attached managed policies and inline policies.

use aws_sdk_iam::types::Role;
use orgsplit_aws::policy::policy_document as decode_document;
use serde_json::Value;
use std::collections::BTreeMap;

use super::iam::{At, at, read_back, retry_not_found, sdk_tags, str_field};
use super::support::{missing_tags, verified};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_aws::Found;
use orgsplit_model::step::ResourceCopy;

// ---------------------------------------------------------------------------------------
// iam-role

#[derive(Debug)]
struct DesiredRole {
    name: String,
    path: String,
    trust: Value,
    description: String,
    max_session: Option<i32>,
    boundary: Option<String>,
    managed: Vec<String>,
    inline: BTreeMap<String, Value>,
    tags: BTreeMap<String, String>,
}

struct LiveRole {
    path: String,
    trust: Value,
    description: String,
    max_session: Option<i32>,
    boundary: Option<String>,
    tags: BTreeMap<String, String>,
}

pub async fn role(cx: &StepContext, copy: &ResourceCopy) -> Result<Outcome, StepError> {
    let desired = desired_role(copy)?;
    let session = cx.session().await?;
    let client = session.iam();
    let at = at(&client, &session.account_id);
    let mut changed = match get_role(&at, &desired.name).await? {
        None => {
            create_role(&at, &desired).await?;
            true
        }
        Some(live) => update_role(&at, &desired, &live).await?,
    };
    changed |= attach_managed(&at, &desired).await?;
    changed |= put_inline(&at, &desired).await?;
    if changed {
        verify_role(&at, &desired).await?;
    }
    Ok(Outcome::changed(changed))
}

fn desired_role(copy: &ResourceCopy) -> Result<DesiredRole, StepError> {
    let cfg = &copy.config;
    let trust = match cfg.get("AssumeRolePolicyDocument") {
        Some(d @ Value::Object(_)) => d.clone(),
        _ => {
            return Err(StepError::Input {
                field: "config.AssumeRolePolicyDocument".into(),
                message: "missing or not a JSON object".into(),
            });
        }
    };
    let managed = match cfg.get("AttachedManagedPolicies") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| StepError::Input {
                    field: "config.AttachedManagedPolicies".into(),
                    message: "not a list of ARNs".into(),
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(StepError::Input {
                field: "config.AttachedManagedPolicies".into(),
                message: "not a list of ARNs".into(),
            });
        }
    };
    let inline = match cfg.get("InlinePolicies") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Some(_) => {
            return Err(StepError::Input {
                field: "config.InlinePolicies".into(),
                message: "not an object of policy documents".into(),
            });
        }
    };
    let max_session = match cfg.get("MaxSessionDuration") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().and_then(|n| i32::try_from(n).ok()).ok_or_else(|| {
            StepError::Input {
                field: "config.MaxSessionDuration".into(),
                message: "not a number of seconds".into(),
            }
        })?),
    };
    Ok(DesiredRole {
        name: copy.name.clone(),
        path: str_field(cfg, "Path").unwrap_or("/").to_string(),
        trust,
        description: str_field(cfg, "Description").unwrap_or_default().to_string(),
        max_session,
        boundary: str_field(cfg, "PermissionsBoundary").map(str::to_string),
        managed,
        inline,
        tags: copy.tags.clone(),
    })
}

async fn get_role(at: &At<'_>, name: &str) -> Result<Option<LiveRole>, StepError> {
    let got = at.client.get_role().role_name(name).send().await;
    let found = got.map_err(at.error_of("GetRole")).found()?;
    Ok(found.and_then(|out| out.role().map(live_role)))
}

fn live_role(r: &Role) -> LiveRole {
    LiveRole {
        path: r.path().to_string(),
        trust: r.assume_role_policy_document().map_or(Value::Null, decode_document),
        description: r.description().unwrap_or_default().to_string(),
        max_session: r.max_session_duration(),
        boundary: r
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
        tags: r.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
    }
}

async fn create_role(at: &At<'_>, desired: &DesiredRole) -> Result<(), StepError> {
    let mut req = at
        .client
        .create_role()
        .role_name(&desired.name)
        .path(&desired.path)
        .assume_role_policy_document(desired.trust.to_string())
        .set_max_session_duration(desired.max_session)
        .set_permissions_boundary(desired.boundary.clone())
        .set_tags(Some(sdk_tags(&desired.tags)?));
    if !desired.description.is_empty() {
        req = req.description(&desired.description);
    }
    // A principal role created earlier in this run may not be visible to IAM yet.
    super::propagation::retry(super::propagation::TRUST_PRINCIPAL, || req.clone().send())
        .await
        .map_err(at.error_of("CreateRole"))?;
    Ok(())
}

/// The role-level fields that differ: trust policy, description, session length,
/// permissions boundary, tags.
fn role_differences(desired: &DesiredRole, live: &LiveRole) -> Vec<&'static str> {
    let mut out = Vec::new();
    if live.trust != desired.trust {
        out.push("trust policy");
    }
    if live.description != desired.description {
        out.push("description");
    }
    if desired.max_session.is_some() && live.max_session != desired.max_session {
        out.push("max session duration");
    }
    if desired.boundary.is_some() && live.boundary != desired.boundary {
        out.push("permissions boundary");
    }
    if !missing_tags(&desired.tags, &live.tags).is_empty() {
        out.push("tags");
    }
    out
}

async fn update_role(
    at: &At<'_>,
    desired: &DesiredRole,
    live: &LiveRole,
) -> Result<bool, StepError> {
    if live.path != desired.path {
        // A role's path is part of its ARN and IAM cannot change it.
        return Err(StepError::Failed(format!(
            "iam role {} exists in the target with path {}, the plan has {}: IAM cannot change a role's path; delete or rename the target's role",
            desired.name, live.path, desired.path
        )));
    }
    if live.boundary.is_some() && desired.boundary.is_none() {
        tracing::debug!(role = %desired.name, "the target role has a permissions boundary the source lacks: kept");
    }
    let differs = role_differences(desired, live);
    if differs.is_empty() {
        return Ok(false);
    }
    tracing::debug!(role = %desired.name, fields = ?differs, "role differs: updating it");
    if live.trust != desired.trust {
        super::propagation::retry(super::propagation::TRUST_PRINCIPAL, || {
            at.client
                .update_assume_role_policy()
                .role_name(&desired.name)
                .policy_document(desired.trust.to_string())
                .send()
        })
        .await
        .map_err(at.error_of("UpdateAssumeRolePolicy"))?;
    }
    if differs.contains(&"description") || differs.contains(&"max session duration") {
        at.client
            .update_role()
            .role_name(&desired.name)
            .description(&desired.description)
            .set_max_session_duration(desired.max_session)
            .send()
            .await
            .map_err(at.error_of("UpdateRole"))?;
    }
    if let Some(boundary) =
        desired.boundary.as_ref().filter(|_| differs.contains(&"permissions boundary"))
    {
        at.client
            .put_role_permissions_boundary()
            .role_name(&desired.name)
            .permissions_boundary(boundary)
            .send()
            .await
            .map_err(at.error_of("PutRolePermissionsBoundary"))?;
    }
    let missing = missing_tags(&desired.tags, &live.tags);
    if !missing.is_empty() {
        at.client
            .tag_role()
            .role_name(&desired.name)
            .set_tags(Some(sdk_tags(&missing)?))
            .send()
            .await
            .map_err(at.error_of("TagRole"))?;
    }
    Ok(true)
}

async fn attached_policies(at: &At<'_>, role: &str) -> Result<Vec<String>, StepError> {
    let mut out = Vec::new();
    let mut pages = at.client.list_attached_role_policies().role_name(role).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(at.error_of("ListAttachedRolePolicies"))?;
        out.extend(
            page.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_string)),
        );
    }
    Ok(out)
}

/// Attaches the plan's managed policies the role lacks. A customer managed policy was
/// created by an `iam-policy` step this one depends on, possibly a moment ago: IAM may not
/// know it yet, so a not-found is retried for a while.
async fn attach_managed(at: &At<'_>, desired: &DesiredRole) -> Result<bool, StepError> {
    let attached = attached_policies(at, &desired.name).await?;
    for extra in attached.iter().filter(|a| !desired.managed.contains(a)) {
        tracing::debug!(role = %desired.name, policy = %extra, "the target role has a managed policy the source's lacks: kept");
    }
    let missing: Vec<&String> = desired.managed.iter().filter(|m| !attached.contains(m)).collect();
    for arn in &missing {
        retry_not_found(|| async {
            at.client
                .attach_role_policy()
                .role_name(&desired.name)
                .policy_arn(*arn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| at.err("AttachRolePolicy", e).into())
        })
        .await?;
    }
    Ok(!missing.is_empty())
}

/// The role's inline policies, by name, for the names the plan has.
async fn inline_documents(
    at: &At<'_>,
    desired: &DesiredRole,
) -> Result<BTreeMap<String, Value>, StepError> {
    let mut names = Vec::new();
    let mut pages = at.client.list_role_policies().role_name(&desired.name).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(at.error_of("ListRolePolicies"))?;
        names.extend(page.policy_names().iter().cloned());
    }
    let mut out = BTreeMap::new();
    for name in names {
        if !desired.inline.contains_key(&name) {
            tracing::debug!(role = %desired.name, policy = %name, "the target role has an inline policy the source's lacks: kept");
            continue;
        }
        let got = at
            .client
            .get_role_policy()
            .role_name(&desired.name)
            .policy_name(&name)
            .send()
            .await
            .map_err(at.error_of("GetRolePolicy"))?;
        out.insert(name, decode_document(got.policy_document()));
    }
    Ok(out)
}

fn inline_differences<'a>(
    desired: &'a DesiredRole,
    live: &BTreeMap<String, Value>,
) -> Vec<(&'a String, &'a Value)> {
    desired.inline.iter().filter(|(name, doc)| live.get(*name) != Some(*doc)).collect()
}

async fn put_inline(at: &At<'_>, desired: &DesiredRole) -> Result<bool, StepError> {
    if desired.inline.is_empty() {
        return Ok(false);
    }
    let live = inline_documents(at, desired).await?;
    let differs = inline_differences(desired, &live);
    for (name, doc) in &differs {
        at.client
            .put_role_policy()
            .role_name(&desired.name)
            .policy_name(*name)
            .policy_document(doc.to_string())
            .send()
            .await
            .map_err(at.error_of("PutRolePolicy"))?;
    }
    Ok(!differs.is_empty())
}

async fn verify_role(at: &At<'_>, desired: &DesiredRole) -> Result<(), StepError> {
    let Some(live) = read_back(|| get_role(at, &desired.name)).await? else {
        return Err(StepError::Verify(format!(
            "iam role {} is not in the target after creating it",
            desired.name
        )));
    };
    let mut differs: Vec<String> =
        role_differences(desired, &live).into_iter().map(str::to_string).collect();
    let attached = attached_policies(at, &desired.name).await?;
    if desired.managed.iter().any(|m| !attached.contains(m)) {
        differs.push("attached managed policies".into());
    }
    if !desired.inline.is_empty() {
        let inline = inline_documents(at, desired).await?;
        differs.extend(
            inline_differences(desired, &inline)
                .into_iter()
                .map(|(name, _)| format!("inline policy {name}")),
        );
    }
    let differs: Vec<&str> = differs.iter().map(String::as_str).collect();
    verified(&format!("iam role {}", desired.name), &differs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role() -> DesiredRole {
        DesiredRole {
            name: "r".into(),
            path: "/".into(),
            trust: json!({"Statement": []}),
            description: String::new(),
            max_session: Some(3600),
            boundary: None,
            managed: vec![],
            inline: BTreeMap::new(),
            tags: [("team".to_string(), "mail".to_string())].into(),
        }
    }

    #[test]
    fn extra_things_in_the_target_are_not_differences() {
        let live = LiveRole {
            path: "/".into(),
            trust: json!({"Statement": []}),
            description: String::new(),
            max_session: Some(3600),
            boundary: Some("arn:aws:iam::1:policy/b".into()),
            tags: [("team", "mail"), ("extra", "x")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
        };
        assert!(role_differences(&role(), &live).is_empty());
        let live = LiveRole { trust: json!({"Statement": [{}]}), tags: BTreeMap::new(), ..live };
        assert_eq!(role_differences(&role(), &live), vec!["trust policy", "tags"]);
    }
}
