//! Whom a role trusts: read back in the target account, every role a StackSet's template
//! names must trust exactly the OU's admin account, from inside the organization.

use super::ReconcileError;
use crate::template::{self, Pseudo};
use orgsplit_aws::policy::policy_document;
use orgsplit_aws::{Aws, call_error};
use orgsplit_model::arn::partition_of;
use serde_json::Value;
use std::collections::BTreeMap;

/// The template parameters that say whom the roles trust.
pub const ADMIN_PARAMETER: &str = "AdminAccountId";
pub const ORGANIZATION_PARAMETER: &str = "OrganizationId";

/// Checks, in `account_id`, the trust policy of every role `template_body` declares by
/// name; returns the role names checked. `parameters` are the StackSet's, which give the
/// admin account and the organization the roles must trust.
pub async fn verify_trust(
    aws: &Aws,
    account_id: &str,
    stackset: &str,
    template_body: &str,
    parameters: &BTreeMap<String, String>,
    region: &str,
) -> Result<Vec<String>, ReconcileError> {
    let pseudo = Pseudo { account_id: account_id.to_string(), region: region.to_string() };
    let template_error =
        |message: String| ReconcileError::Template { stackset: stackset.to_string(), message };
    let roles =
        template::declared_roles(template_body, parameters, &pseudo).map_err(template_error)?;
    if roles.is_empty() {
        return Ok(Vec::new());
    }
    let expect = |name: &str| {
        parameters.get(name).cloned().ok_or_else(|| {
            template_error(format!(
                "declares IAM roles but has no {name} parameter, so orgsplit cannot tell whom they may trust"
            ))
        })
    };
    let admin = expect(ADMIN_PARAMETER)?;
    let organization = expect(ORGANIZATION_PARAMETER)?;
    let iam = aws.session(account_id).await?.iam();
    let mut checked = Vec::new();
    for role in roles {
        let out = match iam.get_role().role_name(&role.role_name).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = call_error("iam", "GetRole", account_id, region, e);
                if e.is_not_found() && role.conditional {
                    continue;
                }
                if e.is_not_found() {
                    return Err(ReconcileError::Trust {
                        role: role.role_name,
                        account: account_id.to_string(),
                        problem: format!("does not exist (StackSet {stackset} declares it)"),
                    });
                }
                return Err(e.into());
            }
        };
        let Some(live) = out.role() else {
            return Err(ReconcileError::Trust {
                role: role.role_name,
                account: account_id.to_string(),
                problem: "GetRole returned no role".into(),
            });
        };
        let partition = partition_of(live.arn()).unwrap_or_else(|| pseudo.partition());
        let document =
            live.assume_role_policy_document().map(policy_document).unwrap_or(Value::Null);
        let expected = Expected {
            admin_arn: format!("arn:{partition}:iam::{admin}:root"),
            admin_account: admin.clone(),
            organization: organization.clone(),
        };
        check_policy(&document, &expected).map_err(|problem| ReconcileError::Trust {
            role: role.role_name.clone(),
            account: account_id.to_string(),
            problem,
        })?;
        checked.push(role.role_name);
    }
    Ok(checked)
}

/// Whom a role may trust.
#[derive(Debug, Clone)]
pub struct Expected {
    /// `arn:aws:iam::ADMIN:root`.
    pub admin_arn: String,
    pub admin_account: String,
    pub organization: String,
}

/// Ok when every `Allow` statement trusts only the admin account's root, each under
/// `StringEquals aws:PrincipalOrgID = organization`, and at least one does. `Deny`
/// statements only take trust away, so they are accepted as they are.
pub fn check_policy(document: &Value, expected: &Expected) -> Result<(), String> {
    let statements = match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Err("has a trust policy without statements".into()),
    };
    let mut trusts_admin = false;
    for statement in statements {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        if statement.get("NotPrincipal").is_some() {
            return Err("trusts through NotPrincipal (everyone but the principals listed)".into());
        }
        check_principal(statement.get("Principal"), expected)?;
        check_condition(statement.get("Condition"), expected)?;
        trusts_admin = true;
    }
    if trusts_admin { Ok(()) } else { Err(format!("does not trust {}", expected.admin_arn)) }
}

fn check_principal(principal: Option<&Value>, expected: &Expected) -> Result<(), String> {
    let unexpected = |what: String| Err(format!("trusts unexpected principal {what}"));
    let Some(Value::Object(kinds)) = principal else {
        return match principal {
            Some(Value::String(s)) => unexpected(s.clone()),
            _ => Err("has an Allow statement without a principal".into()),
        };
    };
    for (kind, values) in kinds {
        let values: Vec<&Value> = match values {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        for v in values {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            // IAM turns a bare account id into its root ARN; both mean the same account.
            let is_admin =
                kind == "AWS" && (text == expected.admin_arn || text == expected.admin_account);
            if !is_admin {
                return unexpected(format!("{kind}:{text}"));
            }
        }
    }
    Ok(())
}

fn check_condition(condition: Option<&Value>, expected: &Expected) -> Result<(), String> {
    let missing = || {
        Err(format!(
            "trusts {} without the condition StringEquals aws:PrincipalOrgID = {}",
            expected.admin_arn, expected.organization
        ))
    };
    let Some(equals) = condition.and_then(|c| c.get("StringEquals")).and_then(Value::as_object)
    else {
        return missing();
    };
    // Condition keys are case-insensitive in IAM.
    let Some((_, value)) =
        equals.iter().find(|(k, _)| k.eq_ignore_ascii_case("aws:PrincipalOrgID"))
    else {
        return missing();
    };
    let values: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    if values.is_empty() {
        return missing();
    }
    for v in values {
        if v.as_str() != Some(expected.organization.as_str()) {
            return Err(format!(
                "trusts callers of organization {v} (aws:PrincipalOrgID), expected {}",
                expected.organization
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expected() -> Expected {
        Expected {
            admin_arn: "arn:aws:iam::222222222222:root".into(),
            admin_account: "222222222222".into(),
            organization: "o-abcdefghij".into(),
        }
    }

    fn statement(principal: Value, condition: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", "Condition": condition
        }]})
    }

    fn org_condition() -> Value {
        json!({"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}})
    }

    #[test]
    fn the_admin_root_inside_the_organization_is_accepted() {
        let doc = statement(json!({"AWS": "arn:aws:iam::222222222222:root"}), org_condition());
        assert_eq!(check_policy(&doc, &expected()), Ok(()));
        let doc = statement(
            json!({"AWS": ["222222222222"]}),
            json!({"StringEquals": {"AWS:PrincipalOrgId": ["o-abcdefghij"]}, "Bool": {"aws:SecureTransport": "true"}}),
        );
        assert_eq!(check_policy(&doc, &expected()), Ok(()));
    }

    #[test]
    fn anything_else_is_named() {
        let cases = [
            (json!("*"), org_condition(), "unexpected principal *"),
            (json!({"AWS": "*"}), org_condition(), "unexpected principal AWS:*"),
            (
                json!({"AWS": ["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root"]}),
                org_condition(),
                "unexpected principal AWS:arn:aws:iam::333333333333:root",
            ),
            (
                json!({"Service": "ec2.amazonaws.com"}),
                org_condition(),
                "unexpected principal Service:ec2.amazonaws.com",
            ),
            (
                json!({"AWS": "arn:aws:iam::222222222222:root"}),
                json!({}),
                "without the condition StringEquals aws:PrincipalOrgID = o-abcdefghij",
            ),
            (
                json!({"AWS": "arn:aws:iam::222222222222:root"}),
                json!({"StringEquals": {"aws:PrincipalOrgID": "o-other00000"}}),
                "organization \"o-other00000\"",
            ),
        ];
        for (principal, condition, want) in cases {
            let err =
                check_policy(&statement(principal.clone(), condition), &expected()).unwrap_err();
            assert!(err.contains(want), "{principal}: {err}");
        }
        let deny_only = json!({"Statement": {"Effect": "Deny", "Principal": "*", "Action": "*"}});
        assert!(check_policy(&deny_only, &expected()).unwrap_err().starts_with("does not trust"));
        let not_principal =
            json!({"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "x"}}]});
        assert!(check_policy(&not_principal, &expected()).unwrap_err().contains("NotPrincipal"));
    }
}
