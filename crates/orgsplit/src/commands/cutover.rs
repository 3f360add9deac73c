//! `orgsplit cutover PLAN --ou NAME [--rollback] [--yes] [--concurrency N] [--wait-minutes M]`.

use orgsplit_apply::cutover::{self, Chain, Cutover, CutoverOptions, Phase};
use orgsplit_apply::events::{ApplyEvent, SummaryEvent};
use orgsplit_apply::{Journal, PlanLock, RunSummary, StepStatus, journal_path};
use orgsplit_model::journal::{RunCommand, StepState};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{GlobalArgs, Output};
use crate::context::{apply_error, checked_aws, journal_error, lock_error, read_plan};
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;
use crate::progress::step_reporter;

pub struct Options {
    pub rollback: bool,
    pub yes: bool,
    pub concurrency: usize,
    pub wait_minutes: u64,
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
    if o.wait_minutes == 0 {
        return Err(CliError::invalid("--wait-minutes: must be at least 1"));
    }
    let command = if o.rollback { RunCommand::Rollback } else { RunCommand::Cutover };
    let doing = if o.rollback { "rolling back the cutover of" } else { "cutting over" };
    let _lock = PlanLock::acquire(
        path,
        &format!("pid {} {doing} OU {ou} since {}", std::process::id(), crate::context::now()),
    )
    .map_err(lock_error)?;
    let mut journal = Journal::open(&journal_path(path), &plan.digest).map_err(journal_error)?;
    cutover::check_ready(&plan, ou, command, journal.records()).map_err(apply_error)?;
    let aws = checked_aws(g, &plan, ou, &journal, false, printer).await?;

    let chains = cutover::chains(&plan, ou, command).map_err(apply_error)?;
    let generation = cutover::generation(journal.records(), ou);
    let states = journal.states();
    let to_run = chains
        .iter()
        .flat_map(|c| c.phases.iter().map(move |&p| c.address(command, generation, p)))
        .filter(|a| !matches!(states.get(a), Some(StepState::Succeeded { .. })))
        .count();
    printer.status(&review(ou, command, &chains, &plan.source_account_id));
    if to_run > 0 {
        let what = if o.rollback { "rollback" } else { "cutover" };
        crate::context::confirm(
            &format!(
                "Run {to_run} {what} actions of OU {ou} (source account {})?",
                plan.source_account_id
            ),
            &format!("{what} of OU {ou}"),
            &format!("{to_run} actions"),
            "review the actions above, then pass --yes",
            o.yes,
            printer,
        )?;
    }

    let reporter = step_reporter(g.output, printer);
    let summary = Cutover {
        aws: aws.clone(),
        plan: Arc::new(plan.clone()),
        ou: ou.to_string(),
        command,
        chains,
        generation,
        concurrency: o.concurrency,
        options: CutoverOptions {
            steady_timeout: Duration::from_secs(o.wait_minutes * 60),
            ..CutoverOptions::default()
        },
        journal: &mut journal,
        reporter: reporter.as_ref(),
    }
    .run()
    .await
    .map_err(apply_error)?;
    drop(reporter);
    report(g, printer, ou, command, &summary, aws.counter().total());
    outcome(ou, command, &summary)
}

/// One `~` line per copy: what its chain does, in order.
fn review(ou: &str, command: RunCommand, chains: &[Chain], source: &str) -> String {
    let verb = if command == RunCommand::Rollback { "Rollback of the cutover" } else { "Cutover" };
    let mut out = format!("{verb} of OU {ou} (source account {source}):\n");
    for chain in chains {
        let what = chain
            .phases
            .iter()
            .map(|p| match p {
                Phase::TargetUp => "copy to the source's desired count, wait until steady",
                Phase::SourceDown => "source to 0",
                Phase::TargetOn => "copy to the source's state",
                Phase::SourceOff => "source DISABLED",
                Phase::SourceUp => "source back to its recorded count, wait until steady",
                Phase::TargetDown => "copy to 0",
                Phase::SourceOn => "source back to its recorded state",
                Phase::TargetOff => "copy DISABLED",
                Phase::SourceHold => "hold the source's stage after its source stage",
                Phase::SourceRelease => "release the source's held stage",
            })
            .collect::<Vec<_>>()
            .join(", then ");
        // `OU/ACCOUNT-NAME/KIND:NAME`: the account by its name (its id may not be known yet).
        let mut parts = chain.copy.address.splitn(3, '/').skip(1);
        let (account, copy) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        out.push_str(&format!("  ~ {copy} in {account}: {what}\n"));
    }
    if chains.is_empty() {
        out.push_str("  (no copied services, rules, schedules or pipelines: nothing to switch)\n");
    }
    out
}

fn report(
    g: &GlobalArgs,
    printer: &Printer,
    ou: &str,
    command: RunCommand,
    s: &RunSummary,
    calls: u64,
) {
    if g.output == Output::Json {
        printer.data(&ApplyEvent::Summary(SummaryEvent::new(ou, s, calls)).to_line());
        return;
    }
    let n = |f: fn(&StepStatus) -> bool| s.count(f);
    let mut out = String::new();
    for (address, status) in &s.statuses {
        match status {
            StepStatus::Failed { error } => out.push_str(&format!("  ✗ {address}: {error}\n")),
            StepStatus::Blocked { by } => {
                out.push_str(&format!("  - {address}: not run, waits for {by}\n"))
            }
            _ => {}
        }
    }
    out.push_str(&format!(
        "{} of OU {ou}: {} changed, {} unchanged, {} already done, {} failed, {} blocked ({calls} API calls, {:.1} s).\n",
        if command == RunCommand::Rollback { "Rollback" } else { "Cutover" },
        n(|x| matches!(x, StepStatus::Changed)),
        n(|x| matches!(x, StepStatus::Unchanged | StepStatus::NoOp)),
        n(|x| matches!(x, StepStatus::AlreadyDone)),
        s.failed(),
        s.blocked(),
        s.elapsed.as_secs_f64()
    ));
    printer.data(&out);
}

fn outcome(ou: &str, command: RunCommand, s: &RunSummary) -> Result<ExitStatus, CliError> {
    if let Some((address, StepStatus::Failed { error })) =
        s.statuses.iter().find(|(_, st)| matches!(st, StepStatus::Failed { .. }))
    {
        return Err(CliError::failure(format!(
            "{} of OU {ou}: {} actions failed (first: {address}: {error})",
            command.as_str(),
            s.failed()
        ))
        .hint("fix the cause and run the same command again: succeeded actions are skipped"));
    }
    Ok(ExitStatus::Success)
}
