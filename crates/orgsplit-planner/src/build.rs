//! Building the plan: organization steps, each OU's StackSets, each account's bootstrap,
//! and a copy (or manual item) for every classified resource in its environment's
//! workloads account.

use orgsplit_model::config::{AdminAccount, Config, IGNORE, SHARED};
use orgsplit_model::inventory::Inventory;
use orgsplit_model::plan::{
    AccountPlan, OuPlan, PLAN_FORMAT_VERSION, ResourceEntry, Step, Warning,
};
use orgsplit_model::stackset::{ParameterContext, StackSetSpec};
use orgsplit_model::step::{self, StepSpec};
use orgsplit_model::{Action, ORGSPLIT_VERSION, Plan, Resource, ResourceKind};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

use crate::classify::{UNCLASSIFIED, classify};
use crate::refs::RefIndex;
use crate::rewrite::{Rewriter, Rewritten};

/// The guardrail SCP's name.
pub const GUARDRAIL_SCP: &str = "orgsplit-guardrails";
/// The role that applies Terraform in every new account (from the baseline StackSet).
pub const TERRAFORM_APPLY_ROLE: &str = "terraform-apply";
/// The organization's shape is one live object for the staleness check.
pub const ORGANIZATION_KEY: &str = "organization";
/// The connection a new account's pipelines use.
pub const CONNECTION_NAME: &str = "orgsplit-github";

pub struct PlanInput<'a> {
    pub config: &'a Config,
    pub inventory: &'a Inventory,
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
}

/// What the planner has settled about one resource.
struct Placed {
    environment: String,
    reason: String,
}

pub fn build_plan(input: PlanInput<'_>) -> Result<Plan, BuildError> {
    let PlanInput {
        config,
        inventory,
        stacksets,
        created_at,
    } = input;
    if inventory.source_account_id != config.source_account_id {
        return Err(BuildError::WrongSourceAccount {
            inventory: inventory.source_account_id.clone(),
            config: config.source_account_id.clone(),
        });
    }
    let org = &inventory.organization;
    let resources = &inventory.resources;
    let classified = classify(config, resources);
    let placed: Vec<Placed> = classified
        .per_resource
        .iter()
        .map(|c| Placed {
            environment: c.environment.clone(),
            reason: c.reason.clone(),
        })
        .collect();
    let index = RefIndex::new(resources);

    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(ORGANIZATION_KEY.to_string(), org.fingerprint());
    let mut warnings = classified.warnings.clone();

    let account_ref = |name: &str| -> String {
        match config
            .account(name)
            .and_then(|a| org.account_by_email(&a.email))
        {
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
    let mgmt = org.management_account_id.clone();
    let mut organization = Vec::new();
    let uses_stacksets = config.ous.iter().any(|o| !o.stacksets.is_empty());
    let trusted_access_address = "organization/org-trusted-access:stacksets".to_string();
    if uses_stacksets {
        // A no-op only when CloudFormation itself says its organizations access is active.
        let enabled = org.stacksets_access == "ENABLED";
        organization.push(Step {
            address: trusted_access_address.clone(),
            action: if enabled {
                Action::NoOp
            } else {
                Action::Create
            },
            account: mgmt.clone(),
            region: Some(config.home_region.clone()),
            spec: StepSpec::OrgTrustedAccess(step::TrustedAccess {
                service_principal: None,
            }),
            depends_on: vec![],
            reads: vec![ORGANIZATION_KEY.into()],
            reason: "SERVICE_MANAGED StackSets need trusted access with Organizations".into(),
            notes: vec![],
        });
    }
    // Opt-in Regions are enabled in member accounts from the management account, through
    // Account Management, which needs its own trusted access.
    let opt_in: Vec<&String> = config
        .regions
        .iter()
        .filter(|r| orgsplit_model::regions::is_opt_in(r))
        .collect();
    let account_access_address = "organization/org-trusted-access:account".to_string();
    if !opt_in.is_empty() {
        let principal = orgsplit_model::regions::ACCOUNT_MANAGEMENT_PRINCIPAL;
        organization.push(Step {
            address: account_access_address.clone(),
            action: if org.service_access.iter().any(|s| s == principal) {
                Action::NoOp
            } else {
                Action::Create
            },
            account: mgmt.clone(),
            region: Some(config.home_region.clone()),
            spec: StepSpec::OrgTrustedAccess(step::TrustedAccess {
                service_principal: Some(principal.to_string()),
            }),
            depends_on: vec![],
            reads: vec![ORGANIZATION_KEY.into()],
            reason: format!(
                "opt-in Region(s) {} are enabled in each account through Account Management",
                opt_in
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            notes: vec![],
        });
    }
    let scp_address = format!("organization/scp:{GUARDRAIL_SCP}");
    let existing_scp = org.policies.iter().find(|p| p.name == GUARDRAIL_SCP);
    organization.push(Step {
        address: scp_address.clone(),
        action: if existing_scp.is_some() {
            Action::Update
        } else {
            Action::Create
        },
        account: mgmt.clone(),
        region: None,
        spec: StepSpec::Scp(step::Scp {
            name: GUARDRAIL_SCP.into(),
            description: "orgsplit guardrails: protected tag keys, no leaving the organization"
                .into(),
            content: guardrail_policy(config),
        }),
        depends_on: vec![],
        reads: vec![ORGANIZATION_KEY.into()],
        reason: "guardrails.protected_tag_keys and the deny on leaving the organization".into(),
        notes: if existing_scp.is_some() {
            vec!["exists: its content is compared and updated only if it differs".into()]
        } else {
            vec![]
        },
    });

    // ---- Which resources go where -----------------------------------------------------------
    let environments: Vec<&str> = config.environments();
    let goes_to = |i: usize, env: &str| -> bool {
        let e = placed[i].environment.as_str();
        e == env || e == SHARED
    };

    let mut resource_steps: Vec<Vec<String>> = vec![Vec::new(); resources.len()];
    let mut ous = Vec::new();
    for ou in &config.ous {
        let env = ou.environment.as_str();
        let existing_ou = org.root_ou(&ou.name);
        let ou_address = format!("{}/ou:{}", ou.name, ou.name);
        let mut ou_steps = vec![Step {
            address: ou_address.clone(),
            action: if existing_ou.is_some() {
                Action::NoOp
            } else {
                Action::Create
            },
            account: mgmt.clone(),
            region: None,
            spec: StepSpec::Ou(step::Ou {
                name: ou.name.clone(),
                parent_id: org.root_id.clone(),
                ou_id: existing_ou.map(|o| o.id.clone()),
            }),
            depends_on: vec![],
            reads: vec![ORGANIZATION_KEY.into()],
            reason: format!("OU of environment {env}"),
            notes: vec![],
        }];
        let attached = match (existing_scp, existing_ou) {
            (Some(p), Some(o)) => p.targets.contains(&o.id),
            _ => false,
        };
        ou_steps.push(Step {
            address: format!("{}/scp-attachment:{GUARDRAIL_SCP}", ou.name),
            action: if attached {
                Action::NoOp
            } else {
                Action::Create
            },
            account: mgmt.clone(),
            region: None,
            spec: StepSpec::ScpAttachment(step::ScpAttachment {
                policy: GUARDRAIL_SCP.into(),
                ou: ou.name.clone(),
            }),
            depends_on: vec![ou_address.clone(), scp_address.clone()],
            reads: vec![ORGANIZATION_KEY.into()],
            reason: "guardrails apply to every account of the OU".into(),
            notes: vec![],
        });
        let admin = admin_ref(ou);
        for name in &ou.stacksets {
            let spec = stacksets
                .iter()
                .find(|s| &s.template == name)
                .ok_or_else(|| BuildError::UnknownStackSet {
                    ou: ou.name.clone(),
                    name: name.clone(),
                })?;
            let parameters = spec.parameter_values(&ParameterContext {
                admin_account_id: &admin,
                organization_id: &org.id,
                ou_name: &ou.name,
                environment: env,
            });
            ou_steps.push(Step {
                address: format!("{}/stackset:{}", ou.name, name),
                action: Action::Create,
                account: mgmt.clone(),
                region: Some(config.home_region.clone()),
                spec: StepSpec::StackSet(step::StackSet {
                    stackset_name: spec.stackset_name(&ou.name),
                    template: spec.template.clone(),
                    template_digest: spec.template_digest.clone(),
                    template_body: spec.template_body.clone(),
                    description: spec.description.clone(),
                    capabilities: spec.capabilities.clone(),
                    permission_model: "SERVICE_MANAGED".into(),
                    auto_deployment: true,
                    parameters,
                }),
                depends_on: [trusted_access_address.clone(), ou_address.clone()].into(),
                reads: vec![ORGANIZATION_KEY.into()],
                reason: format!(
                    "stacksets = [{}] of OU {}; roles trust only {}",
                    ou.stacksets.join(", "),
                    ou.name,
                    ou.admin_account
                ),
                notes: vec!["created, or updated when it exists and differs".into()],
            });
        }

        let mut accounts = Vec::new();
        for acc in config.accounts.iter().filter(|a| a.ou == ou.name) {
            let existing = org.account_by_email(&acc.email);
            let id = account_ref(&acc.name);
            let prefix = format!("{}/{}", ou.name, acc.name);
            let account_address = format!("{prefix}/account");
            let move_address = format!("{prefix}/account-move");
            let mut steps = vec![Step {
                address: account_address.clone(),
                action: if existing.is_some() {
                    Action::NoOp
                } else {
                    Action::Create
                },
                account: mgmt.clone(),
                region: None,
                spec: StepSpec::Account(step::Account {
                    name: acc.name.clone(),
                    email: acc.email.clone(),
                    account_id: existing.map(|a| a.id.clone()),
                }),
                depends_on: vec![],
                reads: vec![ORGANIZATION_KEY.into()],
                reason: format!("[[account]] {} of OU {}", acc.name, ou.name),
                notes: vec![],
            }];
            let in_place =
                matches!((existing, existing_ou), (Some(a), Some(o)) if a.parent_id == o.id);
            steps.push(Step {
                address: move_address.clone(),
                action: if in_place { Action::NoOp } else { Action::Move },
                account: mgmt.clone(),
                region: None,
                spec: StepSpec::AccountMove(step::AccountMove {
                    account: id.clone(),
                    to_ou: ou.name.clone(),
                    from_parent_id: existing.map(|a| a.parent_id.clone()),
                }),
                depends_on: vec![account_address.clone(), ou_address.clone()],
                reads: vec![ORGANIZATION_KEY.into()],
                reason: format!("{} belongs in OU {}", acc.name, ou.name),
                notes: vec![],
            });
            for region in &opt_in {
                steps.push(Step {
                    address: format!("{prefix}/region-opt-in:{region}"),
                    action: Action::Create,
                    account: mgmt.clone(),
                    region: Some(region.to_string()),
                    spec: StepSpec::RegionOptIn(step::RegionOptIn { account: id.clone(), region: region.to_string() }),
                    depends_on: vec![account_address.clone(), account_access_address.clone()],
                    reads: vec![],
                    reason: format!("{region} is an opt-in Region of `regions`: disabled in a new account"),
                    notes: vec!["enabling can take minutes, sometimes hours: apply waits a while, then asks to be run again".into()],
                });
            }
            for name in &ou.stacksets {
                let spec = stacksets
                    .iter()
                    .find(|s| &s.template == name)
                    .expect("checked above");
                steps.push(Step {
                    address: format!("{prefix}/stackset-instances:{name}"),
                    action: Action::Create,
                    account: mgmt.clone(),
                    region: Some(config.home_region.clone()),
                    spec: StepSpec::StackSetInstances(step::StackSetInstances {
                        stackset_name: spec.stackset_name(&ou.name),
                        account: id.clone(),
                        ou: ou.name.clone(),
                        regions: vec![config.home_region.clone()],
                    }),
                    depends_on: vec![
                        format!("{}/stackset:{}", ou.name, name),
                        move_address.clone(),
                    ],
                    reads: vec![ORGANIZATION_KEY.into()],
                    reason: format!("every account of OU {} gets its StackSets", ou.name),
                    notes: vec![],
                });
            }
            if let (Some(amount), Some(email)) = (
                config.guardrails.monthly_budget_usd,
                &config.guardrails.budget_email,
            ) {
                steps.push(Step {
                    address: format!("{prefix}/budget"),
                    action: Action::Create,
                    account: id.clone(),
                    region: None,
                    spec: StepSpec::Budget(step::Budget {
                        name: "orgsplit-monthly".into(),
                        amount_usd: format!("{amount}"),
                        email: email.clone(),
                        threshold_percent: 80,
                    }),
                    depends_on: vec![move_address.clone()],
                    reads: vec![],
                    reason: "guardrails.monthly_budget_usd".into(),
                    notes: vec![],
                });
            }

            if acc.workloads {
                let copied_here = |arn: &str| index.resolve(arn).is_some_and(|i| goes_to(i, env));
                let known = |arn: &str| index.resolve(arn).is_some();
                let rewriter = Rewriter {
                    source_account: &config.source_account_id,
                    target_account: &id,
                    is_copied: &copied_here,
                    is_known: &known,
                };
                let mut copies = Vec::new();
                let mut connection_regions = BTreeSet::new();
                for (i, r) in resources.iter().enumerate() {
                    if !goes_to(i, env) {
                        continue;
                    }
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
                    for &t in &classified.references[i] {
                        // A referenced resource comes first. Two roles that name each other
                        // are ordered by the trust direction only (a PassRole target may not
                        // exist yet); two whose trusts name each other cannot be created first
                        // either way.
                        let back = t == i || classified.references[t].contains(&i);
                        let waits = if t == i {
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
                    if let Some(region) = r
                        .region
                        .as_deref()
                        .filter(|r| orgsplit_model::regions::is_opt_in(r))
                    {
                        depends_on.push(format!("{prefix}/region-opt-in:{region}"));
                    }
                    if r.kind == ResourceKind::Pipeline {
                        let region = r
                            .region
                            .clone()
                            .unwrap_or_else(|| config.home_region.clone());
                        depends_on.push(connection_address(&prefix, &region, &config.home_region));
                        connection_regions.insert(region);
                    }
                    depends_on.sort();
                    depends_on.dedup();
                    let step = resource_step(
                        r,
                        &placed[i],
                        &address,
                        &id,
                        &config.source_account_id,
                        depends_on,
                        &rewriter,
                        config,
                        env,
                    );
                    let step = if trust_cycle.is_empty() {
                        step
                    } else {
                        crate::manual::mutual_trust(step, &trust_cycle)
                    };
                    fingerprints.insert(r.arn.clone(), r.fingerprint.clone());
                    resource_steps[i].push(step.address.clone());
                    copies.push(step);
                }
                for region in connection_regions {
                    copies.push(Step {
                        address: connection_address(&prefix, &region, &config.home_region),
                        action: Action::Create,
                        account: id.clone(),
                        region: Some(region.clone()),
                        spec: StepSpec::CodestarConnection(step::Connection {
                            name: CONNECTION_NAME.into(),
                            provider_type: "GitHub".into(),
                        }),
                        depends_on: vec![move_address.clone()],
                        reads: vec![],
                        reason: "pipelines move to CodeStar Connections (no token to revoke)"
                            .into(),
                        notes: vec![
                            "waits for a person: the GitHub handshake is completed in the console"
                                .into(),
                        ],
                    });
                }
                copies.sort_by(|a, b| {
                    (a.kind(), &a.region, &a.address).cmp(&(b.kind(), &b.region, &b.address))
                });
                steps.extend(copies);
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

    crate::manual::propagate(&mut organization, &mut ous);

    let mut entries = Vec::new();
    let mut unclassified = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        let entry = ResourceEntry {
            arn: r.arn.clone(),
            kind: r.kind,
            name: r.name.clone(),
            region: r.region.clone(),
            environment: placed[i].environment.clone(),
            reason: placed[i].reason.clone(),
            steps: resource_steps[i].clone(),
        };
        match placed[i].environment.as_str() {
            UNCLASSIFIED => unclassified.push(entry),
            IGNORE => entries.push(entry),
            e if e == SHARED || environments.contains(&e) => entries.push(entry),
            other => {
                warnings.push(Warning {
                    subject: Some(r.label(&config.home_region)),
                    message: format!("environment {other:?} has no OU"),
                });
                unclassified.push(entry);
            }
        }
    }
    let reserved: usize = inventory
        .resources
        .iter()
        .map(|r| r.reserved_tags_dropped)
        .sum();
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

    let mut plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        orgsplit_version: ORGSPLIT_VERSION.to_string(),
        created_at,
        organization_id: org.id.clone(),
        management_account_id: org.management_account_id.clone(),
        source_account_id: config.source_account_id.clone(),
        home_region: config.home_region.clone(),
        access_role: config.access_role.clone(),
        regions: config.regions.clone(),
        config_digest: config.digest.clone(),
        inventory_digest: inventory.digest(),
        fingerprints,
        organization,
        ous,
        resources: entries,
        unclassified,
        warnings,
        digest: String::new(),
    };
    plan.seal();
    Ok(plan)
}

fn connection_address(prefix: &str, region: &str, home: &str) -> String {
    if region == home {
        format!("{prefix}/codestar-connection:{CONNECTION_NAME}")
    } else {
        format!("{prefix}/codestar-connection@{region}:{CONNECTION_NAME}")
    }
}

/// The SCP: deny leaving the organization; deny touching protected tag keys unless the
/// caller is one of the admin roles.
pub fn guardrail_policy(config: &Config) -> Value {
    let mut statements = vec![json!({
        "Sid": "DenyLeavingOrganization",
        "Effect": "Deny",
        "Action": "organizations:LeaveOrganization",
        "Resource": "*",
    })];
    if !config.guardrails.protected_tag_keys.is_empty() {
        statements.push(json!({
            "Sid": "ProtectTagKeys",
            "Effect": "Deny",
            "Action": ["*:TagResource", "*:UntagResource", "*:CreateTags", "*:DeleteTags", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "iam:TagRole", "iam:UntagRole", "iam:TagPolicy", "iam:UntagPolicy", "s3:PutBucketTagging"],
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringEquals": { "aws:TagKeys": config.guardrails.protected_tag_keys },
                "ArnNotLike": { "aws:PrincipalARN": [
                    format!("arn:aws:iam::*:role/{TERRAFORM_APPLY_ROLE}"),
                    format!("arn:aws:iam::*:role/{}", config.access_role),
                ] }
            }
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// A cluster's capacity providers other than the two AWS Fargate ones (which exist in every
/// account).
fn custom_capacity_providers(cluster: &Value) -> Vec<String> {
    cluster
        .get("capacityProviders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|p| !matches!(*p, "FARGATE" | "FARGATE_SPOT"))
        .map(str::to_string)
        .collect()
}

/// The step for one resource in one workloads account: a copy, or a manual item.
#[allow(clippy::too_many_arguments)]
fn resource_step(
    r: &Resource,
    placed: &Placed,
    address: &str,
    target: &str,
    source_account: &str,
    depends_on: Vec<String>,
    rewriter: &Rewriter<'_>,
    config: &Config,
    env: &str,
) -> Step {
    let mut rewritten = Rewritten::default();
    let mut notes: Vec<String> = Vec::new();
    let mut source_config = r.config.clone();
    let mut v1_webhooks = 0;
    if r.kind == ResourceKind::Pipeline
        && let Some(webhooks) = source_config
            .as_object_mut()
            .and_then(|c| c.remove("webhooks"))
    {
        // v1 GitHub webhooks belong to the OAuth source; a CodeStar source needs none.
        let n = webhooks.as_array().map_or(0, Vec::len);
        v1_webhooks = n;
        if n > 0 {
            notes.push(format!(
                "{n} v1 webhook(s) are not recreated: a CodeStar Connections source needs none"
            ));
        }
    }
    let config_copy = rewriter.rewrite(&source_config, &mut rewritten);
    let mut action = Action::Create;
    let mut account = target.to_string();
    let copy = step::ResourceCopy {
        source_arn: r.arn.clone(),
        name: r.name.clone(),
        config: config_copy,
        tags: r.tags.clone(),
    };
    let value_copy = |copy| step::ValueCopy {
        copy,
        value: step::VALUE_READ_AT_APPLY.into(),
    };
    let spec = match r.kind {
        ResourceKind::SsmParameter => {
            if let Some(key) = r.config.get("KeyId").and_then(Value::as_str)
                && !key.is_empty()
                && key != "alias/aws/ssm"
            {
                notes.push(format!("encrypted in the source with {key}: the copy uses the target account's alias/aws/ssm"));
            }
            StepSpec::SsmParameter(value_copy(copy))
        }
        ResourceKind::Secret => StepSpec::Secret(value_copy(copy)),
        ResourceKind::IamPolicy => StepSpec::IamPolicy(copy),
        ResourceKind::IamRole => StepSpec::IamRole(copy),
        ResourceKind::LogGroup => StepSpec::LogGroup(copy),
        ResourceKind::EcsTaskDefinition => StepSpec::EcsTaskDefinition(copy),
        ResourceKind::EventsRule => StepSpec::EventsRule(copy),
        ResourceKind::Schedule => StepSpec::Schedule(copy),
        ResourceKind::S3Bucket => {
            // Bucket names are global: the copy cannot take the source's name while it exists.
            let target_name = format!("{}-{}", r.name, target);
            let objects = r
                .config
                .get("ObjectCount")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if objects > 0 && !config.copy_objects {
                notes.push(format!("{objects} objects are not copied (copy_objects = false): copy them by hand if needed"));
            }
            notes.push(format!(
                "bucket names are global: the copy is named {target_name}"
            ));
            StepSpec::S3Bucket(step::BucketCopy {
                copy,
                target_name,
                copy_objects: config.copy_objects,
            })
        }
        ResourceKind::EcsCluster => {
            let custom = custom_capacity_providers(&r.config);
            if !custom.is_empty() {
                // An Auto Scaling group provider names a group (and its launch template) of the
                // source account: CreateCluster in the target refuses a provider that does not
                // exist there.
                action = Action::Manual;
                notes.push(format!(
                    "uses capacity provider(s) {}: Auto Scaling group providers are not migrated; create the group and its capacity provider in this account, then the cluster, by hand (FARGATE and FARGATE_SPOT alone would be copied)",
                    custom.join(", ")
                ));
            }
            StepSpec::EcsCluster(copy)
        }
        ResourceKind::EcsService => {
            let network = config.networks.get(env).map(|net| step::Network {
                subnets: net.subnets.clone(),
                security_groups: net.security_groups.clone(),
                assign_public_ip: net.assign_public_ip,
            });
            if network.is_none() {
                action = Action::Manual;
                notes.push(format!("no [[network]] for environment {env}: create the service by hand, or add one and re-plan"));
            }
            StepSpec::EcsService(step::ServiceCopy { copy, network })
        }
        ResourceKind::Pipeline => {
            notes.push(
                "recreated with a CodeStar Connections source; its GitHub token is not copied"
                    .into(),
            );
            // Whether the v1 source was triggered by webhooks decides DetectChanges.
            StepSpec::Pipeline(step::PipelineCopy { copy, v1_webhooks })
        }
        ResourceKind::EcrRepository => {
            action = Action::Update;
            account = source_account.to_string();
            notes.push(
                "the repository stays in the source account; its policy lets this account pull"
                    .into(),
            );
            StepSpec::EcrPullAccess(step::EcrPullAccess {
                repository: r.name.clone(),
                source_arn: r.arn.clone(),
                grant_account: target.to_string(),
                actions: [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                ]
                .map(String::from)
                .to_vec(),
            })
        }
        ResourceKind::EcsTask => {
            action = Action::Manual;
            account = source_account.to_string();
            let started = r
                .config
                .get("startedAt")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            notes.push(format!("a standalone task running since {started}: never migrated; stop it in the source account when its work is done"));
            StepSpec::Manual(step::Manual {
                source_arn: r.arn.clone(),
                started_at: Some(started.to_string()),
                tags: None,
            })
        }
        ResourceKind::Other => {
            action = Action::Manual;
            let service = r.arn.split(':').nth(2).unwrap_or("?");
            notes.push(format!(
                "orgsplit does not migrate {service} resources: recreate it in this account by hand"
            ));
            StepSpec::Manual(step::Manual {
                source_arn: r.arn.clone(),
                started_at: None,
                tags: Some(r.tags.clone()),
            })
        }
    };
    notes.extend(rewritten.notes);
    Step {
        address: address.to_string(),
        action,
        spec,
        account,
        region: r.region.clone(),
        depends_on: if action == Action::Manual {
            vec![]
        } else {
            depends_on
        },
        reads: vec![r.arn.clone()],
        reason: placed.reason.clone(),
        notes,
    }
}
