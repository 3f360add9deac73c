//! Rewriting account ids (and secrets' full ARNs) inside a copied configuration.
//!
//! An ARN (or account id) in the source account that names something the plan copies into
//! the same target is rewritten to the target account; one that names something left in
//! place (an ECR image, a resource not copied there, anything outside the source account)
//! is kept, and a note says so.

use orgsplit_model::step;
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::LazyLock;

static ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):[^\s"',]*"#).expect("fixed pattern")
});

/// Services whose wildcard ARNs (`arn:aws:ssm:…:parameter/prod/*`) follow the copy.
const COPIED_SERVICES: [&str; 9] = [
    "ssm",
    "secretsmanager",
    "iam",
    "logs",
    "ecs",
    "events",
    "scheduler",
    "codepipeline",
    "codestar-connections",
];

pub struct Rewriter<'a> {
    pub source_account: &'a str,
    /// The target account id, or `${account:NAME}`.
    pub target_account: &'a str,
    /// Whether an exact ARN names a resource copied into this target.
    pub is_copied: &'a dyn Fn(&str) -> bool,
    /// Whether an exact ARN names a resource of the inventory at all.
    pub is_known: &'a dyn Fn(&str) -> bool,
    /// For an ARN naming a secret copied into this target: the source secret's full ARN and
    /// the address of the step that copies it.
    pub secret_copy: &'a dyn Fn(&str) -> Option<(String, String)>,
}

#[derive(Default)]
pub struct Rewritten {
    pub notes: BTreeSet<String>,
}

impl Rewriter<'_> {
    pub fn rewrite(&self, value: &Value, out: &mut Rewritten) -> Value {
        match value {
            Value::String(s) => Value::String(self.rewrite_str(s, out)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.rewrite(v, out)).collect())
            }
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.rewrite(v, out))).collect())
            }
            other => other.clone(),
        }
    }

    pub fn rewrite_str(&self, s: &str, out: &mut Rewritten) -> String {
        if s == self.source_account {
            return self.target_account.to_string();
        }
        if is_ecr_image(s, self.source_account) {
            out.notes.insert(format!(
                "image {s} stays in the source account's registry (pull access granted)"
            ));
            return s.to_string();
        }
        if !s.contains(self.source_account) {
            return s.to_string();
        }
        ARN.replace_all(s, |caps: &regex::Captures<'_>| {
            let arn = &caps[0];
            if &caps[1] != self.source_account {
                return arn.to_string();
            }
            let service = arn.split(':').nth(2).unwrap_or("");
            let root = format!("arn:aws:iam::{}:root", self.source_account);
            let follows = arn == root
                || (self.is_copied)(arn)
                || (arn.contains('*') && COPIED_SERVICES.contains(&service));
            if let Some((source_arn, address)) = (self.secret_copy)(arn).filter(|_| follows)
                && let Some(rest) = arn.strip_prefix(source_arn.as_str())
            {
                // A full ARN ends in the source secret's random suffix, which the copy does
                // not share: it names the copy by the ARN its step records. A partial ARN
                // (no suffix) or a wildcard follows by account alone.
                format!("{}{rest}", step::secret_arn_placeholder(&address))
            } else if follows {
                arn.replacen(self.source_account, self.target_account, 1)
            } else {
                let why = if service == "ecr" {
                    "stays in the source account's registry"
                } else if (self.is_known)(arn) {
                    "is not copied into this account: left pointing at the source account"
                } else {
                    "is not in the inventory: left pointing at the source account"
                };
                out.notes.insert(format!("{arn} {why}"));
                arn.to_string()
            }
        })
        .into_owned()
    }
}

fn is_ecr_image(s: &str, account: &str) -> bool {
    s.strip_prefix(account).is_some_and(|rest| rest.starts_with(".dkr.ecr."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_what_follows_and_keeps_what_stays() {
        let copied = |arn: &str| {
            arn.ends_with(":role/prod-task")
                || arn.ends_with("parameter/prod/a")
                || arn.contains(":secret:prod/db")
        };
        let known = |arn: &str| copied(arn) || arn.contains("parameter/dev/");
        let rw = Rewriter {
            source_account: "111111111111",
            target_account: "${account:prod-workloads}",
            is_copied: &copied,
            is_known: &known,
            secret_copy: &|arn: &str| {
                let full = "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-AbC123";
                (arn.starts_with(full) || arn.ends_with(":secret:prod/db"))
                    .then(|| (full.to_string(), "prod/prod-workloads/secret:prod/db".to_string()))
            },
        };
        let mut out = Rewritten::default();
        let v = rw.rewrite(
            &json!({
                "taskRoleArn": "arn:aws:iam::111111111111:role/prod-task",
                "image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/mail-sender:1.4.2",
                "secrets": [{"valueFrom": "arn:aws:ssm:us-east-1:111111111111:parameter/prod/a"},
                            {"valueFrom": "arn:aws:ssm:us-east-1:111111111111:parameter/dev/b"}],
                "policy": {"Resource": ["arn:aws:ssm:us-east-1:111111111111:parameter/prod/*", "arn:aws:sqs:us-east-1:111111111111:q"]},
                "principal": "arn:aws:iam::111111111111:root",
                "other": "arn:aws:iam::222222222222:role/x",
                "full": "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-AbC123:password::",
                "partial": "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db",
                "account": "111111111111",
                "n": 3
            }),
            &mut out,
        );
        assert_eq!(v["taskRoleArn"], "arn:aws:iam::${account:prod-workloads}:role/prod-task");
        assert_eq!(v["image"], "111111111111.dkr.ecr.us-east-1.amazonaws.com/mail-sender:1.4.2");
        assert_eq!(
            v["secrets"][0]["valueFrom"],
            "arn:aws:ssm:us-east-1:${account:prod-workloads}:parameter/prod/a"
        );
        assert_eq!(
            v["secrets"][1]["valueFrom"],
            "arn:aws:ssm:us-east-1:111111111111:parameter/dev/b"
        );
        assert_eq!(
            v["policy"]["Resource"][0],
            "arn:aws:ssm:us-east-1:${account:prod-workloads}:parameter/prod/*"
        );
        assert_eq!(v["policy"]["Resource"][1], "arn:aws:sqs:us-east-1:111111111111:q");
        assert_eq!(v["principal"], "arn:aws:iam::${account:prod-workloads}:root");
        assert_eq!(v["other"], "arn:aws:iam::222222222222:role/x");
        assert_eq!(v["full"], "${secret-arn:prod/prod-workloads/secret:prod/db}:password::");
        assert_eq!(
            v["partial"],
            "arn:aws:secretsmanager:us-east-1:${account:prod-workloads}:secret:prod/db"
        );
        assert_eq!(v["account"], "${account:prod-workloads}");
        assert_eq!(v["n"], 3);
        let notes: Vec<&String> = out.notes.iter().collect();
        assert_eq!(notes.len(), 3, "{notes:#?}");
        assert!(notes.iter().any(|n| n.contains("parameter/dev/b is not copied")));
        assert!(notes.iter().any(|n| n.contains(":q is not in the inventory")));
        assert!(notes.iter().any(|n| n.contains("mail-sender:1.4.2 stays")));
    }
}
