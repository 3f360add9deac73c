//! Manual items are contagious: a copy that needs something orgsplit will not create (a
//! cluster with an Auto Scaling capacity provider, a service with no network) cannot be made
//! by apply either. Left as a copy, it would run after the manual item "completes" and fail
//! in the target account (`ClusterNotFoundException` for a service on a cluster that was never
//! made). So every step that depends on a manual step becomes manual too, with a note naming
//! what it waits for, transitively. Two roles whose trust policies name each other are manual
//! from the start.

use orgsplit_model::Action;
use orgsplit_model::plan::{OuPlan, Step};
use std::collections::HashSet;

pub(crate) fn propagate(organization: &mut [Step], ous: &mut [OuPlan]) {
    loop {
        // Each pass looks at the steps as the previous pass left them, then changes them: a
        // step made manual in this pass makes its dependents manual in the next one.
        let changes: Vec<(usize, Vec<String>)> = {
            let manual: HashSet<&str> = all(organization, ous)
                .filter(|s| s.action == Action::Manual)
                .map(|s| s.address.as_str())
                .collect();
            all(organization, ous)
                .enumerate()
                .filter(|(_, step)| step.action != Action::Manual && step.action.is_change())
                .filter_map(|(at, step)| {
                    let needs: Vec<String> = step
                        .depends_on
                        .iter()
                        .filter(|d| manual.contains(d.as_str()))
                        .cloned()
                        .collect();
                    (!needs.is_empty()).then_some((at, needs))
                })
                .collect()
        };
        if changes.is_empty() {
            return;
        }
        let mut changes = changes.into_iter().peekable();
        for (at, step) in all_mut(organization, ous).enumerate() {
            let Some((_, needs)) = changes.next_if(|(change_at, _)| *change_at == at) else {
                continue;
            };
            step.action = Action::Manual;
            step.depends_on.clear();
            step.notes.push(format!(
                "needs {}, a manual item: once that exists in this account, create this by hand too",
                needs.join(", ")
            ));
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

fn all<'a>(organization: &'a [Step], ous: &'a [OuPlan]) -> impl Iterator<Item = &'a Step> {
    organization.iter().chain(
        ous.iter()
            .flat_map(|ou| ou.steps.iter().chain(ou.accounts.iter().flat_map(|a| a.steps.iter()))),
    )
}

fn all_mut<'a>(
    organization: &'a mut [Step],
    ous: &'a mut [OuPlan],
) -> impl Iterator<Item = &'a mut Step> {
    organization.iter_mut().chain(ous.iter_mut().flat_map(|ou| {
        ou.steps.iter_mut().chain(ou.accounts.iter_mut().flat_map(|a| a.steps.iter_mut()))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use orgsplit_model::plan::AccountPlan;
    use orgsplit_model::step::{self, StepSpec};

    fn step(address: &str, action: Action, after: &[&str]) -> Step {
        let spec =
            StepSpec::Ou(step::Ou { name: address.into(), parent_id: "r-1".into(), ou_id: None });
        Step::new(address, action, "222222222222", spec).after(after.iter().copied())
    }

    #[test]
    fn manual_items_spread_to_their_dependents_one_pass_at_a_time() {
        let mut organization = vec![step("a", Action::Manual, &[])];
        let steps = vec![
            step("b", Action::Create, &["a"]),
            step("c", Action::Create, &["a", "b"]),
            step("d", Action::Create, &["c"]),
            step("e", Action::Create, &["x"]),
            step("f", Action::NoOp, &["a"]),
        ];
        let account = AccountPlan {
            name: "w".into(),
            email: "w@example.com".into(),
            account_id: None,
            workloads: true,
            steps,
        };
        let mut ous = vec![OuPlan {
            name: "dev".into(),
            environment: "dev".into(),
            admin_account: "dev-admin".into(),
            steps: vec![],
            accounts: vec![account],
        }];
        propagate(&mut organization, &mut ous);
        let steps = &ous[0].accounts[0].steps;
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
}
