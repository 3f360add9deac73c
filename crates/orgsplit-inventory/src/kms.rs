//! KMS keys: the customer-managed keys of each region, with their aliases, rotation, key
//! policy and tags. AWS-managed keys (`alias/aws/…`) are the target account's own and are
//! never read beyond the alias list; key material is never requested.
//!
//! Calls per region, for `k` keys of which `c` are customer-managed, and `a` aliases:
//! `ListKeys = max(1, ceil(k / 1000))`, `ListAliases = max(1, ceil(a / 100))`, `DescribeKey =
//! k - (keys named by an AWS alias)`, then `GetKeyPolicy`, `GetKeyRotationStatus` and
//! `ListResourceTags` once per customer-managed key (`4c` at most in all per key).
//!
//! The other collectors record a key as their service returns it (a key id, key ARN, alias
//! name or alias ARN); [`resolve_key_references`] turns every one of those into the key's ARN
//! and a reference, so the planner knows which copies use which key.

use aws_sdk_kms::types::{KeyManagerType, KeyState};
use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::inventory::Reference;
use orgsplit_model::{Resource, ResourceKind};
use serde_json::{Value, json};
use std::collections::BTreeMap;

use crate::iam::document_references;
use crate::util::{Collected, object, opt_str, policy_document, read};

/// The alias prefix AWS reserves for its own keys.
pub const AWS_ALIAS_PREFIX: &str = "alias/aws/";

pub async fn collect(session: &AccountSession, region: &str) -> Collected {
    let account = session.account_id.as_str();
    let partition = session.partition.as_str();
    let kms = session.kms(region);
    let keys = every_page!(kms.list_keys().limit(1000), keys)
        .map_err(session.error_of("kms", "ListKeys", region))?;
    let aliases = every_page!(kms.list_aliases().limit(100), aliases).map_err(session.error_of(
        "kms",
        "ListAliases",
        region,
    ))?;
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for a in &aliases {
        if let (Some(name), Some(key)) = (a.alias_name(), a.target_key_id()) {
            by_key.entry(key.to_string()).or_default().push(name.to_string());
        }
    }
    let mut out = Vec::new();
    for k in &keys {
        let Some(id) = k.key_id() else { continue };
        let names = by_key.remove(id).unwrap_or_default();
        if names.iter().any(|n| n.starts_with(AWS_ALIAS_PREFIX)) {
            continue;
        }
        let described = kms.describe_key().key_id(id).send().await.map_err(session.error_of(
            "kms",
            "DescribeKey",
            region,
        ))?;
        let Some(meta) = described.key_metadata() else { continue };
        // Keys being deleted are on their way out: nothing should be copied under them.
        if meta.key_manager() != Some(&KeyManagerType::Customer)
            || matches!(
                meta.key_state(),
                Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
            )
        {
            continue;
        }
        let arn = meta
            .arn()
            .map(str::to_string)
            .unwrap_or_else(|| format!("arn:{partition}:kms:{region}:{account}:key/{id}"));
        let mut unreadable = Vec::new();
        let (policy, rotation, tags) = futures::join!(
            read(
                "GetKeyPolicy",
                &[],
                kms.get_key_policy().key_id(id).policy_name("default").send()
            ),
            read("GetKeyRotationStatus", &[], kms.get_key_rotation_status().key_id(id).send()),
            read("ListResourceTags", &[], kms.list_resource_tags().key_id(id).limit(50).send()),
        );
        let policy = policy
            .unwrap_or_else(|why| {
                unreadable.push(why);
                None
            })
            .and_then(|p| p.policy().map(policy_document))
            .unwrap_or(Value::Null);
        let (rotation_enabled, period) = match rotation {
            Ok(r) => (
                r.as_ref().map(|r| r.key_rotation_enabled()),
                r.as_ref().and_then(|r| r.rotation_period_in_days()),
            ),
            Err(why) => {
                unreadable.push(why);
                (None, None)
            }
        };
        let tags = match tags {
            Ok(t) => t
                .map(|t| {
                    t.tags().iter().map(|t| (t.tag_key().into(), t.tag_value().into())).collect()
                })
                .unwrap_or_default(),
            Err(why) => {
                unreadable.push(why);
                BTreeMap::new()
            }
        };
        let mut names = names;
        names.sort();
        // The name rules match and the address uses: the first alias without `alias/`, or
        // the key id of a key with none.
        let name = names
            .first()
            .and_then(|n| n.strip_prefix("alias/"))
            .map_or_else(|| id.to_string(), str::to_string);
        let config = object([
            ("KeyId", json!(id)),
            ("Description", opt_str(meta.description())),
            ("KeyUsage", json!(meta.key_usage().map(|u| u.as_str()))),
            ("KeySpec", json!(meta.key_spec().map(|s| s.as_str()))),
            ("Origin", json!(meta.origin().map(|o| o.as_str()))),
            ("MultiRegion", json!(meta.multi_region())),
            ("KeyState", json!(meta.key_state().map(|s| s.as_str()))),
            ("Aliases", json!(names)),
            ("KeyRotationEnabled", json!(rotation_enabled)),
            ("RotationPeriodInDays", json!(period)),
            ("Policy", policy.clone()),
        ]);
        let references = document_references(&policy, account, "Policy");
        let mut r = Resource::new(
            ResourceKind::KmsKey,
            name,
            arn,
            Some(region.to_string()),
            tags,
            config,
            references,
        );
        if !unreadable.is_empty() {
            tracing::warn!(key = id, ?unreadable, "KMS key recorded as unreadable");
            r.unreadable = unreadable;
        }
        out.push(r);
    }
    Ok(out)
}

/// Members, per kind, that name a KMS key (`ssm`'s `KeyId`, a bucket's default encryption's
/// `KMSMasterKeyID`, …), as a path of object members.
const KEY_MEMBERS: &[(ResourceKind, &[&str])] = &[
    (ResourceKind::SsmParameter, &["KeyId"]),
    (ResourceKind::Secret, &["KmsKeyId"]),
    (ResourceKind::LogGroup, &["KmsKeyId"]),
    (ResourceKind::CodeBuildProject, &["encryptionKey"]),
];

/// Turns every key a resource names (an id, key ARN, alias name or alias ARN, as each service
/// returns it) into the key's ARN with a reference, when it is a customer-managed key of the
/// inventory; an AWS-managed key (`alias/aws/ssm`, …) is dropped from the configuration, since
/// the copy uses the target's own AWS-managed key of the service.
pub fn resolve_key_references(resources: &mut [Resource]) {
    let mut keys: BTreeMap<(String, String), String> = BTreeMap::new();
    for r in resources.iter().filter(|r| r.kind == ResourceKind::KmsKey) {
        let region = r.region.clone().unwrap_or_default();
        keys.insert((region.clone(), r.arn.clone()), r.arn.clone());
        if let Some(id) = r.config.get("KeyId").and_then(Value::as_str) {
            keys.insert((region.clone(), id.to_string()), r.arn.clone());
        }
        for alias in r.config["Aliases"].as_array().into_iter().flatten().filter_map(Value::as_str)
        {
            keys.insert((region.clone(), alias.to_string()), r.arn.clone());
            // alias ARN: arn:aws:kms:REGION:ACCOUNT:alias/NAME
            if let Some(prefix) = r.arn.split(":key/").next() {
                keys.insert((region.clone(), format!("{prefix}:{alias}")), r.arn.clone());
            }
        }
    }
    for r in resources.iter_mut() {
        let region = r.region.clone().unwrap_or_default();
        let mut changed = false;
        let mut new_refs = Vec::new();
        let mut visit = |slot: &mut Value, via: String| {
            let Some(named) = slot.as_str() else { return };
            let alias = named.rsplit(':').next().unwrap_or(named);
            if alias.starts_with(AWS_ALIAS_PREFIX) {
                *slot = Value::Null;
                changed = true;
            } else if let Some(arn) = keys.get(&(region.clone(), named.to_string())) {
                new_refs.push(Reference::new(arn.clone(), via));
                if named != arn {
                    *slot = json!(arn);
                    changed = true;
                }
            }
        };
        for (_, members) in KEY_MEMBERS.iter().filter(|(k, _)| *k == r.kind) {
            for member in *members {
                if let Some(slot) = r.config.get_mut(*member) {
                    visit(slot, member.to_string());
                }
            }
        }
        if r.kind == ResourceKind::S3Bucket
            && let Some(rules) =
                r.config.pointer_mut("/Encryption/Rules").and_then(Value::as_array_mut)
        {
            for (i, rule) in rules.iter_mut().enumerate() {
                if let Some(slot) =
                    rule.pointer_mut("/ApplyServerSideEncryptionByDefault/KMSMasterKeyID")
                {
                    visit(
                        slot,
                        format!(
                            "Encryption.Rules[{i}].ApplyServerSideEncryptionByDefault.KMSMasterKeyID"
                        ),
                    );
                }
            }
        }
        if changed || !new_refs.is_empty() {
            if let Some(members) = r.config.as_object_mut() {
                members.retain(|_, v| !v.is_null());
            }
            r.references.extend(new_refs);
            r.references.sort();
            r.references.dedup();
            r.fingerprint = r.compute_fingerprint();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Resource {
        Resource::new(
            ResourceKind::KmsKey,
            "prod/app",
            "arn:aws:kms:us-east-1:111111111111:key/k-1",
            Some("us-east-1".into()),
            Default::default(),
            json!({"KeyId": "k-1", "Aliases": ["alias/prod/app"]}),
            vec![],
        )
    }

    fn parameter(key_id: &str) -> Resource {
        Resource::new(
            ResourceKind::SsmParameter,
            "/prod/app/TOKEN",
            "arn:aws:ssm:us-east-1:111111111111:parameter/prod/app/TOKEN",
            Some("us-east-1".into()),
            Default::default(),
            json!({"Type": "SecureString", "KeyId": key_id}),
            vec![],
        )
    }

    #[test]
    fn every_way_of_naming_a_key_becomes_its_arn_and_a_reference() {
        let arn = "arn:aws:kms:us-east-1:111111111111:key/k-1";
        for named in
            ["k-1", arn, "alias/prod/app", "arn:aws:kms:us-east-1:111111111111:alias/prod/app"]
        {
            let mut resources = vec![key(), parameter(named)];
            resolve_key_references(&mut resources);
            assert_eq!(resources[1].config["KeyId"], arn, "{named}");
            assert_eq!(resources[1].references, vec![Reference::new(arn, "KeyId")], "{named}");
        }
    }

    #[test]
    fn an_aws_managed_key_is_dropped_and_an_unknown_one_kept() {
        let mut resources = vec![key(), parameter("alias/aws/ssm"), parameter("k-other")];
        resolve_key_references(&mut resources);
        assert!(resources[1].config.get("KeyId").is_none());
        assert!(resources[1].references.is_empty());
        assert_eq!(resources[2].config["KeyId"], "k-other");
        assert!(resources[2].references.is_empty());
    }
}
