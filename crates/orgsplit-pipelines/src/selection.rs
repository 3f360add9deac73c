//! What `pipelines migrate` works on, read before anything is asked or changed: that the
//! pipelines named with `--pipeline` exist, and the connection (given by ARN, or found or
//! created by name).

use orgsplit_aws::AccountSession;
use std::collections::BTreeMap;

use crate::PipelinesError;
use crate::connection::{self, ConnectionInfo};

/// Which connection the converted sources use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionChoice {
    /// `--connection-arn`: an existing connection.
    Arn(String),
    /// `--create-connection NAME`: found by name, or created (once: connections are global).
    Create(String),
    /// `--org-connection`: the organization's connection, in its owner's account, shared
    /// with the pipelines' account through AWS RAM (resolved by the command, which knows the
    /// owner).
    Organization,
}

/// Whether a pipeline of that name exists in one of `regions`.
pub async fn pipeline_exists(
    session: &AccountSession,
    regions: &[String],
    name: &str,
) -> Result<bool, PipelinesError> {
    for region in regions {
        let got = session.codepipeline(region).get_pipeline().name(name).send().await;
        match got {
            Ok(_) => return Ok(true),
            Err(e) => {
                let err = orgsplit_aws::call_error(
                    "codepipeline",
                    "GetPipeline",
                    &session.account_id,
                    region,
                    e,
                );
                if !err.is_not_found() {
                    return Err(err.into());
                }
            }
        }
    }
    Ok(false)
}

/// The connection of each region; `None` where a connection to create does not exist yet
/// and `create` is false (a dry run). A connection is global ("You only have to create a
/// connection once, and then you can use it in any AWS Region", Developer Tools console
/// guide), so one connection serves every region: it is read, or found or created, once, in
/// `home` (the config's home region). A connection of another account is usable when it is shared with this one
/// through AWS RAM: `GetConnection` finds it then, and only then.
pub async fn resolve_connections(
    session: &AccountSession,
    choice: &ConnectionChoice,
    regions: &[String],
    home: &str,
    create: bool,
) -> Result<BTreeMap<String, Option<ConnectionInfo>>, PipelinesError> {
    if regions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let region = home;
    let client = session.codeconnections(region);
    let account = session.account_id.as_str();
    let found = match choice {
        ConnectionChoice::Arn(arn) => {
            let got = connection::get(&client, account, region, arn).await?;
            Some(got.ok_or_else(|| PipelinesError::Input {
                what: format!("--connection-arn {arn}"),
                message: format!(
                    "no such connection in account {account}, nor one shared with it through AWS RAM"
                ),
            })?)
        }
        ConnectionChoice::Create(name) if create => Some(
            connection::find_or_create(&client, account, region, name, "GitHub", false).await?.0,
        ),
        ConnectionChoice::Create(name) => {
            connection::find(&client, account, region, name, "GitHub", false).await?
        }
        ConnectionChoice::Organization => {
            return Err(PipelinesError::Failed(
                "the organization's connection is resolved in its owner's account".into(),
            ));
        }
    };
    Ok(regions.iter().map(|r| (r.clone(), found.clone())).collect())
}
