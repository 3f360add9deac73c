"""Default per-operation token buckets for `"quotas": "aws"`: AWS default quotas where published.

Each group is one bucket per (account, region), shared by its operations, as AWS meters them.
rate = sustained requests per second (refill), burst = bucket size.
"""

ECS_THROTTLING = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html"

QUOTA_SOURCES = {
    "ssm-get": "https://docs.aws.amazon.com/general/latest/gr/ssm.html (Parameter Store max throughput: "
               "default 40 TPS shared by GetParameter, GetParameters, GetParametersByPath); "
               "https://repost.aws/knowledge-center/ssm-parameter-store-rate-exceeded",
    "ssm-put": "https://docs.aws.amazon.com/general/latest/gr/ssm.html (PutParameter default throughput; "
               "the API reference notes Parameter Store throughput applies to GetParameter, GetParameters "
               "and PutParameter: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html)",
    "ecs-*": ECS_THROTTLING + " (\"Request Token Bucket Sizes and Refill Rates\": one bucket per API action "
             "category, per account and Region; the table's capacity and refill rate, read 2026-12-04)",
}

# Amazon ECS's categories as the request-throttling page lists them: (group, burst, refill, actions).
ECS_CATEGORIES = [
    ("ecs-cluster-modify", 20, 1, ["CreateCluster", "DeleteCluster", "PutClusterCapacityProviders",
                                   "UpdateCluster", "UpdateClusterSettings"]),
    ("ecs-cluster-read", 50, 20, ["DescribeClusters", "ListClusters"]),
    ("ecs-task-definition-modify", 20, 1, ["DeregisterTaskDefinition", "RegisterTaskDefinition"]),
    ("ecs-task-definition-read", 50, 20, ["DescribeTaskDefinition", "ListTaskDefinitions",
                                          "ListTaskDefinitionFamilies"]),
    ("ecs-task-definition-delete", 5, 1, ["DeleteTaskDefinitions"]),
    ("ecs-capacity-provider-modify", 10, 1, ["CreateCapacityProvider", "DeleteCapacityProvider",
                                             "UpdateCapacityProvider"]),
    ("ecs-capacity-provider-read", 50, 20, ["DescribeCapacityProviders"]),
    ("ecs-tag-modify", 20, 10, ["TagResource", "UntagResource"]),
    ("ecs-tag-read", 50, 20, ["ListTagsForResource"]),
    ("ecs-setting-modify", 10, 1, ["DeleteAccountSetting", "PutAccountSetting", "PutAccountSettingDefault"]),
    ("ecs-setting-read", 50, 20, ["ListAccountSettings"]),
    ("ecs-cluster-resource-modify", 100, 40, ["DeleteAttributes", "DeregisterContainerInstance", "ExecuteCommand",
                                              "PutAttributes", "RunTask", "StartTask", "StopTask",
                                              "UpdateContainerAgent", "UpdateContainerInstancesStates"]),
    ("ecs-cluster-resource-read", 100, 20, ["DescribeContainerInstances", "DescribeTasks", "ListAttributes",
                                            "ListContainerInstances", "ListTasks"]),
    ("ecs-service-modify", 50, 5, ["CreateService", "DeleteService", "UpdateService"]),
    ("ecs-service-read", 100, 20, ["DescribeServices", "ListServices"]),
    ("ecs-service-deployment", 50, 20, ["DescribeServiceDeployments", "ListServiceDeployments"]),
    ("ecs-service-revision", 50, 20, ["DescribeServiceRevisions"]),
    ("ecs-task-protection", 200, 80, ["UpdateTaskProtection", "GetTaskProtection"]),
    ("ecs-service-namespace-read", 10, 1, ["ListServicesByNamespace"]),
]

DEFAULT_QUOTAS = [
    {"name": "ssm-get", "rate": 40, "burst": 40,
     "operations": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]},
    {"name": "ssm-put", "rate": 3, "burst": 3, "operations": ["ssm:PutParameter"]},
] + [
    {"name": name, "rate": refill, "burst": burst, "operations": [f"ecs:{op}" for op in ops]}
    for name, burst, refill, ops in ECS_CATEGORIES
]
