//! AWS request shapes that more than one crate needs (the inventory records them, apply
//! sends them back): one home each, so the two sides cannot drift apart.

/// ECS: the members `RegisterTaskDefinition` takes, as `DescribeTaskDefinition` names them
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html>).
/// The rest of a described task definition (`revision`, `status`, `compatibilities`,
/// `requiresAttributes`, `registeredAt`, `registeredBy`, the ARN) is AWS's own.
/// `inferenceAccelerators` stays: Elastic Inference has ended, so a copy of a task definition
/// that uses one fails with AWS's own message instead of silently losing it.
pub const ECS_TASK_DEFINITION_REGISTRABLE: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "runtimePlatform",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "enableFaultInjection",
];
