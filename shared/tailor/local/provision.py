"""Create the template's resources in moto, straight from the transformed CloudFormation.

Not moto's CloudFormation: a small provisioner that knows the resource types Tailor's template
uses, resolves every intrinsic against what it created (``intrinsics.Resolver``), and records what
the dispatcher and the scheduler must play (functions, SQS event sources, schedules).

Each resource ends in one of these states (shown by ``LocalStack.describe()``):

- ``created``  — exists in moto (S3, SQS, EventBridge, DynamoDB, CloudWatch alarms, KMS);
- ``played``   — acted out in-process (Lambda functions and their SQS event sources by the
  dispatcher; schedule rules and EventBridge Scheduler schedules by the scheduler);
- ``resolved`` — names and ARNs resolved so references work, nothing created (IAM roles: moto does
  not enforce IAM; Lambda permissions; log groups; schedule groups);
- ``skipped``  — not understood locally (said so, with the reason); references still resolve to a
  plausible name/ARN;
- ``absent``   — its ``Condition`` is false, as in CloudFormation.

Only the resource types and properties Tailor's template uses, or the coming services will (Bedrock
service role, schedules, KMS signing keys, IoT), are handled; a property that is not applied is
listed as a note, so nothing is dropped silently.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailor.local.intrinsics import Resolver, TemplateError, references

__all__ = [
    "EventSourceInfo",
    "FunctionInfo",
    "Provisioner",
    "QueueInfo",
    "Resource",
    "RuleInfo",
    "ScheduleInfo",
    "ScheduleTarget",
]

CREATED, PLAYED, RESOLVED, SKIPPED, ABSENT, LOCAL = (
    "created",
    "played",
    "resolved",
    "skipped",
    "absent",
    "local",
)

#: Names of the local observer (a catch-all rule on each custom bus → one queue). Not in template.yaml.
OBSERVER_ID = "LocalObserver"
#: EventBridge pattern of the observer: everything but S3's events, which moto (unlike AWS) sends
#: to rules on every bus, custom ones included.
OBSERVER_PATTERN: dict[str, Any] = {"source": [{"anything-but": ["aws.s3"]}]}


class ProvisionError(RuntimeError):
    """moto refused to create a resource; the message names it."""


@dataclass
class Resource:
    logical_id: str
    type: str
    status: str = SKIPPED
    physical_id: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass
class QueueInfo:
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout: int  # as written in the template (seconds)
    local_visibility_timeout: int  # what the moto queue got (template x time_scale, ≥ 1 s)
    max_receive_count: int | None = None
    dead_letter_arn: str | None = None


@dataclass
class FunctionInfo:
    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path | None
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    layers: list[str] = field(default_factory=list)


@dataclass
class EventSourceInfo:
    logical_id: str
    function_id: str
    queue_id: str
    batch_size: int
    report_batch_item_failures: bool
    enabled: bool = True
    filter_patterns: list[dict[str, Any]] = field(default_factory=list)
    maximum_concurrency: int | None = None
    batching_window: int = 0


@dataclass
class ScheduleTarget:
    arn: str
    input: str | None = None
    queue_url: str | None = None
    function_id: str | None = None


@dataclass
class ScheduleInfo:
    logical_id: str
    name: str
    arn: str
    kind: str  # "rule" (AWS::Events::Rule ScheduleExpression) | "scheduler" (AWS::Scheduler::Schedule)
    expression: str
    timezone: str | None
    enabled: bool
    targets: list[ScheduleTarget]


@dataclass
class RuleInfo:
    logical_id: str
    name: str
    bus: str
    pattern: dict[str, Any]
    enabled: bool
    target_arns: list[str]


def _token(*parts: str, length: int = 12) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return base64.b32encode(digest).decode()[:length]


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _bool(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _arn_part(arn: str, index: int) -> str:
    parts = arn.split(":", 5)
    return parts[index] if len(parts) > index else ""


# Properties each provisioner understands; anything else is reported as "not emulated".
_BUCKET_PROPS = {
    "BucketName", "VersioningConfiguration", "BucketEncryption", "PublicAccessBlockConfiguration",
    "NotificationConfiguration", "OwnershipControls",
}  # fmt: skip
_QUEUE_ATTRIBUTES = {
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
}  # fmt: skip
_QUEUE_PROPS = _QUEUE_ATTRIBUTES | {"QueueName", "VisibilityTimeout", "RedrivePolicy"}
_TABLE_PROPS = {
    "TableName", "KeySchema", "AttributeDefinitions", "BillingMode", "GlobalSecondaryIndexes",
    "SSESpecification", "TimeToLiveSpecification", "PointInTimeRecoverySpecification",
}  # fmt: skip
_ALARM_PROPS = {
    "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions",
    "InsufficientDataActions", "MetricName", "Namespace", "Statistic", "Dimensions", "Period", "Unit",
    "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
}  # fmt: skip
_RULE_TARGET_KEYS = (
    "Id",
    "Arn",
    "RoleArn",
    "Input",
    "InputPath",
    "InputTransformer",
    "DeadLetterConfig",
    "RetryPolicy",
)


class Provisioner:
    """Creates one transformed template in moto; acts as the resolver's ``Lookup``."""

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        client: Callable[[str], Any],
        stack_name: str,
        region: str,
        account_id: str,
        base_dir: Path,
        time_scale: float = 1.0,
        parameter_values: Mapping[str, Any] | None = None,
    ) -> None:
        if "Transform" in template:
            raise TemplateError(
                "the template still has a Transform: pass it through tailor.local.sam_transform first"
            )
        self.template = template
        self.client = client
        self.stack_name = stack_name
        self.region = region
        self.account_id = account_id
        self.partition = "aws"
        self.base_dir = base_dir
        self.time_scale = time_scale
        self.resolver = Resolver(
            template,
            self,
            stack_name=stack_name,
            region=region,
            account_id=account_id,
            parameter_values=parameter_values,
        )
        self.resources: dict[str, Resource] = {}
        self.queues: dict[str, QueueInfo] = {}
        self.functions: dict[str, FunctionInfo] = {}
        self.event_sources: dict[str, EventSourceInfo] = {}
        self.schedules: dict[str, ScheduleInfo] = {}
        self.rules: dict[str, RuleInfo] = {}
        self.notes: list[str] = []
        self.outputs: dict[str, Any] = {}
        self.observer_queue: QueueInfo | None = None

    # -- Lookup (for the resolver) ------------------------------------------------------------------

    def _done(self, logical_id: str) -> Resource:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"{logical_id}: referenced before it was created (dependency cycle?)")
        if resource.status == ABSENT:
            raise TemplateError(f"{logical_id}: referenced, but its Condition is false so it does not exist")
        return resource

    def ref(self, logical_id: str) -> Any:
        return self._done(logical_id).physical_id

    def get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self._done(logical_id)
        if attribute not in resource.attributes:
            known = ", ".join(sorted(resource.attributes)) or "none"
            raise TemplateError(
                f"{logical_id} ({resource.type}): attribute {attribute!r} is not available locally "
                f"(known: {known})"
            )
        return resource.attributes[attribute]

    # -- driver -------------------------------------------------------------------------------------

    def order(self) -> list[str]:
        """Logical ids in creation order: dependencies first, template order otherwise."""
        resources: Mapping[str, Any] = self.template.get("Resources") or {}
        ids = list(resources)
        deps: dict[str, set[str]] = {}
        for logical_id, body in resources.items():
            body = body or {}
            found = references(body.get("Properties") or {}, ids)
            depends_on = body.get("DependsOn") or []
            found.update([depends_on] if isinstance(depends_on, str) else depends_on)
            found.discard(logical_id)
            unknown = found - set(ids)
            if unknown:
                raise TemplateError(f"{logical_id}: depends on unknown resources {sorted(unknown)}")
            deps[logical_id] = found
        ordered: list[str] = []
        placed: set[str] = set()
        while len(ordered) < len(ids):
            ready = [i for i in ids if i not in placed and deps[i] <= placed]
            if not ready:
                stuck = sorted(i for i in ids if i not in placed)
                raise TemplateError(f"Resources: dependency cycle among {stuck}")
            for logical_id in ready:
                ordered.append(logical_id)
                placed.add(logical_id)
        return ordered

    def provision(self, *, observer: bool = True) -> None:
        resources: Mapping[str, Any] = self.template.get("Resources") or {}
        for logical_id in self.order():
            body = resources[logical_id] or {}
            rtype = str(body.get("Type", ""))
            resource = Resource(logical_id, rtype)
            condition = body.get("Condition")
            if condition is not None and not self.resolver.condition(str(condition)):
                resource.status = ABSENT
                resource.note = f"Condition {condition} is false"
                self.resources[logical_id] = resource
                continue
            raw_props = body.get("Properties") or {}
            props = self.resolver.resolve(raw_props, f"{logical_id}.Properties")
            handler = _HANDLERS.get(rtype)
            try:
                if handler is None:
                    self._unknown(resource, props)
                else:
                    handler(self, resource, props, body)
            except TemplateError:
                raise
            except Exception as error:
                raise ProvisionError(f"{logical_id} ({rtype}): {error}") from error
            self.resources[logical_id] = resource
        if observer:
            self._create_observer()
        self._lint()
        self.outputs = self._outputs()

    def _outputs(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, body in (self.template.get("Outputs") or {}).items():
            body = body or {}
            condition = body.get("Condition")
            if condition is not None and not self.resolver.condition(str(condition)):
                continue
            result[name] = self.resolver.resolve(body.get("Value"), f"Outputs.{name}.Value")
        return result

    def note(self, logical_id: str, text: str) -> None:
        self.notes.append(f"{logical_id}: {text}")

    def _leftovers(self, resource: Resource, props: Mapping[str, Any], handled: set[str]) -> None:
        extra = sorted(set(props) - handled)
        if extra:
            self.note(resource.logical_id, f"{', '.join(extra)} not emulated locally")

    # -- names ----------------------------------------------------------------------------------------

    def generated_name(self, logical_id: str, *, max_length: int = 64, lower: bool = False) -> str:
        """A CloudFormation-style physical name: ``<stack>-<LogicalId>-<TOKEN>`` (deterministic)."""
        token = _token(self.stack_name, logical_id)
        room = max_length - len(token) - 2
        stack, lid = self.stack_name, logical_id
        if len(stack) + len(lid) > room:
            stack = stack[: max(1, room // 2)]
            lid = lid[: room - len(stack)]
        name = f"{stack}-{lid}-{token}"
        return name.lower() if lower else name

    def _name(self, resource: Resource, props: Mapping[str, Any], key: str, **kwargs: Any) -> str:
        given = props.get(key)
        return str(given) if given else self.generated_name(resource.logical_id, **kwargs)

    def _arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account_id if account else ''}:{resource}"
        )

    # -- S3 -------------------------------------------------------------------------------------------

    def _s3_bucket(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        s3 = self.client("s3")
        name = self._name(resource, props, "BucketName", max_length=63, lower=True)
        s3.create_bucket(Bucket=name)
        versioning = props.get("VersioningConfiguration")
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
        encryption = props.get("BucketEncryption")
        if encryption:
            rules = []
            for rule in encryption.get("ServerSideEncryptionConfiguration", []):
                api_rule: dict[str, Any] = {}
                default = rule.get("ServerSideEncryptionByDefault")
                if default:
                    api_rule["ApplyServerSideEncryptionByDefault"] = dict(default)
                if "BucketKeyEnabled" in rule:
                    api_rule["BucketKeyEnabled"] = _bool(rule["BucketKeyEnabled"])
                rules.append(api_rule)
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        block = props.get("PublicAccessBlockConfiguration")
        if block:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration={k: _bool(v) for k, v in block.items()}
            )
        ownership = props.get("OwnershipControls")
        if ownership:
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=ownership)
        notification = props.get("NotificationConfiguration")
        if notification:
            self._bucket_notifications(resource, name, notification)
        self._leftovers(resource, props, _BUCKET_PROPS)
        resource.status, resource.physical_id = CREATED, name
        resource.attributes = {"Arn": self._arn("s3", name, region=False, account=False)}

    def _bucket_notifications(self, resource: Resource, bucket: str, config: Mapping[str, Any]) -> None:
        """S3 → EventBridge only: Tailor wires uploads as S3 → EventBridge → rule → SQS."""
        eventbridge = config.get("EventBridgeConfiguration")
        if eventbridge and _bool(eventbridge.get("EventBridgeEnabled", True)):
            self.client("s3").put_bucket_notification_configuration(
                Bucket=bucket,
                NotificationConfiguration={"EventBridgeConfiguration": {}},
                SkipDestinationValidation=True,
            )
        direct = sorted(set(config) - {"EventBridgeConfiguration"})
        if direct:
            self.note(
                resource.logical_id, f"NotificationConfiguration.{', '.join(direct)} not emulated locally"
            )

    def _s3_bucket_policy(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        bucket = str(props["Bucket"])
        policy = dict(props.get("PolicyDocument") or {})
        statements = policy.get("Statement") or []
        statements = statements if isinstance(statements, list) else [statements]
        kept = [s for s in statements if not s.get("Condition")]
        dropped = len(statements) - len(kept)
        if dropped:
            self.note(
                resource.logical_id,
                f"{dropped} conditional statement(s) not applied: moto ignores Condition (a TLS-only "
                "Deny on aws:SecureTransport would deny every request) and the local endpoint is HTTP",
            )
        if kept:
            policy["Statement"] = kept
            self.client("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
            resource.status = CREATED
        else:
            resource.status = RESOLVED
        resource.physical_id = self.generated_name(resource.logical_id)

    # -- SQS ------------------------------------------------------------------------------------------

    def _sqs_queue(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = self._name(resource, props, "QueueName", max_length=80)
        attributes: dict[str, str] = {}
        for key in _QUEUE_ATTRIBUTES & set(props):
            value = props[key]
            attributes[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
        visibility = int(props.get("VisibilityTimeout", 30))
        local_visibility = max(1, math.ceil(visibility * self.time_scale))
        attributes["VisibilityTimeout"] = str(local_visibility)
        redrive = props.get("RedrivePolicy")
        max_receive: int | None = None
        dead_letter: str | None = None
        if redrive:
            redrive = json.loads(redrive) if isinstance(redrive, str) else dict(redrive)
            max_receive = int(redrive["maxReceiveCount"])
            dead_letter = str(redrive["deadLetterTargetArn"])
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dead_letter, "maxReceiveCount": max_receive}
            )
        url = str(self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
        arn = self._arn("sqs", name)
        self._leftovers(resource, props, _QUEUE_PROPS)
        resource.status, resource.physical_id = CREATED, url
        resource.attributes = {"Arn": arn, "QueueName": name, "QueueUrl": url}
        self.queues[resource.logical_id] = QueueInfo(
            resource.logical_id, name, url, arn, visibility, local_visibility, max_receive, dead_letter
        )

    def _sqs_queue_policy(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        sqs = self.client("sqs")
        for url in props.get("Queues") or []:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})
        resource.status, resource.physical_id = CREATED, self.generated_name(resource.logical_id)

    def queue_by_arn(self, arn: str) -> QueueInfo | None:
        return next((q for q in self.queues.values() if q.arn == arn), None)

    # -- EventBridge ----------------------------------------------------------------------------------

    def _event_bus(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = str(props["Name"])
        arn = self.client("events").create_event_bus(Name=name)["EventBusArn"]
        self._leftovers(resource, props, {"Name", "Tags"})
        resource.status, resource.physical_id = CREATED, name
        resource.attributes = {"Arn": arn, "Name": name}

    def _events_rule(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = self._name(resource, props, "Name")
        bus_ref = str(props.get("EventBusName") or "default")
        bus = bus_ref.rsplit("/", 1)[-1] if bus_ref.startswith("arn:") else bus_ref
        enabled = str(props.get("State", "ENABLED")).upper() == "ENABLED"
        arn = self._arn("events", f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}")
        resource.physical_id = name if bus == "default" else f"{bus}|{name}"
        resource.attributes = {"Arn": arn}
        targets = props.get("Targets") or []
        if props.get("ScheduleExpression"):
            self.schedules[resource.logical_id] = ScheduleInfo(
                resource.logical_id,
                name,
                arn,
                "rule",
                str(props["ScheduleExpression"]),
                None,
                enabled,
                [self._schedule_target(resource, t, t.get("Input")) for t in targets],
            )
            resource.status = PLAYED
            resource.note = "schedule rule: fired by the local scheduler (moto never fires schedules)"
            if props.get("EventPattern"):
                self.note(resource.logical_id, "EventPattern on a schedule rule is ignored locally")
            return
        pattern = props.get("EventPattern")
        pattern = json.loads(pattern) if isinstance(pattern, str) else dict(pattern or {})
        events = self.client("events")
        put_rule: dict[str, Any] = {
            "Name": name,
            "EventPattern": json.dumps(pattern),
            "State": "ENABLED" if enabled else "DISABLED",
            "EventBusName": bus,
        }
        if props.get("Description"):
            put_rule["Description"] = str(props["Description"])
        events.put_rule(**put_rule)
        api_targets: list[dict[str, Any]] = []
        for target in targets:
            target_arn = str(target["Arn"])
            service = _arn_part(target_arn, 2)
            if service not in ("sqs", "events"):
                self.note(
                    resource.logical_id,
                    f"target {target.get('Id')} ({service}) not delivered locally: moto delivers rule "
                    "targets to SQS and event buses only",
                )
                continue
            if "Input" in target or "InputPath" in target:
                self.note(
                    resource.logical_id,
                    f"target {target.get('Id')}: Input/InputPath is ignored by moto (the whole event "
                    "is delivered)",
                )
            api_targets.append({k: target[k] for k in _RULE_TARGET_KEYS if k in target})
        if not enabled:
            self.note(resource.logical_id, "DISABLED: targets not attached (moto delivers to disabled rules)")
        elif api_targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=api_targets)
        self._leftovers(
            resource,
            props,
            {"Name", "EventBusName", "State", "EventPattern", "Targets", "Description", "RoleArn"},
        )
        resource.status = CREATED
        self.rules[resource.logical_id] = RuleInfo(
            resource.logical_id, name, bus, pattern, enabled, [str(t["Arn"]) for t in targets]
        )

    def _schedule_target(self, resource: Resource, target: Mapping[str, Any], payload: Any) -> ScheduleTarget:
        arn = str(target["Arn"])
        result = ScheduleTarget(arn, None if payload is None else _json_text(payload))
        service = _arn_part(arn, 2)
        if service == "sqs":
            queue = self.queue_by_arn(arn)
            if queue is None:
                self.note(
                    resource.logical_id, f"schedule target {arn} is not a queue of this stack: not fired"
                )
            else:
                result.queue_url = queue.url
        elif service == "lambda":
            function = next((f for f in self.functions.values() if arn in (f.arn, f.name)), None)
            if function is None:
                self.note(resource.logical_id, f"schedule target {arn} is not a function of this stack")
            else:
                result.function_id = function.logical_id
        else:
            self.note(resource.logical_id, f"schedule target {arn}: only SQS and Lambda targets are fired")
        return result

    def _scheduler_schedule(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = self._name(resource, props, "Name")
        group = str(props.get("GroupName") or "default")
        arn = self._arn("scheduler", f"schedule/{group}/{name}")
        target = props.get("Target") or {}
        self.schedules[resource.logical_id] = ScheduleInfo(
            resource.logical_id,
            name,
            arn,
            "scheduler",
            str(props["ScheduleExpression"]),
            props.get("ScheduleExpressionTimezone"),
            str(props.get("State", "ENABLED")).upper() == "ENABLED",
            [self._schedule_target(resource, target, target.get("Input"))] if target else [],
        )
        resource.status, resource.physical_id = PLAYED, name
        resource.attributes = {"Arn": arn}
        resource.note = "fired by the local scheduler (moto has no EventBridge Scheduler)"

    # -- DynamoDB -------------------------------------------------------------------------------------

    def _dynamodb_table(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = self._name(resource, props, "TableName", max_length=255)
        # On demand whatever the template says: capacity means nothing locally.
        api: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if props.get("GlobalSecondaryIndexes"):
            api["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k != "ProvisionedThroughput"}
                for index in props["GlobalSecondaryIndexes"]
            ]
        sse = props.get("SSESpecification")
        if sse:
            api["SSESpecification"] = {
                k: v
                for k, v in {
                    "Enabled": _bool(sse.get("SSEEnabled")),
                    "SSEType": sse.get("SSEType"),
                    "KMSMasterKeyId": sse.get("KMSMasterKeyId"),
                }.items()
                if v is not None
            }
        ddb = self.client("dynamodb")
        description = ddb.create_table(**api)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and _bool(ttl.get("Enabled")):
            ddb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        pitr = props.get("PointInTimeRecoverySpecification")
        if pitr:
            ddb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={
                    "PointInTimeRecoveryEnabled": _bool(pitr.get("PointInTimeRecoveryEnabled"))
                },
            )
        self._leftovers(resource, props, _TABLE_PROPS)
        resource.status, resource.physical_id = CREATED, name
        resource.attributes = {"Arn": description["TableArn"]}

    # -- Lambda (played by the dispatcher) --------------------------------------------------------------

    def _code_dir(self, resource: Resource, props: Mapping[str, Any]) -> Path | None:
        from tailor.local.sam_transform import local_code_path

        path = local_code_path(props.get("Code"))
        if path is None:
            self.note(resource.logical_id, "code is not a local directory (S3 or inline): not played")
            return None
        directory = (self.base_dir / path).resolve()
        if not directory.is_dir():
            self.note(resource.logical_id, f"code directory {directory} does not exist yet")
        return directory

    def _lambda_function(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = self._name(resource, props, "FunctionName")
        arn = self._arn("lambda", f"function:{name}")
        variables = (props.get("Environment") or {}).get("Variables") or {}
        environment = {
            str(k): ("true" if v is True else "false" if v is False else str(v)) for k, v in variables.items()
        }
        layers = [str(layer) for layer in props.get("Layers") or []]
        info = FunctionInfo(
            resource.logical_id,
            name,
            arn,
            str(props.get("Handler", "")),
            self._code_dir(resource, props),
            str(props.get("Runtime", "")),
            int(props.get("Timeout", 3)),
            int(props.get("MemorySize", 128)),
            environment,
            layers,
        )
        self.functions[resource.logical_id] = info
        resource.status, resource.physical_id = PLAYED, name
        resource.attributes = {"Arn": arn}
        resource.note = "played in-process by the dispatcher"
        if layers:
            resource.note += "; layers not loaded (the tailor package comes from this interpreter)"

    def _event_source_mapping(
        self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]
    ) -> None:
        source_arn = str(props.get("EventSourceArn", ""))
        function_ref = str(props.get("FunctionName", ""))
        function = next(
            (f for f in self.functions.values() if function_ref in (f.name, f.arn, f.logical_id)), None
        )
        queue = self.queue_by_arn(source_arn)
        resource.physical_id = str(_token(self.stack_name, resource.logical_id, length=32))
        if function is None or queue is None:
            resource.status = SKIPPED
            resource.note = (
                "not played: only SQS sources of this stack's functions are played "
                f"({source_arn} → {function_ref})"
            )
            self.note(resource.logical_id, resource.note)
            return
        criteria = props.get("FilterCriteria") or {}
        patterns = [
            json.loads(f["Pattern"]) if isinstance(f.get("Pattern"), str) else dict(f.get("Pattern") or {})
            for f in criteria.get("Filters") or []
        ]
        concurrency = (props.get("ScalingConfig") or {}).get("MaximumConcurrency")
        info = EventSourceInfo(
            resource.logical_id,
            function.logical_id,
            queue.logical_id,
            int(props.get("BatchSize", 10)),
            "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            _bool(props.get("Enabled", True)),
            patterns,
            int(concurrency) if concurrency is not None else None,
            int(props.get("MaximumBatchingWindowInSeconds", 0)),
        )
        self.event_sources[resource.logical_id] = info
        resource.status = PLAYED
        resource.note = f"{queue.logical_id} → {function.logical_id}, batch size {info.batch_size}"
        if not info.enabled:
            resource.note += "; Enabled: false, so not dispatched"

    def _lambda_layer(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = self._name(resource, props, "LayerName")
        resource.status = SKIPPED
        resource.physical_id = self._arn("lambda", f"layer:{name}:1")
        resource.note = "layer not built: its code (the tailor package) is imported from this interpreter"

    # -- CloudWatch, KMS ---------------------------------------------------------------------------

    def _cloudwatch_alarm(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = self._name(resource, props, "AlarmName", max_length=255)
        api = {k: v for k, v in props.items() if k in _ALARM_PROPS and k != "AlarmName"}
        for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if key in api:
                api[key] = int(api[key])
        if "Threshold" in api:
            api["Threshold"] = float(api["Threshold"])
        if "ActionsEnabled" in api:
            api["ActionsEnabled"] = _bool(api["ActionsEnabled"])
        self.client("cloudwatch").put_metric_alarm(AlarmName=name, **api)
        self._leftovers(resource, props, _ALARM_PROPS)
        resource.status, resource.physical_id = CREATED, name
        resource.attributes = {"Arn": self._arn("cloudwatch", f"alarm:{name}")}
        resource.note = "stored in moto; never evaluated"

    def _kms_key(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        api: dict[str, Any] = {}
        for key in ("Description", "KeyUsage", "KeySpec", "MultiRegion"):
            if key in props:
                api[key] = props[key]
        if props.get("KeyPolicy"):
            api["Policy"] = _json_text(props["KeyPolicy"])
        if props.get("Tags"):
            api["Tags"] = [{"TagKey": t["Key"], "TagValue": str(t["Value"])} for t in props["Tags"]]
        kms = self.client("kms")
        metadata = kms.create_key(**api)["KeyMetadata"]
        if _bool(props.get("EnableKeyRotation")):
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
        self._leftovers(
            resource,
            props,
            {"Description", "KeyUsage", "KeySpec", "MultiRegion", "KeyPolicy", "Tags", "EnableKeyRotation"},
        )
        resource.status, resource.physical_id = CREATED, str(metadata["KeyId"])
        resource.attributes = {"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]}

    def _kms_alias(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = str(props["AliasName"])
        self.client("kms").create_alias(AliasName=name, TargetKeyId=str(props["TargetKeyId"]))
        resource.status, resource.physical_id = CREATED, name

    def _kms_public_key(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        """The template's one custom resource: its inline Lambda reads a KMS public key (for the
        outputs). Locally the same GetPublicKey call is made here instead of invoking that Lambda."""
        import base64

        der = self.client("kms").get_public_key(KeyId=str(props["KeyId"]))["PublicKey"]
        resource.status, resource.physical_id = CREATED, "edge-public-key"
        resource.attributes = {"PublicKey": base64.b64encode(der).decode()}
        resource.note = "resolved with kms:GetPublicKey (its inline Lambda is not played)"

    # -- resolved only ----------------------------------------------------------------------------------

    def _iam_role(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = self._name(resource, props, "RoleName")
        path = str(props.get("Path", "/"))
        resource.status, resource.physical_id = RESOLVED, name
        resource.attributes = {
            "Arn": self._arn("iam", f"role{path}{name}", region=False),
            "RoleId": "AROA" + _token(self.stack_name, resource.logical_id, length=17),
        }
        resource.note = "not created: moto does not enforce IAM"

    def _resolved_only(self, resource: Resource, props: dict[str, Any], body: Mapping[str, Any]) -> None:
        name = self.generated_name(resource.logical_id)
        resource.status = RESOLVED
        if resource.type == "AWS::Logs::LogGroup":
            name = str(props.get("LogGroupName") or name)
            resource.attributes = {"Arn": self._arn("logs", f"log-group:{name}:*")}
            resource.note = "not created: function logs are kept in memory (LocalStack.logs)"
        elif resource.type == "AWS::Scheduler::ScheduleGroup":
            name = str(props.get("Name") or name)
            resource.attributes = {"Arn": self._arn("scheduler", f"schedule-group/{name}")}
        elif resource.type == "AWS::EKS::AccessEntry":
            resource.note = "not played: the simulated HyperPod cluster admits any EKS token"
        else:
            resource.note = "nothing to create locally"
        resource.physical_id = name

    def _unknown(self, resource: Resource, props: Mapping[str, Any]) -> None:
        name = self.generated_name(resource.logical_id)
        parts = resource.type.split("::")
        service = parts[1].lower() if len(parts) > 2 else "unknown"
        resource.status, resource.physical_id = SKIPPED, name
        resource.attributes = {"Arn": self._arn(service, name)}
        resource.note = "resource type not emulated by the local stack"
        self.note(resource.logical_id, f"{resource.type} skipped: not emulated by the local stack")

    # -- local observer ---------------------------------------------------------------------------------

    def _create_observer(self) -> None:
        buses = [
            r for r in self.resources.values() if r.type == "AWS::Events::EventBus" and r.status == CREATED
        ]
        if not buses:
            return
        sqs, events = self.client("sqs"), self.client("events")
        name = f"{self.stack_name}-local-observer"[:80]
        url = str(sqs.create_queue(QueueName=name)["QueueUrl"])
        arn = self._arn("sqs", name)
        self.observer_queue = QueueInfo(OBSERVER_ID, name, url, arn, 30, 30)
        for bus in buses:
            rule = name[:64]
            events.put_rule(
                Name=rule, EventBusName=bus.physical_id, EventPattern=json.dumps(OBSERVER_PATTERN)
            )
            events.put_targets(
                Rule=rule, EventBusName=bus.physical_id, Targets=[{"Id": "observer", "Arn": arn}]
            )
        observer = Resource(OBSERVER_ID, "Local::Observer", LOCAL, url, {"Arn": arn, "QueueName": name})
        observer.note = (
            f"LOCAL OBSERVER, not in template.yaml: rule {name} on "
            f"{', '.join(b.physical_id for b in buses)} → queue {name} (every event but aws.s3)"
        )
        self.resources[OBSERVER_ID] = observer

    # -- checks -----------------------------------------------------------------------------------------

    def _lint(self) -> None:
        function_queues = {s.queue_id: s.function_id for s in self.event_sources.values()}
        for rule in self.rules.values():
            sources = rule.pattern.get("source") or []
            if rule.bus != "default" or "aws.s3" not in sources or "detail-type" in rule.pattern:
                continue
            for arn in rule.target_arns:
                queue = self.queue_by_arn(arn)
                if queue and queue.logical_id in function_queues:
                    self.note(
                        rule.logical_id,
                        "aws.s3 pattern without detail-type: moto emits 'Object Tags Added' on every "
                        f"put_object, so {function_queues[queue.logical_id]} will see those events locally",
                    )


_Handler = Callable[[Provisioner, Resource, dict[str, Any], Mapping[str, Any]], None]

_HANDLERS: dict[str, _Handler] = {
    "AWS::S3::Bucket": Provisioner._s3_bucket,
    "AWS::S3::BucketPolicy": Provisioner._s3_bucket_policy,
    "AWS::SQS::Queue": Provisioner._sqs_queue,
    "AWS::SQS::QueuePolicy": Provisioner._sqs_queue_policy,
    "AWS::Events::EventBus": Provisioner._event_bus,
    "AWS::Events::Rule": Provisioner._events_rule,
    "AWS::Scheduler::Schedule": Provisioner._scheduler_schedule,
    "AWS::DynamoDB::Table": Provisioner._dynamodb_table,
    "AWS::Lambda::Function": Provisioner._lambda_function,
    "AWS::Lambda::EventSourceMapping": Provisioner._event_source_mapping,
    "AWS::Lambda::LayerVersion": Provisioner._lambda_layer,
    "AWS::CloudWatch::Alarm": Provisioner._cloudwatch_alarm,
    "AWS::KMS::Key": Provisioner._kms_key,
    "AWS::KMS::Alias": Provisioner._kms_alias,
    "Custom::KmsPublicKey": Provisioner._kms_public_key,
    "AWS::IAM::Role": Provisioner._iam_role,
    "AWS::Lambda::Permission": Provisioner._resolved_only,
    "AWS::Logs::LogGroup": Provisioner._resolved_only,
    "AWS::Scheduler::ScheduleGroup": Provisioner._resolved_only,
    "AWS::EKS::AccessEntry": Provisioner._resolved_only,
}
