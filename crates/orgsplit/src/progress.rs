//! Progress bars (indicatif) for the libraries' reporters, drawn on stderr only when it is a
//! terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Mutex;
use std::time::Duration;

/// Inventory progress: one spinner line naming what runs and what finished.
pub struct InventoryProgress {
    bar: ProgressBar,
    running: Mutex<Vec<String>>,
}

impl InventoryProgress {
    pub fn new(visible: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            None,
            if visible {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} inventory [{elapsed}] {pos} done, {prefix} resources; {msg}",
            )
            .expect("template"),
        );
        bar.set_prefix("0");
        bar.enable_steady_tick(Duration::from_millis(120));
        InventoryProgress {
            bar,
            running: Mutex::new(Vec::new()),
        }
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
        self.running
            .lock()
            .expect("progress lock")
            .push(name.to_string());
        self.show_running();
    }

    fn collector_finished(&self, name: &str, resources: usize) {
        self.running
            .lock()
            .expect("progress lock")
            .retain(|n| n != name);
        let total = self.bar.prefix().parse::<usize>().unwrap_or(0) + resources;
        self.bar.set_prefix(total.to_string());
        self.bar.inc(1);
        self.show_running();
    }
}
