//! The part of `s3-bucket` that copies a bucket's access and data-management settings:
//! object ownership, Block Public Access, the bucket policy (rewritten by the planner for the
//! copy's name and account), CORS and lifecycle rules. A setting the source does not have is
//! left as the target has it.
//!
//! Order matters on AWS: a new bucket blocks all public access and enforces bucket-owner
//! ownership by default since April 2023, so ownership and Block Public Access are written
//! before the policy, or S3 refuses a public policy with AccessDenied
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/create-bucket-faq.html>).

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{BucketLifecycleConfiguration, CorsConfiguration};
use orgsplit_aws::s3_config::{
    NO_CORS, NO_LIFECYCLE, NO_OWNERSHIP_CONTROLS, NO_POLICY, NO_PUBLIC_ACCESS_BLOCK, cors_json,
    cors_sdk, lifecycle_json, lifecycle_sdk, ownership_json, ownership_sdk,
    public_access_block_json, public_access_block_sdk,
};
use orgsplit_aws::{AwsError, policy::policy_document};
use serde_json::Value;

use crate::context::StepError;

type At<'a> = super::support::At<'a, Client>;

/// What the source bucket has, as the plan recorded it (`None`: the source has none).
#[derive(Debug, Default)]
pub(super) struct Settings {
    ownership: Option<String>,
    public_access_block: Option<Value>,
    policy: Option<Value>,
    cors: Option<Value>,
    lifecycle: Option<Value>,
}

impl Settings {
    pub(super) fn of(config: &Value) -> Settings {
        let get = |k: &str| config.get(k).filter(|v| !v.is_null()).cloned();
        Settings {
            ownership: config.get("OwnershipControls").and_then(Value::as_str).map(str::to_string),
            public_access_block: get("PublicAccessBlock"),
            policy: get("Policy"),
            cors: get("Cors"),
            lifecycle: get("Lifecycle"),
        }
    }
}

/// What the target bucket has, in the plan's JSON.
#[derive(Debug, Default)]
struct Live {
    ownership: Option<String>,
    public_access_block: Option<Value>,
    policy: Option<Value>,
    cors: Option<Value>,
    lifecycle: Option<Value>,
}

fn code(err: &AwsError) -> Option<&str> {
    match err {
        AwsError::Call { code, .. } => code.as_deref(),
        _ => None,
    }
}

/// A Get call's answer, `None` when S3 answers `absent` (no such configuration).
fn absent_is_none<T>(got: Result<T, AwsError>, absent: &str) -> Result<Option<T>, StepError> {
    match got {
        Ok(out) => Ok(Some(out)),
        Err(e) if code(&e) == Some(absent) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

async fn live(at: &At<'_>) -> Result<Live, StepError> {
    let (c, b, o) = (at.client, at.name, at.account);
    let ownership = c.get_bucket_ownership_controls().bucket(b).expected_bucket_owner(o).send();
    let ownership = ownership.await.map_err(at.error_of("GetBucketOwnershipControls"));
    let public = c.get_public_access_block().bucket(b).expected_bucket_owner(o).send();
    let public = public.await.map_err(at.error_of("GetPublicAccessBlock"));
    let policy = c.get_bucket_policy().bucket(b).expected_bucket_owner(o).send();
    let policy = policy.await.map_err(at.error_of("GetBucketPolicy"));
    let cors = c.get_bucket_cors().bucket(b).expected_bucket_owner(o).send();
    let cors = cors.await.map_err(at.error_of("GetBucketCors"));
    let lifecycle = c.get_bucket_lifecycle_configuration().bucket(b).expected_bucket_owner(o);
    let lifecycle = lifecycle.send().await.map_err(at.error_of("GetBucketLifecycleConfiguration"));
    Ok(Live {
        ownership: absent_is_none(ownership, NO_OWNERSHIP_CONTROLS)?
            .and_then(|o| o.ownership_controls().map(ownership_json))
            .and_then(|v| v.as_str().map(str::to_string)),
        public_access_block: absent_is_none(public, NO_PUBLIC_ACCESS_BLOCK)?
            .and_then(|p| p.public_access_block_configuration().map(public_access_block_json)),
        policy: absent_is_none(policy, NO_POLICY)?.and_then(|p| p.policy().map(policy_document)),
        cors: absent_is_none(cors, NO_CORS)?.map(|c| cors_json(c.cors_rules())),
        lifecycle: absent_is_none(lifecycle, NO_LIFECYCLE)?.map(|l| lifecycle_json(l.rules())),
    })
}

/// The settings of `want` the target does not have as the source does.
fn differences(want: &Settings, live: &Live) -> Vec<&'static str> {
    let mut differs = Vec::new();
    let mut check = |name, want: Option<&Value>, live: Option<&Value>| {
        if want.is_some() && want != live {
            differs.push(name);
        }
    };
    let (want_owner, live_owner) =
        (want.ownership.clone().map(Value::String), live.ownership.clone().map(Value::String));
    check("ownership controls", want_owner.as_ref(), live_owner.as_ref());
    check(
        "block public access",
        want.public_access_block.as_ref(),
        live.public_access_block.as_ref(),
    );
    check("policy", want.policy.as_ref(), live.policy.as_ref());
    check("cors", want.cors.as_ref(), live.cors.as_ref());
    check("lifecycle", want.lifecycle.as_ref(), live.lifecycle.as_ref());
    differs
}

fn input(field: &str, message: String) -> StepError {
    StepError::Input { field: format!("config.{field}"), message }
}

/// Writes every setting the target lacks; true when something was written.
pub(super) async fn ensure(at: &At<'_>, want: &Settings) -> Result<bool, StepError> {
    let differs = differences(want, &live(at).await?);
    let (c, b, o) = (at.client, at.name, at.account);
    if differs.contains(&"ownership controls")
        && let Some(ownership) = &want.ownership
    {
        let controls = ownership_sdk(ownership).map_err(|e| input("OwnershipControls", e))?;
        let put = c.put_bucket_ownership_controls().bucket(b).expected_bucket_owner(o);
        put.ownership_controls(controls)
            .send()
            .await
            .map_err(at.error_of("PutBucketOwnershipControls"))?;
    }
    if differs.contains(&"block public access")
        && let Some(block) = &want.public_access_block
    {
        let put = c.put_public_access_block().bucket(b).expected_bucket_owner(o);
        put.public_access_block_configuration(public_access_block_sdk(block))
            .send()
            .await
            .map_err(at.error_of("PutPublicAccessBlock"))?;
    }
    if differs.contains(&"policy")
        && let Some(policy) = &want.policy
    {
        let put = c.put_bucket_policy().bucket(b).expected_bucket_owner(o);
        put.policy(policy.to_string()).send().await.map_err(at.error_of("PutBucketPolicy"))?;
    }
    if differs.contains(&"cors")
        && let Some(cors) = &want.cors
    {
        let rules = cors_sdk(cors).map_err(|e| input("Cors", e))?;
        let config = CorsConfiguration::builder()
            .set_cors_rules(Some(rules))
            .build()
            .map_err(|e| input("Cors", e.to_string()))?;
        let put = c.put_bucket_cors().bucket(b).expected_bucket_owner(o);
        put.cors_configuration(config).send().await.map_err(at.error_of("PutBucketCors"))?;
    }
    if differs.contains(&"lifecycle")
        && let Some(lifecycle) = &want.lifecycle
    {
        let rules = lifecycle_sdk(lifecycle).map_err(|e| input("Lifecycle", e))?;
        let config = BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .map_err(|e| input("Lifecycle", e.to_string()))?;
        let put = c.put_bucket_lifecycle_configuration().bucket(b).expected_bucket_owner(o);
        put.lifecycle_configuration(config)
            .send()
            .await
            .map_err(at.error_of("PutBucketLifecycleConfiguration"))?;
    }
    Ok(!differs.is_empty())
}

/// The settings that still differ after writing them (read back from the target).
pub(super) async fn still_differing(
    at: &At<'_>,
    want: &Settings,
) -> Result<Vec<&'static str>, StepError> {
    Ok(differences(want, &live(at).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_what_the_source_has_is_compared() {
        let want = Settings::of(&json!({
            "OwnershipControls": "BucketOwnerEnforced",
            "Policy": {"Version": "2012-10-17", "Statement": []},
        }));
        let live = Live {
            ownership: Some("BucketOwnerEnforced".into()),
            cors: Some(json!([{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}])),
            ..Live::default()
        };
        assert_eq!(differences(&want, &live), ["policy"]);
        let live = Live { policy: want.policy.clone(), ..live };
        assert!(differences(&want, &live).is_empty());
    }
}
