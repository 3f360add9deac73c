//! `guardrails.protected_tag_keys` are what the classification rules trust: whoever can
//! retag a resource can move it between environments. Each key should be protected by a
//! service control policy in force on the account.
//!
//! A key is protected when an SCP attached to the account, one of its OUs or the root has a
//! `Deny` statement on tag writes whose condition names the key: `aws:TagKeys` under
//! `StringEquals`/`StringEqualsIgnoreCase`/`StringLike` (or their `ForAnyValue:` forms), or
//! `Null` `"false"` on `aws:RequestTag/KEY`. A condition that only limits the values
//! (`StringNotEquals` on `aws:RequestTag/KEY`) or requires the tag (`Null` `"true"`) does not
//! stop anyone from changing it. The management account is never checked: no SCP applies to
//! it.

use serde_json::{Value, json};

use super::{CheckContext, items};
use crate::facts::{AccountFacts, Scp};
use crate::finding::{AccountRole, Finding, FindingCode};

/// IAM's `StringLike` matching: `*` any run, `?` one character.
fn like(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Actions that add, change or remove tags, in the services orgsplit migrates and a few
/// common others. Reading tags (`DescribeTags`, `GetObjectTagging`, …) is not among them.
const TAG_WRITES: &[&str] = &[
    "ecs:tagresource",
    "ecs:untagresource",
    "ssm:addtagstoresource",
    "ssm:removetagsfromresource",
    "secretsmanager:tagresource",
    "secretsmanager:untagresource",
    "iam:tagrole",
    "iam:untagrole",
    "iam:tagpolicy",
    "iam:untagpolicy",
    "iam:taguser",
    "iam:untaguser",
    "s3:putbuckettagging",
    "s3:deletebuckettagging",
    "logs:tagresource",
    "logs:untagresource",
    "events:tagresource",
    "events:untagresource",
    "scheduler:tagresource",
    "scheduler:untagresource",
    "codepipeline:tagresource",
    "codepipeline:untagresource",
    "ecr:tagresource",
    "ecr:untagresource",
    "ec2:createtags",
    "ec2:deletetags",
    "sqs:tagqueue",
    "sqs:untagqueue",
    "dynamodb:tagresource",
    "dynamodb:untagresource",
    "lambda:tagresource",
    "lambda:untagresource",
];

/// Whether a statement's actions include a tag write (IAM matches actions ignoring case).
fn denies_tag_writes(statement: &Value) -> bool {
    let patterns = |key: &str| -> Vec<String> {
        items(statement.get(key))
            .into_iter()
            .filter_map(Value::as_str)
            .map(str::to_ascii_lowercase)
            .collect()
    };
    if statement.get("Action").is_some() {
        let actions = patterns("Action");
        TAG_WRITES.iter().any(|w| actions.iter().any(|a| like(a, w)))
    } else {
        // NotAction: every action but those listed.
        let excluded = patterns("NotAction");
        TAG_WRITES.iter().any(|w| !excluded.iter().any(|a| like(a, w)))
    }
}

/// Whether one condition (operator, key, values) stops `key` from being set or changed:
/// `aws:TagKeys` naming it under a positive string operator, or `Null` `"false"` on
/// `aws:RequestTag/KEY` (the request carries the key).
fn condition_protects(operator: &str, ckey: &str, values: &Value, key: &str) -> bool {
    let values: Vec<&str> = items(Some(values)).into_iter().filter_map(Value::as_str).collect();
    let lower = ckey.to_ascii_lowercase();
    if lower == "aws:tagkeys" {
        let base = operator.strip_prefix("ForAnyValue:").unwrap_or(operator);
        return match base {
            "StringEquals" => values.contains(&key),
            "StringEqualsIgnoreCase" => values.iter().any(|v| v.eq_ignore_ascii_case(key)),
            "StringLike" => values.iter().any(|v| like(v, key)),
            _ => false,
        };
    }
    operator == "Null"
        && lower.strip_prefix("aws:requesttag/").is_some_and(|k| k.eq_ignore_ascii_case(key))
        && values.iter().any(|v| v.eq_ignore_ascii_case("false"))
}

/// Whether one statement protects `key`.
fn protects(statement: &Value, key: &str) -> bool {
    if statement.get("Effect").and_then(Value::as_str) != Some("Deny")
        || !denies_tag_writes(statement)
    {
        return false;
    }
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return false;
    };
    conditions.iter().any(|(operator, block)| {
        block.as_object().is_some_and(|keys| {
            keys.iter().any(|(ckey, values)| condition_protects(operator, ckey, values, key))
        })
    })
}

fn scp_protects(scp: &Scp, key: &str) -> bool {
    items(scp.document.get("Statement")).into_iter().any(|s| protects(s, key))
}

pub fn unprotected_tag_keys(cx: &CheckContext<'_>, account: &AccountFacts) -> Vec<Finding> {
    if account.role == AccountRole::Management {
        return Vec::new();
    }
    let in_force: Vec<&Scp> = if cx.org.scp_enabled {
        cx.org
            .scps
            .iter()
            .filter(|p| {
                p.targets.iter().any(|t| *t == account.account_id || account.parents.contains(t))
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut out = Vec::new();
    for key in &cx.config.guardrails.protected_tag_keys {
        if in_force.iter().any(|p| scp_protects(p, key)) {
            continue;
        }
        let message = if cx.org.scp_enabled {
            format!(
                "protected tag key {key} is not protected by any SCP in force on this account (SCPs in force: {}): anyone with tagging rights can move a resource between environments",
                in_force.len()
            )
        } else {
            format!(
                "protected tag key {key} is not protected: SCPs are not enabled in the organization"
            )
        };
        out.push(
            Finding::new(
                FindingCode::UnprotectedTagKey,
                &account.account_id,
                message,
                "move the account into a configured OU and `orgsplit apply` (its orgsplit-guardrails SCP denies changing the key outside the admin roles)",
            )
            .resource(format!("tag:{key}"))
            .details(json!({
                "key": key,
                "scps_in_force": in_force.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
            })),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use time::macros::datetime;

    fn guardrail(key_values: Value, targets: &[&str]) -> Scp {
        Scp {
            id: "p-1".into(),
            name: "orgsplit-guardrails".into(),
            document: json!({"Statement": [
                {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"},
                {"Effect": "Deny", "Action": ["*:TagResource", "*:UntagResource"], "Resource": "*",
                 "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": key_values}}}]}),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn check(role: AccountRole, id: &str, scps: Vec<Scp>, enabled: bool) -> Vec<Finding> {
        let config = config(); // protected_tag_keys = ["Environment"]
        let mut org = org();
        org.scps = scps;
        org.scp_enabled = enabled;
        let cx = CheckContext { config: &config, org: &org, now: datetime!(2026-11-23 12:00 UTC) };
        unprotected_tag_keys(&cx, &account(id, role, vec![]))
    }

    #[test]
    fn a_key_is_protected_through_the_ou_or_root() {
        assert!(
            check(
                AccountRole::Member,
                MEMBER,
                vec![guardrail(json!(["Environment"]), &["ou-dev"])],
                true
            )
            .is_empty()
        );
        let like = Scp {
            document: json!({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": "Env*"}}}}),
            ..guardrail(json!([]), &["r-root"])
        };
        assert!(check(AccountRole::Member, MEMBER, vec![like], true).is_empty());
        let request_tag = Scp {
            document: json!({"Statement": {"Effect": "Deny", "Action": ["ec2:CreateTags", "ecs:TagResource"], "Resource": "*",
                "Condition": {"Null": {"aws:RequestTag/environment": "false"}}}}),
            ..guardrail(json!([]), &[MEMBER])
        };
        assert!(check(AccountRole::Member, MEMBER, vec![request_tag], true).is_empty());
        let not_action = Scp {
            document: json!({"Statement": {"Effect": "Deny", "NotAction": ["iam:*"], "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "Environment"}}}}),
            ..guardrail(json!([]), &[MEMBER])
        };
        assert!(check(AccountRole::Member, MEMBER, vec![not_action], true).is_empty());
    }

    #[test]
    fn statements_that_do_not_stop_a_change_are_not_protection() {
        let not_protecting = [
            // requires the tag at creation; changing it stays allowed
            json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Null": {"aws:RequestTag/Environment": "true"}}}),
            // limits the values; dev -> prod stays allowed
            json!({"Effect": "Deny", "Action": "*:TagResource", "Resource": "*",
                   "Condition": {"StringNotEquals": {"aws:RequestTag/Environment": ["dev", "prod"]}}}),
            // an allow-list of keys
            json!({"Effect": "Deny", "Action": "*:TagResource", "Resource": "*",
                   "Condition": {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["Environment"]}}}),
            // StringEquals does not expand patterns
            json!({"Effect": "Deny", "Action": "*:TagResource", "Resource": "*",
                   "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Env*"]}}}),
            // reading tags only
            json!({"Effect": "Deny", "Action": ["ec2:DescribeTags", "s3:GetObjectTagging"], "Resource": "*",
                   "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Environment"]}}}),
            // a deny on resources by their tag is not a deny on changing it
            json!({"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/Environment": "prod"}}}),
        ];
        for statement in not_protecting {
            let scp = Scp {
                document: json!({"Statement": [statement.clone()]}),
                ..guardrail(json!([]), &[MEMBER])
            };
            assert_eq!(check(AccountRole::Member, MEMBER, vec![scp], true).len(), 1, "{statement}");
        }
    }

    #[test]
    fn unattached_other_key_disabled_or_allow_is_a_finding() {
        // Attached to an OU the account is not in.
        assert_eq!(
            check(
                AccountRole::Source,
                SOURCE,
                vec![guardrail(json!(["Environment"]), &["ou-dev"])],
                true
            )
            .len(),
            1
        );
        assert_eq!(
            check(AccountRole::Member, MEMBER, vec![guardrail(json!(["Team"]), &["ou-dev"])], true)
                .len(),
            1
        );
        let found = check(
            AccountRole::Member,
            MEMBER,
            vec![guardrail(json!(["Environment"]), &["ou-dev"])],
            false,
        );
        assert!(found[0].message.contains("not enabled"), "{}", found[0].message);
        assert_eq!(found[0].resource.as_deref(), Some("tag:Environment"));
        // The management account: no SCP applies, so nothing to report here.
        assert!(check(AccountRole::Management, MGMT, vec![], true).is_empty());
    }

    #[test]
    fn orgsplits_own_guardrail_protects_its_keys() {
        let config = config();
        let mut org = org();
        let document = orgsplit_planner_guardrail(&config);
        org.scps = vec![Scp { document, ..guardrail(json!([]), &["ou-dev"]) }];
        let cx = CheckContext { config: &config, org: &org, now: datetime!(2026-11-23 12:00 UTC) };
        assert!(
            unprotected_tag_keys(&cx, &account(MEMBER, AccountRole::Member, vec![])).is_empty()
        );
    }

    /// The SCP `plan` writes, as the plan file carries it.
    fn orgsplit_planner_guardrail(config: &orgsplit_model::Config) -> Value {
        orgsplit_planner::build::guardrail_policy(config)
    }
}
