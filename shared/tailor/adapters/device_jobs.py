"""The AWS IoT Jobs data plane (``iot-jobs-data``) client a device agent talks to.

SigV4 credentials come from boto3's usual chain (on a device: e.g. the IoT credentials provider
with a role alias); ``credentials`` is for the local stand-in, which ignores them.
"""

from __future__ import annotations

from typing import Any


def jobs_data_client(
    region: str, endpoint_url: str | None = None, credentials: tuple[str, str] | None = None
) -> Any:
    import boto3

    key_id, secret = credentials if credentials else (None, None)
    return boto3.client(
        "iot-jobs-data",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )
