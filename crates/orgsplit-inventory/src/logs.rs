//! CloudWatch Logs log groups (DescribeLogGroups, 50 a page). Tags come from the Tagging
//! API sweep; log events are never read.
//!
//! Calls per region, for `n` log groups: `DescribeLogGroups = max(1, ceil(n / 50))`.

use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::{Resource, ResourceKind};
use serde_json::json;

use crate::util::{Collected, object, opt_str};

pub async fn collect(session: &AccountSession, region: &str) -> Collected {
    let account = session.account_id.as_str();
    let partition = session.partition.as_str();
    let request = session.logs(region).describe_log_groups().limit(50);
    let error_of = session.error_of("logs", "DescribeLogGroups", region);
    let groups = every_page!(request, log_groups).map_err(error_of)?;
    let mut out = Vec::new();
    for g in &groups {
        let Some(name) = g.log_group_name() else {
            continue;
        };
        // Built, not taken from `arn`: that one ends in `:*` (the log streams).
        let arn = format!("arn:{partition}:logs:{region}:{account}:log-group:{name}");
        let config = object([
            ("RetentionInDays", json!(g.retention_in_days())),
            ("KmsKeyId", opt_str(g.kms_key_id())),
            ("LogGroupClass", json!(g.log_group_class().map(|c| c.as_str()))),
        ]);
        out.push(Resource::new(
            ResourceKind::LogGroup,
            name,
            arn,
            Some(region.to_string()),
            Default::default(),
            config,
            vec![],
        ));
    }
    Ok(out)
}
