//! The CodeStar connection a new account's pipelines use instead of a GitHub token.
//!
//! AWS creates a connection PENDING and only a person can make it AVAILABLE, by completing
//! the GitHub handshake in the console ("Update a pending connection", Developer Tools
//! console guide). So the step creates it once, then reports `Waiting` with the console
//! page until a later run finds it AVAILABLE. It always looks the connection up by name
//! first: a second run, or a run after a crash right after CreateConnection, never creates
//! another one.

use orgsplit_pipelines::connection::{ConnectionError, find_or_create};

use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::journal::OutputKey;
use orgsplit_model::step::Connection;

pub(super) use orgsplit_pipelines::connection::console_url;

pub async fn run(cx: &StepContext, inputs: &Connection) -> Result<Outcome, StepError> {
    let name = inputs.name.as_str();
    let provider = inputs.provider_type.as_str();
    let client = cx.session().await?.codestar_connections(cx.region());
    let (connection, _) = find_or_create(&client, &cx.step.account, cx.region(), name, provider)
        .await
        .map_err(|e| match e {
            ConnectionError::Aws(a) => StepError::Aws(a),
            other @ ConnectionError::Verify { .. } => StepError::Verify(other.to_string()),
        })?;
    let arn = connection.arn.clone();
    // The connection waits for a person, in the console of the step's account and region.
    let waiting = |what: String| Outcome::Waiting {
        message: format!(
            "CodeStar connection {name} ({arn}) in account {} ({}) {what}",
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
            "CodeStar connection {name} ({arn}) in account {}: unexpected status {other:?}",
            cx.step.account
        ))),
    }
}
