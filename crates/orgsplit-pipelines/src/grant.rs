//! The pipeline role's permission to use a connection: an inline policy, put only when it
//! is missing or different, then read back. Shared by `pipelines migrate` (in place) and
//! apply's pipeline step (in a new account).

use serde_json::{Value, json};

use orgsplit_aws::AwsError;
use orgsplit_aws::policy::policy_document;

/// The inline policy on the pipeline's role that lets it use the connection.
pub const USE_CONNECTION_POLICY: &str = "orgsplit-use-connection";

/// Both action prefixes, on both ARN forms of the connection: CodeStar Connections was
/// renamed CodeConnections, and AWS evaluates either name.
pub fn use_connection_policy(connection: &str) -> Value {
    let other = if connection.contains(":codestar-connections:") {
        connection.replacen(":codestar-connections:", ":codeconnections:", 1)
    } else {
        connection.replacen(":codeconnections:", ":codestar-connections:", 1)
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "UseConnection",
            "Effect": "Allow",
            "Action": ["codestar-connections:UseConnection", "codeconnections:UseConnection"],
            "Resource": [connection, other],
        }]
    })
}

/// Whether a policy document allows both `UseConnection` actions on the connection.
pub fn allows_use_connection(policy: &Value, connection: &str) -> bool {
    let statements = match policy.get("Statement") {
        Some(Value::Array(a)) => a.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return false,
    };
    let list = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => {
                a.iter().filter_map(Value::as_str).map(str::to_string).collect()
            }
            _ => Vec::new(),
        }
    };
    ["codestar-connections:UseConnection", "codeconnections:UseConnection"].iter().all(|action| {
        statements.iter().any(|s| {
            s.get("Effect").and_then(Value::as_str) == Some("Allow")
                && list(s.get("Action")).iter().any(|a| a.eq_ignore_ascii_case(action))
                && list(s.get("Resource")).iter().any(|r| r == connection || r == "*")
        })
    })
}

/// The role name of a role ARN (`arn:aws:iam::1:role/path/name` is `name`).
pub fn role_name(role_arn: &str) -> Option<&str> {
    role_arn
        .split_once(":role/")
        .and_then(|(_, rest)| rest.rsplit('/').next())
        .filter(|r| !r.is_empty())
}

/// The account of an ARN (its fifth field).
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The region of an ARN (its fourth field).
pub fn arn_region(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|a| !a.is_empty())
}

/// Why a grant could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{0}")]
    Aws(Box<AwsError>),
    #[error("role {role}: inline policy {USE_CONNECTION_POLICY} differs from what was put")]
    Verify { role: String },
}

/// Makes the role's `orgsplit-use-connection` policy allow `connection`, keeping the
/// connections it allows already (pipelines of one role in two regions use two
/// connections), then reads it back. `true` when it was put. `account` and `region` only
/// label errors.
pub async fn ensure_use_connection(
    iam: &aws_sdk_iam::Client,
    account: &str,
    region: &str,
    role: &str,
    connection: &str,
) -> Result<bool, GrantError> {
    let have = role_policy(iam, account, region, role).await?;
    if have.as_ref().is_some_and(|p| allows_use_connection(p, connection)) {
        return Ok(false);
    }
    let want = merged_policy(have.as_ref(), connection);
    iam.put_role_policy()
        .role_name(role)
        .policy_name(USE_CONNECTION_POLICY)
        .policy_document(want.to_string())
        .send()
        .await
        .map_err(|e| {
            GrantError::Aws(Box::new(orgsplit_aws::call_error(
                "iam",
                "PutRolePolicy",
                account,
                region,
                e,
            )))
        })?;
    let after = role_policy(iam, account, region, role).await?;
    if !after.as_ref().is_some_and(|p| allows_use_connection(p, connection)) {
        return Err(GrantError::Verify { role: role.into() });
    }
    Ok(true)
}

/// The policy allowing `connection` and every connection `have` (orgsplit's own policy)
/// allowed already, resources sorted.
pub fn merged_policy(have: Option<&Value>, connection: &str) -> Value {
    let mut want = use_connection_policy(connection);
    let mut resources: Vec<String> = have
        .and_then(|p| p.pointer("/Statement/0/Resource"))
        .map(|r| match r {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default();
    resources.extend(
        want["Statement"][0]["Resource"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string),
    );
    resources.sort();
    resources.dedup();
    want["Statement"][0]["Resource"] = json!(resources);
    want
}

/// The role's `orgsplit-use-connection` policy, if it has one.
pub async fn role_policy(
    iam: &aws_sdk_iam::Client,
    account: &str,
    region: &str,
    role: &str,
) -> Result<Option<Value>, GrantError> {
    match iam.get_role_policy().role_name(role).policy_name(USE_CONNECTION_POLICY).send().await {
        Ok(out) => Ok(Some(policy_document(out.policy_document()))),
        Err(e) => {
            let err = orgsplit_aws::call_error("iam", "GetRolePolicy", account, region, e);
            if err.is_not_found() { Ok(None) } else { Err(GrantError::Aws(Box::new(err))) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:codestar-connections:us-east-1:2:connection/x";

    #[test]
    fn policies_name_both_services() {
        let p = use_connection_policy(ARN);
        assert_eq!(
            p["Statement"][0]["Resource"][1],
            "arn:aws:codeconnections:us-east-1:2:connection/x"
        );
        assert!(allows_use_connection(&p, ARN));
        let other = "arn:aws:codestar-connections:eu-west-1:2:connection/y";
        let both = merged_policy(Some(&p), other);
        assert!(allows_use_connection(&both, ARN));
        assert!(allows_use_connection(&both, other));
        assert_eq!(both["Statement"][0]["Resource"].as_array().unwrap().len(), 4);
        assert_eq!(merged_policy(Some(&both), ARN), both);
        assert!(!allows_use_connection(
            &p,
            "arn:aws:codestar-connections:us-east-1:2:connection/y"
        ));
    }

    #[test]
    fn arns_are_taken_apart() {
        assert_eq!(role_name("arn:aws:iam::1:role/ci/codepipeline"), Some("codepipeline"));
        assert_eq!(role_name("arn:aws:iam::1:user/x"), None);
        assert_eq!(arn_account(ARN), Some("2"));
        assert_eq!(arn_region(ARN), Some("us-east-1"));
    }
}
