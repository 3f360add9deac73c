//! Connections (AWS CodeConnections, formerly CodeStar Connections): looked up by name
//! before anything is created, created PENDING, and made AVAILABLE only by a person
//! completing the GitHub handshake in the console ("Update a pending connection", Developer
//! Tools console guide). Shared by apply's connection step and `pipelines migrate
//! --create-connection`.
//!
//! New connections are made with the CodeConnections API, so their ARNs are
//! `arn:aws:codeconnections:…`: only those can be shared through AWS RAM ("Connection sharing
//! is not supported for codestar-connections resources", "Share connections with AWS
//! accounts"). The same API reads and uses older `codestar-connections` ARNs. A connection is
//! global: made once, usable in every Region ("Global resources in AWS CodeConnections").

use aws_sdk_codeconnections::Client;
use aws_sdk_codeconnections::types::{Connection, ConnectionStatus, ProviderType};

use orgsplit_aws::{AwsError, call_error, every_page};

const CONNECTIONS: &str = "codeconnections";

/// Where pending connections are completed (documented without the region; the console
/// takes the usual `region` parameter to open the right one).
pub fn console_url(region: &str) -> String {
    format!("https://console.aws.amazon.com/codesuite/settings/connections?region={region}")
}

/// A connection as orgsplit needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConnectionInfo {
    pub arn: String,
    pub name: String,
    pub provider: String,
    /// `AVAILABLE`, `PENDING` or `ERROR`.
    pub status: String,
}

impl ConnectionInfo {
    pub fn is_available(&self) -> bool {
        self.status == ConnectionStatus::Available.as_str()
    }

    /// Whether AWS RAM can share it: a `codeconnections` ARN, not a `codestar-connections` one.
    pub fn is_shareable(&self) -> bool {
        is_shareable(&self.arn)
    }

    fn from_sdk(c: &Connection) -> Self {
        ConnectionInfo {
            arn: c.connection_arn().unwrap_or_default().to_string(),
            name: c.connection_name().unwrap_or_default().to_string(),
            provider: c.provider_type().map(|p| p.as_str().to_string()).unwrap_or_default(),
            status: c.connection_status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        }
    }
}

/// Why a connection could not be found or made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("{0}")]
    Aws(Box<AwsError>),
    #[error("connection {arn}: {message}")]
    Verify { arn: String, message: String },
}

impl From<AwsError> for ConnectionError {
    fn from(e: AwsError) -> Self {
        ConnectionError::Aws(Box::new(e))
    }
}

/// Whether AWS RAM can share the connection of that ARN.
pub fn is_shareable(arn: &str) -> bool {
    arn.split(':').nth(2) == Some("codeconnections")
}

/// The connection of that name and provider; when there are several (connections made by
/// hand can share a name), the most usable one, then the first by ARN. With `shareable`,
/// only `codeconnections` ones count.
pub async fn find(
    client: &Client,
    account: &str,
    region: &str,
    name: &str,
    provider: &str,
    shareable: bool,
) -> Result<Option<ConnectionInfo>, ConnectionError> {
    let request = client
        .list_connections()
        .provider_type_filter(ProviderType::from(provider))
        .max_results(100);
    let error_of = |e| call_error(CONNECTIONS, "ListConnections", account, region, e);
    let connections = every_page!(request, connections).map_err(error_of)?;
    let mut found: Vec<ConnectionInfo> = connections
        .iter()
        .filter(|c| c.connection_name() == Some(name))
        .map(ConnectionInfo::from_sdk)
        .filter(|c| !shareable || c.is_shareable())
        .collect();
    found.sort_by_key(|c| {
        let rank = match c.status.as_str() {
            "AVAILABLE" => 0,
            "PENDING" => 1,
            _ => 2,
        };
        (rank, c.arn.clone())
    });
    Ok(found.into_iter().next())
}

/// The connection with that ARN, `None` when there is none.
pub async fn get(
    client: &Client,
    account: &str,
    region: &str,
    arn: &str,
) -> Result<Option<ConnectionInfo>, ConnectionError> {
    match client.get_connection().connection_arn(arn).send().await {
        Ok(out) => Ok(out.connection().map(ConnectionInfo::from_sdk)),
        Err(e) => {
            let err = call_error(CONNECTIONS, "GetConnection", account, region, e);
            if err.is_not_found() { Ok(None) } else { Err(err.into()) }
        }
    }
}

/// Creates the connection and reads it back.
pub async fn create(
    client: &Client,
    account: &str,
    region: &str,
    name: &str,
    provider: &str,
) -> Result<ConnectionInfo, ConnectionError> {
    let out = client
        .create_connection()
        .connection_name(name)
        .provider_type(ProviderType::from(provider))
        .send()
        .await
        .map_err(|e| call_error(CONNECTIONS, "CreateConnection", account, region, e))?;
    let arn = out.connection_arn();
    let got = get(client, account, region, arn).await?.ok_or_else(|| ConnectionError::Verify {
        arn: arn.into(),
        message: "not there after CreateConnection".into(),
    })?;
    if got.name != name || got.provider != provider {
        return Err(ConnectionError::Verify {
            arn: arn.into(),
            message: format!(
                "read back as {} ({}), not {name} ({provider})",
                got.name, got.provider
            ),
        });
    }
    Ok(got)
}

/// The connection of that name, created when there is none (`shareable`: as [`find`]).
pub async fn find_or_create(
    client: &Client,
    account: &str,
    region: &str,
    name: &str,
    provider: &str,
    shareable: bool,
) -> Result<(ConnectionInfo, bool), ConnectionError> {
    match find(client, account, region, name, provider, shareable).await? {
        Some(c) => Ok((c, false)),
        None => Ok((create(client, account, region, name, provider).await?, true)),
    }
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

    #[test]
    fn only_codeconnections_arns_are_shareable() {
        assert!(is_shareable("arn:aws:codeconnections:us-east-1:111111111111:connection/x"));
        assert!(is_shareable("arn:aws-cn:codeconnections:cn-north-1:111111111111:connection/x"));
        assert!(!is_shareable("arn:aws:codestar-connections:us-east-1:111111111111:connection/x"));
    }
}
