"""Offline SAM: load ``template.yaml`` and expand it to plain CloudFormation without AWS.

The embedded local stack creates its resources from :func:`transform_template`'s output and the
infra tests check house rules on it, so both see exactly what CloudFormation would deploy.

Local code locations (``CodeUri: services/ingestion/``) are not S3 URIs, which the translator
rejects; they are rewritten to ``s3://<LOCAL_CODE_BUCKET>/<path as written>`` first, so a
function's ``Code`` comes out as ``{"S3Bucket": LOCAL_CODE_BUCKET, "S3Key": "services/ingestion/"}``.
:func:`local_code_path` reads the path back (relative to the template's directory).

PyYAML and aws-sam-translator (the ``local`` extra) are imported inside the functions: importing
this module stays cheap.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import yaml

__all__ = [
    "LOCAL_CODE_BUCKET",
    "OfflineManagedPolicyLoader",
    "SamTransformError",
    "load_template",
    "local_code_path",
    "transform_template",
]

#: Placeholder bucket standing for "a directory next to the template" in transformed ``Code``.
LOCAL_CODE_BUCKET = "tailor-local-code"

# SAM resource type -> properties that may hold a local path instead of an S3 URI.
_LOCAL_URI_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::Serverless::Function": ("CodeUri",),
    "AWS::Serverless::LayerVersion": ("ContentUri",),
    "AWS::Serverless::Api": ("DefinitionUri",),
    "AWS::Serverless::HttpApi": ("DefinitionUri",),
    "AWS::Serverless::StateMachine": ("DefinitionUri",),
}
_GLOBALS_SECTION = {
    "AWS::Serverless::Function": "Function",
    "AWS::Serverless::Api": "Api",
    "AWS::Serverless::HttpApi": "HttpApi",
}

# AWS managed policies that live under the `service-role/` path; every other AWS managed policy
# name maps to arn:<partition>:iam::aws:policy/<name>.
_SERVICE_ROLE_POLICIES = frozenset(
    {
        "AWSLambdaBasicExecutionRole",
        "AWSLambdaDynamoDBExecutionRole",
        "AWSLambdaENIManagementAccess",
        "AWSLambdaKinesisExecutionRole",
        "AWSLambdaMSKExecutionRole",
        "AWSLambdaRole",
        "AWSLambdaSQSQueueExecutionRole",
        "AWSLambdaVPCAccessExecutionRole",
        "AWSIoTLogging",
        "AWSIoTRuleActions",
        "AWSIoTThingsRegistration",
    }
)

# Short-form tags whose long form is "Fn::<Name>"; Ref, Condition and GetAtt are special-cased.
_FN_TAGS = frozenset(
    {
        "And",
        "Base64",
        "Cidr",
        "Equals",
        "FindInMap",
        "GetAZs",
        "If",
        "ImportValue",
        "Join",
        "Not",
        "Or",
        "Select",
        "Split",
        "Sub",
        "Transform",
        "ToJsonString",
        "Length",
    }
)

# The translator reads the region from process-wide state (ArnGenerator class attribute and
# boto3's default session); serialize transforms so concurrent callers cannot see each other's.
_TRANSFORM_LOCK = threading.Lock()


class SamTransformError(ValueError):
    """The template is not a valid SAM template; ``errors`` lists each problem found."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("invalid SAM template:\n  " + "\n  ".join(errors))


# ------------------------------------------------------------------------------------------------
# YAML with CloudFormation short-form tags
# ------------------------------------------------------------------------------------------------


@cache
def _cfn_loader_class() -> type[yaml.SafeLoader]:
    import yaml

    class CfnLoader(yaml.SafeLoader):
        """SafeLoader + CloudFormation tags; timestamps stay strings, duplicate keys are errors."""

    # CloudFormation keeps `Version: 2012-10-17` a string; PyYAML would make it a date.
    CfnLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in mapping:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            mapping[key] = loader.construct_object(value_node, deep=True)
        return mapping

    def construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        elif isinstance(node, yaml.MappingNode):
            value = construct_mapping(loader, node)
        else:  # pragma: no cover - PyYAML has no other node kinds
            raise yaml.constructor.ConstructorError(None, None, "unexpected node", node.start_mark)

        if tag_suffix in ("Ref", "Condition"):
            return {tag_suffix: value}
        if tag_suffix == "GetAtt":
            if isinstance(value, str):
                # `!GetAtt Res.Attr.Sub` -> ["Res", "Attr.Sub"]: logical ids never contain dots.
                resource, sep, attribute = value.partition(".")
                if not sep:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"!GetAtt needs Resource.Attribute, got {value!r}", node.start_mark
                    )
                return {"Fn::GetAtt": [resource, attribute]}
            return {"Fn::GetAtt": value}
        if tag_suffix in _FN_TAGS:
            return {f"Fn::{tag_suffix}": value}
        raise yaml.constructor.ConstructorError(
            None, None, f"unknown CloudFormation tag !{tag_suffix}", node.start_mark
        )

    CfnLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    CfnLoader.add_multi_constructor("!", construct_tag)
    return CfnLoader


def load_template(path: str | Path) -> dict[str, Any]:
    """Read a CloudFormation/SAM YAML (or JSON) template, short-form tags in long form."""
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=_cfn_loader_class())  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a template must be a mapping, got {type(data).__name__}")
    return cast(dict[str, Any], data)


# ------------------------------------------------------------------------------------------------
# Offline transform
# ------------------------------------------------------------------------------------------------


def local_code_path(code: Any) -> str | None:
    """The local path behind a transformed ``Code``/``Content``/``DefinitionS3Location``, if any."""
    if isinstance(code, Mapping) and code.get("S3Bucket", code.get("Bucket")) == LOCAL_CODE_BUCKET:
        key = code.get("S3Key", code.get("Key"))
        return key if isinstance(key, str) else None
    return None


def _is_local_path(value: Any) -> bool:
    return isinstance(value, str) and "://" not in value


def _to_placeholder_uri(path: str) -> str:
    return f"s3://{LOCAL_CODE_BUCKET}/{path.lstrip('/') or '.'}"


def _rewrite_local_uris(template: dict[str, Any]) -> None:
    """Replace local paths with placeholder S3 URIs the translator accepts (in place)."""
    globals_section = template.get("Globals")
    if isinstance(globals_section, dict):
        for resource_type, section in _GLOBALS_SECTION.items():
            props = globals_section.get(section)
            if not isinstance(props, dict):
                continue
            for prop in _LOCAL_URI_PROPERTIES[resource_type]:
                if _is_local_path(props.get(prop)):
                    props[prop] = _to_placeholder_uri(props[prop])

    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return
    for resource in resources.values():
        if not isinstance(resource, dict):
            continue
        props_names = _LOCAL_URI_PROPERTIES.get(str(resource.get("Type", "")))
        props = resource.get("Properties")
        if not props_names or not isinstance(props, dict):
            continue
        for prop in props_names:
            if _is_local_path(props.get(prop)):
                props[prop] = _to_placeholder_uri(props[prop])


def _partition(region: str) -> str:
    for prefix, partition in (
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-iso-", "aws-iso"),
        ("eusc-", "aws-eusc"),
    ):
        if region.startswith(prefix):
            return partition
    return "aws"


def _managed_policy_names(template: Mapping[str, Any]) -> set[str]:
    """Plain policy names in ``Policies`` (functions, state machines, their Globals)."""
    names: set[str] = set()

    def collect(props: Any) -> None:
        if not isinstance(props, Mapping):
            return
        policies = props.get("Policies")
        entries = policies if isinstance(policies, list) else [policies]
        names.update(e for e in entries if isinstance(e, str) and not e.startswith("arn:"))

    globals_section = template.get("Globals")
    if isinstance(globals_section, Mapping):
        for section in globals_section.values():
            collect(section)
    resources = template.get("Resources")
    if isinstance(resources, Mapping):
        for resource in resources.values():
            if isinstance(resource, Mapping):
                collect(resource.get("Properties"))
    return names


class OfflineManagedPolicyLoader:
    """Stands in for samtranslator's IAM-backed ``ManagedPolicyLoader``: no IAM call.

    samtranslator first consults its bundled name -> ARN map; this loader is only the fallback for
    names missing from it, and answers with the ARN AWS uses for its managed policies.
    """

    def __init__(self, names: set[str], partition: str = "aws") -> None:
        self._map = {name: self.arn_for(name, partition) for name in names}

    @staticmethod
    def arn_for(name: str, partition: str = "aws") -> str:
        path = "service-role/" if name in _SERVICE_ROLE_POLICIES else ""
        return f"arn:{partition}:iam::aws:policy/{path}{name}"

    def load(self) -> dict[str, str]:
        return dict(self._map)


@contextmanager
def _translator_region(region: str) -> Iterator[None]:
    """Point the translator at ``region``; restore the environment and class state afterwards."""
    from samtranslator.translator.arn_generator import ArnGenerator

    saved_env = os.environ.get("AWS_DEFAULT_REGION")
    saved_attr = ArnGenerator.BOTO_SESSION_REGION_NAME
    os.environ["AWS_DEFAULT_REGION"] = region
    ArnGenerator.BOTO_SESSION_REGION_NAME = region
    try:
        yield
    finally:
        ArnGenerator.BOTO_SESSION_REGION_NAME = saved_attr
        if saved_env is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved_env


def transform_template(
    template: Mapping[str, Any] | str | Path,
    *,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    parameter_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Expand a SAM template (dict or path) to plain CloudFormation, fully offline.

    The input is not modified. Intrinsics are kept as intrinsics (``{"Ref": ...}``,
    ``{"Fn::Sub": ...}``): resolving them is the deployer's job (CloudFormation or the local
    stack). Raises :class:`SamTransformError` listing every problem the translator found.
    """
    import boto3
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import (
        to_py27_compatible_template,
        undo_mark_unicode_str_in_template,
    )

    source = load_template(template) if isinstance(template, str | Path) else copy.deepcopy(dict(template))
    if "Transform" not in source:
        return source  # plain CloudFormation already

    _rewrite_local_uris(source)
    partition = _partition(region)
    loader = OfflineManagedPolicyLoader(_managed_policy_names(source), partition)
    params: dict[str, Any] = {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": partition,
        **(parameter_values or {}),
    }

    with _TRANSFORM_LOCK, _translator_region(region):
        # Same steps as samtranslator.translator.transform.transform (what CloudFormation runs),
        # with a session pinned to `region` and the offline policy loader.
        to_py27_compatible_template(source, params)
        translator = Translator(
            managed_policy_map=None,
            sam_parser=Parser(),
            boto_session=boto3.session.Session(region_name=region),
        )
        get_map: Callable[[], dict[str, str]] = loader.load
        try:
            result = translator.translate(source, parameter_values=params, get_managed_policy_map=get_map)
        except InvalidDocumentException as exc:
            raise SamTransformError([str(cause.message) for cause in exc.causes]) from exc
        return cast(dict[str, Any], undo_mark_unicode_str_in_template(result))
