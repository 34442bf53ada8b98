"""Cost before spending: the price table, its overrides, the estimate's arithmetic, the Price
List parser and the budget verdict (issue 7, item 6)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tailor.adapters.pricing import AwsPriceList, InMemoryPriceList, parse_training_prices
from tailor.events.models import CostEstimate
from tailor.jobs.catalog import MODELS, TRAINING_PRICES, listed_price
from tailor.jobs.pricing import (
    NO_PRICE_SOURCE,
    OVERRIDE_SOURCE,
    PRICE_LIST_SOURCE,
    budget_verdict,
    catalog_prices,
    estimate_for_spec,
    price_table,
)

LITE = "amazon.nova-lite-v1:0:300k"
MICRO = "amazon.nova-micro-v1:0:128k"
NOVA_2_LITE = "amazon.nova-2-lite-v1:0:256k"


def estimate(
    *,
    technique: str = "fine-tuning",
    base_model: str = "nova-lite",
    teacher_model: str | None = None,
    hyper_parameters: dict[str, int | float | str] | None = None,
    training_tokens: int = 1_000_000,
    prices: str | None = '{"nova-lite": 0.002}',
) -> CostEstimate:
    return estimate_for_spec(
        technique=technique,
        base_model=base_model,
        teacher_model=teacher_model,
        hyper_parameters=hyper_parameters or {},
        training_tokens=training_tokens,
        prices=price_table(prices),
    )


# --- the table -------------------------------------------------------------------------------


def test_every_customizable_model_has_a_dated_sourced_entry() -> None:
    customizable = {m.model_id for m in MODELS if m.techniques}
    assert {p.model_id for p in TRAINING_PRICES} == customizable
    for price in TRAINING_PRICES:
        assert price.source and price.as_of
        # Nothing here was verified against AWS: an unverified price must say so in its source.
        assert price.verified or price.usd_per_1k_tokens is None or "unverified" in price.source


def test_unverified_prices_are_none_unless_a_reading_exists() -> None:
    assert listed_price("nova-lite") is not None
    assert catalog_prices().for_model("nova-lite").usd_per_1k_tokens is None
    assert catalog_prices().for_model("nova-2-lite").usd_per_1k_tokens == 0.00378
    assert catalog_prices().for_model("no-such-model").source == NO_PRICE_SOURCE


# --- overrides -------------------------------------------------------------------------------


def test_override_json_by_alias_and_by_id() -> None:
    table = price_table('{"nova-lite": 0.002, "amazon.nova-micro-v1:0:128k": 0.001}')
    assert table.for_model(LITE).usd_per_1k_tokens == 0.002
    assert table.for_model("Nova Micro").usd_per_1k_tokens == 0.001
    assert table.for_model("nova-lite").source == OVERRIDE_SOURCE
    assert table.for_model("nova-pro").usd_per_1k_tokens is None  # untouched: still the catalog


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{nova-lite: 1}", "TRAINING_PRICES_JSON is not valid JSON"),
        ("[0.002]", "TRAINING_PRICES_JSON must be a JSON object"),
        ('{"gpt-4": 0.002}', "TRAINING_PRICES_JSON: unknown model 'gpt-4'"),
        ('{"nova-lite": "0.002"}', "must be a positive number"),
        ('{"nova-lite": -1}', "must be a positive number"),
        ('{"nova-lite": true}', "must be a positive number"),
    ],
)
def test_a_bad_override_is_a_clear_value_error(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match="TRAINING_PRICES_JSON") as caught:
        price_table(text)
    assert needle in str(caught.value)


def test_an_empty_override_is_no_override() -> None:
    assert price_table("  ") == catalog_prices()


def test_the_price_list_overrides_the_json() -> None:
    source = InMemoryPriceList({"nova-lite": 0.004, "titan-text": 9.0})
    table = price_table('{"nova-lite": 0.002}', price_list=source)
    assert table.for_model("nova-lite").usd_per_1k_tokens == 0.004
    assert table.for_model("nova-lite").source == PRICE_LIST_SOURCE
    assert source.calls == 1


def test_an_empty_price_list_keeps_the_other_prices() -> None:
    table = price_table('{"nova-lite": 0.002}', price_list=InMemoryPriceList())
    assert table.for_model("nova-lite").usd_per_1k_tokens == 0.002


# --- arithmetic ------------------------------------------------------------------------------


def test_tokens_times_epochs_times_price() -> None:
    result = estimate(hyper_parameters={"epochCount": 3}, training_tokens=1_234_567)
    assert result.epochs == 3
    assert result.price_per_1k_tokens == 0.002
    assert result.estimated_usd == 7.41  # 1,234,567 x 3 / 1000 x 0.002 = 7.407402
    assert result.price_source == OVERRIDE_SOURCE
    assert result.price_as_of


def test_rounding_is_half_up_to_cents() -> None:
    # 62,500 x 1 / 1000 x 0.002 = 0.125 exactly: round() would give 0.12.
    assert estimate(hyper_parameters={"epochCount": 1}, training_tokens=62_500).estimated_usd == 0.13
    assert estimate(hyper_parameters={"epochCount": 1}, training_tokens=1).estimated_usd == 0.0


def test_epochs_default_to_the_catalog() -> None:
    result = estimate()
    assert result.epochs == 2  # the catalog default for Nova Lite
    assert result.estimated_usd == 4.0


@pytest.mark.parametrize(("value", "epochs"), [("4", 4), ("4.0", 4), (5, 5), (1.0, 1)])
def test_epochs_from_a_number_or_a_numeric_string(value: int | float | str, epochs: int) -> None:
    assert estimate(hyper_parameters={"epochCount": value}).epochs == epochs


@pytest.mark.parametrize("value", ["two", "2.5", 0, "nan"])
def test_a_bad_epoch_count_falls_back_to_the_default_with_a_note(value: int | float | str) -> None:
    result = estimate(hyper_parameters={"epochCount": value})
    assert result.epochs == 2
    assert any("epochCount" in note for note in result.notes)


def test_an_unknown_price_gives_no_number_and_says_how_to_get_one() -> None:
    result = estimate(base_model="nova-pro", prices=None)
    assert result.price_per_1k_tokens is None and result.estimated_usd is None
    assert result.price_source == NO_PRICE_SOURCE and result.price_as_of is None
    assert any("TRAINING_PRICES_JSON" in note and "nova-pro" in note for note in result.notes)


def test_an_unverified_catalog_price_is_flagged() -> None:
    result = estimate(base_model="nova-2-lite", prices=None, training_tokens=1_000_000)
    assert result.estimated_usd == 7.56  # 1,000,000 x 2 / 1000 x 0.00378
    assert any("unverified" in note for note in result.notes)


def test_an_unknown_model_never_raises() -> None:
    result = estimate(base_model="nova-ultra")
    assert result.estimated_usd is None and result.epochs == 1
    assert any("nova-ultra" in note for note in result.notes)


def test_distillation_leaves_the_teacher_unknown() -> None:
    result = estimate(technique="distillation", teacher_model="nova-premier")
    assert result.estimated_usd == 4.0
    assert result.teacher_usd is None
    assert any("nova-premier" in note and "not estimated" in note for note in result.notes)


def test_cpt_is_not_priced_as_bedrock() -> None:
    result = estimate(technique="continued-pre-training")
    assert result.estimated_usd is None
    assert any("HyperPod" in note for note in result.notes)


def test_the_estimate_is_the_wire_model() -> None:
    wire = estimate().to_wire()
    assert wire["trainingTokens"] == 1_000_000 and wire["estimatedUsd"] == 4.0
    assert CostEstimate.model_validate(wire) == estimate()


# --- budget ----------------------------------------------------------------------------------


def test_no_budget_or_within_budget_is_no_verdict() -> None:
    assert budget_verdict(estimate(), None) is None
    assert budget_verdict(estimate(), 4.0) is None  # equal is within
    assert budget_verdict(estimate(prices=None), None) is None


def test_over_budget_says_by_how_much_and_what_to_do() -> None:
    assert budget_verdict(estimate(), 3.5) == (
        "estimated $4.00 for training exceeds the budget of $3.50 (maxTrainingCostUsd); "
        "raise the budget or reduce epochs/data"
    )


def test_an_unknown_price_with_a_budget_refuses() -> None:
    verdict = budget_verdict(estimate(base_model="nova-pro", prices=None), 100.0)
    assert verdict is not None
    assert "$100.00" in verdict and "TRAINING_PRICES_JSON" in verdict and "remove the budget" in verdict


# --- the Price List --------------------------------------------------------------------------


def product(model: str, usagetype: str, unit: str, usd: str, description: str) -> str:
    """One ``get_products`` PriceList entry, shaped like the real documents (a JSON string)."""
    return json.dumps(
        {
            "product": {
                "productFamily": "Amazon Bedrock",
                "attributes": {
                    "regionCode": "us-east-1",
                    "servicecode": "AmazonBedrock",
                    "usagetype": usagetype,
                    "location": "US East (N. Virginia)",
                    "locationType": "AWS Region",
                    "model": model,
                    "provider": "Amazon",
                    "operation": "Usage",
                    "servicename": "Amazon Bedrock",
                },
                "sku": "ABCDEFGH12345678",
            },
            "serviceCode": "AmazonBedrock",
            "terms": {
                "OnDemand": {
                    "ABCDEFGH12345678.JRTCKXETXF": {
                        "priceDimensions": {
                            "ABCDEFGH12345678.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": description,
                                "appliesTo": [],
                                "rateCode": "ABCDEFGH12345678.JRTCKXETXF.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": "ABCDEFGH12345678",
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


SAMPLE = [
    product("Nova Lite", "USE1-NovaLite-input-tokens", "1K tokens", "0.0000600000", "$0.00006 per 1K input"),
    product(
        "Nova 2 Lite",
        "USE1-Nova2Lite-Customization-Training",
        "1K tokens",
        "0.0037800000",
        "$0.00378 per 1K tokens for Nova 2 Lite model customization training",
    ),
    product(
        "Nova Micro",
        "USE1-NovaMicro-Customization-Training",
        "1M tokens",
        "1.0000000000",
        "$1.00 per 1M training tokens",
    ),
    product(
        "Nova Micro",
        "USE1-NovaMicro-Customization-Storage",
        "Month",
        "1.9500000000",
        "$1.95 per custom model storage per month",
    ),
    product("Titan Text Lite", "USE1-TitanLite-Customization-Training", "1K tokens", "0.0004", "training"),
    product("Nova Pro", "USE1-NovaPro-Customization-Training", "Tokens", "0.008", "training"),  # unclear unit
    "{not json",
]


def test_the_parser_reads_training_prices_and_skips_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        prices = parse_training_prices(SAMPLE)
    assert prices == {NOVA_2_LITE: pytest.approx(0.00378), MICRO: pytest.approx(0.001)}
    assert "unreadable Price List document" in caplog.text


class FakePricingClient:
    """The ``pricing`` client's get_products (moto does not implement the pricing service)."""

    def __init__(self, pages: list[list[str]], error: Exception | None = None) -> None:
        self.pages = pages
        self.error = error
        self.requests: list[dict[str, Any]] = []

    def get_products(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        index = int(request.get("NextToken", "0"))
        page: dict[str, Any] = {"PriceList": self.pages[index], "FormatVersion": "aws_v1"}
        if index + 1 < len(self.pages):
            page["NextToken"] = str(index + 1)
        return page


def test_aws_price_list_pages_through_and_caches() -> None:
    client = FakePricingClient([SAMPLE[:2], SAMPLE[2:]])
    source = AwsPriceList(client=client)
    assert source.training_prices() == {NOVA_2_LITE: pytest.approx(0.00378), MICRO: pytest.approx(0.001)}
    assert source.training_prices()  # cached: no second round of calls
    assert len(client.requests) == 2
    first = client.requests[0]
    assert first["ServiceCode"] == "AmazonBedrock"
    assert {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"} in first["Filters"]
    assert client.requests[1]["NextToken"] == "1"


def test_aws_price_list_errors_are_an_empty_result_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    source = AwsPriceList(client=FakePricingClient([], error=RuntimeError("AccessDeniedException")))
    with caplog.at_level(logging.WARNING):
        assert source.training_prices() == {}
    assert "AccessDeniedException" in caplog.text
    assert price_table(None, price_list=source) == catalog_prices()


def test_storage_and_inference_are_named_as_not_included() -> None:
    notes = estimate().notes
    assert any("not included" in note and "$1.95 a month" in note and "unverified" in note for note in notes)
