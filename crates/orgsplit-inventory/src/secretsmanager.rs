//! Secrets Manager secrets: metadata and tags from ListSecrets (100 a page, tags included).
//! Secret values are never requested (no GetSecretValue, no BatchGetSecretValue).
//!
//! Calls per region: `ListSecrets = max(1, ceil(n / 100))` for `n` secrets.

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
