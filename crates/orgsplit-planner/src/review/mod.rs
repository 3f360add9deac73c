//! The review: a plan rendered for a person, like `terraform plan`. Grouped by OU and
//! account; every line is one step with its symbol, its address tail and why it exists.

use orgsplit_model::plan::{Action, OuPlan, Plan, Step};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

mod filter;
mod summary;

pub use filter::{FilterError, StepFilter};
pub use summary::{StepCounts, Tallies};

/// How the accounts' steps are shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Listing {
    /// Each step when at most [`LISTING_MAX_STEPS`] are selected, else the summary.
    #[default]
    Auto,
    /// Each step, whatever the count.
    Full,
    /// Per account, a count of steps by kind and action.
    Summary,
}

/// Above this many selected steps, [`Listing::Auto`] summarises: a listing of 100,000 lines
/// is not a review.
pub const LISTING_MAX_STEPS: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct ReviewOptions {
    /// Only this OU (the organization section is always shown: every apply needs it).
    pub ou: Option<String>,
    pub color: bool,
    pub filter: StepFilter,
    pub listing: Listing,
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
    steps: &[&Step],
    prefix: &str,
    indent: &str,
    counts: &mut BTreeMap<Action, usize>,
    resource_reasons: &HashMap<&str, &str>,
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
            p.dim(step_reason(step, resource_reasons))
        );
        for note in &step.notes {
            let _ = writeln!(out, "{indent}    {}", p.dim(&format!("# {note}")));
        }
    }
}

/// A step's reason: its own, or (a resource's step, format 5) its resource entry's.
fn step_reason<'a>(step: &'a Step, resource_reasons: &HashMap<&str, &'a str>) -> &'a str {
    if step.reason.is_empty() {
        resource_reasons.get(step.address.as_str()).copied().unwrap_or_default()
    } else {
        &step.reason
    }
}

/// The OUs the options show, each with the accounts the filter keeps.
fn shown_ous<'a>(plan: &'a Plan, options: &'a ReviewOptions) -> impl Iterator<Item = &'a OuPlan> {
    plan.ous.iter().filter(|ou| options.ou.as_ref().is_none_or(|only| only == &ou.name))
}

/// The steps the options select, in the review's order: the organization's, then each
/// shown OU's own and its accounts'.
pub fn selected_steps<'a>(plan: &'a Plan, options: &'a ReviewOptions) -> Vec<&'a Step> {
    let f = &options.filter;
    let outside = |steps: &'a [Step]| {
        let selects = f.selects_outside_accounts();
        steps.iter().filter(move |s| selects && f.selects_step(s))
    };
    let mut out: Vec<&Step> = outside(&plan.organization).collect();
    for ou in shown_ous(plan, options) {
        out.extend(outside(&ou.steps));
        for account in ou.accounts.iter().filter(|a| f.selects_account(a)) {
            out.extend(account.steps.iter().filter(|s| f.selects_step(s)));
        }
    }
    out
}

pub fn render_review(plan: &Plan, options: &ReviewOptions) -> String {
    render_review_counted(plan, &Tallies::new(), options)
}

/// The review of a plan some of whose accounts' steps were counted (`tallies`, by `OU/ACCOUNT`)
/// instead of kept: those accounts are summarised whatever the options' listing, and their
/// counted steps are selected by an empty filter only.
pub fn render_review_counted(plan: &Plan, tallies: &Tallies, options: &ReviewOptions) -> String {
    let p = Painter { color: options.color };
    let f = &options.filter;
    let none = Tallies::new();
    let tallies = if f.is_empty() { tallies } else { &none };
    let selected = selected_steps(plan, options).len()
        + tallies.values().map(StepCounts::total).sum::<usize>();
    let full = tallies.is_empty()
        && match options.listing {
            Listing::Full => true,
            Listing::Summary => false,
            Listing::Auto => selected <= LISTING_MAX_STEPS,
        };
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
    if !plan.limits.is_default() {
        // Apply paces its calls by these, not by the defaults: the reviewer sees it.
        let _ = writeln!(out, "  limits {}", describe_limits(&plan.limits));
    }
    let _ = writeln!(out, "  {}", p.dim("+ create  ~ update  > move  - delete  ! manual  = no-op"));
    if !f.is_empty() {
        let _ =
            writeln!(out, "  {}", p.dim(&format!("showing {selected} steps: {}", f.describe())));
    }
    // A resource's steps state their reason in its entry: looked up for the full listing.
    let resource_reasons: HashMap<&str, &str> = if full {
        let entries = plan.resources.iter().chain(&plan.unclassified);
        entries.flat_map(|r| r.steps.iter().map(|a| (a.as_str(), r.reason.as_str()))).collect()
    } else {
        HashMap::new()
    };
    // One account's (or one OU's own) steps: each one, or their counts by kind.
    let section = |out: &mut String,
                   counts: &mut BTreeMap<Action, usize>,
                   steps: &[Step],
                   prefix: &str,
                   indent: &str| {
        let steps: Vec<&Step> = steps.iter().filter(|s| f.selects_step(s)).collect();
        if full {
            write_steps(out, &p, &steps, prefix, indent, counts, &resource_reasons);
        } else {
            let tally = tallies.get(prefix.trim_end_matches('/'));
            summary::write_counts(out, &p, &steps, tally, indent, counts);
        }
    };

    // Unfiltered, every section is shown, empty or not; filtered, only those with a step.
    let any = |steps: &[Step]| f.is_empty() || steps.iter().any(|s| f.selects_step(s));
    let outside = f.selects_outside_accounts();
    if outside && any(&plan.organization) {
        let _ = writeln!(out, "\n{}", p.bold("Organization"));
        section(&mut out, &mut counts, &plan.organization, "organization/", "  ");
    }
    for ou in shown_ous(plan, options) {
        let accounts: Vec<_> =
            ou.accounts.iter().filter(|a| f.selects_account(a) && any(&a.steps)).collect();
        let own = outside && any(&ou.steps);
        if accounts.is_empty() && !own && !f.is_empty() {
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
        if own {
            section(&mut out, &mut counts, &ou.steps, &format!("{}/", ou.name), "  ");
        }
        for acc in accounts {
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
            section(
                &mut out,
                &mut counts,
                &acc.steps,
                &format!("{}/{}/", ou.name, acc.name),
                "    ",
            );
        }
    }

    // A filter selects steps: the plan-wide lists below are the whole plan's, so they are
    // left to the unfiltered review.
    if f.is_empty() {
        let most = if full { usize::MAX } else { summary::LIST_MAX_ITEMS };
        resource_lists(&mut out, plan, &p, most);
        coverage(&mut out, plan, &p);
    }
    let n = |a: Action| counts.get(&a).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "\n{} {} to create, {} to update, {} to move, {} to delete, {} manual, {} unchanged.",
        p.bold(if f.is_empty() { "Plan:" } else { "Selected:" }),
        n(Action::Create),
        n(Action::Update),
        n(Action::Move),
        n(Action::Delete),
        n(Action::Manual),
        n(Action::NoOp)
    );
    if !full {
        let _ = writeln!(
            out,
            "{}",
            p.dim(&format!(
                "(counts of {selected} steps by kind; `orgsplit show PLAN --full` lists each one, \
                 --account, --kind and --address select)"
            ))
        );
    }
    out
}

/// The unclassified resources (every one: apply refuses while any remains), then the ignored
/// ones and the warnings, up to `most` each.
fn resource_lists(out: &mut String, plan: &Plan, p: &Painter, most: usize) {
    let more = |out: &mut String, total: usize| {
        if total > most {
            let rest = total - most;
            let _ = writeln!(
                out,
                "  {}",
                p.dim(&format!("… and {rest} more (orgsplit show PLAN --full)"))
            );
        }
    };
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
        for r in ignored.iter().take(most) {
            let _ = writeln!(out, "  - {}:{}  {}", r.kind, r.name, p.dim(&r.reason));
        }
        more(out, ignored.len());
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\n{}", p.bold(&format!("Warnings ({})", plan.warnings.len())));
        for w in plan.warnings.iter().take(most) {
            match &w.subject {
                Some(s) => {
                    let _ = writeln!(out, "  ! {s}: {}", w.message);
                }
                None => {
                    let _ = writeln!(out, "  ! {}", w.message);
                }
            }
        }
        more(out, plan.warnings.len());
    }
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

/// `[limits]` as the config says it: `off`, or each ceiling (`ssm:PutParameter 10/s burst 10`).
fn describe_limits(limits: &orgsplit_model::config::Limits) -> String {
    if !limits.enabled {
        return "off (no client-side limit)".into();
    }
    limits
        .rates
        .iter()
        .map(|(key, l)| format!("{key} {}/s burst {}", l.rate, l.burst))
        .collect::<Vec<_>>()
        .join(", ")
}
