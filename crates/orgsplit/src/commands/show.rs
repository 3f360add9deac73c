//! `orgsplit show PLAN [--ou NAME]`.

use orgsplit_model::{Plan, PlanError};
use orgsplit_planner::{ReviewOptions, render_review};
use std::path::Path;

use crate::cli::{GlobalArgs, Output};
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

/// Reads and verifies a plan file: every command that reads a plan goes through here.
pub fn read_plan(path: &Path) -> Result<Plan, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::invalid(format!("{}: cannot read: {e}", path.display())))?;
    Plan::from_json(&text).map_err(|e| {
        let message = format!("{}: {e}", path.display());
        match e {
            PlanError::Malformed(_) => CliError::invalid(message)
                .hint("plan files are written by `orgsplit plan`; re-run it"),
            PlanError::UnknownVersion { .. } => CliError::refused(message)
                .hint("use the orgsplit version that wrote the plan, or re-run `orgsplit plan`"),
            PlanError::DigestMismatch { .. } => CliError::refused(message).hint(
                "a reviewed plan must not be edited: re-run `orgsplit plan` and review again",
            ),
        }
    })
}

pub fn run(
    g: &GlobalArgs,
    path: &Path,
    ou: Option<&str>,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let plan = read_plan(path)?;
    if let Some(name) = ou
        && plan.ou(name).is_none()
    {
        let known: Vec<&str> = plan.ous.iter().map(|o| o.name.as_str()).collect();
        return Err(CliError::invalid(format!(
            "--ou {name}: the plan has no such OU (it has: {})",
            known.join(", ")
        )));
    }
    match g.output {
        Output::Json => printer.data(&plan.to_json()),
        Output::Text => printer.data(&render_review(
            &plan,
            &ReviewOptions {
                ou: ou.map(str::to_string),
                color: printer.color_stdout,
            },
        )),
    }
    Ok(ExitStatus::Success)
}
