//! The plan's resource entries (every resource once: its environment, why, its steps) and the
//! fingerprints of what the steps copy, written from the inventory's own strings: at 100,000
//! resources they are 45 MB of the file, and no copy of them is made.

use orgsplit_model::ResourceKind;
use orgsplit_model::config::{Config, IGNORE, SHARED};
use orgsplit_model::inventory::Inventory;
use orgsplit_model::plan::{ResourceEntry, Warning};
use serde::Serialize;

use crate::build::{ORGANIZATION_KEY, Placed, Prepared};
use crate::classify::UNCLASSIFIED;

/// Which resources are classified (the others are listed as unclassified), and the warnings
/// their entries raise.
pub(crate) fn classified(
    config: &Config,
    inventory: &Inventory,
    placed: &[Placed],
    warnings: &mut Vec<Warning>,
) -> Vec<bool> {
    let home = &config.home_region;
    let environments: Vec<&str> = config.environments();
    let mut classified = Vec::with_capacity(placed.len());
    for (r, placed) in inventory.resources.iter().zip(placed) {
        if !r.unreadable.is_empty() {
            warnings.push(Warning {
                subject: Some(r.label(home)),
                message: format!(
                    "could not be read ({}): a manual item, not a copy",
                    r.unreadable.join(", ")
                ),
            });
        }
        // An environment no OU has is kept as unclassified, with a warning.
        classified.push(match &*placed.environment {
            UNCLASSIFIED => false,
            IGNORE => true,
            e if e == SHARED || environments.contains(&e) => true,
            _ => {
                warnings.push(Warning {
                    subject: Some(r.label(home)),
                    message: format!("environment {:?} has no OU", placed.environment),
                });
                false
            }
        });
    }
    let reserved: usize = inventory.resources.iter().map(|r| r.reserved_tags_dropped).sum();
    if reserved > 0 {
        warnings.push(Warning {
            subject: None,
            message: format!(
                "{reserved} tag(s) with the reserved aws: prefix (aws:cloudformation:* and the like, put by CloudFormation, CDK and SAM) are not copied: AWS refuses to write them"
            ),
        });
    }
    warnings.sort();
    warnings.dedup();
    classified
}

/// Every resource's ARN, fingerprint and place in the inventory, sorted by ARN; of two with
/// one ARN, in the inventory's order. Sorted while the plan is settled, on a core of its own
/// (it needs nothing settled): 100,000 ARNs took 0.02 s.
pub(crate) fn sorted_by_arn(inventory: &Inventory) -> Vec<(&str, &str, usize)> {
    let mut by_arn: Vec<(&str, &str, usize)> = inventory
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.arn.as_str(), r.fingerprint.as_str(), i))
        .collect();
    by_arn.sort_by(|a, b| a.0.cmp(b.0));
    by_arn
}

/// The organization's fingerprint and that of every resource a step copies (apply re-reads
/// each and refuses a stale plan), sorted by key, from [`sorted_by_arn`]. A resource has
/// steps when it goes to a workloads account: known before any step is built.
pub(crate) fn fingerprints<'a>(
    p: &Prepared<'a>,
    organization: &'a str,
    by_arn: &[(&'a str, &'a str, usize)],
) -> Fingerprints<'a> {
    let mut has_steps = vec![false; p.inventory.resources.len()];
    for w in p.workloads.iter().flatten().flatten() {
        for &i in &w.here {
            has_steps[i] = true;
        }
    }
    // The organization's key among the sorted ARNs (after all of them: `arn:` sorts first).
    let (before, after) =
        by_arn.split_at(by_arn.partition_point(|(arn, _, _)| *arn < ORGANIZATION_KEY));
    let copied = |&(arn, fingerprint, i): &(&'a str, &'a str, usize)| {
        has_steps[i].then_some((arn, fingerprint))
    };
    let pairs = before
        .iter()
        .filter_map(copied)
        .chain(std::iter::once((ORGANIZATION_KEY, organization)))
        .chain(after.iter().filter_map(copied));
    // Of two resources with one ARN, the later one's fingerprint is kept, as a map built in
    // the inventory's order would keep it.
    let mut kept: Vec<(&str, &str)> = Vec::with_capacity(by_arn.len() + 1);
    for pair in pairs {
        match kept.last_mut() {
            Some(last) if last.0 == pair.0 => *last = pair,
            _ => kept.push(pair),
        }
    }
    Fingerprints(kept)
}

/// Key -> fingerprint, sorted by key and unique: written as the plan's `fingerprints` map.
pub(crate) struct Fingerprints<'a>(pub(crate) Vec<(&'a str, &'a str)>);

impl Serialize for Fingerprints<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().copied())
    }
}

/// A resource entry as it is written: [`ResourceEntry`]'s members, in its order, borrowed.
#[derive(Serialize)]
pub(crate) struct EntryText<'a> {
    arn: &'a str,
    kind: ResourceKind,
    name: &'a str,
    region: &'a Option<String>,
    environment: &'a str,
    reason: &'a str,
    steps: Vec<String>,
}

impl<'a> EntryText<'a> {
    pub(crate) fn of(p: &'a Prepared<'a>, i: usize, steps: Vec<String>) -> Self {
        let r = &p.inventory.resources[i];
        EntryText {
            arn: &r.arn,
            kind: r.kind,
            name: &r.name,
            region: &r.region,
            environment: &p.placed[i].environment,
            reason: &p.placed[i].reason,
            steps,
        }
    }

    /// The entry, owned (for the review).
    pub(crate) fn to_entry(&self) -> ResourceEntry {
        ResourceEntry {
            arn: self.arn.to_string(),
            kind: self.kind,
            name: self.name.to_string(),
            region: self.region.clone(),
            environment: self.environment.to_string(),
            reason: self.reason.to_string(),
            steps: self.steps.clone(),
        }
    }
}
