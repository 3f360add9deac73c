//! `orgsplit cleanup PLAN --ou NAME`: deletes from the shared (source) account what the OU's
//! apply copied, once its cutover is complete, each delete only after the copy verified equal
//! to its source at that moment.
//!
//! The removals are derived, never planned: one per source resource that an apply step of
//! the OU created or updated a copy of. Their order is the plan's reference graph read
//! backwards: a resource goes only after every resource that uses it (a role after the task
//! definitions that name it, a task definition after its services, rules and schedules). A
//! resource copied by several OUs (`shared`) goes only when every other of those OUs has
//! finished its cleanup: the last OU cleaned up deletes it. What cleanup never deletes is
//! listed as kept: KMS keys (deleting a key destroys access to what it encrypted), ECR
//! repositories (the registry stays), log groups without `--delete-logs`, and anything a
//! resource cleanup does not delete still uses.
//!
//! Architecture Invariant: cleanup writes only in the source account, and only to resources
//! the plan lists as copied by an apply step that succeeded; it never writes to a copy.

mod delete;
mod delete_ecs;
mod delete_iam;
mod run;
mod verify;

use orgsplit_model::journal::{JournalRecord, RunCommand, StepState, finished_runs};
use orgsplit_model::plan::ResourceEntry;
use orgsplit_model::{Action, Plan, ResourceKind, Step, StepKind};
use std::collections::{BTreeMap, BTreeSet};

pub use run::Cleanup;

use crate::{ApplyError, cutover, select};

/// Secrets Manager's default and allowed recovery windows (DeleteSecret,
/// `RecoveryWindowInDays`: "from 7 to 30 days. The default value is 30").
pub const DEFAULT_RECOVERY_WINDOW_DAYS: i64 = 30;
pub const RECOVERY_WINDOW_DAYS: std::ops::RangeInclusive<i64> = 7..=30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupOptions {
    pub delete_logs: bool,
    pub recovery_window_days: i64,
}

impl Default for CleanupOptions {
    fn default() -> Self {
        CleanupOptions { delete_logs: false, recovery_window_days: DEFAULT_RECOVERY_WINDOW_DAYS }
    }
}

/// What cleanup does with one source resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Verified, then deleted.
    Delete,
    /// Never deleted by cleanup: why.
    Keep(String),
    /// A shared resource whose other OUs are not cleaned up yet (their names), or one a
    /// waiting resource still uses.
    Later(String),
}

/// One source resource of the OU's cleanup.
#[derive(Debug, Clone, PartialEq)]
pub struct Removal {
    /// `cleanup/ARN`: one per source resource, whichever OU's cleanup deletes it.
    pub address: String,
    pub resource: ResourceEntry,
    /// Every apply step (of any OU) that copied it: each copy is verified before the delete.
    pub copies: Vec<Step>,
    /// Addresses of the removals that must be done first (the resource's users).
    pub after: Vec<String>,
    pub disposition: Disposition,
}

impl Removal {
    pub fn kind_label(&self) -> String {
        format!("{}:{}", self.resource.kind.as_str(), self.resource.name)
    }
}

/// The copy step kind cleanup deletes the source of.
fn deletes(kind: StepKind) -> bool {
    matches!(
        kind,
        StepKind::SsmParameter
            | StepKind::Secret
            | StepKind::IamPolicy
            | StepKind::IamRole
            | StepKind::LogGroup
            | StepKind::S3Bucket
            | StepKind::EcsCluster
            | StepKind::EcsTaskDefinition
            | StepKind::EcsService
            | StepKind::EventsRule
            | StepKind::Schedule
            | StepKind::CodeBuildProject
            | StepKind::Pipeline
    )
}

/// The removals of OU `ou`'s cleanup, users before what they use (ties by ARN).
pub fn removals(
    plan: &Plan,
    ou: &str,
    records: &[JournalRecord],
    options: CleanupOptions,
) -> Result<Vec<Removal>, ApplyError> {
    // A `no-op` copy step is a copy that was in place when the plan was made: its source
    // goes too, once verified (and `precheck_copies` checks that source for staleness).
    let copied = |a: Action| matches!(a, Action::Create | Action::Update | Action::NoOp);
    let mine: BTreeSet<&str> = select(plan, ou)?
        .into_iter()
        .filter(|s| copied(s.action))
        .map(|s| s.address.as_str())
        .collect();
    // Every copy step of the plan, with the OU it belongs to.
    let steps: BTreeMap<&str, (&str, &Step)> = plan
        .ous
        .iter()
        .flat_map(|o| {
            o.accounts.iter().flat_map(move |a| a.steps.iter().map(move |s| (o.name.as_str(), s)))
        })
        .map(|(o, s)| (s.address.as_str(), (o, s)))
        .collect();
    let resource_of: BTreeMap<&str, &ResourceEntry> =
        plan.resources.iter().flat_map(|r| r.steps.iter().map(move |a| (a.as_str(), r))).collect();
    let copies_of = |r: &ResourceEntry| -> Vec<(&str, &Step)> {
        r.steps
            .iter()
            .filter_map(|a| steps.get(a.as_str()).copied())
            .filter(|(_, s)| StepKind::copy_of(r.kind) == Some(s.kind()))
            .filter(|(_, s)| copied(s.action))
            .collect()
    };
    // Who uses a resource: the resources whose copy steps depend on its copy steps.
    let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, step) in steps.values() {
        let Some(user) = resource_of.get(step.address.as_str()) else { continue };
        for dep in &step.depends_on {
            if let Some(used) = resource_of.get(dep.as_str())
                && used.arn != user.arn
            {
                users.entry(used.arn.as_str()).or_default().insert(user.arn.as_str());
            }
        }
    }

    // A manual item (a service left in the shared account for want of a network, a rule a
    // person moves) has no dependencies in the plan (apply never runs it), but its inputs
    // name what it uses by ARN: that holds those resources as any user does.
    for (_, step) in steps.values().filter(|(_, s)| s.action == Action::Manual) {
        let Some(user) = resource_of.get(step.address.as_str()) else { continue };
        let inputs = serde_json::to_string(&step.spec).unwrap_or_default();
        for used in plan.resources.iter().filter(|r| r.arn != user.arn) {
            if arn_resource(&used.arn).is_some_and(|tail| inputs.contains(&format!(":{tail}"))) {
                users.entry(used.arn.as_str()).or_default().insert(user.arn.as_str());
            }
        }
    }

    let mut out: BTreeMap<&str, Removal> = BTreeMap::new();
    for r in &plan.resources {
        let copies = copies_of(r);
        let Some((_, first)) = copies.iter().find(|(_, s)| mine.contains(s.address.as_str()))
        else {
            continue;
        };
        let kind = first.kind();
        let disposition = if !deletes(kind) {
            Disposition::Keep(match r.kind {
                ResourceKind::KmsKey => "KMS key: deleting it destroys access to what it encrypted; schedule its deletion yourself (ScheduleKeyDeletion)".into(),
                ResourceKind::EcrRepository => "ECR repository: the organization keeps pulling from it".into(),
                _ => "not deleted by cleanup".into(),
            })
        } else if kind == StepKind::LogGroup && !options.delete_logs {
            Disposition::Keep("log group: kept (pass --delete-logs to delete)".into())
        } else {
            let waiting: BTreeSet<&str> = copies
                .iter()
                .map(|(o, _)| *o)
                .filter(|o| *o != ou && finished_runs(records, o, RunCommand::Cleanup) == 0)
                .collect();
            if waiting.is_empty() {
                Disposition::Delete
            } else {
                Disposition::Later(format!(
                    "shared: waits for the cleanup of OU {}",
                    waiting.into_iter().collect::<Vec<_>>().join(", ")
                ))
            }
        };
        out.insert(
            r.arn.as_str(),
            Removal {
                address: format!("cleanup/{}", r.arn),
                resource: r.clone(),
                copies: copies.iter().map(|(_, s)| (*s).clone()).collect(),
                after: Vec::new(),
                disposition,
            },
        );
    }
    let states = orgsplit_model::journal::fold(records);
    let gone = |arn: &str| {
        matches!(states.get(&format!("cleanup/{arn}")), Some(StepState::Succeeded { .. }))
    };
    // A resource goes after its users; one whose user stays for now (a shared resource
    // waiting for other OUs, or a resource this cleanup does not delete at all) stays too.
    // A user kept for good (a KMS key, a log group) holds nothing.
    let arns: Vec<&str> = out.keys().copied().collect();
    let order = users_first(&arns, &users);
    for arn in &order {
        let Some(used_by) = users.get(arn) else { continue };
        let mut after = Vec::new();
        let mut held = None;
        for user in used_by {
            match out.get(user) {
                Some(u) if u.disposition == Disposition::Delete => after.push(u.address.clone()),
                // Kept for its data (a KMS key's policy naming a role): it does not run, so
                // what it names can go.
                Some(u) if matches!(u.disposition, Disposition::Keep(_)) => {}
                Some(u) => {
                    held.get_or_insert_with(|| {
                        format!("still used by {}, which stays for now", u.kind_label())
                    });
                }
                // Another OU's, deleted by that OU's cleanup.
                None if gone(user) => {}
                None => {
                    held.get_or_insert_with(|| {
                        format!("still used by {user}, which this cleanup does not delete")
                    });
                }
            }
        }
        let removal = out.get_mut(arn).expect("derived above");
        removal.after = after;
        if let (Some(why), Disposition::Delete) = (held, &removal.disposition) {
            removal.disposition = Disposition::Later(why);
        }
    }
    Ok(order.into_iter().map(|a| out.remove(a).expect("derived above")).collect())
}

/// The resource part of an ARN (`task-definition/dev-api:2` of
/// `arn:aws:ecs:us-east-1:111111111111:task-definition/dev-api:2`): the same in the source's
/// ARN and in the copy's, which differ by account only.
fn arn_resource(arn: &str) -> Option<&str> {
    arn.splitn(6, ':').nth(5).filter(|tail| !tail.is_empty())
}

/// `arns` ordered so that each comes after every one of its users in `arns` (Kahn's
/// algorithm; ties in the order given).
fn users_first<'a>(arns: &[&'a str], users: &BTreeMap<&str, BTreeSet<&'a str>>) -> Vec<&'a str> {
    let set: BTreeSet<&str> = arns.iter().copied().collect();
    let mut pending: BTreeMap<&str, usize> = arns
        .iter()
        .map(|a| (*a, users.get(a).map_or(0, |u| u.iter().filter(|x| set.contains(*x)).count())))
        .collect();
    let mut order = Vec::with_capacity(arns.len());
    while order.len() < arns.len() {
        let Some(next) = arns.iter().find(|a| pending.get(*a) == Some(&0)).copied() else {
            // A cycle of uses (roles that trust each other): the rest in the order given.
            order.extend(arns.iter().filter(|a| pending.contains_key(*a)).copied());
            break;
        };
        pending.remove(next);
        order.push(next);
        for (a, count) in pending.iter_mut() {
            if users.get(a).is_some_and(|u| u.contains(next)) {
                *count -= 1;
            }
        }
    }
    order
}

/// Why cleanup of `ou` may not start: the OU is not fully applied, its cutover is not
/// complete (every action of its current generation succeeded), or a rollback is open.
pub fn check_ready(plan: &Plan, ou: &str, records: &[JournalRecord]) -> Result<(), ApplyError> {
    cutover::check_ready(plan, ou, RunCommand::Cutover, records)?;
    let states = orgsplit_model::journal::fold(records);
    let generation = cutover::generation(records, ou);
    let chains = cutover::chains(plan, ou, RunCommand::Cutover)?;
    let pending: Vec<String> = chains
        .iter()
        .flat_map(|c| c.phases.iter().map(|&p| c.address(RunCommand::Cutover, generation, p)))
        .filter(|a| !matches!(states.get(a), Some(StepState::Succeeded { .. })))
        .collect();
    if let Some(first) = pending.first() {
        return Err(ApplyError::NotCutOver {
            ou: ou.to_string(),
            pending: pending.len(),
            first: first.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
