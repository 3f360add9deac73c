//! A workloads account's copies: for every resource of its environment (and every shared
//! one), its copy step (or manual item), and for a key whose policy waits, the step that sets
//! it. Built when the plan's writer reaches the account, and freed once written.

use orgsplit_model::ResourceKind;
use orgsplit_model::inventory::Resource;
use orgsplit_model::plan::Step;
use orgsplit_model::step::StepSpec;

use crate::build::{Prepared, Workloads};
use crate::copies::StepAddresses;
use crate::resource_step::resource_step;
use crate::rewrite::Rewriter;

/// The account's copy steps, as sorted runs (the connection's share step, then the two halves
/// built on the two cores), and the step addresses of each resource with more than one: a
/// resource's first step is at [`copy_address`].
pub(crate) fn build_copies(p: &Prepared<'_>, w: &Workloads) -> (Vec<Vec<Step>>, StepAddresses) {
    let config = p.config;
    let inventory = p.inventory;
    let resources = &inventory.resources;
    let index = &p.index;
    let env = w.env.as_str();
    let prefix = w.prefix.as_str();
    let id = w.id.as_str();
    let goes_to = |i: usize| crate::build::goes_to(&p.placed, i, env);
    let copied_here = |arn: &str| index.resolve(arn).is_some_and(goes_to);
    let known = |arn: &str| index.resolve(arn).is_some();
    // A secret another service owns is a manual item: no step records its ARN.
    let secret_copy = |arn: &str| {
        let i = index.resolve(arn).filter(|&i| goes_to(i))?;
        let r = &resources[i];
        (r.kind == ResourceKind::Secret && crate::resource_step::owning_service(r).is_none())
            .then(|| (r.arn.clone(), copy_address(prefix, r, &config.home_region)))
    };
    let bucket_copy = |name: &str| {
        let arn = format!("arn:{}:s3:::{name}", inventory.partition);
        let i = index.resolve(&arn).filter(|&i| goes_to(i))?;
        (resources[i].kind == ResourceKind::S3Bucket)
            .then(|| crate::buckets::bucket_copy_name(config, name, id, env))
    };
    let key_copy = |arn: &str| {
        let i = index.resolve(arn).filter(|&i| goes_to(i))?;
        let r = &resources[i];
        (r.kind == ResourceKind::KmsKey).then(|| copy_address(prefix, r, &config.home_region))
    };
    let rewriter = Rewriter {
        partition: &inventory.partition,
        source_account: &config.source_account_id,
        target_account: id,
        is_copied: &copied_here,
        is_known: &known,
        secret_copy: &secret_copy,
        bucket_copy: &bucket_copy,
        key_copy: &key_copy,
    };
    let share_address = w.share.as_ref().map(|s| s.address.clone());
    let references = &p.references;
    // The steps of resource `i` here: its copy (or manual item), and for a key whose policy
    // waits, the step that sets it.
    let copy_of = |i: usize| -> Vec<Step> {
        let r = &resources[i];
        let address = copy_address(prefix, r, &config.home_region);
        let mut depends_on = vec![w.move_address.clone()];
        // Whether `from`'s trust policy names `to` as a principal: AWS refuses a trust naming
        // a role that does not exist yet, so `to` must come first.
        let trusts = |from: usize, to: usize| {
            resources[from]
                .references
                .iter()
                .any(|rf| rf.via.contains(".Principal.AWS") && index.resolve(&rf.arn) == Some(to))
        };
        let mut trust_cycle = Vec::new();
        // A key whose policy names principals copied here is created first, and its policy
        // set by a step of its own after them (see `KeyCopy`).
        let key_policy_later = r.kind == ResourceKind::KmsKey
            && crate::resource_step::key_policy_names_copies(r, &rewriter);
        let mut policy_after = Vec::new();
        for &t in &references[i] {
            // A referenced resource comes first. Two roles that name each other are ordered
            // by the trust direction only (a PassRole target may not exist yet); two whose
            // trusts name each other cannot be created first either way.
            let back = t == i || references[t].contains(&i);
            let waits = if t == i {
                false
            } else if resources[t].kind == ResourceKind::KmsKey {
                // Its users need its ARN, which only its step knows; its policy waits for
                // them instead (below).
                true
            } else if key_policy_later && trusts(i, t) {
                if goes_to(t) {
                    policy_after.push(copy_address(prefix, &resources[t], &config.home_region));
                }
                false
            } else if back {
                trusts(i, t) && !trusts(t, i)
            } else {
                true
            };
            if t != i && back && trusts(i, t) && trusts(t, i) && goes_to(t) {
                trust_cycle.push(resources[t].name.clone());
            }
            if goes_to(t)
                && waits
                && resources[t].kind.is_migrated()
                && resources[t].kind != ResourceKind::EcrRepository
            {
                depends_on.push(copy_address(prefix, &resources[t], &config.home_region));
            }
        }
        if let Some(region) = r.region.as_deref().filter(|r| orgsplit_model::regions::is_opt_in(r))
        {
            depends_on.push(format!("{prefix}/region-opt-in:{region}"));
        }
        if r.kind == ResourceKind::Pipeline {
            depends_on.extend(share_address.clone());
            depends_on.push(p.connection_address.clone());
        }
        // A replica secret: its primary's copy (in this account) replicates it.
        let primary_step = (r.kind == ResourceKind::Secret)
            .then(|| crate::resource_step::replica_of(r))
            .flatten()
            .and_then(|primary_region| {
                p.secrets.get(&(r.name.as_str(), primary_region.as_str())).copied()
            })
            .filter(|&j| goes_to(j))
            .map(|j| copy_address(prefix, &resources[j], &config.home_region));
        depends_on.extend(primary_step.clone());
        depends_on.sort();
        depends_on.dedup();
        let step = resource_step(
            r,
            &address,
            id,
            &config.source_account_id,
            depends_on,
            &rewriter,
            config,
            env,
            primary_step.as_deref(),
        );
        let step = if trust_cycle.is_empty() {
            step
        } else {
            crate::manual::mutual_trust(step, &trust_cycle)
        };
        if let StepSpec::KmsKey(key) = &step.spec
            && key.policy_later
            && step.action != orgsplit_model::Action::Manual
        {
            let label = r.label(&config.home_region);
            let policy =
                crate::resource_step::key_policy_step(prefix, &label, &step, key, policy_after);
            return vec![step, policy];
        }
        vec![step]
    };
    let (halves, addresses) = crate::copies::build_on_two_threads(&w.here, &copy_of);
    let mut runs = Vec::with_capacity(halves.len() + 1);
    runs.push(w.share.iter().cloned().collect());
    runs.extend(halves);
    (runs, addresses)
}

/// The address of resource `r`'s copy (or manual item) in the workloads account whose steps'
/// addresses start with `prefix`.
pub(crate) fn copy_address(prefix: &str, r: &Resource, home_region: &str) -> String {
    let mut address = String::with_capacity(prefix.len() + 1 + r.name.len() + 32);
    address.push_str(prefix);
    address.push('/');
    r.label_into(home_region, &mut address);
    address
}
