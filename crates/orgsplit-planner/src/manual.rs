//! Manual items are contagious: a copy that needs something orgsplit will not create (a
//! cluster with an Auto Scaling capacity provider, a service with no network) cannot be made
//! by apply either. Left as a copy, it would run after the manual item "completes" and fail
//! in the target account (`ClusterNotFoundException` for a service on a cluster that was never
//! made). So every step that depends on a manual step becomes manual too, with a note naming
//! what it waits for, transitively. Two roles whose trust policies name each other are manual
//! from the start.
//!
//! The plan is settled one scope at a time, so that an account's steps can be written and
//! freed before the next account's are built: the organization's steps, then each OU's own,
//! then each account's. A step depends only on steps of its own scope or of a scope settled
//! before it (an account's steps on its own, its OU's and the organization's; an OU's on its
//! own and the organization's), never on another account's.

use foldhash::HashMap;
use orgsplit_model::Action;
use orgsplit_model::plan::Step;

/// Every manual step settled so far, with the pass that made it manual (0: manual from the
/// start). Passes are counted as if the whole plan were settled at once: in pass `k`, a step
/// that depends on a step made manual before pass `k` becomes manual, and its note names those
/// steps. So the notes do not depend on the order the scopes are settled in.
#[derive(Default)]
pub(crate) struct ManualSteps {
    since: HashMap<String, usize>,
    last_pass: usize,
}

impl ManualSteps {
    /// Settles one scope, whose steps are in `runs`.
    pub(crate) fn settle(&mut self, runs: &mut [&mut Vec<Step>]) {
        for step in runs.iter().flat_map(|r| r.iter()) {
            if step.action == Action::Manual {
                self.since.entry(step.address.clone()).or_insert(0);
            }
        }
        let mut pass = 1;
        loop {
            // Each pass looks at the steps as the previous pass left them, then changes them:
            // a step made manual in this pass makes its dependents manual in the next one.
            let manual_before = |address: &str| self.since.get(address).is_some_and(|&s| s < pass);
            let mut changes: Vec<(usize, usize, Vec<String>)> = Vec::new();
            for (run, steps) in runs.iter().enumerate() {
                for (at, step) in steps.iter().enumerate() {
                    if step.action == Action::Manual || !step.action.is_change() {
                        continue;
                    }
                    let needs: Vec<String> =
                        step.depends_on.iter().filter(|d| manual_before(d)).cloned().collect();
                    if !needs.is_empty() {
                        changes.push((run, at, needs));
                    }
                }
            }
            if changes.is_empty() && pass > self.last_pass {
                return;
            }
            for (run, at, needs) in changes {
                let step = &mut runs[run][at];
                step.action = Action::Manual;
                step.depends_on.clear();
                step.notes.push(format!(
                    "needs {}, a manual item: once that exists in this account, create this by hand too",
                    needs.join(", ")
                ));
                self.since.insert(step.address.clone(), pass);
                self.last_pass = self.last_pass.max(pass);
            }
            pass += 1;
        }
    }
}

/// A role whose trust policy names a role whose own trust names it back: neither can be
/// created first ("Invalid principal in policy"), so both are manual items.
pub(crate) fn mutual_trust(mut step: Step, others: &[String]) -> Step {
    step.action = Action::Manual;
    step.depends_on.clear();
    step.notes.push(format!(
        "its trust policy and that of role {} name each other, and AWS refuses a trust policy naming a role that does not exist yet: create one with a temporary trust, the other, then set the first one's trust, by hand",
        others.join(", ")
    ));
    step
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsplit_model::step::{self, StepSpec};

    fn step(address: &str, action: Action, after: &[&str]) -> Step {
        let spec =
            StepSpec::Ou(step::Ou { name: address.into(), parent_id: "r-1".into(), ou_id: None });
        Step::new(address, action, "222222222222", spec).after(after.iter().copied())
    }

    #[test]
    fn manual_items_spread_to_their_dependents_one_pass_at_a_time() {
        let mut organization = vec![step("a", Action::Manual, &[])];
        let mut steps = vec![
            step("b", Action::Create, &["a"]),
            step("c", Action::Create, &["a", "b"]),
            step("d", Action::Create, &["c"]),
            step("e", Action::Create, &["x"]),
            step("f", Action::NoOp, &["a"]),
        ];
        // The organization is settled first, as the planner does; the account after it.
        let mut manual = ManualSteps::default();
        manual.settle(&mut [&mut organization]);
        manual.settle(&mut [&mut steps]);
        let needs =
            |at: usize| -> Vec<&str> { steps[at].notes.iter().map(String::as_str).collect() };
        let note = |what: &str| {
            format!(
                "needs {what}, a manual item: once that exists in this account, create this by hand too"
            )
        };
        // `c` became manual in the pass that made `b` manual: its note names `a` only.
        assert_eq!(needs(0), [note("a")]);
        assert_eq!(needs(1), [note("a")]);
        assert_eq!(needs(2), [note("c")], "made manual in the second pass");
        for manual in &steps[..3] {
            assert_eq!(manual.action, Action::Manual);
            assert!(manual.depends_on.is_empty());
        }
        assert_eq!(
            (steps[3].action, steps[3].depends_on.clone()),
            (Action::Create, vec!["x".to_string()])
        );
        assert_eq!(steps[4].action, Action::NoOp, "a step that changes nothing stays as it is");
    }

    #[test]
    fn a_scope_settled_later_counts_the_passes_of_the_scopes_before_it() {
        // `a2` became manual in the organization's first pass; `z` needs `a2` and `y`, which
        // is manual from the start: as in one settling of the whole plan, `z` becomes manual in
        // the first pass and names `y` only, and `x` in the second, naming `a2`.
        let mut organization =
            vec![step("a", Action::Manual, &[]), step("a2", Action::Create, &["a"])];
        let mut steps = vec![
            step("x", Action::Create, &["a2"]),
            step("y", Action::Manual, &[]),
            step("z", Action::Create, &["a2", "y"]),
        ];
        let mut manual = ManualSteps::default();
        manual.settle(&mut [&mut organization]);
        manual.settle(&mut [&mut steps]);
        let note = |what: &str| {
            format!(
                "needs {what}, a manual item: once that exists in this account, create this by hand too"
            )
        };
        assert_eq!(organization[1].notes, [note("a")]);
        assert_eq!(steps[0].notes, [note("a2")], "made manual in the second pass");
        assert_eq!(steps[2].notes, [note("y")], "made manual in the first pass");
    }
}
