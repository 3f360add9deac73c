//! ECS services: the copy scaled to the source's desired count and waited for, then the
//! source scaled to zero (and back, on rollback). Only `desiredCount` is ever sent:
//! UpdateService leaves every member it is not given as it is (ECS API Reference,
//! UpdateService).
//!
//! "Steady" is the SDK's `services-stable` waiter's acceptor (exactly one deployment and
//! `runningCount == desiredCount`; failure when the service is DRAINING or INACTIVE:
//! <https://docs.aws.amazon.com/sdk-for-ruby/v3/api/Aws/ECS/Waiters/ServicesStable.html>),
//! plus that deployment being PRIMARY with a `rolloutState` of COMPLETED when it reports
//! one; a FAILED rollout (the deployment circuit breaker) ends the wait at once.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::Service;
use orgsplit_model::StepSpec;
use orgsplit_model::journal::OutputKey;
use serde_json::Value;
use std::time::{Duration, Instant};

use super::Phase;
use super::run::{Side, Switch};
use crate::context::{Outcome, StepError};

const ECS: &str = "ecs";

pub(super) async fn act(sw: &Switch) -> Result<Outcome, StepError> {
    let (cluster, name) = names(sw)?;
    let (cluster, name) = (cluster.as_str(), name.as_str());
    let region = sw.cx.region().to_string();
    let target = sw.cx.session().await?.ecs(&region);
    let source = sw.cx.source().await?.ecs(&region);
    match sw.phase {
        Phase::TargetUp => {
            let n = live(sw, &source, cluster, name, Side::Source).await?.desired_count();
            // A source at 0 whose copy runs was switched already: by a cutover of another
            // plan of the same organization (a re-plan after cutover), or by hand. Scaling
            // the copy to the source's 0 would stop the environment: the copy keeps its
            // count, and that is what a rollback would give back to the source.
            if n == 0 {
                let running = live(sw, &target, cluster, name, Side::Target).await?.desired_count();
                if running > 0 {
                    return Ok(Outcome::unchanged()
                        .with_output(OutputKey::DesiredCount, running.to_string()));
                }
            }
            let changed = scale(sw, &target, cluster, name, n, Side::Target).await?;
            wait_steady(sw, &target, cluster, name, Side::Target).await?;
            Ok(Outcome::changed(changed).with_output(OutputKey::DesiredCount, n.to_string()))
        }
        Phase::SourceDown => {
            Ok(Outcome::changed(scale(sw, &source, cluster, name, 0, Side::Source).await?))
        }
        Phase::SourceUp => {
            // The count cutover recorded; without one, cutover never scaled the source down
            // (that follows a recorded target-up), so its live count is still the one to keep.
            let n = match sw.forward.get(OutputKey::DesiredCount.as_str()) {
                Some(n) => n.parse::<i32>().map_err(|_| {
                    StepError::Failed(format!("the journal's desired count {n:?} is not a number"))
                })?,
                None => live(sw, &source, cluster, name, Side::Source).await?.desired_count(),
            };
            let changed = scale(sw, &source, cluster, name, n, Side::Source).await?;
            wait_steady(sw, &source, cluster, name, Side::Source).await?;
            Ok(Outcome::changed(changed).with_output(OutputKey::DesiredCount, n.to_string()))
        }
        Phase::TargetDown => {
            Ok(Outcome::changed(scale(sw, &target, cluster, name, 0, Side::Target).await?))
        }
        other => Err(StepError::Failed(format!("{} is not an ECS service action", other.as_str()))),
    }
}

/// The service's cluster (by name) and name, from the copy's inputs.
fn names(sw: &Switch) -> Result<(String, String), StepError> {
    let StepSpec::EcsService(inputs) = &sw.cx.step.spec else {
        return Err(StepError::Failed("not an ECS service copy".into()));
    };
    let config = &inputs.copy.config;
    let get = |k: &str| config.get(k).and_then(Value::as_str);
    let cluster = get("cluster").and_then(|c| c.rsplit('/').next());
    let name = get("serviceName");
    match (cluster, name) {
        (Some(c), Some(n)) => Ok((c.to_string(), n.to_string())),
        _ => Err(StepError::Input {
            field: "config.cluster, config.serviceName".into(),
            message: "missing".into(),
        }),
    }
}

/// The service's ACTIVE description; anything else (missing, DRAINING, INACTIVE) stops the
/// action: there is nothing to scale.
async fn live(
    sw: &Switch,
    ecs: &Client,
    cluster: &str,
    name: &str,
    side: Side,
) -> Result<Service, StepError> {
    let request = ecs.describe_services().cluster(cluster).services(name);
    let out =
        request.send().await.map_err(sw.cx.error_in(sw.account(side), ECS, "DescribeServices"))?;
    out.services()
        .iter()
        .find(|s| s.service_name() == Some(name) && s.status() == Some("ACTIVE"))
        .cloned()
        .ok_or_else(|| {
            StepError::Failed(format!(
                "ECS service {cluster}/{name} is not ACTIVE in account {}",
                sw.account(side)
            ))
        })
}

/// Sets the desired count when it differs; whether it did. A service whose last deployment
/// FAILED (the circuit breaker stopped launching its tasks) gets a new deployment with it
/// (`forceNewDeployment`): a changed count alone does not start one, and a run after the
/// cause was fixed must try again, not wait on the failed one.
async fn scale(
    sw: &Switch,
    ecs: &Client,
    cluster: &str,
    name: &str,
    count: i32,
    side: Side,
) -> Result<bool, StepError> {
    let service = live(sw, ecs, cluster, name, side).await?;
    let failed = count > 0 && matches!(steadiness(&service), Steadiness::Failed(_));
    if service.desired_count() == count && !failed {
        return Ok(false);
    }
    let request = ecs
        .update_service()
        .cluster(cluster)
        .service(name)
        .desired_count(count)
        .set_force_new_deployment(failed.then_some(true));
    request.send().await.map_err(sw.cx.error_in(sw.account(side), ECS, "UpdateService"))?;
    Ok(true)
}

/// Where a service stands in its deployment.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Steadiness {
    Steady,
    Moving(String),
    Failed(String),
}

pub(super) fn steadiness(s: &Service) -> Steadiness {
    if s.status() != Some("ACTIVE") {
        return Steadiness::Failed(format!("status {}", s.status().unwrap_or("unknown")));
    }
    let deployments = s.deployments();
    // Only the PRIMARY deployment's rollout counts: an older one may have FAILED before a
    // new deployment replaced it.
    if let Some(failed) = deployments.iter().find(|d| {
        d.status() == Some("PRIMARY") && d.rollout_state().map(|r| r.as_str()) == Some("FAILED")
    }) {
        return Steadiness::Failed(format!(
            "deployment {} FAILED: {}",
            failed.id().unwrap_or("?"),
            failed.rollout_state_reason().unwrap_or("no reason given")
        ));
    }
    let settled = deployments.len() == 1
        && deployments[0].status() == Some("PRIMARY")
        && deployments[0].rollout_state().is_none_or(|r| r.as_str() == "COMPLETED");
    if settled && s.running_count() == s.desired_count() {
        return Steadiness::Steady;
    }
    Steadiness::Moving(format!(
        "{}/{} tasks running, {} deployments",
        s.running_count(),
        s.desired_count(),
        deployments.len()
    ))
}

/// Reads the service until it is steady: every 1 s at first, backing off to
/// `options.max_poll`, for at most `options.steady_timeout`.
async fn wait_steady(
    sw: &Switch,
    ecs: &Client,
    cluster: &str,
    name: &str,
    side: Side,
) -> Result<(), StepError> {
    let started = Instant::now();
    let mut pause = Duration::from_secs(1);
    loop {
        let service = live(sw, ecs, cluster, name, side).await?;
        let why = match steadiness(&service) {
            Steadiness::Steady => return Ok(()),
            Steadiness::Failed(why) => {
                return Err(StepError::Failed(format!(
                    "ECS service {cluster}/{name} in account {} will not be steady: {why}",
                    sw.account(side)
                )));
            }
            Steadiness::Moving(why) => why,
        };
        if started.elapsed() + pause > sw.options.steady_timeout {
            return Err(StepError::Failed(format!(
                "ECS service {cluster}/{name} in account {} was not steady after {} s: {why}",
                sw.account(side),
                started.elapsed().as_secs()
            )));
        }
        sw.cx.waiting(format!("{cluster}/{name}: {why}"));
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(sw.options.max_poll);
    }
}
