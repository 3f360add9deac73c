//! `orgsplit plan [--inventory FILE] --out FILE [--detailed-exitcode]`.

use orgsplit_model::inventory::INVENTORY_FORMAT_VERSION;
use orgsplit_model::{Config, Inventory};
use orgsplit_planner::{
    BuildError, PlanInput, ReviewOptions, Written, render_review_counted, write_plan,
};
use std::path::Path;

use crate::cli::{GlobalArgs, Output};
use crate::context;
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

fn read_inventory(path: &Path, config: &Config) -> Result<Inventory, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::invalid(format!("{}: cannot read: {e}", path.display())))?;
    // Read into its types at once (a 100,000-resource inventory is never a JSON tree), on both
    // cores (`Inventory::from_text`). An inventory of another format is named as such rather
    // than as a shape error: when it does not fit the types, its version is probed before the
    // shape is blamed.
    let not_this_format = || {
        CliError::invalid(format!(
            "{}: format_version: not an inventory of format {INVENTORY_FORMAT_VERSION}",
            path.display()
        ))
    };
    let inv: Inventory = match Inventory::from_text(&text) {
        Ok(inv) if inv.format_version == INVENTORY_FORMAT_VERSION => inv,
        Ok(_) => return Err(not_this_format()),
        Err(shape) => {
            let version = orgsplit_model::canonical::format_version_of(&text).map_err(|e| {
                CliError::invalid(format!("{}: not an inventory file: {e}", path.display()))
            })?;
            if version.as_ref().and_then(|v| v.as_u64())
                != Some(u64::from(INVENTORY_FORMAT_VERSION))
            {
                return Err(not_this_format());
            }
            return Err(CliError::invalid(format!(
                "{}: not an inventory file: {shape}",
                path.display()
            )));
        }
    };
    if inv.source_account_id != config.source_account_id {
        return Err(CliError::invalid(format!(
            "{}: source_account_id: the inventory is of account {}, but {} names {}",
            path.display(),
            inv.source_account_id,
            config.path.display(),
            config.source_account_id
        )));
    }
    Ok(inv)
}

pub async fn run(
    g: &GlobalArgs,
    inventory_file: Option<&Path>,
    out: &Path,
    detailed: bool,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let config = context::load_config(g)?;
    let catalog = crate::context::catalog(&config)?;
    let specs: Vec<_> = catalog.into_iter().map(|e| e.spec).collect();
    let inv = match inventory_file {
        Some(path) => read_inventory(path, &config)?,
        None => context::live_inventory(g, &config, printer).await?.0,
    };
    // The plan is written as it is built, one workloads account at a time (never whole in
    // memory). An error of the plan's own (a bucket name clash found at the last account)
    // stops the writer: the temporary file is dropped and the old plan, if any, stays.
    let mut plan_error = None;
    let written = context::write_atomic_with(out, context::Durability::Unsynced, |w| {
        let input = PlanInput {
            config: &config,
            inventory: &inv,
            stacksets: &specs,
            created_at: context::now(),
        };
        match write_plan(input, w) {
            Ok(written) => Ok(written),
            Err(BuildError::Write(e)) => Err(e),
            Err(e) => {
                let message = e.to_string();
                plan_error = Some(e);
                Err(std::io::Error::other(message))
            }
        }
    });
    if let Some(e) = plan_error {
        return Err(CliError::invalid(e.to_string()));
    }
    let Written { digest, review, tallies, has_changes } = written?;
    match g.output {
        // The file is the plan: printed as written.
        Output::Json => printer.data(
            std::fs::read_to_string(out)
                .map_err(|e| CliError::failure(format!("{}: cannot read: {e}", out.display())))?
                .trim_end(),
        ),
        Output::Text => {
            let options = ReviewOptions { color: printer.color_stdout, ..ReviewOptions::default() };
            printer.data(&render_review_counted(&review, &tallies, &options));
            printer.status(&format!("wrote {} ({digest})", out.display()));
        }
    }
    for w in &review.warnings {
        tracing::info!(subject = w.subject.as_deref().unwrap_or(""), "{}", w.message);
    }
    if !review.unclassified.is_empty() {
        printer.warn(&format!(
            "{} unclassified resources: apply will refuse until a [[rule]] covers them",
            review.unclassified.len()
        ));
    }
    let status = if detailed && has_changes { ExitStatus::CHANGES } else { ExitStatus::Success };
    // The process ends with this command: freeing a large inventory piece by piece would cost
    // a tenth of the planning time, for memory the exit gives back anyway.
    std::mem::forget(inv);
    Ok(status)
}
