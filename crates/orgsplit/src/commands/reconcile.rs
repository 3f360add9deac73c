//! `orgsplit reconcile [--account ID]... | [--ou NAME]`: each account against its OU's
//! StackSets; without accounts, a backfill of every account of the OUs (or of one), in a
//! bounded number of StackSet operations.

use orgsplit_stacksets::reconcile::{ReconcileError, backfill, desired, reconcile_account};
use serde_json::json;

use crate::cli::GlobalArgs;
use crate::context::{aws, catalog, check_account_ids, load_config};
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;
use crate::report::{Batch, report_json, report_line};

pub async fn run(
    g: &GlobalArgs,
    accounts: &[String],
    only_ou: Option<&str>,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    check_account_ids(accounts)?;
    let config = load_config(g)?;
    let catalog = catalog(&config)?;
    let aws = aws(g, &config).await?;
    let (caller, _) = aws.caller().await?;
    let mgmt = aws.session(&caller).await?;
    let region = aws.options().region.clone();
    let wanted = desired(&mgmt, &region, &config, &catalog).await.map_err(reconcile_error)?;
    for m in &wanted.missing {
        printer
            .warn(&format!("OU {m}: nothing to reconcile there until `orgsplit apply` creates it"));
    }
    let (targets, reports, failures, operations) = if accounts.is_empty() {
        if let Some(name) = only_ou
            && !wanted.ous.iter().any(|o| o.ou_name == name)
        {
            return Err(CliError::invalid(format!(
                "--ou {name}: not an OU of the config that exists in the organization"
            )));
        }
        printer.status("backfilling");
        let done = backfill(&aws, &wanted.ous, only_ou).await.map_err(reconcile_error)?;
        let asked = done.accounts.len() + done.failed.len();
        (asked, done.accounts, done.failed, Some(done.operations))
    } else {
        let mut reports = Vec::new();
        let mut failures = Vec::new();
        for account in accounts {
            printer.status(&format!("reconciling {account}"));
            match reconcile_account(&aws, &wanted.ous, account).await {
                Ok(r) => reports.push(r),
                Err(e) => failures.push((account.clone(), e.to_string())),
            }
        }
        (accounts.len(), reports, failures, None)
    };
    let batch = Batch {
        command: "reconcile",
        done: "Reconciled",
        items: "accounts",
        asked: targets,
        changed: reports.iter().filter(|r| r.changed()).count(),
        unchanged: reports.iter().filter(|r| !r.changed()).count(),
        failures: &failures,
    };
    let json = json!({
        "stackset_operations": operations,
        "accounts": reports.iter().map(report_json).collect::<Vec<_>>(),
        "failed": failures.iter().map(|(a, e)| json!({"account": a, "error": e})).collect::<Vec<_>>(),
    });
    batch.print(printer, g.output, json, reports.iter().map(report_line).collect(), "");
    batch.status()
}

fn reconcile_error(e: ReconcileError) -> CliError {
    match e {
        ReconcileError::Aws(a) => (*a).into(),
        other => CliError::failure(other.to_string()),
    }
}
