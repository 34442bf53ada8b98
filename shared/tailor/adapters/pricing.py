"""Training prices from the AWS Price List API (``pricing`` client, endpoint in us-east-1).

A price source is optional and never fatal: any error (no permission, throttling, an unexpected
document) gives an empty result and a logged warning, and the estimate falls back to the catalog
and ``TRAINING_PRICES_JSON`` (``tailor.jobs.pricing.price_table``). Which Price List attributes
name Nova's *customization training* dimension is not documented (aws-facts §4b): the parser
matches defensively and skips what it cannot read.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from tailor.jobs.catalog import CUSTOMIZATION_REGION, UnknownModelError, resolve_model

logger = logging.getLogger(__name__)

PRICING_ENDPOINT_REGION = "us-east-1"  # the Price List API answers from us-east-1 (and ap-south-1)
SERVICE_CODE = "AmazonBedrock"
MAX_PAGES = 50  # the AmazonBedrock offer is a few hundred products: a runaway pager stops here
_MODEL_ATTRIBUTES = ("model", "modelName", "titanModel")
_KIND_ATTRIBUTES = ("usagetype", "feature", "inferenceType", "operation")


class PriceListSource(Protocol):
    def training_prices(self) -> dict[str, float]:
        """Bedrock base model id -> USD per 1K training tokens; empty when nothing is known."""
        ...


class InMemoryPriceList:
    """A fixed price source for tests and the local stack."""

    def __init__(self, prices: Mapping[str, float] | None = None) -> None:
        self.prices = dict(prices or {})
        self.calls = 0

    def training_prices(self) -> dict[str, float]:
        self.calls += 1
        return dict(self.prices)


class AwsPriceList:
    """Reads ``get_products(ServiceCode="AmazonBedrock")`` for the customization region, once."""

    def __init__(self, client: Any | None = None, region: str = CUSTOMIZATION_REGION) -> None:
        self._client = client
        self.region = region
        self._cache: dict[str, float] | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from tailor.adapters.aws import client

            self._client = client("pricing", region=PRICING_ENDPOINT_REGION)
        return self._client

    def training_prices(self) -> dict[str, float]:
        if self._cache is None:
            try:
                self._cache = parse_training_prices(self._documents())
            except Exception as error:  # never fatal: the estimate has other sources
                logger.warning("AWS Price List unavailable, using configured prices: %s", error)
                self._cache = {}
        return dict(self._cache)

    def _documents(self) -> Iterable[str | Mapping[str, Any]]:
        request: dict[str, Any] = {
            "ServiceCode": SERVICE_CODE,
            "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": self.region}],
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        }
        documents: list[str | Mapping[str, Any]] = []
        for _ in range(MAX_PAGES):
            page = self.client.get_products(**request)
            documents.extend(page.get("PriceList", []))
            token = page.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
        return documents


def parse_training_prices(documents: Iterable[str | Mapping[str, Any]]) -> dict[str, float]:
    """Price List product documents (JSON strings, as ``get_products`` returns them) -> the
    training price per 1K tokens of every Nova model found. Unreadable documents are skipped.
    Two prices for one model keep the higher: an estimate that guards a budget errs high."""
    prices: dict[str, float] = {}
    for raw in documents:
        try:
            found = _training_price(json.loads(raw) if isinstance(raw, str | bytes) else raw)
        except (ValueError, TypeError, AttributeError) as error:
            logger.warning("skipping an unreadable Price List document: %s", error)
            continue
        if found is not None:
            model_id, usd = found
            prices[model_id] = max(usd, prices.get(model_id, 0.0))
    return prices


def _training_price(document: Mapping[str, Any]) -> tuple[str, float] | None:
    attributes = document.get("product", {}).get("attributes", {})
    if not isinstance(attributes, Mapping):
        return None
    model_id = _model_id(attributes)
    if model_id is None:
        return None
    kind = " ".join(str(attributes.get(name, "")) for name in _KIND_ATTRIBUTES)
    for dimension in _dimensions(document):
        text = f"{kind} {dimension.get('description', '')}".lower()
        if "train" not in text or "storage" in text:
            continue  # inference, storage or provisioned throughput: not the training price
        per_1k = _per_1k(str(dimension.get("unit", "")), str(dimension.get("description", "")))
        usd = _usd(dimension.get("pricePerUnit", {}))
        if per_1k is not None and usd is not None:
            return model_id, usd * per_1k
    return None


def _model_id(attributes: Mapping[str, Any]) -> str | None:
    for name in _MODEL_ATTRIBUTES:
        value = attributes.get(name)
        if not isinstance(value, str) or not value.strip():
            continue
        candidate = value.strip()
        if candidate.lower().startswith("amazon "):
            candidate = candidate[len("amazon ") :]
        try:
            return resolve_model(candidate).model_id
        except UnknownModelError:
            return None  # a model of another family (Titan, Llama ...)
    return None


def _dimensions(document: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    on_demand = document.get("terms", {}).get("OnDemand", {})
    for term in on_demand.values() if isinstance(on_demand, Mapping) else ():
        dimensions = term.get("priceDimensions", {}) if isinstance(term, Mapping) else {}
        for dimension in dimensions.values() if isinstance(dimensions, Mapping) else ():
            if isinstance(dimension, Mapping):
                yield dimension


def _per_1k(unit: str, description: str) -> float | None:
    """Factor from the dimension's unit to "per 1K tokens" (the unit first, then the description);
    None when neither is clear."""
    for text in (unit, description):
        squeezed = text.lower().replace(",", "").replace(" ", "")
        if "1mtokens" in squeezed or "milliontokens" in squeezed or squeezed in {"1m", "mtokens"}:
            return 1 / 1000
        if "1ktokens" in squeezed or "1000tokens" in squeezed or squeezed in {"1k", "ktokens"}:
            return 1.0
    return None  # a bare "tokens" could be per token or per 1K: refuse to guess


def _usd(price_per_unit: object) -> float | None:
    if not isinstance(price_per_unit, Mapping):
        return None
    try:
        usd = float(price_per_unit.get("USD", ""))
    except ValueError:
        return None
    return usd if math.isfinite(usd) and usd > 0 else None
