//! `[connection]`: the one GitHub connection of the organization, its owner and name.
//!
//! A connection is global ("You only have to create a connection once, and then you can use
//! it in any AWS Region", Developer Tools console guide, "Global resources in AWS
//! CodeConnections") and a `codeconnections` one can be shared through AWS RAM ("Share
//! connections with AWS accounts"), so one connection, completed once in the console, serves
//! every account of the split.

use toml::Spanned;

use super::raw::RawConnection;
use super::validate::Cx;
use super::{ConfigError, ConnectionConfig, ConnectionOwner};
use crate::is_account_id;
use crate::quote::quote;

/// AWS RAM's service principal: its trusted access is "sharing with the organization", which
/// the connection's share needs.
pub const RAM_PRINCIPAL: &str = "ram.amazonaws.com";

/// The connection's name when the config gives none.
pub const DEFAULT_CONNECTION_NAME: &str = "orgsplit-github";

pub(super) fn connection(
    cx: &Cx<'_>,
    raw: Option<Spanned<RawConnection>>,
) -> Result<ConnectionConfig, ConfigError> {
    let Some(raw) = raw else {
        return Ok(ConnectionConfig {
            owner: ConnectionOwner::Management,
            name: DEFAULT_CONNECTION_NAME.into(),
        });
    };
    let raw = raw.into_inner();
    let owner = match &raw.owner {
        None => ConnectionOwner::Management,
        Some(o) => match o.get_ref().as_str() {
            "management" => ConnectionOwner::Management,
            "source" => ConnectionOwner::Source,
            id if is_account_id(id) => ConnectionOwner::Account(id.to_string()),
            other => {
                let mut e = cx.err(
                    o.span(),
                    "connection.owner",
                    format!(
                        "{} is neither \"management\", \"source\" nor an account id",
                        quote(other)
                    ),
                );
                e.hint =
                    Some("an account id has 12 digits, of an account in the organization".into());
                return Err(e);
            }
        },
    };
    let name = match &raw.name {
        None => DEFAULT_CONNECTION_NAME.to_string(),
        // CreateConnection's ConnectionName: 1 to 32 characters (CodeConnections API reference).
        Some(n) if n.get_ref().is_empty() || n.get_ref().chars().count() > 32 => {
            return Err(cx.err(
                n.span(),
                "connection.name",
                format!("{} is not 1 to 32 characters", quote(n.get_ref())),
            ));
        }
        Some(n) => n.get_ref().clone(),
    };
    Ok(ConnectionConfig { owner, name })
}
