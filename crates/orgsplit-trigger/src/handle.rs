//! One event, one account: find what the OUs want, then reconcile the account.

use orgsplit_aws::Aws;
use orgsplit_model::Config;
use orgsplit_stacksets::Entry;
use orgsplit_stacksets::reconcile::{
    AccountReconcile, AdminLookup, ReconcileError, desired_with, reconcile_account,
};

use crate::event::{AccountEvent, Event};

/// What handling an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Ignored { why: String },
    Reconciled(Box<Reconciled>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub event: AccountEvent,
    pub report: AccountReconcile,
    /// Configured OUs that do not exist (yet).
    pub missing_ous: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("account {account}: {source}")]
    Reconcile {
        account: String,
        #[source]
        source: ReconcileError,
    },
}

/// Reconciles the account an event names. The admin account of an OU is taken from the
/// OU's deployed StackSet when it exists (no organization-wide listing for one event).
pub async fn handle(
    aws: &Aws,
    config: &Config,
    catalog: &[Entry],
    event: &Event,
) -> Result<Handled, TriggerError> {
    let event = match event {
        Event::Ignored { why } => return Ok(Handled::Ignored { why: why.clone() }),
        Event::Account(e) => e,
    };
    let fail = |source: ReconcileError| TriggerError::Reconcile {
        account: event.account_id.clone(),
        source,
    };
    let (caller, _) = aws.caller().await.map_err(|e| fail(ReconcileError::from(e)))?;
    let mgmt = aws.session(&caller).await.map_err(|e| fail(ReconcileError::from(e)))?;
    let region = aws.options().region.clone();
    let wanted = desired_with(&mgmt, &region, config, catalog, AdminLookup::DeployedFirst)
        .await
        .map_err(fail)?;
    let report = reconcile_account(aws, &wanted.ous, &event.account_id).await.map_err(fail)?;
    Ok(Handled::Reconciled(Box::new(Reconciled {
        event: event.clone(),
        report,
        missing_ous: wanted.missing,
    })))
}
