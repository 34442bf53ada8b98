"""The sample intent classifier: real, small, reproducible to the byte, and quantizes well."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from edge_models import sample_dir, sample_model

from tailor.edge.checks import inspect_model
from tailor.edge.golden import GoldenSet
from tailor.edge.sample import FEATURES, INTENTS, build_intent_classifier, classify, featurize


def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    build_intent_classifier(tmp_path)
    for name in ("intent-classifier.onnx", "golden.json", "labels.json"):
        assert (tmp_path / name).read_bytes() == (sample_dir() / name).read_bytes(), name


def test_it_is_a_valid_ir9_opset17_model() -> None:
    info = inspect_model(sample_model())
    assert (info.ir_version, info.opsets) == (9, {"ai.onnx": 17})
    assert sample_model().stat().st_size > 500_000  # the weights dominate the file


def test_golden_set_holds_real_featurized_utterances() -> None:
    golden = GoldenSet.from_bytes((sample_dir() / "golden.json").read_bytes())
    assert len(golden.inputs) == 32 and set(golden.expected) == {"fp32"}
    features = golden.feeds(0)["features"]
    assert features.shape == (1, FEATURES) and features.dtype == np.float32
    assert abs(float(np.linalg.norm(features)) - 1.0) < 1e-5
    labels = {int(np.argmax(golden.outputs("fp32", i)["logits"])) for i in range(32)}
    assert labels == set(range(len(INTENTS)))  # every intent is covered


def test_labels_and_predictions() -> None:
    assert json.loads((sample_dir() / "labels.json").read_text()) == list(INTENTS)
    assert classify(sample_model(), "I was charged twice on my invoice") == "billing"
    assert classify(sample_model(), "where is my parcel, it has not arrived") == "shipping"
    assert classify(sample_model(), "I forgot my password and cannot log in") == "password"


def test_featurize_is_deterministic_and_normalised() -> None:
    a, b = featurize("Refund my order please"), featurize("refund my ORDER please")
    assert a.shape == (FEATURES,) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not featurize("").any()
