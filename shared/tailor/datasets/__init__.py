"""Dataset validation engine: one engine for the ingestion Lambda and ``tailor validate``.

Streams local files and S3 objects in chunks (constant memory), checks every Nova rule for the
technique and model (aws-facts §3), and returns a ``ValidationReport``. Importing this package
pulls in pydantic and orjson only: no boto3, rich or typer (it runs in a Lambda cold start).
"""

from tailor.datasets.codes import IssueCode
from tailor.datasets.engine import validate_dataset
from tailor.datasets.report import FileCount, TokenEstimate, ValidationIssue, ValidationReport
from tailor.datasets.source import DatasetSource

__all__ = [
    "DatasetSource",
    "FileCount",
    "IssueCode",
    "TokenEstimate",
    "ValidationIssue",
    "ValidationReport",
    "validate_dataset",
]
