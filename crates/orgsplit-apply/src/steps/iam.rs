//! What `iam-policy` (`iam_policy.rs`) and `iam-role` (`iam_role.rs`) share. Both re-create
//! in the target with the plan's (rewritten) documents. Policy documents are compared as JSON values, never
//! as strings: IAM hands them back URL-encoded and with its own spacing.
//!
//! Nothing found only in the target (an extra attached policy, inline policy or tag) is
//! removed: someone put it there, and a copy has no business taking it away.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;
#[cfg(test)]
use orgsplit_aws::policy::policy_document as decode_document;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use crate::context::StepError;

/// IAM is global; errors name this instead of a region.
pub(super) const REGION: &str = "global";

/// IAM is eventually consistent ("changes are not always immediately visible"): a role or
/// policy created a moment ago can still be unknown. Waits between read-back attempts.
const PROPAGATION_DELAYS: [Duration; 4] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// IAM is global: its calls name the region `global`.
pub(super) type At<'a> = super::support::At<'a, Client>;

/// Where an IAM step's calls go: the account's (global) IAM.
pub(super) fn at<'a>(client: &'a Client, account: &'a str) -> At<'a> {
    At { client, service: "iam", account, region: REGION, name: "" }
}

// ---------------------------------------------------------------------------------------
// shared by both kinds

pub(super) fn str_field<'a>(cfg: &'a Value, key: &str) -> Option<&'a str> {
    cfg.get(key).and_then(Value::as_str)
}

/// A read after a write, repeated while IAM does not show the new entity yet.
pub(super) async fn read_back<T, F, Fut>(mut read: F) -> Result<Option<T>, StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, StepError>>,
{
    for delay in PROPAGATION_DELAYS {
        if let Some(found) = read().await? {
            return Ok(Some(found));
        }
        tokio::time::sleep(delay).await;
    }
    read().await
}

/// A call repeated while it fails with not-found (an entity IAM does not show yet).
pub(super) async fn retry_not_found<F, Fut>(mut call: F) -> Result<(), StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), StepError>>,
{
    for delay in PROPAGATION_DELAYS {
        match call().await {
            Err(StepError::Aws(e)) if e.is_not_found() => tokio::time::sleep(delay).await,
            other => return other,
        }
    }
    call().await
}

pub(super) fn sdk_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, StepError> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<_, _>>()
        .map_err(|e| StepError::Failed(format!("tags: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_decode_from_url_encoding_and_compare_as_json() {
        let raw = "%7B%22Version%22%3A%20%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_document(raw), json!({"Version": "2012-10-17", "Statement": []}));
        assert_eq!(
            decode_document("{ \"Statement\": [], \"Version\": \"2012-10-17\" }"),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        assert_eq!(decode_document("a+b%2"), Value::String("a+b%2".into()));
    }
}
