"""What a person does in the demo, through the AWS API, where orgsplit leaves the work to
them. `before-cleanup`: empties the versioned Terraform-state bucket (cleanup deletes a bucket
only when it holds no object, version or delete marker: data is never its to delete) and stops
the standalone ECS task the plan lists as a manual item (a cluster goes only once nothing runs
in it). `manual-items`: moves the plan's tagged manual items that the demo can move without
data (a DynamoDB table, an SQS queue: created in the environment's workloads account, then
deleted from the shared one; a real move copies their data first) and schedules the deletion of
the KMS key cleanup kept, with a 30-day window (no shorter than the deleted secrets' recovery
window: a restored secret needs its key). Used by scripts/demo."""
import os
import sys

import boto3

URL = os.environ["AWS_ENDPOINT_URL"]


def client(service, account="111111111111"):
    c = boto3.client("sts", endpoint_url=URL, region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="orgsplit-demo")["Credentials"]
    return boto3.client(service, endpoint_url=URL, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                        aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def manual_items():
    ids = {a["Email"]: a["Id"] for a in boto3.client("organizations", endpoint_url=URL, region_name="us-east-1").list_accounts()["Accounts"]}
    account = {env: ids[f"aws+{env}-workloads@example.com"] for env in ("dev", "prod")}
    ddb = client("dynamodb")
    for table, env in (("dev-sessions", "dev"),):
        d = ddb.describe_table(TableName=table)["Table"]
        client("dynamodb", account[env]).create_table(
            TableName=table, KeySchema=d["KeySchema"], AttributeDefinitions=d["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST", Tags=ddb.list_tags_of_resource(ResourceArn=d["TableArn"]).get("Tags", []))
        ddb.delete_table(TableName=table)
        print(f"   (moved DynamoDB table {table} to {env}-workloads {account[env]}, a manual item of the plan)", file=sys.stderr)
    sqs = client("sqs")
    for queue, env in (("prod-mail-outbox", "prod"),):
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        client("sqs", account[env]).create_queue(QueueName=queue, tags=tags)
        sqs.delete_queue(QueueUrl=url)
        print(f"   (moved SQS queue {queue} to {env}-workloads {account[env]}, a manual item of the plan)", file=sys.stderr)
    kms = client("kms")
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] == "Enabled":
            kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=30)
            print(f"   (scheduled the deletion of KMS key {key['KeyId']} in 30 days, as cleanup's review says; its copy serves prod)", file=sys.stderr)


def main():
    if sys.argv[1:] == ["manual-items"]:
        return manual_items()
    s3 = client("s3")
    listed = s3.list_object_versions(Bucket="acme-terraform-state")
    versions = listed.get("Versions", []) + listed.get("DeleteMarkers", [])
    for v in versions:
        s3.delete_object(Bucket="acme-terraform-state", Key=v["Key"], VersionId=v["VersionId"])
    print(f"   (emptied acme-terraform-state: {len(versions)} object versions; the state now lives in the new accounts)", file=sys.stderr)
    ecs = client("ecs")
    tasks = ecs.list_tasks(cluster="batch")["taskArns"]
    for task in tasks:
        ecs.stop_task(cluster="batch", task=task, reason="moved by a person (orgsplit manual item)")
    print(f"   (stopped {len(tasks)} standalone task in cluster batch, a manual item of the plan)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
