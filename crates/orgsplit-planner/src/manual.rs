//! Manual items are contagious: a copy that needs something orgsplit will not create (a
//! cluster with an Auto Scaling capacity provider, a service with no network) cannot be made
//! by apply either. Left as a copy, it would run after the manual item "completes" and fail
//! in the target account (`ClusterNotFoundException` for a service on a cluster that was never
//! made). So every step that depends on a manual step becomes manual too, with a note naming
//! what it waits for, transitively. Two roles whose trust policies name each other are manual
//! from the start.

use orgsplit_model::Action;
use orgsplit_model::plan::{OuPlan, Step};
use std::collections::BTreeSet;

pub(crate) fn propagate(organization: &mut [Step], ous: &mut [OuPlan]) {
    loop {
        let manual: BTreeSet<String> = all(organization, ous)
            .filter(|s| s.action == Action::Manual)
            .map(|s| s.address.clone())
            .collect();
        let mut changed = false;
        for step in all_mut(organization, ous) {
            if step.action == Action::Manual || !step.action.is_change() {
                continue;
            }
            let needs: Vec<String> =
                step.depends_on.iter().filter(|d| manual.contains(*d)).cloned().collect();
            if needs.is_empty() {
                continue;
            }
            step.action = Action::Manual;
            step.depends_on.clear();
            step.notes.push(format!(
                "needs {}, a manual item: once that exists in this account, create this by hand too",
                needs.join(", ")
            ));
            changed = true;
        }
        if !changed {
            return;
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
