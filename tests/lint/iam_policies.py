"""Lints IAM policy documents with parliament (https://github.com/duo-labs/parliament): every
policy in the shipped CloudFormation templates (stacksets/*/template.yaml: PolicyDocument,
AssumeRolePolicyDocument, ManagedPolicyDocument) and every JSON policy file given as an
argument (the documents orgsplit writes, produced by crates/orgsplit/tests/policy_lint.rs).

Exit 0 when no finding at or above LOW, 1 otherwise (each finding printed on one line).
CloudFormation intrinsics are resolved to placeholders first (`!Sub` strings with
${AWS::Partition} -> aws, ${AWS::AccountId} -> 123456789012, other ${X} -> x; `!Ref`,
`!GetAtt` -> a placeholder ARN), since parliament reads plain JSON.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml
from parliament import analyze_policy_string

SUBS = {"AWS::Partition": "aws", "AWS::AccountId": "123456789012", "AWS::Region": "us-east-1"}
PLACEHOLDER_ARN = "arn:aws:iam::123456789012:role/placeholder"
POLICY_KEYS = ("PolicyDocument", "AssumeRolePolicyDocument", "ManagedPolicyDocument")
# Findings that do not apply to how a document is used (each with its reason).
IGNORED_IN_TRUST_POLICIES = {
    # parliament reads every document as an identity policy; a trust policy has a Principal
    # and never a Resource (IAM: "a role trust policy ... does not include a Resource").
    "Statement contains neither Resource nor NotResource",
}


class Tagged:
    def __init__(self, tag: str, value):
        self.tag, self.value = tag, value


def _loader():
    class Loader(yaml.SafeLoader):
        pass

    def construct(loader, tag_suffix, node):
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return Tagged(tag_suffix, value)

    Loader.add_multi_constructor("!", construct)
    return Loader


def substitute(name: str) -> str:
    """A plausible value for `${name}` in a `!Sub` string."""
    if name in SUBS:
        return SUBS[name]
    if name.endswith(".Arn"):
        # ${LogGroup.Arn}: a resource's ARN (parliament checks the ARN's shape).
        return f"arn:aws:logs:us-east-1:123456789012:log-group:{name.split('.')[0]}"
    if "Account" in name:
        return "123456789012"
    return name.lower()


def resolve(value):
    if isinstance(value, Tagged):
        if value.tag == "Sub":
            text = value.value[0] if isinstance(value.value, list) else value.value
            return re.sub(r"\$\{([^}]+)\}", lambda m: substitute(m.group(1)), text)
        return PLACEHOLDER_ARN
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"}:
            return resolve(Tagged("Sub", value["Fn::Sub"]))
        if len(value) == 1 and next(iter(value)) in ("Ref", "Fn::GetAtt", "Fn::ImportValue", "Fn::Join", "Fn::If"):
            return PLACEHOLDER_ARN
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def template_policies(path: Path):
    doc = yaml.load(path.read_text(), Loader=_loader())
    found = []

    def walk(node, where):
        if isinstance(node, Tagged):
            walk(node.value, where)
        elif isinstance(node, dict):
            for k, v in node.items():
                if k in POLICY_KEYS:
                    found.append((f"{path}:{where}.{k}", resolve(v)))
                else:
                    walk(v, f"{where}.{k}" if where else k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    walk(doc.get("Resources", {}), "Resources")
    return found


def lint(name: str, document) -> list[str]:
    text = json.dumps(document)
    policy = analyze_policy_string(text, include_community_auditors=False)
    out = []
    # trust policies and resource policies (a repository's, a queue's) name a Principal, and a
    # repository policy has no Resource: the repository is the resource.
    trust = name.endswith(("AssumeRolePolicyDocument", ".trust.json", ".resource.json"))
    for f in policy.findings:
        if trust and f.issue == "MALFORMED" and f.detail in IGNORED_IN_TRUST_POLICIES:
            continue
        out.append(f"{name}: {f.severity} {f.issue} {json.dumps(f.detail, default=str)[:300]}")
    return out


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[2]
    documents = []
    for template in sorted(root.glob("stacksets/*/template.yaml")):
        documents += template_policies(template)
    for arg in argv:
        documents.append((arg, json.loads(Path(arg).read_text())))
    problems = []
    for name, document in documents:
        problems += lint(name, document)
    for p in problems:
        print(p)
    print(f"iam policies: {len(documents)} documents, {len(problems)} findings", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
