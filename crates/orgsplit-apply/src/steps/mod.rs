//! One module per step kind (or per AWS service, where kinds share one). Every step checks
//! the live state before it acts, acts only on a difference, and reads back what it wrote.
//!
//! Architecture Invariant: a step may be run again at any time (after a crash, on a second
//! apply, with the journal lost) and ends in the same state without creating anything twice.

use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::StepKind;

mod account_ready;
mod budget;
mod connection;
pub(crate) mod ecr;
mod ecs;
mod events;
mod iam;
mod logs;
pub(crate) mod organizations;
mod pipeline;
mod propagation;
mod regions;
mod s3;
mod scheduler;
mod secrets;
mod ssm;
mod stackset;
mod trusted_access;
pub(crate) mod util;

/// Runs one step whose action changes something (never `no-op` or `manual`).
pub async fn run(cx: &StepContext) -> Result<Outcome, StepError> {
    match cx.step.kind {
        StepKind::OrgTrustedAccess => trusted_access::trusted_access(cx).await,
        StepKind::Scp => organizations::scp(cx).await,
        StepKind::Ou => organizations::ou(cx).await,
        StepKind::ScpAttachment => organizations::scp_attachment(cx).await,
        StepKind::Account => organizations::account(cx).await,
        StepKind::AccountMove => organizations::account_move(cx).await,
        StepKind::RegionOptIn => regions::opt_in(cx).await,
        StepKind::StackSet => stackset::stack_set(cx).await,
        StepKind::StackSetInstances => stackset::instances(cx).await,
        StepKind::Budget => budget::run(cx).await,
        StepKind::EcrPullAccess => ecr::pull_access(cx).await,
        StepKind::SsmParameter => ssm::run(cx).await,
        StepKind::Secret => secrets::run(cx).await,
        StepKind::IamPolicy => iam::policy(cx).await,
        StepKind::IamRole => iam::role(cx).await,
        StepKind::LogGroup => logs::run(cx).await,
        StepKind::S3Bucket => s3::run(cx).await,
        StepKind::EcsCluster => ecs::cluster(cx).await,
        StepKind::EcsTaskDefinition => ecs::task_definition(cx).await,
        StepKind::EcsService => ecs::service(cx).await,
        StepKind::EventsRule => events::run(cx).await,
        StepKind::Schedule => scheduler::run(cx).await,
        StepKind::CodestarConnection => connection::run(cx).await,
        StepKind::Pipeline => pipeline::run(cx).await,
        StepKind::Manual => Err(StepError::Failed(
            "a manual item is done by a person, not by apply".into(),
        )),
    }
}
