//! The plan's last part: every resource's entry (its environment, why, its steps), the
//! fingerprints of what the steps copy, the warnings, and the plan itself.
//!
//! It owns the inventory: what the steps read (configurations, tags, references) is freed
//! first, and each resource's ARN, name, Region and fingerprint are moved into the plan, not
//! copied. The entries and fingerprints are the last allocations of a plan (58 MB at 100,000
//! resources), so they take memory the inventory gave back instead of raising the peak.

use orgsplit_model::config::{Config, IGNORE, SHARED};
use orgsplit_model::inventory::Inventory;
use orgsplit_model::plan::{PLAN_FORMAT_VERSION, ResourceEntry, Warning};
use orgsplit_model::{ORGSPLIT_VERSION, Plan};
use std::collections::BTreeMap;

use crate::build::{Built, ORGANIZATION_KEY};
use crate::classify::UNCLASSIFIED;

/// The plan, from its steps and the inventory they were built from (its digest still empty).
pub(crate) fn finish(
    config: &Config,
    mut inventory: Inventory,
    built: Built,
    inventory_digest: String,
    created_at: String,
) -> Plan {
    let Built { organization, ous, placed, resource_steps, mut warnings, organization_fingerprint } =
        built;
    free_what_the_steps_read(&mut inventory);

    let home = &config.home_region;
    let environments: Vec<&str> = config.environments();
    let reserved: usize = inventory.resources.iter().map(|r| r.reserved_tags_dropped).sum();
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(ORGANIZATION_KEY.to_string(), organization_fingerprint);
    let mut entries = Vec::with_capacity(inventory.resources.len());
    let mut unclassified = Vec::new();
    let resources = inventory.resources.iter_mut().zip(placed).zip(resource_steps);
    for ((r, placed), steps) in resources {
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
        let classified = match placed.environment.as_str() {
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
        };
        let arn = std::mem::take(&mut r.arn);
        if !steps.is_empty() {
            // What a step copies, for the staleness check.
            fingerprints.insert(arn.clone(), std::mem::take(&mut r.fingerprint));
        }
        let entry = ResourceEntry {
            arn,
            kind: r.kind,
            name: std::mem::take(&mut r.name),
            region: r.region.take(),
            environment: placed.environment,
            reason: placed.reason,
            steps,
        };
        if classified { entries.push(entry) } else { unclassified.push(entry) }
    }
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

    let org = inventory.organization;
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        orgsplit_version: ORGSPLIT_VERSION.to_string(),
        created_at,
        organization_id: org.id,
        management_account_id: org.management_account_id,
        source_account_id: config.source_account_id.clone(),
        home_region: config.home_region.clone(),
        access_role: config.access_role.clone(),
        limits: config.limits.clone(),
        regions: config.regions.clone(),
        config_digest: config.digest.clone(),
        inventory_digest,
        fingerprints,
        organization,
        ous,
        resources: entries,
        unclassified,
        warnings,
        coverage: inventory.coverage,
        digest: String::new(),
    }
}

/// Frees each resource's configuration, tags and references: the steps hold what they need of
/// them.
fn free_what_the_steps_read(inventory: &mut Inventory) {
    for r in &mut inventory.resources {
        // The planner reads a configuration's members from its text and keeps no tree of it
        // (`ResourceConfig::member`): a kept tree would have held memory through the whole
        // build (47 MB at 100,000 resources, before it was read from text).
        debug_assert!(
            r.config.as_text().is_none() || !r.config.has_tree(),
            "planning parsed and kept a configuration's tree in the inventory ({})",
            r.arn
        );
        r.config = Default::default();
        r.tags = BTreeMap::new();
        r.references = Vec::new();
    }
}
