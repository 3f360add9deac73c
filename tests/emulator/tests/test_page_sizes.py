"""Page sizes the emulator serves as AWS does (docs/emulator-gaps.md, "Page sizes")."""
import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

NAMES = [f"/pages/p{i:03d}" for i in range(120)]


@pytest.fixture
def ssm(fresh):
    client = fresh.client("ssm")
    for name in NAMES:
        client.put_parameter(Name=name, Value="v", Type="String")
    return client


def pages(ssm, **args):
    """Each page's size, following NextToken to the end."""
    sizes, token = [], None
    while True:
        out = ssm.describe_parameters(**args, **({"NextToken": token} if token else {}))
        sizes.append(len(out["Parameters"]))
        token = out.get("NextToken")
        if not token:
            return sizes


def test_describe_parameters_serves_max_results_a_page(ssm):
    # MaxResults 1-50 (API_DescribeParameters); moto 5.2.5 answers 10 a page whatever it says.
    assert pages(ssm, MaxResults=50) == [50, 50, 20]
    assert pages(ssm, MaxResults=7)[:2] == [7, 7]
    assert sum(pages(ssm, MaxResults=7)) == len(NAMES)


def test_describe_parameters_without_max_results_serves_ten_and_no_empty_last_page(ssm):
    # AWS's default page is 10; a token is given only while parameters remain (moto 5.2.5 gave
    # one after every full page, so a listing of 120 ended on an empty 13th page).
    assert pages(ssm) == [10] * 12


def test_describe_parameters_pages_hold_every_parameter_once_in_order(ssm):
    names, token = [], None
    while True:
        out = ssm.describe_parameters(MaxResults=50, **({"NextToken": token} if token else {}))
        names += [p["Name"] for p in out["Parameters"]]
        token = out.get("NextToken")
        if not token:
            break
    assert names == NAMES


def test_describe_parameters_pages_a_filtered_listing(ssm):
    filters = [{"Key": "Name", "Option": "BeginsWith", "Values": ["/pages/p0"]}]
    assert pages(ssm, MaxResults=50, ParameterFilters=filters) == [50, 50]


@pytest.mark.parametrize("max_results", [0, 51])
def test_describe_parameters_refuses_max_results_out_of_range(fresh, ssm, max_results):
    # The SDK checks the range itself; a client that does not must be refused by the service.
    unchecked = boto3.client("ssm", endpoint_url=fresh.url, region_name="us-east-1",
                             aws_access_key_id="testing", aws_secret_access_key="testing",
                             config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as e:
        unchecked.describe_parameters(MaxResults=max_results)
    assert e.value.response["Error"]["Code"] == "ValidationException"
