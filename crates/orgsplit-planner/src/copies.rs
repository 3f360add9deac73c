//! An account's copy steps, built on two threads and put in their fixed order.
//!
//! Each resource's steps depend on nothing another resource's steps hold, so the resources are
//! split in two halves, one per core; each half is sorted on its thread, and the sorted runs
//! are merged as they are written. The order is total (addresses are unique), so the plan is
//! the same whatever thread finishes first.

use orgsplit_model::plan::Step;

/// The step addresses of each resource with more than one step here: (its index in the
/// inventory, the addresses). A resource's one step is at an address its entry can name
/// without it (`OU/ACCOUNT/LABEL`), so 100,000 addresses are not kept for the entries.
pub(crate) type StepAddresses = Vec<(usize, Vec<String>)>;

/// The steps `copy_of` gives for each resource of `here`, sorted by [`copy_order`], and the
/// step addresses of each resource with more than one, in `here`'s order.
pub(crate) fn build_on_two_threads(
    here: &[usize],
    copy_of: &(dyn Fn(usize) -> Vec<Step> + Sync),
) -> (Vec<Vec<Step>>, StepAddresses) {
    let (first, second) = here.split_at(here.len() / 2);
    let steps_of = |part: &[usize]| -> (Vec<Step>, StepAddresses) {
        // A resource has one step, a key whose policy waits two: room for a few of those, so
        // that the list is not doubled for them.
        let mut steps = Vec::with_capacity(part.len() + part.len() / 16 + 1);
        let mut addresses = Vec::new();
        for &i in part {
            let of_i = copy_of(i);
            if of_i.len() != 1 {
                addresses.push((i, of_i.iter().map(|s| s.address.clone()).collect()));
            }
            steps.extend(of_i);
        }
        steps.sort_unstable_by(copy_order);
        (steps, addresses)
    };
    let ((first, mut addresses), (second, second_addresses)) = std::thread::scope(|scope| {
        let first = scope.spawn(|| steps_of(first));
        let second = steps_of(second);
        (first.join().expect("building copy steps does not panic"), second)
    });
    addresses.extend(second_addresses);
    (vec![first, second], addresses)
}

/// Frees an account's copies, each run on its own thread: freeing the 57,000 steps of a
/// workloads account (about a million small blocks) took a tenth of a second on the
/// writer's thread while the other core waited.
pub(crate) fn free_on_two_threads(runs: Vec<Vec<Step>>) {
    let mut runs = runs.into_iter();
    let first = runs.next();
    std::thread::scope(|scope| {
        scope.spawn(move || drop(first));
        drop(runs);
    });
}

/// The steps of sorted `runs`, merged in [`copy_order`]: written straight from the runs, so
/// an account's steps are never gathered in a second list.
pub(crate) fn in_order(runs: &[Vec<Step>]) -> impl Iterator<Item = &Step> {
    let mut next = vec![0; runs.len()];
    std::iter::from_fn(move || {
        let mut least: Option<(usize, &Step)> = None;
        for (k, run) in runs.iter().enumerate() {
            if let Some(head) = run.get(next[k])
                && least.is_none_or(|(_, l)| copy_order(head, l).is_lt())
            {
                least = Some((k, head));
            }
        }
        let (k, step) = least?;
        next[k] += 1;
        Some(step)
    })
}

/// The order of an account's copy steps: by kind, Region, then address.
fn copy_order(a: &Step, b: &Step) -> std::cmp::Ordering {
    (a.kind(), &a.region, &a.address).cmp(&(b.kind(), &b.region, &b.address))
}
