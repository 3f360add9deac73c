//! A StackSet's instances in one account: created where missing, removed where the account
//! no longer belongs, each operation followed to its end and read back.
//!
//! SERVICE_MANAGED StackSets take OU targets, never bare account ids (AWS: "For create and
//! delete operations, specify OrganizationalUnitIds"); one account of an OU is reached with
//! `DeploymentTargets {OrganizationalUnitIds: [ou], Accounts: [account],
//! AccountFilterType: INTERSECTION}`.

use super::ReconcileError;
use super::wait::{Busy, OperationScope, wait_operation};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_stack_instances::CreateStackInstancesOutput;
use aws_sdk_cloudformation::operation::delete_stack_instances::DeleteStackInstancesOutput;
use aws_sdk_cloudformation::types::{
    AccountFilterType, CallAs, ConcurrencyMode, DeploymentTargets, RegionConcurrencyType,
    StackInstanceStatus, StackSetOperationPreferences,
};
use orgsplit_aws::{AccountSession, AwsError, ErrorClass, call_error, every_page};
use orgsplit_model::stackset::OperationPreferences;
use std::collections::BTreeSet;

/// One stack instance of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub region: String,
    /// CURRENT, OUTDATED or INOPERABLE.
    pub status: String,
    pub status_reason: Option<String>,
    /// The OU the instance was deployed through (AWS reports it; the emulator does not).
    pub ou_id: Option<String>,
}

impl Instance {
    pub fn is_current(&self) -> bool {
        self.status == StackInstanceStatus::Current.as_str()
    }
}

/// Where instances go: one account of one OU, in some regions.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub stackset: &'a str,
    pub ou_id: &'a str,
    pub account: &'a str,
    pub regions: &'a [String],
    pub operation: &'a OperationPreferences,
}

/// The StackSet's instances in `account` (none when the StackSet does not exist).
pub async fn list_instances(
    cfn: &Client,
    mgmt: &AccountSession,
    region: &str,
    stackset: &str,
    account: &str,
) -> Result<Vec<Instance>, ReconcileError> {
    let request = cfn
        .list_stack_instances()
        .stack_set_name(stackset)
        .stack_instance_account(account)
        .call_as(CallAs::SelfValue);
    let summaries = match every_page!(request, summaries) {
        Ok(summaries) => summaries,
        Err(e) => {
            let e = mgmt.error_of("cloudformation", "ListStackInstances", region)(e);
            return if e.is_not_found() { Ok(Vec::new()) } else { Err(e.into()) };
        }
    };
    // Filtered again here: not every endpoint honours StackInstanceAccount.
    Ok(summaries
        .iter()
        .filter(|s| s.account() == Some(account))
        .map(|s| Instance {
            region: s.region().unwrap_or_default().to_string(),
            status: s.status().map(|x| x.as_str().to_string()).unwrap_or_default(),
            status_reason: s.status_reason().map(str::to_string),
            ou_id: s.organizational_unit_id().map(str::to_string),
        })
        .collect())
}

fn one_account_of(ou_id: &str, account: &str) -> DeploymentTargets {
    DeploymentTargets::builder()
        .organizational_unit_ids(ou_id)
        .accounts(account)
        .account_filter_type(AccountFilterType::Intersection)
        .build()
}

/// The regions of `target` whose instance is missing or not CURRENT.
fn wanting(instances: &[Instance], regions: &[String]) -> Vec<String> {
    regions
        .iter()
        .filter(|r| !instances.iter().any(|i| &i.region == *r && i.is_current()))
        .cloned()
        .collect()
}

/// Makes `target.account` have a CURRENT instance of `target.stackset` in every region of
/// `target.regions`; returns the regions it created (or re-deployed) them in. The account
/// must already be in `target.ou_id`: AWS deploys nothing to an account outside it.
/// Conflicts read past before one is an error.
const CONFLICT_RETRIES: u64 = 5;

pub async fn ensure_instances(
    mgmt: &AccountSession,
    region: &str,
    target: Target<'_>,
) -> Result<Vec<String>, ReconcileError> {
    let cfn = mgmt.cloudformation(region);
    let scope = OperationScope { account: &mgmt.account_id, region, stackset: target.stackset };
    let mut busy = Busy::new();
    let mut conflicts = 0;
    loop {
        let before = list_instances(&cfn, mgmt, region, target.stackset, target.account).await?;
        let missing = wanting(&before, target.regions);
        if missing.is_empty() {
            return Ok(Vec::new());
        }
        let sent = create(&cfn, &scope, target, &missing).await;
        // A reconcile running at once (two events for one account; on the emulator, any
        // account of the OU: docs/emulator-gaps.md) may have created what this call also
        // creates: read the state again before calling it a failure.
        let sent = match sent {
            Err(e) if e.class() == ErrorClass::Conflict && conflicts < CONFLICT_RETRIES => {
                conflicts += 1;
                tracing::info!(stackset = target.stackset, account = target.account, error = %e, "instance creation conflicted; reading the state again");
                tokio::time::sleep(std::time::Duration::from_millis(500 * conflicts)).await;
                continue;
            }
            other => other,
        };
        let Some(out) = busy.attempt(&scope, "the instance creation", sent).await? else {
            continue;
        };
        let operation_id = out.operation_id().unwrap_or_default().to_string();
        wait_operation(&cfn, &scope, &operation_id, Some(target.account)).await?;
        let after = list_instances(&cfn, mgmt, region, target.stackset, target.account).await?;
        check_created(&after, target)?;
        return Ok(missing);
    }
}

/// An instance that exists but is not CURRENT (a failed or interrupted deployment) is
/// deployed again by the same call.
async fn create(
    cfn: &Client,
    scope: &OperationScope<'_>,
    target: Target<'_>,
    regions: &[String],
) -> Result<CreateStackInstancesOutput, AwsError> {
    cfn.create_stack_instances()
        .stack_set_name(target.stackset)
        .deployment_targets(one_account_of(target.ou_id, target.account))
        .set_regions(Some(regions.to_vec()))
        .operation_preferences(sdk_preferences(target.operation))
        .call_as(CallAs::SelfValue)
        .send()
        .await
        .map_err(|e| {
            call_error("cloudformation", "CreateStackInstances", scope.account, scope.region, e)
        })
}

fn check_created(after: &[Instance], target: Target<'_>) -> Result<(), ReconcileError> {
    let Some(r) = wanting(after, target.regions).into_iter().next() else {
        return Ok(());
    };
    let status = after
        .iter()
        .find(|i| i.region == r)
        .map(|i| {
            format!("{} ({})", i.status, i.status_reason.as_deref().unwrap_or("no reason given"))
        })
        .unwrap_or_else(|| "missing".into());
    Err(ReconcileError::Verify(format!(
        "StackSet {}: the instance in account {} region {r} is {status} after the operation succeeded (is the account in OU {}?)",
        target.stackset, target.account, target.ou_id
    )))
}

/// Removes every instance of `stackset` in `account` (the account left the StackSet's OU);
/// returns the regions removed. `ou_id` is the StackSet's OU, used when AWS does not say
/// which OU an instance was deployed through.
///
/// By OU targets only, through the OU each instance was deployed through (the one AWS
/// matches targets against, even after the account moved on), with `AccountFilterType`
/// INTERSECTION and the one account: SERVICE_MANAGED StackSets refuse deletion by account id
/// ("StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as
/// target", <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStackInstances.html>).
/// An instance still there after every such deletion succeeded is an error.
pub async fn remove_instances(
    mgmt: &AccountSession,
    region: &str,
    stackset: &str,
    ou_id: &str,
    account: &str,
    operation: &OperationPreferences,
) -> Result<Vec<String>, ReconcileError> {
    let cfn = mgmt.cloudformation(region);
    let scope = OperationScope { account: &mgmt.account_id, region, stackset };
    let mut busy = Busy::new();
    let mut removed: Vec<String> = Vec::new();
    let mut tried_ous: BTreeSet<String> = BTreeSet::new();
    loop {
        let left = list_instances(&cfn, mgmt, region, stackset, account).await?;
        let Some(first) = left.first() else {
            return Ok(removed);
        };
        for i in &left {
            if !removed.contains(&i.region) {
                removed.push(i.region.clone());
            }
        }
        let Some(ou) = left
            .iter()
            .map(|i| i.ou_id.as_deref().unwrap_or(ou_id))
            .find(|ou| !tried_ous.contains(*ou))
        else {
            return Err(ReconcileError::Verify(format!(
                "StackSet {stackset}: the instance in account {account} region {} is still there ({}) after its deletion succeeded",
                first.region, first.status
            )));
        };
        let stage_regions: Vec<String> = left
            .iter()
            .filter(|i| i.ou_id.as_deref().unwrap_or(ou_id) == ou)
            .map(|i| i.region.clone())
            .collect();
        let sent =
            delete(&cfn, &scope, one_account_of(ou, account), &stage_regions, operation).await;
        let Some(out) = busy.attempt(&scope, "the instance deletion", sent).await? else {
            continue;
        };
        let operation_id = out.operation_id().unwrap_or_default().to_string();
        wait_operation(&cfn, &scope, &operation_id, Some(account)).await?;
        tried_ous.insert(ou.to_string());
    }
}

/// One DeleteStackInstances by OU targets.
async fn delete(
    cfn: &Client,
    scope: &OperationScope<'_>,
    targets: DeploymentTargets,
    regions: &[String],
    operation: &OperationPreferences,
) -> Result<DeleteStackInstancesOutput, AwsError> {
    let call = cfn
        .delete_stack_instances()
        .stack_set_name(scope.stackset)
        .set_regions(Some(regions.to_vec()))
        .operation_preferences(sdk_preferences(operation))
        .retain_stacks(false)
        .call_as(CallAs::SelfValue)
        .deployment_targets(targets);
    call.send().await.map_err(|e| {
        call_error("cloudformation", "DeleteStackInstances", scope.account, scope.region, e)
    })
}

/// The SDK's form of the preferences.
pub(crate) fn sdk_preferences(p: &OperationPreferences) -> StackSetOperationPreferences {
    StackSetOperationPreferences::builder()
        .max_concurrent_percentage(i32::from(p.max_concurrent_percentage))
        .failure_tolerance_percentage(i32::from(p.failure_tolerance_percentage))
        .region_concurrency_type(RegionConcurrencyType::from(p.region_concurrency.as_str()))
        .concurrency_mode(ConcurrencyMode::from(p.concurrency_mode.as_str()))
        .build()
}
