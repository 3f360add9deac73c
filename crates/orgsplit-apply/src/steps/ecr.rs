//! `ecr-pull-access`: repositories stay in the source account (the shared registry); a
//! target account gets pull access through one statement of the repository policy,
//! `OrgsplitPull<account>`. Every other statement is kept exactly as it is.

use aws_sdk_ecr::Client;
use orgsplit_aws::AwsError;
use serde_json::{Value, json};

use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::step::EcrPullAccess;

type At<'a> = super::support::At<'a, Client>;

pub async fn pull_access(cx: &StepContext, inputs: &EcrPullAccess) -> Result<Outcome, StepError> {
    let repository = inputs.repository.as_str();
    let statement = grant_statement(inputs)?;
    let region = cx.region();
    let session = cx.session().await?;
    let client = session.ecr(region);
    let at = At {
        service: "ecr",
        client: &client,
        account: &session.account_id,
        region,
        name: repository,
    };
    let before = policy(&at).await?;
    let Some(updated) = with_statement(before.as_ref(), &statement)? else {
        return Ok(Outcome::unchanged());
    };
    at.client
        .set_repository_policy()
        .repository_name(repository)
        .policy_text(updated.to_string())
        .send()
        .await
        .map_err(at.error_of("SetRepositoryPolicy"))?;
    verify(&at, before.as_ref(), &statement).await?;
    Ok(Outcome::changed(true))
}

/// The statement that lets `grant`'s principals pull.
fn grant_statement(inputs: &EcrPullAccess) -> Result<Value, StepError> {
    let grant = inputs.grant_account.as_str();
    if inputs.actions.is_empty() {
        return Err(StepError::Input {
            field: "actions".into(),
            message: "is empty: the grant needs the pull actions".into(),
        });
    }
    let actions: Vec<Value> = inputs.actions.iter().cloned().map(Value::String).collect();
    if grant.len() != 12 || !grant.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StepError::Input {
            field: "grant_account".into(),
            message: format!("{grant:?} is not an account id"),
        });
    }
    Ok(pull_statement(grant, &super::support::partition(&inputs.source_arn), actions))
}

/// The repository-policy statement that lets the principals of account `grant` pull with
/// `actions` (a resource policy: the repository is the resource, so no `Resource`).
pub fn pull_statement(grant: &str, partition: &str, actions: Vec<Value>) -> Value {
    json!({
        "Sid": sid(grant),
        "Effect": "Allow",
        "Principal": { "AWS": format!("arn:{partition}:iam::{grant}:root") },
        "Action": actions,
    })
}

fn sid(grant: &str) -> String {
    // IAM policy Sids are letters and digits only.
    format!("OrgsplitPull{grant}")
}

/// The repository policy, `None` when the repository has none.
async fn policy(at: &At<'_>) -> Result<Option<Value>, StepError> {
    let out = at.client.get_repository_policy().repository_name(at.name).send().await;
    let text = match out {
        Ok(out) => out.policy_text().map(str::to_string),
        Err(e) => {
            let err = at.err("GetRepositoryPolicy", e);
            // Not RepositoryNotFoundException, which is also a not-found: that one fails.
            if matches!(&err, AwsError::Call { code: Some(c), .. } if c == "RepositoryPolicyNotFoundException")
            {
                return Ok(None);
            }
            return Err(err.into());
        }
    };
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            StepError::Failed(format!("ecr repository {}: its policy is not JSON: {e}", at.name))
        })
    })
    .transpose()
}

fn statements(policy: &Value) -> Vec<Value> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(single @ Value::Object(_)) => vec![single.clone()],
        _ => Vec::new(),
    }
}

/// The policy with `statement` in place of the one with its Sid (or added), or `None`
/// when it is already there.
fn with_statement(policy: Option<&Value>, statement: &Value) -> Result<Option<Value>, StepError> {
    let Some(policy) = policy else {
        return Ok(Some(json!({ "Version": "2012-10-17", "Statement": [statement] })));
    };
    if !policy.is_object() {
        return Err(StepError::Failed("the repository policy is not a JSON object".into()));
    }
    let mut list = statements(policy);
    let sid = statement.get("Sid");
    match list.iter_mut().find(|s| s.get("Sid") == sid) {
        Some(existing) if same_statement(existing, statement) => return Ok(None),
        Some(existing) => *existing = statement.clone(),
        None => list.push(statement.clone()),
    }
    let mut updated = policy.clone();
    updated["Statement"] = Value::Array(list);
    Ok(Some(updated))
}

/// Statements compared with their lists as sets: `"Action": "a"` is `["a"]`, and the order
/// of actions or principals does not matter to IAM.
fn same_statement(a: &Value, b: &Value) -> bool {
    normalised(a) == normalised(b)
}

fn normalised(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), normalised(v))).collect())
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalised).collect();
            items.sort_by_key(Value::to_string);
            items.dedup();
            if items.len() == 1 { items.remove(0) } else { Value::Array(items) }
        }
        other => other.clone(),
    }
}

/// Reads the policy back: our statement as written, every other one as it was before.
async fn verify(at: &At<'_>, before: Option<&Value>, statement: &Value) -> Result<(), StepError> {
    let after = policy(at).await?.ok_or_else(|| {
        StepError::Verify(format!(
            "ecr repository {} has no policy after SetRepositoryPolicy",
            at.name
        ))
    })?;
    let sid = statement.get("Sid");
    let after_list = statements(&after);
    let ours = after_list.iter().find(|s| s.get("Sid") == sid);
    if !ours.is_some_and(|s| same_statement(s, statement)) {
        return Err(StepError::Verify(format!(
            "ecr repository {}: statement {} is not as written",
            at.name,
            sid.and_then(Value::as_str).unwrap_or_default()
        )));
    }
    let others = |list: Vec<Value>| -> Vec<Value> {
        list.into_iter().filter(|s| s.get("Sid") != sid).map(|s| normalised(&s)).collect()
    };
    if others(before.map(statements).unwrap_or_default()) != others(after_list) {
        return Err(StepError::Verify(format!(
            "ecr repository {}: other policy statements changed",
            at.name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Value {
        json!({"Sid": "OrgsplitPull222222222222", "Effect": "Allow",
               "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
               "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]})
    }

    #[test]
    fn adds_to_no_policy_and_to_others_without_touching_them() {
        let added = with_statement(None, &ours()).unwrap().unwrap();
        assert_eq!(statements(&added), vec![ours()]);
        let other = json!({"Sid": "ci", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333333333333:root"}, "Action": "ecr:*"});
        let policy = json!({"Version": "2012-10-17", "Statement": other});
        let added = with_statement(Some(&policy), &ours()).unwrap().unwrap();
        assert_eq!(statements(&added), vec![other, ours()]);
    }

    #[test]
    fn an_equal_statement_changes_nothing_and_a_different_one_is_replaced() {
        let mut reordered = ours();
        reordered["Action"] = json!(["ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]);
        let policy = json!({"Version": "2012-10-17", "Statement": [reordered]});
        assert_eq!(with_statement(Some(&policy), &ours()).unwrap(), None);
        let mut fewer = ours();
        fewer["Action"] = json!("ecr:BatchGetImage");
        let policy = json!({"Version": "2012-10-17", "Statement": [fewer]});
        let replaced = with_statement(Some(&policy), &ours()).unwrap().unwrap();
        assert_eq!(statements(&replaced), vec![ours()]);
    }
}
