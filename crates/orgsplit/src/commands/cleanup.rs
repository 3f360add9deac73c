//! `orgsplit cleanup PLAN --ou NAME [--yes] [--delete-logs] [--recovery-window-days D]`.

use orgsplit_apply::cleanup::{
    self, Cleanup, CleanupOptions, Disposition, RECOVERY_WINDOW_DAYS, Removal,
};
use orgsplit_apply::events::{ApplyEvent, SummaryEvent};
use orgsplit_apply::{Journal, PlanLock, RunSummary, StepStatus, journal_path};
use orgsplit_model::journal::StepState;
use std::path::Path;
use std::sync::Arc;

use crate::cli::{GlobalArgs, Output};
use crate::context::{apply_error, checked_aws, journal_error, lock_error, read_plan};
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;
use crate::progress::step_reporter;

pub struct Options {
    pub yes: bool,
    pub delete_logs: bool,
    pub recovery_window_days: i64,
    pub concurrency: usize,
}

pub async fn run(
    g: &GlobalArgs,
    path: &Path,
    ou: &str,
    o: Options,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let plan = read_plan(path)?;
    orgsplit_apply::select(&plan, ou).map_err(|e| CliError::invalid(format!("--ou {ou}: {e}")))?;
    if o.concurrency == 0 {
        return Err(CliError::invalid("--concurrency: must be at least 1"));
    }
    if !RECOVERY_WINDOW_DAYS.contains(&o.recovery_window_days) {
        return Err(CliError::invalid(format!(
            "--recovery-window-days: {} is not within 7 to 30 (Secrets Manager's limits)",
            o.recovery_window_days
        )));
    }
    let options =
        CleanupOptions { delete_logs: o.delete_logs, recovery_window_days: o.recovery_window_days };
    let _lock = PlanLock::acquire(
        path,
        &format!("pid {} cleaning up OU {ou} since {}", std::process::id(), crate::context::now()),
    )
    .map_err(lock_error)?;
    let mut journal = Journal::open(&journal_path(path), &plan.digest).map_err(journal_error)?;
    cleanup::check_ready(&plan, ou, journal.records()).map_err(apply_error)?;
    let aws = checked_aws(g, &plan, ou, &journal, true, printer).await?;

    let removals = cleanup::removals(&plan, ou, journal.records(), options).map_err(apply_error)?;
    let states = journal.states();
    let to_run = removals
        .iter()
        .filter(|r| r.disposition == Disposition::Delete)
        .filter(|r| !matches!(states.get(&r.address), Some(StepState::Succeeded { .. })))
        .count();
    printer.data(&review(ou, &plan.source_account_id, &removals, options));
    if to_run > 0 {
        crate::context::confirm(
            &format!(
                "Delete {to_run} resources of OU {ou} from the shared account {}?",
                plan.source_account_id
            ),
            &format!("cleanup of OU {ou}"),
            &format!("{to_run} deletes"),
            "review the deletes above, then pass --yes",
            o.yes,
            printer,
        )?;
    }

    let reporter = step_reporter(g.output, printer);
    let summary = Cleanup {
        aws: aws.clone(),
        plan: Arc::new(plan.clone()),
        ou: ou.to_string(),
        removals,
        concurrency: o.concurrency,
        options,
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

/// Terraform-like lines, in deletion order: `-` deleted (with what goes first), `=` kept,
/// `!` kept until other OUs are cleaned up.
fn review(ou: &str, source: &str, removals: &[Removal], options: CleanupOptions) -> String {
    let mut out = format!(
        "Cleanup of OU {ou} in the shared account {source} (secrets recoverable for {} days):\n",
        options.recovery_window_days
    );
    let label = |address: &str| {
        removals
            .iter()
            .find(|r| r.address == address)
            .map_or(address.to_string(), Removal::kind_label)
    };
    let (mut delete, mut kept, mut later) = (0, 0, 0);
    for r in removals {
        let region = r.resource.region.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        match &r.disposition {
            Disposition::Delete => {
                delete += 1;
                let first = if r.after.is_empty() {
                    String::new()
                } else {
                    let users: Vec<String> = r.after.iter().map(|a| label(a)).collect();
                    format!("; after {}", users.join(", "))
                };
                out.push_str(&format!(
                    "  - {}{region}: copy verified first{first}\n",
                    r.kind_label()
                ));
            }
            Disposition::Keep(why) => {
                kept += 1;
                out.push_str(&format!("  = {}{region}: {why}\n", r.kind_label()));
            }
            Disposition::Later(why) => {
                later += 1;
                out.push_str(&format!("  ! {}{region}: {why}\n", r.kind_label()));
            }
        }
    }
    out.push_str(&format!(
        "Cleanup: {delete} to delete, {kept} kept, {later} waiting for other OUs or users.\n"
    ));
    out
}

fn report(g: &GlobalArgs, printer: &Printer, ou: &str, s: &RunSummary, calls: u64) {
    if g.output == Output::Json {
        printer.data(&ApplyEvent::Summary(SummaryEvent::new(ou, s, calls)).to_line());
        return;
    }
    let n = |f: fn(&StepStatus) -> bool| s.count(f);
    let mut out = String::new();
    for (address, status) in &s.statuses {
        match status {
            StepStatus::Failed { error } => out.push_str(&format!("  ✗ {address}: {error}\n")),
            StepStatus::Waiting { message, .. } => {
                out.push_str(&format!("  ! {address}: {message}\n"))
            }
            StepStatus::Blocked { by } => {
                out.push_str(&format!("  - {address}: not deleted, waits for {by}\n"))
            }
            _ => {}
        }
    }
    out.push_str(&format!(
        "Cleanup of OU {ou}: {} deleted, {} already gone, {} already done, {} kept, {} refused, {} failed, {} blocked ({calls} API calls, {:.1} s).\n",
        n(|x| matches!(x, StepStatus::Changed)),
        n(|x| matches!(x, StepStatus::Unchanged)),
        n(|x| matches!(x, StepStatus::AlreadyDone)),
        n(|x| matches!(x, StepStatus::Kept { .. })),
        s.waiting(),
        s.failed(),
        s.blocked(),
        s.elapsed.as_secs_f64()
    ));
    printer.data(&out);
}

/// Exit 1 when a call failed; exit 3 when a delete was refused (a copy differs from its
/// source, a bucket holds objects, a policy is still attached elsewhere).
fn outcome(ou: &str, s: &RunSummary) -> Result<ExitStatus, CliError> {
    let first = |f: fn(&StepStatus) -> bool| s.statuses.iter().find(|(_, st)| f(st));
    if let Some((address, StepStatus::Failed { error })) =
        first(|st| matches!(st, StepStatus::Failed { .. }))
    {
        return Err(CliError::failure(format!(
            "cleanup of OU {ou}: {} deletes failed (first: {address}: {error})",
            s.failed()
        ))
        .hint("fix the cause and run the same command again: done deletes are skipped"));
    }
    if let Some((address, StepStatus::Waiting { message, .. })) =
        first(|st| matches!(st, StepStatus::Waiting { .. }))
    {
        return Err(CliError::refused(format!(
            "cleanup of OU {ou}: {} deletes refused (first: {address}: {message})",
            s.waiting()
        ))
        .hint("nothing refused was deleted; act on the reason, then run cleanup again"));
    }
    Ok(ExitStatus::Success)
}
