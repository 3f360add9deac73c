//! `guardrails.protected_tag_keys` are what the classification rules trust: whoever can
//! retag a resource can move it between environments. Each key should be protected by a
//! service control policy in force on the account.
//!
//! A key is protected when an SCP attached to the account, one of its OUs or the root has a
//! `Deny` statement on tagging actions whose condition names the key: in `aws:TagKeys`
//! (exactly or by a `*` pattern), or as `aws:RequestTag/KEY` / `aws:ResourceTag/KEY`. The
//! management account is never checked: no SCP applies to it.

use serde_json::{Value, json};

use super::CheckContext;
use crate::facts::{AccountFacts, Scp};
use crate::finding::{AccountRole, Finding, FindingCode};

fn items(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// IAM's `StringLike` matching: `*` any run, `?` one character; case-sensitive.
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

/// Whether an action pattern of a statement can match a tagging action.
fn tagging_action(action: &str) -> bool {
    let a = action.to_ascii_lowercase();
    a == "*" || a.contains("tag")
}

/// Whether one statement protects `key`.
fn protects(statement: &Value, key: &str) -> bool {
    if statement.get("Effect").and_then(Value::as_str) != Some("Deny") {
        return false;
    }
    let actions = items(statement.get("Action"));
    if !actions
        .iter()
        .filter_map(|a| a.as_str())
        .any(tagging_action)
    {
        return false;
    }
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return false;
    };
    conditions.values().any(|block| {
        block.as_object().is_some_and(|keys| {
            keys.iter().any(|(ckey, values)| {
                let lower = ckey.to_ascii_lowercase();
                if lower == "aws:tagkeys" {
                    return items(Some(values))
                        .iter()
                        .filter_map(|v| v.as_str())
                        .any(|v| like(v, key));
                }
                ["aws:requesttag/", "aws:resourcetag/"]
                    .iter()
                    .any(|prefix| {
                        lower.strip_prefix(prefix).is_some() && ckey[prefix.len()..] == *key
                    })
            })
        })
    })
}

fn scp_protects(scp: &Scp, key: &str) -> bool {
    items(scp.document.get("Statement"))
        .into_iter()
        .any(|s| protects(s, key))
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
                p.targets
                    .iter()
                    .any(|t| *t == account.account_id || account.parents.contains(t))
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
                "protected tag key {key} is not protected by any SCP in force on this account ({} SCPs checked): anyone with tagging rights can move a resource between environments",
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
        let cx = CheckContext {
            config: &config,
            org: &org,
            now: datetime!(2026-11-23 12:00 UTC),
        };
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
        assert!(
            check(
                AccountRole::Member,
                MEMBER,
                vec![guardrail(json!("Env*"), &["r-root"])],
                true
            )
            .is_empty()
        );
        let tagged = Scp {
            document: json!({"Statement": {"Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"Null": {"aws:RequestTag/Environment": "false"}}}}),
            ..guardrail(json!([]), &[MEMBER])
        };
        assert!(check(AccountRole::Member, MEMBER, vec![tagged], true).is_empty());
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
            check(
                AccountRole::Member,
                MEMBER,
                vec![guardrail(json!(["Team"]), &["ou-dev"])],
                true
            )
            .len(),
            1
        );
        let found = check(
            AccountRole::Member,
            MEMBER,
            vec![guardrail(json!(["Environment"]), &["ou-dev"])],
            false,
        );
        assert!(
            found[0].message.contains("not enabled"),
            "{}",
            found[0].message
        );
        assert_eq!(found[0].resource.as_deref(), Some("tag:Environment"));
        // The management account: no SCP applies, so nothing to report here.
        assert!(check(AccountRole::Management, MGMT, vec![], true).is_empty());
    }
}
