//! The review of a big plan: counts per account and kind, and the filters of `orgsplit show`.

mod common;
use common::*;
use orgsplit_planner::review::{LISTING_MAX_STEPS, Listing, StepFilter, selected_steps};

fn options(filter: StepFilter, listing: Listing) -> ReviewOptions {
    ReviewOptions { filter, listing, ..ReviewOptions::default() }
}

fn filter(account: Option<&str>, kinds: &[&str], address: Option<&str>) -> StepFilter {
    let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
    StepFilter::parse(account, &kinds, address).unwrap()
}

/// A plan with more steps than the listing shows: the example inventory and `n` more dev
/// parameters.
fn big_plan(n: usize) -> Plan {
    let mut inv = inventory();
    // dev-admin exists already: it has an id to select it by.
    inv.organization.accounts.push(AccountState {
        id: "222222222222".into(),
        name: "dev-admin".into(),
        email: "aws+dev-admin@example.com".into(),
        status: "ACTIVE".into(),
        parent_id: "r-root".into(),
    });
    for i in 0..n {
        inv.resources.push(param(&format!("/dev/bulk/P{i:04}"), "String", &[]));
    }
    plan_of(&config(), inv)
}

#[test]
fn summary_snapshot() {
    insta::assert_snapshot!(render_review(
        &plan(),
        &options(StepFilter::default(), Listing::Summary)
    ));
}

#[test]
fn a_plan_over_the_listing_limit_is_summarised_and_full_lists_every_step() {
    let plan = big_plan(LISTING_MAX_STEPS);
    let total = plan.steps().count();
    assert!(total > LISTING_MAX_STEPS);
    let auto = render_review(&plan, &ReviewOptions::default());
    assert!(!auto.contains("ssm:/dev/bulk/P0000"), "summarised, not listed");
    let row = auto.lines().find(|l| l.trim_start().starts_with("ssm-parameter")).unwrap();
    let first: usize = row.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(first >= LISTING_MAX_STEPS, "{row}");
    assert!(auto.contains(&format!("(counts of {total} steps by kind;")), "{auto}");
    let full = render_review(&plan, &options(StepFilter::default(), Listing::Full));
    let listed = full.lines().filter(|l| l.contains("ssm:/dev/bulk/P")).count();
    assert_eq!(listed, LISTING_MAX_STEPS);
    // The closing counts are the same either way.
    let last = |text: &str| text.lines().find(|l| l.starts_with("Plan:")).unwrap().to_string();
    assert_eq!(last(&auto), last(&full));
    // The limit itself: 500 selected steps are listed, 501 summarised.
    let fixture = self::plan().steps().count();
    let at_limit = big_plan(LISTING_MAX_STEPS - fixture);
    assert_eq!(at_limit.steps().count(), LISTING_MAX_STEPS);
    assert!(!render_review(&at_limit, &ReviewOptions::default()).contains("counts of"));
    let over = big_plan(LISTING_MAX_STEPS + 1 - fixture);
    assert!(render_review(&over, &ReviewOptions::default()).contains("counts of 501 steps"));
    // A small plan is listed by default, as before.
    assert!(!render_review(&self::plan(), &ReviewOptions::default()).contains("counts of"));
}

#[test]
fn the_summary_counts_every_step_once() {
    let plan = big_plan(30);
    let summary = render_review(&plan, &options(StepFilter::default(), Listing::Summary));
    // Every table row: a kind, then six counts ('.' for none).
    let counted: usize = summary
        .lines()
        .map(str::split_whitespace)
        .filter_map(|mut cells| {
            let kind = cells.next()?;
            let numbers: Vec<&str> = cells.collect();
            (numbers.len() == 6 && kind != "kind")
                .then(|| numbers.iter().map(|n| n.parse::<usize>().unwrap_or(0)).sum::<usize>())
        })
        .sum();
    assert_eq!(counted, plan.steps().count());
}

#[test]
fn filters_select_by_kind_address_glob_and_account() {
    let plan = big_plan(12);
    let select = |f: StepFilter| {
        let o = options(f, Listing::Auto);
        selected_steps(&plan, &o).iter().map(|s| s.address.clone()).collect::<Vec<_>>()
    };
    let params = select(filter(None, &["ssm-parameter"], None));
    assert!(!params.is_empty());
    assert_eq!(
        params.len(),
        plan.steps().filter(|s| s.kind().eq(&orgsplit_model::StepKind::SsmParameter)).count()
    );
    let bulk = select(filter(None, &[], Some("dev/*/ssm:/dev/bulk/P000*")));
    assert_eq!(bulk.len(), 10, "{bulk:?}");
    let two_kinds = select(filter(None, &["iam-role,ssm-parameter"], None));
    assert!(two_kinds.len() > params.len());
    // By name or by id; the organization's and the OUs' own steps are in no account.
    let by_name = select(filter(Some("dev-workloads"), &[], None));
    assert!(!by_name.is_empty());
    assert!(by_name.iter().all(|a| a.starts_with("dev/dev-workloads/")), "{by_name:?}");
    let account = plan.ous.iter().flat_map(|o| &o.accounts).find(|a| a.account_id.is_some());
    let account = account.expect("the example config names an existing account by id");
    let id = account.account_id.clone().unwrap();
    let by_id = select(filter(Some(&id), &[], None));
    assert!(!by_id.is_empty());
    assert_eq!(by_id, select(filter(Some(&account.name), &[], None)));
    // Filters combine: all of them must hold.
    let none = select(filter(Some("prod-workloads"), &[], Some("dev/*")));
    assert!(none.is_empty());
    let review = render_review(
        &plan,
        &options(filter(Some("prod-workloads"), &[], Some("dev/*")), Listing::Auto),
    );
    assert!(review.contains("Selected: 0 to create"), "{review}");
    assert!(!review.contains("Organization"));
}

#[test]
fn a_bad_filter_is_named_with_its_flag() {
    let kinds = |k: &str| vec![k.to_string()];
    let err = StepFilter::parse(None, &kinds("ssm"), None).unwrap_err();
    assert_eq!(err.message, "--kind ssm: not a step kind");
    let hint = err.hint.unwrap();
    assert!(hint.starts_with("step kinds: one of org-trusted-access, "), "{hint}");
    assert!(hint.contains(" ssm-parameter,"), "the known kinds are listed: {hint}");
    let err = StepFilter::parse(None, &[], Some("a[")).unwrap_err();
    assert!(err.message.starts_with("--address a[: not a glob"), "{err:?}");
    let long = "x".repeat(500);
    let err = StepFilter::parse(None, &kinds(&long), None).unwrap_err();
    assert!(err.message.len() < 200 && err.message.contains("(500 characters)"), "{err:?}");
    let plan = plan();
    let err = filter(Some("staging"), &[], None).check_against(&plan, None).unwrap_err();
    assert_eq!(err.message, "--account staging: the plan has no such account");
    assert!(err.hint.unwrap().starts_with("accounts: dev-admin, dev-workloads, prod-admin"));
    // Only the accounts of the OU shown.
    let err = filter(Some("prod-workloads"), &[], None).check_against(&plan, Some("dev"));
    assert_eq!(
        err.unwrap_err().hint.unwrap(),
        "accounts: dev-admin, dev-workloads (by name; an account apply creates has no id in the plan)"
    );
    assert!(filter(Some("prod-workloads"), &[], None).check_against(&plan, Some("prod")).is_ok());
    // Kinds separated by commas may have spaces; empty ones are skipped.
    let two = StepFilter::parse(None, &kinds("iam-role, ssm-parameter,"), None).unwrap();
    assert_eq!(two.kinds.len(), 2);
}
