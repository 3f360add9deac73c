//! The plan written as it is built (`write_plan`, what `orgsplit plan` runs): the file is the
//! one the plan read back from it writes, byte for byte, and what it returns for the review
//! gives the review of that plan, whether the copies were kept (a small plan) or counted.

mod common;

use common::*;
use orgsplit_planner::review::{LISTING_MAX_STEPS, Listing};
use orgsplit_planner::{Written, render_review_counted, write_plan};

/// An inventory of the fixture and `n` more dev parameters (the copies of the dev workloads
/// account), normalised.
fn inventory_of(n: usize) -> Inventory {
    let mut inv = inventory();
    for i in 0..n {
        inv.resources.push(param(&format!("/dev/bulk/P{i:04}"), "String", &[]));
    }
    inv.normalise();
    inv
}

fn written(inv: &Inventory) -> (String, Written) {
    let mut text = Vec::new();
    let written = write_plan(
        PlanInput {
            config: &config(),
            inventory: inv,
            stacksets: &baseline(),
            created_at: "2026-11-23T09:30:00Z".into(),
        },
        &mut text,
    )
    .unwrap();
    (String::from_utf8(text).unwrap(), written)
}

/// Also for an account of many batches of steps, which are serialised on two threads.
#[test]
fn the_file_written_as_the_plan_is_built_is_the_file_of_the_plan_it_holds() {
    for n in [0, LISTING_MAX_STEPS, 2_100] {
        let (text, written) = written(&inventory_of(n));
        let plan = Plan::from_json(&text).unwrap();
        assert_eq!(plan.to_json(), text, "{n} more parameters: the same bytes");
        assert_eq!(plan.digest, written.digest);
        assert_eq!(written.has_changes, plan.has_changes());
        let dev = plan.ou("dev").unwrap();
        let workloads = dev.accounts.iter().find(|a| a.workloads).unwrap();
        let bulk = workloads.steps.iter().filter(|s| s.address.contains("/dev/bulk/")).count();
        assert_eq!(bulk, n, "every parameter has its copy");
    }
}

#[test]
fn a_small_plan_is_kept_whole_for_its_review() {
    let (text, written) = written(&inventory_of(0));
    let plan = Plan::from_json(&text).unwrap();
    assert!(written.tallies.is_empty());
    assert_eq!(written.review, plan, "the plan itself");
}

#[test]
fn a_large_plan_is_reviewed_from_its_counts_as_from_its_steps() {
    let (text, written) = written(&inventory_of(LISTING_MAX_STEPS));
    let plan = Plan::from_json(&text).unwrap();
    assert!(plan.steps().count() > LISTING_MAX_STEPS);
    assert_eq!(
        written.tallies.keys().collect::<Vec<_>>(),
        ["dev/dev-workloads", "prod/prod-workloads"],
        "the workloads accounts' copies are counted"
    );
    assert!(
        written.review.ous.iter().flat_map(|o| &o.accounts).all(|a| a.steps.len() < 10),
        "and not kept"
    );
    for listing in [Listing::Auto, Listing::Summary] {
        let options = ReviewOptions { listing, ..ReviewOptions::default() };
        let counted = render_review_counted(&written.review, &written.tallies, &options);
        assert_eq!(counted, render_review(&plan, &options), "{listing:?}");
        assert!(counted.contains("counts of"), "summarised: {counted}");
    }
}
