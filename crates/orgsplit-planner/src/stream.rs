//! The plan file, written as it is built. The file's members come in the order the plan
//! type has them: the header, `fingerprints`, `organization`, `ous` (each OU's own steps,
//! then its accounts'), `resources`, `unclassified`, `warnings`, `coverage`. Everything but
//! the workloads accounts' copies is settled first ([`crate::build::prepare`]); each workloads
//! account's copies are built when the writer reaches the account, settled (manual items),
//! checked (bucket names), written, and freed before the next account's are built. So at most
//! one account's copies are in memory, and the whole plan never is.
//!
//! The text is the one [`Plan::write_json`] writes for the same plan, byte for byte: the types
//! below have the plan's members, in its order, and the same writer lays them out and takes
//! the digest of what it writes (a test compares both for a plan of every kind).

use orgsplit_model::config::Limits;
use orgsplit_model::inventory::Coverage;
use orgsplit_model::plan::{PLAN_FORMAT_VERSION, Step, Warning};
use orgsplit_model::{ORGSPLIT_VERSION, Plan};
use serde::ser::{Error as _, SerializeStruct};
use serde::{Serialize, Serializer};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use crate::account_copies::{build_copies, copy_address};
use crate::build::{BuildError, PlanInput, Prepared, goes_to, prepare};
use crate::entries::{EntryText, Fingerprints};
use crate::review::{LISTING_MAX_STEPS, StepCounts, Tallies};

/// What writing the plan leaves for the command that wrote it.
pub struct Written {
    /// The digest recorded in the file.
    pub digest: String,
    /// The plan as its review reads it. A plan of at most [`LISTING_MAX_STEPS`] steps is
    /// whole. A larger one keeps its organization's, OUs' and accounts' own steps, its
    /// unclassified and ignored resources and its warnings; each workloads account's copies
    /// are counted in `tallies` instead, and its `fingerprints` and other resource entries
    /// are only in the file.
    pub review: Plan,
    /// Per workloads account (`OU/ACCOUNT`), its copies counted by kind and action, when they
    /// were not kept.
    pub tallies: Tallies,
    /// Whether any step changes something (`-detailed-exitcode`).
    pub has_changes: bool,
}

/// Builds the plan and writes it to `out` as it goes (see the module's documentation).
/// On an error, what was written is not a plan: the caller drops it.
pub fn write_plan(
    input: PlanInput<'_>,
    out: &mut (dyn Write + Send),
) -> Result<Written, BuildError> {
    let PlanInput { config, inventory, stacksets, created_at } = input;
    if inventory.source_account_id != config.source_account_id {
        return Err(BuildError::WrongSourceAccount {
            inventory: inventory.source_account_id.clone(),
            config: config.source_account_id.clone(),
        });
    }
    // The inventory's digest reads all of it once more: on the second core, while the rest
    // of the plan is settled; the ARNs of the fingerprints are sorted meanwhile too.
    let (prepared, inventory_digest, by_arn) = std::thread::scope(|scope| {
        let digest = scope.spawn(|| inventory.digest());
        let by_arn = scope.spawn(|| crate::entries::sorted_by_arn(inventory));
        let prepared = prepare(config, inventory, stacksets);
        (
            prepared,
            digest.join().expect("digesting the inventory does not panic"),
            by_arn.join().expect("sorting ARNs does not panic"),
        )
    });
    let mut prepared = prepared?;
    let mut warnings = std::mem::take(&mut prepared.warnings);
    let classified = crate::entries::classified(config, inventory, &prepared.placed, &mut warnings);
    let organization_fingerprint = inventory.organization.fingerprint();
    let own_steps = prepared.organization.len()
        + prepared.ous.iter().map(|o| o.steps.len()).sum::<usize>()
        + prepared.ous.iter().flat_map(|o| &o.accounts).map(|a| a.steps.len()).sum::<usize>();
    let copies: usize = prepared
        .workloads
        .iter()
        .flatten()
        .flatten()
        .map(|w| w.here.len() + usize::from(w.share.is_some()))
        .sum();
    let has_changes = prepared.organization.iter().any(|s| s.action.is_change())
        || prepared.ous.iter().any(|o| {
            o.steps
                .iter()
                .chain(o.accounts.iter().flat_map(|a| &a.steps))
                .any(|s| s.action.is_change())
        });
    let manual = std::mem::take(&mut prepared.manual);
    let last_workloads = prepared
        .workloads
        .iter()
        .enumerate()
        .flat_map(|(ou, accounts)| {
            accounts.iter().enumerate().filter(|(_, w)| w.is_some()).map(move |(a, _)| (ou, a))
        })
        .last();
    let stream = Stream {
        last_workloads,
        freeing: RefCell::new(None),
        prepared,
        keep: own_steps + copies <= LISTING_MAX_STEPS,
        manual: RefCell::new(manual),
        more_steps: RefCell::new(HashMap::new()),
        buckets: RefCell::new(BTreeMap::new()),
        error: RefCell::new(None),
        tallies: RefCell::new(Tallies::new()),
        kept: RefCell::new(BTreeMap::new()),
        has_changes: Cell::new(has_changes),
    };
    let org = &inventory.organization;
    let fingerprints =
        crate::entries::fingerprints(&stream.prepared, &organization_fingerprint, &by_arn);
    drop(by_arn);
    let text = PlanText {
        format_version: PLAN_FORMAT_VERSION,
        orgsplit_version: ORGSPLIT_VERSION,
        created_at: &created_at,
        organization_id: &org.id,
        management_account_id: &org.management_account_id,
        source_account_id: &config.source_account_id,
        home_region: &config.home_region,
        access_role: &config.access_role,
        limits: &config.limits,
        regions: &config.regions,
        config_digest: &config.digest,
        inventory_digest: &inventory_digest,
        fingerprints: &fingerprints,
        organization: &stream.prepared.organization,
        ous: Ous(&stream),
        resources: Entries { stream: &stream, classified: &classified, wanted: true },
        unclassified: Entries { stream: &stream, classified: &classified, wanted: false },
        warnings: &warnings,
        coverage: &inventory.coverage,
        digest: "",
    };
    let written = orgsplit_model::plan::write_plan_file(&text, out);
    if let Some(freeing) = stream.freeing.take() {
        freeing.join().expect("freeing copies does not panic");
    }
    drop(fingerprints);
    let digest = match written {
        Ok(digest) => digest,
        Err(e) => return Err(stream.error.take().unwrap_or(BuildError::Write(e))),
    };
    // The planner reads a configuration's members from its text and keeps no tree of it
    // (`ResourceConfig::member`): a kept tree holds memory through the whole build (47 MB at
    // 100,000 resources, before members were read from text).
    debug_assert!(
        inventory.resources.iter().all(|r| r.config.as_text().is_none() || !r.config.has_tree()),
        "planning parsed and kept a configuration's tree in the inventory ({:?})",
        inventory
            .resources
            .iter()
            .find(|r| r.config.as_text().is_some() && r.config.has_tree())
            .map(|r| &r.arn)
    );
    Ok(stream.into_written(
        digest,
        Header { created_at, inventory_digest, organization_fingerprint, warnings },
        &classified,
    ))
}

/// The header's values computed here, for the review's plan.
struct Header {
    created_at: String,
    inventory_digest: String,
    organization_fingerprint: String,
    warnings: Vec<Warning>,
}

/// The plan being written: what is settled, and what the accounts' copies add as they are
/// written (the writer holds it shared, hence the cells; it runs on one thread).
struct Stream<'a> {
    prepared: Prepared<'a>,
    /// Whether the plan is small enough for its review to list every step: then the copies
    /// are kept once written.
    keep: bool,
    manual: RefCell<crate::manual::ManualSteps>,
    /// (Resource index, OU, account) -> the addresses of its steps in that workloads
    /// account, when it has more than one there (see [`Stream::steps_of`]).
    more_steps: RefCell<HashMap<(usize, usize, usize), Vec<String>>>,
    /// Every bucket copy's name so far -> its source bucket.
    buckets: RefCell<BTreeMap<String, String>>,
    /// The error that stopped the writer, when it is the plan's and not the file's.
    error: RefCell<Option<BuildError>>,
    tallies: RefCell<Tallies>,
    /// (OU, account) -> its copies, when `keep`.
    kept: RefCell<BTreeMap<(usize, usize), Vec<Step>>>,
    has_changes: Cell<bool>,
    /// The last workloads account written (OU, account).
    last_workloads: Option<(usize, usize)>,
    /// The thread freeing the last workloads account's copies, joined once the file is written.
    freeing: RefCell<Option<std::thread::JoinHandle<()>>>,
}

impl Stream<'_> {
    /// Builds, settles, checks and writes the copies of workloads account (`ou`, `account`),
    /// after the account's own steps.
    fn write_account_steps<S: Serializer>(
        &self,
        ou: usize,
        account: usize,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let p = &self.prepared;
        let own = &p.ous[ou].accounts[account].steps;
        let Some(w) = &p.workloads[ou][account] else {
            return s.collect_seq(own);
        };
        let (mut runs, addresses) = build_copies(p, w);
        self.manual.borrow_mut().settle(&mut runs.iter_mut().collect::<Vec<_>>());
        let checked = crate::buckets::check_bucket_names(
            crate::copies::in_order(&runs),
            &mut self.buckets.borrow_mut(),
        );
        if let Err(e) = checked {
            let message = e.to_string();
            *self.error.borrow_mut() = Some(e);
            return Err(S::Error::custom(message));
        }
        let mut more_steps = self.more_steps.borrow_mut();
        for (i, addresses) in addresses {
            more_steps.insert((i, ou, account), addresses);
        }
        drop(more_steps);
        let mut counts = StepCounts::default();
        let copies = crate::copies::in_order(&runs).inspect(|step| counts.add(step));
        let steps: Vec<&Step> = own.iter().chain(copies).collect();
        let written =
            crate::parallel_text::serialize_seq_in_parallel(steps.len(), &|k| steps[k], s)?;
        drop(steps);
        self.has_changes.set(self.has_changes.get() || counts.has_changes());
        if self.keep {
            let steps = crate::copies::in_order(&runs).cloned().collect();
            self.kept.borrow_mut().insert((ou, account), steps);
        } else {
            self.tallies.borrow_mut().insert(w.prefix.clone(), counts);
        }
        if self.last_workloads == Some((ou, account)) {
            // Freed while the resource entries are written (on a core and a half), not before:
            // it took 0.04-0.05 s with both cores.
            *self.freeing.borrow_mut() = Some(std::thread::spawn(move || drop(runs)));
        } else {
            crate::copies::free_on_two_threads(runs);
        }
        Ok(written)
    }

    /// The addresses of resource `i`'s steps (see [`steps_of`]).
    fn steps_of(&self, i: usize) -> Vec<String> {
        steps_of(&self.prepared, &self.more_steps.borrow(), i)
    }

    fn into_written(self, digest: String, header: Header, classified: &[bool]) -> Written {
        let entries: Vec<(usize, Vec<String>)> = (0..self.prepared.placed.len())
            .filter(|&i| {
                !classified[i]
                    || self.keep
                    || &*self.prepared.placed[i].environment == orgsplit_model::config::IGNORE
            })
            .map(|i| (i, self.steps_of(i)))
            .collect();
        let Stream { prepared: p, keep, tallies, kept, has_changes, .. } = self;
        let (config, inventory) = (p.config, p.inventory);
        let mut resources = Vec::new();
        let mut unclassified = Vec::new();
        for (i, steps) in &entries {
            let entry = EntryText::of(&p, *i, steps.clone()).to_entry();
            if classified[*i] {
                resources.push(entry);
            } else {
                unclassified.push(entry);
            }
        }
        let mut fingerprints = BTreeMap::new();
        if keep {
            let by_arn = crate::entries::sorted_by_arn(p.inventory);
            fingerprints =
                crate::entries::fingerprints(&p, &header.organization_fingerprint, &by_arn)
                    .0
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
        }
        let mut ous = p.ous;
        for ((ou, account), steps) in kept.into_inner() {
            ous[ou].accounts[account].steps.extend(steps);
        }
        let org = &inventory.organization;
        let review = Plan {
            format_version: PLAN_FORMAT_VERSION,
            orgsplit_version: ORGSPLIT_VERSION.to_string(),
            created_at: header.created_at,
            organization_id: org.id.clone(),
            management_account_id: org.management_account_id.clone(),
            source_account_id: config.source_account_id.clone(),
            home_region: config.home_region.clone(),
            access_role: config.access_role.clone(),
            limits: config.limits.clone(),
            regions: config.regions.clone(),
            config_digest: config.digest.clone(),
            inventory_digest: header.inventory_digest,
            fingerprints,
            organization: p.organization,
            ous,
            resources,
            unclassified,
            warnings: header.warnings,
            coverage: inventory.coverage.clone(),
            digest: digest.clone(),
        };
        Written { digest, review, tallies: tallies.into_inner(), has_changes: has_changes.get() }
    }
}

/// The addresses of resource `i`'s steps: in each workloads account it goes to, in the
/// plan's order, its copy (or manual item), or the steps it has there when more than one
/// (`more_steps`, see [`Stream::more_steps`]).
fn steps_of(
    p: &Prepared<'_>,
    more_steps: &HashMap<(usize, usize, usize), Vec<String>>,
    i: usize,
) -> Vec<String> {
    let mut steps = Vec::new();
    for (ou, accounts) in p.workloads.iter().enumerate() {
        for (account, w) in accounts.iter().enumerate() {
            let Some(w) = w.as_ref().filter(|w| goes_to(&p.placed, i, &w.env)) else {
                continue;
            };
            match more_steps.get(&(i, ou, account)) {
                Some(more) => steps.extend(more.iter().cloned()),
                None => steps.push(copy_address(
                    &w.prefix,
                    &p.inventory.resources[i],
                    &p.config.home_region,
                )),
            }
        }
    }
    steps
}

/// The plan as it is written: [`Plan`]'s members, in its order.
#[derive(Serialize)]
struct PlanText<'a, 's> {
    format_version: u32,
    orgsplit_version: &'a str,
    created_at: &'a str,
    organization_id: &'a str,
    management_account_id: &'a str,
    source_account_id: &'a str,
    home_region: &'a str,
    access_role: &'a str,
    #[serde(skip_serializing_if = "are_default")]
    limits: &'a Limits,
    regions: &'a [String],
    config_digest: &'a str,
    inventory_digest: &'a str,
    fingerprints: &'a Fingerprints<'a>,
    organization: &'a [Step],
    ous: Ous<'s, 'a>,
    resources: Entries<'s, 'a>,
    unclassified: Entries<'s, 'a>,
    warnings: &'a [Warning],
    #[serde(skip_serializing_if = "is_empty")]
    coverage: &'a [Coverage],
    digest: &'a str,
}

fn are_default(limits: &&Limits) -> bool {
    limits.is_default()
}

fn is_empty(coverage: &&[Coverage]) -> bool {
    coverage.is_empty()
}

/// The `ous` member: each OU as [`orgsplit_model::plan::OuPlan`] is written.
struct Ous<'s, 'a>(&'s Stream<'a>);

impl Serialize for Ous<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((0..self.0.prepared.ous.len()).map(|ou| OuText { stream: self.0, ou }))
    }
}

struct OuText<'s, 'a> {
    stream: &'s Stream<'a>,
    ou: usize,
}

impl Serialize for OuText<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ou = &self.stream.prepared.ous[self.ou];
        let mut st = s.serialize_struct("OuPlan", 5)?;
        st.serialize_field("name", &ou.name)?;
        st.serialize_field("environment", &ou.environment)?;
        st.serialize_field("admin_account", &ou.admin_account)?;
        st.serialize_field("steps", &ou.steps)?;
        st.serialize_field("accounts", &Accounts { stream: self.stream, ou: self.ou })?;
        st.end()
    }
}

/// An OU's `accounts` member.
struct Accounts<'s, 'a> {
    stream: &'s Stream<'a>,
    ou: usize,
}

impl Serialize for Accounts<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (stream, ou) = (self.stream, self.ou);
        let accounts = 0..stream.prepared.ous[ou].accounts.len();
        s.collect_seq(accounts.map(|account| AccountText { stream, ou, account }))
    }
}

/// An account as [`orgsplit_model::plan::AccountPlan`] is written.
struct AccountText<'s, 'a> {
    stream: &'s Stream<'a>,
    ou: usize,
    account: usize,
}

impl Serialize for AccountText<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let account = &self.stream.prepared.ous[self.ou].accounts[self.account];
        let mut st = s.serialize_struct("AccountPlan", 5)?;
        st.serialize_field("name", &account.name)?;
        st.serialize_field("email", &account.email)?;
        st.serialize_field("account_id", &account.account_id)?;
        st.serialize_field("workloads", &account.workloads)?;
        st.serialize_field("steps", &AccountSteps(self))?;
        st.end()
    }
}

struct AccountSteps<'t, 's, 'a>(&'t AccountText<'s, 'a>);

impl Serialize for AccountSteps<'_, '_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.stream.write_account_steps(self.0.ou, self.0.account, s)
    }
}

/// The `resources` (classified) or `unclassified` member: the entries of the resources
/// whose classification is `wanted`, in the inventory's order.
struct Entries<'s, 'a> {
    stream: &'s Stream<'a>,
    classified: &'s [bool],
    wanted: bool,
}

impl Serialize for Entries<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &self.stream.prepared;
        let more_steps = self.stream.more_steps.borrow();
        let more_steps = &*more_steps;
        let entries: Vec<usize> =
            (0..p.placed.len()).filter(|&i| self.classified[i] == self.wanted).collect();
        let entry = |k: usize| {
            let i = entries[k];
            EntryText::of(p, i, steps_of(p, more_steps, i))
        };
        crate::parallel_text::serialize_seq_in_parallel(entries.len(), &entry, s)
    }
}
