//! What `pipelines migrate` works on, read before anything is asked or changed: that the
//! pipelines named with `--pipeline` exist, and the connection of each region (given by
//! ARN, or found or created by name).

use orgsplit_aws::AccountSession;
use std::collections::BTreeMap;

use crate::PipelinesError;
use crate::connection::{self, ConnectionInfo};

/// Which connection the converted sources use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionChoice {
    /// `--connection-arn`: an existing connection.
    Arn(String),
    /// `--create-connection NAME`: found by name in each region, or created there.
    Create(String),
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
/// and `create` is false (a dry run).
pub async fn resolve_connections(
    session: &AccountSession,
    choice: &ConnectionChoice,
    regions: &[String],
    create: bool,
) -> Result<BTreeMap<String, Option<ConnectionInfo>>, PipelinesError> {
    let mut out = BTreeMap::new();
    for region in regions {
        let client = session.codestar_connections(region);
        let account = session.account_id.as_str();
        let found = match choice {
            ConnectionChoice::Arn(arn) => {
                let got = connection::get(&client, account, region, arn).await?;
                Some(got.ok_or_else(|| PipelinesError::Input {
                    what: format!("--connection-arn {arn}"),
                    message: format!("no such connection in account {account} ({region})"),
                })?)
            }
            ConnectionChoice::Create(name) if create => {
                Some(connection::find_or_create(&client, account, region, name, "GitHub").await?.0)
            }
            ConnectionChoice::Create(name) => {
                connection::find(&client, account, region, name, "GitHub").await?
            }
        };
        out.insert(region.clone(), found);
    }
    Ok(out)
}
