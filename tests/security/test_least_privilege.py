"""Least privilege in the transformed template, beyond what tests/infra already proves.

Already covered by tests/infra/test_template_rules.py (not repeated here):
- ``iam_statements``: identity policies have no ``*``/``svc:*`` action, no NotAction/NotResource, and
  ``Resource: "*"`` only for the actions in ``infra_rules.RESOURCE_STAR_ALLOWLIST``; managed policies
  only from ``MANAGED_POLICY_ALLOWLIST``;
- ``resource_policies``: queue/bucket/bus policies never Allow a wildcard action or ``Principal: "*"``
  without a Condition;
- ``pass_role``: every ``iam:PassRole`` names a role of this template, with StringEquals
  ``iam:PassedToService`` = a service that role trusts;
- ``bedrock_trust`` / ``scheduler_schedules``: the Bedrock and Scheduler roles' confused-deputy guards;
- ``snapshots``: nothing writes to the data bucket outside ``snapshots/*``.

Added here: every policy document of every resource (KMS key policies and trust policies too), with
the exceptions pinned to (owner, statement, action) and a reason; the IoT presign role; who may write
edge bundles; who may sign with the edge key; what each role trusts. Each check also runs on a
mutated copy to prove it can fail.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from infra_rules import (
    MANAGED_POLICY_ALLOWLIST,
    RESOURCE_STAR_ALLOWLIST,
    _statements,
    _sub_text,
    as_list,
    identity_statements,
    props,
    resource_policy_statements,
    resources_of,
    target_id,
)

pytestmark = pytest.mark.infra

Template = Mapping[str, Any]

# (owner logical id, Sid, action) -> why this Allow may name a wildcard action.
WILDCARD_ACTION_ALLOWLIST: dict[tuple[str, str, str], str] = {
    ("EdgeSigningKey", "AccountAdministersThroughIam", "kms:*"): (
        "KMS key policy root delegation (the AWS default key policy): the account's root principal "
        "lets IAM policies decide who uses the key. Without it the key could become unmanageable; "
        "with it, who may kms:Sign is exactly the IAM statements test_only_the_export_function_signs "
        "checks."
    ),
}

_VPC_ONLY = (
    "EC2 Describe* has no resource types; only in the Bedrock service role's VPC statements "
    "(BedrockSubnetIds set), as Bedrock's 'Protect model customization jobs using a VPC' grants them"
)
_HYPERPOD_VPC_ONLY = (
    "EC2 Describe* has no resource types; only when the HyperPod function runs in a VPC "
    "(HyperPodSubnetIds set): Lambda manages the function's ENIs with its execution role"
)
# (owner logical id, action) -> why this Allow may use Resource "*".
RESOURCE_STAR_BY_OWNER: dict[tuple[str, str], str] = {
    ("SubmissionFunctionRole", "bedrock:ListModelCustomizationJobs"): (
        "List action without resource types; counts the jobs in progress against the quota"
    ),
    ("SubmissionFunctionRole", "pricing:GetProducts"): (
        "AWS Price List has no resource types; reads training prices for the estimate"
    ),
    ("DeploymentFunctionRole", "bedrock:ListCustomModelDeployments"): (
        "List action without resource types; finds a deployment left by an earlier attempt"
    ),
    ("BedrockCustomizationRole", "ec2:DescribeNetworkInterfaces"): _VPC_ONLY,
    ("BedrockCustomizationRole", "ec2:DescribeVpcs"): _VPC_ONLY,
    ("BedrockCustomizationRole", "ec2:DescribeDhcpOptions"): _VPC_ONLY,
    ("BedrockCustomizationRole", "ec2:DescribeSubnets"): _VPC_ONLY,
    ("BedrockCustomizationRole", "ec2:DescribeSecurityGroups"): _VPC_ONLY,
    ("HyperPodFunctionRole", "ec2:DescribeNetworkInterfaces"): _HYPERPOD_VPC_ONLY,
    ("HyperPodFunctionRole", "ec2:DescribeSubnets"): _HYPERPOD_VPC_ONLY,
    ("EdgeSigningKey", "kms:*"): "in a key policy, Resource '*' means this key only",
}

SIGNING_KEY = "EdgeSigningKey"
PRESIGN_ROLE = "EdgePresignRole"
EXPORT_FUNCTION = "EdgeExportFunction"
EDGE_PREFIX = "${ArtifactsBucket.Arn}/edge/*"
# Object keys the export function writes (tailor.edge.manifest): a write that matches one can
# replace a bundle, a manifest or its signature.
EDGE_KEYS = ("/edge/exports/ex-1/manifest.json", "/edge/exports/ex-1/manifest.sig", "/edge/blobs/sha256/ab")


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def _documents(node: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every policy document (a mapping with a ``Statement``) under ``node``, with where it sits."""
    if isinstance(node, Mapping):
        if "Statement" in node:
            yield path, node
            return
        for key, value in node.items():
            yield from _documents(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _documents(value, f"{path}[{index}]")


def policy_statements(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(owner logical id, where, statement) for every policy document of every resource: identity,
    resource, KMS key and trust policies alike (both branches of an Fn::If)."""
    for lid, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, Mapping):
            for where, document in _documents(props(resource)):
                for stmt in _statements(document):
                    yield lid, where, stmt


def _is_trust(where: str) -> bool:
    return where.endswith("AssumeRolePolicyDocument")


def _allows(pattern: Any, action: str) -> bool:
    """An IAM action pattern (``*``, ``kms:*``, ``kms:Sign*``) covers ``action`` (case-insensitive)."""
    return isinstance(pattern, str) and fnmatch.fnmatchcase(action.lower(), pattern.lower())


def role_of(template: Template, function: str) -> str:
    role = target_id(props(template["Resources"][function]).get("Role"))
    assert role, f"{function}: Role is not a role of this template"
    return str(role)


def role_statements(template: Template, role: str) -> list[dict[str, Any]]:
    """The role's inline policies plus any AWS::IAM::Policy / ManagedPolicy of this template on it."""
    attached = {
        lid
        for lid, res in resources_of(template, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy").items()
        if role in {target_id(r) for r in as_list(props(res).get("Roles"))}
    }
    attached |= {
        target_id(arn) for arn in as_list(props(template["Resources"][role]).get("ManagedPolicyArns"))
    }
    return [stmt for owner, stmt in identity_statements(template) if owner == role or owner in attached]


def _star_resource(value: Any) -> bool:
    """``*``, or an ARN whose resource part is only a wildcard (``arn:aws:s3:::*``)."""
    text = _sub_text(value)
    return text == "*" or (text.startswith("arn:") and text.split(":", 5)[-1] in {"*", "*/*"})


def _writes_s3(action: Any) -> bool:
    return any(_allows(action, a) for a in ("s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl"))


def _covers_edge(resource: Any) -> bool:
    text = _sub_text(resource)
    if text == "*":
        return True
    if "${ArtifactsBucket.Arn}" not in text and "ArtifactsBucket" not in text:
        return False
    path = text.split("}", 1)[-1] if "}" in text else text
    return any(fnmatch.fnmatchcase(key, path) for key in EDGE_KEYS)


# ------------------------------------------------------------------------------------------------
# checks (each returns its violations; empty = the rule holds)
# ------------------------------------------------------------------------------------------------


def check_wildcard_actions(template: Template) -> list[str]:
    """No Allow anywhere names an action with a wildcard, unless WILDCARD_ACTION_ALLOWLIST says why.
    (Deny statements may: the TLS-only bucket policies Deny ``s3:*``, which only narrows.)"""
    problems = []
    for lid, where, stmt in policy_statements(template):
        if stmt.get("Effect") != "Allow":
            continue
        sid = str(stmt.get("Sid", ""))
        if "NotAction" in stmt:
            problems.append(f"{lid}/{sid} ({where}): Allow with NotAction")
        for action in as_list(stmt.get("Action")):
            if (
                isinstance(action, str)
                and "*" in action
                and (lid, sid, action) not in WILDCARD_ACTION_ALLOWLIST
            ):
                problems.append(f"{lid}/{sid} ({where}): wildcard action {action!r}")
    return problems


def check_resource_star(template: Template) -> list[str]:
    """Resource "*" (or an ARN wildcarded down to the service) only for the (owner, action) pairs of
    RESOURCE_STAR_BY_OWNER; no Allow with NotResource."""
    problems = []
    for lid, where, stmt in policy_statements(template):
        if stmt.get("Effect") != "Allow" or _is_trust(where):
            continue
        sid = str(stmt.get("Sid", ""))
        if "NotResource" in stmt:
            problems.append(f"{lid}/{sid} ({where}): Allow with NotResource")
        if any(_star_resource(r) for r in as_list(stmt.get("Resource"))):
            wide = [a for a in as_list(stmt.get("Action")) if (lid, a) not in RESOURCE_STAR_BY_OWNER]
            if wide:
                problems.append(f"{lid}/{sid} ({where}): Resource '*' for {wide}")
    return problems


def check_role_trust(template: Template) -> list[str]:
    """Each role trusts AWS services only (never an account, ``*`` or a federation), a function's role
    only lambda.amazonaws.com, and any other service only for this account (aws:SourceAccount)."""
    problems = []
    function_roles = {
        target_id(props(fn).get("Role")) for fn in resources_of(template, "AWS::Lambda::Function").values()
    }
    for lid, role in resources_of(template, "AWS::IAM::Role").items():
        for stmt in _statements(props(role).get("AssumeRolePolicyDocument")):
            if stmt.get("Effect") != "Allow":
                continue
            principal = stmt.get("Principal")
            if not isinstance(principal, Mapping) or set(principal) != {"Service"}:
                problems.append(f"{lid}: trusts {principal!r}, not only AWS service principals")
                continue
            services = set(as_list(principal["Service"]))
            if lid in function_roles:
                if services != {"lambda.amazonaws.com"}:
                    problems.append(f"{lid}: a function's role trusts {sorted(services)}")
                continue
            account = ((stmt.get("Condition") or {}).get("StringEquals") or {}).get("aws:SourceAccount")
            if account != {"Ref": "AWS::AccountId"}:
                problems.append(
                    f"{lid}: trusts {sorted(services)} without aws:SourceAccount = AWS::AccountId"
                )
    return problems


def check_presign_role(template: Template) -> list[str]:
    """EdgePresignRole: trusted by iot.amazonaws.com alone, for this account; may only s3:GetObject
    under the artifacts bucket's edge/ prefix (never reports or job outputs); no managed policy."""
    problems: list[str] = []
    role = props(template["Resources"].get(PRESIGN_ROLE) or {})
    trusts = list(_statements(role.get("AssumeRolePolicyDocument")))
    if len(trusts) != 1:
        return [f"{PRESIGN_ROLE}: {len(trusts)} trust statements, expected exactly one"]
    (trust,) = trusts
    if trust.get("Effect") != "Allow" or as_list(trust.get("Action")) != ["sts:AssumeRole"]:
        problems.append(f"{PRESIGN_ROLE}: trust must Allow sts:AssumeRole only")
    principal = trust.get("Principal")
    if not isinstance(principal, Mapping) or {k: as_list(v) for k, v in principal.items()} != {
        "Service": ["iot.amazonaws.com"]
    }:
        problems.append(f"{PRESIGN_ROLE}: trusts {principal!r}, not iot.amazonaws.com alone")
    account = ((trust.get("Condition") or {}).get("StringEquals") or {}).get("aws:SourceAccount")
    if account != {"Ref": "AWS::AccountId"}:
        problems.append(f"{PRESIGN_ROLE}: trust lacks StringEquals aws:SourceAccount = AWS::AccountId")
    if role.get("ManagedPolicyArns"):
        problems.append(f"{PRESIGN_ROLE}: carries managed policies {role['ManagedPolicyArns']!r}")
    grants = set()
    for stmt in role_statements(template, PRESIGN_ROLE):
        if stmt.get("Effect") != "Allow":
            continue
        for action in as_list(stmt.get("Action")):
            for resource in as_list(stmt.get("Resource")):
                grants.add((action, _sub_text(resource)))
    if grants != {("s3:GetObject", EDGE_PREFIX)}:
        problems.append(
            f"{PRESIGN_ROLE}: grants {sorted(grants)}, expected only s3:GetObject on {EDGE_PREFIX}"
        )
    return problems


def check_edge_writes(template: Template) -> list[str]:
    """The edge export function writes S3 only under edge/ (at least there), and no other role may
    write anything an edge key could be (a bundle, manifest or signature)."""
    problems = []
    exporter = role_of(template, EXPORT_FUNCTION)
    writes_edge = False
    for owner, stmt in identity_statements(template):
        if stmt.get("Effect") != "Allow":
            continue
        actions = [a for a in as_list(stmt.get("Action")) if _writes_s3(a)]
        if not actions:
            continue
        resources = as_list(stmt.get("Resource"))
        if owner == exporter:
            outside = [_sub_text(r) for r in resources if _sub_text(r) != EDGE_PREFIX]
            if outside:
                problems.append(f"{owner}: {actions} outside {EDGE_PREFIX}: {outside}")
            writes_edge = writes_edge or "s3:PutObject" in actions
        elif any(_covers_edge(r) for r in resources):
            covered = [_sub_text(r) for r in resources if _covers_edge(r)]
            problems.append(f"{owner}: {actions} on {covered}, where edge bundles live")
    if not writes_edge:
        problems.append(f"{exporter}: may not s3:PutObject on {EDGE_PREFIX} (bundles could not be written)")
    return problems


def check_edge_signing(template: Template) -> list[str]:
    """Only the edge export function's role may kms:Sign with EdgeSigningKey (and on that key only);
    the key policy lets no principal but this account's root in, so IAM is the whole story."""
    problems = []
    exporter = role_of(template, EXPORT_FUNCTION)
    signs = False
    for owner, stmt in identity_statements(template):
        if stmt.get("Effect") != "Allow" or not any(
            _allows(a, "kms:Sign") for a in as_list(stmt.get("Action"))
        ):
            continue
        resources = as_list(stmt.get("Resource"))
        on_key = [
            r
            for r in resources
            if target_id(r) == SIGNING_KEY
            or _sub_text(r) == "*"
            or (":kms:" in _sub_text(r) and _sub_text(r).endswith("*"))
        ]
        if owner != exporter and on_key:
            problems.append(f"{owner}: may kms:Sign with {SIGNING_KEY} ({[_sub_text(r) for r in on_key]})")
        if owner == exporter:
            if [target_id(r) for r in resources] != [SIGNING_KEY]:
                problems.append(
                    f"{owner}: kms:Sign on {[_sub_text(r) for r in resources]}, not {SIGNING_KEY} only"
                )
            signs = True
    if not signs:
        problems.append(f"{exporter}: may not kms:Sign (bundles could not be signed)")
    key = props(template["Resources"].get(SIGNING_KEY) or {})
    root = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    for stmt in _statements(key.get("KeyPolicy")):
        if stmt.get("Effect") == "Allow" and stmt.get("Principal") != root:
            problems.append(
                f"{SIGNING_KEY}: key policy lets {stmt.get('Principal')!r} in (only the account root)"
            )
    return problems


CHECKS: dict[str, Callable[[Template], list[str]]] = {
    "wildcard_actions": check_wildcard_actions,
    "resource_star": check_resource_star,
    "role_trust": check_role_trust,
    "presign_role": check_presign_role,
    "edge_writes": check_edge_writes,
    "edge_signing": check_edge_signing,
}


# ------------------------------------------------------------------------------------------------
# tests
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_check_holds(check: str, transformed_template: dict[str, Any]) -> None:
    assert CHECKS[check](transformed_template) == []


def test_every_policy_document_is_seen(transformed_template: dict[str, Any]) -> None:
    """The walker finds at least what infra_rules finds, plus the key policy and every trust policy."""
    seen = list(policy_statements(transformed_template))
    owners = {lid for lid, _, _ in seen}
    assert len(seen) >= len(list(identity_statements(transformed_template))) + len(
        list(resource_policy_statements(transformed_template))
    )
    assert SIGNING_KEY in owners and PRESIGN_ROLE in owners
    trusts = {lid for lid, where, _ in seen if _is_trust(where)}
    assert trusts == set(resources_of(transformed_template, "AWS::IAM::Role"))


def test_every_allowlist_entry_is_used(transformed_template: dict[str, Any]) -> None:
    """An exception the template no longer needs is removed, not kept as a standing permission."""
    allows = [
        (lid, str(stmt.get("Sid", "")), action, stmt)
        for lid, where, stmt in policy_statements(transformed_template)
        if stmt.get("Effect") == "Allow"
        for action in as_list(stmt.get("Action"))
    ]
    assert set(WILDCARD_ACTION_ALLOWLIST) <= {(lid, sid, action) for lid, sid, action, _ in allows}
    star = {
        (lid, action)
        for lid, _, action, stmt in allows
        if any(_star_resource(r) for r in as_list(stmt.get("Resource")))
    }
    assert set(RESOURCE_STAR_BY_OWNER) <= star
    assert all(reason for reason in [*WILDCARD_ACTION_ALLOWLIST.values(), *RESOURCE_STAR_BY_OWNER.values()])


def test_resource_star_exceptions_agree_with_tests_infra() -> None:
    """An identity-policy exception here is one tests/infra lists as an action without resource
    types (its RESOURCE_STAR_ALLOWLIST): the two lists cannot drift apart silently."""
    identity = {action for owner, action in RESOURCE_STAR_BY_OWNER if owner != SIGNING_KEY}
    assert identity <= RESOURCE_STAR_ALLOWLIST
    # Widening the managed-policy allowlist is a security change too: it is pinned here as well.
    assert {"service-role/AWSLambdaBasicExecutionRole"} == set(MANAGED_POLICY_ALLOWLIST)


def _statement(t: dict[str, Any], role: str, sid: str) -> dict[str, Any]:
    for policy in t["Resources"][role]["Properties"]["Policies"]:
        for stmt in policy["PolicyDocument"]["Statement"]:
            if isinstance(stmt, dict) and stmt.get("Sid") == sid:
                return stmt
    raise KeyError(sid)


def _add(t: dict[str, Any], role: str, stmt: dict[str, Any]) -> None:
    t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].append(stmt)


def _trust(t: dict[str, Any], role: str) -> dict[str, Any]:
    stmt: dict[str, Any] = t["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    return stmt


def _key_policy(t: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = t["Resources"][SIGNING_KEY]["Properties"]["KeyPolicy"]["Statement"]
    return statements


ARTIFACTS_ALL = {"Fn::Sub": "${ArtifactsBucket.Arn}/*"}
KEY = {"Fn::GetAtt": [SIGNING_KEY, "Arn"]}

MUTATIONS: list[tuple[str, str, Callable[[dict[str, Any]], None], str]] = [
    (
        "wildcard_actions",
        "a second key-policy statement with kms:*",
        lambda t: _key_policy(t).append(
            {"Sid": "Ops", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "kms:*"}
        ),
        "EdgeSigningKey/Ops",
    ),
    (
        "wildcard_actions",
        "a partial wildcard on a role",
        lambda t: _statement(t, "EdgeExportFunctionRole", "WriteBundles").update(Action="s3:Put*"),
        "'s3:Put*'",
    ),
    (
        "resource_star",
        "kms:Sign on every key",
        lambda t: _statement(t, "EdgeExportFunctionRole", "SignManifests").update(Resource="*"),
        "kms:Sign",
    ),
    (
        "resource_star",
        "an ARN wildcarded to the service",
        lambda t: _statement(t, "EdgeExportFunctionRole", "WriteBundles").update(Resource="arn:aws:s3:::*"),
        "s3:PutObject",
    ),
    (
        "resource_star",
        "an allowed action, but on another role",
        lambda t: _add(
            t, "StatusFunctionRole", {"Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"}
        ),
        "StatusFunctionRole",
    ),
    (
        "role_trust",
        "a function role trusted by another account",
        lambda t: _trust(t, "StatusFunctionRole").update(Principal={"AWS": "arn:aws:iam::210987654321:root"}),
        "StatusFunctionRole",
    ),
    (
        "role_trust",
        "a function role trusted by IoT",
        lambda t: _trust(t, "StatusFunctionRole").update(
            Principal={"Service": ["lambda.amazonaws.com", "iot.amazonaws.com"]}
        ),
        "a function's role trusts",
    ),
    (
        "presign_role",
        "trusted from any account",
        lambda t: _trust(t, PRESIGN_ROLE).pop("Condition"),
        "aws:SourceAccount",
    ),
    (
        "presign_role",
        "trusted by Lambda too",
        lambda t: _trust(t, PRESIGN_ROLE).update(
            Principal={"Service": ["iot.amazonaws.com", "lambda.amazonaws.com"]}
        ),
        "not iot.amazonaws.com alone",
    ),
    (
        "presign_role",
        "reads the whole artifacts bucket",
        lambda t: _statement(t, PRESIGN_ROLE, "ReadBundles").update(Resource=ARTIFACTS_ALL),
        "expected only s3:GetObject",
    ),
    (
        "presign_role",
        "may write bundles",
        lambda t: _statement(t, PRESIGN_ROLE, "ReadBundles").update(Action=["s3:GetObject", "s3:PutObject"]),
        "s3:PutObject",
    ),
    (
        "presign_role",
        "an attached policy resource",
        lambda t: t["Resources"].update(
            Extra={
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "Roles": [{"Ref": PRESIGN_ROLE}],
                    "PolicyDocument": {
                        "Statement": [
                            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ARTIFACTS_ALL}
                        ]
                    },
                },
            }
        ),
        "${ArtifactsBucket.Arn}/*",
    ),
    (
        "edge_writes",
        "the exporter writes the whole artifacts bucket",
        lambda t: _statement(t, "EdgeExportFunctionRole", "WriteBundles").update(Resource=ARTIFACTS_ALL),
        "outside",
    ),
    (
        "edge_writes",
        "another role writes edge objects",
        lambda t: _add(
            t,
            "StatusFunctionRole",
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": {"Fn::Sub": "${ArtifactsBucket.Arn}/e*"},
            },
        ),
        "StatusFunctionRole",
    ),
    (
        "edge_writes",
        "the exporter cannot write bundles",
        lambda t: _statement(t, "EdgeExportFunctionRole", "WriteBundles").update(Action="s3:GetObject"),
        "could not be written",
    ),
    (
        "edge_signing",
        "another function may sign",
        lambda t: _statement(t, "EdgePublicKeyFunctionRole", "ReadPublicKey").update(
            Action=["kms:GetPublicKey", "kms:Sign"]
        ),
        "EdgePublicKeyFunctionRole: may kms:Sign",
    ),
    (
        "edge_signing",
        "another function may use any KMS key",
        lambda t: _add(
            t,
            "StatusFunctionRole",
            {
                "Effect": "Allow",
                "Action": "kms:Sign*",
                "Resource": {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"},
            },
        ),
        "StatusFunctionRole: may kms:Sign",
    ),
    (
        "edge_signing",
        "a service principal in the key policy",
        lambda t: _key_policy(t).append(
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "kms:Sign"}
        ),
        "key policy lets",
    ),
    (
        "edge_signing",
        "the exporter signs with every key",
        lambda t: _statement(t, "EdgeExportFunctionRole", "SignManifests").update(Resource=[KEY, "*"]),
        "not EdgeSigningKey only",
    ),
]


def test_every_check_has_a_mutation() -> None:
    assert {m[0] for m in MUTATIONS} == set(CHECKS)


@pytest.mark.parametrize(
    ("check", "mutate", "expected"),
    [
        pytest.param(check, mutate, expected, id=f"{check}-{desc}")
        for check, desc, mutate, expected in MUTATIONS
    ],
)
def test_check_reports_mutation(
    check: str,
    mutate: Callable[[dict[str, Any]], None],
    expected: str,
    transformed_template: dict[str, Any],
) -> None:
    mutated = copy.deepcopy(transformed_template)
    mutate(mutated)
    violations = CHECKS[check](mutated)
    assert any(expected in v for v in violations), violations
