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
use crate::organization::organization_steps;
use crate::refs::RefIndex;
use crate::resource_step::resource_step;

pub use crate::organization::guardrail_policy;
use crate::rewrite::Rewriter;

/// The guardrail SCP's name.
pub const GUARDRAIL_SCP: &str = "orgsplit-guardrails";
/// The role that applies Terraform in every new account (from the baseline StackSet).
pub const TERRAFORM_APPLY_ROLE: &str = "terraform-apply";
/// The organization's shape is one live object for the staleness check.
pub const ORGANIZATION_KEY: &str = "organization";

pub struct PlanInput<'a> {
    pub config: &'a Config,
    /// Owned: once the steps are built, the planner frees what they read (configurations,
    /// tags, references) and moves each resource's ARN, name, Region and fingerprint into the
    /// plan instead of copying them, so that the entries take the freed memory.
    pub inventory: Inventory,
    /// Every StackSet the config's OUs name, resolved from the catalog.
    pub stacksets: &'a [StackSetSpec],
    /// RFC 3339: the caller's clock.
    pub created_at: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
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
}

/// What the planner has settled about one resource.
pub(crate) struct Placed {
    pub(crate) environment: String,
    pub(crate) reason: String,
}

/// Every step, and what the entries of the plan's resources need of the build.
pub(crate) struct Built {
    pub(crate) organization: Vec<Step>,
    pub(crate) ous: Vec<OuPlan>,
    pub(crate) placed: Vec<Placed>,
    /// Resource index -> the addresses of its steps.
    pub(crate) resource_steps: Vec<Vec<String>>,
    pub(crate) warnings: Vec<Warning>,
    pub(crate) organization_fingerprint: String,
}

/// The plan, sealed: its `digest` filled.
pub fn build_plan(input: PlanInput<'_>) -> Result<Plan, BuildError> {
    let mut plan = build_plan_unsealed(input)?;
    plan.seal();
    Ok(plan)
}

/// The plan with its `digest` still empty: for a caller that writes the file at once, which
/// records the digest as it writes ([`Plan::write_json`] returns it), so that a large plan is
/// serialised once, not twice.
pub fn build_plan_unsealed(input: PlanInput<'_>) -> Result<Plan, BuildError> {
    let PlanInput { config, inventory, stacksets, created_at } = input;
    if inventory.source_account_id != config.source_account_id {
        return Err(BuildError::WrongSourceAccount {
            inventory: inventory.source_account_id.clone(),
            config: config.source_account_id.clone(),
        });
    }
    // The inventory's digest reads all of it once more: on the second core, while the steps
    // are built.
    let (built, inventory_digest) = std::thread::scope(|scope| {
        let digest = scope.spawn(|| inventory.digest());
        let built = build_steps(config, &inventory, stacksets);
        (built, digest.join().expect("digesting the inventory does not panic"))
    });
    Ok(crate::entries::finish(config, inventory, built?, inventory_digest, created_at))
}

/// Every step of the plan, from the inventory as it was read.
fn build_steps(
    config: &Config,
    inventory: &Inventory,
    stacksets: &[StackSetSpec],
) -> Result<Built, BuildError> {
    let org = &inventory.organization;
    let resources = &inventory.resources;
    let index = RefIndex::new(resources);
    let mut classified = classify_with(config, resources, &index);
    let placed: Vec<Placed> = std::mem::take(&mut classified.per_resource)
        .into_iter()
        .map(|c| Placed { environment: c.environment, reason: c.reason })
        .collect();
    // Secrets by (name, Region): a replica's copy finds its primary's without a scan.
    let secrets: std::collections::HashMap<(&str, &str), usize> = resources
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

    // ---- Which resources go where -----------------------------------------------------------
    let goes_to = |i: usize, env: &str| -> bool {
        let e = placed[i].environment.as_str();
        e == env || e == SHARED
    };

    let mut resource_steps: Vec<Vec<String>> = vec![Vec::new(); resources.len()];
    let mut ous = Vec::new();
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

            if acc.workloads {
                let copied_here = |arn: &str| index.resolve(arn).is_some_and(|i| goes_to(i, env));
                let known = |arn: &str| index.resolve(arn).is_some();
                // A secret another service owns is a manual item: no step records its ARN.
                let secret_copy = |arn: &str| {
                    let i = index.resolve(arn).filter(|&i| goes_to(i, env))?;
                    let r = &resources[i];
                    (r.kind == ResourceKind::Secret
                        && crate::resource_step::owning_service(r).is_none())
                    .then(|| (r.arn.clone(), format!("{prefix}/{}", r.label(&config.home_region))))
                };
                let bucket_copy = |name: &str| {
                    let arn = format!("arn:{}:s3:::{name}", inventory.partition);
                    let i = index.resolve(&arn).filter(|&i| goes_to(i, env))?;
                    (resources[i].kind == ResourceKind::S3Bucket)
                        .then(|| crate::buckets::bucket_copy_name(config, name, &id, env))
                };
                let key_copy = |arn: &str| {
                    let i = index.resolve(arn).filter(|&i| goes_to(i, env))?;
                    let r = &resources[i];
                    (r.kind == ResourceKind::KmsKey)
                        .then(|| format!("{prefix}/{}", r.label(&config.home_region)))
                };
                let rewriter = Rewriter {
                    partition: &inventory.partition,
                    source_account: &config.source_account_id,
                    target_account: &id,
                    is_copied: &copied_here,
                    is_known: &known,
                    secret_copy: &secret_copy,
                    bucket_copy: &bucket_copy,
                    key_copy: &key_copy,
                };
                let mut copies = Vec::new();
                // Pipelines come through the organization's connection, shared with this
                // account by one step.
                let pipelines_here = resources
                    .iter()
                    .enumerate()
                    .any(|(i, r)| r.kind == ResourceKind::Pipeline && goes_to(i, env));
                let share_address = pipelines_here.then(|| {
                    let s = connection.share_step(&prefix, &id, &move_address, &config.home_region);
                    let address = s.address.clone();
                    copies.push(s);
                    address
                });
                let connection_address = &connection.address;
                // The steps of resource `i` here: its copy (or manual item), and for a key
                // whose policy waits, the step that sets it.
                let copy_of = |i: usize| -> Vec<Step> {
                    let r = &resources[i];
                    let address = format!("{prefix}/{}", r.label(&config.home_region));
                    let mut depends_on = vec![move_address.clone()];
                    // Whether `from`'s trust policy names `to` as a principal: AWS refuses a
                    // trust naming a role that does not exist yet, so `to` must come first.
                    let trusts = |from: usize, to: usize| {
                        resources[from].references.iter().any(|rf| {
                            rf.via.contains(".Principal.AWS") && index.resolve(&rf.arn) == Some(to)
                        })
                    };
                    let mut trust_cycle = Vec::new();
                    // A key whose policy names principals copied here is created first, and
                    // its policy set by a step of its own after them (see `KeyCopy`).
                    let key_policy_later = r.kind == ResourceKind::KmsKey
                        && crate::resource_step::key_policy_names_copies(r, &rewriter);
                    let mut policy_after = Vec::new();
                    for &t in &classified.references[i] {
                        // A referenced resource comes first. Two roles that name each other
                        // are ordered by the trust direction only (a PassRole target may not
                        // exist yet); two whose trusts name each other cannot be created first
                        // either way.
                        let back = t == i || classified.references[t].contains(&i);
                        let waits = if t == i {
                            false
                        } else if resources[t].kind == ResourceKind::KmsKey {
                            // Its users need its ARN, which only its step knows; its policy
                            // waits for them instead (below).
                            true
                        } else if key_policy_later && trusts(i, t) {
                            if goes_to(t, env) {
                                policy_after.push(format!(
                                    "{prefix}/{}",
                                    resources[t].label(&config.home_region)
                                ));
                            }
                            false
                        } else if back {
                            trusts(i, t) && !trusts(t, i)
                        } else {
                            true
                        };
                        if t != i && back && trusts(i, t) && trusts(t, i) && goes_to(t, env) {
                            trust_cycle.push(resources[t].name.clone());
                        }
                        if goes_to(t, env)
                            && waits
                            && resources[t].kind.is_migrated()
                            && resources[t].kind != ResourceKind::EcrRepository
                        {
                            depends_on.push(format!(
                                "{prefix}/{}",
                                resources[t].label(&config.home_region)
                            ));
                        }
                    }
                    if let Some(region) =
                        r.region.as_deref().filter(|r| orgsplit_model::regions::is_opt_in(r))
                    {
                        depends_on.push(format!("{prefix}/region-opt-in:{region}"));
                    }
                    if r.kind == ResourceKind::Pipeline {
                        depends_on.extend(share_address.clone());
                        depends_on.push(connection_address.clone());
                    }
                    // A replica secret: its primary's copy (in this account) replicates it.
                    let primary_step = (r.kind == ResourceKind::Secret)
                        .then(|| crate::resource_step::replica_of(r))
                        .flatten()
                        .and_then(|primary_region| {
                            secrets.get(&(r.name.as_str(), primary_region.as_str())).copied()
                        })
                        .filter(|&j| goes_to(j, env))
                        .map(|j| format!("{prefix}/{}", resources[j].label(&config.home_region)));
                    depends_on.extend(primary_step.clone());
                    depends_on.sort();
                    depends_on.dedup();
                    let step = resource_step(
                        r,
                        &address,
                        &id,
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
                        && step.action != Action::Manual
                    {
                        let label = r.label(&config.home_region);
                        let policy = crate::resource_step::key_policy_step(
                            &prefix,
                            &label,
                            &step,
                            key,
                            policy_after,
                        );
                        return vec![step, policy];
                    }
                    vec![step]
                };
                let here: Vec<usize> = (0..resources.len()).filter(|&i| goes_to(i, env)).collect();
                let (built, addresses) = crate::copies::build_on_two_threads(&here, &copy_of);
                for (i, addresses) in addresses {
                    resource_steps[i].extend(addresses);
                }
                crate::copies::append_in_order(&mut steps, copies, built);
            }
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
    }

    organization.steps.extend(connection.organization_steps(config, org));
    crate::manual::propagate(&mut organization.steps, &mut ous);
    let every_step = ous.iter().flat_map(|o| o.accounts.iter().flat_map(|a| a.steps.iter()));
    crate::buckets::check_bucket_names(every_step)?;
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

    Ok(Built {
        organization: organization.steps,
        ous,
        placed,
        resource_steps,
        warnings,
        organization_fingerprint: org.fingerprint(),
    })
}
