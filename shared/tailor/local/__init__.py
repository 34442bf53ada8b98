"""The embedded local stack: moto server, template-driven provisioner, in-process Lambda dispatcher.

``from tailor.local import LocalStack`` — importing this package stays cheap: moto, boto3, yaml and
rich are imported only when a stack starts (or the demo runs). See ``docs/local-stack.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tailor.local.dispatcher import DispatcherTimeoutError, IdleSummary
    from tailor.local.intrinsics import TemplateError
    from tailor.local.stack import LocalStack, LocalStackError
    from tailor.local.summary import StackSummary

__all__ = [
    "DispatcherTimeoutError",
    "IdleSummary",
    "LocalStack",
    "LocalStackError",
    "StackSummary",
    "TemplateError",
]

_EXPORTS = {
    "DispatcherTimeoutError": "tailor.local.dispatcher",
    "IdleSummary": "tailor.local.dispatcher",
    "TemplateError": "tailor.local.intrinsics",
    "LocalStack": "tailor.local.stack",
    "LocalStackError": "tailor.local.stack",
    "StackSummary": "tailor.local.summary",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tailor.local' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
