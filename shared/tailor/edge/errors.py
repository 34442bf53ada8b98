"""Why an edge export stopped: a stage, a stable code, a message a person can act on.

``ExportError`` is a finding about the model or the request (→ ``EdgeExportFailed``). Transient
AWS trouble is not an ``ExportError``: it fails the message so that it is retried.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Stage(StrEnum):
    REQUEST = "request"  # the trigger itself (no model, unknown profile, bad targets)
    DOWNLOAD = "download"
    CHECK = "check"  # onnx.checker, IR/opset, inputs/outputs
    QUANTIZE = "quantize"
    FIDELITY = "fidelity"
    BUNDLE = "bundle"
    SIGN = "sign"
    ROLLOUT = "rollout"


class ExportError(Exception):
    def __init__(
        self,
        stage: Stage,
        code: str,
        message: str,
        *,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.stage = stage
        self.code = code
        self.message = message
        self.hint = hint
        # Measured numbers (fidelity per profile, sizes, ...) carried into EdgeExportFailed.
        self.details = details or {}
