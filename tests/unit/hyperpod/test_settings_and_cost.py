"""HyperPod settings from the function's environment, the job reference, and the cost estimate."""

from __future__ import annotations

import pytest

from tailor.events.models import CostEstimate
from tailor.hyperpod.cost import INSTANCE_PRICES, hyperpod_estimate
from tailor.hyperpod.settings import HyperPodSettings, JobRef, is_hyperpod_job


def test_no_cluster_means_no_hyperpod() -> None:
    assert HyperPodSettings.from_env({}) is None
    assert HyperPodSettings.from_env({"HYPERPOD_CLUSTER_NAME": "  "}) is None


def test_settings_read_every_variable_the_template_sets() -> None:
    settings = HyperPodSettings.from_env(
        {
            "HYPERPOD_CLUSTER_NAME": "hp-eks",
            "AWS_REGION": "us-east-1",
            "HYPERPOD_NAMESPACE": "training",
            "HYPERPOD_INSTANCE_TYPE": "ml.p5.48xlarge",
            "HYPERPOD_REPLICAS": "4",
            "HYPERPOD_MAX_CONCURRENT_JOBS": "2",
            "HYPERPOD_INSTANCE_PRICE_USD": "60.5",
            "HUB_NAME": "SageMakerPublicHub",
            "BEDROCK_IMPORT_ROLE_ARN": "arn:aws:iam::123456789012:role/import",
            "ARTIFACTS_BUCKET": "artifacts",
        }
    )
    assert settings is not None
    assert (settings.namespace, settings.replicas, settings.max_concurrent_jobs) == ("training", 4, 2)
    assert settings.instance_price_usd == 60.5 and settings.import_role_arn.endswith("role/import")
    assert settings.artifacts_bucket == "artifacts" and settings.endpoint_override is None


def test_a_job_reference_round_trips_and_is_not_an_arn() -> None:
    ref = JobRef("hp-eks", "kubeflow", "tailor-corpus-0123")
    assert JobRef.parse(str(ref)) == ref
    assert is_hyperpod_job(str(ref)) and not is_hyperpod_job(
        "arn:aws:bedrock:us-east-1:1:model-customization-job/x"
    )
    assert JobRef.parse("hyperpod://only/two") is None and not is_hyperpod_job(None)


def _base(tokens: int = 300_000_000, epochs: int = 2) -> CostEstimate:
    return CostEstimate(
        training_tokens=tokens, epochs=epochs, price_source="no price known", notes=["bedrock"]
    )


def test_the_estimate_is_instance_hours_times_the_price_with_its_assumptions() -> None:
    estimate = hyperpod_estimate(_base(), model_alias="nova-lite", instance_type="ml.p5.48xlarge", replicas=4)
    # 600M tokens / (150M per instance-hour x 4) = 1 h on 4 instances = 4 instance-hours.
    assert estimate.estimated_usd == pytest.approx(
        4 * INSTANCE_PRICES["ml.p5.48xlarge"].usd_per_hour, abs=0.01
    )
    text = " ".join(estimate.notes)
    assert "an estimate" in text and "assumption" in text and "4 instance-hours" in text
    assert "bedrock" not in estimate.notes  # the Bedrock per-token notes do not apply
    assert estimate.price_per_1k_tokens is None and "per instance-hour" in estimate.price_source


def test_a_configured_price_wins_and_a_short_run_bills_at_least_an_hour() -> None:
    estimate = hyperpod_estimate(
        _base(tokens=1000),
        model_alias="nova-micro",
        instance_type="ml.p5.48xlarge",
        replicas=2,
        price_override=10.0,
    )
    assert estimate.estimated_usd == 20.0 and "deployment configuration" in estimate.price_source


def test_an_instance_without_a_known_price_says_how_to_set_one() -> None:
    estimate = hyperpod_estimate(_base(), model_alias="nova-pro", instance_type="ml.p4d.24xlarge", replicas=2)
    assert estimate.estimated_usd is None
    assert any("HyperPodInstancePriceUsd" in note for note in estimate.notes)
