"""Custom resource ``Custom::KmsPublicKey``: CloudFormation cannot read a KMS public key, so this
function does (one ``kms:GetPublicKey``) and the stack outputs it as ``EdgeSigningPublicKey``.

The response goes to CloudFormation's presigned ``ResponseURL`` (what ``cfnresponse`` does for
inline code); a failure is reported, never left for CloudFormation to time out on.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import Any

from aws_lambda_powertools import Logger

from tailor.adapters import aws

logger = Logger()


def _respond(event: dict[str, Any], status: str, data: dict[str, str], reason: str = "") -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason or status,
            "PhysicalResourceId": event.get("PhysicalResourceId")
            or f"public-key-{event['LogicalResourceId']}",
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def public_key(key_id: str, kms: Any | None = None) -> str:
    """Base64 DER (SubjectPublicKeyInfo) of the key: what ``tailor device provision`` takes."""
    if kms is None:
        kms = aws.client("kms")
    return base64.b64encode(kms.get_public_key(KeyId=key_id)["PublicKey"]).decode()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> None:
    try:
        data = {}
        if event["RequestType"] != "Delete":
            data = {"PublicKey": public_key(str(event["ResourceProperties"]["KeyId"]))}
        _respond(event, "SUCCESS", data)
    except Exception as error:
        logger.exception("could not read the public key")
        _respond(event, "FAILED", {}, str(error)[:200])
