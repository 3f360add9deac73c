//! `stack-set` (one OU's StackSet in the management account) and `stack-set-instances`
//! (one account's instances, then the trust of every role the template names, read back
//! in that account). The work itself is `orgsplit_stacksets::reconcile`, which the
//! new-account trigger shares.

use super::support::{input_error, ou_id};
use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::{StackSet, StackSetInstances};
use orgsplit_stacksets::reconcile::{
    self, DesiredStackSet, ReconcileError, StackSetChange, Target,
};
use orgsplit_stacksets::template;
use std::collections::BTreeMap;

/// Trust and read-back failures are verification failures; the rest fail the step.
fn step_error(e: ReconcileError) -> StepError {
    match e {
        ReconcileError::Aws(e) => StepError::Aws(e),
        e @ (ReconcileError::Trust { .. } | ReconcileError::Verify(_)) => {
            StepError::Verify(e.to_string())
        }
        other => StepError::Failed(other.to_string()),
    }
}

/// Template parameters; every `${account:…}` must have been replaced by now.
fn parameters(inputs: &StackSet) -> Result<BTreeMap<String, String>, StepError> {
    for (k, v) in &inputs.parameters {
        if v.contains("${account:") {
            return Err(input_error(
                &format!("parameters.{k}"),
                format!("{v} names an account that does not exist yet"),
            ));
        }
    }
    Ok(inputs.parameters.clone())
}

fn desired(cx: &StepContext, inputs: &StackSet) -> Result<DesiredStackSet, StepError> {
    let model = inputs.permission_model.as_str();
    if model != "SERVICE_MANAGED" {
        return Err(input_error(
            "permission_model",
            format!("{model}: orgsplit deploys SERVICE_MANAGED StackSets only"),
        ));
    }
    let template_body = inputs.template_body.clone();
    // A template that cannot be read would only fail later, in every account.
    template::parse(&template_body).map_err(|e| input_error("template_body", e))?;
    Ok(DesiredStackSet {
        name: inputs.stackset_name.clone(),
        template_body,
        description: inputs.description.clone(),
        capabilities: inputs.capabilities.clone(),
        parameters: parameters(inputs)?,
        auto_deployment: inputs.auto_deployment,
        regions: vec![cx.region().to_string()],
        operation: inputs.operation,
    })
}

/// Creates the StackSet, or updates it where it differs; reads it back.
pub async fn stack_set(cx: &StepContext, inputs: &StackSet) -> Result<Outcome, StepError> {
    let desired = desired(cx, inputs)?;
    let mgmt = cx.session().await?;
    let ensured =
        reconcile::ensure_stackset(&mgmt, cx.region(), &desired).await.map_err(step_error)?;
    let changed = ensured.change != StackSetChange::Unchanged;
    Ok(Outcome::changed(changed).with_output(OutputKey::StacksetId, ensured.id))
}

/// Gives the account its instances of the StackSet, then checks the trust of every role
/// the StackSet's template names, in the account itself.
pub async fn instances(cx: &StepContext, inputs: &StackSetInstances) -> Result<Outcome, StepError> {
    let stackset = inputs.stackset_name.as_str();
    let account = inputs.account.as_str();
    let ou = inputs.ou.as_str();
    let regions = &inputs.regions;
    let Some(first_region) = regions.first() else {
        return Err(input_error("regions", "is empty"));
    };
    let region = cx.region();
    let mgmt = cx.session().await?;
    let cfn = mgmt.cloudformation(region);
    let live = reconcile::describe(&cfn, &mgmt, region, stackset)
        .await
        .map_err(step_error)?
        .ok_or_else(|| {
            StepError::Failed(format!(
                "StackSet {stackset} does not exist: its stack-set step must succeed first"
            ))
        })?;
    let ou_id = ou_id(cx, &mgmt, ou).await?;
    // AWS deploys nothing to an account outside the OU targeted (INTERSECTION); say so
    // before asking rather than after an operation that did nothing.
    let parent = reconcile::parent_of(&mgmt, account).await.map_err(step_error)?;
    if parent != ou_id {
        return Err(StepError::Failed(format!(
            "account {account} is in {parent}, not in OU {ou} ({ou_id}): its account-move step must succeed first"
        )));
    }
    let target = Target { stackset, ou_id: &ou_id, account, regions, operation: &inputs.operation };
    let created = reconcile::ensure_instances(&mgmt, region, target).await.map_err(step_error)?;
    let roles = reconcile::verify_trust(
        &cx.aws,
        account,
        stackset,
        live.template_body().unwrap_or_default(),
        &reconcile::parameters_of(&live),
        first_region,
    )
    .await
    .map_err(step_error)?;
    Ok(Outcome::changed(!created.is_empty())
        .with_output(OutputKey::Regions, regions.join(","))
        .with_output(OutputKey::RolesVerified, roles.join(",")))
}
