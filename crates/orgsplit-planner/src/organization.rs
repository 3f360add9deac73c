//! The organization's own steps: trusted access (StackSets', and Account Management's when
//! an opt-in Region is used) and the guardrail SCP.

use orgsplit_model::config::Config;
use orgsplit_model::inventory::{OrganizationState, PolicyState};
use orgsplit_model::step::{self, StepSpec};
use orgsplit_model::{Action, Step};
use serde_json::{Value, json};

use crate::build::{GUARDRAIL_SCP, ORGANIZATION_KEY, TERRAFORM_APPLY_ROLE};

/// The organization's steps, and what the OUs' and accounts' steps refer to.
pub(crate) struct Organization<'a> {
    pub(crate) steps: Vec<Step>,
    /// The management account's id: organization steps act there.
    pub(crate) mgmt: String,
    pub(crate) trusted_access_address: String,
    pub(crate) account_access_address: String,
    pub(crate) scp_address: String,
    pub(crate) existing_scp: Option<&'a PolicyState>,
    /// The opt-in Regions of `regions`.
    pub(crate) opt_in: Vec<&'a String>,
}

pub(crate) fn organization_steps<'a>(
    config: &'a Config,
    org: &'a OrganizationState,
) -> Organization<'a> {
    let mgmt = org.management_account_id.clone();
    let mut steps = Vec::new();
    let uses_stacksets = config.ous.iter().any(|o| !o.stacksets.is_empty());
    let trusted_access_address = "organization/org-trusted-access:stacksets".to_string();
    if uses_stacksets {
        // A no-op only when CloudFormation itself says its organizations access is active.
        let enabled = org.stacksets_access == "ENABLED";
        let spec = StepSpec::OrgTrustedAccess(step::TrustedAccess { service_principal: None });
        let access =
            Step::new(&trusted_access_address, Action::create_unless(enabled), &mgmt, spec);
        steps.push(
            access
                .in_region(&config.home_region)
                .reading(ORGANIZATION_KEY)
                .because("SERVICE_MANAGED StackSets need trusted access with Organizations"),
        );
    }
    // Opt-in Regions are enabled in member accounts from the management account, through
    // Account Management, which needs its own trusted access.
    let opt_in: Vec<&String> =
        config.regions.iter().filter(|r| orgsplit_model::regions::is_opt_in(r)).collect();
    let account_access_address = "organization/org-trusted-access:account".to_string();
    if !opt_in.is_empty() {
        let principal = orgsplit_model::regions::ACCOUNT_MANAGEMENT_PRINCIPAL;
        let enabled = org.service_access.iter().any(|s| s == principal);
        let spec = StepSpec::OrgTrustedAccess(step::TrustedAccess {
            service_principal: Some(principal.to_string()),
        });
        let regions = opt_in.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
        let access =
            Step::new(&account_access_address, Action::create_unless(enabled), &mgmt, spec);
        steps.push(access.in_region(&config.home_region).reading(ORGANIZATION_KEY).because(
            format!(
                "opt-in Region(s) {regions} are enabled in each account through Account Management"
            ),
        ));
    }
    let scp_address = step::scp_address(GUARDRAIL_SCP);
    let existing_scp = org.policies.iter().find(|p| p.name == GUARDRAIL_SCP);
    let action = if existing_scp.is_some() { Action::Update } else { Action::Create };
    let spec = StepSpec::Scp(step::Scp {
        name: GUARDRAIL_SCP.into(),
        description: "orgsplit guardrails: protected tag keys, no leaving the organization".into(),
        content: guardrail_policy(config),
    });
    let mut scp = Step::new(&scp_address, action, &mgmt, spec)
        .reading(ORGANIZATION_KEY)
        .because("guardrails.protected_tag_keys and the deny on leaving the organization");
    if existing_scp.is_some() {
        scp = scp.noting("exists: its content is compared and updated only if it differs");
    }
    steps.push(scp);
    Organization {
        steps,
        mgmt,
        trusted_access_address,
        account_access_address,
        scp_address,
        existing_scp,
        opt_in,
    }
}

/// The SCP: deny leaving the organization; deny touching protected tag keys unless the
/// caller is one of the admin roles.
pub fn guardrail_policy(config: &Config) -> Value {
    let mut statements = vec![json!({
        "Sid": "DenyLeavingOrganization",
        "Effect": "Deny",
        "Action": "organizations:LeaveOrganization",
        "Resource": "*",
    })];
    if !config.guardrails.protected_tag_keys.is_empty() {
        statements.push(json!({
            "Sid": "ProtectTagKeys",
            "Effect": "Deny",
            "Action": ["*:TagResource", "*:UntagResource", "*:CreateTags", "*:DeleteTags", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "iam:TagRole", "iam:UntagRole", "iam:TagPolicy", "iam:UntagPolicy", "s3:PutBucketTagging"],
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringEquals": { "aws:TagKeys": config.guardrails.protected_tag_keys },
                // Any partition: "each of the six colon-delimited components of the ARN is
                // checked separately and each can include a multi-character match wildcard"
                // (ArnLike), so one policy serves `aws`, `aws-cn` and `aws-us-gov`.
                "ArnNotLike": { "aws:PrincipalARN": [
                    format!("arn:*:iam::*:role/{TERRAFORM_APPLY_ROLE}"),
                    format!("arn:*:iam::*:role/{}", config.access_role),
                ] }
            }
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}
