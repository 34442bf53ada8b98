"""job.json is strict where docs/job-spec.md says it is (defect 9): types, duplicate keys, data
file paths, technique codes, inbox names, number range and encoding."""

from __future__ import annotations

import orjson
import pytest

from tailor.ingestion.inbox import inbox_spec, safe_file_name
from tailor.ingestion.triggers import InboxTrigger, classify_key
from tailor.jobs.spec import JobSpec, SpecError, parse_spec

BASE: dict[str, object] = {"technique": "fine-tuning", "baseModel": "nova-lite"}


def spec_bytes(**fields: object) -> bytes:
    return orjson.dumps({**BASE, **fields})


def rejection(raw: bytes) -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    return caught.value


# --- 1. types are not coerced ----------------------------------------------------------------


def test_a_quoted_number_is_not_coerced() -> None:
    error = rejection(spec_bytes(hyperParameters={"epochCount": "3"}))
    assert error.code == "spec_invalid"
    assert error.message == (
        'hyperParameters.epochCount: must be a number, got the string "3" (write 3 without quotes)'
    )


def test_a_boolean_is_not_a_number() -> None:
    error = rejection(
        b'{"technique": "fine-tuning", "baseModel": "nova-lite",\n "hyperParameters": {"epochCount": true}}'
    )
    assert error.message.startswith("hyperParameters.epochCount: must be a number, got true")
    assert error.line == 2


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"technique": 1}, 'technique: must be a string such as "fine-tuning", got the number 1'),
        ({"baseModel": 3}, "baseModel: must be a string"),
        (
            {"tags": {"team": 7}},
            'tags.team: must be a string (in double quotes), got the number 7 (write "7"',
        ),
        ({"specVersion": 1}, 'specVersion: must be "1", got the number 1'),
        ({"training": ["a.jsonl"]}, "training: must be a string (in double quotes), got a list"),
        ({"customModelName": 5}, "customModelName: must be a string"),
        ({"hyperParameters": [1]}, "hyperParameters: must be an object"),
        (
            {"edge": {"model": "m.onnx", "targets": ["thinggroup/k"], "rollout": {"maximumPerMinute": "5"}}},
            'edge.rollout.maximumPerMinute: must be a whole number, got the string "5" '
            "(write 5 without quotes)",
        ),
        (
            {"edge": {"model": "m.onnx", "targets": ["thinggroup/k"], "rollout": {"maximumPerMinute": True}}},
            "edge.rollout.maximumPerMinute: must be a whole number, got true",
        ),
        ({"edge": {"model": "m.onnx", "targets": "thinggroup/k"}}, "edge.targets: must be a list"),
    ],
)
def test_wrong_json_types_are_rejected_not_coerced(fields: dict[str, object], needle: str) -> None:
    error = rejection(spec_bytes(**fields))
    assert error.code == "spec_invalid"
    assert needle in error.message


def test_snake_case_names_are_unknown_fields_with_the_right_spelling() -> None:
    error = rejection(b'{"technique": "fine-tuning", "baseModel": "nova-lite", "hyper_parameters": {}}')
    assert "hyper_parameters: unknown field: write it as hyperParameters" in error.message


def test_field_errors_carry_the_line() -> None:
    raw = b'{\n "technique": "fine-tuning",\n "baseModel": "nova-lite",\n "tags": {\n  "team": 1\n }\n}'
    assert rejection(raw).line == 5


def test_numbers_still_parse_and_the_digest_is_unchanged() -> None:
    spec = parse_spec(
        spec_bytes(
            validation="validation.jsonl",
            hyperParameters={"epochCount": 2, "learningRate": 0.00001, "learningRateWarmupSteps": 10},
            customModelName="support-bot",
            tags={"team": "support"},
        )
    )
    assert spec.hyper_parameters == {"epochCount": 2, "learningRate": 0.00001, "learningRateWarmupSteps": 10}
    # Pinned: run ids depend on it (the value the pre-strict parser gave for this spec).
    assert spec.digest() == "b7bfd2df23ad44081ebc392fc11568739c6148105c8d6059c10d8b7b8c30229b"
    # Events carry the spec as JSON and validate it back (Python mode, strings for enums).
    assert JobSpec.model_validate(spec.model_dump(mode="json", by_alias=True)) == spec


# --- 2. duplicate keys -----------------------------------------------------------------------


def test_a_duplicate_key_names_the_key_and_its_line() -> None:
    error = rejection(b'{"technique": "fine-tuning",\n "baseModel": "nova-lite",\n "baseModel": "nova-pro"}')
    assert error.code == "spec_invalid"
    assert error.line == 3
    assert '"baseModel" appears twice at the top level (lines 2 and 3)' in error.message
    assert "delete the other" in error.hint


def test_a_nested_duplicate_key_says_where() -> None:
    raw = (
        b'{"technique": "fine-tuning", "baseModel": "nova-lite",\n'
        b' "hyperParameters": {\n  "epochCount": 2,\n  "epochCount": 3}}'
    )
    error = rejection(raw)
    assert error.line == 4
    assert '"epochCount" appears twice in hyperParameters (lines 3 and 4)' in error.message


def test_the_same_key_in_different_objects_is_fine() -> None:
    raw = spec_bytes(edge={"model": "m.onnx", "targets": ["thinggroup/t"]})
    assert parse_spec(raw).edge is not None


# --- 3. data files sit beside job.json -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("../x/train.jsonl", "'..'"),
        ("data/../train.jsonl", "'..'"),
        ("./train.jsonl", "'.'"),
        ("/datasets/x/train.jsonl", "absolute path"),
        ("data//train.jsonl", "empty path segment"),
        ("data/", "empty path segment"),
        ("my train.jsonl", "letters, digits"),
    ],
)
def test_data_files_cannot_leave_the_dataset_folder(name: str, needle: str) -> None:
    for field in ("training", "validation"):
        error = rejection(spec_bytes(**{field: name}))
        assert error.code == "spec_invalid"
        assert error.message.startswith(f"{field}: ") and needle in error.message


def test_a_sub_folder_of_the_dataset_is_allowed() -> None:
    spec = parse_spec(spec_bytes(training="data/train.jsonl", validation="data/v1/validation.jsonl"))
    assert (spec.training, spec.validation) == ("data/train.jsonl", "data/v1/validation.jsonl")


# --- 4. technique codes ----------------------------------------------------------------------


def test_a_model_without_the_technique_is_unsupported_technique() -> None:
    error = rejection(spec_bytes(baseModel="nova-premier"))
    assert error.code == "unsupported_technique"
    assert "nova-premier does not support fine-tuning" in error.message


def test_an_unknown_technique_is_unsupported_technique() -> None:
    error = rejection(spec_bytes(technique="fine-tunning"))
    assert error.code == "unsupported_technique"
    assert "unknown technique 'fine-tunning'" in error.message


def test_an_unknown_model_stays_unsupported_model() -> None:
    assert rejection(spec_bytes(baseModel="nova-ultra")).code == "unsupported_model"
    assert rejection(spec_bytes(technique="fine-tunning", baseModel="nova-ultra")).code == "unsupported_model"


# --- 5. the inbox ----------------------------------------------------------------------------


def inbox_rejection(key: str, bucket: str | None = "data") -> SpecError:
    trigger = classify_key(key)
    assert isinstance(trigger, InboxTrigger)
    with pytest.raises(SpecError) as caught:
        inbox_spec(trigger, bucket=bucket)
    return caught.value


def test_an_inbox_file_name_with_a_space_is_key_invalid_with_a_rename() -> None:
    error = inbox_rejection("inbox/fine-tuning/nova-lite/my file.jsonl")
    assert error.code == "key_invalid"
    assert error.hint == (
        "rename it: aws s3 mv 's3://data/inbox/fine-tuning/nova-lite/my file.jsonl' "
        "s3://data/inbox/fine-tuning/nova-lite/my-file.jsonl"
    )


@pytest.mark.parametrize(
    ("name", "safe"),
    [("my file.jsonl", "my-file.jsonl"), ("données v2+.jsonl", "donnees-v2.jsonl"), (".jsonl", "data.jsonl")],
)
def test_safe_file_names(name: str, safe: str) -> None:
    assert safe_file_name(name) == safe


def test_an_inbox_file_with_no_name_is_key_invalid() -> None:
    error = inbox_rejection("inbox/fine-tuning/nova-lite/.jsonl", bucket=None)
    assert error.code == "key_invalid"
    assert "s3://<bucket>/inbox/fine-tuning/nova-lite/data.jsonl" in error.hint


def test_an_unknown_inbox_technique_is_unsupported_technique() -> None:
    error = inbox_rejection("inbox/FINE_TUNING/nova-lite/a.jsonl")
    assert error.code == "unsupported_technique"
    assert error.hint.endswith(
        "aws s3 mv s3://data/inbox/FINE_TUNING/nova-lite/a.jsonl s3://data/inbox/fine-tuning/nova-lite/a.jsonl"
    )
    assert inbox_rejection("inbox/fine-tunning/nova-lite/a.jsonl").code == "unsupported_technique"


def test_an_inbox_model_without_the_technique_is_unsupported_technique() -> None:
    error = inbox_rejection("inbox/fine-tuning/nova-premier/a.jsonl")
    assert error.code == "unsupported_technique"
    assert "nova-premier does not support fine-tuning" in error.message
    assert "inbox/fine-tuning/nova-micro/a.jsonl" in error.hint


def test_inbox_distillation_cannot_name_a_teacher() -> None:
    error = inbox_rejection("inbox/distillation/nova-lite/a.jsonl")
    assert error.code == "unsupported_technique"
    assert "s3://data/datasets/a/a.jsonl" in error.hint and '"teacherModel"' in error.hint


def test_an_unknown_inbox_model_is_unsupported_model() -> None:
    error = inbox_rejection("inbox/fine-tuning/gpt-9/a.jsonl")
    assert error.code == "unsupported_model"
    assert "gpt-9" in error.message and "nova-lite" in error.hint


def test_a_good_inbox_drop_is_the_catalog_default_spec() -> None:
    spec = inbox_spec(InboxTrigger(technique="fine-tuning", model="nova-lite", file="support.jsonl"))
    assert (spec.technique.value, spec.base_model, spec.training) == (
        "fine-tuning",
        "nova-lite",
        "support.jsonl",
    )
    assert spec.hyper_parameters == {} and spec.validation is None


# --- 6. numbers JSON cannot hold -------------------------------------------------------------


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1" + b"0" * 400])
def test_a_number_out_of_double_range_says_so(number: bytes) -> None:
    raw = (
        b'{"technique": "fine-tuning", "baseModel": "nova-lite",\n "hyperParameters": {"learningRate": '
        + number
        + b"}}"
    )
    error = rejection(raw)
    assert error.code == "spec_invalid"
    assert "out of range" in error.message and "line 2, column 38" in error.message
    assert error.line == 2
    assert "double precision" in error.hint and "commas" not in error.hint


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_numbers(constant: str) -> None:
    error = rejection(
        b'{"technique": "fine-tuning", "baseModel": "nova-lite",\n "tags": ' + constant.encode() + b"}"
    )
    assert f"{constant} at line 2" in error.message and "not a JSON number" in error.message
    assert "NaN or Infinity" in error.hint


# --- 7. encoding -----------------------------------------------------------------------------


def test_invalid_utf8_gives_the_byte_and_line() -> None:
    raw = b'{"technique": "fine-tuning",\n "baseModel": "nova-lite",\n "tags": {"team": "caf\xe9"}}'
    error = rejection(raw)
    assert error.message == f"job.json is not valid UTF-8 at byte {raw.index(0xE9)} (line 3)"
    assert error.line == 3
    assert "UTF-8" in error.hint
    assert "surrogates" not in error.message


def test_utf16_is_named() -> None:
    error = rejection('{"technique": "fine-tuning"}'.encode("utf-16"))
    assert "byte 0 (line 1): it looks like UTF-16" in error.message


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    spec = parse_spec(b"\xef\xbb\xbf" + spec_bytes())
    assert spec == parse_spec(spec_bytes())


def test_a_teacher_that_cannot_teach_the_student_is_refused() -> None:
    # Nova Pro cannot teach Nova Pro; Nova Lite teaches nobody (docs: "a valid teacher for the student").
    for teacher in ("nova-pro", "nova-lite"):
        with pytest.raises(SpecError, match=r"cannot teach nova-pro \(teachers for nova-pro: nova-premier\)"):
            parse_spec(
                orjson.dumps({"technique": "distillation", "baseModel": "nova-pro", "teacherModel": teacher})
            )
    spec = parse_spec(
        orjson.dumps({"technique": "distillation", "baseModel": "nova-lite", "teacherModel": "nova-pro"})
    )
    assert spec.teacher_model == "nova-pro"


# --- budget ----------------------------------------------------------------------------------


def test_a_budget_is_a_positive_number_in_camel_case() -> None:
    spec = parse_spec(spec_bytes(budget={"maxTrainingCostUsd": 25}))
    assert spec.budget is not None and spec.budget.max_training_cost_usd == 25
    half = parse_spec(spec_bytes(budget={"maxTrainingCostUsd": 12.5})).budget
    assert half is not None and half.max_training_cost_usd == 12.5


@pytest.mark.parametrize(
    ("budget", "needle"),
    [
        (
            {"maxTrainingCostUsd": "25"},
            'budget.maxTrainingCostUsd: must be a number, got the string "25" (write 25 without quotes)',
        ),
        ({"maxTrainingCostUsd": True}, "budget.maxTrainingCostUsd: must be a number, got true"),
        ({"maxTrainingCostUsd": 0}, "budget.maxTrainingCostUsd: must be greater than 0"),
        ({"maxTrainingCostUsd": -5}, "budget.maxTrainingCostUsd: must be greater than 0"),
        ({}, "budget.maxTrainingCostUsd: missing"),
        ({"max_training_cost_usd": 5}, "write it as maxTrainingCostUsd"),
        ({"maxTrainingCostUsd": 5, "currency": "EUR"}, "budget.currency: unknown field"),
        (25, "budget: must be an object"),
    ],
)
def test_a_bad_budget_is_a_spec_error(budget: object, needle: str) -> None:
    error = rejection(spec_bytes(budget=budget))
    assert error.code == "spec_invalid"
    assert needle in error.message


def test_a_budget_error_carries_its_line() -> None:
    raw = (
        b'{"technique": "fine-tuning", "baseModel": "nova-lite",\n "budget": {\n  "maxTrainingCostUsd": "5"}}'
    )
    assert rejection(raw).line == 3


def test_a_spec_without_a_budget_keeps_its_digest() -> None:
    # The pinned digest of test_numbers_still_parse_and_the_digest_is_unchanged, unchanged by the
    # budget field: run ids of existing specs must not move.
    spec = parse_spec(
        spec_bytes(
            validation="validation.jsonl",
            hyperParameters={"epochCount": 2, "learningRate": 0.00001, "learningRateWarmupSteps": 10},
            customModelName="support-bot",
            tags={"team": "support"},
        )
    )
    assert spec.budget is None
    assert spec.digest() == "b7bfd2df23ad44081ebc392fc11568739c6148105c8d6059c10d8b7b8c30229b"
    with_budget = parse_spec(spec_bytes(budget={"maxTrainingCostUsd": 5}))
    assert with_budget.digest() != parse_spec(spec_bytes()).digest()  # a budget is part of the spec


def test_the_budget_travels_in_events() -> None:
    from tailor.events.models import JobSpecData

    spec = parse_spec(spec_bytes(budget={"maxTrainingCostUsd": 5}))
    data = JobSpecData.model_validate(spec.model_dump(mode="json", by_alias=True))
    assert data.budget is not None and data.budget.max_training_cost_usd == 5
    assert data.to_wire()["budget"] == {"maxTrainingCostUsd": 5.0}
    # Tolerant consumer: an odd budget from a newer producer does not break it.
    assert JobSpecData.model_validate({**BASE, "budget": {"other": 1}}).budget is not None
    assert JobSpecData.model_validate(BASE).budget is None


def test_deploy_on_demand_is_a_strict_flag_and_keeps_old_digests() -> None:
    plain = parse_spec(orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-lite"}))
    deployed = parse_spec(
        orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-lite", "deploy": {"onDemand": True}})
    )
    assert deployed.deploy is not None and deployed.deploy.on_demand is True
    assert plain.deploy is None and plain.digest() != deployed.digest()
    with pytest.raises(SpecError, match="onDemand"):
        parse_spec(
            orjson.dumps(
                {"technique": "fine-tuning", "baseModel": "nova-lite", "deploy": {"onDemand": "yes"}}
            )
        )
