"""What Bedrock charges to customize each Nova model: ONE dated, sourced table (docs/costs.md).

Pure data, imported by the model catalog (``tailor.jobs.catalog``). Logic never holds a price:
``tailor.jobs.pricing`` reads this table, then the overrides (``TRAINING_PRICES_JSON``, the AWS Price
List API). A price nobody could verify stays ``None``: the estimate then says "no price known"
instead of inventing a number.

Checked 2026-12-01 against what could be found (aws-facts §4b, the public Bedrock pricing pages,
Price List readings republished by third parties). AWS's own per-model Nova training prices were
not found in a form that could be verified, so only one value is filled in, and it is marked
unverified.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICES_AS_OF = "2026-12-01"
BEDROCK_PRICING_PAGE = "https://aws.amazon.com/bedrock/pricing/"


@dataclass(frozen=True, slots=True)
class ListedPrice:
    """Bedrock's price to train on 1,000 tokens (one epoch) for one base model, with provenance."""

    model_id: str  # the Bedrock base model id of tailor.jobs.catalog
    usd_per_1k_tokens: float | None  # None: no trustworthy price found
    source: str
    as_of: str
    verified: bool = False


# Keyed by the catalog's base model ids (tailor.jobs.catalog); the catalog re-exports this tuple.
TRAINING_PRICES: tuple[ListedPrice, ...] = (
    ListedPrice(
        model_id="amazon.nova-micro-v1:0:128k",
        usd_per_1k_tokens=None,
        source=f"not verified: no trustworthy price found (see {BEDROCK_PRICING_PAGE})",
        as_of=PRICES_AS_OF,
    ),
    ListedPrice(
        model_id="amazon.nova-lite-v1:0:300k",
        usd_per_1k_tokens=None,
        source=f"not verified: no trustworthy price found (see {BEDROCK_PRICING_PAGE})",
        as_of=PRICES_AS_OF,
    ),
    ListedPrice(
        model_id="amazon.nova-pro-v1:0:300k",
        usd_per_1k_tokens=None,
        source=f"not verified: no trustworthy price found (see {BEDROCK_PRICING_PAGE})",
        as_of=PRICES_AS_OF,
    ),
    ListedPrice(
        model_id="amazon.nova-2-lite-v1:0:256k",
        usd_per_1k_tokens=0.00378,
        source="third-party reading of the AWS Price List (AmazonBedrock, us-east-1), unverified",
        as_of="2026-11-29",
    ),
)

# Monthly fee per stored custom model. $1.95 is what Bedrock's pricing page showed for other
# customizable models (Titan, Cohere, Llama 2) in republished copies; not verified for Nova.
CUSTOM_MODEL_STORAGE_USD_PER_MONTH: float | None = 1.95
CUSTOM_MODEL_STORAGE_SOURCE = "republished copies of the Bedrock pricing page (other models), unverified"
