"""A deployed Tailor stack's outputs (CloudFormation), for clients such as the CLI."""

from __future__ import annotations

from typing import Any

from tailor.adapters import aws


class StackNotFoundError(LookupError):
    pass


class StackAccessError(RuntimeError):
    """The stack cannot be read: no region, no credentials, or AWS refused the call. ``kind`` says
    which (``region``, ``credentials``, ``profile``, ``denied``, ``network``), so a client can say
    how to fix it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# AWS error codes that mean "your credentials are not good", not "the stack is missing".
_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
    }
)


def stack_outputs(stack_name: str, cloudformation_client: Any | None = None) -> dict[str, str]:
    """``OutputKey → OutputValue`` of a deployed stack.

    Raises StackNotFoundError for an unknown stack and StackAccessError when it cannot be asked
    (no region, no or bad credentials, access denied, no network)."""
    from botocore import exceptions as boto

    try:
        client = cloudformation_client or aws.client("cloudformation")
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except boto.NoRegionError:
        raise StackAccessError("region", "no AWS region") from None
    except boto.ProfileNotFound as error:
        raise StackAccessError("profile", str(error)) from None
    except (boto.NoCredentialsError, boto.PartialCredentialsError):
        raise StackAccessError("credentials", "no AWS credentials found") from None
    except boto.EndpointConnectionError as error:
        raise StackAccessError("network", str(error)) from None
    except boto.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        if code == "ValidationError":  # CloudFormation's answer for an unknown stack name
            raise StackNotFoundError(f"no stack named {stack_name!r} in this account and region") from None
        if code in _CREDENTIAL_CODES:
            raise StackAccessError(
                "credentials", f"AWS refused the credentials ({code}: {message})"
            ) from None
        if code in ("AccessDenied", "AccessDeniedException"):
            raise StackAccessError("denied", f"{code}: {message}") from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
