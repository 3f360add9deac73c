//! The organization's one GitHub connection, which every new account's pipelines use
//! instead of a GitHub token, and its AWS RAM share with each of those accounts.
//!
//! AWS creates a connection PENDING and only a person can make it AVAILABLE, by completing
//! the GitHub handshake in the console ("Update a pending connection", Developer Tools
//! console guide). So the step creates it once, in its owner's account, then reports
//! `Waiting` with the console page until a later run finds it AVAILABLE. It always looks
//! the connection up by name first: a second run, or a run after a crash right after
//! CreateConnection, never creates another one. Only a `codeconnections` connection is
//! looked for, since only those can be shared.

use orgsplit_pipelines::connection::{ConnectionError, find_or_create};

use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::{Connection, ConnectionShare};

pub(super) use orgsplit_pipelines::connection::console_url;

fn step_error(e: ConnectionError) -> StepError {
    match e {
        ConnectionError::Aws(a) => StepError::Aws(a),
        other @ ConnectionError::Verify { .. } => StepError::Verify(other.to_string()),
    }
}

pub async fn run(cx: &StepContext, inputs: &Connection) -> Result<Outcome, StepError> {
    let name = inputs.name.as_str();
    let provider = inputs.provider_type.as_str();
    let client = cx.session().await?.codeconnections(cx.region());
    let (connection, _) =
        find_or_create(&client, &cx.step.account, cx.region(), name, provider, true)
            .await
            .map_err(step_error)?;
    let arn = connection.arn.clone();
    // The connection waits for a person, in the console of the step's account and region.
    let waiting = |what: String| Outcome::Waiting {
        message: format!(
            "connection {name} ({arn}) in account {} ({}) {what}",
            cx.step.account,
            cx.region()
        ),
        url: Some(console_url(cx.region())),
    };
    match connection.status.as_str() {
        "AVAILABLE" => Ok(Outcome::unchanged().with_output(OutputKey::ConnectionArn, arn)),
        "PENDING" => Ok(waiting(format!(
            "is PENDING: in the console, under Settings > Connections, choose it, then \"Update pending connection\" and complete the {provider} handshake; then run apply again"
        ))),
        // AWS retries a connection in ERROR by itself; it cannot be used until AVAILABLE.
        "ERROR" => Ok(waiting(format!(
            "is in ERROR: check its {provider} app installation in the console; run apply again once it is AVAILABLE"
        ))),
        other => Err(StepError::Failed(format!(
            "connection {name} ({arn}) in account {}: unexpected status {other:?}",
            cx.step.account
        ))),
    }
}

/// Shares the connection with one account (the step acts in the connection owner's account),
/// then reads the connection back from that account: the share is usable there.
pub async fn share(cx: &StepContext, inputs: &ConnectionShare) -> Result<Outcome, StepError> {
    let arn = cx.output(&inputs.connection, OutputKey::ConnectionArn).ok_or_else(|| {
        StepError::Failed(format!(
            "{} has not succeeded yet: the connection must exist before it is shared",
            inputs.connection
        ))
    })?;
    let account = inputs.account.as_str();
    if account == cx.step.account {
        // The owner uses its own connection.
        return Ok(Outcome::unchanged());
    }
    let ram = cx.session().await?.ram(cx.region());
    let shared = orgsplit_pipelines::share::ensure_shared(
        &ram,
        &cx.step.account,
        cx.region(),
        &inputs.share_name,
        &arn,
        account,
    )
    .await
    .map_err(step_error)?;
    let consumer = cx.aws.session(account).await?.codeconnections(cx.region());
    let readable =
        orgsplit_pipelines::share::wait_until_readable(&consumer, account, cx.region(), &arn)
            .await?;
    if !readable {
        return Err(StepError::Verify(format!(
            "account {account} does not read connection {arn} back through resource share {}",
            shared.share_arn
        )));
    }
    Ok(Outcome::changed(shared.changed))
}
