"""What a run's training will cost, known before anything is spent (docs/costs.md).

Pure logic: no boto3. Prices come from the catalog's dated, sourced table
(``tailor.jobs.prices``), overridden by ``TRAINING_PRICES_JSON`` (a template parameter passes it
through), then by the AWS Price List (``tailor.adapters.pricing``) where the caller gives one.
A price nobody knows stays unknown: the estimate says so instead of guessing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from tailor.events.models import CostEstimate
from tailor.jobs.catalog import (
    CPT_BACKEND_NOTE,
    CUSTOM_MODEL_STORAGE_SOURCE,
    CUSTOM_MODEL_STORAGE_USD_PER_MONTH,
    TRAINING_PRICES,
    NovaModel,
    Technique,
    UnknownModelError,
    UnknownTechniqueError,
    resolve_model,
)

if TYPE_CHECKING:
    from tailor.adapters.pricing import PriceListSource

PRICES_ENV = "TRAINING_PRICES_JSON"
OVERRIDE_SOURCE = f"{PRICES_ENV} (deployment configuration)"
PRICE_LIST_SOURCE = "AWS Price List API (AmazonBedrock, us-east-1)"
NO_PRICE_SOURCE = "no price known"
_EPOCHS = "epochCount"
_FALLBACK_EPOCHS = 1  # a model without an epochCount bound (never customizable): one pass


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per 1,000 training tokens (one epoch) for one base model, and where the number came from."""

    usd_per_1k_tokens: float | None
    source: str
    as_of: str
    verified: bool = False


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Training prices keyed by Bedrock base model id (``amazon.nova-lite-v1:0:300k``)."""

    prices: Mapping[str, ModelPrice] = field(default_factory=dict)

    def for_model(self, model: str | NovaModel) -> ModelPrice:
        """The price of ``model`` (alias or any id form); an unknown model or price has none."""
        try:
            model_id = resolve_model(model).model_id
        except UnknownModelError:
            return ModelPrice(None, NO_PRICE_SOURCE, "")
        return self.prices.get(model_id) or ModelPrice(None, NO_PRICE_SOURCE, "")


def catalog_prices() -> PriceTable:
    """The catalog's table, as shipped."""
    return PriceTable(
        {
            listed.model_id: ModelPrice(
                listed.usd_per_1k_tokens, f"catalog: {listed.source}", listed.as_of, listed.verified
            )
            for listed in TRAINING_PRICES
        }
    )


def price_table(override_json: str | None = None, price_list: PriceListSource | None = None) -> PriceTable:
    """Catalog defaults, overridden by ``override_json`` (the value of ``TRAINING_PRICES_JSON``:
    ``{"nova-lite": 0.002, "amazon.nova-micro-v1:0:128k": 0.001}``, USD per 1K training tokens,
    keys are aliases or Bedrock ids), then by ``price_list`` when given. A broken override is a
    ValueError naming the variable: a deployment must not silently fall back to other prices."""
    prices = dict(catalog_prices().prices)
    today = datetime.now(UTC).date().isoformat()
    if override_json is not None and override_json.strip():
        for model_id, usd in parse_overrides(override_json).items():
            prices[model_id] = ModelPrice(usd, OVERRIDE_SOURCE, today, verified=True)
    if price_list is not None:
        for name, usd in price_list.training_prices().items():
            try:
                model_id = resolve_model(name).model_id
            except UnknownModelError:
                continue  # a Price List entry for a model the catalog does not know
            if _valid_price(usd):
                prices[model_id] = ModelPrice(float(usd), PRICE_LIST_SOURCE, today, verified=True)
    return PriceTable(prices)


def parse_overrides(text: str) -> dict[str, float]:
    """``TRAINING_PRICES_JSON`` as {Bedrock model id: USD per 1K tokens}. Raises ValueError."""
    example = '{"nova-lite": 0.002}'
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{PRICES_ENV} is not valid JSON ({error}): write it like {example}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{PRICES_ENV} must be a JSON object of model -> USD per 1K tokens, like {example}")
    prices: dict[str, float] = {}
    for name, usd in document.items():
        try:
            model_id = resolve_model(name).model_id
        except UnknownModelError as error:
            raise ValueError(f"{PRICES_ENV}: {error}") from None
        if not _valid_price(usd):
            raise ValueError(
                f"{PRICES_ENV}: the price of {name!r} must be a positive number (USD per 1K training "
                f"tokens), got {usd!r}"
            )
        prices[model_id] = float(usd)
    return prices


def _valid_price(value: object) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def estimate_for_spec(
    *,
    technique: str,
    base_model: str,
    teacher_model: str | None,
    hyper_parameters: Mapping[str, int | float | str],
    training_tokens: int,
    prices: PriceTable,
) -> CostEstimate:
    """Training tokens x epochs x the model's price per 1K tokens, rounded to cents.

    Never raises for an odd spec (it runs on wire data a consumer must tolerate): an unknown model
    or price gives ``estimated_usd=None`` with a note saying why.
    """
    notes: list[str] = []
    try:
        model: NovaModel | None = resolve_model(base_model)
    except UnknownModelError:
        model = None
        notes.append(f"{base_model!r} is not a model in the catalog: no price known")
    epochs = _epochs(model, hyper_parameters, notes)
    price = prices.for_model(model) if model is not None else ModelPrice(None, NO_PRICE_SOURCE, "")
    try:
        kind: Technique | None = Technique.parse(technique)
    except UnknownTechniqueError:
        kind = None
    usd_per_1k = price.usd_per_1k_tokens
    if kind is Technique.CONTINUED_PRE_TRAINING:
        # HyperPod bills instance hours, not Bedrock's per-token price: no number would be honest.
        notes.append(CPT_BACKEND_NOTE)
        usd_per_1k = None
    elif usd_per_1k is None and model is not None:
        notes.append(
            f"no training price is known for {model.display_name}: set {PRICES_ENV} "
            f'(e.g. {{"{model.alias}": 0.002}}, USD per 1K tokens) to estimate it'
        )
    elif usd_per_1k is not None and not price.verified:
        notes.append(
            f"the price of {model.display_name if model else base_model} is unverified: {price.source}"
        )
    teacher_usd: float | None = None
    if kind is Technique.DISTILLATION:
        teacher = teacher_model or "the teacher"
        notes.append(
            f"distillation also bills {teacher}'s inference on the prompts (synthetic responses): "
            "not estimated, and not covered by the figure above"
        )
    storage = CUSTOM_MODEL_STORAGE_USD_PER_MONTH
    if kind is not Technique.CONTINUED_PRE_TRAINING and storage is not None:
        notes.append(
            f"not included: storing the custom model, about ${storage:.2f} a month "
            f"({CUSTOM_MODEL_STORAGE_SOURCE}), and inference on it"
        )
    estimated = None if usd_per_1k is None else _cents(training_tokens * epochs / 1000 * usd_per_1k)
    return CostEstimate(
        training_tokens=training_tokens,
        epochs=epochs,
        price_per_1k_tokens=usd_per_1k,
        estimated_usd=estimated,
        teacher_usd=teacher_usd,
        price_source=price.source if usd_per_1k is not None else NO_PRICE_SOURCE,
        price_as_of=(price.as_of or None) if usd_per_1k is not None else None,
        notes=notes,
    )


def _epochs(
    model: NovaModel | None, hyper_parameters: Mapping[str, int | float | str], notes: list[str]
) -> int:
    default = _FALLBACK_EPOCHS
    if model is not None:
        bound = next((b for b in model.hyperparameters if b.name == _EPOCHS), None)
        default = int(bound.default) if bound is not None else _FALLBACK_EPOCHS
    value = hyper_parameters.get(_EPOCHS)
    if value is None:
        return default
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not number.is_integer() or number < 1:
        notes.append(f"{_EPOCHS}={value!r} is not a whole number of epochs: estimated with {default}")
        return default
    return int(number)


def _cents(usd: float) -> float:
    # Half-up on the decimal value: float round() would turn 0.125 into 0.12.
    return float(Decimal(repr(usd)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def budget_verdict(estimate: CostEstimate, max_usd: float | None) -> str | None:
    """None when there is no budget or the estimate fits it; else why the run must not start.

    An unknown price with a budget refuses too: nobody can show the run stays within it.
    """
    if max_usd is None:
        return None
    if estimate.estimated_usd is None:
        return (
            f"no training price is known, so the run cannot be shown to stay within the budget of "
            f"${max_usd:,.2f} (maxTrainingCostUsd); set {PRICES_ENV} with the model's price per 1K "
            "tokens, or remove the budget"
        )
    if estimate.estimated_usd > max_usd:
        return (
            f"estimated ${estimate.estimated_usd:,.2f} for training exceeds the budget of ${max_usd:,.2f} "
            "(maxTrainingCostUsd); raise the budget or reduce epochs/data"
        )
    return None
