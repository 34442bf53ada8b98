"""CloudFormation intrinsic functions, resolved the way CloudFormation resolves them.

The local stack creates resources from the offline-transformed template; every ``Ref``,
``Fn::GetAtt``, ``Fn::Sub``… is resolved here against the physical names and attributes of the
resources created so far, so a function's environment comes out exactly as it would when deployed.

Pure Python: no AWS call, no heavy import.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

__all__ = [
    "NO_VALUE",
    "PSEUDO_PARAMETERS",
    "Lookup",
    "Resolver",
    "TemplateError",
    "references",
]


class TemplateError(ValueError):
    """The template cannot be played locally; the message names the resource and property."""


class _NoValue:
    """``AWS::NoValue``: removes the property (or list item) that holds it."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Lookup(Protocol):
    """What the resolver asks the provisioner: a resource's ``Ref`` value and attributes."""

    def ref(self, logical_id: str) -> Any: ...

    def get_att(self, logical_id: str, attribute: str) -> Any: ...


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (key,) = value.keys()
    return key == "Ref" or (isinstance(key, str) and key.startswith("Fn::"))


def _sub_names(template: str) -> Iterable[str]:
    for match in _SUB_VARIABLE.finditer(template):
        name = match.group(1).strip()
        if name and not name.startswith("!"):
            yield name


def references(value: Any, resources: Iterable[str]) -> set[str]:
    """Logical ids of the resources that ``value`` refers to (Ref, GetAtt, Sub)."""
    known = set(resources)
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if _is_intrinsic(node):
                ((fn, arg),) = node.items()
                if fn == "Ref" and isinstance(arg, str) and arg in known:
                    found.add(arg)
                elif fn == "Fn::GetAtt":
                    target = arg.split(".", 1)[0] if isinstance(arg, str) else arg[0] if arg else None
                    if isinstance(target, str) and target in known:
                        found.add(target)
                elif fn == "Fn::Sub":
                    text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                    if isinstance(text, str):
                        for name in _sub_names(text):
                            if name in variables:
                                continue
                            head = name.split(".", 1)[0]
                            if head in known:
                                found.add(head)
                    walk(variables)
                    return
                walk(arg)
                return
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(value)
    return found


def _strip_no_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_no_value(v) for k, v in value.items() if v is not NO_VALUE}
    if isinstance(value, list):
        return [_strip_no_value(v) for v in value if v is not NO_VALUE]
    return value


def _as_string(value: Any, where: str, what: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TemplateError(f"{where}: {what} must resolve to a string, got {type(value).__name__} {value!r}")


class Resolver:
    """Resolves intrinsics in template values. ``where`` strings name the property in errors."""

    def __init__(
        self,
        template: Mapping[str, Any],
        lookup: Lookup,
        *,
        stack_name: str,
        region: str,
        account_id: str,
        partition: str = "aws",
        parameter_values: Mapping[str, Any] | None = None,
    ) -> None:
        self.template = template
        self.lookup = lookup
        self.resource_ids = frozenset((template.get("Resources") or {}).keys())
        self.pseudo: dict[str, Any] = {
            "AWS::AccountId": account_id,
            "AWS::NotificationARNs": [],
            "AWS::Partition": partition,
            "AWS::Region": region,
            "AWS::StackId": (
                f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}"
                "/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::StackName": stack_name,
            "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        }
        self.parameters = self._parameters(parameter_values or {})
        self._conditions: dict[str, bool] = {}
        self._evaluating: set[str] = set()

    # -- parameters and conditions ---------------------------------------------------------------

    def _parameters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        declared: Mapping[str, Any] = self.template.get("Parameters") or {}
        unknown = sorted(set(given) - set(declared) - PSEUDO_PARAMETERS)
        if unknown:
            raise TemplateError(f"Parameters: values given for undeclared parameters {unknown}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name in given:
                raw = given[name]
            elif "Default" in spec:
                raw = spec["Default"]
            else:
                raise TemplateError(f"Parameters.{name}: no value given and no Default")
            kind = str(spec.get("Type", "String"))
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                values[name] = (
                    [part.strip() for part in raw.split(",")] if isinstance(raw, str) else list(raw)
                )
            else:
                values[name] = _as_string(raw, f"Parameters.{name}", "the value")
            allowed = spec.get("AllowedValues")
            if (
                allowed is not None
                and isinstance(values[name], str)
                and values[name] not in map(str, allowed)
            ):
                raise TemplateError(
                    f"Parameters.{name}: {values[name]!r} is not one of the AllowedValues {allowed}"
                )
        return values

    def condition(self, name: str) -> bool:
        if name in self._conditions:
            return self._conditions[name]
        conditions: Mapping[str, Any] = self.template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"Conditions: {name!r} is not declared")
        if name in self._evaluating:
            raise TemplateError(f"Conditions.{name}: refers to itself")
        self._evaluating.add(name)
        try:
            result = self._condition_value(conditions[name], f"Conditions.{name}")
        finally:
            self._evaluating.discard(name)
        self._conditions[name] = result
        return result

    def _condition_value(self, node: Any, where: str) -> bool:
        if isinstance(node, bool):
            return node
        if isinstance(node, str) and node.lower() in ("true", "false"):
            return node.lower() == "true"
        if isinstance(node, Mapping) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Condition":
                return self.condition(str(arg))
            if fn == "Fn::Equals":
                left, right = (self.resolve(v, where) for v in arg)
                return bool(_as_string(left, where, "Fn::Equals") == _as_string(right, where, "Fn::Equals"))
            if fn == "Fn::Not":
                return not self._condition_value(arg[0], where)
            if fn == "Fn::And":
                return all(self._condition_value(v, where) for v in arg)
            if fn == "Fn::Or":
                return any(self._condition_value(v, where) for v in arg)
        raise TemplateError(f"{where}: not a condition: {node!r}")

    # -- resolution -------------------------------------------------------------------------------

    def resolve(self, value: Any, where: str) -> Any:
        """Resolve every intrinsic in ``value``; ``AWS::NoValue`` removes its key or item."""
        return _strip_no_value(self._resolve(value, where))

    def _resolve(self, value: Any, where: str) -> Any:
        if isinstance(value, Mapping):
            if _is_intrinsic(value):
                ((fn, arg),) = value.items()
                return self._intrinsic(fn, arg, where)
            return {k: self._resolve(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self._resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    def _intrinsic(self, fn: str, arg: Any, where: str) -> Any:
        handler: Callable[[Any, str], Any] | None = getattr(self, "_fn_" + fn.removeprefix("Fn::"), None)
        if handler is None:
            raise TemplateError(f"{where}: {fn} is not supported by the local stack")
        return handler(arg, f"{where}")

    def ref(self, name: str, where: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resource_ids:
            try:
                return self.lookup.ref(name)
            except TemplateError as error:
                raise TemplateError(f"{where}: {error}") from None
        raise TemplateError(f"{where}: Ref to unknown name {name!r}")

    def _fn_Ref(self, arg: Any, where: str) -> Any:  # noqa: N802
        name = self._resolve(arg, where)
        if not isinstance(name, str):
            raise TemplateError(f"{where}: Ref needs a name, got {name!r}")
        return self.ref(name, where)

    def get_att(self, logical_id: str, attribute: str, where: str) -> Any:
        if logical_id not in self.resource_ids:
            raise TemplateError(f"{where}: Fn::GetAtt of unknown resource {logical_id!r}")
        try:
            return self.lookup.get_att(logical_id, attribute)
        except TemplateError as error:
            raise TemplateError(f"{where}: {error}") from None

    def _fn_GetAtt(self, arg: Any, where: str) -> Any:  # noqa: N802
        if isinstance(arg, str):
            logical_id, _, attribute = arg.partition(".")
        elif isinstance(arg, list) and len(arg) == 2:
            logical_id = arg[0]
            attribute = self._resolve(arg[1], where)
        else:
            raise TemplateError(f"{where}: Fn::GetAtt needs [resource, attribute], got {arg!r}")
        if not isinstance(logical_id, str) or not isinstance(attribute, str) or not attribute:
            raise TemplateError(f"{where}: Fn::GetAtt needs [resource, attribute], got {arg!r}")
        return self.get_att(logical_id, attribute, where)

    def _fn_Sub(self, arg: Any, where: str) -> str:  # noqa: N802
        if isinstance(arg, str):
            text, variables = arg, {}
        elif isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
            text, variables = arg[0], self._resolve(arg[1], where)
        else:
            raise TemplateError(f"{where}: Fn::Sub needs a string or [string, variables], got {arg!r}")

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _as_string(variables[name], where, f"Fn::Sub variable {name}")
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return _as_string(self.get_att(logical_id, attribute, where), where, f"${{{name}}}")
            return _as_string(self.ref(name, where), where, f"${{{name}}}")

        return _SUB_VARIABLE.sub(substitute, text)

    def _fn_Join(self, arg: Any, where: str) -> str:  # noqa: N802
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(f"{where}: Fn::Join needs [delimiter, list], got {arg!r}")
        delimiter = self._resolve(arg[0], where)
        items = self._resolve(arg[1], where)
        if not isinstance(items, list):
            raise TemplateError(f"{where}: Fn::Join needs a list, got {items!r}")
        return _as_string(delimiter, where, "Fn::Join delimiter").join(
            _as_string(item, where, "Fn::Join item") for item in items if item is not NO_VALUE
        )

    def _fn_Select(self, arg: Any, where: str) -> Any:  # noqa: N802
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(f"{where}: Fn::Select needs [index, list], got {arg!r}")
        index = int(_as_string(self._resolve(arg[0], where), where, "Fn::Select index"))
        items = self._resolve(arg[1], where)
        if not isinstance(items, list) or not 0 <= index < len(items):
            raise TemplateError(f"{where}: Fn::Select index {index} out of range for {items!r}")
        return items[index]

    def _fn_Split(self, arg: Any, where: str) -> list[str]:  # noqa: N802
        if not isinstance(arg, list) or len(arg) != 2:
            raise TemplateError(f"{where}: Fn::Split needs [delimiter, string], got {arg!r}")
        delimiter = _as_string(self._resolve(arg[0], where), where, "Fn::Split delimiter")
        return _as_string(self._resolve(arg[1], where), where, "Fn::Split source").split(delimiter)

    def _fn_If(self, arg: Any, where: str) -> Any:  # noqa: N802
        if not isinstance(arg, list) or len(arg) != 3 or not isinstance(arg[0], str):
            raise TemplateError(f"{where}: Fn::If needs [condition, if-true, if-false], got {arg!r}")
        return self._resolve(arg[1] if self.condition(arg[0]) else arg[2], where)

    def _fn_Equals(self, arg: Any, where: str) -> bool:  # noqa: N802
        return self._condition_value({"Fn::Equals": arg}, where)

    def _fn_Not(self, arg: Any, where: str) -> bool:  # noqa: N802
        return self._condition_value({"Fn::Not": arg}, where)

    def _fn_And(self, arg: Any, where: str) -> bool:  # noqa: N802
        return self._condition_value({"Fn::And": arg}, where)

    def _fn_Or(self, arg: Any, where: str) -> bool:  # noqa: N802
        return self._condition_value({"Fn::Or": arg}, where)

    def _fn_FindInMap(self, arg: Any, where: str) -> Any:  # noqa: N802
        if not isinstance(arg, list) or len(arg) not in (3, 4):
            raise TemplateError(f"{where}: Fn::FindInMap needs [map, key, key], got {arg!r}")
        names = [_as_string(self._resolve(a, where), where, "Fn::FindInMap key") for a in arg[:3]]
        mappings: Mapping[str, Any] = self.template.get("Mappings") or {}
        try:
            return self._resolve(mappings[names[0]][names[1]][names[2]], where)
        except (KeyError, TypeError):
            if len(arg) == 4 and isinstance(arg[3], Mapping) and "DefaultValue" in arg[3]:
                return self._resolve(arg[3]["DefaultValue"], where)
            raise TemplateError(f"{where}: Fn::FindInMap {names} not found in Mappings") from None

    def _fn_Base64(self, arg: Any, where: str) -> str:  # noqa: N802
        text = _as_string(self._resolve(arg, where), where, "Fn::Base64 input")
        return base64.b64encode(text.encode()).decode()

    def _fn_GetAZs(self, arg: Any, where: str) -> list[str]:  # noqa: N802
        region = self._resolve(arg, where) or self.pseudo["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _fn_ToJsonString(self, arg: Any, where: str) -> str:  # noqa: N802
        return json.dumps(self.resolve(arg, where), separators=(",", ":"))

    def _fn_Length(self, arg: Any, where: str) -> int:  # noqa: N802
        items = self._resolve(arg, where)
        if not isinstance(items, list):
            raise TemplateError(f"{where}: Fn::Length needs a list, got {items!r}")
        return len(items)

    def _fn_ImportValue(self, arg: Any, where: str) -> Any:  # noqa: N802
        raise TemplateError(
            f"{where}: Fn::ImportValue reads another stack's exports; the local stack plays one stack only"
        )
