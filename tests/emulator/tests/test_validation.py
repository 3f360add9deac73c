"""orgsplit_emulator.validation: parsing each wire protocol and validating against botocore's model.

No emulator process: requests are WSGI environ dicts built by hand or from botocore's own
serializers (the same wire format boto3 sends), so "valid request -> no violation" is checked on
what real SDKs put on the wire.
"""
import base64
import json
import os
import sys
import uuid
from urllib.parse import quote, unquote, urlencode, urlsplit

import botocore.serialize
import botocore.session
import pytest
from botocore.awsrequest import create_request_object, prepare_request_dict

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from orgsplit_emulator import validation as v  # noqa: E402
from orgsplit_emulator.validation_parse import service_model  # noqa: E402

SESSION = botocore.session.get_session()
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/orgsplit-runner"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]})


# ------------------------------------------------------------------ helpers
def environ(method, path, query="", headers=None, host="127.0.0.1:4566"):
    """A WSGI environ as werkzeug builds it (PATH_INFO decoded, RAW_URI raw)."""
    env = {"REQUEST_METHOD": method, "PATH_INFO": unquote(path).encode("utf-8").decode("latin-1"),
           "QUERY_STRING": query, "RAW_URI": path + ("?" + query if query else ""), "HTTP_HOST": host}
    for k, val in (headers or {}).items():
        if isinstance(val, bytes):
            val = val.decode()
        low = k.lower()
        if low == "content-type":
            env["CONTENT_TYPE"] = val
        elif low == "content-length":
            env["CONTENT_LENGTH"] = val
        else:
            env["HTTP_" + k.upper().replace("-", "_")] = val
    return env


def json_request(target, body, version="1.1"):
    env = environ("POST", "/", headers={"X-Amz-Target": target, "Content-Type": f"application/x-amz-json-{version}"})
    return env, json.dumps(body).encode() if not isinstance(body, bytes) else body


def query_request(params):
    body = urlencode(params).encode()
    return environ("POST", "/", headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}), body


def wire_protocol(model):
    proto = model.metadata["protocol"]
    return "json" if "cbor" in proto else proto  # X-Amz-Target JSON, as the emulator classifies it


def serialize(model_name, operation, params):
    """(protocol, environ, body) of what botocore sends for these params."""
    model = SESSION.get_service_model(model_name)
    proto = wire_protocol(model)
    op = model.operation_model(operation)
    req = botocore.serialize.create_serializer(proto, include_validation=True).serialize_to_request(params, op)
    prepare_request_dict(req, endpoint_url="http://127.0.0.1:4566")
    prepared = create_request_object(req).prepare()
    parts = urlsplit(prepared.url)
    body = prepared.body or b""
    body = body.encode() if isinstance(body, str) else body
    headers = dict(prepared.headers.items())
    headers["Content-Length"] = str(len(body))
    return proto, environ(prepared.method, parts.path, parts.query, headers, host=parts.netloc), body


def violations(service, operation, protocol, env, body):
    params, found = v.check(service, operation, protocol, env, body)
    assert params is not None
    return found


# ------------------------------------------------------------------ json (awsJson)
SSM = "AmazonSSM.PutParameter"


def test_json_valid_put_parameter():
    env, body = json_request(SSM, {"Name": "/orgsplit/dev/url", "Value": "x", "Type": "SecureString", "Overwrite": True})
    assert v.check("ssm", "PutParameter", "json", env, body) == (
        {"Name": "/orgsplit/dev/url", "Value": "x", "Type": "SecureString", "Overwrite": True}, [])


def test_json_name_too_long():
    env, body = json_request(SSM, {"Name": "n" * 2049, "Value": "x"})
    found = violations("ssm", "PutParameter", "json", env, body)
    assert found == [f"Value '{'n' * 2049}' at 'name' failed to satisfy constraint: "
                     "Member must have length less than or equal to 2048"]


@pytest.mark.parametrize("body", [{"Value": "x"}, {"Name": None, "Value": "x"}])
def test_json_missing_required(body):
    env, raw = json_request(SSM, body)
    found = violations("ssm", "PutParameter", "json", env, raw)
    assert found == ["Value null at 'name' failed to satisfy constraint: Member must not be null"]
    assert v.format_message(found) == ("1 validation error detected: Value null at 'name' failed to satisfy "
                                       "constraint: Member must not be null")


def test_json_unknown_member_and_enum():
    env, body = json_request(SSM, {"Name": "a", "Value": "x", "Type": "Bogus", "Colour": "red"})
    found = violations("ssm", "PutParameter", "json", env, body)
    assert found[0] == ("Value 'Bogus' at 'type' failed to satisfy constraint: "
                        "Member must satisfy enum value set: [String, StringList, SecureString]")
    assert found[1].startswith("Unknown parameter in input: 'Colour', must be one of: Name, Description, Value")
    assert len(found) == 2


def test_json_nested_paths_ranges_and_types():
    env, body = json_request("AmazonSSM.GetParametersByPath", {
        "Path": "/a", "MaxResults": 11, "Recursive": "yes",
        "ParameterFilters": [{"Key": "Type", "Values": ["x"]}, {"Key": "k" * 133, "Bogus": 1}]})
    found = violations("ssm", "GetParametersByPath", "json", env, body)
    assert "Value '11' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 10" in found
    assert "Value 'yes' at 'recursive' failed to satisfy constraint: Member must be of type boolean" in found
    assert any(f.startswith(f"Value '{'k' * 133}' at 'parameterFilters.2.member.key' failed") for f in found)
    assert any(f.startswith("Unknown parameter in input: 'parameterFilters.2.member.Bogus'") for f in found)


def test_json_list_count_map_constraints_and_sensitive_values():
    env, body = json_request("Logs_20140328.CreateLogGroup", {"logGroupName": "bad name", "tags": {"k" * 129: "v", "ok": "v" * 257}})
    found = violations("logs", "CreateLogGroup", "json", env, body)
    assert found[0] == ("Value 'bad name' at 'logGroupName' failed to satisfy constraint: "
                        "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")
    assert "Map keys must satisfy constraint: [Member must have length less than or equal to 128]" in found[1]
    assert "Map value must satisfy constraint: [Member must have length less than or equal to 256]" in found[2]
    # sensitive members: AWS leaves the value out of the message
    env, body = json_request("secretsmanager.CreateSecret", {"Name": "s", "SecretString": "p" * 65537})
    assert violations("secretsmanager", "CreateSecret", "json", env, body) == [
        "Value at 'secretString' failed to satisfy constraint: Member must have length less than or equal to 65536"]


def test_json_blobs_are_base64():
    env, body = json_request("secretsmanager.CreateSecret", {"Name": "s", "SecretBinary": base64.b64encode(b"\0\1").decode()})
    assert v.check("secretsmanager", "CreateSecret", "json", env, body) == ({"Name": "s", "SecretBinary": b"\0\1"}, [])
    env, body = json_request("secretsmanager.CreateSecret", {"Name": "s", "SecretBinary": "not base64!"})
    assert violations("secretsmanager", "CreateSecret", "json", env, body) == [
        "Value at 'secretBinary' failed to satisfy constraint: Member must be a valid base64-encoded blob"]


def test_json_empty_bodies_of_no_input_operations():
    # the Rust SDK sends {} (and some clients nothing) for operations without input
    for body in (b"{}", b""):
        env, raw = json_request("AWSOrganizationsV20161128.DescribeOrganization", body)
        assert v.check("organizations", "DescribeOrganization", "json", env, raw) == ({}, [])
        env, raw = json_request("AWSOrganizationsV20161128.ListRoots", body)
        assert v.check("organizations", "ListRoots", "json", env, raw) == ({}, [])


# ------------------------------------------------------------------ query
def create_role(**extra):
    params = {"Action": "CreateRole", "Version": "2010-05-08", "RoleName": "orgsplit-runner",
              "AssumeRolePolicyDocument": TRUST}
    params.update(extra)
    return query_request(params)


def test_query_valid_create_role_with_tags():
    env, body = create_role(**{"Tags.member.1.Key": "team", "Tags.member.1.Value": "platform", "MaxSessionDuration": "3600"})
    params, found = v.check("iam", "CreateRole", "query", env, body)
    assert found == []
    assert params == {"RoleName": "orgsplit-runner", "AssumeRolePolicyDocument": TRUST, "MaxSessionDuration": 3600,
                      "Tags": [{"Key": "team", "Value": "platform"}]}


def test_query_role_name_length_and_pattern():
    env, body = create_role(RoleName="r" * 65)
    assert violations("iam", "CreateRole", "query", env, body) == [
        f"Value '{'r' * 65}' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64"]
    env, body = create_role(RoleName="a b")
    assert violations("iam", "CreateRole", "query", env, body) == [
        "Value 'a b' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"]
    # Java's \w is ASCII-only
    env, body = create_role(RoleName="rôle")
    assert len(violations("iam", "CreateRole", "query", env, body)) == 1


def test_query_tags_unknown_keys_and_list_count():
    env, body = create_role(**{"Tags.member.1.Key": "k" * 129, "Tags.member.1.Value": "v", "Tags.member.1.Colour": "x",
                               "Bogus": "1"})
    found = violations("iam", "CreateRole", "query", env, body)
    assert found[0] == (f"Value '{'k' * 129}' at 'tags.1.member.key' failed to satisfy constraint: "
                        "Member must have length less than or equal to 128")
    assert sorted(f.split(",")[0] for f in found[1:]) == [
        "Unknown parameter in input: 'Bogus'", "Unknown parameter in input: 'Tags.member.1.Colour'"]
    tags = {}
    for i in range(1, 52):
        tags[f"Tags.member.{i}.Key"] = f"k{i}"
        tags[f"Tags.member.{i}.Value"] = "v"
    env, body = create_role(**tags)
    found = violations("iam", "CreateRole", "query", env, body)
    assert len(found) == 1 and found[0].endswith("at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")


def test_query_presigned_and_empty_list():
    # a presigned GetCallerIdentity: everything in the query string, X-Amz-* are not parameters
    q = urlencode({"Action": "GetCallerIdentity", "Version": "2011-06-15", "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                   "X-Amz-Credential": "AKID/20260101/us-east-1/sts/aws4_request", "X-Amz-Date": "20260101T000000Z",
                   "X-Amz-Expires": "60", "X-Amz-SignedHeaders": "host", "X-Amz-Signature": "ab" * 32})
    assert v.check("sts", "GetCallerIdentity", "query", environ("GET", "/", q), b"") == ({}, [])
    # "Name=" is the query protocol's empty list
    env, body = query_request({"Action": "CreateStackSet", "Version": "2010-05-15", "StackSetName": "s",
                               "Capabilities": ""})
    assert v.check("cloudformation", "CreateStackSet", "query", env, body) == ({"StackSetName": "s", "Capabilities": []}, [])


def test_query_cloudformation_stack_set_name_has_no_pattern_in_model():
    # AWS documents "alphanumeric and hyphens, starting with a letter" for StackSetName, but botocore's
    # model declares no pattern (shape StackSetName is a bare string): "dev_ou" passes validation.
    shape = service_model("cloudformation").operation_model("CreateStackSet").input_shape.members["StackSetName"]
    assert "pattern" not in shape.metadata
    env, body = query_request({"Action": "CreateStackSet", "Version": "2010-05-15", "StackSetName": "dev_ou"})
    assert violations("cloudformation", "CreateStackSet", "query", env, body) == []


# ------------------------------------------------------------------ rest-json
def test_rest_json_label_too_long_and_unknown_query_params():
    body = json.dumps({"ScheduleExpression": "rate(1 day)", "FlexibleTimeWindow": {"Mode": "OFF"},
                       "Target": {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:f", "RoleArn": ROLE_ARN}}).encode()
    env = environ("POST", "/schedules/" + "s" * 65, "x-id=CreateSchedule&foo=bar", {"Content-Type": "application/json"})
    params, found = v.check("scheduler", "CreateSchedule", "rest-json", env, body)
    assert params["Name"] == "s" * 65
    assert found == [f"Value '{'s' * 65}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 64"]
    env = environ("POST", "/schedules/ok", "", {"Content-Type": "application/json"})
    assert violations("scheduler", "CreateSchedule", "rest-json", env, body) == []
    # a body member the shape does not know
    bad = json.dumps({**json.loads(body), "Extra": 1}).encode()
    found = violations("scheduler", "CreateSchedule", "rest-json", env, bad)
    assert len(found) == 1 and found[0].startswith("Unknown parameter in input: 'Extra'")


def test_rest_json_encoded_labels_and_querystring():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    body = json.dumps({"StatementId": "s1", "Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com"}).encode()
    env = environ("POST", f"/2015-03-31/functions/{quote(arn, safe='')}/policy", "Qualifier=live", {"Content-Type": "application/json"})
    params, found = v.check("lambda", "AddPermission", "rest-json", env, body)
    assert params["FunctionName"] == arn and params["Qualifier"] == "live" and found == []


def test_path_that_does_not_fit_the_operation_is_not_validated():
    env = environ("POST", "/not-schedules/x", "", {"Content-Type": "application/json"})
    assert v.check("scheduler", "CreateSchedule", "rest-json", env, b"{}") == (None, [])


# ------------------------------------------------------------------ rest-xml (S3)
def tagging_xml(key, value="v"):
    return (f'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>{key}</Key>'
            f"<Value>{value}</Value></Tag><Tag><Key>empty</Key><Value></Value></Tag></TagSet></Tagging>").encode()


def test_rest_xml_put_bucket_tagging():
    env = environ("PUT", "/orgsplit-artifacts", "tagging", {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="})
    params, found = v.check("s3", "PutBucketTagging", "rest-xml", env, tagging_xml("team", "platform"))
    assert found == []
    assert params == {"Bucket": "orgsplit-artifacts", "ContentMD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                      "Tagging": {"TagSet": [{"Key": "team", "Value": "platform"}, {"Key": "empty", "Value": ""}]}}
    # S3's model gives Tag.Key (shape ObjectKey) only min 1, no max 128: a 129-char key is not a violation here
    assert violations("s3", "PutBucketTagging", "rest-xml", env, tagging_xml("k" * 129)) == []
    assert violations("s3", "PutBucketTagging", "rest-xml", env, tagging_xml("")) == [
        "Value '' at 'tagging.tagSet.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"]
    bad = tagging_xml("a").replace(b"</TagSet>", b"</TagSet><Colour>red</Colour>")
    found = violations("s3", "PutBucketTagging", "rest-xml", env, bad)
    assert len(found) == 1 and found[0].startswith("Unknown parameter in input: 'tagging.Colour'")


def test_rest_xml_virtual_hosted_bucket():
    env = environ("PUT", "/", "tagging", host="orgsplit-artifacts.s3.amazonaws.com")
    params, found = v.check("s3", "PutBucketTagging", "rest-xml", env, tagging_xml("team"))
    assert params["Bucket"] == "orgsplit-artifacts" and found == []
    env = environ("PUT", "/dir/file.txt", "x-id=PutObject", host="orgsplit-artifacts.localhost:4566")
    params, found = v.check("s3", "PutObject", "rest-xml", env, b"data")
    assert (params["Bucket"], params["Key"], params["Body"], found) == ("orgsplit-artifacts", "dir/file.txt", b"data", [])


def test_rest_xml_rust_sdk_put_object_headers():
    # what aws-sdk-s3 sends on a path-style custom endpoint: checksums, aws-chunked, Expect, SDK headers
    headers = {"Content-Type": "text/plain", "Content-Encoding": "aws-chunked", "Expect": "100-continue",
               "x-amz-sdk-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": "AAAAAA==", "x-amz-trailer": "x-amz-checksum-crc32",
               "x-amz-decoded-content-length": "5", "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
               "Content-MD5": "XUFAKrxLKna5cZ2REBfFkg==", "x-amz-user-agent": "aws-sdk-rust/1.3", "amz-sdk-invocation-id": str(uuid.uuid4()),
               "amz-sdk-request": "attempt=1; max=3", "x-amz-meta-project": "orgsplit", "Content-Length": "40"}
    env = environ("PUT", "/orgsplit-artifacts/dir/sub%20dir/a%2Bb.txt", "x-id=PutObject", headers)
    params, found = v.check("s3", "PutObject", "rest-xml", env, b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n")
    assert found == []
    assert params["Key"] == "dir/sub dir/a+b.txt" and params["Metadata"] == {"project": "orgsplit"}
    assert params["ChecksumAlgorithm"] == "CRC32" and "ContentLength" not in params
    env["HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM"] = "MD4"
    found = violations("s3", "PutObject", "rest-xml", env, b"x")
    assert len(found) == 1 and found[0].startswith("Value 'MD4' at 'checksumAlgorithm'")


# ------------------------------------------------------------------ no model / no parse
def test_no_validation_without_model_or_parse():
    env, body = json_request(SSM, {"Name": "a"})
    assert v.parse_request("ssm", "PutParameter", "cbor", env, body) is None
    assert v.parse_request("no-such-service", "PutParameter", "json", env, body) is None
    assert v.parse_request("ssm", "NoSuchOperation", "json", env, body) is None
    assert v.check("ssm", "PutParameter", "json", env, b"{not json") == (None, [])
    assert v.check("s3", "PutBucketTagging", "rest-xml", environ("PUT", "/b", "tagging"), b"<Tagging>") == (None, [])
    assert v.validate("ssm", "NoSuchOperation", {"x": 1}) == []
    env, body = json_request(SSM, {"Name": "n" * 3000})
    env["HTTP_CONTENT_ENCODING"] = "gzip"  # compressed bodies (requestcompression trait) are not decoded
    assert v.check("ssm", "PutParameter", "json", env, body) == (None, [])


# ------------------------------------------------------------------ error responses
def test_error_responses_per_protocol():
    msgs = ["Value 'a b' at 'roleName' failed to satisfy constraint: x", "Value null at 'y' failed to satisfy constraint: z"]
    status, headers, body = v.validation_error("json", "ssm", msgs)
    h = dict(headers)
    assert status == 400 and h["x-amzn-ErrorType"] == "ValidationException" and h["Content-Type"] == "application/x-amz-json-1.1"
    assert json.loads(body) == {"__type": "ValidationException", "message": "2 validation errors detected: " + "; ".join(msgs)}
    status, headers, body = v.validation_error("rest-json", "scheduler", msgs[:1])
    assert dict(headers)["Content-Type"] == "application/json"
    assert json.loads(body)["message"] == "1 validation error detected: " + msgs[0]
    status, headers, body = v.validation_error("query", "iam", msgs[:1])
    text = body.decode()
    assert status == 400 and text.startswith('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>')
    assert "<Type>Sender</Type><Code>ValidationError</Code><Message>1 validation error detected: Value 'a b' at 'roleName'" in text
    assert "<RequestId>" in text
    status, headers, body = v.validation_error("rest-xml", "s3", msgs[:1])
    assert status == 400 and b"<Error><Code>InvalidArgument</Code><Message>1 validation error detected:" in body
    status, headers, body = v.validation_error("ec2", "ec2", msgs[:1])
    assert b"<Code>InvalidParameterValue</Code>" in body


@pytest.mark.parametrize("protocol,service,code", [
    ("json", "ssm", "ValidationException"), ("json", "logs", "InvalidParameterException"),
    ("rest-json", "lambda", "ValidationException"), ("json", "organizations", "InvalidInputException"),
    ("json", "events", "ValidationException"), ("json", "secretsmanager", "ValidationException"),
    ("json", "ecs", "InvalidParameterException"), ("json", "codepipeline", "ValidationException"),
    ("query", "sts", "ValidationError"), ("query", "cloudformation", "ValidationError"), ("rest-xml", "s3", "InvalidArgument"),
])
def test_error_codes(protocol, service, code):
    assert v.error_code(protocol, service) == code


@pytest.mark.parametrize("protocol,service,model,operation,code", [
    ("json", "ssm", "ssm", "PutParameter", "ValidationException"),
    ("json", "logs", "logs", "CreateLogGroup", "InvalidParameterException"),
    ("rest-json", "scheduler", "scheduler", "CreateSchedule", "ValidationException"),
    ("query", "iam", "iam", "CreateRole", "ValidationError"),
    ("rest-xml", "s3", "s3", "PutBucketTagging", "InvalidArgument"),
    ("ec2", "ec2", "ec2", "DescribeVpcs", "InvalidParameterValue"),
])
def test_error_responses_parse_in_botocore(protocol, service, model, operation, code):
    import botocore.parsers
    from botocore.awsrequest import HeadersDict

    msgs = ["Value 'a b' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"]
    status, headers, body = v.validation_error(protocol, service, msgs)
    op = SESSION.get_service_model(model).operation_model(operation)
    parsed = botocore.parsers.create_parser(protocol).parse(
        {"status_code": status, "headers": HeadersDict(headers), "body": body}, op.output_shape)
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == v.format_message(msgs)


def test_java_patterns():
    assert v.compiled_pattern("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*").fullmatch("a\U0001F600")
    assert v.compiled_pattern("[z-a]") is None  # does not compile: not checked
    assert v.compiled_pattern("\\p{Print}+").fullmatch("é") is None
    assert v.compiled_pattern("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+").fullmatch("équipe 1")
    assert v.compiled_pattern("\\S+").fullmatch("a\u00a0b")  # Java's \S: anything but ASCII whitespace
    assert v.compiled_pattern("[\\w+=,.@-]+").fullmatch("é") is None  # Java's \w is ASCII


# ------------------------------------------------------------------ no false positives on real SDK requests
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
CLUSTER = f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/orgsplit"
TASKDEF = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/orgsplit-job:3"
CASES = [
    ("ssm", "ssm", "PutParameter", {"Name": "/orgsplit/dev/db-url", "Value": "postgres://db:5432/app", "Type": "SecureString",
                                    "KeyId": "alias/aws/ssm", "Overwrite": True, "Tier": "Standard", "DataType": "text",
                                    "Description": "database url"}),
    ("ssm", "ssm", "GetParametersByPath", {"Path": "/orgsplit/", "Recursive": True, "WithDecryption": True, "MaxResults": 10,
                                           "ParameterFilters": [{"Key": "Type", "Option": "Equals", "Values": ["SecureString"]}]}),
    ("iam", "iam", "CreateRole", {"RoleName": "OrganizationAccountAccessRole", "AssumeRolePolicyDocument": TRUST, "Path": "/",
                                  "Description": "orgsplit access", "MaxSessionDuration": 3600,
                                  "Tags": [{"Key": "orgsplit:managed", "Value": "true"}, {"Key": "team", "Value": ""}]}),
    ("iam", "iam", "PutRolePolicy", {"RoleName": "orgsplit-runner", "PolicyName": "read", "PolicyDocument": POLICY}),
    ("sts", "sts", "AssumeRole", {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole",
                                  "RoleSessionName": "orgsplit-1700000000", "DurationSeconds": 900}),
    ("sts", "sts", "GetCallerIdentity", {}),
    ("organizations", "organizations", "CreateAccount", {"Email": "aws+dev@example.com", "AccountName": "dev workloads",
                                                         "RoleName": "OrganizationAccountAccessRole", "IamUserAccessToBilling": "ALLOW",
                                                         "Tags": [{"Key": "env", "Value": "dev"}]}),
    ("organizations", "organizations", "ListRoots", {"MaxResults": 20}),
    ("organizations", "organizations", "AttachPolicy", {"PolicyId": "p-examplepolicyid111", "TargetId": "ou-ab12-cd34ef56"}),
    ("organizations", "organizations", "EnablePolicyType", {"RootId": "r-ab12", "PolicyType": "SERVICE_CONTROL_POLICY"}),
    ("ecs", "ecs", "RegisterTaskDefinition", {
        "family": "orgsplit-job", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
        "executionRoleArn": ROLE_ARN, "taskRoleArn": ROLE_ARN,
        "containerDefinitions": [{"name": "app", "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/app:latest", "cpu": 0,
                                  "memory": 512, "essential": True, "command": ["run", "--all"],
                                  "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                                  "environment": [{"name": "MODE", "value": "prod"}],
                                  "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"}],
                                  "logConfiguration": {"logDriver": "awslogs", "options": {
                                      "awslogs-group": "/ecs/orgsplit", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"}}}],
        "tags": [{"key": "team", "value": "platform"}]}),
    ("events", "events", "PutRule", {"Name": "orgsplit-nightly", "ScheduleExpression": "cron(0 3 * * ? *)", "State": "ENABLED",
                                     "Description": "nightly run", "Tags": [{"Key": "team", "Value": "platform"}]}),
    ("events", "events", "PutTargets", {"Rule": "orgsplit-nightly", "Targets": [{
        "Id": "orgsplit-task", "Arn": CLUSTER, "RoleArn": ROLE_ARN, "Input": json.dumps({"mode": "nightly"}),
        "EcsParameters": {"TaskDefinitionArn": TASKDEF, "TaskCount": 1, "LaunchType": "FARGATE", "PlatformVersion": "LATEST",
                          "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-0123456789abcdef0"],
                                                                           "SecurityGroups": ["sg-0123456789abcdef0"],
                                                                           "AssignPublicIp": "DISABLED"}},
                          "Tags": [{"Key": "team", "Value": "platform"}], "PropagateTags": "TASK_DEFINITION"}}]}),
    ("scheduler", "scheduler", "CreateSchedule", {
        "Name": "orgsplit-daily", "GroupName": "default", "ScheduleExpression": "rate(1 day)", "State": "ENABLED",
        "ScheduleExpressionTimezone": "Europe/Paris", "FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
        "ClientToken": "3f1c2b7e-9d4a-4c1e-8b2f-0a1b2c3d4e5f",
        "Target": {"Arn": CLUSTER, "RoleArn": ROLE_ARN, "Input": "{}", "RetryPolicy": {"MaximumRetryAttempts": 2},
                   "EcsParameters": {"TaskDefinitionArn": TASKDEF, "TaskCount": 1, "LaunchType": "FARGATE",
                                     "NetworkConfiguration": {"awsvpcConfiguration": {"Subnets": ["subnet-0123456789abcdef0"]}}}}}),
    ("codepipeline", "codepipeline", "CreatePipeline", {"pipeline": {
        "name": "orgsplit-deploy", "roleArn": ROLE_ARN, "pipelineType": "V2", "executionMode": "QUEUED",
        "artifactStore": {"type": "S3", "location": "orgsplit-artifacts"},
        "stages": [
            {"name": "Source", "actions": [{"name": "Source", "runOrder": 1, "outputArtifacts": [{"name": "src"}],
                                            "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                                            "configuration": {"ConnectionArn": f"arn:aws:codestar-connections:us-east-1:{ACCOUNT}:connection/abc",
                                                              "FullRepositoryId": "org/repo", "BranchName": "main"}}]},
            {"name": "Deploy", "actions": [{"name": "Deploy", "inputArtifacts": [{"name": "src"}],
                                            "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"},
                                            "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": "app"}}]}]},
        "tags": [{"key": "team", "value": "platform"}]}),
    ("logs", "logs", "CreateLogGroup", {"logGroupName": "/orgsplit/app", "tags": {"team": "platform", "cost:centre": "42"}}),
    ("tagging", "resourcegroupstaggingapi", "GetResources", {"TagFilters": [{"Key": "team", "Values": ["platform"]}],
                                                             "ResourceTypeFilters": ["ssm:parameter"], "ResourcesPerPage": 50}),
    ("ecr", "ecr", "CreateRepository", {"repositoryName": "orgsplit/app", "imageTagMutability": "IMMUTABLE",
                                        "tags": [{"Key": "team", "Value": "platform"}]}),
    ("s3", "s3", "CreateBucket", {"Bucket": "orgsplit-artifacts", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}),
    ("s3", "s3", "PutBucketTagging", {"Bucket": "orgsplit-artifacts", "Tagging": {"TagSet": [{"Key": "team", "Value": "platform"}]}}),
    ("s3", "s3", "PutObject", {"Bucket": "orgsplit-artifacts", "Key": "dir/sub dir/file+1.txt", "Body": b"hello",
                               "ContentType": "text/plain", "Metadata": {"project": "orgsplit"}}),
    ("s3", "s3", "ListObjectsV2", {"Bucket": "orgsplit-artifacts", "Prefix": "dir/", "MaxKeys": 100}),
    ("cloudformation", "cloudformation", "CreateStackSet", {
        "StackSetName": "orgsplit-baseline", "TemplateBody": json.dumps({"Resources": {}}), "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False}, "Capabilities": ["CAPABILITY_NAMED_IAM"],
        "Parameters": [{"ParameterKey": "Env", "ParameterValue": "dev"}], "CallAs": "SELF",
        "Tags": [{"Key": "team", "Value": "platform"}]}),
    ("cloudformation", "cloudformation", "CreateStackInstances", {
        "StackSetName": "orgsplit-baseline", "Regions": ["us-east-1", "eu-west-1"],
        "DeploymentTargets": {"OrganizationalUnitIds": ["ou-ab12-cd34ef56"]},
        "OperationPreferences": {"FailureToleranceCount": 0, "MaxConcurrentCount": 1, "RegionConcurrencyType": "PARALLEL"},
        "OperationId": "orgsplit-op-1", "CallAs": "SELF"}),
    ("budgets", "budgets", "CreateBudget", {
        "AccountId": ACCOUNT, "Budget": {"BudgetName": "orgsplit-monthly", "BudgetLimit": {"Amount": "100.0", "Unit": "USD"},
                                         "TimeUnit": "MONTHLY", "BudgetType": "COST"},
        "NotificationsWithSubscribers": [{"Notification": {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN",
                                                           "Threshold": 80.0, "ThresholdType": "PERCENTAGE"},
                                          "Subscribers": [{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}]}]}),
    ("secretsmanager", "secretsmanager", "CreateSecret", {
        "Name": "orgsplit/db", "ClientRequestToken": "5c0b0e6e-2a3c-4b55-9d1e-3f4a5b6c7d8e", "SecretString": '{"password":"x"}',
        "Description": "db", "Tags": [{"Key": "team", "Value": "platform"}]}),
    ("sqs", "sqs", "SendMessage", {"QueueUrl": f"http://127.0.0.1:4566/{ACCOUNT}/orgsplit", "MessageBody": '{"run": 1}',
                                   "DelaySeconds": 0, "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "run"}}}),
    ("lambda", "lambda", "AddPermission", {"FunctionName": "orgsplit-trigger", "StatementId": "events-invoke",
                                           "Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com",
                                           "SourceArn": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/orgsplit-nightly",
                                           "SourceAccount": ACCOUNT}),
]


@pytest.mark.parametrize("service,model,operation,params", CASES, ids=[f"{c[0]}:{c[2]}" for c in CASES])
def test_botocore_serialized_requests_round_trip_without_violations(service, model, operation, params):
    protocol, env, body = serialize(model, operation, params)
    parsed = v.parse_request(service, operation, protocol, env, body)
    assert parsed == params
    assert v.validate(service, operation, parsed) == []


def test_timestamps_are_kept_as_sent():
    import datetime

    start = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    params = dict(CASES[13][3], StartDate=start)
    protocol, env, body = serialize("scheduler", "CreateSchedule", params)
    parsed, found = v.check("scheduler", "CreateSchedule", protocol, env, body)
    assert parsed["StartDate"] == start.timestamp() and found == []


# ------------------------------------------------------------------ every operation of the services orgsplit uses
def sample(shape, depth=0):
    """A value for every member the wire can carry (values need not satisfy the constraints)."""
    t = shape.type_name
    if t == "structure":
        if depth > 6 or getattr(shape, "is_document_type", False):
            return None
        out = {}
        for name, m in shape.members.items():
            ser = m.serialization
            if ser.get("streaming") or ser.get("eventstream") or m.type_name == "timestamp":
                continue
            if ser.get("location") == "header" and ser.get("name", "").lower() == "content-length":
                continue  # transport framing: never a parameter
            value = "host1" if ser.get("hostLabel") else sample(m, depth + 1)
            if value is not None and value != {}:
                out[name] = value
                if shape.metadata.get("union"):
                    break
        return out
    if t == "list":
        item = sample(shape.member, depth + 1)
        return None if item in (None, {}) else [item]
    if t == "map":
        item = sample(shape.value, depth + 1)
        return None if item in (None, {}) else {"k1": item}
    if t == "string":
        return (shape.metadata.get("enum") or ["s1"])[0]
    return {"integer": 7, "long": 7, "float": 1.5, "double": 1.5, "boolean": True, "blob": b"xy"}.get(t)


# (signing name, model); operations whose wire form is ambiguous are listed with the reason
SERVICES = [("ssm", "ssm"), ("iam", "iam"), ("s3", "s3"), ("sts", "sts"), ("organizations", "organizations"),
            ("ecs", "ecs"), ("events", "events"), ("scheduler", "scheduler"), ("codepipeline", "codepipeline"),
            ("codestar-connections", "codestar-connections"), ("logs", "logs"), ("ecr", "ecr"),
            ("tagging", "resourcegroupstaggingapi"), ("cloudformation", "cloudformation"), ("budgets", "budgets"),
            ("sqs", "sqs"), ("lambda", "lambda"), ("secretsmanager", "secretsmanager")]
AMBIGUOUS = {
    # TopicConfiguration has both Event (deprecated) and Events, serialized as the same <Event> elements
    ("s3", "PutBucketNotification"): "same element for two members",
    # hostPrefix {RequestRoute}. puts a label in the host, which reads as a virtual-hosted bucket
    ("s3", "WriteGetObjectResponse"): "host label",
}


@pytest.mark.parametrize("service,model", SERVICES, ids=[s for s, _ in SERVICES])
def test_every_operation_round_trips(service, model):
    sm = SESSION.get_service_model(model)
    proto = wire_protocol(sm)
    serializer = botocore.serialize.create_serializer(proto, include_validation=False)
    problems = []
    for name in sm.operation_names:
        op = sm.operation_model(name)
        if op.has_event_stream_input or (service, name) in AMBIGUOUS:
            continue
        params = sample(op.input_shape) if op.input_shape is not None else {}
        req = serializer.serialize_to_request(params, op)
        prepare_request_dict(req, endpoint_url="http://127.0.0.1:4566")
        prepared = create_request_object(req).prepare()
        parts = urlsplit(prepared.url)
        body = prepared.body or b""
        body = body.encode() if isinstance(body, str) else body
        env = environ(prepared.method, parts.path, parts.query, dict(prepared.headers.items()), host=parts.netloc)
        parsed = v.parse_request(service, name, proto, env, body)
        if parsed != params:
            problems.append((name, params, parsed))
            continue
        wire = [f for f in v.validate(service, name, parsed)
                if f.startswith("Unknown parameter") or "must be of type" in f or "Member must be a" in f]
        if wire:
            problems.append((name, wire))
    assert problems == []
