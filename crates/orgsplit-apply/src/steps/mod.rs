//! One module per step kind (or per AWS service, where kinds share one). Every step checks
//! the live state before it acts, acts only on a difference, and reads back what it wrote.
//!
//! Architecture Invariant: a step may be run again at any time (after a crash, on a second
//! apply, with the journal lost) and ends in the same state without creating anything twice.

use crate::context::{Outcome, StepContext, StepError};
use orgsplit_model::StepSpec;

mod account_ready;
mod budget;
mod codebuild;
mod connection;
pub(crate) mod ecr;
mod ecs;
mod ecs_service;
mod ecs_task_definition;
mod events;
mod iam;
mod iam_policy;
mod iam_role;
mod kms;
mod logs;
mod organizations;
mod pipeline;
mod propagation;
mod regions;
mod s3;
mod s3_config;
mod scheduler;
mod secrets;
mod ssm;
mod stackset;
pub(crate) mod support;
mod targets;
mod trusted_access;

/// Runs one step whose action changes something (never `no-op` or `manual`).
pub async fn run(cx: &StepContext) -> Result<Outcome, StepError> {
    match &cx.step.spec {
        StepSpec::OrgTrustedAccess(i) => trusted_access::trusted_access(cx, i).await,
        StepSpec::Scp(i) => organizations::scp(cx, i).await,
        StepSpec::Ou(i) => organizations::ou(cx, i).await,
        StepSpec::ScpAttachment(i) => organizations::scp_attachment(cx, i).await,
        StepSpec::Account(i) => organizations::account(cx, i).await,
        StepSpec::AccountMove(i) => organizations::account_move(cx, i).await,
        StepSpec::RegionOptIn(i) => regions::opt_in(cx, i).await,
        StepSpec::StackSet(i) => stackset::stack_set(cx, i).await,
        StepSpec::StackSetInstances(i) => stackset::instances(cx, i).await,
        StepSpec::Budget(i) => budget::run(cx, i).await,
        StepSpec::EcrPullAccess(i) => ecr::pull_access(cx, i).await,
        StepSpec::SsmParameter(i) => ssm::run(cx, &i.copy).await,
        StepSpec::Secret(i) => secrets::run(cx, &i.copy).await,
        StepSpec::IamPolicy(i) => iam_policy::policy(cx, i).await,
        StepSpec::IamRole(i) => iam_role::role(cx, i).await,
        StepSpec::LogGroup(i) => logs::run(cx, i).await,
        StepSpec::S3Bucket(i) => s3::run(cx, i).await,
        StepSpec::EcsCluster(i) => ecs::cluster(cx, i).await,
        StepSpec::EcsTaskDefinition(i) => ecs_task_definition::task_definition(cx, i).await,
        StepSpec::EcsService(i) => ecs_service::service(cx, i).await,
        StepSpec::EventsRule(i) => events::run(cx, i).await,
        StepSpec::Schedule(i) => scheduler::run(cx, i).await,
        StepSpec::Connection(i) => connection::run(cx, i).await,
        StepSpec::ConnectionShare(i) => connection::share(cx, i).await,
        StepSpec::KmsKey(i) => kms::key(cx, i).await,
        StepSpec::KmsKeyPolicy(i) => kms::policy(cx, i).await,
        StepSpec::CodeBuildProject(i) => codebuild::run(cx, i).await,
        StepSpec::Pipeline(i) => pipeline::run(cx, i).await,
        StepSpec::Manual(_) => {
            Err(StepError::Failed("a manual item is done by a person, not by apply".into()))
        }
    }
}
