//! The kinds of resource orgsplit inventories.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A kind of resource in the source account. The serialised name is the prefix of the
/// resource's part of a step address (`ssm:/prod/app/DB_URL`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum ResourceKind {
    #[serde(rename = "ssm")]
    SsmParameter,
    #[serde(rename = "secret")]
    Secret,
    #[serde(rename = "iam-policy")]
    IamPolicy,
    #[serde(rename = "iam-role")]
    IamRole,
    #[serde(rename = "ecr")]
    EcrRepository,
    #[serde(rename = "logs")]
    LogGroup,
    #[serde(rename = "s3")]
    S3Bucket,
    #[serde(rename = "ecs-cluster")]
    EcsCluster,
    #[serde(rename = "ecs-taskdef")]
    EcsTaskDefinition,
    #[serde(rename = "ecs-service")]
    EcsService,
    #[serde(rename = "ecs-task")]
    EcsTask,
    #[serde(rename = "events-rule")]
    EventsRule,
    #[serde(rename = "schedule")]
    Schedule,
    #[serde(rename = "pipeline")]
    Pipeline,
    /// A customer-managed KMS key (AWS-managed keys are the target's own and never copied).
    #[serde(rename = "kms")]
    KmsKey,
    #[serde(rename = "codebuild")]
    CodeBuildProject,
    /// Found only by the Resource Groups Tagging API sweep: a type orgsplit does not migrate.
    #[serde(rename = "other")]
    Other,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 17] = [
        Self::SsmParameter,
        Self::Secret,
        Self::IamPolicy,
        Self::IamRole,
        Self::EcrRepository,
        Self::LogGroup,
        Self::S3Bucket,
        Self::EcsCluster,
        Self::EcsTaskDefinition,
        Self::EcsService,
        Self::EcsTask,
        Self::EventsRule,
        Self::Schedule,
        Self::Pipeline,
        Self::KmsKey,
        Self::CodeBuildProject,
        Self::Other,
    ];

    /// The short name used in addresses, rules and the review.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SsmParameter => "ssm",
            Self::Secret => "secret",
            Self::IamPolicy => "iam-policy",
            Self::IamRole => "iam-role",
            Self::EcrRepository => "ecr",
            Self::LogGroup => "logs",
            Self::S3Bucket => "s3",
            Self::EcsCluster => "ecs-cluster",
            Self::EcsTaskDefinition => "ecs-taskdef",
            Self::EcsService => "ecs-service",
            Self::EcsTask => "ecs-task",
            Self::EventsRule => "events-rule",
            Self::Schedule => "schedule",
            Self::Pipeline => "pipeline",
            Self::KmsKey => "kms",
            Self::CodeBuildProject => "codebuild",
            Self::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// IAM is global: its resources have no region.
    pub fn is_global(self) -> bool {
        matches!(self, Self::IamRole | Self::IamPolicy)
    }

    /// Kinds orgsplit never copies: they become manual items in the plan.
    pub fn is_migrated(self) -> bool {
        !matches!(self, Self::EcsTask | Self::Other)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_parse() {
        for kind in ResourceKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(ResourceKind::parse(kind.as_str()), Some(kind));
        }
    }
}
