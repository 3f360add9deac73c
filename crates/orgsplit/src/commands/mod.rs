mod apply;
mod audit;
mod cleanup;
mod cutover;
mod init;
mod inventory;
mod pipelines;
mod plan;
mod reconcile;
mod show;
mod status;
mod trigger;

use crate::cli::{Cli, Command};
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

pub async fn run(cli: Cli, printer: Printer) -> Result<ExitStatus, CliError> {
    let g = cli.global;
    match cli.command {
        Command::Init { dir, force } => init::run(&dir, force, &printer),
        Command::Inventory { out } => inventory::run(&g, &out, &printer).await,
        Command::Plan { inventory, out, detailed_exitcode } => {
            plan::run(&g, inventory.as_deref(), &out, detailed_exitcode, &printer).await
        }
        Command::Show { plan, select } => show::run(&g, &plan, &select, &printer),
        Command::Apply { plan, ou, yes, concurrency } => {
            apply::run(&g, &plan, &ou, yes, concurrency, &printer).await
        }
        Command::Cutover { plan, ou, rollback, yes, concurrency, wait_minutes } => {
            let options = cutover::Options { rollback, yes, concurrency, wait_minutes };
            cutover::run(&g, &plan, &ou, options, &printer).await
        }
        Command::Cleanup { plan, ou, yes, delete_logs, recovery_window_days, concurrency } => {
            let options = cleanup::Options { yes, delete_logs, recovery_window_days, concurrency };
            cleanup::run(&g, &plan, &ou, options, &printer).await
        }
        Command::Status { plan } => status::run(&g, &plan, &printer),
        Command::Reconcile { accounts, ou } => {
            reconcile::run(&g, &accounts, ou.as_deref(), &printer).await
        }
        Command::Trigger { command } => trigger::run(&g, command, &printer).await,
        Command::Pipelines { command } => pipelines::run(&g, command, &printer).await,
        Command::Audit { accounts, fail_on } => audit::run(&g, &accounts, fail_on, &printer).await,
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "orgsplit", &mut buf);
            printer.data(&String::from_utf8_lossy(&buf));
            Ok(ExitStatus::Success)
        }
    }
}
