"""The Nova model catalog (aws-facts §2)."""

from __future__ import annotations

import pytest

from tailor.jobs.catalog import (
    CPT_BACKEND_NOTE,
    DISTILLATION_PAIRS,
    MODELS,
    Backend,
    Technique,
    UnknownModelError,
    UnknownTechniqueError,
    backend_note,
    bedrock_supports,
    distillation_pairs,
    is_valid_teacher,
    known_aliases,
    models_supporting,
    resolve_model,
    teachers_for,
)


@pytest.mark.parametrize(
    ("name", "alias"),
    [
        ("nova-lite", "nova-lite"),
        ("NOVA-LITE", "nova-lite"),
        ("Nova Lite", "nova-lite"),
        ("amazon.nova-lite-v1:0:300k", "nova-lite"),
        ("amazon.nova-lite-v1:0", "nova-lite"),
        ("amazon.nova-micro-v1:0:128k", "nova-micro"),
        ("amazon.nova-micro-v1:0", "nova-micro"),
        ("amazon.nova-pro-v1:0", "nova-pro"),
        ("amazon.nova-premier-v1:0", "nova-premier"),
        ("us.amazon.nova-premier-v1:0", "nova-premier"),
        ("amazon.nova-2-lite-v1:0:256k", "nova-2-lite"),
        ("amazon.nova-2-lite-v1:0", "nova-2-lite"),
        ("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-pro-v1:0:300k", "nova-pro"),
        (" nova_2_lite ", "nova-2-lite"),
    ],
)
def test_resolve_model(name: str, alias: str) -> None:
    assert resolve_model(name).alias == alias


def test_unknown_model_lists_aliases() -> None:
    with pytest.raises(UnknownModelError) as caught:
        resolve_model("nova-mega")
    assert isinstance(caught.value, ValueError)
    for alias in ("nova-micro", "nova-lite", "nova-pro", "nova-premier", "nova-2-lite"):
        assert alias in str(caught.value)
    assert known_aliases() == ("nova-micro", "nova-lite", "nova-pro", "nova-premier", "nova-2-lite")


def test_technique_values_and_api_names() -> None:
    assert [t.value for t in Technique] == ["fine-tuning", "distillation", "continued-pre-training"]
    assert Technique.FINE_TUNING.customization_type == "FINE_TUNING"
    assert Technique.CONTINUED_PRE_TRAINING.customization_type == "CONTINUED_PRE_TRAINING"
    assert Technique.parse("DISTILLATION") is Technique.DISTILLATION
    assert Technique.parse("fine_tuning") is Technique.FINE_TUNING
    with pytest.raises(UnknownTechniqueError):
        Technique.parse("rft")


def test_model_ids_and_techniques() -> None:
    ids = {m.alias: m.model_id for m in MODELS}
    assert ids == {
        "nova-micro": "amazon.nova-micro-v1:0:128k",
        "nova-lite": "amazon.nova-lite-v1:0:300k",
        "nova-pro": "amazon.nova-pro-v1:0:300k",
        "nova-premier": "amazon.nova-premier-v1:0",
        "nova-2-lite": "amazon.nova-2-lite-v1:0:256k",
    }
    assert resolve_model("nova-premier").techniques == frozenset()
    assert Technique.FINE_TUNING in resolve_model("nova-2-lite").techniques
    assert Technique.DISTILLATION not in resolve_model("nova-2-lite").techniques
    assert [m.alias for m in models_supporting("fine-tuning")] == [
        "nova-micro",
        "nova-lite",
        "nova-pro",
        "nova-2-lite",
    ]


def test_per_technique_limits() -> None:
    micro, lite, pro, two = (resolve_model(a) for a in ("nova-micro", "nova-lite", "nova-pro", "nova-2-lite"))
    assert micro.limits_for("fine-tuning").text_only
    assert lite.limits_for("fine-tuning").media is not None
    lite_media = lite.limits_for("fine-tuning").media
    assert lite_media is not None and lite_media.image_formats == {"png", "jpeg", "gif", "webp"}
    assert lite_media.max_images == 10 and lite_media.max_videos == 1
    assert lite_media.max_image_bytes == 10 * 1024 * 1024 and lite_media.max_video_bytes == 50 * 1024 * 1024
    two_ft = two.limits_for("fine-tuning")
    assert (
        two_ft.media is not None
        and "webp" not in two_ft.media.image_formats
        and "webm" not in two_ft.media.video_formats
    )
    assert (two_ft.min_records, two_ft.max_records, two_ft.validation_allowed) == (200, 20_000, False)
    ft = pro.limits_for("fine-tuning")
    assert (ft.min_records, ft.max_records, ft.validation_allowed, ft.context_tokens) == (
        8,
        20_000,
        True,
        32_000,
    )
    dist = lite.limits_for("distillation")
    assert dist.text_only and not dist.assistant_required and dist.max_records == 15_000
    with pytest.raises(ValueError, match="does not support"):
        resolve_model("nova-premier").limits_for("fine-tuning")


def test_distillation_roles() -> None:
    assert set(DISTILLATION_PAIRS) == {
        ("nova-pro", "nova-lite"), ("nova-pro", "nova-micro"),
        ("nova-premier", "nova-lite"), ("nova-premier", "nova-micro"), ("nova-premier", "nova-pro"),
    }  # fmt: skip
    assert is_valid_teacher("nova-premier", "nova-pro")
    assert is_valid_teacher("amazon.nova-pro-v1:0", "nova-micro")
    assert not is_valid_teacher("nova-lite", "nova-micro")
    assert not is_valid_teacher("nova-pro", "nova-pro")
    assert resolve_model("nova-pro").teacher_id == "amazon.nova-pro-v1:0"
    assert resolve_model("nova-premier").is_teacher and not resolve_model("nova-premier").is_student
    assert [t.alias for t in teachers_for("nova-lite")] == ["nova-pro", "nova-premier"]
    assert len(distillation_pairs()) == 5
    with pytest.raises(UnknownModelError):
        is_valid_teacher("nova-max", "nova-lite")


def test_hyperparameters() -> None:
    lite = resolve_model("nova-lite")
    bounds = {b.name: b for b in lite.hyperparameters}
    assert set(bounds) == {"epochCount", "learningRate", "learningRateWarmupSteps"}
    assert (bounds["epochCount"].kind, bounds["epochCount"].min, bounds["epochCount"].max) == ("int", 1, 5)
    assert bounds["learningRate"].coerce("0.00002") == pytest.approx(2e-5)
    assert bounds["learningRate"].format(1e-5) == "0.00001"
    assert bounds["epochCount"].format(2) == "2"
    for bad in (0, 6, 2.5, "x", True):
        with pytest.raises(ValueError):
            bounds["epochCount"].coerce(bad)
    assert bounds["learningRateWarmupSteps"].max == 100
    strict = lite.with_warmup_max(20)
    assert strict.hyperparameter("learningRateWarmupSteps").max == 20
    assert resolve_model("nova-premier").hyperparameters == ()
    assert lite.recommended_warmup_steps(1600) == 10
    with pytest.raises(KeyError):
        lite.hyperparameter("batchSize")


def test_cpt_never_pretends_to_run_on_bedrock() -> None:
    assert not bedrock_supports("continued-pre-training")
    assert not bedrock_supports(Technique.CONTINUED_PRE_TRAINING, "nova-lite")
    assert bedrock_supports("fine-tuning", "nova-lite")
    assert not bedrock_supports("fine-tuning", "nova-premier")
    assert resolve_model("nova-lite").backend_for("continued-pre-training") is Backend.SAGEMAKER_HYPERPOD
    assert backend_note("continued-pre-training") == CPT_BACKEND_NOTE
    assert "HyperPod" in CPT_BACKEND_NOTE and backend_note("fine-tuning") is None
