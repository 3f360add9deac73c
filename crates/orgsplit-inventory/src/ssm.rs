//! SSM parameters: metadata only (DescribeParameters, 50 a page). Values are never read
//! here; tags come from the Tagging API sweep.

use orgsplit_aws::{AccountSession, every_page};
use orgsplit_model::{Resource, ResourceKind};
use serde_json::json;

use crate::util::{Collected, object, opt_str, time};

pub async fn collect(session: &AccountSession, region: &str) -> Collected {
    let account = session.account_id.as_str();
    let partition = session.partition.as_str();
    let request = session.ssm(region).describe_parameters().max_results(50);
    let error_of = session.error_of("ssm", "DescribeParameters", region);
    let parameters = every_page!(request, parameters).map_err(error_of)?;
    let mut out = Vec::new();
    for p in &parameters {
        let Some(name) = p.name() else { continue };
        let arn = p.arn().map(str::to_string).unwrap_or_else(|| {
            let sep = if name.starts_with('/') { "" } else { "/" };
            format!("arn:{partition}:ssm:{region}:{account}:parameter{sep}{name}")
        });
        let config = object([
            ("Type", json!(p.r#type().map(|t| t.as_str()))),
            ("Tier", json!(p.tier().map(|t| t.as_str()))),
            ("DataType", opt_str(p.data_type())),
            ("Description", opt_str(p.description())),
            ("AllowedPattern", opt_str(p.allowed_pattern())),
            ("KeyId", opt_str(p.key_id())),
            ("Policies", orgsplit_aws::policy::parameter_policies(p.policies())),
            ("Version", json!(p.version())),
            ("LastModifiedDate", time(p.last_modified_date())),
        ]);
        out.push(Resource::new(
            ResourceKind::SsmParameter,
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
