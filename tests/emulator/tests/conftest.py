import os
import sys
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from orgsplit_emulator.process import RUN, EmulatorProcess  # noqa: E402,F401  (RUN: for the tests)
SHARED = "111111111111"


class Emulator(EmulatorProcess):
    """The emulator process with the clients and helpers these tests share."""

    def __init__(self, args=()):
        super().__init__(list(args))
        self.startup = self.start_seconds

    # Here every admin call asserts on the answer's status itself: (status, JSON).
    admin = EmulatorProcess.request

    def client(self, service, region="us-east-1", creds=None, retries=0):
        creds = creds or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return boto3.client(service, endpoint_url=self.url, region_name=region,
                            config=Config(retries={"total_max_attempts": retries + 1, "mode": "standard"}), **creds)

    def assume(self, account=SHARED, wait=30.0):
        """Credentials in `account` through its access role; a new account cannot be assumed for
        a few seconds (the strict emulator's AccessDenied), so this waits as a real client must."""
        deadline = time.monotonic() + wait
        while True:
            try:
                c = self.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
                                                   RoleSessionName="pytest")["Credentials"]
                break
            except ClientError as e:
                if e.response["Error"]["Code"] != "AccessDenied" or time.monotonic() > deadline:
                    raise
                time.sleep(0.25)
        return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
                "aws_session_token": c["SessionToken"]}

    def create_account(self, email, name, wait=30.0, client=None):
        """CreateAccount, then DescribeCreateAccountStatus until it is no longer IN_PROGRESS, as
        a real client must (the strict emulator answers IN_PROGRESS, as AWS does)."""
        org = client or self.client("organizations")
        status = org.create_account(Email=email, AccountName=name)["CreateAccountStatus"]
        deadline = time.monotonic() + wait
        while status["State"] == "IN_PROGRESS":
            assert time.monotonic() < deadline, f"account {name} still IN_PROGRESS after {wait}s"
            time.sleep(0.1)
            status = org.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
        return status

    def reset(self):
        self.admin("POST", "/_emulator/faults", {})
        # Strict as by default, but without random ConcurrentModificationException: boto3 does
        # not retry it and these tests call Organizations without retries. test_strict.py
        # turns it on where it is the subject.
        self.admin("DELETE", "/_emulator/strict")
        self.admin("POST", "/_emulator/strict", {"org_concurrent_modification": 0})
        self.moto_api("reset", {})
        self.admin("DELETE", "/_emulator/requests")


@pytest.fixture(scope="session")
def emu():
    e = Emulator()
    yield e
    e.stop()


@pytest.fixture
def fresh(emu):
    emu.reset()
    yield emu
    emu.admin("POST", "/_emulator/faults", {})


@pytest.fixture(scope="session")
def demo():
    """A separate emulator seeded with the demo scenario once."""
    e = Emulator()
    t0 = time.monotonic()
    status, result = e.admin("POST", "/_emulator/seed", {"scenario": "demo"})
    assert status == 200, result
    e.admin("POST", "/_emulator/strict", {"org_concurrent_modification": 0})
    e.seed_result = result
    e.seed_seconds = time.monotonic() - t0
    yield e
    e.stop()
