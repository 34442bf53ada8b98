"""Fleet targets as users write them (``thinggroup/kiosks``, ``thing/kiosk-7`` or a full IoT ARN)
and as IoT ``CreateJob`` wants them (ARNs)."""

from __future__ import annotations

import re

# IoT thing and thing-group names: 1-128 of [a-zA-Z0-9:_-].
_NAME = r"[a-zA-Z0-9:_-]{1,128}"
_SHORT = re.compile(rf"^(thinggroup|thing)/({_NAME})$")
_ARN = re.compile(rf"^arn:aws[a-z-]*:iot:[a-z0-9-]+:\d{{12}}:(thinggroup|thing)/({_NAME})$")


def target_problem(target: str) -> str | None:
    if _SHORT.match(target) or _ARN.match(target):
        return None
    return (
        f"target {target!r} is not thinggroup/NAME, thing/NAME or an IoT thing/thing-group ARN "
        "(names: letters, digits, ':', '_', '-')"
    )


def target_arn(target: str, *, region: str, account: str, partition: str = "aws") -> str:
    if _ARN.match(target):
        return target
    match = _SHORT.match(target)
    if not match:
        raise ValueError(target_problem(target))
    kind, name = match.groups()
    return f"arn:{partition}:iot:{region}:{account}:{kind}/{name}"


def target_name(target: str) -> tuple[str, str]:
    """(kind, name) of a target: ("thinggroup", "kiosks")."""
    match = _SHORT.match(target) or _ARN.match(target)
    if not match:
        raise ValueError(target_problem(target))
    kind, name = match.groups()
    return kind, name
