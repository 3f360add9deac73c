//! The `orgsplit` command line: parses arguments, runs the command, prints, and maps every
//! outcome to the documented exit code.
//!
//! Architecture Invariant: no domain logic here. Commands load inputs, call the libraries,
//! and print what they return; only this crate prints.

mod cli;
mod commands;
mod context;
mod exit;
mod printer;
mod progress;
mod report;

use clap::Parser;
use std::process::ExitCode;

pub use exit::{CliError, ExitStatus};

pub fn main() -> ExitCode {
    // Inside AWS Lambda the function's `bootstrap` is run with no arguments.
    let lambda =
        std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() && std::env::args_os().len() == 1;
    let parsed = if lambda {
        cli::Cli::try_parse_from(["orgsplit", "trigger", "serve-lambda"])
    } else {
        cli::Cli::try_parse()
    };
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp
                | clap::error::ErrorKind::DisplayVersion
                | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                    {
                        ExitStatus::InvalidInput
                    } else {
                        ExitStatus::Success
                    }
                }
                _ => {
                    usage_error(&e);
                    ExitStatus::InvalidInput
                }
            }
            .into();
        }
    };
    let printer = printer::Printer::new(&cli.global);
    if let Err(e) = cli::check_environment() {
        printer.error(&e.message, e.hint.as_deref());
        return e.status.into();
    }
    init_logging(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&format!("cannot start the async runtime: {e}"), None);
            return ExitStatus::Failure.into();
        }
    };
    match runtime.block_on(commands::run(cli, printer)) {
        Ok(status) => status.into(),
        Err(e) => {
            printer.error(&e.message, e.hint.as_deref());
            e.status.into()
        }
    }
}

/// A usage error as every other error: one `error:` line naming the argument, then `hint:`
/// lines (clap's own layout spreads the argument over several lines).
#[allow(clippy::print_stderr)]
fn usage_error(e: &clap::Error) {
    let text = e.render().to_string();
    let (head, tail) = text.split_once("\n\nUsage:").map_or((text.as_str(), ""), |(h, t)| (h, t));
    let mut message = Vec::new();
    let mut hints = Vec::new();
    for line in head.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.strip_prefix("tip:") {
            Some(tip) => hints.push(tip.trim().to_string()),
            None => message.push(line.trim_start_matches("error:").trim().to_string()),
        }
    }
    let mut tail_lines = tail.lines().map(str::trim).filter(|l| !l.is_empty());
    if let Some(usage) = tail_lines.next() {
        hints.push(format!("usage: {usage}"));
    }
    hints.extend(tail_lines.map(str::to_string));
    eprintln!("error: {}", message.join(" "));
    for hint in hints {
        eprintln!("hint: {hint}");
    }
}

fn init_logging(g: &cli::GlobalArgs) {
    // The SDK's own logs stay at warn unless asked for with RUST_LOG: at trace they would
    // show request bodies.
    let ours = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    // Whatever RUST_LOG asks, the SDK's HTTP layers stay above trace: at trace they log
    // request bodies, which carry parameter values and tokens.
    // Plus what orgsplit_aws quiets of the SDK's own logs (expected refusals while a new
    // account's access role is not yet assumable).
    let filter = std::env::var("RUST_LOG").map(|f| format!("{f},aws_smithy_runtime=debug,aws_smithy_runtime_api=debug,aws_smithy_http_client=debug,hyper=debug,hyper_util=debug")).unwrap_or_else(|_| format!("warn,{},orgsplit={ours},orgsplit_inventory={ours},orgsplit_aws={ours},orgsplit_planner={ours},orgsplit_apply={ours},orgsplit_stacksets={ours},orgsplit_pipelines={ours},orgsplit_trigger={ours},orgsplit_audit={ours}", orgsplit_aws::SDK_LOG_DIRECTIVES));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
