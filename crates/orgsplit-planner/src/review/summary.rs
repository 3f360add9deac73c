//! The review of a big plan: per account, how many steps of each kind and action.

use orgsplit_model::plan::{Action, Step, StepKind};
use std::collections::BTreeMap;
use std::fmt::Write;

use super::Painter;
use super::filter::kind_name;

/// In a summary, the most unclassified resources, ignored ones and warnings listed one by one.
pub const LIST_MAX_ITEMS: usize = 20;

const ACTIONS: [Action; 6] =
    [Action::Create, Action::Update, Action::Move, Action::Delete, Action::Manual, Action::NoOp];

/// Per step kind, how many steps of each action: a workloads account's copies, counted as
/// they are written instead of kept (`orgsplit plan` of a large plan).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepCounts(BTreeMap<StepKind, [usize; ACTIONS.len()]>);

impl StepCounts {
    pub fn add(&mut self, step: &Step) {
        let column = ACTIONS.iter().position(|a| *a == step.action).unwrap_or(0);
        self.0.entry(step.kind()).or_default()[column] += 1;
    }

    pub fn total(&self) -> usize {
        self.0.values().flatten().sum()
    }

    /// Whether any step counted changes something.
    pub fn has_changes(&self) -> bool {
        self.0.values().any(|cells| ACTIONS.iter().zip(cells).any(|(a, n)| *n > 0 && a.is_change()))
    }
}

/// Per account (`OU/ACCOUNT`), its steps counted instead of listed.
pub type Tallies = BTreeMap<String, StepCounts>;

/// A table: one row per step kind, one column per action, `.` for none. `tally` holds more
/// steps of the same account, counted already.
pub(super) fn write_counts(
    out: &mut String,
    p: &Painter,
    steps: &[&Step],
    tally: Option<&StepCounts>,
    indent: &str,
    counts: &mut BTreeMap<Action, usize>,
) {
    let mut by_kind = tally.cloned().unwrap_or_default();
    for step in steps {
        by_kind.add(step);
    }
    if by_kind.0.is_empty() {
        return;
    }
    for cells in by_kind.0.values() {
        for (action, n) in ACTIONS.iter().zip(cells) {
            if *n > 0 {
                *counts.entry(*action).or_default() += n;
            }
        }
    }
    let rows: Vec<(String, [usize; ACTIONS.len()])> =
        by_kind.0.into_iter().map(|(k, c)| (kind_name(k), c)).collect();
    let kind_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max("kind".len());
    let number_width = rows.iter().flat_map(|r| r.1).max().unwrap_or(0).to_string().len().max(1);
    let mut head = format!("{:kind_width$}", "kind");
    for action in ACTIONS {
        let _ = write!(head, "  {:>number_width$}", action.symbol());
    }
    let _ = writeln!(out, "{indent}{}", p.dim(head.trim_end()));
    for (kind, cells) in rows {
        let mut line = format!("{kind:kind_width$}");
        for n in cells {
            let cell = if n == 0 { ".".to_string() } else { n.to_string() };
            let _ = write!(line, "  {cell:>number_width$}");
        }
        let _ = writeln!(out, "{indent}{line}");
    }
}
