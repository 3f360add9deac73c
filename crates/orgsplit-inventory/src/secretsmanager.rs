//! Secrets Manager secrets: metadata and tags from ListSecrets (100 a page, tags included).
//! Secret values are never requested (no GetSecretValue, no BatchGetSecretValue).
//!
//! Calls per region: `ListSecrets = max(1, ceil(n / 100))` for `n` secrets.
//!
//! A secret replicated to other Regions is listed there too, as a replica naming its primary's
//! Region (`PrimaryRegion`); [`link_replicas`] records on each primary the Regions of its
//! replicas the inventory saw, so no DescribeSecret call is needed (a replica in a Region
//! outside `regions` is not seen).

use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::{Resource, ResourceKind};
use serde_json::json;

use crate::util::{Collected, object, opt_str, tags, time};

pub async fn collect(session: &AccountSession, region: &str) -> Collected {
    let request = session.secretsmanager(region).list_secrets().max_results(100);
    let error_of = session.error_of("secretsmanager", "ListSecrets", region);
    let secrets = every_page!(request, secret_list).map_err(error_of)?;
    let mut out = Vec::new();
    for s in &secrets {
        let (Some(name), Some(arn)) = (s.name(), s.arn()) else {
            tracing::warn!(?s, "secret without a name or ARN: skipped");
            continue;
        };
        let config = object([
            ("Description", opt_str(s.description())),
            ("KmsKeyId", opt_str(s.kms_key_id())),
            ("LastChangedDate", time(s.last_changed_date())),
            ("RotationEnabled", json!(s.rotation_enabled().unwrap_or(false))),
            ("RotationLambdaARN", opt_str(s.rotation_lambda_arn())),
            (
                "RotationRules",
                s.rotation_rules().map_or(serde_json::Value::Null, |r| {
                    object([
                        ("AutomaticallyAfterDays", json!(r.automatically_after_days())),
                        ("ScheduleExpression", opt_str(r.schedule_expression())),
                    ])
                }),
            ),
            // Set on every secret of a multi-Region set: a replica's primary is elsewhere.
            ("PrimaryRegion", opt_str(s.primary_region())),
            // Set on a secret another service created and manages (RDS, Redshift, …).
            ("OwningService", opt_str(s.owning_service())),
        ]);
        out.push(Resource::new(
            ResourceKind::Secret,
            name,
            arn,
            Some(region.to_string()),
            tags(s.tags().iter().map(|t| (t.key(), t.value()))),
            config,
            vec![],
        ));
    }
    Ok(out)
}

/// Records on every primary secret (`ReplicaRegions`) the Regions of the replicas the
/// inventory found, sorted, and recomputes its fingerprint.
pub fn link_replicas(resources: &mut [Resource]) {
    let mut replicas: std::collections::BTreeMap<(String, String), Vec<String>> =
        std::collections::BTreeMap::new();
    for r in resources.iter().filter(|r| r.kind == ResourceKind::Secret) {
        let (Some(region), Some(primary)) =
            (r.region.as_deref(), r.config.get("PrimaryRegion").and_then(|p| p.as_str()))
        else {
            continue;
        };
        if primary != region {
            let key = (primary.to_string(), r.name.clone());
            replicas.entry(key).or_default().push(region.to_string());
        }
    }
    for r in resources.iter_mut().filter(|r| r.kind == ResourceKind::Secret) {
        let key = (r.region.clone().unwrap_or_default(), r.name.clone());
        if let Some(mut regions) = replicas.remove(&key)
            && let Some(config) = r.config.as_object_mut()
        {
            regions.sort();
            config.insert("ReplicaRegions".into(), json!(regions));
            r.fingerprint = r.compute_fingerprint();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(region: &str, primary: Option<&str>) -> Resource {
        let mut config = json!({"Description": "d"});
        if let Some(p) = primary {
            config["PrimaryRegion"] = json!(p);
        }
        Resource::new(
            ResourceKind::Secret,
            "prod/db",
            format!("arn:aws:secretsmanager:{region}:111111111111:secret:prod/db-AbCdEf"),
            Some(region.to_string()),
            Default::default(),
            config,
            vec![],
        )
    }

    #[test]
    fn a_primary_learns_the_regions_of_its_replicas() {
        let mut resources = vec![
            secret("us-east-1", Some("us-east-1")),
            secret("eu-west-1", Some("us-east-1")),
            secret("ap-south-1", Some("us-east-1")),
        ];
        let before = resources[0].fingerprint.clone();
        link_replicas(&mut resources);
        assert_eq!(resources[0].config["ReplicaRegions"], json!(["ap-south-1", "eu-west-1"]));
        assert_ne!(resources[0].fingerprint, before, "replicas are part of what is copied");
        assert!(resources[1].config.get("ReplicaRegions").is_none());
        let mut alone = vec![secret("us-east-1", None)];
        link_replicas(&mut alone);
        assert!(alone[0].config.get("ReplicaRegions").is_none());
    }
}
