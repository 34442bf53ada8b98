"""House rules for template.yaml, checked on the *transformed* CloudFormation.

Each ``check_*`` takes a template dict and returns a list of violations (empty = rule holds). They
are written against resource types, not logical ids, so they keep holding as services are added.
The tests run them on the real template and on mutated copies, to prove each one can fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tailor.local.sam_transform import local_code_path

Template = Mapping[str, Any]

# Actions that do not support resource-level permissions: IAM only accepts Resource "*" for them.
# Keep this list short; add an action only after checking that its "Resource types" column in the
# Service Authorization Reference is empty (candidates later: bedrock List* actions).
RESOURCE_STAR_ALLOWLIST = frozenset(
    {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "cloudwatch:PutMetricData",  # narrow it with the cloudwatch:namespace condition key
        # Service Authorization Reference, Amazon Bedrock: no resource types (List access level).
        "bedrock:ListModelCustomizationJobs",
        # Service Authorization Reference, Amazon Bedrock: no resource types (List access level).
        "bedrock:ListCustomModelDeployments",
        # AWS Price List Service: no resource types for any action (only with UsePriceList=true).
        "pricing:GetProducts",
        # The Bedrock service role's VPC statements (only when BedrockSubnetIds is set): EC2 Describe*
        # actions have no resource types (Bedrock's "Protect model customization jobs using a VPC"
        # grants them on "*" for the same reason).
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
    }
)

# AWS managed policies a role may carry. SAM attaches Basic (CloudWatch Logs writes) to every
# function. SQSQueueExecution (which SAM adds for an `Events: SQS`) is deliberately absent: it
# grants Receive/Delete on every queue; functions declare an explicit EventSourceMapping and a
# statement scoped to their own queue instead.
MANAGED_POLICY_ALLOWLIST = frozenset({"service-role/AWSLambdaBasicExecutionRole"})

REQUIRED_OUTPUTS = frozenset(
    {
        "DataBucketName",
        "ArtifactsBucketName",
        "TailorBusName",
        "TailorBusArn",
        "RunsTableName",
        "IdempotencyTableName",
        "IngestQueueUrl",
        "IngestDLQUrl",
        "SubmitQueueUrl",
        "SubmitDLQUrl",
        "StatusQueueUrl",
        "StatusDLQUrl",
        "DeployQueueUrl",
        "DeployDLQUrl",
        "BedrockCustomizationRoleArn",
    }
)

# CONTRACTS.md env var -> the resource (logical id in template.yaml) it must name.
ENV_RESOURCES = {
    "TAILOR_BUS_NAME": "TailorBus",
    "DATA_BUCKET": "DataBucket",
    "ARTIFACTS_BUCKET": "ArtifactsBucket",
    "RUNS_TABLE": "RunsTable",
    "IDEMPOTENCY_TABLE": "IdempotencyTable",
}

MAX_RETENTION = 1209600  # seconds: 14 days, the SQS maximum
LAYER_NAME = "TailorLayer"
RUNTIME = "python3.12"


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def resources_of(template: Template, *types: str) -> dict[str, dict[str, Any]]:
    return {
        lid: res
        for lid, res in template.get("Resources", {}).items()
        if isinstance(res, dict) and res.get("Type") in types
    }


def props(resource: Mapping[str, Any]) -> dict[str, Any]:
    p = resource.get("Properties", {})
    return p if isinstance(p, dict) else {}


def target_id(value: Any) -> str | None:
    """Logical id behind ``{"Ref": X}``, ``{"Fn::GetAtt": [X, ...]}`` or ``"X.Attr"``."""
    if isinstance(value, Mapping):
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and att and isinstance(att[0], str):
            return att[0]
        if isinstance(att, str):
            return att.split(".", 1)[0]
    return None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _as_int(value: Any, default: int) -> int:
    if value is None:
        return default
    return int(value)


def parameter_bounds(template: Template, value: Any) -> tuple[int, int] | None:
    """(lowest, highest) a numeric property can take: a literal, or a ``Ref`` to a Number parameter
    (its MinValue/MaxValue, or its Default where a bound is missing). None when unknown."""
    if isinstance(value, Mapping):
        name = value.get("Ref")
        param = (template.get("Parameters") or {}).get(name) if isinstance(name, str) else None
        if not isinstance(param, Mapping) or "Default" not in param:
            return None
        default = int(param["Default"])
        return int(param.get("MinValue", default)), int(param.get("MaxValue", default))
    if value is None:
        return None
    return int(value), int(value)


def _redrive(queue: Mapping[str, Any]) -> dict[str, Any] | None:
    rp = props(queue).get("RedrivePolicy")
    if isinstance(rp, str):
        rp = json.loads(rp)
    return rp if isinstance(rp, dict) else None


def dead_letter_queue_ids(template: Template) -> set[str]:
    """Queues that something uses as a dead-letter queue."""
    dlqs: set[str] = set()
    for queue in resources_of(template, "AWS::SQS::Queue").values():
        rp = _redrive(queue)
        if rp and (lid := target_id(rp.get("deadLetterTargetArn"))):
            dlqs.add(lid)
    for rule in resources_of(template, "AWS::Events::Rule").values():
        for target in as_list(props(rule).get("Targets")):
            if lid := target_id((target.get("DeadLetterConfig") or {}).get("Arn")):
                dlqs.add(lid)
    for fn in resources_of(template, "AWS::Lambda::Function").values():
        if lid := target_id((props(fn).get("DeadLetterConfig") or {}).get("TargetArn")):
            dlqs.add(lid)
    for schedule in resources_of(template, "AWS::Scheduler::Schedule").values():
        target = props(schedule).get("Target") or {}
        if lid := target_id((target.get("DeadLetterConfig") or {}).get("Arn")):
            dlqs.add(lid)
    destinations = ("AWS::Lambda::EventInvokeConfig", "AWS::Lambda::EventSourceMapping")
    for res in resources_of(template, *destinations).values():
        on_failure = (props(res).get("DestinationConfig") or {}).get("OnFailure") or {}
        if lid := target_id(on_failure.get("Destination")):
            dlqs.add(lid)
    queues = resources_of(template, "AWS::SQS::Queue")
    return {lid for lid in dlqs if lid in queues}


def _statements(document: Any) -> Iterator[dict[str, Any]]:
    """Statements of a policy document, both branches of any Fn::If."""
    if not isinstance(document, Mapping):
        return
    for stmt in as_list(document.get("Statement")):
        yield from _expand_if(stmt)


def _expand_if(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, Mapping) and "Fn::If" in node:
        _, when_true, when_false = node["Fn::If"]
        yield from _expand_if(when_true)
        yield from _expand_if(when_false)
    elif isinstance(node, Mapping) and node.get("Ref") == "AWS::NoValue":
        return
    elif isinstance(node, Mapping):
        yield dict(node)


def identity_statements(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    """(owner logical id, statement) for every IAM identity policy in the template."""
    for lid, res in resources_of(template, "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group").items():
        for policy in as_list(props(res).get("Policies")):
            for inner in _expand_if(policy):
                for stmt in _statements(inner.get("PolicyDocument")):
                    yield lid, stmt
    for lid, res in resources_of(template, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy").items():
        for stmt in _statements(props(res).get("PolicyDocument")):
            yield lid, stmt


def resource_policy_statements(template: Template) -> Iterator[tuple[str, dict[str, Any]]]:
    types = (
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::Events::EventBusPolicy",
    )
    for lid, res in resources_of(template, *types).items():
        p = props(res)
        # EventBusPolicy carries a single `Statement` property instead of a document.
        doc = p.get("PolicyDocument") or p.get("Policy") or {"Statement": p.get("Statement")}
        for stmt in _statements(doc):
            yield lid, stmt


def _is_wildcard_action(action: Any) -> bool:
    return isinstance(action, str) and (action == "*" or action.endswith(":*"))


def _sub_text(value: Any) -> str:
    """A printable form of an ARN expression, for matching bucket/object resources."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if "Fn::GetAtt" in value:
            att = value["Fn::GetAtt"]
            return "${" + (".".join(att) if isinstance(att, list) else str(att)) + "}"
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return sub[0] if isinstance(sub, list) else str(sub)
        if "Ref" in value:
            return "${" + str(value["Ref"]) + "}"
    return json.dumps(value, sort_keys=True)


# ------------------------------------------------------------------------------------------------
# rules
# ------------------------------------------------------------------------------------------------


def check_queues_have_dlq(template: Template) -> list[str]:
    """Every queue has a RedrivePolicy, or is itself someone's dead-letter queue."""
    dlqs = dead_letter_queue_ids(template)
    return [
        f"{lid}: queue has no RedrivePolicy and is nobody's dead-letter queue"
        for lid, queue in resources_of(template, "AWS::SQS::Queue").items()
        if lid not in dlqs and not (_redrive(queue) or {}).get("deadLetterTargetArn")
    ]


def check_queue_encryption(template: Template) -> list[str]:
    """Every queue is encrypted at rest (SQS-managed SSE, or a KMS key)."""
    return [
        f"{lid}: neither SqsManagedSseEnabled nor KmsMasterKeyId"
        for lid, queue in resources_of(template, "AWS::SQS::Queue").items()
        if props(queue).get("SqsManagedSseEnabled") not in (True, "true")
        and not props(queue).get("KmsMasterKeyId")
    ]


def check_dlq_retention(template: Template) -> list[str]:
    """Dead-letter queues keep messages the SQS maximum (14 days). A redriven message keeps its
    original enqueue time, so a DLQ retention no longer than the source's would drop it early."""
    queues = resources_of(template, "AWS::SQS::Queue")
    return [
        f"{lid}: dead-letter queue MessageRetentionPeriod must be {MAX_RETENTION} (14 days)"
        for lid in sorted(dead_letter_queue_ids(template))
        if _as_int(props(queues[lid]).get("MessageRetentionPeriod"), 345600) != MAX_RETENTION
    ]


def check_dlq_alarms(template: Template) -> list[str]:
    """Every dead-letter queue has an alarm on ApproximateNumberOfMessagesVisible > 0."""
    alarmed: set[str] = set()
    for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values():
        p = props(alarm)
        if p.get("Namespace") != "AWS/SQS" or p.get("MetricName") != "ApproximateNumberOfMessagesVisible":
            continue
        op, threshold = p.get("ComparisonOperator"), float(p.get("Threshold", -1))
        if not (
            (op == "GreaterThanThreshold" and threshold == 0)
            or (op == "GreaterThanOrEqualToThreshold" and threshold == 1)
        ):
            continue
        for dim in as_list(p.get("Dimensions")):
            if dim.get("Name") == "QueueName" and (lid := target_id(dim.get("Value"))):
                alarmed.add(lid)
    return [
        f"{lid}: dead-letter queue has no alarm on ApproximateNumberOfMessagesVisible > 0"
        for lid in sorted(dead_letter_queue_ids(template) - alarmed)
    ]


def check_rule_targets(template: Template) -> list[str]:
    """Every EventBridge rule target has a DeadLetterConfig and a RetryPolicy."""
    problems = []
    for lid, rule in resources_of(template, "AWS::Events::Rule").items():
        targets = as_list(props(rule).get("Targets"))
        if not targets:
            problems.append(f"{lid}: rule has no targets")
        for target in targets:
            tid = target.get("Id", "?")
            if not (target.get("DeadLetterConfig") or {}).get("Arn"):
                problems.append(f"{lid}/{tid}: target has no DeadLetterConfig.Arn")
            retry = target.get("RetryPolicy") or {}
            if "MaximumRetryAttempts" not in retry or "MaximumEventAgeInSeconds" not in retry:
                problems.append(
                    f"{lid}/{tid}: target RetryPolicy needs MaximumRetryAttempts and MaximumEventAgeInSeconds"
                )
    return problems


def check_rule_queue_policies(template: Template) -> list[str]:
    """Each queue a rule delivers to (target or DLQ) lets events.amazonaws.com send, scoped to that rule.

    Also: at most one QueuePolicy per queue (a second one silently replaces the first).
    """
    queues = resources_of(template, "AWS::SQS::Queue")
    policies_by_queue: dict[str, list[str]] = {}
    for plid, pol in resources_of(template, "AWS::SQS::QueuePolicy").items():
        for q in as_list(props(pol).get("Queues")):
            if qid := target_id(q):
                policies_by_queue.setdefault(qid, []).append(plid)

    problems = [
        f"{qid}: {len(plids)} QueuePolicies ({', '.join(plids)}); only one takes effect"
        for qid, plids in policies_by_queue.items()
        if len(plids) > 1
    ]

    def allows(qid: str, rule_lid: str, rule_condition: Any) -> bool:
        for plid in policies_by_queue.get(qid, []):
            for stmt in _statements(props(template["Resources"][plid]).get("PolicyDocument")):
                if stmt.get("Effect") != "Allow":
                    continue
                principal = stmt.get("Principal") or {}
                services = as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
                actions = as_list(stmt.get("Action"))
                if "events.amazonaws.com" not in services or "sqs:SendMessage" not in actions:
                    continue
                cond = stmt.get("Condition") or {}
                for op in ("ArnEquals", "ArnLike"):
                    sources = as_list((cond.get(op) or {}).get("aws:SourceArn"))
                    for guard, source in _guarded(sources):
                        # A source behind Fn::If counts only under the rule's own Condition.
                        if target_id(source) == rule_lid and guard in (None, rule_condition):
                            return True
        return False

    for rlid, rule in resources_of(template, "AWS::Events::Rule").items():
        for target in as_list(props(rule).get("Targets")):
            for arn in (target.get("Arn"), (target.get("DeadLetterConfig") or {}).get("Arn")):
                qid = target_id(arn)
                if qid in queues and not allows(qid, rlid, rule.get("Condition")):
                    problems.append(
                        f"{qid}: no QueuePolicy lets events.amazonaws.com SendMessage"
                        f" with aws:SourceArn = {rlid}"
                    )
    return problems


def _guarded(items: list[Any]) -> Iterator[tuple[str | None, Any]]:
    """(condition, value) for each list item: ``Fn::If [C, x, AWS::NoValue]`` gives (C, x);
    a plain item gives (None, item). Other Fn::If shapes give both branches unguarded."""
    for item in items:
        if isinstance(item, Mapping) and "Fn::If" in item:
            name, when_true, when_false = item["Fn::If"]
            if isinstance(when_false, Mapping) and when_false.get("Ref") == "AWS::NoValue":
                yield str(name), when_true
            else:
                yield None, when_true
                yield None, when_false
        else:
            yield None, item


def _sqs_mappings(template: Template) -> Iterator[tuple[str, dict[str, Any], str | None]]:
    queues = resources_of(template, "AWS::SQS::Queue")
    for lid, esm in resources_of(template, "AWS::Lambda::EventSourceMapping").items():
        source = props(esm).get("EventSourceArn")
        qid = target_id(source)
        if qid in queues:
            yield lid, props(esm), qid
        elif isinstance(source, str) and ":sqs:" in source:
            yield lid, props(esm), None


def check_visibility_timeouts(template: Template) -> list[str]:
    """A queue feeding a function stays invisible >= 6 x function Timeout (+ batching window)."""
    queues = resources_of(template, "AWS::SQS::Queue")
    functions = resources_of(template, "AWS::Lambda::Function")
    problems = []
    for lid, esm, qid in _sqs_mappings(template):
        fid = target_id(esm.get("FunctionName"))
        if qid is None or fid not in functions:
            problems.append(f"{lid}: cannot resolve queue/function to check the visibility timeout")
            continue
        timeout = _as_int(props(functions[fid]).get("Timeout"), 3)
        window = _as_int(esm.get("MaximumBatchingWindowInSeconds"), 0)
        visibility = _as_int(props(queues[qid]).get("VisibilityTimeout"), 30)
        if visibility < 6 * timeout + window:
            problems.append(
                f"{qid}: VisibilityTimeout {visibility} < 6 x {fid} Timeout {timeout}"
                f" + batching window {window}"
            )
    return problems


def check_sqs_mappings(template: Template) -> list[str]:
    """SQS event sources report partial batch failures and cap concurrency (>= 2, Lambda's minimum)."""
    problems = []
    for lid, esm, _ in _sqs_mappings(template):
        if "ReportBatchItemFailures" not in as_list(esm.get("FunctionResponseTypes")):
            problems.append(f"{lid}: FunctionResponseTypes lacks ReportBatchItemFailures")
        concurrency = (esm.get("ScalingConfig") or {}).get("MaximumConcurrency")
        bounds = parameter_bounds(template, concurrency)
        if bounds is None or bounds[0] < 2:  # a parameter's MinValue counts: a deploy may choose it
            problems.append(f"{lid}: ScalingConfig.MaximumConcurrency must be >= 2 (got {concurrency})")
    return problems


def check_iam_statements(template: Template) -> list[str]:
    """Identity policies: no "*" / "svc:*" actions, no NotAction/NotResource, Resource "*" only
    for actions without resource-level permissions; managed policies only from the allowlist."""
    problems = []
    for lid, stmt in identity_statements(template):
        if stmt.get("Effect") != "Allow":
            continue
        sid = stmt.get("Sid", "")
        if "NotAction" in stmt or "NotResource" in stmt:
            problems.append(f"{lid}/{sid}: Allow with NotAction/NotResource")
        actions = as_list(stmt.get("Action"))
        problems += [f"{lid}/{sid}: wildcard action {a!r}" for a in actions if _is_wildcard_action(a)]
        if "*" in as_list(stmt.get("Resource")):
            wide = sorted(a for a in actions if a not in RESOURCE_STAR_ALLOWLIST)
            if wide:
                problems.append(f"{lid}/{sid}: Resource '*' for actions that support resource ARNs: {wide}")
    managed = set(resources_of(template, "AWS::IAM::ManagedPolicy"))
    for lid, role in resources_of(template, "AWS::IAM::Role").items():
        for arn in as_list(props(role).get("ManagedPolicyArns")):
            if target_id(arn) in managed:
                continue  # its statements are checked above
            name = arn.split(":policy/", 1)[-1] if isinstance(arn, str) else json.dumps(arn)
            if name not in MANAGED_POLICY_ALLOWLIST:
                problems.append(f"{lid}: managed policy {name!r} is not in the allowlist")
    return problems


def check_resource_policies(template: Template) -> list[str]:
    """Resource policies: Allow never grants "*"/"svc:*", and never to Principal "*" without a Condition."""
    problems = []
    for lid, stmt in resource_policy_statements(template):
        if stmt.get("Effect") != "Allow":
            continue
        sid = stmt.get("Sid", "")
        actions = as_list(stmt.get("Action"))
        problems += [f"{lid}/{sid}: wildcard action {a!r}" for a in actions if _is_wildcard_action(a)]
        principal = stmt.get("Principal")
        if principal in ("*", {"AWS": "*"}) and not stmt.get("Condition"):
            problems.append(f"{lid}/{sid}: Allow to Principal '*' without a Condition")
    return problems


def _tls_only(template: Template, bucket_lid: str) -> bool:
    for pol in resources_of(template, "AWS::S3::BucketPolicy").values():
        if target_id(props(pol).get("Bucket")) != bucket_lid:
            continue
        for stmt in _statements(props(pol).get("PolicyDocument")):
            secure = ((stmt.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
            actions = as_list(stmt.get("Action"))
            targets = [_sub_text(r) for r in as_list(stmt.get("Resource"))]
            covers_objects = any(bucket_lid in t and t.endswith("/*") for t in targets)
            covers_bucket = any(bucket_lid in t and not t.endswith("/*") for t in targets)
            if (
                stmt.get("Effect") == "Deny"
                and stmt.get("Principal") in ("*", {"AWS": "*"})
                and str(secure).lower() == "false"
                and ("s3:*" in actions or "*" in actions)
                and covers_bucket
                and covers_objects
            ):
                return True
    return False


def check_buckets(template: Template) -> list[str]:
    """Every bucket: default encryption, all four public-access blocks, versioning, bucket-owner
    enforced ownership, and a bucket policy denying non-TLS requests."""
    problems = []
    for lid, bucket in resources_of(template, "AWS::S3::Bucket").items():
        p = props(bucket)
        rules = as_list((p.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration"))
        algos = [(r.get("ServerSideEncryptionByDefault") or {}).get("SSEAlgorithm") for r in rules]
        if not any(a in ("AES256", "aws:kms", "aws:kms:dsse") for a in algos):
            problems.append(f"{lid}: no default encryption")
        pab = p.get("PublicAccessBlockConfiguration") or {}
        for flag in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            if pab.get(flag) not in (True, "true"):
                problems.append(f"{lid}: PublicAccessBlockConfiguration.{flag} is not true")
        if (p.get("VersioningConfiguration") or {}).get("Status") != "Enabled":
            problems.append(f"{lid}: versioning not enabled")
        ownership_rules = as_list((p.get("OwnershipControls") or {}).get("Rules"))
        ownership = [r.get("ObjectOwnership") for r in ownership_rules]
        if ownership != ["BucketOwnerEnforced"]:
            problems.append(f"{lid}: OwnershipControls must be BucketOwnerEnforced")
        if not _tls_only(template, lid):
            problems.append(f"{lid}: no bucket policy denying aws:SecureTransport=false")
    return problems


def parse_contract_env(contracts_md: str) -> dict[str, list[str]]:
    """Env vars from CONTRACTS.md's table -> allowed literal values (backticked words in the
    meaning column; empty when the value is a resource name)."""
    section = contracts_md.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    env: dict[str, list[str]] = {}
    for line in section.splitlines():
        m = re.match(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|(.*)\|\s*$", line)
        if m:
            env[m.group(1)] = re.findall(r"`([^`]+)`", m.group(2))
    return env


def parse_contract_functions(contracts_md: str) -> list[dict[str, str]]:
    """Rows of CONTRACTS.md's Functions table: logical id, CodeUri, Handler, queue, DLQ."""
    section = contracts_md.split("## Functions", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        ticks = [re.findall(r"`([^`]+)`", c) for c in cells]
        if len(cells) >= 4 and all(ticks[:3]) and ticks[3]:
            rows.append(
                {
                    "function": ticks[0][0],
                    "code_uri": ticks[1][0],
                    "handler": ticks[2][0],
                    "queue": ticks[3][0],
                    "dlq": ticks[3][1] if len(ticks[3]) > 1 else "",
                }
            )
    return rows


def check_functions(template: Template, contract_env: Mapping[str, list[str]]) -> list[str]:
    """Every function: runtime, arm64, the Tailor layer, and every CONTRACTS.md env var, wired right."""
    layers = {
        lid
        for lid, layer in resources_of(template, "AWS::Lambda::LayerVersion").items()
        if props(layer).get("LayerName") == LAYER_NAME
    }
    problems = []
    for lid, fn in resources_of(template, "AWS::Lambda::Function").items():
        p = props(fn)
        if p.get("Runtime") != RUNTIME:
            problems.append(f"{lid}: Runtime {p.get('Runtime')!r} != {RUNTIME}")
        if p.get("Architectures") != ["arm64"]:
            problems.append(f"{lid}: Architectures {p.get('Architectures')!r} != ['arm64']")
        if not layers & {target_id(layer) for layer in as_list(p.get("Layers"))}:
            problems.append(f"{lid}: does not use the {LAYER_NAME} layer")
        env = (p.get("Environment") or {}).get("Variables") or {}
        for var, allowed in contract_env.items():
            if var not in env:
                problems.append(f"{lid}: env var {var} missing")
            elif var in ENV_RESOURCES and target_id(env[var]) != ENV_RESOURCES[var]:
                problems.append(f"{lid}: {var} = {env[var]!r}, expected Ref {ENV_RESOURCES[var]}")
            elif var not in ENV_RESOURCES and allowed and env[var] not in allowed:
                problems.append(f"{lid}: {var} = {env[var]!r}, not one of {allowed}")
    return problems


def check_log_groups(template: Template) -> list[str]:
    """Every function logs to a log group of this stack that has a retention."""
    groups = resources_of(template, "AWS::Logs::LogGroup")
    problems = []
    for lid, fn in resources_of(template, "AWS::Lambda::Function").items():
        gid = target_id((props(fn).get("LoggingConfig") or {}).get("LogGroup"))
        if gid not in groups:
            problems.append(f"{lid}: LoggingConfig.LogGroup is not a log group of this template")
        elif not props(groups[gid]).get("RetentionInDays"):
            problems.append(f"{gid}: no RetentionInDays")
    return problems


def check_code(template: Template, root: Path) -> list[str]:
    """Every function's code dir exists and holds its handler module; the layer holds `tailor`."""
    problems = []
    for lid, fn in resources_of(template, "AWS::Lambda::Function").items():
        p = props(fn)
        path = local_code_path(p.get("Code"))
        if path is None:
            problems.append(f"{lid}: Code is not a local directory")
            continue
        code_dir = root / path
        module, _, func = str(p.get("Handler", "")).rpartition(".")
        module_path = code_dir / Path(*module.split("."))
        if not code_dir.is_dir():
            problems.append(f"{lid}: code dir {path} does not exist")
        elif not module or not func:
            problems.append(f"{lid}: Handler {p.get('Handler')!r} is not module.function")
        elif not (module_path.with_suffix(".py").is_file() or (module_path / "__init__.py").is_file()):
            problems.append(f"{lid}: handler module {module}.py not found in {path}")
        elif not _defines(module_path, func):
            problems.append(f"{lid}: {module}.py defines no {func}")
    for lid, layer in resources_of(template, "AWS::Lambda::LayerVersion").items():
        path = local_code_path(props(layer).get("Content"))
        if (
            path is not None
            and props(layer).get("LayerName") == LAYER_NAME
            and not (root / path / "tailor" / "__init__.py").is_file()
        ):
            problems.append(f"{lid}: {path} does not contain the tailor package")
    return problems


def _defines(module_path: Path, name: str) -> bool:
    """The module source defines ``name`` at top level (a def or an assignment)."""
    file = module_path.with_suffix(".py")
    source = (file if file.is_file() else module_path / "__init__.py").read_text(encoding="utf-8")
    return (
        re.search(rf"^(async\s+)?def {re.escape(name)}\(|^{re.escape(name)}\s*[:=]", source, re.M) is not None
    )


def check_outputs(template: Template) -> list[str]:
    outputs = template.get("Outputs") or {}
    return [f"Outputs: {name} missing" for name in sorted(REQUIRED_OUTPUTS - set(outputs))]


def check_contract_functions(raw_template: Template, rows: list[dict[str, str]]) -> list[str]:
    """CONTRACTS.md's Functions table matches the SAM template (checked before the transform,
    where CodeUri and the SQS event are still visible as written)."""
    resources = raw_template.get("Resources", {})
    problems = []
    for row in rows:
        fn = resources.get(row["function"])
        if not fn or fn.get("Type") != "AWS::Serverless::Function":
            problems.append(f"{row['function']}: not an AWS::Serverless::Function in template.yaml")
            continue
        p = props(fn)
        if str(p.get("CodeUri", "")).rstrip("/") != row["code_uri"].rstrip("/"):
            problems.append(f"{row['function']}: CodeUri {p.get('CodeUri')!r} != {row['code_uri']!r}")
        if p.get("Handler") != row["handler"]:
            problems.append(f"{row['function']}: Handler {p.get('Handler')!r} != {row['handler']!r}")
        sqs_queues = {
            target_id(props(ev).get("Queue"))
            for ev in (p.get("Events") or {}).values()
            if isinstance(ev, Mapping) and ev.get("Type") == "SQS"
        } | {  # an explicit mapping (the house pattern: see MANAGED_POLICY_ALLOWLIST)
            target_id(props(r).get("EventSourceArn"))
            for r in resources.values()
            if isinstance(r, Mapping)
            and r.get("Type") == "AWS::Lambda::EventSourceMapping"
            and target_id(props(r).get("FunctionName")) == row["function"]
        }
        if row["queue"] not in sqs_queues:
            problems.append(f"{row['function']}: no SQS event from {row['queue']}")
        queue = resources.get(row["queue"])
        dlq = target_id((_redrive(queue or {}) or {}).get("deadLetterTargetArn"))
        if row["dlq"] and dlq != row["dlq"]:
            problems.append(f"{row['queue']}: does not redrive to {row['dlq']}")
    return problems


def check_tables(template: Template) -> list[str]:
    """The two tables as docs/CONTRACTS.md describes them."""
    res = template.get("Resources", {})
    problems = []
    runs = props(res.get("RunsTable", {}))
    attrs = {a["AttributeName"]: a["AttributeType"] for a in as_list(runs.get("AttributeDefinitions"))}
    if runs.get("KeySchema") != [{"AttributeName": "runId", "KeyType": "HASH"}] or attrs.get("runId") != "S":
        problems.append("RunsTable: key must be runId (S), no sort key")
    gsis = {g.get("IndexName"): g for g in as_list(runs.get("GlobalSecondaryIndexes"))}
    active = gsis.get("ActiveRunsIndex") or {}
    active_keys = [
        {"AttributeName": "activeFlag", "KeyType": "HASH"},
        {"AttributeName": "updatedAt", "KeyType": "RANGE"},
    ]
    if (
        active.get("KeySchema") != active_keys
        or (active.get("Projection") or {}).get("ProjectionType") != "ALL"
        or attrs.get("activeFlag") != "S"
        or attrs.get("updatedAt") != "S"
    ):
        problems.append("RunsTable: ActiveRunsIndex must be activeFlag (S) / updatedAt (S), projection ALL")
    if runs.get("BillingMode") != "PAY_PER_REQUEST":
        problems.append("RunsTable: BillingMode must be PAY_PER_REQUEST")
    if (runs.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is not True:
        problems.append("RunsTable: point-in-time recovery off")
    if (runs.get("SSESpecification") or {}).get("SSEEnabled") is not True:
        problems.append("RunsTable: SSESpecification.SSEEnabled must be true")
    idem = props(res.get("IdempotencyTable", {}))
    if idem.get("KeySchema") != [{"AttributeName": "id", "KeyType": "HASH"}]:
        problems.append("IdempotencyTable: key must be id (S)")
    if idem.get("TimeToLiveSpecification") != {"AttributeName": "expiration", "Enabled": True}:
        problems.append("IdempotencyTable: TTL on `expiration` must be enabled")
    if idem.get("BillingMode") != "PAY_PER_REQUEST":
        problems.append("IdempotencyTable: BillingMode must be PAY_PER_REQUEST")
    return problems


def check_snapshots(template: Template) -> list[str]:
    """Dataset snapshots (what Bedrock trains on) stay put while a live run uses them: the data
    bucket expires under snapshots/ only objects tagged released, and a function that may write
    there may write nowhere else in the data bucket (it can never overwrite a user's dataset)."""
    problems: list[str] = []
    bucket = props(resources_of(template, "AWS::S3::Bucket").get("DataBucket", {}))
    rules = (bucket.get("LifecycleConfiguration") or {}).get("Rules", [])
    for rule in rules:
        scope = rule.get("Prefix") or (rule.get("Filter") or {}).get("Prefix") or ""
        tags = {t.get("Key"): t.get("Value") for t in as_list(rule.get("TagFilters"))}
        expires = "ExpirationInDays" in rule or "ExpirationDate" in rule
        if (
            expires
            and (scope == "" or scope.startswith("snapshots"))
            and tags.get("tailor-snapshot") != "released"
        ):
            problems.append(
                f"DataBucket lifecycle rule {rule.get('Id')!r} expires snapshots not tagged released"
            )
    if not any((r.get("Prefix") or "").startswith("snapshots") for r in rules):
        problems.append("DataBucket has no lifecycle rule for released snapshots")
    for owner, statement in identity_statements(template):
        actions = {a.lower() for a in as_list(statement.get("Action"))}
        if "s3:putobject" not in actions:
            continue
        for resource in as_list(statement.get("Resource")):
            text = _sub_text(resource)
            if "DataBucket" in text and not text.endswith("/snapshots/*"):
                problems.append(f"{owner} may write {text} in the data bucket (only snapshots/* is allowed)")
    return problems


def check_ingestion_sizing(template: Template) -> list[str]:
    """Ingestion fits its worst input: one invocation can read the largest dataset it accepts
    (tailor.ingestion.service.MAX_DATASET_BYTES at MIN_BYTES_PER_SECOND, plus the deadline's
    reserve), and a batch is one dataset (two worst ones could not both finish)."""
    from tailor.ingestion.service import MAX_DATASET_BYTES, MIN_BYTES_PER_SECOND
    from tailor.runtime import DEFAULT_RESERVE_SECONDS

    problems: list[str] = []
    function = props(
        resources_of(template, "AWS::Lambda::Function", "AWS::Serverless::Function")["IngestionFunction"]
    )
    timeout = _as_int(function.get("Timeout"), 3)
    needed = MAX_DATASET_BYTES / MIN_BYTES_PER_SECOND + DEFAULT_RESERVE_SECONDS
    if timeout < needed:
        problems.append(
            f"IngestionFunction Timeout {timeout} s < {needed:.0f} s needed for the largest dataset"
        )
    for lid, esm in resources_of(template, "AWS::Lambda::EventSourceMapping").items():
        if target_id(props(esm).get("FunctionName")) == "IngestionFunction":
            batch = _as_int(props(esm).get("BatchSize"), 10)
            if batch != 1:
                problems.append(f"{lid} BatchSize {batch}: one dataset per invocation (the worst fills it)")
    return problems


# ------------------------------------------------------------------------------------------------
# submission
# ------------------------------------------------------------------------------------------------


def parse_contract_function_env(contracts_md: str) -> dict[str, dict[str, Any]]:
    """CONTRACTS.md's "Function environment variables" table: var -> {functions, source}."""
    section = contracts_md.split("## Function environment variables", 1)[1].split("\n## ", 1)[0]
    env: dict[str, dict[str, Any]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        ticks = [re.findall(r"`([^`]+)`", c) for c in cells]
        if len(cells) >= 4 and ticks[0] and ticks[1] and ticks[2]:
            env[ticks[0][0]] = {"functions": set(ticks[1]), "source": ticks[2][0]}
    return env


def check_function_env(template: Template, contract: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Each function-specific variable is set on exactly the functions CONTRACTS.md names, from the
    resource or parameter it names (Ref or GetAtt), and on no other function."""
    problems = []
    functions = resources_of(template, "AWS::Lambda::Function")
    for var, row in contract.items():
        for lid, fn in functions.items():
            env = (props(fn).get("Environment") or {}).get("Variables") or {}
            if lid not in row["functions"]:
                if var in env:
                    problems.append(
                        f"{lid}: sets {var}, which CONTRACTS.md gives to {sorted(row['functions'])} only"
                    )
                continue
            source = (row.get("sources") or {}).get(lid, row["source"])
            if var not in env:
                problems.append(f"{lid}: env var {var} missing")
            elif target_id(env[var]) != source:
                problems.append(f"{lid}: {var} = {env[var]!r}, expected it from {source}")
        missing = row["functions"] - set(functions)
        if missing:
            problems.append(f"{var}: CONTRACTS.md names functions not in the template: {sorted(missing)}")
    return problems


# The HyperPod backend's function environment (HyperPodFunction, only with HyperPodClusterName):
# var -> the resource or parameter it comes from. A row CONTRACTS.md already has for HyperPodFunction
# wins (it now carries the HYPERPOD_* rows and the service name); what this still adds are the shared
# variables whose source differs for HyperPodFunction (one source per row there), like the fallback
# constants below. HUB_NAME is a literal (SageMakerPublicHub): test_hyperpod_wiring.py.
PENDING_FUNCTION = "HyperPodFunction"
PENDING_FUNCTION_ENV: dict[str, str] = {
    "HYPERPOD_CLUSTER_NAME": "HyperPodClusterName",
    "HYPERPOD_NAMESPACE": "HyperPodNamespace",
    "HYPERPOD_INSTANCE_TYPE": "HyperPodInstanceType",
    "HYPERPOD_REPLICAS": "HyperPodReplicas",
    "HYPERPOD_MAX_CONCURRENT_JOBS": "HyperPodMaxConcurrentJobs",
    "HYPERPOD_INSTANCE_PRICE_USD": "HyperPodInstancePriceUsd",
    "HYPERPOD_QUEUE_URL": "HyperPodQueue",
    "BEDROCK_IMPORT_ROLE_ARN": "BedrockImportRole",
    "BEDROCK_ROLE_ARN": "BedrockImportRole",  # the shared submission settings require it
    "QUOTA_MAX_WAIT_HOURS": "QuotaMaxWaitHours",
    "RECONCILE_INTERVAL_MINUTES": "ReconcileIntervalMinutes",
    "TRAINING_PRICES_JSON": "TrainingPricesJson",
}
PENDING_SERVICE_NAMES = ("hyperpod",)


def with_pending_contract(
    env: Mapping[str, list[str]], function_env: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, list[str]], dict[str, dict[str, Any]]]:
    """CONTRACTS.md's two env tables plus the HyperPod rows it does not carry yet (never overriding
    a row that already names HyperPodFunction)."""
    merged_env = {var: list(values) for var, values in env.items()}
    names = merged_env.get("POWERTOOLS_SERVICE_NAME")
    if names:
        names += [n for n in PENDING_SERVICE_NAMES if n not in names]
    merged = {var: {**row, "functions": set(row["functions"])} for var, row in function_env.items()}
    for var, source in PENDING_FUNCTION_ENV.items():
        row = merged.setdefault(var, {"functions": set(), "source": source})
        if PENDING_FUNCTION in row["functions"]:
            continue
        row["functions"].add(PENDING_FUNCTION)
        if source != row["source"]:
            row["sources"] = {**(row.get("sources") or {}), PENDING_FUNCTION: source}
    return merged_env, merged


def _trusted_services(role: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for stmt in _statements(props(role).get("AssumeRolePolicyDocument")):
        principal = stmt.get("Principal") or {}
        if stmt.get("Effect") == "Allow" and isinstance(principal, Mapping):
            for service in as_list(principal.get("Service")):
                yield str(service), stmt


#: What Bedrock may assume a Tailor role for: customization jobs (BedrockCustomizationRole) and
#: custom models imported with CreateCustomModel (BedrockImportRole, only with HyperPod).
BEDROCK_SOURCE_KINDS = (":model-customization-job/", ":custom-model/")


def check_bedrock_trust(template: Template) -> list[str]:
    """A role Bedrock may assume trusts it only for this account's model customization jobs or
    imported custom models: StringEquals aws:SourceAccount = AWS::AccountId and ArnLike/ArnEquals
    aws:SourceArn on this account's ARNs of ONE of those kinds (the confused-deputy guard Bedrock's
    docs ask for)."""
    problems = []
    roles = resources_of(template, "AWS::IAM::Role")
    found = False
    for lid, role in roles.items():
        for service, stmt in _trusted_services(role):
            if service != "bedrock.amazonaws.com":
                continue
            found = True
            cond = stmt.get("Condition") or {}
            account = (cond.get("StringEquals") or {}).get("aws:SourceAccount")
            if account != {"Ref": "AWS::AccountId"}:
                problems.append(f"{lid}: trust lacks StringEquals aws:SourceAccount = AWS::AccountId")
            sources = [
                _sub_text(s)
                for op in ("ArnLike", "ArnEquals")
                for s in as_list((cond.get(op) or {}).get("aws:SourceArn"))
            ]
            if not sources or not any(
                all(kind in s and ":${AWS::AccountId}:" in s for s in sources)
                for kind in BEDROCK_SOURCE_KINDS
            ):
                problems.append(
                    f"{lid}: trust lacks aws:SourceArn on this account's model-customization-job (or"
                    f" custom-model) ARNs (got {sources})"
                )
    if not found:
        problems.append("no role trusts bedrock.amazonaws.com (BedrockCustomizationRole)")
    return problems


def check_pass_role(template: Template) -> list[str]:
    """iam:PassRole names roles of this template only (never "*" or a pattern), each passed to the
    service that role trusts, with StringEquals iam:PassedToService = that service."""
    problems = []
    roles = resources_of(template, "AWS::IAM::Role")
    for owner, stmt in identity_statements(template):
        actions = {a.lower() for a in as_list(stmt.get("Action"))}
        if stmt.get("Effect") != "Allow" or not actions & {"iam:passrole", "iam:*"}:
            continue
        sid = stmt.get("Sid", "")
        passed = (stmt.get("Condition") or {}).get("StringEquals", {}).get("iam:PassedToService")
        if not passed:
            problems.append(f"{owner}/{sid}: iam:PassRole without StringEquals iam:PassedToService")
        for resource in as_list(stmt.get("Resource")):
            rid = target_id(resource)
            if rid not in roles:
                problems.append(
                    f"{owner}/{sid}: iam:PassRole on {_sub_text(resource)}, not a role of this template"
                )
                continue
            trusted = {service for service, _ in _trusted_services(roles[rid])}
            if passed and not set(as_list(passed)) <= trusted:
                problems.append(
                    f"{owner}/{sid}: passes {rid} to {passed}, which it does not trust ({sorted(trusted)})"
                )
    return problems


# The quota wait's backoff (the lead's tailor.submission.quota when it exists; these mirror it).
FALLBACK_BASE_DELAY_SECONDS = 60
FALLBACK_MAX_DELAY_SECONDS = 3600
#: receives kept free for throttling/5xx retries on top of the longest quota wait
RETRY_RECEIVE_MARGIN = 5
#: retention beyond the longest wait: the time before the wait began, a redrive, an operator's day
RETENTION_MARGIN_SECONDS = 24 * 3600


def fallback_receives_needed(max_wait_seconds: int, base: int = 60, cap: int = 3600) -> int:
    """The receive at which a message held with visibility min(base x 2^(n-1), cap) on receive n
    has waited ``max_wait_seconds`` (and gives up): the smallest n with sum(delay(1..n-1)) >= wait."""
    waited, n = 0, 1
    while waited < max_wait_seconds:
        waited += min(base * 2 ** (n - 1), cap)
        n += 1
    return n


def quota_backoff() -> tuple[int, int, Any, str]:
    """(base, cap, receives_needed, where from)."""
    try:
        from tailor.submission.quota import (  # type: ignore[import-not-found,unused-ignore]
            BASE_DELAY_SECONDS,
            MAX_DELAY_SECONDS,
            receives_needed,
        )
    except ImportError:
        base, cap = FALLBACK_BASE_DELAY_SECONDS, FALLBACK_MAX_DELAY_SECONDS
        return base, cap, lambda wait: fallback_receives_needed(wait, base, cap), "tests/infra fallback"
    return int(BASE_DELAY_SECONDS), int(MAX_DELAY_SECONDS), receives_needed, "tailor.submission.quota"


def check_submit_queue_sizing(template: Template) -> list[str]:
    """A full quota never sends a message to the DLQ early: for the longest wait a deploy may set
    (QuotaMaxWaitHours' MaxValue, else its Default), SubmitQueue's maxReceiveCount covers the
    receives the growing hold needs plus a retry margin, and its retention outlasts the wait with a
    day to spare. The function's held message also never exceeds SQS's 12 h visibility maximum."""
    problems: list[str] = []
    param = (template.get("Parameters") or {}).get("QuotaMaxWaitHours")
    if not isinstance(param, Mapping) or "Default" not in param:
        return ["Parameters: QuotaMaxWaitHours missing (or without a Default)"]
    hours = int(param.get("MaxValue", param["Default"]))
    wait = hours * 3600
    base, cap, receives_needed, source = quota_backoff()
    if cap > 12 * 3600:
        problems.append(f"quota backoff cap {cap} s exceeds SQS's 12 h visibility maximum")
    queues = resources_of(template, "AWS::SQS::Queue")
    mapped = [
        qid
        for _, esm, qid in _sqs_mappings(template)
        if qid and target_id(esm.get("FunctionName")) == "SubmissionFunction"
    ]
    if not mapped:
        return [*problems, "SubmissionFunction has no SQS event source to size"]
    # HyperPodFunction (only with HyperPod) holds CPT runs while the cluster is busy with the same
    # quota gate and QuotaMaxWaitHours: its queue is sized the same way.
    functions = resources_of(template, "AWS::Lambda::Function")
    hyperpod = [
        qid
        for _, esm, qid in _sqs_mappings(template)
        if qid and target_id(esm.get("FunctionName")) == "HyperPodFunction"
    ]
    if "HyperPodFunction" in functions and not hyperpod:
        problems.append("HyperPodFunction has no SQS event source to size")
    mapped += hyperpod
    for qid in mapped:
        queue = props(queues[qid])
        max_receive = int((_redrive(queues[qid]) or {}).get("maxReceiveCount", 0))
        needed = int(receives_needed(wait)) + RETRY_RECEIVE_MARGIN
        if max_receive < needed:
            problems.append(
                f"{qid}: maxReceiveCount {max_receive} < {needed} receives a {hours} h quota wait needs"
                f" (backoff {base} s doubling to {cap} s, from {source},"
                f" + {RETRY_RECEIVE_MARGIN} for retries)"
            )
        retention = _as_int(queue.get("MessageRetentionPeriod"), 345600)
        if retention < wait + cap + RETENTION_MARGIN_SECONDS:
            problems.append(
                f"{qid}: MessageRetentionPeriod {retention} s < {hours} h wait + {cap} s hold + 24 h margin"
            )
    return problems


# ------------------------------------------------------------------------------------------------
# schedules (EventBridge Scheduler: the status service's reconcile)
# ------------------------------------------------------------------------------------------------


def _grants(template: Template, role_lid: str, action: str, resource_lid: str) -> bool:
    """The role's own policies Allow ``action`` on the ARN of ``resource_lid``."""
    for owner, stmt in identity_statements(template):
        if owner != role_lid or stmt.get("Effect") != "Allow":
            continue
        actions = {a.lower() for a in as_list(stmt.get("Action"))}
        if action.lower() in actions and any(
            target_id(r) == resource_lid for r in as_list(stmt.get("Resource"))
        ):
            return True
    return False


def check_scheduler_schedules(template: Template) -> list[str]:
    """Every EventBridge Scheduler schedule: its target has a RetryPolicy and a DeadLetterConfig on a
    queue of this stack; its execution role is a role of this template that trusts
    scheduler.amazonaws.com only for this account (StringEquals aws:SourceAccount), and may invoke
    exactly its target and send to exactly its DLQ (Scheduler dead-letters with the execution role,
    not through a queue policy)."""
    problems: list[str] = []
    roles = resources_of(template, "AWS::IAM::Role")
    queues = resources_of(template, "AWS::SQS::Queue")
    for lid, schedule in resources_of(template, "AWS::Scheduler::Schedule").items():
        target = props(schedule).get("Target") or {}
        retry = target.get("RetryPolicy") or {}
        if "MaximumRetryAttempts" not in retry or "MaximumEventAgeInSeconds" not in retry:
            problems.append(
                f"{lid}: target RetryPolicy needs MaximumRetryAttempts and MaximumEventAgeInSeconds"
            )
        dlq = target_id((target.get("DeadLetterConfig") or {}).get("Arn"))
        if dlq not in queues:
            problems.append(f"{lid}: target has no DeadLetterConfig.Arn on a queue of this stack")
        role = target_id(target.get("RoleArn"))
        if role not in roles:
            problems.append(f"{lid}: RoleArn is not a role of this template")
            continue
        trusts = [
            stmt for service, stmt in _trusted_services(roles[role]) if service == "scheduler.amazonaws.com"
        ]
        if not trusts:
            problems.append(f"{role}: does not trust scheduler.amazonaws.com")
        for stmt in trusts:
            account = ((stmt.get("Condition") or {}).get("StringEquals") or {}).get("aws:SourceAccount")
            if account != {"Ref": "AWS::AccountId"}:
                problems.append(
                    f"{role}: scheduler trust lacks StringEquals aws:SourceAccount = AWS::AccountId"
                )
        function = target_id(target.get("Arn"))
        if function and not _grants(template, role, "lambda:InvokeFunction", function):
            problems.append(f"{role}: may not lambda:InvokeFunction its target {function}")
        if dlq in queues and not _grants(template, role, "sqs:SendMessage", dlq):
            problems.append(f"{role}: may not sqs:SendMessage to its dead-letter queue {dlq}")
    return problems


_AWS_RATE = re.compile(r"^rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)$")


def _evaluate(node: Any, template: Template, values: Mapping[str, Any]) -> Any:
    """A schedule expression for given parameter values: Ref, Fn::Sub, Fn::If, Fn::Equals, Fn::Not."""
    if isinstance(node, Mapping):
        if "Ref" in node:
            return str(values[node["Ref"]])
        if "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
            return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: str(values[m.group(1)]), node["Fn::Sub"])
        if "Fn::If" in node:
            name, when_true, when_false = node["Fn::If"]
            condition = (template.get("Conditions") or {})[name]
            return _evaluate(
                when_true if _evaluate(condition, template, values) else when_false, template, values
            )
        if "Fn::Equals" in node:
            left, right = (_evaluate(v, template, values) for v in node["Fn::Equals"])
            return str(left) == str(right)
        if "Fn::Not" in node:
            return not _evaluate(node["Fn::Not"][0], template, values)
        if "Condition" in node:
            return _evaluate((template.get("Conditions") or {})[node["Condition"]], template, values)
    return node


def check_schedule_expressions(template: Template) -> list[str]:
    """Each schedule's rate() is one AWS accepts for every value a deploy may pick: the singular unit
    for 1 ("rate(1 minute)"), the plural otherwise. Checked at each Number parameter's MinValue,
    Default and MinValue + 1 (where "1 minutes" vs "2 minute" would break)."""
    problems: list[str] = []
    parameters = template.get("Parameters") or {}
    numbers = {
        name: p for name, p in parameters.items() if isinstance(p, Mapping) and p.get("Type") == "Number"
    }
    schedules = {
        lid: props(res).get("ScheduleExpression")
        for lid, res in resources_of(template, "AWS::Scheduler::Schedule", "AWS::Events::Rule").items()
        if props(res).get("ScheduleExpression") is not None
    }
    defaults = {name: p.get("Default") for name, p in parameters.items() if isinstance(p, Mapping)}
    for lid, expression in schedules.items():
        used = set(re.findall(r"[A-Za-z0-9]+", json.dumps(expression))) & set(numbers)
        candidates: list[dict[str, Any]] = [dict(defaults)]
        for name in sorted(used):
            low = int(numbers[name].get("MinValue", numbers[name]["Default"]))
            candidates += [{**defaults, name: low}, {**defaults, name: low + 1}]
        for values in candidates:
            text = _evaluate(expression, template, values)
            if not isinstance(text, str):
                problems.append(f"{lid}: ScheduleExpression does not evaluate to text ({text!r})")
            elif text.startswith("rate(") and not _AWS_RATE.match(text):
                shown = ", ".join(f"{n}={values[n]}" for n in sorted(used))
                problems.append(f"{lid}: {text!r} (with {shown}) is not a rate AWS accepts")
    return problems


# ------------------------------------------------------------------------------------------------
# deployment
# ------------------------------------------------------------------------------------------------

# The deployment hold's schedule (the lead's tailor.deployment.service when it exists; these mirror
# it): visibility 30 s x 2^(n-1), at most 300 s, on receive n, until 2 h since the message was sent.
FALLBACK_HOLD_BASE_SECONDS = 30
FALLBACK_HOLD_MAX_SECONDS = 300
FALLBACK_MAX_WAIT_SECONDS = 7200


def deployment_hold() -> tuple[int, int, int, int, str]:
    """(base, cap, max wait, receives needed, where from): from tailor.deployment.service, or the
    fallback constants above (with fallback_receives_needed) while that module does not import."""
    try:
        from tailor.deployment import service  # type: ignore[import-not-found,unused-ignore]

        base = int(service.HOLD_BASE_SECONDS)
        cap = int(service.HOLD_MAX_SECONDS)
        wait = int(service.MAX_WAIT_SECONDS)
        receives_needed = service.receives_needed
    except (ImportError, AttributeError):
        base, cap, wait = FALLBACK_HOLD_BASE_SECONDS, FALLBACK_HOLD_MAX_SECONDS, FALLBACK_MAX_WAIT_SECONDS
        return base, cap, wait, fallback_receives_needed(wait, base, cap), "tests/infra fallback"
    return base, cap, wait, _call_receives_needed(receives_needed, wait), "tailor.deployment.service"


def _call_receives_needed(receives_needed: Any, wait: int) -> int:
    """``receives_needed()`` (its own MAX_WAIT_SECONDS) or ``receives_needed(wait)``, whichever it takes."""
    import inspect

    required = [
        p
        for p in inspect.signature(receives_needed).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return int(receives_needed(wait) if required else receives_needed())


def check_deploy_queue_sizing(template: Template) -> list[str]:
    """A held deployment (Creating, or the deployment quota full) never reaches the DLQ early:
    DeployQueue's maxReceiveCount covers the receives the growing hold needs for MAX_WAIT_SECONDS
    plus a retry margin, its retention outlasts the wait with a day to spare, and the hold never
    exceeds SQS's 12 h visibility maximum (6 x Timeout is check_visibility_timeouts')."""
    problems: list[str] = []
    base, cap, wait, needed_receives, source = deployment_hold()
    if cap > 12 * 3600:
        problems.append(f"deployment hold cap {cap} s exceeds SQS's 12 h visibility maximum")
    queues = resources_of(template, "AWS::SQS::Queue")
    mapped = [
        qid
        for _, esm, qid in _sqs_mappings(template)
        if qid and target_id(esm.get("FunctionName")) == "DeploymentFunction"
    ]
    if not mapped:
        return [*problems, "DeploymentFunction has no SQS event source to size"]
    for qid in mapped:
        queue = props(queues[qid])
        max_receive = int((_redrive(queues[qid]) or {}).get("maxReceiveCount", 0))
        needed = needed_receives + RETRY_RECEIVE_MARGIN
        if max_receive < needed:
            problems.append(
                f"{qid}: maxReceiveCount {max_receive} < {needed} receives a {wait} s deployment hold needs"
                f" (backoff {base} s doubling to {cap} s, from {source},"
                f" + {RETRY_RECEIVE_MARGIN} for retries)"
            )
        retention = _as_int(queue.get("MessageRetentionPeriod"), 345600)
        if retention < wait + cap + RETENTION_MARGIN_SECONDS:
            problems.append(
                f"{qid}: MessageRetentionPeriod {retention} s < {wait} s hold + {cap} s + 24 h margin"
            )
    return problems
