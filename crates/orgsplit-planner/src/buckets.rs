//! Bucket copies' names: S3 bucket names are global, so a copy cannot take its source's name
//! while the source exists. The name is the config's `[bucket_names]` entry or a generated
//! one, and every name of the plan is checked against S3's rules and for clashes before the
//! plan is written.

use orgsplit_model::bucket_name::{MAX_BUCKET_NAME, bucket_name_problem};
use orgsplit_model::config::Config;
use orgsplit_model::{Step, StepSpec};
use std::collections::BTreeMap;

use crate::build::BuildError;

/// An account id's length: a `${account:NAME}` placeholder resolves to one.
const ACCOUNT_ID_LEN: usize = 12;

/// The name of bucket `source`'s copy in `env`'s workloads account `target`: the config's
/// `[bucket_names]` entry, else [`copy_bucket_name`].
pub(crate) fn bucket_copy_name(config: &Config, source: &str, target: &str, env: &str) -> String {
    config
        .bucket_names
        .get(source)
        .and_then(|o| o.for_environment(env))
        .map_or_else(|| copy_bucket_name(source, target), str::to_string)
}

/// The copy's name: `SOURCE-ACCOUNT` (bucket names are global), at most 63 characters. A source
/// name too long for that keeps its first characters and gains a short digest of the whole
/// name, so two long names that share a beginning still differ: `PREFIX-DIGEST6-ACCOUNT`.
/// `target` is the account id, or the placeholder apply resolves to one.
pub(crate) fn copy_bucket_name(source: &str, target: &str) -> String {
    if source.len() + 1 + ACCOUNT_ID_LEN <= MAX_BUCKET_NAME {
        return format!("{source}-{target}");
    }
    let hash = orgsplit_model::canonical::sha256_hex(source.as_bytes());
    let digest = &hash.trim_start_matches("sha256:")[..6];
    let keep = MAX_BUCKET_NAME - ACCOUNT_ID_LEN - digest.len() - 2;
    // A label may not end in `.` or `-`, and `.-` is not allowed: cut those off the prefix.
    let prefix = source[..keep].trim_end_matches(['.', '-']);
    format!("{prefix}-{digest}-{target}")
}

/// Every bucket copy's name is one S3 accepts, and no two copies share one. A placeholder
/// `${account:NAME}` is checked as the 12 digits it becomes. `seen` holds the names of the
/// accounts checked before (copy name -> source bucket): the plan is checked an account at a
/// time, in its order.
pub(crate) fn check_bucket_names<'a>(
    steps: impl IntoIterator<Item = &'a Step>,
    seen: &mut BTreeMap<String, String>,
) -> Result<(), BuildError> {
    for step in steps {
        let StepSpec::S3Bucket(bucket) = &step.spec else { continue };
        let name = as_resolved(&bucket.target_name);
        let source = bucket.copy.name.as_str();
        if let Some(why) = bucket_name_problem(&name) {
            return Err(BuildError::BucketName {
                bucket: source.to_string(),
                message: format!("its copy's name {:?} is not valid: {why}", bucket.target_name),
            });
        }
        if let Some(other) = seen.insert(bucket.target_name.clone(), source.to_string()) {
            return Err(BuildError::BucketName {
                bucket: source.to_string(),
                message: format!(
                    "its copy would be named {:?}, like the copy of {other:?}: bucket names are global; give each environment its own name in [bucket_names] ({{ dev = \"…\", prod = \"…\" }})",
                    bucket.target_name
                ),
            });
        }
    }
    Ok(())
}

/// A name with every `${account:NAME}` as the 12 digits it resolves to.
fn as_resolved(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(start) = rest.find("${account:") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str(&"0".repeat(ACCOUNT_ID_LEN));
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_name_gets_the_account_and_a_long_one_stays_within_63_characters() {
        assert_eq!(copy_bucket_name("acme-state", "222222222222"), "acme-state-222222222222");
        let at_the_limit = "a".repeat(50);
        assert_eq!(copy_bucket_name(&at_the_limit, "222222222222").len(), 63);
        let long = format!("{}.{}", "acme-terraform-state-of-the-payments-team", "x".repeat(21));
        let copy = copy_bucket_name(&long, "222222222222");
        assert_eq!(copy.len(), 63, "{copy}");
        assert!(
            copy.starts_with("acme-terraform-state-of-the-payments-team")
                && copy.ends_with("-222222222222")
        );
        // Two long names with the same first 43 characters get different copies.
        let other = format!("{}.{}", "acme-terraform-state-of-the-payments-team", "y".repeat(21));
        assert_ne!(copy, copy_bucket_name(&other, "222222222222"));
        // A cut that would leave `.` or `-` before the digest drops them.
        let dotted = format!("{}.{}", "b".repeat(42), "c".repeat(30));
        assert!(!copy_bucket_name(&dotted, "222222222222").contains(".-"));
        // A placeholder resolves to 12 digits: the name is sized for that.
        let placeholder = copy_bucket_name(&long, "${account:dev-workloads}");
        assert_eq!(placeholder.replace("${account:dev-workloads}", "222222222222"), copy);
    }
}
