//! The CodeStar connection a new account's pipelines use instead of a GitHub token.
//!
//! AWS creates a connection PENDING and only a person can make it AVAILABLE, by completing
//! the GitHub handshake in the console ("Update a pending connection", Developer Tools
//! console guide). So the step creates it once, then reports `Waiting` with the console
//! page until a later run finds it AVAILABLE. It always looks the connection up by name
//! first: a second run, or a run after a crash right after CreateConnection, never creates
//! another one.

use aws_sdk_codestarconnections::Client;
use aws_sdk_codestarconnections::types::{Connection, ConnectionStatus, ProviderType};

use super::ecs::shared::aws_error;
use crate::context::{Outcome, StepContext, StepError};

const CONNECTIONS: &str = "codestar-connections";

/// Where pending connections are completed (documented without the region; the console
/// takes the usual `region` parameter to open the right one).
pub(super) fn console_url(region: &str) -> String {
    format!("https://console.aws.amazon.com/codesuite/settings/connections?region={region}")
}

pub async fn run(cx: &StepContext) -> Result<Outcome, StepError> {
    let name = cx.input_str("name")?;
    let provider = cx
        .inputs()
        .get("provider_type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("GitHub");
    let client = cx.session().await?.codestar_connections(cx.region());
    let connection = match find(cx, &client, name, provider).await? {
        Some(c) => c,
        None => create(cx, &client, name, provider).await?,
    };
    let arn = connection.connection_arn().unwrap_or_default().to_string();
    let status = connection.connection_status();
    match status {
        Some(ConnectionStatus::Available) => {
            Ok(Outcome::unchanged().with_output("connection_arn", arn))
        }
        Some(ConnectionStatus::Pending) => Ok(Outcome::Waiting {
            message: format!(
                "CodeStar connection {name} ({arn}) in account {} ({}) is PENDING: in the console, under Settings > Connections, choose it, then \"Update pending connection\" and complete the {provider} handshake; then run apply again",
                cx.step.account,
                cx.region()
            ),
            url: Some(console_url(cx.region())),
        }),
        // AWS retries a connection in ERROR by itself; it cannot be used until AVAILABLE.
        Some(ConnectionStatus::Error) => Ok(Outcome::Waiting {
            message: format!(
                "CodeStar connection {name} ({arn}) in account {} ({}) is in ERROR: check its {provider} app installation in the console; run apply again once it is AVAILABLE",
                cx.step.account,
                cx.region()
            ),
            url: Some(console_url(cx.region())),
        }),
        other => Err(StepError::Failed(format!(
            "CodeStar connection {name} ({arn}) in account {}: unexpected status {other:?}",
            cx.step.account
        ))),
    }
}

/// The connection of that name and provider; when there are several (connections made by
/// hand can share a name), the most usable one, then the first by ARN.
async fn find(
    cx: &StepContext,
    client: &Client,
    name: &str,
    provider: &str,
) -> Result<Option<Connection>, StepError> {
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_connections()
            .provider_type_filter(ProviderType::from(provider))
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws_error(cx, CONNECTIONS, "ListConnections", e))?;
        found.extend(
            page.connections()
                .iter()
                .filter(|c| c.connection_name() == Some(name))
                .cloned(),
        );
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    found.sort_by_key(|c| {
        let rank = match c.connection_status() {
            Some(ConnectionStatus::Available) => 0,
            Some(ConnectionStatus::Pending) => 1,
            _ => 2,
        };
        (rank, c.connection_arn().unwrap_or_default().to_string())
    });
    Ok(found.into_iter().next())
}

/// Creates the connection and reads it back.
async fn create(
    cx: &StepContext,
    client: &Client,
    name: &str,
    provider: &str,
) -> Result<Connection, StepError> {
    let out = client
        .create_connection()
        .connection_name(name)
        .provider_type(ProviderType::from(provider))
        .send()
        .await
        .map_err(|e| aws_error(cx, CONNECTIONS, "CreateConnection", e))?;
    let arn = out.connection_arn();
    let got = client
        .get_connection()
        .connection_arn(arn)
        .send()
        .await
        .map_err(|e| aws_error(cx, CONNECTIONS, "GetConnection", e))?;
    let connection = got.connection().cloned().ok_or_else(|| {
        StepError::Verify(format!(
            "connection {arn} is not there after CreateConnection"
        ))
    })?;
    if connection.connection_name() != Some(name)
        || connection.provider_type().map(|p| p.as_str()) != Some(provider)
    {
        return Err(StepError::Verify(format!(
            "connection {arn}: name or provider differs from the plan"
        )));
    }
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_url_names_the_region() {
        assert_eq!(
            console_url("eu-west-1"),
            "https://console.aws.amazon.com/codesuite/settings/connections?region=eu-west-1"
        );
    }
}
