//! Building the plan: organization steps, each OU's StackSets, each account's bootstrap,
//! and a copy (or manual item) for every classified resource in its environment's
//! workloads account.

use orgsplit_model::config::{AdminAccount, Config, SHARED};
use orgsplit_model::inventory::Inventory;
use orgsplit_model::plan::{AccountPlan, OuPlan, Step, Warning};
use orgsplit_model::stackset::{ParameterContext, StackSetSpec};
use orgsplit_model::step::{self, StepSpec};
use orgsplit_model::{Action, Plan, ResourceKind};

use crate::classify::classify_with;
use crate::manual::ManualSteps;
use crate::organization::organization_steps;
use crate::refs::RefIndex;
use std::collections::HashMap;
use std::sync::Arc;

pub use crate::organization::guardrail_policy;

/// The guardrail SCP's name.
pub const GUARDRAIL_SCP: &str = "orgsplit-guardrails";
/// The role that applies Terraform in every new account (from the baseline StackSet).
pub const TERRAFORM_APPLY_ROLE: &str = "terraform-apply";
/// The organization's shape is one live object for the staleness check.
pub const ORGANIZATION_KEY: &str = "organization";

pub struct PlanInput<'a> {
    pub config: &'a Config,
    /// Borrowed: the plan is written as it is built, and its resource entries and fingerprints
    /// are written from the inventory's own strings.
    pub inventory: &'a Inventory,
    /// Every StackSet the config's OUs name, resolved from the catalog.
    pub stacksets: &'a [StackSetSpec],
    /// RFC 3339: the caller's clock.
    pub created_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "the inventory is of account {inventory}, but the config's source.account_id is {config}"
    )]
    WrongSourceAccount { inventory: String, config: String },
    #[error(
        "OU {ou:?} names StackSet {name:?}, which is neither shipped nor a folder under stacksets/"
    )]
    UnknownStackSet { ou: String, name: String },
    #[error("bucket {bucket:?}: {message}")]
    BucketName { bucket: String, message: String },
    #[error(
        "[connection] owner {owner:?} is neither the management account nor an account of the organization"
    )]
    ConnectionOwner { owner: String },
    /// The plan's writer failed (a full disk, …).
    #[error("{0}")]
    Write(#[from] std::io::Error),
}

/// What the planner has settled about one resource (shared strings, see
/// [`crate::Classification`]).
pub(crate) struct Placed {
    pub(crate) environment: Arc<str>,
    pub(crate) reason: Arc<str>,
}

/// A workloads account: what building its copies needs.
pub(crate) struct Workloads {
    pub(crate) env: String,
    /// `OU/ACCOUNT`: the start of its steps' addresses.
    pub(crate) prefix: String,
    /// Its id, or `${account:NAME}`.
    pub(crate) id: String,
    pub(crate) move_address: String,
    /// The resources copied here, in the inventory's order.
    pub(crate) here: Vec<usize>,
    /// The step sharing the organization's connection, when its pipelines use it.
    pub(crate) share: Option<Step>,
}

/// Everything of the plan but the workloads accounts' copies, which are built one account at
/// a time as the plan is written ([`crate::stream`]).
pub(crate) struct Prepared<'a> {
    pub(crate) config: &'a Config,
    pub(crate) inventory: &'a Inventory,
    pub(crate) index: RefIndex<'a>,
    /// For each resource, the indices of the resources it references.
    pub(crate) references: Vec<Vec<usize>>,
    pub(crate) placed: Vec<Placed>,
    /// Secrets by (name, Region): a replica's copy finds its primary's without a scan.
    pub(crate) secrets: HashMap<(&'a str, &'a str), usize>,
    pub(crate) connection_address: String,
    /// The organization's steps, settled.
    pub(crate) organization: Vec<Step>,
    /// Each OU with its own steps and its accounts' own steps (account, move, StackSet
    /// instances, …), settled; a workloads account's copies are not in it.
    pub(crate) ous: Vec<OuPlan>,
    /// Per OU, per account: its copies' plan, for a workloads account.
    pub(crate) workloads: Vec<Vec<Option<Workloads>>>,
    /// The manual steps settled so far (the copies are settled as they are built).
    pub(crate) manual: ManualSteps,
    pub(crate) warnings: Vec<Warning>,
}

/// Whether the resource placed as `placed[i]` is copied into `env`'s workloads account: it
/// is of that environment, or shared.
pub(crate) fn goes_to(placed: &[Placed], i: usize, env: &str) -> bool {
    let e = &*placed[i].environment;
    e == env || e == SHARED
}

/// The plan: written as it is built, into memory, and read back (sealed: its `digest`
/// filled). For a caller that holds plans in memory (tests, small plans); `orgsplit plan`
/// writes the file with [`crate::write_plan`] and never holds the whole plan.
pub fn build_plan(input: PlanInput<'_>) -> Result<Plan, BuildError> {
    let mut text = Vec::new();
    crate::stream::write_plan(input, &mut text)?;
    let text = String::from_utf8(text).expect("serde_json writes UTF-8");
    Ok(Plan::from_json(&text).expect("the planner writes a plan it reads"))
}

/// The plan but for the workloads accounts' copies, from the inventory as it was read.
pub(crate) fn prepare<'a>(
    config: &'a Config,
    inventory: &'a Inventory,
    stacksets: &[StackSetSpec],
) -> Result<Prepared<'a>, BuildError> {
    let org = &inventory.organization;
    let resources = &inventory.resources;
    let index = RefIndex::new(resources);
    let mut classified = classify_with(config, resources, &index);
    let placed: Vec<Placed> = std::mem::take(&mut classified.per_resource)
        .into_iter()
        .map(|c| Placed { environment: c.environment, reason: c.reason })
        .collect();
    let secrets: HashMap<(&str, &str), usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == ResourceKind::Secret)
        .filter_map(|(i, r)| Some(((r.name.as_str(), r.region.as_deref()?), i)))
        .collect();

    let mut warnings = std::mem::take(&mut classified.warnings);

    let account_ref = |name: &str| -> String {
        match config.account(name).and_then(|a| org.account_by_email(&a.email)) {
            Some(existing) => existing.id.clone(),
            None => format!("${{account:{name}}}"),
        }
    };
    let admin_ref = |ou: &orgsplit_model::config::OuConfig| -> String {
        match &ou.admin_account {
            AdminAccount::Named(n) => account_ref(n),
            AdminAccount::Id(id) => id.clone(),
        }
    };

    // ---- Organization ------------------------------------------------------------------
    let mut organization = organization_steps(config, org);
    let mut connection = crate::connection::OrgConnection::new(config, org)?;

    let mut ous = Vec::new();
    let mut workloads = Vec::new();
    for ou in &config.ous {
        let env = ou.environment.as_str();
        let existing_ou = org.root_ou(&ou.name);
        let ou_address = step::ou_address(&ou.name);
        let spec = StepSpec::Ou(step::Ou {
            name: ou.name.clone(),
            parent_id: org.root_id.clone(),
            ou_id: existing_ou.map(|o| o.id.clone()),
        });
        let action = Action::create_unless(existing_ou.is_some());
        let mut ou_steps = vec![
            Step::new(&ou_address, action, &organization.mgmt, spec)
                .reading(ORGANIZATION_KEY)
                .because(format!("OU of environment {env}")),
        ];
        let attached = match (organization.existing_scp, existing_ou) {
            (Some(p), Some(o)) => p.targets.contains(&o.id),
            _ => false,
        };
        let spec = StepSpec::ScpAttachment(step::ScpAttachment {
            policy: GUARDRAIL_SCP.into(),
            ou: ou.name.clone(),
        });
        let address = format!("{}/scp-attachment:{GUARDRAIL_SCP}", ou.name);
        ou_steps.push(
            Step::new(address, Action::create_unless(attached), &organization.mgmt, spec)
                .after([&ou_address, &organization.scp_address])
                .reading(ORGANIZATION_KEY)
                .because("guardrails apply to every account of the OU"),
        );
        let admin = admin_ref(ou);
        for name in &ou.stacksets {
            let spec = stacksets.iter().find(|s| &s.template == name).ok_or_else(|| {
                BuildError::UnknownStackSet { ou: ou.name.clone(), name: name.clone() }
            })?;
            let parameters = spec.parameter_values(&ParameterContext {
                admin_account_id: &admin,
                organization_id: &org.id,
                ou_name: &ou.name,
                environment: env,
            });
            let stackset = StepSpec::StackSet(Box::new(step::StackSet {
                stackset_name: spec.stackset_name(&ou.name),
                template: spec.template.clone(),
                template_digest: spec.template_digest.clone(),
                template_body: spec.template_body.clone(),
                description: spec.description.clone(),
                capabilities: spec.capabilities.clone(),
                permission_model: "SERVICE_MANAGED".into(),
                auto_deployment: true,
                parameters,
                operation: spec.operation,
            }));
            let address = format!("{}/stackset:{}", ou.name, name);
            let stacksets = ou.stacksets.join(", ");
            ou_steps.push(
                Step::new(address, Action::Create, &organization.mgmt, stackset)
                    .in_region(&config.home_region)
                    .after([&organization.trusted_access_address, &ou_address])
                    .reading(ORGANIZATION_KEY)
                    .because(format!(
                        "stacksets = [{stacksets}] of OU {}; roles trust only {}",
                        ou.name, ou.admin_account
                    ))
                    .noting("created, or updated when it exists and differs"),
            );
        }

        let mut accounts = Vec::new();
        let mut account_workloads = Vec::new();
        for acc in config.accounts.iter().filter(|a| a.ou == ou.name) {
            let existing = org.account_by_email(&acc.email);
            let id = account_ref(&acc.name);
            let prefix = format!("{}/{}", ou.name, acc.name);
            let account_address = format!("{prefix}/account");
            let move_address = format!("{prefix}/account-move");
            let spec = StepSpec::Account(step::Account {
                name: acc.name.clone(),
                email: acc.email.clone(),
                account_id: existing.map(|a| a.id.clone()),
            });
            let action = Action::create_unless(existing.is_some());
            let mut steps = vec![
                Step::new(&account_address, action, &organization.mgmt, spec)
                    .reading(ORGANIZATION_KEY)
                    .because(format!("[[account]] {} of OU {}", acc.name, ou.name)),
            ];
            let in_place =
                matches!((existing, existing_ou), (Some(a), Some(o)) if a.parent_id == o.id);
            let spec = StepSpec::AccountMove(step::AccountMove {
                account: id.clone(),
                to_ou: ou.name.clone(),
                from_parent_id: existing.map(|a| a.parent_id.clone()),
            });
            let action = if in_place { Action::NoOp } else { Action::Move };
            steps.push(
                Step::new(&move_address, action, &organization.mgmt, spec)
                    .after([&account_address, &ou_address])
                    .reading(ORGANIZATION_KEY)
                    .because(format!("{} belongs in OU {}", acc.name, ou.name)),
            );
            for region in &organization.opt_in {
                let spec = StepSpec::RegionOptIn(step::RegionOptIn {
                    account: id.clone(),
                    region: region.to_string(),
                });
                let address = format!("{prefix}/region-opt-in:{region}");
                steps.push(
                    Step::new(address, Action::Create, &organization.mgmt, spec)
                        .in_region(region)
                        .after([&account_address, &organization.account_access_address])
                        .because(format!("{region} is an opt-in Region of `regions`: disabled in a new account"))
                        .noting("enabling can take minutes, sometimes hours: apply waits a while, then asks to be run again"),
                );
            }
            for name in &ou.stacksets {
                let spec = stacksets.iter().find(|s| &s.template == name).expect("checked above");
                let instances = StepSpec::StackSetInstances(step::StackSetInstances {
                    stackset_name: spec.stackset_name(&ou.name),
                    account: id.clone(),
                    ou: ou.name.clone(),
                    regions: vec![config.home_region.clone()],
                    operation: spec.operation,
                });
                let address = format!("{prefix}/stackset-instances:{name}");
                steps.push(
                    Step::new(address, Action::Create, &organization.mgmt, instances)
                        .in_region(&config.home_region)
                        .after([format!("{}/stackset:{}", ou.name, name), move_address.clone()])
                        .reading(ORGANIZATION_KEY)
                        .because(format!("every account of OU {} gets its StackSets", ou.name)),
                );
            }
            if let (Some(amount), Some(email)) =
                (config.guardrails.monthly_budget_usd, &config.guardrails.budget_email)
            {
                let spec = StepSpec::Budget(step::Budget {
                    name: "orgsplit-monthly".into(),
                    amount_usd: format!("{amount}"),
                    email: email.clone(),
                    threshold_percent: 80,
                });
                steps.push(
                    Step::new(format!("{prefix}/budget"), Action::Create, &id, spec)
                        .after([&move_address])
                        .because("guardrails.monthly_budget_usd"),
                );
            }

            account_workloads.push(acc.workloads.then(|| {
                let here: Vec<usize> =
                    (0..resources.len()).filter(|&i| goes_to(&placed, i, env)).collect();
                // Pipelines come through the organization's connection, shared with this
                // account by one step.
                let pipelines_here =
                    here.iter().any(|&i| resources[i].kind == ResourceKind::Pipeline);
                let share = pipelines_here.then(|| {
                    connection.share_step(&prefix, &id, &move_address, &config.home_region)
                });
                Workloads { env: env.to_string(), prefix, id, move_address, here, share }
            }));
            accounts.push(AccountPlan {
                name: acc.name.clone(),
                email: acc.email.clone(),
                account_id: existing.map(|a| a.id.clone()),
                workloads: acc.workloads,
                steps,
            });
        }
        ous.push(OuPlan {
            name: ou.name.clone(),
            environment: env.to_string(),
            admin_account: ou.admin_account.to_string(),
            steps: ou_steps,
            accounts,
        });
        workloads.push(account_workloads);
    }

    organization.steps.extend(connection.organization_steps(config, org));
    // Settled scope by scope (see `manual`): the organization's, each OU's own, each
    // account's own; the copies are settled as they are built.
    let mut manual = ManualSteps::default();
    manual.settle(&mut [&mut organization.steps]);
    for ou in &mut ous {
        manual.settle(&mut [&mut ou.steps]);
        for account in &mut ou.accounts {
            manual.settle(&mut [&mut account.steps]);
        }
    }
    for source in config.bucket_names.keys() {
        if !resources.iter().any(|r| r.kind == ResourceKind::S3Bucket && &r.name == source) {
            warnings.push(Warning {
                subject: None,
                message: format!(
                    "[bucket_names] names bucket {source:?}, which the inventory does not have"
                ),
            });
        }
    }

    Ok(Prepared {
        config,
        inventory,
        index,
        references: classified.references,
        placed,
        secrets,
        connection_address: connection.address,
        organization: organization.steps,
        ous,
        workloads,
        manual,
        warnings,
    })
}
