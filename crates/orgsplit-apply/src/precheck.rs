//! Before any change: the caller and organization are the plan's, nothing is left
//! unclassified, and the live objects the OU's steps read still match the plan's
//! fingerprints (else "plan is stale: re-run plan").
//!
//! Changes this plan's own earlier applies made are not staleness: once the journal shows a
//! succeeded step that changed the organization (an OU, an account, the SCP), the
//! organization's fingerprint can no longer match and is not compared; each step checks the
//! live state before it acts instead. The same holds for a source-account object a
//! succeeded step changed (an ECR repository's policy), and for one cleanup deleted.

use orgsplit_aws::Aws;
use orgsplit_inventory::{InventoryOptions, collect_kinds, collect_organization};
use orgsplit_model::journal::StepState;
use orgsplit_model::plan::ResourceEntry;
use orgsplit_model::{Action, Plan, ResourceKind, StepKind};
use std::collections::{BTreeMap, BTreeSet};

use crate::{ApplyError, select};

/// The organization's key in `Plan::fingerprints`.
const ORGANIZATION_KEY: &str = "organization";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleObject {
    pub key: String,
    /// `changed` or `deleted`.
    pub change: &'static str,
}

/// What the checks found, for the confirmation summary.
#[derive(Debug, Clone, Default)]
pub struct Precheck {
    pub caller_arn: String,
    /// Live objects compared with the plan's fingerprints.
    pub compared: usize,
    /// Objects not compared because this plan's own apply changed them.
    pub changed_by_this_plan: Vec<String>,
}

/// What apply checks: the reads of the steps it will run. A step the journal shows succeeded
/// copies nothing more, so a source changed since its copy cannot make this run copy anything
/// stale (cleanup, which deletes that source, compares it again: [`precheck_copies`]). A
/// resumed run with every step done thus reads no source object again.
pub async fn precheck(
    aws: &Aws,
    plan: &Plan,
    ou: &str,
    journal: &BTreeMap<String, StepState>,
) -> Result<Precheck, ApplyError> {
    checked(aws, plan, ou, journal, Scope::StepsToRun).await
}

/// As [`precheck`], also comparing the sources of the OU's `no-op` copy steps: cleanup
/// deletes those sources too (their copies existed when the plan was made), so a source
/// changed since then must stop it as any other.
pub async fn precheck_copies(
    aws: &Aws,
    plan: &Plan,
    ou: &str,
    journal: &BTreeMap<String, StepState>,
) -> Result<Precheck, ApplyError> {
    checked(aws, plan, ou, journal, Scope::EveryCopy).await
}

/// Whose reads are compared with the plan's fingerprints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Apply: the steps not yet succeeded, manual items left out.
    StepsToRun,
    /// Cleanup: every copy, done or not, `no-op` ones included.
    EveryCopy,
}

async fn checked(
    aws: &Aws,
    plan: &Plan,
    ou: &str,
    journal: &BTreeMap<String, StepState>,
    scope: Scope,
) -> Result<Precheck, ApplyError> {
    let steps = select(plan, ou)?;
    let (caller, caller_arn) = aws.caller().await?;
    if caller != plan.management_account_id {
        return Err(ApplyError::WrongCaller {
            caller,
            expected: plan.management_account_id.clone(),
        });
    }
    if let Some(first) = plan.unclassified.first() {
        return Err(ApplyError::Unclassified {
            count: plan.unclassified.len(),
            first: first.arn.clone(),
        });
    }
    let mgmt = aws.session(&caller).await?;
    let org = collect_organization(&mgmt).await?;
    if org.id != plan.organization_id {
        return Err(ApplyError::WrongOrganization {
            actual: org.id,
            expected: plan.organization_id.clone(),
        });
    }

    let changed_by_plan = changed_by_this_plan(plan, journal);
    let mut report = Precheck { caller_arn, ..Precheck::default() };
    let mut stale = Vec::new();
    // Manual items are done by a person; only what apply itself acts on must be current.
    let reads: BTreeSet<&str> = steps
        .iter()
        .filter(|s| match (scope, s.action) {
            (_, Action::Manual) => false,
            (Scope::EveryCopy, _) => true,
            (Scope::StepsToRun, Action::NoOp) => false,
            (Scope::StepsToRun, _) => {
                !matches!(journal.get(&s.address), Some(StepState::Succeeded { .. }))
            }
        })
        .flat_map(|s| s.read_keys())
        .collect();
    for key in &reads {
        if changed_by_plan.contains(*key) {
            report.changed_by_this_plan.push(key.to_string());
        }
    }
    if reads.contains(ORGANIZATION_KEY) && !changed_by_plan.contains(ORGANIZATION_KEY) {
        report.compared += 1;
        if plan.fingerprints.get(ORGANIZATION_KEY) != Some(&org.fingerprint()) {
            stale.push(StaleObject { key: ORGANIZATION_KEY.into(), change: "changed" });
        }
    }
    let resources: BTreeSet<&str> = reads
        .iter()
        .copied()
        .filter(|k| *k != ORGANIZATION_KEY && !changed_by_plan.contains(*k))
        .collect();
    if !resources.is_empty() {
        // Only the kinds and Regions of what the OU's steps copy are read again, and no
        // bucket's objects are listed (their count is no part of a fingerprint).
        let read: Vec<&ResourceEntry> =
            plan.resources.iter().filter(|r| resources.contains(r.arn.as_str())).collect();
        let kinds: BTreeSet<ResourceKind> = read.iter().map(|r| r.kind).collect();
        // A secret's replicas are listed in their own Regions, and a primary's fingerprint
        // covers where they are: secrets are read in every Region of the plan.
        let regions: Vec<String> = plan
            .regions
            .iter()
            .filter(|region| {
                kinds.contains(&ResourceKind::Secret)
                    || read.iter().any(|r| r.region.as_ref() == Some(*region))
            })
            .cloned()
            .collect();
        let source = aws.session(&plan.source_account_id).await?;
        let opts = InventoryOptions {
            source_account_id: plan.source_account_id.clone(),
            home_region: plan.home_region.clone(),
            regions,
            created_at: String::new(),
            count_objects: false,
        };
        let live = collect_kinds(&source, &opts, &kinds).await?;
        let live: BTreeMap<&str, &str> =
            live.iter().map(|r| (r.arn.as_str(), r.fingerprint.as_str())).collect();
        for key in resources {
            report.compared += 1;
            match (live.get(key), plan.fingerprints.get(key)) {
                (None, _) => stale.push(StaleObject { key: key.to_string(), change: "deleted" }),
                (Some(now), Some(then)) if now == then => {}
                _ => stale.push(StaleObject { key: key.to_string(), change: "changed" }),
            }
        }
    }
    if !stale.is_empty() {
        return Err(ApplyError::Stale { objects: stale });
    }
    Ok(report)
}

/// Live objects this plan's earlier applies changed, per the journal.
fn changed_by_this_plan(plan: &Plan, journal: &BTreeMap<String, StepState>) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for step in plan.steps() {
        let changed = match journal.get(&step.address) {
            Some(StepState::Succeeded { changed, .. }) => *changed,
            // Interrupted or failed: it may have changed something before it stopped.
            Some(StepState::Interrupted | StepState::Failed { .. }) => true,
            _ => false,
        };
        if !changed {
            continue;
        }
        if matches!(
            step.kind(),
            StepKind::OrgTrustedAccess
                | StepKind::Scp
                | StepKind::Ou
                | StepKind::ScpAttachment
                | StepKind::Account
                | StepKind::AccountMove
        ) {
            keys.insert(ORGANIZATION_KEY.to_string());
        }
        if step.account == plan.source_account_id {
            keys.extend(step.read_keys().map(str::to_string));
        }
    }
    // A source a cleanup of this plan deleted, or may have (interrupted, failed), is gone by
    // this plan's own hand (`cleanup/ARN`). Removing a secret's replica changes its primary
    // (the Regions it replicates to are part of the primary's fingerprint): the primary and
    // its replicas, one secret name in the source account, go together (found by the crash
    // suite: a cleanup killed between a replica's removal and its primary's delete was
    // refused as stale ever after).
    for (address, state) in journal {
        if let Some(arn) = address.strip_prefix("cleanup/")
            && matches!(
                state,
                StepState::Succeeded { .. } | StepState::Interrupted | StepState::Failed { .. }
            )
        {
            keys.insert(arn.to_string());
            if let Some(secret) = plan.resources.iter().find(|r| r.arn == arn)
                && secret.kind == ResourceKind::Secret
            {
                keys.extend(
                    plan.resources
                        .iter()
                        .filter(|r| r.kind == ResourceKind::Secret && r.name == secret.name)
                        .map(|r| r.arn.clone()),
                );
            }
        }
    }
    keys
}
