"""Default per-operation token buckets for `"quotas": "aws"`: AWS default quotas where published.

Each group is one bucket per (account, region), shared by its operations, as AWS meters them.
rate = sustained requests per second (refill), burst = bucket size.
"""

QUOTA_SOURCES = {
    "ssm-get": "https://docs.aws.amazon.com/general/latest/gr/ssm.html (Parameter Store max throughput: "
               "default 40 TPS shared by GetParameter, GetParameters, GetParametersByPath); "
               "https://repost.aws/knowledge-center/ssm-parameter-store-rate-exceeded",
    "ssm-put": "https://docs.aws.amazon.com/general/latest/gr/ssm.html (PutParameter default throughput; "
               "the API reference notes Parameter Store throughput applies to GetParameter, GetParameters "
               "and PutParameter: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html)",
    "ecs-cluster-read": "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html "
                        "(token bucket per account and Region; cluster read actions such as DescribeClusters: bucket 50)",
}

DEFAULT_QUOTAS = [
    {"name": "ssm-get", "rate": 40, "burst": 40,
     "operations": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"]},
    {"name": "ssm-put", "rate": 3, "burst": 3, "operations": ["ssm:PutParameter"]},
    {"name": "ecs-cluster-read", "rate": 20, "burst": 50, "operations": ["ecs:DescribeClusters"]},
]
