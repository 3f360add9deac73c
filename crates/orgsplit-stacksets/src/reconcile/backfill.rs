//! Backfill: every account of the reconciled OUs against its OU's StackSets, in a bounded
//! number of StackSet operations.
//!
//! CloudFormation runs the operations on one StackSet one after another, so one operation per
//! account makes a backfill of 800 accounts take hours. Here each StackSet is read once
//! (`ListStackInstances`, all accounts), and the accounts of its OU that lack a CURRENT
//! instance get them in one `CreateStackInstances` per [`ACCOUNTS_PER_OPERATION`] accounts
//! (the OU as target, the accounts with `AccountFilterType` INTERSECTION, the StackSet's
//! operation preferences deciding how many at once). An account that still holds an instance
//! of another OU's StackSet (it moved) is handled as `reconcile --account` would, one by one:
//! that is the rare case. Then every account's roles are read back, as for one account.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_cloudformation::types::{AccountFilterType, CallAs, DeploymentTargets};
use orgsplit_aws::{AccountSession, Aws, call_error, every_page};

use super::instances::{remove_instances, sdk_preferences};
use super::stackset::{StackSetChange, ensure_stackset};
use super::trust::verify_trust;
use super::wait::{Busy, OperationScope, wait_operation};
use super::{AccountReconcile, DesiredStackSet, OuStackSets, ReconcileError, accounts_of};

/// Accounts named in one `CreateStackInstances`. The API documents no limit on
/// `DeploymentTargets.Accounts` (it offers `AccountsUrl` for "many" accounts); 500 account ids
/// keep a request small.
pub const ACCOUNTS_PER_OPERATION: usize = 500;

/// What a backfill did: one report per account, and the StackSet operations it started.
#[derive(Debug, Default)]
pub struct Backfill {
    pub accounts: Vec<AccountReconcile>,
    /// `CreateStackInstances` operations started (per StackSet and region, at most
    /// `ceil(missing / ACCOUNTS_PER_OPERATION)`).
    pub operations: usize,
    /// Accounts that failed, with why; the others are reported.
    pub failed: Vec<(String, String)>,
}

/// Backfills the OUs of `desired` (only `only_ou`, by name, when given).
pub async fn backfill(
    aws: &Aws,
    desired: &[OuStackSets],
    only_ou: Option<&str>,
) -> Result<Backfill, ReconcileError> {
    let region = aws.options().region.clone();
    let (mgmt_id, _) = aws.caller().await?;
    let mgmt = aws.session(&mgmt_id).await?;
    let mut out = Backfill::default();
    for ou in desired.iter().filter(|o| only_ou.is_none_or(|n| n == o.ou_name)) {
        let accounts: Vec<String> =
            accounts_of(&mgmt, &ou.ou_id).await?.into_iter().filter(|a| *a != mgmt_id).collect();
        if accounts.is_empty() {
            // Nothing to deploy to: the StackSet is made with the OU's first account.
            continue;
        }
        let mut reports: BTreeMap<String, AccountReconcile> = accounts
            .iter()
            .map(|a| {
                let report = AccountReconcile {
                    account_id: a.clone(),
                    ou_name: Some(ou.ou_name.clone()),
                    ..Default::default()
                };
                (a.clone(), report)
            })
            .collect();
        // Accounts that still hold another OU's instances: one by one, first.
        for other in desired.iter().filter(|o| o.ou_id != ou.ou_id) {
            for s in &other.stacksets {
                let holders = instance_accounts(&mgmt, &region, &s.name).await?;
                for account in accounts.iter().filter(|a| holders.contains_key(*a)) {
                    let removed = remove_instances(
                        &mgmt,
                        &region,
                        &s.name,
                        &other.ou_id,
                        account,
                        &s.operation,
                    )
                    .await?;
                    let report = reports.get_mut(account).expect("an account of the OU");
                    report
                        .instances_removed
                        .extend(removed.iter().map(|r| format!("{} {r}", s.name)));
                }
            }
        }
        for s in &ou.stacksets {
            let change = ensure_stackset(&mgmt, &region, s).await?.change;
            if let Some(first) = accounts.first().and_then(|a| reports.get_mut(a)) {
                match change {
                    StackSetChange::Created => first.stacksets_created.push(s.name.clone()),
                    StackSetChange::Updated(_) => first.stacksets_updated.push(s.name.clone()),
                    StackSetChange::Unchanged => {}
                }
            }
            let current = instance_accounts(&mgmt, &region, &s.name).await?;
            let missing: Vec<&String> = accounts
                .iter()
                .filter(|a| {
                    let have = current.get(*a);
                    !s.regions.iter().all(|r| have.is_some_and(|h| h.contains(r)))
                })
                .collect();
            for chunk in missing.chunks(ACCOUNTS_PER_OPERATION) {
                create_for(&mgmt, &region, s, &ou.ou_id, chunk).await?;
                out.operations += 1;
            }
            let after = instance_accounts(&mgmt, &region, &s.name).await?;
            for account in &missing {
                let report = reports.get_mut(*account).expect("an account of the OU");
                for r in &s.regions {
                    if after.get(*account).is_some_and(|h| h.contains(r)) {
                        report.instances_created.push(format!("{} {r}", s.name));
                    }
                }
            }
        }
        // Every account's roles, read back in the account.
        for (account, mut report) in reports {
            let mut verified = Ok(());
            for s in &ou.stacksets {
                let trust_region = s.regions.first().map_or(region.as_str(), String::as_str);
                match verify_trust(
                    aws,
                    &account,
                    &s.name,
                    &s.template_body,
                    &s.parameters,
                    trust_region,
                )
                .await
                {
                    Ok(roles) => report
                        .roles_verified
                        .extend(roles.iter().map(|r| format!("{} {r}", s.name))),
                    Err(e) => {
                        verified = Err(e.to_string());
                        break;
                    }
                }
            }
            match verified {
                Ok(()) => out.accounts.push(report),
                Err(why) => out.failed.push((account, why)),
            }
        }
    }
    Ok(out)
}

/// The accounts with a CURRENT instance of `stackset`, with the regions they have one in.
async fn instance_accounts(
    mgmt: &AccountSession,
    region: &str,
    stackset: &str,
) -> Result<BTreeMap<String, BTreeSet<String>>, ReconcileError> {
    let cfn = mgmt.cloudformation(region);
    let request = cfn.list_stack_instances().stack_set_name(stackset).call_as(CallAs::SelfValue);
    let summaries = match every_page!(request, summaries) {
        Ok(s) => s,
        Err(e) => {
            let e = mgmt.error_of("cloudformation", "ListStackInstances", region)(e);
            return if e.is_not_found() { Ok(BTreeMap::new()) } else { Err(e.into()) };
        }
    };
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in summaries.iter().filter(|s| s.status().is_some_and(|x| x.as_str() == "CURRENT")) {
        if let (Some(account), Some(r)) = (s.account(), s.region()) {
            out.entry(account.to_string()).or_default().insert(r.to_string());
        }
    }
    Ok(out)
}

/// One `CreateStackInstances` for `accounts` of OU `ou_id`, waited for.
async fn create_for(
    mgmt: &AccountSession,
    region: &str,
    s: &DesiredStackSet,
    ou_id: &str,
    accounts: &[&String],
) -> Result<(), ReconcileError> {
    let cfn = mgmt.cloudformation(region);
    let scope = OperationScope { account: &mgmt.account_id, region, stackset: &s.name };
    let targets = DeploymentTargets::builder()
        .organizational_unit_ids(ou_id)
        .set_accounts(Some(accounts.iter().map(|a| a.to_string()).collect()))
        .account_filter_type(AccountFilterType::Intersection)
        .build();
    let mut busy = Busy::new();
    loop {
        let sent = cfn
            .create_stack_instances()
            .stack_set_name(&s.name)
            .deployment_targets(targets.clone())
            .set_regions(Some(s.regions.clone()))
            .operation_preferences(sdk_preferences(&s.operation))
            .call_as(CallAs::SelfValue)
            .send()
            .await
            .map_err(|e| {
                call_error("cloudformation", "CreateStackInstances", &mgmt.account_id, region, e)
            });
        let Some(started) = busy.attempt(&scope, "the backfill", sent).await? else {
            continue;
        };
        let operation_id = started.operation_id().unwrap_or_default().to_string();
        return wait_operation(&cfn, &scope, &operation_id, None).await;
    }
}
