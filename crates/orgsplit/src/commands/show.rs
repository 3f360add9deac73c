//! `orgsplit show PLAN [--ou NAME]`.

use orgsplit_planner::{ReviewOptions, render_review};
use std::path::Path;

use crate::cli::{GlobalArgs, Output};
use crate::context::read_plan;
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

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
            &ReviewOptions { ou: ou.map(str::to_string), color: printer.color_stdout },
        )),
    }
    Ok(ExitStatus::Success)
}
