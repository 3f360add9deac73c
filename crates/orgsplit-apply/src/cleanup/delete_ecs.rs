//! ECS deletes in the source account: services (at desired 0 after cutover) with
//! DeleteService, which leaves them DRAINING and then INACTIVE; task-definition revisions
//! deregistered (INACTIVE revisions "remain discoverable" and keep running tasks working,
//! Amazon ECS Developer Guide, "Deregistering a task definition revision"); clusters once no
//! ACTIVE or DRAINING service is left (else `ClusterContainsServicesException`).

use std::time::{Duration, Instant};

use super::delete::{Doomed, deleted, is_gone};
use crate::context::{Outcome, StepError};

const ECS: &str = "ecs";
/// How long a cluster delete waits for its services to finish DRAINING.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// `CLUSTER/SERVICE`, as the inventory names a service.
fn cluster_and_name<'a>(d: &'a Doomed<'_>) -> Result<(&'a str, &'a str), StepError> {
    d.name().split_once('/').ok_or_else(|| {
        StepError::Failed(format!("service name {} is not CLUSTER/SERVICE", d.name()))
    })
}

pub(super) async fn service(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let ecs = d.session.ecs(&d.region);
    let (cluster, name) = cluster_and_name(d)?;
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(name)
        .send()
        .await
        .map_err(|e| d.err(ECS, "DescribeServices", e))?;
    let Some(live) = out.services().first() else { return deleted(false) };
    match live.status() {
        Some("INACTIVE") | Some("DRAINING") | None => return deleted(false),
        _ => {}
    }
    if live.desired_count() > 0 {
        // Cutover scaled it to 0; a count again means someone runs it: not ours to stop.
        return Ok(Outcome::Waiting {
            message: format!(
                "service {} runs again in the shared account (desired {}): find out why, scale it to 0 or cut over again",
                d.name(),
                live.desired_count()
            ),
            url: None,
        });
    }
    ecs.delete_service()
        .cluster(cluster)
        .service(name)
        .send()
        .await
        .map_err(|e| d.err(ECS, "DeleteService", e))?;
    deleted(true)
}

/// The copied revision and every older ACTIVE revision of its family: the family is what
/// moved (a task definition's history is its revisions), and an older revision left ACTIVE
/// keeps the family listed in the shared account. A revision newer than the copied one was
/// registered after the plan: it was not copied, so the family stays until a re-plan.
pub(super) async fn task_definition(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let ecs = d.session.ecs(&d.region);
    let arn = d.resource.arn.as_str();
    let (family, copied) = family_and_revision(arn).ok_or_else(|| {
        StepError::Failed(format!("task definition {arn} is not FAMILY:REVISION"))
    })?;
    let listed = ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|e| d.err(ECS, "ListTaskDefinitions", e))?;
    // `familyPrefix` matches by prefix: keep this family's own revisions.
    let revisions: Vec<(&str, u32)> = listed
        .iter()
        .filter_map(|a| {
            family_and_revision(a).filter(|(f, _)| *f == family).map(|(_, r)| (a.as_str(), r))
        })
        .collect();
    if let Some((newer, _)) = revisions.iter().find(|(_, r)| *r > copied) {
        return Ok(Outcome::Waiting {
            message: format!(
                "{newer} was registered after the plan and was not copied: re-plan and apply, then cleanup"
            ),
            url: None,
        });
    }
    for (revision, _) in &revisions {
        ecs.deregister_task_definition()
            .task_definition(*revision)
            .send()
            .await
            .map_err(|e| d.err(ECS, "DeregisterTaskDefinition", e))?;
    }
    deleted(!revisions.is_empty())
}

/// `arn:…:task-definition/FAMILY:REVISION` -> (FAMILY, REVISION).
fn family_and_revision(arn: &str) -> Option<(&str, u32)> {
    let (family, revision) = arn.rsplit_once('/')?.1.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

pub(super) async fn cluster(d: &Doomed<'_>) -> Result<Outcome, StepError> {
    let ecs = d.session.ecs(&d.region);
    let started = Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        let out = ecs
            .describe_clusters()
            .clusters(d.name())
            .send()
            .await
            .map_err(|e| d.err(ECS, "DescribeClusters", e))?;
        let Some(live) = out.clusters().first().filter(|c| c.status() != Some("INACTIVE")) else {
            return deleted(false);
        };
        let (active, tasks) = (live.active_services_count(), live.running_tasks_count());
        if tasks > 0 && active == 0 {
            return Ok(Outcome::Waiting {
                message: format!(
                    "cluster {} still runs {tasks} tasks no copied service started: stop them, then run cleanup again",
                    d.name()
                ),
                url: None,
            });
        }
        if active == 0 {
            match ecs.delete_cluster().cluster(d.name()).send().await {
                Ok(_) => return deleted(true),
                Err(e) => match d.err(ECS, "DeleteCluster", e) {
                    e if is_gone(&e, &["ClusterNotFoundException"]) => return deleted(false),
                    e if is_gone(&e, &["ClusterContainsTasksException"]) => {
                        return Ok(Outcome::Waiting {
                            message: format!(
                                "cluster {} still runs tasks no copied service started (a manual item?): stop them, then run cleanup again",
                                d.name()
                            ),
                            url: None,
                        });
                    }
                    e if !is_gone(&e, &["ClusterContainsServicesException"]) => {
                        return Err(e.into());
                    }
                    _ => {}
                },
            }
        } else {
            let listed = ecs
                .list_services()
                .cluster(d.name())
                .max_results(10)
                .send()
                .await
                .map_err(|e| d.err(ECS, "ListServices", e))?;
            if let Some(other) = listed.service_arns().first() {
                return Ok(Outcome::Waiting {
                    message: format!(
                        "cluster {} still has service {other}, which this cleanup does not delete",
                        d.name()
                    ),
                    url: None,
                });
            }
        }
        // Services DRAINING after their delete: the cluster goes once they are INACTIVE.
        if started.elapsed() > DRAIN_TIMEOUT {
            return Err(StepError::Failed(format!(
                "cluster {} still has draining services after {} minutes: run cleanup again later",
                d.name(),
                DRAIN_TIMEOUT.as_secs() / 60
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(15));
    }
}
