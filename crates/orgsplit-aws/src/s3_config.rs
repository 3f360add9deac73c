//! A bucket's configuration as JSON and back: Block Public Access, object ownership, CORS and
//! lifecycle rules. The S3 SDK has no JSON codec (S3 speaks XML), so the members are listed
//! here, once: the inventory records a source bucket with [`public_access_block_json`] & co.,
//! apply builds its Put calls with the `*_sdk` functions and compares the target's answer in
//! the same JSON. Member names are S3's (PascalCase); unset members are left out.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, CorsRule, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleAndOperator, LifecycleRuleFilter, NoncurrentVersionExpiration,
    NoncurrentVersionTransition, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration, Tag, Transition, TransitionStorageClass,
};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::{Value, json};

use crate::sdk_json::{non_empty, object, opt_str};

/// The error codes S3 answers a Get call with when the bucket has no such configuration
/// (one home: the inventory and apply both read them as "none").
pub const NO_POLICY: &str = "NoSuchBucketPolicy";
pub const NO_PUBLIC_ACCESS_BLOCK: &str = "NoSuchPublicAccessBlockConfiguration";
pub const NO_OWNERSHIP_CONTROLS: &str = "OwnershipControlsNotFoundError";
pub const NO_CORS: &str = "NoSuchCORSConfiguration";
pub const NO_LIFECYCLE: &str = "NoSuchLifecycleConfiguration";

/// The four Block Public Access switches.
pub fn public_access_block_json(c: &PublicAccessBlockConfiguration) -> Value {
    json!({
        "BlockPublicAcls": c.block_public_acls().unwrap_or(false),
        "IgnorePublicAcls": c.ignore_public_acls().unwrap_or(false),
        "BlockPublicPolicy": c.block_public_policy().unwrap_or(false),
        "RestrictPublicBuckets": c.restrict_public_buckets().unwrap_or(false),
    })
}

pub fn public_access_block_sdk(v: &Value) -> PublicAccessBlockConfiguration {
    let flag = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(flag("BlockPublicAcls"))
        .ignore_public_acls(flag("IgnorePublicAcls"))
        .block_public_policy(flag("BlockPublicPolicy"))
        .restrict_public_buckets(flag("RestrictPublicBuckets"))
        .build()
}

/// `BucketOwnerEnforced`, `BucketOwnerPreferred` or `ObjectWriter` (S3 allows one rule).
pub fn ownership_json(c: &OwnershipControls) -> Value {
    c.rules().first().map_or(Value::Null, |r| json!(r.object_ownership().as_str()))
}

pub fn ownership_sdk(v: &str) -> Result<OwnershipControls, String> {
    let rule = OwnershipControlsRule::builder()
        .object_ownership(ObjectOwnership::from(v))
        .build()
        .map_err(|e| e.to_string())?;
    OwnershipControls::builder().rules(rule).build().map_err(|e| e.to_string())
}

fn strings(items: &[String]) -> Value {
    non_empty(items.iter().map(|s| json!(s)).collect())
}

fn strings_of(v: &Value, key: &str) -> Option<Vec<String>> {
    let items = v.get(key)?.as_array()?;
    Some(items.iter().filter_map(Value::as_str).map(str::to_string).collect())
}

fn int(v: &Value, key: &str) -> Option<i32> {
    v.get(key).and_then(Value::as_i64).and_then(|n| i32::try_from(n).ok())
}

pub fn cors_json(rules: &[CorsRule]) -> Value {
    Value::Array(
        rules
            .iter()
            .map(|r| {
                object([
                    ("ID", opt_str(r.id())),
                    ("AllowedHeaders", strings(r.allowed_headers())),
                    ("AllowedMethods", strings(r.allowed_methods())),
                    ("AllowedOrigins", strings(r.allowed_origins())),
                    ("ExposeHeaders", strings(r.expose_headers())),
                    ("MaxAgeSeconds", r.max_age_seconds().map_or(Value::Null, |n| json!(n))),
                ])
            })
            .collect(),
    )
}

pub fn cors_sdk(v: &Value) -> Result<Vec<CorsRule>, String> {
    let rules = v.as_array().ok_or("CORS rules are not a list")?;
    rules
        .iter()
        .map(|r| {
            CorsRule::builder()
                .set_id(r.get("ID").and_then(Value::as_str).map(str::to_string))
                .set_allowed_headers(strings_of(r, "AllowedHeaders"))
                .set_allowed_methods(strings_of(r, "AllowedMethods"))
                .set_allowed_origins(strings_of(r, "AllowedOrigins"))
                .set_expose_headers(strings_of(r, "ExposeHeaders"))
                .set_max_age_seconds(int(r, "MaxAgeSeconds"))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn date_json(d: Option<&DateTime>) -> Value {
    d.and_then(|d| d.fmt(Format::DateTime).ok()).map_or(Value::Null, Value::String)
}

fn date_of(v: &Value, key: &str) -> Result<Option<DateTime>, String> {
    match v.get(key).and_then(Value::as_str) {
        None => Ok(None),
        Some(s) => DateTime::from_str(s, Format::DateTime).map(Some).map_err(|e| e.to_string()),
    }
}

fn num<T: Into<Value>>(n: Option<T>) -> Value {
    n.map_or(Value::Null, Into::into)
}

fn tag_json(t: &Tag) -> Value {
    json!({"Key": t.key(), "Value": t.value()})
}

fn tag_sdk(v: &Value) -> Result<Tag, String> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default();
    Tag::builder().key(text("Key")).value(text("Value")).build().map_err(|e| e.to_string())
}

fn filter_json(f: &LifecycleRuleFilter) -> Value {
    object([
        ("Prefix", opt_str(f.prefix())),
        ("Tag", f.tag().map_or(Value::Null, tag_json)),
        ("ObjectSizeGreaterThan", num(f.object_size_greater_than())),
        ("ObjectSizeLessThan", num(f.object_size_less_than())),
        (
            "And",
            f.and().map_or(Value::Null, |a| {
                object([
                    ("Prefix", opt_str(a.prefix())),
                    ("Tags", non_empty(a.tags().iter().map(tag_json).collect())),
                    ("ObjectSizeGreaterThan", num(a.object_size_greater_than())),
                    ("ObjectSizeLessThan", num(a.object_size_less_than())),
                ])
            }),
        ),
    ])
}

fn filter_sdk(v: &Value) -> Result<LifecycleRuleFilter, String> {
    let size = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64);
    let and = match v.get("And") {
        None => None,
        Some(a) => {
            let tags = a.get("Tags").and_then(Value::as_array).cloned().unwrap_or_default();
            Some(
                LifecycleRuleAndOperator::builder()
                    .set_prefix(a.get("Prefix").and_then(Value::as_str).map(str::to_string))
                    .set_tags(Some(tags.iter().map(tag_sdk).collect::<Result<Vec<_>, _>>()?))
                    .set_object_size_greater_than(size(a, "ObjectSizeGreaterThan"))
                    .set_object_size_less_than(size(a, "ObjectSizeLessThan"))
                    .build(),
            )
        }
    };
    Ok(LifecycleRuleFilter::builder()
        .set_prefix(v.get("Prefix").and_then(Value::as_str).map(str::to_string))
        .set_tag(v.get("Tag").map(tag_sdk).transpose()?)
        .set_object_size_greater_than(size(v, "ObjectSizeGreaterThan"))
        .set_object_size_less_than(size(v, "ObjectSizeLessThan"))
        .set_and(and)
        .build())
}

pub fn lifecycle_json(rules: &[LifecycleRule]) -> Value {
    Value::Array(rules.iter().map(lifecycle_rule_json).collect())
}

// A rule-level `Prefix` is deprecated in favour of `Filter`, but rules written with it still
// read back with it, and a copy must keep them as they are.
#[allow(deprecated)]
fn lifecycle_rule_json(r: &LifecycleRule) -> Value {
    let expiration = r.expiration().map_or(Value::Null, |e| {
        object([
            ("Date", date_json(e.date())),
            ("Days", num(e.days())),
            ("ExpiredObjectDeleteMarker", num(e.expired_object_delete_marker())),
        ])
    });
    let transitions = r
        .transitions()
        .iter()
        .map(|t| {
            object([
                ("Date", date_json(t.date())),
                ("Days", num(t.days())),
                ("StorageClass", opt_str(t.storage_class().map(|c| c.as_str()))),
            ])
        })
        .collect();
    let noncurrent_transitions = r
        .noncurrent_version_transitions()
        .iter()
        .map(|t| {
            object([
                ("NoncurrentDays", num(t.noncurrent_days())),
                ("NewerNoncurrentVersions", num(t.newer_noncurrent_versions())),
                ("StorageClass", opt_str(t.storage_class().map(|c| c.as_str()))),
            ])
        })
        .collect();
    object([
        ("ID", opt_str(r.id())),
        ("Status", json!(r.status().as_str())),
        ("Prefix", opt_str(r.prefix())),
        ("Filter", r.filter().map_or(Value::Null, filter_json)),
        ("Expiration", expiration),
        ("Transitions", non_empty(transitions)),
        ("NoncurrentVersionTransitions", non_empty(noncurrent_transitions)),
        (
            "NoncurrentVersionExpiration",
            r.noncurrent_version_expiration().map_or(Value::Null, |e| {
                object([
                    ("NoncurrentDays", num(e.noncurrent_days())),
                    ("NewerNoncurrentVersions", num(e.newer_noncurrent_versions())),
                ])
            }),
        ),
        (
            "AbortIncompleteMultipartUpload",
            r.abort_incomplete_multipart_upload().map_or(Value::Null, |a| {
                object([("DaysAfterInitiation", num(a.days_after_initiation()))])
            }),
        ),
    ])
}

pub fn lifecycle_sdk(v: &Value) -> Result<Vec<LifecycleRule>, String> {
    let rules = v.as_array().ok_or("lifecycle rules are not a list")?;
    rules.iter().map(lifecycle_rule_sdk).collect()
}

#[allow(deprecated)] // a rule-level `Prefix`: see lifecycle_rule_json
fn lifecycle_rule_sdk(r: &Value) -> Result<LifecycleRule, String> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let class =
        |v: &Value| text(v, "StorageClass").map(|c| TransitionStorageClass::from(c.as_str()));
    let list = |k: &str| r.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    let expiration = match r.get("Expiration") {
        None => None,
        Some(e) => Some(
            LifecycleExpiration::builder()
                .set_date(date_of(e, "Date")?)
                .set_days(int(e, "Days"))
                .set_expired_object_delete_marker(
                    e.get("ExpiredObjectDeleteMarker").and_then(Value::as_bool),
                )
                .build(),
        ),
    };
    let mut transitions = Vec::new();
    for t in list("Transitions") {
        transitions.push(
            Transition::builder()
                .set_date(date_of(&t, "Date")?)
                .set_days(int(&t, "Days"))
                .set_storage_class(class(&t))
                .build(),
        );
    }
    let noncurrent_transitions = list("NoncurrentVersionTransitions")
        .iter()
        .map(|t| {
            NoncurrentVersionTransition::builder()
                .set_noncurrent_days(int(t, "NoncurrentDays"))
                .set_newer_noncurrent_versions(int(t, "NewerNoncurrentVersions"))
                .set_storage_class(class(t))
                .build()
        })
        .collect::<Vec<_>>();
    LifecycleRule::builder()
        .set_id(text(r, "ID"))
        .status(ExpirationStatus::from(text(r, "Status").unwrap_or_default().as_str()))
        .set_prefix(text(r, "Prefix"))
        .set_filter(r.get("Filter").map(filter_sdk).transpose()?)
        .set_expiration(expiration)
        .set_transitions(Some(transitions).filter(|t| !t.is_empty()))
        .set_noncurrent_version_transitions(Some(noncurrent_transitions).filter(|t| !t.is_empty()))
        .set_noncurrent_version_expiration(r.get("NoncurrentVersionExpiration").map(|e| {
            NoncurrentVersionExpiration::builder()
                .set_noncurrent_days(int(e, "NoncurrentDays"))
                .set_newer_noncurrent_versions(int(e, "NewerNoncurrentVersions"))
                .build()
        }))
        .set_abort_incomplete_multipart_upload(r.get("AbortIncompleteMultipartUpload").map(|a| {
            AbortIncompleteMultipartUpload::builder()
                .set_days_after_initiation(int(a, "DaysAfterInitiation"))
                .build()
        }))
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_round_trips_through_the_sdk() {
        let pab = json!({"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": false, "RestrictPublicBuckets": false});
        assert_eq!(public_access_block_json(&public_access_block_sdk(&pab)), pab);
        assert_eq!(
            ownership_json(&ownership_sdk("BucketOwnerPreferred").unwrap()),
            json!("BucketOwnerPreferred")
        );
        let cors = json!([{"ID": "web", "AllowedHeaders": ["*"], "AllowedMethods": ["GET", "PUT"], "AllowedOrigins": ["https://example.com"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3000}]);
        assert_eq!(cors_json(&cors_sdk(&cors).unwrap()), cors);
        let lifecycle = json!([
            {"ID": "logs", "Status": "Enabled", "Filter": {"And": {"Prefix": "logs/", "Tags": [{"Key": "k", "Value": "v"}], "ObjectSizeGreaterThan": 128}},
             "Expiration": {"Days": 365}, "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}],
             "NoncurrentVersionTransitions": [{"NoncurrentDays": 30, "StorageClass": "GLACIER"}],
             "NoncurrentVersionExpiration": {"NoncurrentDays": 90, "NewerNoncurrentVersions": 3},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
            {"ID": "old", "Status": "Disabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Date": "2027-01-01T00:00:00Z"}}
        ]);
        assert_eq!(lifecycle_json(&lifecycle_sdk(&lifecycle).unwrap()), lifecycle);
        assert!(cors_sdk(&json!({})).is_err());
        assert!(
            lifecycle_sdk(&json!([{"Status": "Enabled", "Expiration": {"Date": "soon"}}])).is_err()
        );
    }
}
