//! Whether a CloudTrail trail delivers the Organizations events the trigger needs.
//!
//! `MoveAccount` (and the other Organizations API calls) reach EventBridge only as "AWS API
//! Call via CloudTrail" events, and only when a trail logs management events: "To record
//! events with a detail-type value of AWS API Call via CloudTrail, a CloudTrail trail with
//! logging enabled is required"
//! (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html>).
//! Organizations is a global service whose events are delivered in us-east-1 only
//! (<https://repost.aws/knowledge-center/use-eventbridge-rule-across-regions>),
//! so the trail must log there: a multi-Region trail, or one whose home Region is us-east-1,
//! that is logging and whose selectors include write management events.

use orgsplit_aws::{AccountSession, AwsError};

/// A trail that logs what the trigger needs, or why each trail seen does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailCheck {
    /// The trail's ARN.
    Logging(String),
    /// No trail does; one line per trail seen, saying why not.
    Missing(Vec<String>),
}

/// Looks at the trails visible in `region` (shadow trails included: a multi-Region trail made
/// elsewhere, an organization trail) for one that logs write management events there.
pub async fn check(mgmt: &AccountSession, region: &str) -> Result<TrailCheck, AwsError> {
    let ct = mgmt.cloudtrail(region);
    let trails = ct
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .map_err(mgmt.error_of("cloudtrail", "DescribeTrails", region))?;
    let mut why_not = Vec::new();
    for t in trails.trail_list() {
        let Some(arn) = t.trail_arn() else { continue };
        let name = t.name().unwrap_or(arn);
        let covers = t.is_multi_region_trail() == Some(true) || t.home_region() == Some(region);
        if !covers {
            why_not.push(format!(
                "{name}: a single-Region trail of {}",
                t.home_region().unwrap_or("?")
            ));
            continue;
        }
        let status = ct.get_trail_status().name(arn).send().await.map_err(mgmt.error_of(
            "cloudtrail",
            "GetTrailStatus",
            region,
        ))?;
        if status.is_logging() != Some(true) {
            why_not.push(format!("{name}: not logging (StartLogging)"));
            continue;
        }
        let selectors = ct
            .get_event_selectors()
            .trail_name(arn)
            .send()
            .await
            .map_err(mgmt.error_of("cloudtrail", "GetEventSelectors", region))?;
        let basic = selectors.event_selectors().iter().any(|s| {
            s.include_management_events() != Some(false)
                && s.read_write_type().is_none_or(|rw| rw.as_str() != "ReadOnly")
        });
        let advanced = selectors.advanced_event_selectors().iter().any(|s| {
            let fields = s.field_selectors();
            let management = fields.iter().any(|f| {
                f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management")
            });
            let read_only = fields
                .iter()
                .any(|f| f.field() == "readOnly" && f.equals().iter().any(|v| v == "true"));
            management && !read_only
        });
        if basic || advanced {
            return Ok(TrailCheck::Logging(arn.to_string()));
        }
        why_not.push(format!("{name}: its event selectors leave out write management events"));
    }
    Ok(TrailCheck::Missing(why_not))
}
