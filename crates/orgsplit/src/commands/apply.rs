//! `orgsplit apply PLAN --ou NAME [--yes] [--concurrency N]`.

use orgsplit_apply::events::{ApplyEvent, SummaryEvent};
use orgsplit_apply::{Executor, Journal, PlanLock, RunSummary, StepStatus, journal_path, precheck};
use orgsplit_model::journal::StepState;
use orgsplit_model::{Action, Plan};
use std::path::Path;
use std::sync::Arc;

use crate::cli::{GlobalArgs, Output};
use crate::context::{apply_error, journal_error, lock_error, plan_aws, read_plan, short};
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;
use crate::progress::step_reporter;

pub async fn run(
    g: &GlobalArgs,
    path: &Path,
    ou: &str,
    yes: bool,
    concurrency: usize,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let plan = read_plan(path)?;
    orgsplit_apply::select(&plan, ou).map_err(|e| CliError::invalid(format!("--ou {ou}: {e}")))?;
    if concurrency == 0 {
        return Err(CliError::invalid("--concurrency: must be at least 1"));
    }
    let _lock = PlanLock::acquire(
        path,
        &format!("pid {} applying OU {ou} since {}", std::process::id(), crate::context::now()),
    )
    .map_err(lock_error)?;
    let mut journal = Journal::open(&journal_path(path), &plan.digest).map_err(journal_error)?;
    let aws = plan_aws(g, &plan).await?;

    printer.status(&format!("checking the plan against the live organization (OU {ou})"));
    let checked = precheck(&aws, &plan, ou, &journal.states()).await.map_err(apply_error)?;
    let to_run = steps_to_run(&plan, ou, &journal.states());
    printer.status(&format!(
        "plan {} is current ({} live objects compared{}); caller {}",
        short(&plan.digest),
        checked.compared,
        if checked.changed_by_this_plan.is_empty() {
            String::new()
        } else {
            format!(
                ", {} already changed by this plan's earlier applies",
                checked.changed_by_this_plan.len()
            )
        },
        checked.caller_arn
    ));
    if to_run > 0 {
        confirm(&plan, ou, to_run, yes, printer)?;
    }

    let reporter = step_reporter(g.output, printer);
    let summary = Executor {
        aws: aws.clone(),
        plan: Arc::new(plan.clone()),
        ou: ou.to_string(),
        concurrency,
        journal: &mut journal,
        reporter: reporter.as_ref(),
    }
    .run()
    .await
    .map_err(apply_error)?;
    drop(reporter);
    report(g, printer, ou, &summary, aws.counter().total());
    outcome(ou, &summary)
}

/// Steps that change something and have not succeeded yet.
fn steps_to_run(
    plan: &Plan,
    ou: &str,
    states: &std::collections::BTreeMap<String, StepState>,
) -> usize {
    orgsplit_apply::select(plan, ou)
        .map(|steps| {
            steps
                .iter()
                .filter(|s| !matches!(s.action, Action::NoOp | Action::Manual))
                .filter(|s| !matches!(states.get(&s.address), Some(StepState::Succeeded { .. })))
                .count()
        })
        .unwrap_or(0)
}

fn confirm(
    plan: &Plan,
    ou: &str,
    to_run: usize,
    yes: bool,
    printer: &Printer,
) -> Result<(), CliError> {
    crate::context::confirm(
        &format!(
            "Apply {to_run} steps of OU {ou} to organization {} (management account {})?",
            plan.organization_id, plan.management_account_id
        ),
        &format!("apply of OU {ou}"),
        &format!("{to_run} steps"),
        "review with `orgsplit show PLAN --ou NAME`, then pass --yes",
        yes,
        printer,
    )
}

fn report(g: &GlobalArgs, printer: &Printer, ou: &str, s: &RunSummary, calls: u64) {
    let n = |f: fn(&StepStatus) -> bool| s.count(f);
    let changed = n(|x| matches!(x, StepStatus::Changed));
    let unchanged = n(|x| matches!(x, StepStatus::Unchanged | StepStatus::NoOp));
    let done = n(|x| matches!(x, StepStatus::AlreadyDone));
    let manual = n(|x| matches!(x, StepStatus::Manual));
    if g.output == Output::Json {
        printer.data(&ApplyEvent::Summary(SummaryEvent::new(ou, s, calls)).to_line());
        return;
    }
    let mut out = String::new();
    for (address, status) in &s.statuses {
        match status {
            StepStatus::Failed { error } => out.push_str(&format!("  ✗ {address}: {error}\n")),
            StepStatus::Waiting { message, url } => {
                out.push_str(&format!("  … {address}: {message}\n"));
                if let Some(url) = url {
                    out.push_str(&format!("      {url}\n"));
                }
            }
            StepStatus::Blocked { by } => {
                out.push_str(&format!("  - {address}: not run, waits for {by}\n"))
            }
            StepStatus::Manual => {
                out.push_str(&format!("  ! {address}: manual item (see `orgsplit show`)\n"))
            }
            _ => {}
        }
    }
    out.push_str(&format!(
        "Apply of OU {ou}: {changed} changed, {unchanged} unchanged, {done} already done, {} failed, {} waiting, {} blocked, {manual} manual ({calls} API calls, {:.1} s).\n",
        s.failed(),
        s.waiting(),
        s.blocked(),
        s.elapsed.as_secs_f64()
    ));
    printer.data(&out);
}

fn outcome(ou: &str, s: &RunSummary) -> Result<ExitStatus, CliError> {
    if let Some((address, StepStatus::Failed { error })) =
        s.statuses.iter().find(|(_, st)| matches!(st, StepStatus::Failed { .. }))
    {
        return Err(CliError::failure(format!(
            "apply of OU {ou}: {} steps failed (first: {address}: {error})",
            s.failed()
        ))
        .hint("fix the cause and run the same apply again: succeeded steps are skipped"));
    }
    if s.waiting() > 0 || s.blocked() > 0 {
        return Err(CliError::refused(format!(
            "apply of OU {ou}: {} steps wait for a person, {} more wait on them",
            s.waiting(),
            s.blocked()
        ))
        .hint("do what the waiting steps say, then run the same apply again"));
    }
    Ok(ExitStatus::Success)
}
