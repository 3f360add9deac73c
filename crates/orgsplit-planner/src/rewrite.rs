//! Rewriting account ids (and secrets' full ARNs, KMS keys' ARNs, renamed buckets) inside a
//! copied configuration.
//!
//! An ARN (or account id) in the source account that names something the plan copies into
//! the same target is rewritten to the target account; one that names something left in
//! place (an ECR image, a resource not copied there, anything outside the source account)
//! is kept, and a note says so.

use orgsplit_model::arn::{DEFAULT_PARTITION, partition_of};
use orgsplit_model::step;
use regex::Regex;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::LazyLock;

static ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12}):[^\s"',]*"#).expect("fixed pattern")
});

/// A bucket by ARN or `s3://` URL: the prefix, then the name up to the first character a
/// bucket name cannot hold (a wildcard is taken in, so `acme-*` never matches bucket `acme`).
static S3_REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(arn:aws[a-z-]*:s3:::|s3://)([a-z0-9.\-*?]+)").expect("fixed pattern")
});

/// Members whose string value is a bucket's bare name: artifact stores (`location`),
/// environment variables (`value`), and the `Bucket`-like members of targets and actions.
const BUCKET_NAME_KEYS: [&str; 9] = [
    "location",
    "value",
    "bucket",
    "Bucket",
    "BucketName",
    "bucketName",
    "S3Bucket",
    "s3Bucket",
    "S3BucketName",
];

/// Services whose wildcard ARNs (`arn:aws:ssm:…:parameter/prod/*`) follow the copy.
const COPIED_SERVICES: [&str; 12] = [
    "ssm",
    "secretsmanager",
    "iam",
    "logs",
    "ecs",
    "events",
    "scheduler",
    "codepipeline",
    "codestar-connections",
    "codeconnections",
    "kms",
    "codebuild",
];

pub struct Rewriter<'a> {
    /// The organization's partition: a bucket named by `s3://` is looked up by its ARN in it.
    pub partition: &'a str,
    pub source_account: &'a str,
    /// The target account id, or `${account:NAME}`.
    pub target_account: &'a str,
    /// Whether an exact ARN names a resource copied into this target.
    pub is_copied: &'a (dyn Fn(&str) -> bool + Sync),
    /// Whether an exact ARN names a resource of the inventory at all.
    pub is_known: &'a (dyn Fn(&str) -> bool + Sync),
    /// For an ARN naming a secret copied into this target: the source secret's full ARN and
    /// the address of the step that copies it.
    pub secret_copy: &'a (dyn Fn(&str) -> Option<(String, String)> + Sync),
    /// For the name of a bucket copied into this target: the copy's name.
    pub bucket_copy: &'a (dyn Fn(&str) -> Option<String> + Sync),
    /// For the ARN of a KMS key copied into this target: the address of the step that
    /// creates it (KMS picks the new key's id, so only that step knows its ARN).
    pub key_copy: &'a (dyn Fn(&str) -> Option<String> + Sync),
}

#[derive(Default)]
pub struct Rewritten {
    pub notes: BTreeSet<String>,
}

impl Rewriter<'_> {
    /// Rewrites `value` (a copy of the source's configuration) for the target, in place: a
    /// string that does not change is neither copied nor reallocated.
    pub fn rewrite(&self, value: &mut Value, out: &mut Rewritten) {
        self.rewrite_at(value, None, out);
    }

    /// Whether rewriting the configuration whose compact JSON text is `text` may change it or
    /// note anything: only a string holding the source account (an ARN, an image, the id
    /// itself), an ARN or `s3://` URL (a bucket's ARN has no account), a member that holds a
    /// bucket's name, or an `Input` (JSON in a string) is ever rewritten.
    pub fn may_change(&self, text: &str) -> bool {
        // The fixed strings in one search (a member holding a bucket's name is `"KEY":`).
        static FIXED: LazyLock<Regex> = LazyLock::new(|| {
            let members = BUCKET_NAME_KEYS.iter().map(|key| format!("\"{key}\":"));
            let fixed: Vec<String> = ["arn:aws", "s3://", "\"Input\""]
                .into_iter()
                .map(String::from)
                .chain(members)
                .map(|literal| regex::escape(&literal))
                .collect();
            Regex::new(&fixed.join("|")).expect("escaped literals")
        });
        text.contains(self.source_account) || FIXED.is_match(text)
    }

    /// `key`: the member `value` is the value of (an array's items inherit it).
    fn rewrite_at(&self, value: &mut Value, key: Option<&str>, out: &mut Rewritten) {
        match value {
            Value::String(s) => {
                if let Some(rewritten) = self.member_string(key, s, out) {
                    *s = rewritten;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.rewrite_at(v, key, out)),
            Value::Object(map) => {
                map.iter_mut().for_each(|(k, v)| self.rewrite_at(v, Some(k), out));
            }
            _ => {}
        }
    }

    /// A string that is the value of member `key` (or an item of its array), rewritten;
    /// `None` when it stays as it is. The one rule for strings of both the tree
    /// ([`Rewriter::rewrite`]) and the text ([`Rewriter::rewrite_text`]).
    pub(crate) fn member_string(
        &self,
        key: Option<&str>,
        s: &str,
        out: &mut Rewritten,
    ) -> Option<String> {
        if key == Some("Input")
            && s.trim_start().starts_with(['{', '['])
            && let Ok(mut inner) = serde_json::from_str::<Value>(s)
        {
            // A rule's or schedule's `Input` is JSON in a string (container overrides with
            // environment values, …): rewritten as JSON, so the members inside it follow the
            // copy like any others, then written back as a string.
            self.rewrite_at(&mut inner, None, out);
            return Some(inner.to_string());
        }
        // A bare bucket name is renamed only where a member holds a bucket name: a pipeline
        // or rule may share a name with a bucket and is not one.
        if key.is_some_and(|k| BUCKET_NAME_KEYS.contains(&k))
            && let Some(copy) = (self.bucket_copy)(s)
        {
            out.notes.insert(renamed_note(s, &copy));
            return Some(copy);
        }
        match self.rewrite_cow(s, out) {
            // A regex that matched gives a new string even when every match was kept.
            Cow::Owned(rewritten) if rewritten != s => Some(rewritten),
            _ => None,
        }
    }

    pub fn rewrite_str(&self, s: &str, out: &mut Rewritten) -> String {
        self.rewrite_cow(s, out).into_owned()
    }

    /// `s` rewritten, borrowed when nothing in it changes.
    fn rewrite_cow<'s>(&self, s: &'s str, out: &mut Rewritten) -> Cow<'s, str> {
        match self.rename_buckets(s, out) {
            Cow::Borrowed(s) => self.rewrite_arns(s, out),
            Cow::Owned(renamed) => Cow::Owned(self.rewrite_arns(&renamed, out).into_owned()),
        }
    }

    fn rewrite_arns<'s>(&self, s: &'s str, out: &mut Rewritten) -> Cow<'s, str> {
        if s == self.source_account {
            return Cow::Owned(self.target_account.to_string());
        }
        if is_ecr_image(s, self.source_account) {
            out.notes.insert(format!(
                "image {s} stays in the source account's registry (pull access granted)"
            ));
            return Cow::Borrowed(s);
        }
        if !s.contains(self.source_account) {
            return Cow::Borrowed(s);
        }
        // Matches are found without captures (the faster search): the account is the
        // ARN's fifth field, which the pattern requires to be twelve digits.
        let mut rewritten = String::new();
        let mut kept_to = 0;
        for found in ARN.find_iter(s) {
            let arn = found.as_str();
            if arn.split(':').nth(4) != Some(self.source_account) {
                continue;
            }
            let service = arn.split(':').nth(2).unwrap_or("");
            let partition = partition_of(arn).unwrap_or(DEFAULT_PARTITION);
            let root = format!("arn:{partition}:iam::{}:root", self.source_account);
            let follows = arn == root
                || (self.is_copied)(arn)
                || (arn.contains('*') && COPIED_SERVICES.contains(&service));
            let replacement = if let Some(address) = (self.key_copy)(arn).filter(|_| follows) {
                step::kms_key_arn_placeholder(&address)
            } else if let Some((source_arn, address)) = (self.secret_copy)(arn).filter(|_| follows)
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
                continue;
            };
            if replacement != arn {
                rewritten.push_str(&s[kept_to..found.start()]);
                rewritten.push_str(&replacement);
                kept_to = found.end();
            }
        }
        if kept_to == 0 {
            return Cow::Borrowed(s);
        }
        rewritten.push_str(&s[kept_to..]);
        Cow::Owned(rewritten)
    }
}

impl Rewriter<'_> {
    /// `arn:aws:s3:::NAME[/KEY]` and `s3://NAME[/KEY]` of a bucket copied into this account
    /// name its copy (bucket names are global: the copy has another name). A bucket of the
    /// inventory not copied here is left as it is, with a note.
    fn rename_buckets<'s>(&self, s: &'s str, out: &mut Rewritten) -> Cow<'s, str> {
        if !s.contains("arn:aws") && !s.contains("s3://") {
            return Cow::Borrowed(s);
        }
        S3_REFERENCE.replace_all(s, |caps: &regex::Captures<'_>| {
            let (whole, prefix, name) = (&caps[0], &caps[1], &caps[2]);
            if let Some(copy) = (self.bucket_copy)(name) {
                out.notes.insert(renamed_note(name, &copy));
                return format!("{prefix}{copy}");
            }
            if (self.is_known)(&format!("arn:{}:s3:::{name}", self.partition)) {
                out.notes.insert(format!(
                    "bucket {name} is not copied into this account: left naming the source bucket"
                ));
            }
            whole.to_string()
        })
    }
}

fn renamed_note(source: &str, copy: &str) -> String {
    format!("bucket {source} is copied as {copy}: references to it name the copy")
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
                || arn.ends_with(":key/k-1")
        };
        let known = |arn: &str| copied(arn) || arn.contains("parameter/dev/");
        let rw = Rewriter {
            partition: "aws",
            source_account: "111111111111",
            target_account: "${account:prod-workloads}",
            is_copied: &copied,
            is_known: &known,
            bucket_copy: &|name: &str| {
                (name == "acme-state").then(|| "acme-state-${account:prod-workloads}".to_string())
            },
            secret_copy: &|arn: &str| {
                let full = "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-AbC123";
                (arn.starts_with(full) || arn.ends_with(":secret:prod/db"))
                    .then(|| (full.to_string(), "prod/prod-workloads/secret:prod/db".to_string()))
            },
            key_copy: &|arn: &str| {
                arn.ends_with(":key/k-1").then(|| "prod/prod-workloads/kms:prod/app".to_string())
            },
        };
        let mut out = Rewritten::default();
        let mut v = json!({
                "taskRoleArn": "arn:aws:iam::111111111111:role/prod-task",
                "image": "111111111111.dkr.ecr.us-east-1.amazonaws.com/mail-sender:1.4.2",
                "secrets": [{"valueFrom": "arn:aws:ssm:us-east-1:111111111111:parameter/prod/a"},
                            {"valueFrom": "arn:aws:ssm:us-east-1:111111111111:parameter/dev/b"}],
                "policy": {"Resource": ["arn:aws:ssm:us-east-1:111111111111:parameter/prod/*", "arn:aws:sqs:us-east-1:111111111111:q"]},
                "principal": "arn:aws:iam::111111111111:root",
                "other": "arn:aws:iam::222222222222:role/x",
                "full": "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db-AbC123:password::",
                "partial": "arn:aws:secretsmanager:us-east-1:111111111111:secret:prod/db",
                "bucket": {"Resource": ["arn:aws:s3:::acme-state", "arn:aws:s3:::acme-state/*", "arn:aws:s3:::acme-*", "arn:aws:s3:::acme-state-old"]},
                "environment": [{"name": "STATE_BUCKET", "value": "acme-state"}, {"name": "URL", "value": "s3://acme-state/env/prod"}],
                "name": "acme-state",
                "account": "111111111111",
                "key": "arn:aws:kms:us-east-1:111111111111:key/k-1",
                "Targets": [{"Input": "{\"containerOverrides\":[{\"name\":\"app\",\"environment\":[{\"name\":\"BUCKET\",\"value\":\"acme-state\"}]}]}"}],
                "n": 3
        });
        rw.rewrite(&mut v, &mut out);
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
        let copy = "acme-state-${account:prod-workloads}";
        assert_eq!(
            v["bucket"]["Resource"],
            json!([
                format!("arn:aws:s3:::{copy}"),
                format!("arn:aws:s3:::{copy}/*"),
                "arn:aws:s3:::acme-*",
                "arn:aws:s3:::acme-state-old"
            ])
        );
        assert_eq!(v["environment"][0]["value"], copy);
        assert_eq!(v["environment"][1]["value"], format!("s3://{copy}/env/prod"));
        assert_eq!(v["name"], "acme-state", "a member that is not a bucket name is kept");
        assert_eq!(v["full"], "${secret-arn:prod/prod-workloads/secret:prod/db}:password::");
        assert_eq!(
            v["partial"],
            "arn:aws:secretsmanager:us-east-1:${account:prod-workloads}:secret:prod/db"
        );
        assert_eq!(v["account"], "${account:prod-workloads}");
        assert_eq!(v["key"], "${kms-key-arn:prod/prod-workloads/kms:prod/app}");
        let input: Value =
            serde_json::from_str(v["Targets"][0]["Input"].as_str().unwrap()).unwrap();
        assert_eq!(input["containerOverrides"][0]["environment"][0]["value"], copy, "inside Input");
        assert_eq!(v["n"], 3);
        let notes: Vec<&String> = out.notes.iter().collect();
        assert_eq!(notes.len(), 4, "{notes:#?}");
        assert!(notes.iter().any(|n| n.contains("bucket acme-state is copied as")));
        assert!(notes.iter().any(|n| n.contains("parameter/dev/b is not copied")));
        assert!(notes.iter().any(|n| n.contains(":q is not in the inventory")));
        assert!(notes.iter().any(|n| n.contains("mail-sender:1.4.2 stays")));
    }
}
