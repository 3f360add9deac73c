//! `orgsplit status PLAN`: per OU, account and step, the state its journal records.

use orgsplit_apply::{group_of, journal_path};
use orgsplit_model::Action;
use orgsplit_model::journal::StepState;
use orgsplit_model::plan::StepOutline;
use serde_json::json;
use std::path::Path;

use crate::cli::{GlobalArgs, Output};
use crate::context::read_plan_outline;
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

fn state_of(step: &StepOutline, state: Option<&StepState>) -> (&'static str, Option<String>) {
    match (step.action, state) {
        (_, Some(StepState::Succeeded { changed: true, .. })) => ("done", None),
        (_, Some(StepState::Succeeded { changed: false, .. })) => ("done (was in place)", None),
        (_, Some(StepState::Interrupted)) => ("interrupted", None),
        (_, Some(StepState::Failed { error })) => ("failed", Some(error.clone())),
        (_, Some(StepState::Waiting { message, url })) => (
            "waiting",
            Some(match url {
                Some(u) => format!("{message} ({u})"),
                None => message.clone(),
            }),
        ),
        (Action::NoOp, None) => ("no-op", None),
        (Action::Manual, None) => ("manual", None),
        (_, None) => ("pending", None),
    }
}

pub fn run(g: &GlobalArgs, path: &Path, printer: &Printer) -> Result<ExitStatus, CliError> {
    // The outline: a read-only report need not parse and re-serialise every step's inputs
    // to check the digest (apply, cutover and cleanup do).
    // The plan and its journal are read side by side: both are pure reads, and at 100,000
    // steps each is mostly the kernel handing out fresh memory for the file's text, which two
    // cores do in half the time (measured in docs/performance.md). A bad plan is reported
    // before a bad journal, as when they were read one after the other.
    let journal = journal_path(path);
    let (plan, records) = std::thread::scope(|scope| {
        let records = scope.spawn(|| orgsplit_apply::journal::read(&journal));
        let plan = read_plan_outline(path);
        (plan, records.join().expect("reading the journal does not panic"))
    });
    let plan = plan?;
    let records = records.map_err(|e| CliError::invalid(e.to_string()))?;
    if let Some(other) = records.iter().find(|r| r.plan_digest != plan.digest) {
        return Err(CliError::refused(format!(
            "{}: belongs to another plan (digest {})",
            journal.display(),
            other.plan_digest
        )));
    }
    let states = orgsplit_model::journal::fold(&records);
    // The JSON rows only when they are printed: a plan of 100,000 steps would build as many
    // JSON objects for nothing.
    let json_rows = matches!(g.output, Output::Json);
    let mut rows = Vec::new();
    let mut text = String::new();
    let mut sections: Vec<(String, Vec<&StepOutline>)> =
        vec![("organization".into(), plan.organization.iter().collect())];
    for ou in &plan.ous {
        sections.push((format!("OU {}", ou.name), ou.steps.iter().collect()));
        for a in &ou.accounts {
            let id = a.account_id.clone().or_else(|| {
                match states.get(&format!("{}/{}/account", ou.name, a.name)) {
                    Some(StepState::Succeeded { outputs, .. }) => {
                        outputs.get("account_id").cloned()
                    }
                    _ => None,
                }
            });
            sections.push((
                format!(
                    "OU {} / account {} ({})",
                    ou.name,
                    a.name,
                    id.as_deref().unwrap_or("not created yet")
                ),
                a.steps.iter().collect(),
            ));
        }
    }
    for (title, steps) in &sections {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        let mut details = String::new();
        for step in steps {
            let (state, detail) = state_of(step, states.get(&step.address));
            *counts.entry(state).or_default() += 1;
            if matches!(state, "failed" | "waiting" | "interrupted") {
                details.push_str(&format!(
                    "    {state}: {}{}\n",
                    step.address,
                    detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
                ));
            }
            if json_rows {
                rows.push(json!({
                    "address": step.address,
                    "group": group_of(&step.address),
                    "action": step.action,
                    "state": state,
                    "detail": detail,
                }));
            }
        }
        let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        text.push_str(&format!("{title}: {}\n{details}", summary.join(", ")));
    }
    // Cutover, rollback and cleanup actions are derived, not planned: they are listed from the
    // journal, per command, OU and generation (cleanup's act in the shared account).
    let mut derived: std::collections::BTreeMap<String, Vec<(&String, &StepState)>> =
        Default::default();
    for (address, state) in &states {
        let title = match address.split('/').collect::<Vec<_>>().as_slice() {
            ["cleanup", ..] => "cleanup of the shared account".to_string(),
            [command @ ("cutover" | "rollback"), generation, ou, ..] => {
                format!("OU {ou} {command} (generation {generation})")
            }
            _ => continue,
        };
        derived.entry(title).or_default().push((address, state));
    }
    for (title, actions) in &derived {
        let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
        let mut details = String::new();
        for (address, state) in actions {
            let (label, detail) = match state {
                StepState::Succeeded { changed: true, .. } => ("done", None),
                StepState::Succeeded { changed: false, .. } => ("done (was in place)", None),
                StepState::Interrupted => ("interrupted", None),
                StepState::Failed { error } => ("failed", Some(error.clone())),
                StepState::Waiting { message, .. } => ("waiting", Some(message.clone())),
            };
            *counts.entry(label).or_default() += 1;
            if let Some(d) = &detail {
                details.push_str(&format!("    {label}: {address}: {d}\n"));
            }
            if !json_rows {
                continue;
            }
            rows.push(json!({
                "address": address,
                "group": group_of(address),
                "action": null,
                "state": label,
                "detail": detail,
            }));
        }
        let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        text.push_str(&format!("{title}: {}\n{details}", summary.join(", ")));
    }
    match g.output {
        Output::Json => printer.data(
            &serde_json::to_string_pretty(
                &json!({"plan": path.display().to_string(), "digest": plan.digest, "steps": rows}),
            )
            .expect("json"),
        ),
        Output::Text => {
            if records.is_empty() {
                text.push_str("(no apply has run for this plan yet)\n");
            }
            printer.data(&text)
        }
    }
    Ok(ExitStatus::Success)
}
