"""What a CPT run on HyperPod will cost: instance-hours x the instance price (docs/hyperpod.md).

HyperPod bills the cluster's instances by the hour, not Bedrock's per-token price. The estimate is
``tokens x epochs / (throughput per instance-hour x replicas)`` hours of wall time on ``replicas``
instances. Both the price and the throughput are assumptions, dated and sourced here and
overridable (``HyperPodInstancePriceUsd``); the estimate says so in its notes. Pure logic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tailor.events.models import CostEstimate

PRICE_PARAMETER = "HyperPodInstancePriceUsd"


@dataclass(frozen=True, slots=True)
class InstancePrice:
    usd_per_hour: float
    source: str
    as_of: str


# Unverified: no SageMaker HyperPod price was read from AWS here. The figure is EC2's p5.48xlarge
# on-demand rate in us-east-1 after AWS's June 2025 reduction; SageMaker's ml. rate may differ.
INSTANCE_PRICES: dict[str, InstancePrice] = {
    "ml.p5.48xlarge": InstancePrice(
        55.04, "unverified: EC2 p5.48xlarge on-demand, us-east-1, after the June 2025 price cut", "2025-06"
    ),
}

# Tokens one instance trains per hour, per model: an assumption (AWS publishes no Nova throughput;
# Nova's parameter counts are not public). Scaled so a smaller model trains faster.
TOKENS_PER_INSTANCE_HOUR: dict[str, int] = {
    "nova-micro": 400_000_000,
    "nova-lite": 150_000_000,
    "nova-2-lite": 150_000_000,
    "nova-pro": 40_000_000,
}
_DEFAULT_THROUGHPUT = 40_000_000  # the slowest known model: an estimate errs high, not low


def hyperpod_estimate(
    base: CostEstimate,
    *,
    model_alias: str,
    instance_type: str,
    replicas: int,
    price_override: float | None = None,
) -> CostEstimate:
    """``base`` (tokens and epochs from the Bedrock-style estimate) priced as HyperPod instance-hours."""
    throughput = TOKENS_PER_INSTANCE_HOUR.get(model_alias, _DEFAULT_THROUGHPUT)
    tokens = base.training_tokens * base.epochs
    wall_hours = max(tokens / (throughput * replicas), 0.0)
    # Billing starts with the instances; at least one hour is the honest floor for a real job.
    billed_hours = max(math.ceil(wall_hours * 10) / 10, 1.0)
    instance_hours = billed_hours * replicas
    known = INSTANCE_PRICES.get(instance_type)
    if price_override is not None:
        price: InstancePrice | None = InstancePrice(
            price_override, f"{PRICE_PARAMETER} (deployment configuration)", ""
        )
    else:
        price = known
    notes = [
        f"an estimate: {replicas} x {instance_type} for about {billed_hours:g} h = {instance_hours:g} "
        f"instance-hours, assuming {throughput:,} tokens per instance-hour for {model_alias} "
        "(an assumption: AWS publishes no Nova training throughput)",
        "SageMaker HyperPod bills the cluster's instances by the hour whether or not a job runs on "
        "them; this covers only the hours this run occupies",
        "not included: FSx for Lustre and S3 storage, and Provisioned Throughput to serve the "
        "imported full-rank model in Bedrock",
    ]
    if price is None:
        notes.append(f"no price is known for {instance_type}: set {PRICE_PARAMETER} (USD per instance-hour)")
        unknown = {"price_per_1k_tokens": None, "estimated_usd": None, "price_source": "no price known"}
        return base.model_copy(update={**unknown, "notes": notes})
    if price_override is None:
        notes.append(f"the instance price is {price.source}; set {PRICE_PARAMETER} for your rate")
    usd = round(instance_hours * price.usd_per_hour, 2)
    return base.model_copy(
        update={
            "price_per_1k_tokens": None,
            "estimated_usd": usd,
            "price_source": f"{instance_type} at ${price.usd_per_hour:g} per instance-hour ({price.source})",
            "price_as_of": price.as_of or None,
            "notes": notes,
        }
    )
