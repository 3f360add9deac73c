"""The `[[network]]` blocks of the demo's config: each workload account's default VPC subnets
and security group, read through the AWS API once apply has created the accounts (their
networks do not exist before, which is why the first plan leaves services, and the rules and
schedules that run ECS tasks, as manual items). Used by scripts/demo; prints TOML."""
import os
import sys

import boto3

URL = os.environ["AWS_ENDPOINT_URL"]


def client(service, creds=None):
    return boto3.client(service, endpoint_url=URL, region_name="us-east-1", **(creds or {}))


def assume(account):
    c = client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                  RoleSessionName="orgsplit-demo")["Credentials"]
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


def main():
    ids = {a["Email"]: a["Id"] for a in client("organizations").list_accounts()["Accounts"]}
    for env in ("dev", "prod"):
        ec2 = client("ec2", assume(ids[f"aws+{env}-workloads@example.com"]))
        subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]][:2]
        group = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
        quoted = ", ".join(f'"{s}"' for s in subnets)
        print(f'\n[[network]]\nenvironment = "{env}"\nsubnets = [{quoted}]\nsecurity_groups = ["{group}"]')


if __name__ == "__main__":
    sys.exit(main())
