"""A deployed Tailor stack's outputs (CloudFormation), for clients such as the CLI."""

from __future__ import annotations

from typing import Any

from tailor.adapters import aws


class StackNotFoundError(LookupError):
    pass


def stack_outputs(stack_name: str, cloudformation_client: Any | None = None) -> dict[str, str]:
    """``OutputKey → OutputValue`` of a deployed stack."""
    client = cloudformation_client or aws.client("cloudformation")
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
        if code == "ValidationError":  # CloudFormation's answer for an unknown stack name
            raise StackNotFoundError(f"no stack named {stack_name!r} in this account and region") from None
        raise
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
