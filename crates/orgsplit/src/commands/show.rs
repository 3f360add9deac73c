//! `orgsplit show PLAN [--ou NAME] [--account NAME|ID] [--kind KIND] [--address GLOB]
//! [--full | --summary]`.

use orgsplit_model::quote::cut;
use orgsplit_planner::review::{Listing, StepFilter, selected_steps};
use orgsplit_planner::{ReviewOptions, render_review};
use std::path::Path;

use crate::cli::{GlobalArgs, Output, ShowSelection};
use crate::context::read_plan;
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

pub fn run(
    g: &GlobalArgs,
    path: &Path,
    select: &ShowSelection,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    // The flags first: a typo is named before a big plan is read.
    let to_cli = |e: orgsplit_planner::review::FilterError| match e.hint {
        Some(hint) => CliError::invalid(e.message).hint(hint),
        None => CliError::invalid(e.message),
    };
    let filter =
        StepFilter::parse(select.account.as_deref(), &select.kind, select.address.as_deref())
            .map_err(to_cli)?;
    let plan = read_plan(path)?;
    if let Some(name) = &select.ou
        && plan.ou(name).is_none()
    {
        let known: Vec<&str> = plan.ous.iter().map(|o| o.name.as_str()).collect();
        return Err(CliError::invalid(format!("--ou {}: the plan has no such OU", cut(name)))
            .hint(format!("OUs: {}", cut(&known.join(", ")))));
    }
    filter.check_against(&plan, select.ou.as_deref()).map_err(to_cli)?;
    let listing = match (select.full, select.summary) {
        (true, _) => Listing::Full,
        (_, true) => Listing::Summary,
        _ => Listing::Auto,
    };
    let options =
        ReviewOptions { ou: select.ou.clone(), color: printer.color_stdout, filter, listing };
    match g.output {
        // A selection (an OU or a filter) prints its steps as the plan file has them; none
        // prints the plan file. The listing (--full, --summary) is the text review's.
        Output::Json if options.filter.is_empty() && options.ou.is_none() => {
            printer.data(&plan.to_json())
        }
        Output::Json => {
            let steps = selected_steps(&plan, &options);
            let mut text = serde_json::to_string_pretty(&steps).expect("steps serialise");
            text.push('\n');
            printer.data(&text)
        }
        Output::Text => printer.data(&render_review(&plan, &options)),
    }
    Ok(ExitStatus::Success)
}
