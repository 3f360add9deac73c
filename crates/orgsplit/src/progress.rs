//! Progress bars (indicatif) for the libraries' reporters, drawn on stderr only when it is a
//! terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use orgsplit_apply::events::{ApplyEvent, StepEvent};
use std::sync::Mutex;
use std::time::Duration;

/// One spinner line on stderr (drawn only when `visible`), ticking on its own.
fn spinner(visible: bool, template: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        None,
        if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() },
    );
    bar.set_style(ProgressStyle::with_template(template).expect("template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Inventory progress: one spinner line naming what runs and what finished.
pub struct InventoryProgress {
    bar: ProgressBar,
    running: Mutex<Vec<String>>,
}

impl InventoryProgress {
    pub fn new(visible: bool) -> Self {
        let bar = spinner(
            visible,
            "{spinner} inventory [{elapsed}] {pos} done, {prefix} resources; {msg}",
        );
        bar.set_prefix("0");
        InventoryProgress { bar, running: Mutex::new(Vec::new()) }
    }

    fn show_running(&self) {
        let running = self.running.lock().expect("progress lock");
        self.bar.set_message(if running.is_empty() {
            String::new()
        } else {
            format!("reading {}", running.join(", "))
        });
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl orgsplit_inventory::Reporter for InventoryProgress {
    fn collector_started(&self, name: &str) {
        self.running.lock().expect("progress lock").push(name.to_string());
        self.show_running();
    }

    fn collector_finished(&self, name: &str, resources: usize) {
        self.running.lock().expect("progress lock").retain(|n| n != name);
        let total = self.bar.prefix().parse::<usize>().unwrap_or(0) + resources;
        self.bar.set_prefix(total.to_string());
        self.bar.inc(1);
        self.show_running();
    }
}

/// Audit progress: one spinner line counting accounts and naming those being read.
pub struct AuditProgress {
    bar: ProgressBar,
    running: Mutex<Vec<String>>,
}

impl AuditProgress {
    pub fn new(visible: bool) -> Self {
        let bar = spinner(visible, "{spinner} audit [{elapsed}] {pos} accounts read; {msg}");
        AuditProgress { bar, running: Mutex::new(Vec::new()) }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl orgsplit_audit::Reporter for AuditProgress {
    fn account_started(&self, account_id: &str, name: &str) {
        let mut running = self.running.lock().expect("progress lock");
        running.push(format!("{name} ({account_id})"));
        self.bar.set_message(format!("reading {}", running.join(", ")));
    }

    fn account_finished(&self, account_id: &str, _findings: Option<usize>) {
        let mut running = self.running.lock().expect("progress lock");
        running.retain(|r| !r.ends_with(&format!("({account_id})")));
        self.bar.set_message(format!("reading {}", running.join(", ")));
        self.bar.inc(1);
    }
}

/// Apply progress: a bar per account (and one for the organization's and each OU's own
/// steps), each naming the step it runs.
pub struct ApplyProgress {
    multi: indicatif::MultiProgress,
    bars: Mutex<std::collections::BTreeMap<String, ProgressBar>>,
}

impl ApplyProgress {
    pub fn new(visible: bool) -> Self {
        let multi = indicatif::MultiProgress::with_draw_target(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        ApplyProgress { multi, bars: Mutex::new(std::collections::BTreeMap::new()) }
    }

    fn bar(&self, step: &orgsplit_model::Step) -> Option<ProgressBar> {
        let group = orgsplit_apply::group_of(&step.address);
        self.bars.lock().expect("progress lock").get(group).cloned()
    }
}

impl orgsplit_apply::Reporter for ApplyProgress {
    fn run_started(&self, _ou: &str, steps: &[&orgsplit_model::Step]) {
        let mut bars = self.bars.lock().expect("progress lock");
        let style = ProgressStyle::with_template("{prefix:>20} [{bar:24}] {pos}/{len} {wide_msg}")
            .expect("template")
            .progress_chars("=> ");
        for step in steps {
            let group = orgsplit_apply::group_of(&step.address).to_string();
            let bar = bars.entry(group.clone()).or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(0));
                bar.set_style(style.clone());
                bar.set_prefix(group);
                bar
            });
            bar.inc_length(1);
        }
    }

    fn step_started(&self, step: &orgsplit_model::Step) {
        if let Some(bar) = self.bar(step) {
            let name = step.address.rsplit_once('/').map_or(step.address.as_str(), |(_, n)| n);
            bar.set_message(name.to_string());
        }
    }

    fn step_waiting(&self, step: &orgsplit_model::Step, message: &str) {
        if let Some(bar) = self.bar(step) {
            bar.set_message(message.to_string());
        }
    }

    fn step_finished(&self, step: &orgsplit_model::Step, status: &orgsplit_apply::StepStatus) {
        if let Some(bar) = self.bar(step) {
            bar.inc(1);
            if let orgsplit_apply::StepStatus::Failed { .. } = status {
                let _ = self.multi.println(format!("failed: {}", step.address));
            }
            if bar.position() >= bar.length().unwrap_or(0) {
                bar.finish_with_message("done");
            }
        }
    }
}

impl Drop for ApplyProgress {
    fn drop(&mut self) {
        let _ = self.multi.clear();
    }
}

/// `--output json`: one JSON object per line on stdout for every step that finishes
/// (`orgsplit_apply::events`).
pub struct NdjsonReporter {
    printer: crate::printer::Printer,
}

impl NdjsonReporter {
    pub fn new(printer: crate::printer::Printer) -> Self {
        NdjsonReporter { printer }
    }
}

impl orgsplit_apply::Reporter for NdjsonReporter {
    fn step_finished(&self, step: &orgsplit_model::Step, status: &orgsplit_apply::StepStatus) {
        let event = ApplyEvent::Step(StepEvent::new(step, status));
        self.printer.data(&event.to_line());
    }
}

/// The progress of apply and cutover: NDJSON events with `--output json`, else the bars.
pub fn step_reporter(
    output: crate::cli::Output,
    printer: &crate::printer::Printer,
) -> Box<dyn orgsplit_apply::Reporter> {
    match output {
        crate::cli::Output::Json => Box::new(NdjsonReporter::new(*printer)),
        crate::cli::Output::Text => Box::new(ApplyProgress::new(printer.progress)),
    }
}
