//! `orgsplit trigger install --target-arn ARN`: the EventBridge rule in the management
//! account, in us-east-1 whatever the home Region, that sends exactly the events the trigger
//! handles to a Lambda function or an SQS queue, and the permission that lets EventBridge
//! deliver there. Each piece is read first and written only when missing or different.

use orgsplit_aws::{AccountSession, call_error};
use serde_json::{Value, json};

use crate::event::{CONTROL_TOWER_EVENTS, ORGANIZATIONS_EVENTS};

pub const RULE_NAME: &str = "orgsplit-new-account";
/// Where Organizations' events reach EventBridge: global services deliver their events to
/// us-east-1 only, so a rule anywhere else never matches one
/// (<https://repost.aws/knowledge-center/use-eventbridge-rule-across-regions>).
pub const EVENTS_REGION: &str = "us-east-1";
pub const TARGET_ID: &str = "orgsplit-trigger";
/// The statement (queue policy) or statement id (function policy) orgsplit adds.
pub const PERMISSION_ID: &str = "orgsplit-trigger-events";
/// The queue policy statement's Sid (IAM policy Sids are letters and digits only).
pub const QUEUE_STATEMENT_ID: &str = "OrgsplitTriggerEvents";

/// The rule's event pattern: Organizations' and Control Tower's events of those names,
/// delivered through CloudTrail.
pub fn event_pattern() -> Value {
    let mut names: Vec<&str> = ORGANIZATIONS_EVENTS.to_vec();
    names.extend(CONTROL_TOWER_EVENTS);
    json!({
        "source": ["aws.organizations", "aws.controltower"],
        "detail-type": ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"],
        "detail": {"eventName": names}
    })
}

/// Where events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Lambda { arn: String },
    Sqs { arn: String, account: String, region: String, name: String },
}

impl Target {
    pub fn parse(arn: &str) -> Result<Target, String> {
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        if parts.len() < 6 || parts[0] != "arn" {
            return Err(format!("{arn}: not an ARN"));
        }
        match parts[2] {
            "lambda" if parts[5] == "function" && parts.len() >= 7 => {
                Ok(Target::Lambda { arn: arn.to_string() })
            }
            "sqs" => Ok(Target::Sqs {
                arn: arn.to_string(),
                account: parts[4].to_string(),
                region: parts[3].to_string(),
                name: parts[5].to_string(),
            }),
            _ => Err(format!(
                "{arn}: not a Lambda function or SQS queue ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME or arn:aws:sqs:REGION:ACCOUNT:NAME)"
            )),
        }
    }

    pub fn arn(&self) -> &str {
        match self {
            Target::Lambda { arn } | Target::Sqs { arn, .. } => arn,
        }
    }

    /// The Region the function or queue is in.
    pub fn region(&self) -> &str {
        self.arn().split(':').nth(3).unwrap_or_default()
    }
}

/// What `install` changed.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Installed {
    pub rule_arn: String,
    pub rule_written: bool,
    pub target_written: bool,
    pub permission_written: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("{0}")]
    Aws(Box<orgsplit_aws::AwsError>),
    #[error("{0}")]
    Target(String),
    /// The target is in a Region the rule cannot deliver from.
    #[error("{0}")]
    Region(String),
}

impl From<orgsplit_aws::AwsError> for InstallError {
    fn from(e: orgsplit_aws::AwsError) -> Self {
        InstallError::Aws(Box::new(e))
    }
}

/// Installs the rule in [`EVENTS_REGION`]. A rule's Lambda or SQS target must be in the rule's
/// Region (only event buses can be cross-Region targets), so a target elsewhere is refused.
pub async fn install(mgmt: &AccountSession, target: &Target) -> Result<Installed, InstallError> {
    let region = EVENTS_REGION;
    if target.region() != region {
        return Err(InstallError::Region(format!(
            "{} is in {}: Organizations' events reach EventBridge in {region} only, and a rule's function or queue must be in the rule's Region",
            target.arn(),
            target.region()
        )));
    }
    let account = mgmt.account_id.as_str();
    let events = mgmt.events(region);
    let pattern = event_pattern();
    let mut out = Installed::default();

    (out.rule_arn, out.rule_written) = ensure_rule(
        &events,
        account,
        region,
        RULE_NAME,
        &pattern,
        "orgsplit: reconcile an account with its OU's StackSets when it is created in or moved to an OU",
    )
    .await?;
    out.target_written =
        ensure_target(&events, account, region, RULE_NAME, TARGET_ID, target.arn(), None).await?;

    out.permission_written = match target {
        Target::Sqs { arn, account: queue_account, region: queue_region, name } => {
            if queue_account != account {
                tracing::warn!(queue = %arn, "the queue is in another account: its policy must let events.amazonaws.com send from {}", out.rule_arn);
                false
            } else {
                allow_queue(mgmt, queue_region, name, arn, &out.rule_arn).await?
            }
        }
        Target::Lambda { arn } => allow_lambda(mgmt, region, arn, &out.rule_arn).await?,
    };
    Ok(out)
}

/// The enabled rule `name` with `pattern`, read first and put only when missing, different
/// or disabled: its ARN and whether it was written.
pub(crate) async fn ensure_rule(
    events: &aws_sdk_eventbridge::Client,
    account: &str,
    region: &str,
    name: &str,
    pattern: &Value,
    description: &str,
) -> Result<(String, bool), InstallError> {
    let existing = match events.describe_rule().name(name).send().await {
        Ok(r) => Some(r),
        Err(e) => {
            let err = call_error("events", "DescribeRule", account, region, e);
            if !err.is_not_found() {
                return Err(err.into());
            }
            None
        }
    };
    let same = existing.as_ref().is_some_and(|r| {
        r.event_pattern().and_then(|p| serde_json::from_str::<Value>(p).ok()).as_ref()
            == Some(pattern)
            && r.state().map(|s| s.as_str()) == Some("ENABLED")
    });
    if let Some(arn) = existing.as_ref().and_then(|r| r.arn()).filter(|_| same) {
        return Ok((arn.to_string(), false));
    }
    let put = events
        .put_rule()
        .name(name)
        .event_pattern(pattern.to_string())
        .state(aws_sdk_eventbridge::types::RuleState::Enabled)
        .description(description)
        .send()
        .await
        .map_err(|e| call_error("events", "PutRule", account, region, e))?;
    Ok((put.rule_arn().unwrap_or_default().to_string(), true))
}

/// The rule's target `id` sending to `arn` (through `role_arn` when given), put only when
/// missing or different: whether it was written. PutTargets reports refusals per entry, in
/// a successful response, so those are errors too.
pub(crate) async fn ensure_target(
    events: &aws_sdk_eventbridge::Client,
    account: &str,
    region: &str,
    rule: &str,
    id: &str,
    arn: &str,
    role_arn: Option<&str>,
) -> Result<bool, InstallError> {
    let targets = events
        .list_targets_by_rule()
        .rule(rule)
        .send()
        .await
        .map_err(|e| call_error("events", "ListTargetsByRule", account, region, e))?;
    let in_place = targets
        .targets()
        .iter()
        .any(|t| t.id() == id && t.arn() == arn && t.role_arn() == role_arn);
    if in_place {
        return Ok(false);
    }
    let t = aws_sdk_eventbridge::types::Target::builder()
        .id(id)
        .arn(arn)
        .set_role_arn(role_arn.map(str::to_string))
        .build()
        .map_err(|e| InstallError::Target(e.to_string()))?;
    let put = events
        .put_targets()
        .rule(rule)
        .targets(t)
        .send()
        .await
        .map_err(|e| call_error("events", "PutTargets", account, region, e))?;
    if put.failed_entry_count() > 0 {
        let why: Vec<&str> =
            put.failed_entries().iter().filter_map(|f| f.error_message()).collect();
        return Err(InstallError::Target(format!(
            "PutTargets refused {arn} as {rule}'s target: {}",
            why.join("; ")
        )));
    }
    Ok(true)
}

/// The queue policy statement that lets the rule send messages.
pub fn queue_statement(queue_arn: &str, rule_arn: &str) -> Value {
    json!({
        "Sid": QUEUE_STATEMENT_ID,
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}
    })
}

async fn allow_queue(
    mgmt: &AccountSession,
    region: &str,
    name: &str,
    queue_arn: &str,
    rule_arn: &str,
) -> Result<bool, InstallError> {
    let account = mgmt.account_id.as_str();
    let sqs = mgmt.sqs(region);
    let url = sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| call_error("sqs", "GetQueueUrl", account, region, e))?
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::Policy)
        .send()
        .await
        .map_err(|e| call_error("sqs", "GetQueueAttributes", account, region, e))?;
    let mut policy: Value = attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::Policy))
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or_else(|| json!({"Version": "2012-10-17", "Statement": []}));
    let want = queue_statement(queue_arn, rule_arn);
    let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
    if statements.iter().any(|s| s == &want) {
        return Ok(false);
    }
    let mut kept: Vec<Value> = statements
        .into_iter()
        .filter(|s| s.get("Sid").and_then(Value::as_str) != Some(QUEUE_STATEMENT_ID))
        .collect();
    kept.push(want);
    policy["Statement"] = Value::Array(kept);
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .map_err(|e| call_error("sqs", "SetQueueAttributes", account, region, e))?;
    Ok(true)
}

async fn allow_lambda(
    mgmt: &AccountSession,
    region: &str,
    function_arn: &str,
    rule_arn: &str,
) -> Result<bool, InstallError> {
    let account = mgmt.account_id.as_str();
    let lambda = mgmt.lambda(region);
    let policy = match lambda.get_policy().function_name(function_arn).send().await {
        Ok(p) => {
            p.policy().and_then(|p| serde_json::from_str::<Value>(p).ok()).unwrap_or(Value::Null)
        }
        Err(e) => {
            let err = call_error("lambda", "GetPolicy", account, region, e);
            if !err.is_not_found() {
                return Err(err.into());
            }
            Value::Null
        }
    };
    let present = policy["Statement"].as_array().into_iter().flatten().any(|s| {
        s.get("Sid").and_then(Value::as_str) == Some(PERMISSION_ID)
            && s.to_string().contains(rule_arn)
    });
    if present {
        return Ok(false);
    }
    if policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| s.get("Sid").and_then(Value::as_str) == Some(PERMISSION_ID))
    {
        lambda
            .remove_permission()
            .function_name(function_arn)
            .statement_id(PERMISSION_ID)
            .send()
            .await
            .map_err(|e| call_error("lambda", "RemovePermission", account, region, e))?;
    }
    lambda
        .add_permission()
        .function_name(function_arn)
        .statement_id(PERMISSION_ID)
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .source_arn(rule_arn)
        .send()
        .await
        .map_err(|e| call_error("lambda", "AddPermission", account, region, e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_told_apart() {
        assert!(matches!(
            Target::parse("arn:aws:lambda:us-east-1:123456789012:function:orgsplit-trigger")
                .unwrap(),
            Target::Lambda { .. }
        ));
        assert_eq!(
            Target::parse("arn:aws:sqs:us-east-1:123456789012:orgsplit-events").unwrap(),
            Target::Sqs {
                arn: "arn:aws:sqs:us-east-1:123456789012:orgsplit-events".into(),
                account: "123456789012".into(),
                region: "us-east-1".into(),
                name: "orgsplit-events".into()
            }
        );
        assert!(Target::parse("arn:aws:sns:us-east-1:123456789012:t").is_err());
        assert!(Target::parse("orgsplit-events").is_err());
    }

    #[test]
    fn the_pattern_names_exactly_the_handled_events() {
        let p = event_pattern();
        assert_eq!(
            p["detail"]["eventName"],
            json!([
                "CreateAccountResult",
                "MoveAccount",
                "CreateManagedAccount",
                "UpdateManagedAccount"
            ])
        );
    }
}
