//! One StackSet in the management account: created when missing, updated only where it
//! differs from what is wanted, read back after either.

use super::wait::{OperationScope, start_when_free, wait_operation};
use super::{DesiredStackSet, ReconcileError};
use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::types::{
    AutoDeployment, CallAs, Capability, Parameter, PermissionModels, StackSet,
};
use orgsplit_aws::{AccountSession, call_error};
use std::collections::{BTreeMap, BTreeSet};

/// What `ensure_stackset` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackSetChange {
    Created,
    /// Updated; the fields that differed.
    Updated(Vec<&'static str>),
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredStackSet {
    pub id: String,
    pub change: StackSetChange,
}

/// The StackSet as it is, or None when there is none of that name.
pub async fn describe(
    cfn: &Client,
    mgmt: &AccountSession,
    region: &str,
    name: &str,
) -> Result<Option<StackSet>, ReconcileError> {
    let result =
        cfn.describe_stack_set().stack_set_name(name).call_as(CallAs::SelfValue).send().await;
    match result {
        Ok(out) => Ok(out.stack_set().cloned()),
        Err(e) => {
            let e = call_error("cloudformation", "DescribeStackSet", &mgmt.account_id, region, e);
            if e.is_not_found() { Ok(None) } else { Err(e.into()) }
        }
    }
}

/// A StackSet's parameters as name -> value.
pub fn parameters_of(s: &StackSet) -> BTreeMap<String, String> {
    s.parameters()
        .iter()
        .filter_map(|p| Some((p.parameter_key()?.to_string(), p.parameter_value()?.to_string())))
        .collect()
}

/// Makes the StackSet `desired.name` (SERVICE_MANAGED, in `region` of the management
/// account) match `desired`, then reads it back.
pub async fn ensure_stackset(
    mgmt: &AccountSession,
    region: &str,
    desired: &DesiredStackSet,
) -> Result<EnsuredStackSet, ReconcileError> {
    let cfn = mgmt.cloudformation(region);
    let change = match describe(&cfn, mgmt, region, &desired.name).await? {
        None => {
            create(&cfn, mgmt, region, desired).await?;
            StackSetChange::Created
        }
        Some(live) => {
            check_permission_model(&live, desired)?;
            let differs = differences(&live, desired);
            if differs.is_empty() {
                return Ok(EnsuredStackSet {
                    id: live.stack_set_id().unwrap_or(&desired.name).to_string(),
                    change: StackSetChange::Unchanged,
                });
            }
            update(&cfn, mgmt, region, desired).await?;
            StackSetChange::Updated(differs)
        }
    };
    let after = describe(&cfn, mgmt, region, &desired.name).await?.ok_or_else(|| {
        verify(desired, "existence", "no StackSet of that name after it was written")
    })?;
    if let Some(field) = differences(&after, desired).first() {
        return Err(verify(desired, field, "differs from what was written"));
    }
    Ok(EnsuredStackSet { id: after.stack_set_id().unwrap_or(&desired.name).to_string(), change })
}

fn verify(desired: &DesiredStackSet, field: &str, message: &str) -> ReconcileError {
    ReconcileError::Verify(format!("StackSet {}: {field} {message}", desired.name))
}

/// A self-managed StackSet of the same name cannot be turned into a service-managed one
/// while it has instances: a person decides what to do with it.
fn check_permission_model(
    live: &StackSet,
    desired: &DesiredStackSet,
) -> Result<(), ReconcileError> {
    match live.permission_model() {
        Some(PermissionModels::SelfManaged) => Err(ReconcileError::Conflict(format!(
            "StackSet {} exists with the SELF_MANAGED permission model; orgsplit deploys SERVICE_MANAGED StackSets (delete or rename it)",
            desired.name
        ))),
        _ => Ok(()),
    }
}

/// The fields in which the live StackSet differs from `desired`.
pub fn differences(live: &StackSet, desired: &DesiredStackSet) -> Vec<&'static str> {
    let mut out = Vec::new();
    if live.template_body() != Some(desired.template_body.as_str()) {
        out.push("template body");
    }
    if live.description().unwrap_or_default() != desired.description {
        out.push("description");
    }
    // Only the parameters orgsplit sets: AWS may list template defaults beside them.
    let params = parameters_of(live);
    if desired.parameters.iter().any(|(k, v)| params.get(k) != Some(v)) {
        out.push("parameters");
    }
    // AWS refuses a StackSet whose template creates named IAM roles without
    // CAPABILITY_NAMED_IAM, so a StackSet with the same template that reports no
    // capabilities at all has them; an endpoint that does not report them (the emulator)
    // must not cause an update on every run.
    let live_caps: BTreeSet<&str> = live.capabilities().iter().map(Capability::as_str).collect();
    let want_caps: BTreeSet<&str> = desired.capabilities.iter().map(String::as_str).collect();
    if !live_caps.is_empty() && live_caps != want_caps {
        out.push("capabilities");
    }
    // Likewise: AWS always reports AutoDeployment for a SERVICE_MANAGED StackSet.
    if let Some(auto) = live.auto_deployment() {
        let enabled = auto.enabled() == Some(true);
        let retains = auto.retain_stacks_on_account_removal() == Some(true);
        if enabled != desired.auto_deployment || (enabled && retains) {
            out.push("auto-deployment");
        }
    }
    out
}

fn sdk_parameters(desired: &DesiredStackSet) -> Vec<Parameter> {
    desired
        .parameters
        .iter()
        .map(|(k, v)| Parameter::builder().parameter_key(k).parameter_value(v).build())
        .collect()
}

fn sdk_capabilities(desired: &DesiredStackSet) -> Vec<Capability> {
    desired.capabilities.iter().map(|c| Capability::from(c.as_str())).collect()
}

/// Accounts leaving the OU lose their stacks (RetainStacksOnAccountRemoval false): that is
/// what makes a moved account stop trusting its old OU's admin.
fn auto_deployment(desired: &DesiredStackSet) -> AutoDeployment {
    let b = AutoDeployment::builder().enabled(desired.auto_deployment);
    if desired.auto_deployment {
        b.retain_stacks_on_account_removal(false).build()
    } else {
        b.build()
    }
}

/// CreateStackSet and UpdateStackSet take the same members: an update sets them all again.
macro_rules! stackset_members {
    ($request:expr, $desired:expr) => {{
        let desired: &DesiredStackSet = $desired;
        $request
            .stack_set_name(&desired.name)
            .description(&desired.description)
            .template_body(&desired.template_body)
            .set_parameters(Some(sdk_parameters(desired)))
            .set_capabilities(Some(sdk_capabilities(desired)))
            .permission_model(PermissionModels::ServiceManaged)
            .auto_deployment(auto_deployment(desired))
            .call_as(CallAs::SelfValue)
    }};
}

async fn create(
    cfn: &Client,
    mgmt: &AccountSession,
    region: &str,
    desired: &DesiredStackSet,
) -> Result<(), ReconcileError> {
    stackset_members!(cfn.create_stack_set(), desired)
        .send()
        .await
        .map_err(|e| call_error("cloudformation", "CreateStackSet", &mgmt.account_id, region, e))?;
    Ok(())
}

/// UpdateStackSet re-deploys every instance with the new template and parameters.
async fn update(
    cfn: &Client,
    mgmt: &AccountSession,
    region: &str,
    desired: &DesiredStackSet,
) -> Result<(), ReconcileError> {
    let scope = OperationScope { account: &mgmt.account_id, region, stackset: &desired.name };
    let out = start_when_free(&scope, "the update", || async {
        let request = stackset_members!(cfn.update_stack_set(), desired);
        let request =
            request.operation_preferences(super::instances::sdk_preferences(&desired.operation));
        request.send().await.map_err(|e| {
            call_error("cloudformation", "UpdateStackSet", &mgmt.account_id, region, e)
        })
    })
    .await?;
    let operation_id = out.operation_id().unwrap_or_default().to_string();
    wait_operation(cfn, &scope, &operation_id, None).await
}
