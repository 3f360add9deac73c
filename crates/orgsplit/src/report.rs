//! How one account's reconciliation is reported, by `reconcile` and by the trigger; how a
//! command over many items (accounts, pipelines) ends.

use orgsplit_stacksets::reconcile::AccountReconcile;
use serde_json::{Value, json};

use crate::cli::Output;
use crate::exit::{CliError, ExitStatus};
use crate::printer::Printer;

/// The end of a command over many items: `command` (`reconcile`), what it did (`Reconciled`),
/// to what (`accounts`), how many it was asked for, and how many changed, did not, or failed
/// (item, error).
pub(crate) struct Batch<'a> {
    pub command: &'a str,
    pub done: &'a str,
    pub items: &'a str,
    pub asked: usize,
    pub changed: usize,
    pub unchanged: usize,
    pub failures: &'a [(String, String)],
}

impl Batch<'_> {
    /// Each failure's line, then the summary line.
    pub fn text_tail(&self, failure_prefix: &str) -> String {
        let mut text = String::new();
        for (item, error) in self.failures {
            text.push_str(&format!("{failure_prefix}{item}: failed: {error}\n"));
        }
        text.push_str(&format!(
            "{} {} {}: {} changed, {} unchanged, {} failed.\n",
            self.done,
            self.asked,
            self.items,
            self.changed,
            self.unchanged,
            self.failures.len()
        ));
        text
    }

    /// The JSON document, or the items' lines followed by the failures and the summary line.
    pub fn print(
        &self,
        printer: &Printer,
        output: Output,
        json: Value,
        lines: String,
        failure_prefix: &str,
    ) {
        match output {
            Output::Json => {
                printer.data(&serde_json::to_string_pretty(&json).expect("JSON serialises"))
            }
            Output::Text => printer.data(&(lines + &self.text_tail(failure_prefix))),
        }
    }

    /// Success, or a failure naming the first item that failed.
    pub fn status(&self) -> Result<ExitStatus, CliError> {
        let Some((item, error)) = self.failures.first() else {
            return Ok(ExitStatus::Success);
        };
        let (command, n, items) = (self.command, self.failures.len(), self.items);
        Err(CliError::failure(format!("{command}: {n} {items} failed (first: {item}: {error})"))
            .hint(format!("fix the cause and run {command} again: it only changes what differs")))
    }
}

pub(crate) fn report_json(r: &AccountReconcile) -> serde_json::Value {
    json!({
        "account": r.account_id,
        "ou": r.ou_name,
        "changed": r.changed(),
        "stacksets_created": r.stacksets_created,
        "stacksets_updated": r.stacksets_updated,
        "instances_created": r.instances_created,
        "instances_removed": r.instances_removed,
        "roles_verified": r.roles_verified,
        "skipped": r.skipped,
    })
}

pub(crate) fn report_line(r: &AccountReconcile) -> String {
    if let Some(why) = &r.skipped {
        return format!("{}: skipped: {why}\n", r.account_id);
    }
    let mut parts = Vec::new();
    for (label, items) in [
        ("StackSets created", &r.stacksets_created),
        ("StackSets updated", &r.stacksets_updated),
        ("instances created", &r.instances_created),
        ("instances removed", &r.instances_removed),
    ] {
        if !items.is_empty() {
            parts.push(format!("{label}: {}", items.join(", ")));
        }
    }
    if parts.is_empty() {
        parts.push("unchanged".into());
    }
    if !r.roles_verified.is_empty() {
        parts.push(format!("trust verified: {}", r.roles_verified.join(", ")));
    }
    format!(
        "{} (OU {}): {}\n",
        r.account_id,
        r.ou_name.as_deref().unwrap_or("none of the configured"),
        parts.join("; ")
    )
}
