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

/// A table: one row per step kind, one column per action, `.` for none.
pub(super) fn write_counts(
    out: &mut String,
    p: &Painter,
    steps: &[&Step],
    indent: &str,
    counts: &mut BTreeMap<Action, usize>,
) {
    if steps.is_empty() {
        return;
    }
    let mut by_kind: BTreeMap<StepKind, [usize; ACTIONS.len()]> = BTreeMap::new();
    for step in steps {
        *counts.entry(step.action).or_default() += 1;
        let column = ACTIONS.iter().position(|a| *a == step.action).unwrap_or(0);
        by_kind.entry(step.kind()).or_default()[column] += 1;
    }
    let rows: Vec<(String, [usize; ACTIONS.len()])> =
        by_kind.into_iter().map(|(k, c)| (kind_name(k), c)).collect();
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
