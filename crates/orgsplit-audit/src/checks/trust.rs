//! Who may assume a role: anyone (`*`) or an account outside the organization, unless a
//! condition keeps the caller inside it. And the access role that kept AdministratorAccess
//! after the account got its own `terraform-apply` role.

use orgsplit_model::ResourceKind;
use orgsplit_planner::build::TERRAFORM_APPLY_ROLE;
use serde_json::{Value, json};
use std::collections::BTreeSet;

use super::{CheckContext, items};
use crate::facts::AccountFacts;
use crate::finding::{AccountRole, Finding, FindingCode};

fn strings(v: Option<&Value>) -> Vec<&str> {
    items(v).into_iter().filter_map(Value::as_str).collect()
}

/// Whether a statement's conditions keep its principals inside the organization
/// (`aws:PrincipalOrgID` / `aws:PrincipalOrgPaths` naming it, or `aws:PrincipalAccount` /
/// `aws:SourceAccount` naming only its accounts).
fn confined_to_org(cx: &CheckContext<'_>, statement: &Value) -> bool {
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return false;
    };
    let org_id = cx.org.state.id.as_str();
    conditions.iter().any(|(operator, block)| {
        // A negated or "IfExists" operator does not confine anyone, nor does `ForAllValues:`,
        // which holds when the key is absent.
        if operator.contains("Not")
            || operator.ends_with("IfExists")
            || operator.starts_with("ForAllValues:")
        {
            return false;
        }
        block.as_object().is_some_and(|keys| {
            keys.iter().any(|(key, values)| {
                let values = strings(Some(values));
                !values.is_empty()
                    && match key.to_ascii_lowercase().as_str() {
                        "aws:principalorgid" => values.iter().all(|v| *v == org_id),
                        "aws:principalorgpaths" => {
                            values.iter().all(|v| v.starts_with(&format!("{org_id}/")))
                        }
                        "aws:principalaccount" | "aws:sourceaccount" => {
                            values.iter().all(|v| cx.org.has_account(v))
                        }
                        _ => false,
                    }
            })
        })
    })
}

/// Whom an AWS principal names.
#[derive(Debug, PartialEq, Eq)]
enum Principal<'a> {
    /// `*`, or a wildcard in the account part.
    Anyone,
    /// `123456789012`, `arn:aws:iam::123456789012:root`, a role or user ARN.
    Account(&'a str),
    /// Anything else: IAM rewrites the principal of a deleted role or user to its unique id
    /// (`AROA…`), which nobody can assume as.
    Other,
}

fn principal(p: &str) -> Principal<'_> {
    if p == "*" {
        return Principal::Anyone;
    }
    let account = if p.starts_with("arn:") { p.split(':').nth(4).unwrap_or_default() } else { p };
    if account.contains('*') {
        Principal::Anyone
    } else if orgsplit_model::is_account_id(account) {
        Principal::Account(account)
    } else {
        Principal::Other
    }
}

pub fn role_trust(cx: &CheckContext<'_>, account: &AccountFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    for role in account.resources.iter().filter(|r| r.kind == ResourceKind::IamRole) {
        let doc = role.config.get("AssumeRolePolicyDocument");
        let mut anyone = false;
        let mut outside = BTreeSet::new();
        for statement in items(doc.and_then(|d| d.get("Statement"))) {
            if statement.get("Effect").and_then(Value::as_str) != Some("Allow")
                || confined_to_org(cx, statement)
            {
                continue;
            }
            let aws: Vec<&str> = match statement.get("Principal") {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Object(o)) => strings(o.get("AWS")),
                _ => Vec::new(),
            };
            for p in aws {
                match principal(p) {
                    Principal::Anyone => anyone = true,
                    Principal::Account(a) if !cx.org.has_account(a) => {
                        outside.insert(a.to_string());
                    }
                    Principal::Account(_) | Principal::Other => {}
                }
            }
        }
        if anyone {
            out.push(
                Finding::new(
                    FindingCode::RoleTrustsAnyone,
                    &account.account_id,
                    format!("role {} may be assumed by any AWS principal (`*` in its trust policy, no organization condition)", role.name),
                    format!("name the trusted accounts in its trust policy, or add an aws:PrincipalOrgID = {} condition", cx.org.state.id),
                )
                .resource(role.arn.clone()),
            );
        }
        if !outside.is_empty() {
            let list: Vec<String> = outside.into_iter().collect();
            out.push(
                Finding::new(
                    FindingCode::RoleTrustsOutsideOrg,
                    &account.account_id,
                    format!(
                        "role {} trusts accounts outside the organization: {}",
                        role.name,
                        list.join(", ")
                    ),
                    "remove the accounts you do not mean to trust; a vendor's role you keep should require an sts:ExternalId (it stays listed here)",
                )
                .resource(role.arn.clone())
                .details(json!({ "accounts": list })),
            );
        }
    }
    out
}

/// Whether a policy document allows every action on every resource.
fn allows_everything(document: &Value) -> bool {
    items(document.get("Statement")).into_iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && strings(s.get("Action")).contains(&"*")
            && strings(s.get("Resource")).contains(&"*")
            && s.get("Condition").is_none()
    })
}

pub fn access_role_admin(cx: &CheckContext<'_>, account: &AccountFacts) -> Option<Finding> {
    if account.role == AccountRole::Management {
        return None;
    }
    let role_named = |name: &str| {
        account.resources.iter().find(|r| r.kind == ResourceKind::IamRole && r.name == name)
    };
    // Before bootstrap the access role is how the account is managed at all.
    role_named(TERRAFORM_APPLY_ROLE)?;
    let access = role_named(&cx.config.access_role)?;
    let attached = strings(access.config.get("AttachedManagedPolicies"))
        .into_iter()
        .any(|arn| arn.ends_with(":iam::aws:policy/AdministratorAccess"));
    let inline: Vec<&str> = access
        .config
        .get("InlinePolicies")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(_, doc)| allows_everything(doc))
        .map(|(name, _)| name.as_str())
        .collect();
    if !attached && inline.is_empty() {
        return None;
    }
    Some(
        Finding::new(
            FindingCode::AccessRoleAdmin,
            &account.account_id,
            format!(
                "access role {} still holds {} although {TERRAFORM_APPLY_ROLE} now manages the account",
                access.name,
                if attached {
                    "AdministratorAccess".to_string()
                } else {
                    format!("an allow-everything inline policy ({})", inline.join(", "))
                }
            ),
            format!(
                "narrow {} to what reconcile and audit need, keeping a break-glass path",
                access.name
            ),
        )
        .resource(access.arn.clone())
        .details(json!({ "attached_admin": attached, "inline_admin": inline })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use time::macros::datetime;

    fn role(name: &str, trust: Value) -> orgsplit_model::Resource {
        resource(
            ResourceKind::IamRole,
            name,
            &[],
            json!({"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": trust},
                   "AttachedManagedPolicies": [], "InlinePolicies": {}}),
        )
    }

    fn check(resources: Vec<orgsplit_model::Resource>) -> Vec<Finding> {
        let config = config();
        let org = org();
        let cx = CheckContext { config: &config, org: &org, now: datetime!(2026-11-23 12:00 UTC) };
        role_trust(&cx, &account(MEMBER, AccountRole::Member, resources))
    }

    #[test]
    fn wildcard_and_outside_accounts_are_found() {
        let found = check(vec![
            role(
                "open",
                json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]),
            ),
            role(
                "vendor",
                json!({"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::999988887777:root", format!("arn:aws:iam::{MGMT}:root")]}, "Action": "sts:AssumeRole"}),
            ),
            role(
                "star",
                json!([{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]),
            ),
            role(
                "deleted",
                json!([{"Effect": "Allow", "Principal": {"AWS": "AROAEXAMPLEID1234567"}, "Action": "sts:AssumeRole"}]),
            ),
        ]);
        let codes: Vec<_> = found.iter().map(|f| (f.code, f.resource.clone().unwrap())).collect();
        assert_eq!(codes.len(), 3, "{codes:?}");
        assert!(
            codes.iter().any(|(c, r)| *c == FindingCode::RoleTrustsAnyone && r.ends_with("/open"))
        );
        assert!(
            codes.iter().any(|(c, r)| *c == FindingCode::RoleTrustsAnyone && r.ends_with("/star"))
        );
        let vendor = found.iter().find(|f| f.code == FindingCode::RoleTrustsOutsideOrg).unwrap();
        assert_eq!(vendor.details["accounts"], json!(["999988887777"]));
    }

    #[test]
    fn org_accounts_services_denies_and_org_conditions_are_not() {
        assert!(check(vec![
            role("inside", json!([{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{SOURCE}:role/x")}, "Action": "sts:AssumeRole"}])),
            role("service", json!([{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}])),
            role("deny", json!([{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}])),
            role("org", json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}])),
        ])
        .is_empty());
        // ForAllValues holds when the key is absent: it confines nobody.
        assert_eq!(
            check(vec![role(
                "all-values",
                json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                "Condition": {"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}}])
            )])
            .len(),
            1
        );
        // A condition naming another organization confines nobody to ours.
        assert_eq!(
            check(vec![role(
                "other-org",
                json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-other"}}}])
            )])
            .len(),
            1
        );
    }

    #[test]
    fn access_role_admin_only_after_bootstrap() {
        let config = config();
        let org = org();
        let cx = CheckContext { config: &config, org: &org, now: datetime!(2026-11-23 12:00 UTC) };
        let mut access = role("OrganizationAccountAccessRole", json!([]));
        access.config["AttachedManagedPolicies"] =
            json!(["arn:aws:iam::aws:policy/AdministratorAccess"]);
        let apply = role("terraform-apply", json!([]));
        let before = account(MEMBER, AccountRole::Member, vec![access.clone()]);
        assert!(access_role_admin(&cx, &before).is_none());
        let after = account(MEMBER, AccountRole::Member, vec![access.clone(), apply.clone()]);
        assert_eq!(access_role_admin(&cx, &after).unwrap().code, FindingCode::AccessRoleAdmin);
        let mut narrowed = access;
        narrowed.config["AttachedManagedPolicies"] =
            json!(["arn:aws:iam::aws:policy/ReadOnlyAccess"]);
        narrowed.config["InlinePolicies"] =
            json!({"all": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}});
        let inline = account(MEMBER, AccountRole::Member, vec![narrowed.clone(), apply.clone()]);
        assert_eq!(
            access_role_admin(&cx, &inline).unwrap().details["inline_admin"],
            json!(["all"])
        );
        narrowed.config["InlinePolicies"] = json!({});
        assert!(
            access_role_admin(&cx, &account(MEMBER, AccountRole::Member, vec![narrowed, apply]))
                .is_none()
        );
    }
}
