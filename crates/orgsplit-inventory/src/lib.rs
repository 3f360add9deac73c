//! Inventory of the source account: one collector per AWS service, run across every
//! configured region at once, plus the Resource Groups Tagging API sweep (which finds the
//! resources of other kinds that carry tags or once did; a never-tagged one of a kind no
//! collector lists is not seen), and the organization's current shape.
//!
//! Architecture Invariant: collectors only read. No call here changes anything in AWS.
//! Architecture Invariant: secret values (parameter values, secret strings, tokens) are
//! never requested; a pipeline's masked `OAuthToken` is dropped before it is recorded.

mod codebuild;
mod collect;
mod ecr;
mod ecs;
mod events;
mod iam;
mod kms;
mod logs;
mod organization;
mod pipelines;
mod s3;
mod scheduler;
mod secretsmanager;
mod ssm;
mod tagging;
mod unmigrated;
mod util;

use orgsplit_aws::{AccountSession, Aws, AwsError};
use orgsplit_model::inventory::{INVENTORY_FORMAT_VERSION, Inventory};
use orgsplit_model::{ORGSPLIT_VERSION, Resource};

pub use iam::DEFAULT_ACCESS_ROLE;
pub use organization::collect_organization;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("the caller is account {caller}, not an organization's management account: {detail}")]
    NotManagement { caller: String, detail: String },
}

/// Progress of an inventory, reported per collector and region. Only the binary draws it.
pub trait Reporter: Send + Sync {
    /// A collector started (`ssm@us-east-1`).
    fn collector_started(&self, _name: &str) {}
    /// A collector finished with this many resources.
    fn collector_finished(&self, _name: &str, _resources: usize) {}
}

/// A reporter that reports nothing.
pub struct NoReporter;
impl Reporter for NoReporter {}

#[derive(Debug, Clone)]
pub struct InventoryOptions {
    pub source_account_id: String,
    pub home_region: String,
    pub regions: Vec<String>,
    /// RFC 3339, recorded in the file.
    pub created_at: String,
    /// Whether each bucket's objects are listed to count them (`ObjectCount`, `ObjectBytes`):
    /// the inventory does; apply's staleness check does not need them.
    pub count_objects: bool,
}

/// Inventories the organization (from the caller's management account) and the source
/// account (through the access role) in every region.
pub async fn inventory(
    aws: &Aws,
    opts: &InventoryOptions,
    reporter: &dyn Reporter,
) -> Result<Inventory, InventoryError> {
    let (caller, _) = aws.caller().await?;
    let management = aws.session(&caller).await?;
    reporter.collector_started("organization");
    let organization = collect_organization(&management).await?;
    reporter.collector_finished("organization", organization.accounts.len());
    let source = aws.session(&opts.source_account_id).await?;
    let mut resources =
        collect::collect_account(&source, opts, &aws.options().access_role, None, reporter).await?;
    // Kinds orgsplit does not migrate, listed directly so untagged ones are seen too; a
    // resource the Tagging API sweep found already is kept as found (with its tags).
    let mut coverage = Vec::new();
    let known: std::collections::BTreeSet<String> =
        resources.iter().map(|r| r.arn.clone()).collect();
    for region in &opts.regions {
        reporter.collector_started(&format!("unmigrated@{region}"));
        let (found, covered) = unmigrated::collect(&source, region).await;
        reporter.collector_finished(&format!("unmigrated@{region}"), found.len());
        resources.extend(found.into_iter().filter(|r| !known.contains(&r.arn)));
        coverage.extend(covered);
    }
    let mut inv = Inventory {
        format_version: INVENTORY_FORMAT_VERSION,
        orgsplit_version: ORGSPLIT_VERSION.to_string(),
        created_at: opts.created_at.clone(),
        source_account_id: opts.source_account_id.clone(),
        partition: source.partition.clone(),
        regions: opts.regions.clone(),
        organization,
        resources,
        coverage,
    };
    inv.normalise();
    Ok(inv)
}

/// Every resource of one account, in every region of `opts`. IAM roles named like AWS's
/// default access role ([`DEFAULT_ACCESS_ROLE`]) are left out: [`inventory`] leaves out
/// the access role the session was configured with instead.
pub async fn collect_account(
    session: &AccountSession,
    opts: &InventoryOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<Resource>, InventoryError> {
    collect::collect_account(session, opts, DEFAULT_ACCESS_ROLE, None, reporter).await
}

/// Every resource of one account with no role left out for being an access role: the audit
/// reads the access role's own policies.
pub async fn collect_account_with_access_role(
    session: &AccountSession,
    opts: &InventoryOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<Resource>, InventoryError> {
    // Role names are never empty, so this skips no role by name.
    collect::collect_account(session, opts, "", None, reporter).await
}

/// The resources of `kinds` in one account (apply's staleness check re-reads only what the
/// OU's steps copy): the collectors of other kinds do not run.
pub async fn collect_kinds(
    session: &AccountSession,
    opts: &InventoryOptions,
    kinds: &std::collections::BTreeSet<orgsplit_model::ResourceKind>,
) -> Result<Vec<Resource>, InventoryError> {
    let only = kinds.iter().filter_map(|k| collect::collector_of(*k)).collect();
    let found =
        collect::collect_account(session, opts, DEFAULT_ACCESS_ROLE, Some(&only), &NoReporter);
    Ok(found.await?.into_iter().filter(|r| kinds.contains(&r.kind)).collect())
}
