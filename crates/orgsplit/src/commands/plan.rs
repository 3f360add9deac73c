//! `orgsplit plan [--inventory FILE] --out FILE [--detailed-exitcode]`.

use orgsplit_model::inventory::INVENTORY_FORMAT_VERSION;
use orgsplit_model::{Config, Inventory};
use orgsplit_planner::{PlanInput, ReviewOptions, build_plan_unsealed, render_review};
use std::path::Path;

use crate::cli::{GlobalArgs, Output};
use crate::context;
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

fn read_inventory(path: &Path, config: &Config) -> Result<Inventory, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::invalid(format!("{}: cannot read: {e}", path.display())))?;
    // Read into its types at once (a 100,000-resource inventory is never a JSON tree). An
    // inventory of another format is named as such rather than as a shape error: when it does
    // not fit the types, its version is probed before the shape is blamed.
    let not_this_format = || {
        CliError::invalid(format!(
            "{}: format_version: not an inventory of format {INVENTORY_FORMAT_VERSION}",
            path.display()
        ))
    };
    let inv: Inventory = match serde_json::from_str::<Inventory>(&text) {
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
    let mut plan = build_plan_unsealed(PlanInput {
        config: &config,
        inventory: inv,
        stacksets: &specs,
        created_at: context::now(),
    })
    .map_err(|e| CliError::invalid(e.to_string()))?;
    // The review is rendered on the second core while the file is written.
    let written = &plan;
    let (digest, review) = std::thread::scope(|scope| {
        let review = (g.output == Output::Text).then(|| {
            let options = ReviewOptions { color: printer.color_stdout, ..ReviewOptions::default() };
            scope.spawn(move || render_review(written, &options))
        });
        // The digest is taken of the bytes as they are written: the plan is serialised once.
        let digest = context::write_atomic_with(out, |w| plan.write_json(w))?;
        let review = review.map(|r| r.join().expect("rendering the review does not panic"));
        Ok::<_, CliError>((digest, review))
    })?;
    plan.digest = digest;
    match review {
        None => printer.data(&plan.to_json()),
        Some(review) => {
            printer.data(&review);
            printer.status(&format!("wrote {} ({})", out.display(), plan.digest));
        }
    }
    for w in &plan.warnings {
        tracing::info!(subject = w.subject.as_deref().unwrap_or(""), "{}", w.message);
    }
    if !plan.unclassified.is_empty() {
        printer.warn(&format!(
            "{} unclassified resources: apply will refuse until a [[rule]] covers them",
            plan.unclassified.len()
        ));
    }
    let status =
        if detailed && plan.has_changes() { ExitStatus::CHANGES } else { ExitStatus::Success };
    // The process ends with this command: freeing a large plan piece by piece would cost
    // more than a tenth of the planning time, for memory the exit gives back anyway.
    std::mem::forget(plan);
    Ok(status)
}
