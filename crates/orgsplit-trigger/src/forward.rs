//! Control Tower's lifecycle events, forwarded from Control Tower's home Region to us-east-1.
//!
//! Control Tower delivers `CreateManagedAccount` and `UpdateManagedAccount` in its home Region,
//! where the landing zone runs (Control Tower User Guide, "Lifecycle events"), while the
//! trigger's rule lives in us-east-1, where Organizations' events arrive. When the config
//! names another Control Tower home Region (`[trigger] control_tower_home_region`), a rule
//! there sends those events to us-east-1's default event bus, where the trigger's rule
//! matches them like any other. A rule whose target is an event bus in another Region needs
//! an execution role allowed `events:PutEvents` on that bus ("Route cross-Region events":
//! <https://repost.aws/knowledge-center/eventbridge-centralized-bus-to-bus>; "We recommend
//! always using IAM roles when the target of a rule is an event bus", EventBridge User
//! Guide, "Permissions for event buses").
//!
//! Each piece is read first and written only when missing or different, as `install` does.

use orgsplit_aws::policy::policy_document;
use orgsplit_aws::{AccountSession, call_error};
use serde_json::{Value, json};

use crate::event::CONTROL_TOWER_EVENTS;
use crate::install::{EVENTS_REGION, InstallError, ensure_rule, ensure_target};

pub const FORWARD_RULE_NAME: &str = "orgsplit-control-tower-forward";
pub const FORWARD_ROLE_NAME: &str = "orgsplit-control-tower-forward";
pub const FORWARD_POLICY_NAME: &str = "put-events-us-east-1";
pub const FORWARD_TARGET_ID: &str = "orgsplit-us-east-1-bus";

/// What `forward` changed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Forwarded {
    pub region: String,
    pub rule_arn: String,
    pub role_arn: String,
    pub role_written: bool,
    pub rule_written: bool,
    pub target_written: bool,
}

impl Forwarded {
    pub fn changed(&self) -> bool {
        self.role_written || self.rule_written || self.target_written
    }
}

/// The forwarding rule's pattern: Control Tower's lifecycle events the trigger handles.
pub fn forward_pattern() -> Value {
    json!({
        "source": ["aws.controltower"],
        "detail-type": ["AWS Service Event via CloudTrail"],
        "detail": {"eventName": CONTROL_TOWER_EVENTS}
    })
}

/// us-east-1's default event bus in the management account.
pub fn events_bus_arn(partition: &str, account: &str) -> String {
    format!("arn:{partition}:events:{EVENTS_REGION}:{account}:event-bus/default")
}

/// The execution role's trust: EventBridge, for rules of this account only.
pub fn role_trust(account: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}}
    }]})
}

/// The execution role's one permission: put events on us-east-1's default bus.
pub fn role_policy(bus_arn: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": bus_arn
    }]})
}

/// Makes (or repairs) the forwarding rule in `region`, its target (us-east-1's default bus)
/// and the target's execution role.
pub async fn forward(mgmt: &AccountSession, region: &str) -> Result<Forwarded, InstallError> {
    let account = mgmt.account_id.as_str();
    let bus = events_bus_arn(&mgmt.partition, account);
    let mut out = Forwarded { region: region.to_string(), ..Forwarded::default() };
    (out.role_arn, out.role_written) = ensure_role(mgmt, &bus).await?;

    let events = mgmt.events(region);
    let pattern = forward_pattern();
    (out.rule_arn, out.rule_written) = ensure_rule(
        &events,
        account,
        region,
        FORWARD_RULE_NAME,
        &pattern,
        "orgsplit: forward Control Tower's account events to us-east-1, where the new-account trigger's rule is",
    )
    .await?;
    out.target_written = ensure_target(
        &events,
        account,
        region,
        FORWARD_RULE_NAME,
        FORWARD_TARGET_ID,
        &bus,
        Some(&out.role_arn),
    )
    .await?;
    Ok(out)
}

/// The execution role with its trust and its one inline policy, made or repaired: its ARN
/// and whether anything was written.
async fn ensure_role(mgmt: &AccountSession, bus: &str) -> Result<(String, bool), InstallError> {
    let account = mgmt.account_id.as_str();
    let home = mgmt.home_region();
    let iam = mgmt.iam();
    let trust = role_trust(account);
    let mut written = false;
    let role = match iam.get_role().role_name(FORWARD_ROLE_NAME).send().await {
        Ok(r) => r.role,
        Err(e) => {
            let err = call_error("iam", "GetRole", account, &home, e);
            if !err.is_not_found() {
                return Err(err.into());
            }
            None
        }
    };
    let arn = match role {
        Some(role) => {
            let live = role.assume_role_policy_document().map(policy_document);
            if live.as_ref() != Some(&trust) {
                iam.update_assume_role_policy()
                    .role_name(FORWARD_ROLE_NAME)
                    .policy_document(trust.to_string())
                    .send()
                    .await
                    .map_err(|e| call_error("iam", "UpdateAssumeRolePolicy", account, &home, e))?;
                written = true;
            }
            role.arn
        }
        None => {
            let made = iam
                .create_role()
                .role_name(FORWARD_ROLE_NAME)
                .assume_role_policy_document(trust.to_string())
                .description("orgsplit: lets EventBridge forward Control Tower's account events to us-east-1")
                .send()
                .await
                .map_err(|e| call_error("iam", "CreateRole", account, &home, e))?;
            written = true;
            made.role.map(|r| r.arn).unwrap_or_default()
        }
    };
    let want = role_policy(bus);
    let live = match iam
        .get_role_policy()
        .role_name(FORWARD_ROLE_NAME)
        .policy_name(FORWARD_POLICY_NAME)
        .send()
        .await
    {
        Ok(p) => Some(policy_document(p.policy_document())),
        Err(e) => {
            let err = call_error("iam", "GetRolePolicy", account, &home, e);
            if !err.is_not_found() {
                return Err(err.into());
            }
            None
        }
    };
    if live.as_ref() != Some(&want) {
        iam.put_role_policy()
            .role_name(FORWARD_ROLE_NAME)
            .policy_name(FORWARD_POLICY_NAME)
            .policy_document(want.to_string())
            .send()
            .await
            .map_err(|e| call_error("iam", "PutRolePolicy", account, &home, e))?;
        written = true;
    }
    Ok((arn, written))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forward_pattern_names_exactly_control_towers_events() {
        let p = forward_pattern();
        assert_eq!(p["source"], json!(["aws.controltower"]));
        assert_eq!(
            p["detail"]["eventName"],
            json!(["CreateManagedAccount", "UpdateManagedAccount"])
        );
    }

    #[test]
    fn the_role_may_only_put_events_on_us_east_1s_default_bus() {
        let bus = events_bus_arn("aws-cn", "123456789012");
        assert_eq!(bus, "arn:aws-cn:events:us-east-1:123456789012:event-bus/default");
        assert_eq!(role_policy(&bus)["Statement"][0]["Resource"], json!(bus));
        assert_eq!(role_policy(&bus)["Statement"][0]["Action"], json!("events:PutEvents"));
        assert_eq!(
            role_trust("123456789012")["Statement"][0]["Principal"]["Service"],
            json!("events.amazonaws.com")
        );
    }

    #[test]
    fn the_shipped_template_makes_the_same_rule_target_and_role() {
        let t = orgsplit_stacksets::template::parse(
            orgsplit_stacksets::TRIGGER_CONTROL_TOWER_FORWARD_TEMPLATE,
        )
        .unwrap();
        let rule = &t["Resources"]["ForwardRule"]["Properties"];
        assert_eq!(rule["Name"], json!(FORWARD_RULE_NAME));
        assert_eq!(rule["EventPattern"], forward_pattern());
        assert_eq!(rule["Targets"][0]["Id"], json!(FORWARD_TARGET_ID));
        let role = &t["Resources"]["ForwardRole"]["Properties"];
        assert_eq!(role["RoleName"], json!(FORWARD_ROLE_NAME));
        assert_eq!(role["Policies"][0]["PolicyName"], json!(FORWARD_POLICY_NAME));
        assert_eq!(
            role["Policies"][0]["PolicyDocument"]["Statement"][0]["Action"],
            role_policy("x")["Statement"][0]["Action"]
        );
        assert_eq!(
            role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
            role_trust("x")["Statement"][0]["Principal"]
        );
    }
}
