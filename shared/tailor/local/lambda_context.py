"""The context object Lambda passes to a Python handler (in-process and in worker processes).

Kept apart from the dispatcher so a worker process imports nothing but this and the handler.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

__all__ = ["LambdaContext"]


class FunctionLike(Protocol):
    name: str
    arn: str
    memory_size: int
    timeout: int


class LambdaContext:
    """What ``context`` offers a handler on AWS: names, memory, request id and the time left."""

    def __init__(self, function: FunctionLike, *, request_id: str | None = None) -> None:
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.arn
        self.memory_limit_in_mb = function.memory_size
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        self.identity: Any = None
        self.client_context: Any = None
        self.tenant_id: str | None = None
        self._deadline = time.monotonic() + function.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
