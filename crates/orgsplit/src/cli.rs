//! The command line: every command, its flags and arguments (README.md and `docs/`
//! describe them).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "orgsplit",
    version,
    about = "Split a shared AWS account into an AWS Organization, safely."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// AWS profile for the management account's credentials.
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,
    /// Region for Organizations and STS calls (default: the config's home_region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Endpoint for every AWS service (AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> also work).
    #[arg(long, global = true, value_name = "URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,
    /// The orgsplit configuration.
    #[arg(
        long,
        global = true,
        env = "ORGSPLIT_CONFIG",
        default_value = "orgsplit.toml",
        value_name = "PATH"
    )]
    pub config: PathBuf,
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// More logging on stderr (-v, -vv, -vvv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// No progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// `--endpoint-url`: `http://` or `https://`, a host (name, IPv4 or `[IPv6]`), an optional
/// port and path. Checked here so that a typo is one usage line (exit 2), not an SDK error
/// at the first call.
pub(crate) fn endpoint_url(value: &str) -> Result<String, String> {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or("an IPv6 host needs a closing ]")?;
            (host, after.strip_prefix(':'))
        }
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let host_ok = !host.is_empty()
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    if !host_ok {
        return Err("has no valid host name".into());
    }
    if let Some(p) = port
        && p.parse::<u16>().is_err()
    {
        return Err("has a port that is not a number from 0 to 65535".into());
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces".into());
    }
    Ok(value.to_string())
}

/// The environment the SDK reads by itself, checked like the flags: `AWS_ENDPOINT_URL` and
/// `AWS_ENDPOINT_URL_<SERVICE>` must be URLs.
pub fn check_environment() -> Result<(), crate::CliError> {
    for (key, value) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key == "AWS_ENDPOINT_URL" || key.starts_with("AWS_ENDPOINT_URL_") {
            let value = value.to_string_lossy();
            if let Err(why) = endpoint_url(&value) {
                return Err(crate::CliError::invalid(format!(
                    "environment variable {key}: {} {why}",
                    orgsplit_model::quote::quote(&value)
                ))
                .hint("unset it, or set it to an endpoint such as http://127.0.0.1:4566"));
            }
        }
    }
    Ok(())
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

/// `audit --fail-on`: the lowest severity that fails the run (info never does).
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    High,
    Medium,
    Low,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a commented example orgsplit.toml and the default stacksets/ templates.
    Init {
        /// Where to write them.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Inventory the source account in every configured region.
    Inventory {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Build the plan (inventorying live unless --inventory is given) and print the review.
    Plan {
        #[arg(long, value_name = "FILE")]
        inventory: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Exit 2 when the plan has changes, 0 when it has none (like Terraform).
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Print the review of a plan file (a plan of more than 500 steps as counts per account
    /// and kind; --full lists each step).
    Show {
        plan: PathBuf,
        #[command(flatten)]
        select: ShowSelection,
    },
    /// Apply one OU's part of a plan (resumable: succeeded steps are skipped).
    Apply {
        plan: PathBuf,
        /// The OU to apply.
        #[arg(long, value_name = "NAME")]
        ou: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Steps run at once, at most.
        #[arg(long, value_name = "N", default_value_t = orgsplit_apply::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(usize))]
        concurrency: usize,
    },
    /// Switch an applied OU's services, rules and schedules from the shared account to their
    /// copies (or back, with --rollback). Resumable like apply.
    Cutover {
        plan: PathBuf,
        /// The OU to cut over.
        #[arg(long, value_name = "NAME")]
        ou: String,
        /// Restore the shared account's services, rules and schedules and quiesce the copies,
        /// from what the cutover recorded.
        #[arg(long)]
        rollback: bool,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Copies switched at once, at most.
        #[arg(long, value_name = "N", default_value_t = orgsplit_apply::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(usize))]
        concurrency: usize,
        /// How long a service may take to become steady before its switch fails.
        #[arg(long, value_name = "M", default_value_t = 15, value_parser = clap::value_parser!(u64))]
        wait_minutes: u64,
    },
    /// Delete from the shared account what the OU's apply copied, once its cutover is
    /// complete, each delete after its copy verified equal to its source. Resumable.
    Cleanup {
        plan: PathBuf,
        /// The OU to clean up.
        #[arg(long, value_name = "NAME")]
        ou: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Delete the copied log groups too (kept by default: their history is not copied).
        #[arg(long)]
        delete_logs: bool,
        /// Days a deleted secret can still be restored (RestoreSecret): 7 to 30.
        #[arg(long, value_name = "DAYS", default_value_t = orgsplit_apply::cleanup::DEFAULT_RECOVERY_WINDOW_DAYS, value_parser = clap::value_parser!(i64))]
        recovery_window_days: i64,
        /// Deletes at once, at most.
        #[arg(long, value_name = "N", default_value_t = orgsplit_apply::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(usize))]
        concurrency: usize,
    },
    /// Per OU, account and step: the state recorded in the plan's journal.
    Status { plan: PathBuf },
    /// Reconcile accounts with their OU's StackSets (every account of the configured OUs when
    /// none is given): the OU's StackSets deployed, other OUs' removed, roles' trust verified.
    Reconcile {
        /// An account id (repeatable). Without one, every account of the configured OUs is
        /// backfilled, in one StackSet operation per StackSet and region (per 500 accounts).
        #[arg(long = "account", value_name = "ID")]
        accounts: Vec<String>,
        /// Backfill only the accounts of this OU (by name).
        #[arg(long, value_name = "NAME", conflicts_with = "accounts")]
        ou: Option<String>,
    },
    /// The new-account trigger: reconcile the account an Organizations or Control Tower event
    /// names with its OU's StackSets.
    Trigger {
        #[command(subcommand)]
        command: TriggerCommand,
    },
    /// Find CodePipeline v1 GitHub sources (an OAuth token in the pipeline) and move them to
    /// CodeStar Connections.
    Pipelines {
        #[command(subcommand)]
        command: PipelinesCommand,
    },
    /// Findings with a severity and a one-line fix each, in the source account and every
    /// account of the organization (mixed environments, long-running tasks, missing budgets,
    /// v1 GitHub sources, open role trust, unprotected tag keys, management-account
    /// workloads, the access role's AdministratorAccess).
    Audit {
        /// Only this account (repeatable); every account when none is given.
        #[arg(long = "account", value_name = "ID")]
        accounts: Vec<String>,
        /// Exit 1 when a finding at or above this severity exists (for CI).
        #[arg(long, value_enum, value_name = "SEVERITY")]
        fail_on: Option<FailOn>,
    },
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}

#[derive(Subcommand, Debug)]
pub enum TriggerCommand {
    /// Reconcile the account named by one EventBridge event (a file, or - for stdin), or by
    /// each event in an SQS queue.
    Handle {
        /// The event: a file, or - for stdin (the default).
        #[arg(long, value_name = "FILE|-", conflicts_with = "queue_url")]
        event: Option<String>,
        /// Take the events from this SQS queue (deleted once handled; failed ones stay).
        #[arg(long, value_name = "URL")]
        queue_url: Option<String>,
        /// Keep polling the queue instead of stopping when it is empty.
        #[arg(long, requires = "queue_url")]
        follow: bool,
        /// Long-poll wait of each receive, 0 to 20 seconds.
        #[arg(long, value_name = "S", default_value_t = 1, requires = "queue_url")]
        wait_seconds: i32,
        /// Stop after this many messages.
        #[arg(long, value_name = "N", requires = "queue_url")]
        max_messages: Option<usize>,
    },
    /// Create the EventBridge rule (management account, home region) that sends the handled
    /// events to a Lambda function or an SQS queue.
    Install {
        /// The Lambda function or SQS queue, in us-east-1 (where Organizations' events arrive).
        #[arg(long, value_name = "ARN")]
        target_arn: String,
        /// Install even when no CloudTrail trail logs management events in us-east-1 (without
        /// one, MoveAccount never reaches the rule).
        #[arg(long)]
        no_trail_check: bool,
    },
    /// Run the handler under the AWS Lambda runtime API (chosen by itself when
    /// AWS_LAMBDA_RUNTIME_API is set and no command is given).
    ServeLambda,
}

#[derive(Subcommand, Debug)]
pub enum PipelinesCommand {
    /// List v1 GitHub source actions, their webhooks, and every Terraform-state reference to
    /// a GitHub OAuth token (tokens are never printed).
    Scan {
        /// The account whose pipelines and state buckets are read (default: the source account).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// Terraform states to search: s3://BUCKET/PREFIX or a folder or file (repeatable).
        #[arg(long = "tfstate", value_name = "s3://BUCKET/PREFIX|DIR")]
        tfstates: Vec<String>,
        /// An environment variable holding the token: report which references are it.
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
    },
    /// Convert v1 GitHub sources to CodeStarSourceConnection (CodeConnections), in place.
    Migrate {
        /// The account whose pipelines are converted (default: the source account).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        /// An existing connection: of that account, or shared with it through AWS RAM.
        #[arg(
            long,
            value_name = "ARN",
            required_unless_present_any = ["create_connection", "org_connection"],
            conflicts_with_all = ["create_connection", "org_connection"]
        )]
        connection_arn: Option<String>,
        /// Find or create a connection of that name in that account (one serves every region).
        #[arg(long, value_name = "NAME", conflicts_with = "org_connection")]
        create_connection: Option<String>,
        /// Use the organization's connection (`[connection]` in the config): found or created
        /// in its owner's account and shared with that account through AWS RAM.
        #[arg(long)]
        org_connection: bool,
        /// Only these pipelines (repeatable; default: every pipeline with a v1 GitHub source).
        #[arg(long = "pipeline", value_name = "NAME")]
        pipelines: Vec<String>,
        /// Show each declaration's diff and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Restore a converted pipeline's v1 GitHub source from its saved declaration.
    Rollback {
        /// The pipeline's account (default: the one in the saved declaration).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        #[arg(long, value_name = "NAME")]
        pipeline: String,
        /// The environment variable holding the GitHub token to put back.
        #[arg(long, value_name = "VAR")]
        token_env: String,
    },
}

/// What `orgsplit show` shows.
#[derive(Debug, Clone, clap::Args)]
pub struct ShowSelection {
    /// Only this OU.
    #[arg(long, value_name = "NAME")]
    pub ou: Option<String>,
    /// Only the steps of this account (its name in the config, or its id).
    #[arg(long, value_name = "NAME|ID")]
    pub account: Option<String>,
    /// Only steps of this kind (`ssm-parameter`, `iam-role`, …); repeat or separate with commas.
    #[arg(long, value_name = "KIND")]
    pub kind: Vec<String>,
    /// Only steps whose address matches this glob (`*` also matches `/`):
    /// 'prod/*/ssm:/prod/api/*'.
    #[arg(long, value_name = "GLOB")]
    pub address: Option<String>,
    /// List every selected step, however many.
    #[arg(long, conflicts_with = "summary")]
    pub full: bool,
    /// Count the selected steps per account and kind, however few.
    #[arg(long)]
    pub summary: bool,
}
