//! `orgsplit pipelines scan | migrate | rollback`: one module each, the shared argument
//! handling here.

mod run_migrate;
mod run_rollback;
mod run_scan;

use orgsplit_aws::{AccountSession, Aws};
use orgsplit_model::{Config, Secret};
use orgsplit_pipelines::PipelinesError;
use orgsplit_pipelines::connection::{self, ConnectionInfo};
use orgsplit_pipelines::grant::arn_region;
use orgsplit_pipelines::migrate::{self, Migrated, SavedDeclaration};
use orgsplit_pipelines::scan::{self, PipelineScan, StateReport, StateSource};
use orgsplit_pipelines::selection::{self, ConnectionChoice};
use orgsplit_pipelines::tfstate::{TokenForm, TokenMatcher};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{GlobalArgs, Output, PipelinesCommand};
use crate::context;
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

use self::run_migrate::migrate_cmd;
use self::run_rollback::rollback_cmd;
use self::run_scan::scan_cmd;

pub async fn run(
    g: &GlobalArgs,
    command: PipelinesCommand,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    match command {
        PipelinesCommand::Scan { account, tfstates, token_env } => {
            scan_cmd(g, account, &tfstates, token_env.as_deref(), printer).await
        }
        PipelinesCommand::Migrate {
            account,
            connection_arn,
            create_connection,
            org_connection,
            pipelines,
            dry_run,
            yes,
        } => {
            let choice = match (connection_arn, create_connection, org_connection) {
                (Some(arn), _, _) => ConnectionChoice::Arn(arn),
                (None, Some(name), _) => ConnectionChoice::Create(name),
                (None, None, true) => ConnectionChoice::Organization,
                (None, None, false) => {
                    return Err(CliError::invalid(
                        "pipelines migrate: --connection-arn ARN, --create-connection NAME or --org-connection is required",
                    ));
                }
            };
            migrate_cmd(g, account, choice, &pipelines, dry_run, yes, printer).await
        }
        PipelinesCommand::Rollback { account, pipeline, token_env } => {
            rollback_cmd(g, account, &pipeline, &token_env, printer).await
        }
    }
}

fn pipelines_error(e: PipelinesError) -> CliError {
    match e {
        PipelinesError::Aws(a) => (*a).into(),
        e @ PipelinesError::Input { .. } => CliError::invalid(e.to_string()),
        e @ PipelinesError::Refused(_) => CliError::refused(e.to_string()),
        e => CliError::failure(e.to_string()),
    }
}

fn account_arg(account: Option<String>, config: &Config) -> Result<String, CliError> {
    let account = account.unwrap_or_else(|| config.source_account_id.clone());
    context::check_account_ids(std::slice::from_ref(&account))?;
    Ok(account)
}

/// The token in `VAR`, never shown.
fn token_from_env(var: &str) -> Result<Secret, CliError> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
        Ok(_) => Err(CliError::invalid(format!("--token-env {var}: the variable is empty"))),
        Err(_) => Err(CliError::invalid(format!("--token-env {var}: the variable is not set"))
            .hint(format!("export {var} with the GitHub token (it is never printed)"))),
    }
}

/// Where migrate saves declarations and rollback reads them: `plans/pipelines/` beside
/// the config.
fn save_dir(config: &Config) -> PathBuf {
    config
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("plans")
        .join("pipelines")
}

async fn session(aws: &Aws, account: &str) -> Result<AccountSession, CliError> {
    Ok(aws.session(account).await?)
}
