//! `orgsplit trigger handle | install | serve-lambda`.

use orgsplit_trigger::forward::{FORWARD_RULE_NAME, forward};
use orgsplit_trigger::install::{EVENTS_REGION, Target, install};
use orgsplit_trigger::sqs::{ConsumeOptions, MessageOutcome, consume};
use orgsplit_trigger::trail::TrailCheck;
use orgsplit_trigger::{Handled, TriggerError, handle, parse};
use serde_json::json;
use std::io::Read;
use std::time::Instant;

use crate::cli::{GlobalArgs, Output, TriggerCommand};
use crate::context::{aws, catalog, load_config};
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;
use crate::report::{report_json, report_line};

pub async fn run(
    g: &GlobalArgs,
    command: TriggerCommand,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    match command {
        TriggerCommand::Handle { event, queue_url, follow, wait_seconds, max_messages } => {
            match queue_url {
                Some(url) => {
                    if !(0..=20).contains(&wait_seconds) {
                        return Err(CliError::invalid("--wait-seconds: 0 to 20"));
                    }
                    let opts = ConsumeOptions { wait_seconds, follow, max_messages };
                    queue(g, &url, opts, printer).await
                }
                None => one(g, event.as_deref().unwrap_or("-"), printer).await,
            }
        }
        TriggerCommand::Install { target_arn, no_trail_check } => {
            install_cmd(g, &target_arn, !no_trail_check, printer).await
        }
        TriggerCommand::ServeLambda => serve(g).await,
    }
}

fn trigger_error(e: TriggerError) -> CliError {
    match e {
        TriggerError::Reconcile { account, source } => match source {
            orgsplit_stacksets::reconcile::ReconcileError::Aws(a) => {
                let e: CliError = (*a).into();
                CliError::new(e.status, format!("account {account}: {}", e.message))
            }
            other => CliError::failure(format!("account {account}: {other}")),
        }
        .hint("the same event can be handled again: a reconcile only changes what differs"),
    }
}

async fn one(g: &GlobalArgs, from: &str, printer: &Printer) -> Result<ExitStatus, CliError> {
    let text = if from == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::invalid(format!("--event -: cannot read stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(from)
            .map_err(|e| CliError::invalid(format!("--event {from}: {e}")))?
    };
    let label = if from == "-" { "stdin" } else { from };
    let event = parse(&text).map_err(|e| CliError::invalid(format!("event {label}: {e}")))?;
    let config = load_config(g)?;
    let catalog = catalog(&config)?;
    let aws = aws(g, &config).await?;
    let started = Instant::now();
    let handled = handle(&aws, &config, &catalog, &event).await.map_err(trigger_error)?;
    let calls = aws.counter().total();
    let elapsed = started.elapsed().as_secs_f64();
    printer.data(&match g.output {
        Output::Json => outcome_json(&handled, Some((calls, elapsed))).to_string(),
        Output::Text => outcome_text(&handled),
    });
    Ok(ExitStatus::Success)
}

fn outcome_json(h: &Handled, stats: Option<(u64, f64)>) -> serde_json::Value {
    let mut v = match h {
        Handled::Ignored { why } => json!({"outcome": "ignored", "why": why}),
        Handled::Reconciled(r) => json!({
            "outcome": "reconciled",
            "event": r.event.kind.as_str(),
            "event_id": r.event.id,
            "reconcile": report_json(&r.report),
            "missing_ous": r.missing_ous,
        }),
    };
    if let Some((calls, seconds)) = stats {
        v["api_calls"] = json!(calls);
        v["seconds"] = json!((seconds * 1000.0).round() / 1000.0);
    }
    v
}

fn outcome_text(h: &Handled) -> String {
    match h {
        Handled::Ignored { why } => format!("ignored: {why}\n"),
        Handled::Reconciled(r) => format!("{}: {}", r.event.kind.as_str(), report_line(&r.report)),
    }
}

async fn queue(
    g: &GlobalArgs,
    url: &str,
    opts: ConsumeOptions,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let config = load_config(g)?;
    let catalog = catalog(&config)?;
    let aws = aws(g, &config).await?;
    let done = consume(&aws, &config, &catalog, url, opts).await.map_err(|e| match e {
        orgsplit_trigger::sqs::QueueError::Aws(a) => (*a).into(),
        other => CliError::invalid(other.to_string()),
    })?;
    let (mut reconciled, mut changed, mut ignored, mut malformed, mut failed) = (0, 0, 0, 0, 0);
    let mut text = String::new();
    let mut items = Vec::new();
    let mut first_failure = None;
    for o in &done.outcomes {
        match o {
            MessageOutcome::Handled { message_id, handled } => {
                match handled {
                    Handled::Ignored { .. } => ignored += 1,
                    Handled::Reconciled(r) => {
                        reconciled += 1;
                        changed += usize::from(r.report.changed());
                    }
                }
                text.push_str(&format!("{message_id}: {}", outcome_text(handled)));
                let mut v = outcome_json(handled, None);
                v["message_id"] = json!(message_id);
                items.push(v);
            }
            MessageOutcome::Malformed { message_id, error } => {
                malformed += 1;
                printer.warn(&format!("message {message_id}: malformed event: {error} (deleted)"));
                items.push(
                    json!({"message_id": message_id, "outcome": "malformed", "error": error}),
                );
            }
            MessageOutcome::Failed { message_id, error } => {
                failed += 1;
                text.push_str(&format!("{message_id}: failed: {error}\n"));
                first_failure.get_or_insert_with(|| error.to_string());
                items.push(json!({"message_id": message_id, "outcome": "failed", "error": error.to_string()}));
            }
        }
    }
    text.push_str(&format!(
        "Handled {} messages: {reconciled} reconciled ({changed} changed), {ignored} ignored, {malformed} malformed, {failed} failed.\n",
        done.outcomes.len()
    ));
    printer.data(&match g.output {
        Output::Json => json!({"messages": items, "api_calls": aws.counter().total()}).to_string(),
        Output::Text => text,
    });
    if let Some(e) = first_failure {
        return Err(CliError::failure(format!(
            "{failed} messages failed (first: {e}); they stay in the queue and come back after its visibility timeout"
        )));
    }
    if malformed > 0 {
        return Err(CliError::invalid(format!(
            "{malformed} messages held malformed events (deleted; see the warnings above)"
        )));
    }
    Ok(ExitStatus::Success)
}

async fn install_cmd(
    g: &GlobalArgs,
    target_arn: &str,
    trail_check: bool,
    printer: &Printer,
) -> Result<ExitStatus, CliError> {
    let target =
        Target::parse(target_arn).map_err(|e| CliError::invalid(format!("--target-arn {e}")))?;
    let region = EVENTS_REGION;
    if target.region() != region {
        return Err(CliError::invalid(format!(
            "--target-arn {target_arn}: in {}, not {region}, where Organizations' events arrive",
            target.region()
        ))
        .hint(format!("deploy the trigger's function or queue in {region} (whatever home_region is), or route events from {region} to an event bus in your Region yourself and consume them there")));
    }
    let config = load_config(g)?;
    let aws = aws(g, &config).await?;
    let (caller, _) = aws.caller().await?;
    let mgmt = aws.session(&caller).await?;
    if trail_check {
        match orgsplit_trigger::trail::check(&mgmt, region).await? {
            TrailCheck::Logging(trail) => tracing::info!(%trail, "a trail logs management events"),
            TrailCheck::Missing(why_not) => {
                let seen = if why_not.is_empty() {
                    "no trail at all".to_string()
                } else {
                    why_not.join("; ")
                };
                return Err(CliError::refused(format!(
                    "no CloudTrail trail logs management events in {region} ({seen}): MoveAccount would never reach the trigger"
                ))
                .hint(format!("create a multi-Region (or {region}) trail logging write management events and start it, or an organization trail; --no-trail-check installs anyway")));
            }
        }
    }
    let install_error = |e| match e {
        orgsplit_trigger::install::InstallError::Aws(a) => (*a).into(),
        orgsplit_trigger::install::InstallError::Region(m) => CliError::invalid(m),
        other => CliError::failure(other.to_string()),
    };
    let done = install(&mgmt, &target).await.map_err(install_error)?;
    // Control Tower's events arrive in its home Region only: forwarded from there, unless
    // that is us-east-1 already.
    let forwarded = match config.trigger.control_tower_home_region.as_deref() {
        Some(ct) if ct != region => Some(forward(&mgmt, ct).await.map_err(install_error)?),
        _ => None,
    };
    printer.data(&match g.output {
        Output::Json => serde_json::to_string_pretty(&json!({
            "rule": orgsplit_trigger::install::RULE_NAME, "region": region, "target": target_arn, "result": done,
            "control_tower_forward": forwarded,
        }))
        .expect("json"),
        Output::Text => {
            let forward_line = forwarded.as_ref().map(|f| {
                format!(
                    "{} rule {FORWARD_RULE_NAME} ({}) in account {caller} ({}) -> {region} default event bus: {}\n",
                    if f.changed() { "~" } else { " " },
                    f.rule_arn,
                    f.region,
                    if f.changed() { "written (rule, target, execution role)" } else { "already in place" }
                )
            });
            let changed = done.rule_written || done.target_written || done.permission_written;
            format!(
                "{} rule {} ({}) in account {caller} ({region}) -> {target_arn}: {}\n",
                if changed { "~" } else { " " },
                orgsplit_trigger::install::RULE_NAME,
                done.rule_arn,
                if changed {
                    [
                        (done.rule_written, "rule written"),
                        (done.target_written, "target written"),
                        (done.permission_written, "delivery permission written"),
                    ]
                    .iter()
                    .filter(|(w, _)| *w)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join(", ")
                } else {
                    "already in place".to_string()
                }
            ) + &forward_line.unwrap_or_default()
        }
    });
    Ok(ExitStatus::Success)
}

async fn serve(g: &GlobalArgs) -> Result<ExitStatus, CliError> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return Err(CliError::invalid(
            "trigger serve-lambda: AWS_LAMBDA_RUNTIME_API is not set: this runs inside AWS Lambda",
        )
        .hint("to handle one event here, use `orgsplit trigger handle --event FILE`"));
    }
    let config = load_config(g)?;
    let catalog = catalog(&config)?;
    let aws = aws(g, &config).await?;
    orgsplit_trigger::lambda::serve(aws, config, catalog)
        .await
        .map_err(|e| CliError::failure(format!("the Lambda runtime stopped: {e}")))?;
    Ok(ExitStatus::Success)
}
