//! IAM roles and customer managed policies (global: `region` is `None`).
//!
//! GetAccountAuthorizationDetails (filter `Role`, `LocalManagedPolicy`, 1,000 items a page)
//! gives every role with its trust policy, inline policies, attached policies and tags, and
//! every customer managed policy with all its versions (the default version's document is
//! kept). It lacks two role fields, `Description` and `MaxSessionDuration`, which only
//! ListRoles / GetRole return: ListRoles (1,000 a page) is the cheaper of the two. Managed
//! policy tags are in neither listing: ListPolicyTags per policy.
//!
//! Skipped: service-linked roles (path `/aws-service-role/…`), `aws-reserved` paths (SSO),
//! and the access role orgsplit itself uses.
//!
//! Calls: `GetAccountAuthorizationDetails = max(1, ceil((r + p) / 1000))`,
//! `ListRoles = max(1, ceil(r / 1000))`, `ListPolicyTags = p'`, for `r` roles (all of
//! them, skipped ones included), `p` customer managed policies and `p'` of those kept.

use aws_sdk_iam::types::EntityType;
use futures::stream::{self, StreamExt, TryStreamExt};
use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::inventory::Reference;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use crate::InventoryError;
use crate::util::{Collected, arn_account, object, opt_str, policy_document, tags};

/// The access role's name when the caller does not say (AWS's default for new accounts).
pub const DEFAULT_ACCESS_ROLE: &str = "OrganizationAccountAccessRole";

/// Concurrent ListPolicyTags calls.
const CONCURRENCY: usize = 8;

/// Whether a role is AWS's or orgsplit's own, not the workload's.
fn skipped(path: &str, name: &str, access_role: &str) -> bool {
    path.starts_with("/aws-service-role/") || path.contains("aws-reserved") || name == access_role
}

/// IAM is a global service: errors name the region `global`.
const GLOBAL: &str = "global";

pub async fn collect(session: &AccountSession, access_role: &str) -> Collected {
    let iam = session.iam();
    let account = session.account_id.as_str();

    let details = async {
        let pages = iam
            .get_account_authorization_details()
            .filter(EntityType::Role)
            .filter(EntityType::LocalManagedPolicy)
            .max_items(1000)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(session.error_of("iam", "GetAccountAuthorizationDetails", GLOBAL))?;
        let roles: Vec<_> = pages.iter().flat_map(|p| p.role_detail_list()).cloned().collect();
        let policies: Vec<_> = pages.iter().flat_map(|p| p.policies()).cloned().collect();
        Ok::<_, InventoryError>((roles, policies))
    };
    // Role name -> (Description, MaxSessionDuration).
    let listed = async {
        let roles = every_page!(iam.list_roles().max_items(1000), roles)
            .map_err(session.error_of("iam", "ListRoles", GLOBAL))?;
        let by_name = roles.iter().map(|r| {
            let listed = (r.description().map(str::to_string), r.max_session_duration());
            (r.role_name().to_string(), listed)
        });
        Ok::<_, InventoryError>(by_name.collect::<BTreeMap<_, _>>())
    };
    let ((roles, policies), listed) = futures::try_join!(details, listed)?;

    let mut out = Vec::new();
    for r in &roles {
        let (Some(name), Some(arn)) = (r.role_name(), r.arn()) else {
            tracing::warn!(?r, "role without a name or ARN: skipped");
            continue;
        };
        let path = r.path().unwrap_or("/");
        if skipped(path, name, access_role) {
            continue;
        }
        let (description, max_session) = listed.get(name).cloned().unwrap_or_default();
        let inline: Map<String, Value> = r
            .role_policy_list()
            .iter()
            .filter_map(|p| {
                Some((p.policy_name()?.to_string(), policy_document(p.policy_document()?)))
            })
            .collect();
        let mut references = Vec::new();
        let mut attached = Vec::new();
        for (i, p) in r.attached_managed_policies().iter().enumerate() {
            let Some(policy_arn) = p.policy_arn() else {
                continue;
            };
            attached.push(json!(policy_arn));
            if arn_account(policy_arn) == Some(account) {
                references
                    .push(Reference::new(policy_arn, format!("AttachedManagedPolicies[{i}]")));
            }
        }
        let boundary = r.permissions_boundary().and_then(|b| b.permissions_boundary_arn());
        if let Some(b) = boundary
            && arn_account(b) == Some(account)
        {
            references.push(Reference::new(b, "PermissionsBoundary"));
        }
        let trust = r.assume_role_policy_document().map_or(Value::Null, policy_document);
        references.extend(document_references(&trust, account, "AssumeRolePolicyDocument"));
        for (policy, doc) in &inline {
            references.extend(document_references(
                doc,
                account,
                &format!("InlinePolicies.{policy}"),
            ));
        }
        let config = object([
            ("Path", json!(path)),
            ("Description", json!(description)),
            ("MaxSessionDuration", json!(max_session)),
            ("AssumeRolePolicyDocument", trust),
            ("InlinePolicies", Value::Object(inline)),
            ("AttachedManagedPolicies", Value::Array(attached)),
            ("PermissionsBoundary", opt_str(boundary)),
        ]);
        out.push(Resource::new(
            ResourceKind::IamRole,
            name,
            arn,
            None,
            tags(r.tags().iter().map(|t| (Some(t.key()), Some(t.value())))),
            config,
            references,
        ));
    }

    let kept: Vec<_> = policies
        .iter()
        .filter_map(|p| {
            let Some(arn) = p.arn() else {
                tracing::warn!(?p, "policy without an ARN: skipped");
                return None;
            };
            // A policy ARN ends in its name (`policy/PATH/NAME`; names have no `/`). The
            // emulator leaves `PolicyName` out of this listing: see docs/emulator-gaps.md.
            let name = p.policy_name().or_else(|| arn.rsplit_once('/').map(|(_, n)| n))?;
            Some((name, arn, p))
        })
        .collect();
    let policy_tags: Vec<BTreeMap<String, String>> =
        stream::iter(kept.iter().map(|(_, arn, _)| arn.to_string()).collect::<Vec<_>>())
            .map(|arn| {
                let iam = iam.clone();
                async move {
                    let request = iam.list_policy_tags().policy_arn(arn).max_items(1000);
                    let error_of = session.error_of("iam", "ListPolicyTags", GLOBAL);
                    let found = every_page!(request, tags).map_err(error_of)?;
                    Ok::<_, InventoryError>(tags(
                        found.iter().map(|t| (Some(t.key()), Some(t.value()))),
                    ))
                }
            })
            .buffered(CONCURRENCY)
            .try_collect()
            .await?;
    for ((name, arn, p), policy_tags) in kept.into_iter().zip(policy_tags) {
        let default = p.default_version_id();
        let document = p
            .policy_version_list()
            .iter()
            .find(|v| v.is_default_version() || (default.is_some() && v.version_id() == default))
            .and_then(|v| v.document())
            .map_or(Value::Null, policy_document);
        let config = object([
            ("Path", opt_str(p.path())),
            ("Description", opt_str(p.description())),
            ("Document", document),
            ("DefaultVersionId", opt_str(default)),
        ]);
        let references = document_references(&config["Document"], account, "Document");
        out.push(Resource::new(
            ResourceKind::IamPolicy,
            name,
            arn,
            None,
            policy_tags,
            config,
            references,
        ));
    }
    Ok(out)
}

/// Roles and secrets of this account a policy document names: `AWS` principals of a trust
/// policy (IAM refuses a trust policy naming a role that does not exist yet: "Invalid
/// principal in policy"), the resources of `iam:PassRole` statements, and secrets and KMS keys named by
/// full ARN. As references, they make the planner copy those first.
pub(crate) fn document_references(doc: &Value, account: &str, at: &str) -> Vec<Reference> {
    let statements = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return vec![],
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => {
                items.iter().filter_map(Value::as_str).map(str::to_string).collect()
            }
            _ => vec![],
        }
    };
    let is_role = |arn: &str| {
        arn_account(arn) == Some(account)
            && arn.split(':').nth(5).is_some_and(|r| r.starts_with("role/") && !r.contains('*'))
    };
    let is_secret = |arn: &str| {
        arn_account(arn) == Some(account)
            && arn.split(':').nth(2) == Some("secretsmanager")
            && !arn.contains(['*', '?'])
    };
    // A KMS key is named in a policy by its key ARN only (an alias does not grant its use:
    // <https://docs.aws.amazon.com/kms/latest/developerguide/cmks-in-iam-policies.html>).
    let is_key = |arn: &str| {
        arn_account(arn) == Some(account)
            && arn.split(':').nth(2) == Some("kms")
            && arn.split(':').nth(5).is_some_and(|r| r.starts_with("key/"))
            && !arn.contains(['*', '?'])
    };
    let mut out = Vec::new();
    for (i, st) in statements.iter().enumerate() {
        for arn in strings(st.get("Principal").and_then(|p| p.get("AWS"))) {
            if is_role(&arn) {
                out.push(Reference::new(arn, format!("{at}.Statement[{i}].Principal.AWS")));
            }
        }
        // A secret named by its full ARN: the copy's ARN has another random suffix, known
        // once the secret is copied, so the secret comes first (a wildcard needs nothing).
        for arn in strings(st.get("Resource")) {
            if is_secret(&arn) || is_key(&arn) {
                out.push(Reference::new(arn, format!("{at}.Statement[{i}].Resource")));
            }
        }
        let passes = strings(st.get("Action")).iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a == "iam:passrole" || a == "iam:*" || a == "*"
        });
        if passes && st.get("Effect").and_then(Value::as_str) == Some("Allow") {
            for arn in strings(st.get("Resource")) {
                if is_role(&arn) {
                    out.push(Reference::new(arn, format!("{at}.Statement[{i}].Resource")));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_aws_and_access_roles() {
        let access = DEFAULT_ACCESS_ROLE;
        assert!(skipped("/aws-service-role/ecs.amazonaws.com/", "AWSServiceRoleForECS", access));
        assert!(skipped("/aws-reserved/sso.amazonaws.com/", "AWSReservedSSO_Admin_1", access));
        assert!(skipped("/", "OrganizationAccountAccessRole", access));
        assert!(!skipped("/", "ecs-task-execution", access));
        assert!(!skipped("/", "OrganizationAccountAccessRole", "OtherAccessRole"));
    }

    #[test]
    fn trust_principals_passed_roles_and_secrets_by_full_arn_are_references() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111111111111:role/deployer", "arn:aws:iam::222222222222:role/other", "arn:aws:iam::111111111111:root"]}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": ["arn:aws:iam::111111111111:role/app/task", "arn:aws:iam::111111111111:role/any-*"]},
            {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "arn:aws:iam::111111111111:role/denied"},
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": [
                "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-AbC123",
                "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/*",
                "arn:aws:secretsmanager:us-east-1:222222222222:secret:x-AbC123"]}
        ]});
        let refs: Vec<String> = document_references(&doc, "111111111111", "X")
            .into_iter()
            .map(|r| format!("{} @ {}", r.arn, r.via))
            .collect();
        assert_eq!(
            refs,
            [
                "arn:aws:iam::111111111111:role/deployer @ X.Statement[0].Principal.AWS",
                "arn:aws:iam::111111111111:role/app/task @ X.Statement[1].Resource",
                "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-AbC123 @ X.Statement[3].Resource",
            ]
        );
    }
}
