//! Reading what the checks judge: the organization with its SCPs (from the management
//! account), then each account through the access role, a few at a time.
//!
//! Calls per account: the inventory collectors' (see `orgsplit-inventory`) plus
//! `DescribeBudgets`; once per audit: the organization walk, `ListRoots`, and per SCP
//! `DescribePolicy` and `ListTargetsForPolicy`.

use aws_sdk_organizations::types::{PolicyType, PolicyTypeStatus};
use futures::stream::{self, StreamExt};
use orgsplit_aws::{AccountSession, Aws, ErrorClass, every_page, organizations};
use orgsplit_inventory::{InventoryOptions, collect_organization};
use orgsplit_model::{Config, ORGSPLIT_VERSION};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::checks::{self, CheckContext};
use crate::facts::{AccountFacts, OrgFacts, Scp};
use crate::finding::{AccountRole, AuditReport, AuditedAccount, REPORT_SCHEMA_VERSION, Summary};
use crate::{AuditError, Reporter};

/// Accounts read at once (each reads several services in every region at once already).
const ACCOUNTS_AT_ONCE: usize = 4;

#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Only these accounts (ids); every account when empty.
    pub accounts: Vec<String>,
    /// The clock tasks' running time is measured against.
    pub now: OffsetDateTime,
}

async fn organization(mgmt: &AccountSession) -> Result<OrgFacts, AuditError> {
    let state = collect_organization(mgmt).await?;
    let root = organizations::root(mgmt).await?;
    let scp_enabled = root.iter().any(|r| {
        r.policy_types().iter().any(|t| {
            t.r#type() == Some(&PolicyType::ServiceControlPolicy)
                && t.status() == Some(&PolicyTypeStatus::Enabled)
        })
    });
    let mut scps = Vec::new();
    for p in &state.policies {
        let content = organizations::policy_content(mgmt, &p.id).await?;
        // The organization walk lists targets of orgsplit's own policies only.
        let targets = organizations::policy_targets(mgmt, &p.id).await?;
        scps.push(Scp {
            id: p.id.clone(),
            name: p.name.clone(),
            document: orgsplit_aws::policy::policy_document(&content),
            targets,
        });
    }
    Ok(OrgFacts { state, scp_enabled, scps })
}

async fn budgets(session: &AccountSession) -> Result<Vec<String>, AuditError> {
    let request = session.budgets().describe_budgets().account_id(&session.account_id);
    match every_page!(request, budgets) {
        Ok(budgets) => Ok(budgets.iter().map(|b| b.budget_name().to_string()).collect()),
        // Older answers said "no budgets" with NotFoundException.
        Err(e) if orgsplit_aws::classify(&e) == ErrorClass::NotFound => Ok(Vec::new()),
        Err(e) => Err(session.error_of("budgets", "DescribeBudgets", "global")(e).into()),
    }
}

struct Target {
    id: String,
    name: String,
    role: AccountRole,
    /// Why the account is not read (suspended).
    skipped: Option<String>,
}

async fn account_facts(
    aws: &Aws,
    config: &Config,
    org: &OrgFacts,
    target: &Target,
    created_at: &str,
) -> Result<AccountFacts, AuditError> {
    let session = aws.session(&target.id).await?;
    let opts = InventoryOptions {
        source_account_id: target.id.clone(),
        home_region: config.home_region.clone(),
        regions: config.regions.clone(),
        created_at: created_at.to_string(),
        count_objects: true,
    };
    let (resources, budgets) = futures::try_join!(
        async {
            orgsplit_inventory::collect_account_with_access_role(
                &session,
                &opts,
                &orgsplit_inventory::NoReporter,
            )
            .await
            .map_err(AuditError::from)
        },
        budgets(&session)
    )?;
    Ok(AccountFacts {
        account_id: target.id.clone(),
        name: target.name.clone(),
        role: target.role,
        parents: org.parents_of(&target.id),
        resources,
        budgets,
    })
}

fn targets(config: &Config, org: &OrgFacts, only: &[String]) -> Result<Vec<Target>, AuditError> {
    let mgmt = org.state.management_account_id.as_str();
    let role_of = |id: &str| {
        if id == mgmt {
            AccountRole::Management
        } else if id == config.source_account_id {
            AccountRole::Source
        } else {
            AccountRole::Member
        }
    };
    let mut out: Vec<Target> = org
        .state
        .accounts
        .iter()
        .map(|a| Target {
            id: a.id.clone(),
            name: a.name.clone(),
            role: role_of(&a.id),
            skipped: (a.status != "ACTIVE" && !a.status.is_empty())
                .then(|| format!("account status {}", a.status)),
        })
        .collect();
    if !out.iter().any(|t| t.id == mgmt) {
        out.push(Target {
            id: mgmt.to_string(),
            name: "management".into(),
            role: AccountRole::Management,
            skipped: None,
        });
    }
    // The source account outside the organization is still the audit's first subject.
    if !out.iter().any(|t| t.id == config.source_account_id) {
        out.push(Target {
            id: config.source_account_id.clone(),
            name: "source".into(),
            role: AccountRole::Source,
            skipped: None,
        });
    }
    for wanted in only {
        if !out.iter().any(|t| &t.id == wanted) {
            return Err(AuditError::UnknownAccount {
                account: wanted.clone(),
                organization: org.state.id.clone(),
            });
        }
    }
    if !only.is_empty() {
        out.retain(|t| only.contains(&t.id));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Audits the organization of the caller (its management account) and the config's source
/// account. An account that cannot be read is reported in the result (`audited: false` with
/// the error), not as an error of the whole audit.
pub async fn audit(
    aws: &Aws,
    config: &Config,
    opts: &AuditOptions,
    reporter: &dyn Reporter,
) -> Result<AuditReport, AuditError> {
    let (caller, _) = aws.caller().await?;
    let mgmt = aws.session(&caller).await?;
    let org = organization(&mgmt).await?;
    let targets = targets(config, &org, &opts.accounts)?;
    let audited_at = opts.now.format(&Rfc3339).unwrap_or_default();
    let cx = CheckContext { config, org: &org, now: opts.now };
    let results: Vec<(AuditedAccount, Vec<crate::Finding>)> = stream::iter(&targets)
        .map(|t| {
            let (org, cx, audited_at) = (&org, &cx, &audited_at);
            async move {
                let mut entry = AuditedAccount {
                    account_id: t.id.clone(),
                    name: t.name.clone(),
                    role: t.role,
                    ou: org.ou_name_of(&t.id),
                    audited: false,
                    error: None,
                    skipped: t.skipped.clone(),
                    resources: 0,
                };
                if t.skipped.is_some() {
                    return (entry, Vec::new());
                }
                reporter.account_started(&t.id, &t.name);
                match account_facts(aws, config, org, t, audited_at).await {
                    Ok(facts) => {
                        let found = checks::run(cx, &facts);
                        reporter.account_finished(&t.id, Some(found.len()));
                        entry.audited = true;
                        entry.resources = facts.resources.len();
                        (entry, found)
                    }
                    Err(e) => {
                        reporter.account_finished(&t.id, None);
                        entry.error = Some(e.to_string());
                        (entry, Vec::new())
                    }
                }
            }
        })
        .buffer_unordered(ACCOUNTS_AT_ONCE)
        .collect()
        .await;
    let mut report = AuditReport {
        schema_version: REPORT_SCHEMA_VERSION,
        orgsplit_version: ORGSPLIT_VERSION.to_string(),
        audited_at,
        organization_id: org.state.id.clone(),
        management_account_id: org.state.management_account_id.clone(),
        max_task_hours: config.guardrails.max_task_hours,
        accounts: Vec::new(),
        findings: Vec::new(),
        summary: Summary::default(),
    };
    for (account, found) in results {
        report.accounts.push(account);
        report.findings.extend(found);
    }
    report.seal();
    Ok(report)
}
