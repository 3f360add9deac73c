//! The review: a plan rendered for a person, like `terraform plan`. Grouped by OU and
//! account; every line is one step with its symbol, its address tail and why it exists.

use orgsplit_model::plan::{Action, Plan, Step};
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, Default)]
pub struct ReviewOptions {
    /// Only this OU (the organization section is always shown: every apply needs it).
    pub ou: Option<String>,
    pub color: bool,
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
    fn symbol(&self, action: Action) -> String {
        let code = match action {
            Action::Create => "32",
            Action::Update => "33",
            Action::Move => "36",
            Action::Delete => "31",
            Action::Manual => "35",
            Action::NoOp => "2",
        };
        self.paint(code, &action.symbol().to_string())
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
}

const MAX_WIDTH: usize = 56;

fn write_steps(
    out: &mut String,
    p: &Painter,
    steps: &[Step],
    prefix: &str,
    indent: &str,
    counts: &mut BTreeMap<Action, usize>,
) {
    let tails: Vec<&str> =
        steps.iter().map(|s| s.address.strip_prefix(prefix).unwrap_or(&s.address)).collect();
    let width = tails.iter().map(|t| t.chars().count()).max().unwrap_or(0).min(MAX_WIDTH);
    for (step, tail) in steps.iter().zip(tails) {
        *counts.entry(step.action).or_default() += 1;
        let pad = width.saturating_sub(tail.chars().count());
        let _ = writeln!(
            out,
            "{indent}{} {tail}{}  {}",
            p.symbol(step.action),
            " ".repeat(pad),
            p.dim(&step.reason)
        );
        for note in &step.notes {
            let _ = writeln!(out, "{indent}    {}", p.dim(&format!("# {note}")));
        }
    }
}

pub fn render_review(plan: &Plan, options: &ReviewOptions) -> String {
    let p = Painter { color: options.color };
    let mut out = String::new();
    let mut counts: BTreeMap<Action, usize> = BTreeMap::new();
    let _ = writeln!(
        out,
        "{} organization {} (management account {}), source account {}",
        p.bold("orgsplit plan:"),
        plan.organization_id,
        plan.management_account_id,
        plan.source_account_id
    );
    let _ = writeln!(
        out,
        "  regions {}; created {}; orgsplit {}",
        plan.regions.join(", "),
        plan.created_at,
        plan.orgsplit_version
    );
    let _ = writeln!(out, "  config {}", plan.config_digest);
    let _ = writeln!(out, "  inventory {}", plan.inventory_digest);
    let _ = writeln!(out, "  {}", p.dim("+ create  ~ update  > move  - delete  ! manual  = no-op"));

    let _ = writeln!(out, "\n{}", p.bold("Organization"));
    write_steps(&mut out, &p, &plan.organization, "organization/", "  ", &mut counts);

    for ou in &plan.ous {
        if options.ou.as_ref().is_some_and(|only| only != &ou.name) {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{}",
            p.bold(&format!(
                "OU {} (environment {}, admin account {})",
                ou.name, ou.environment, ou.admin_account
            ))
        );
        write_steps(&mut out, &p, &ou.steps, &format!("{}/", ou.name), "  ", &mut counts);
        for acc in &ou.accounts {
            let state = match &acc.account_id {
                Some(id) => format!("account {id}"),
                None => "new account".to_string(),
            };
            let role = if acc.workloads {
                format!(", receives the {} workloads", ou.environment)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "\n  {}",
                p.bold(&format!("{} <{}> ({state}{role})", acc.name, acc.email))
            );
            write_steps(
                &mut out,
                &p,
                &acc.steps,
                &format!("{}/{}/", ou.name, acc.name),
                "    ",
                &mut counts,
            );
        }
    }

    if !plan.unclassified.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            p.bold(&format!(
                "Unclassified ({}): apply refuses until a rule covers them",
                plan.unclassified.len()
            ))
        );
        for r in &plan.unclassified {
            let _ = writeln!(
                out,
                "  ? {}:{}  {}",
                r.kind,
                r.name,
                p.dim(&format!("{} ({})", r.arn, r.reason))
            );
        }
    }
    let ignored: Vec<_> = plan.resources.iter().filter(|r| r.environment == "ignore").collect();
    if !ignored.is_empty() {
        let _ = writeln!(out, "\n{}", p.bold(&format!("Ignored ({})", ignored.len())));
        for r in ignored {
            let _ = writeln!(out, "  - {}:{}  {}", r.kind, r.name, p.dim(&r.reason));
        }
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\n{}", p.bold(&format!("Warnings ({})", plan.warnings.len())));
        for w in &plan.warnings {
            match &w.subject {
                Some(s) => {
                    let _ = writeln!(out, "  ! {s}: {}", w.message);
                }
                None => {
                    let _ = writeln!(out, "  ! {}", w.message);
                }
            }
        }
    }
    coverage(&mut out, plan, &p);
    let n = |a: Action| counts.get(&a).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{} {} to create, {} to update, {} to move, {} to delete, {} manual, {} unchanged.",
        p.bold("Plan:"),
        n(Action::Create),
        n(Action::Update),
        n(Action::Move),
        n(Action::Delete),
        n(Action::Manual),
        n(Action::NoOp)
    );
    out
}

/// What the inventory saw beyond the migrated kinds: the kinds it listed directly (so an
/// untagged one is a manual item too), the listings that failed, and what no listing sees.
fn coverage(out: &mut String, plan: &Plan, p: &Painter) {
    if plan.coverage.is_empty() {
        return;
    }
    let mut listed: Vec<&str> = Vec::new();
    let mut failed = Vec::new();
    for c in &plan.coverage {
        match &c.error {
            None if !listed.contains(&c.listing.as_str()) => listed.push(&c.listing),
            None => {}
            Some(why) => failed.push(format!("{} in {} ({why})", c.listing, c.region)),
        }
    }
    let _ = writeln!(out, "\n{}", p.bold("Coverage"));
    let _ = writeln!(
        out,
        "  listed directly, tagged or not (manual items: orgsplit does not migrate them): {}",
        listed.join(", ")
    );
    for f in &failed {
        let _ =
            writeln!(out, "  ! could not list {f}: resources of that kind are not in this plan");
    }
    let _ = writeln!(
        out,
        "  {}",
        p.dim("not seen: resources of other kinds that never carried a tag (the Tagging API lists only tagged resources)")
    );
}
