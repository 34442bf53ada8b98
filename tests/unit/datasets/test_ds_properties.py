"""Property tests: random valid datasets pass; one mutation is caught at its line with its code;
the fast path never accepts what the thorough check rejects."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from ds_builders import codes, conversation, image, msg, run, text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tailor.datasets.conversation import ConversationChecker
from tailor.datasets.fastpath import plain_text
from tailor.datasets.report import IssueCollector
from tailor.datasets.reserved import has_reserved
from tailor.jobs.catalog import Technique, resolve_model

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

safe_text = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzUSERABT0123456789 .,?!:;'\"()[]<>-éß中\n")),
    min_size=1,
    max_size=40,
).filter(lambda t: not t.isspace() and not has_reserved(t))


@st.composite
def records(draw: st.DrawFn, prompts_only: bool = False) -> dict[str, Any]:
    turns = draw(st.integers(min_value=1, max_value=4))
    messages: list[dict[str, Any]] = []
    for _ in range(turns):
        messages.append(msg("user", *draw(st.lists(safe_text, min_size=1, max_size=2))))
        messages.append(msg("assistant", draw(safe_text)))
    if prompts_only and draw(st.booleans()):
        messages.append(msg("user", draw(safe_text)))
    system = draw(st.none() | safe_text)
    return conversation(*messages, system=system, schema=draw(st.booleans()))


@st.composite
def datasets(draw: st.DrawFn) -> list[dict[str, Any]]:
    items = draw(st.lists(records(), min_size=8, max_size=12))
    for index, record in enumerate(items):  # unique: no duplicate warnings
        record["messages"][0]["content"].append(text(f"#{index}"))
    return items


def _validate(lines: list[Any]) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        return run(Path(folder), lines)


@SETTINGS
@given(datasets())
def test_random_valid_datasets_pass(items: list[dict[str, Any]]) -> None:
    report = _validate(items)
    assert report.valid, [e.model_dump() for e in report.errors]
    assert not report.warnings, [w.model_dump() for w in report.warnings]
    assert report.records == len(items)


def _first_user_text(record: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = record["messages"][0]["content"][0]
    return item


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def mutate(record: dict[str, Any]) -> Any:
        record[key] = value
        return record

    return mutate


def _text(value: str) -> Callable[[dict[str, Any]], Any]:
    def mutate(record: dict[str, Any]) -> Any:
        _first_user_text(record)["text"] = value
        return record

    return mutate


def _prefix(value: str) -> Callable[[dict[str, Any]], Any]:
    def mutate(record: dict[str, Any]) -> Any:
        _first_user_text(record)["text"] = value + _first_user_text(record)["text"]
        return record

    return mutate


def _first_role(record: dict[str, Any]) -> Any:
    record["messages"][0]["role"] = "assistant"
    return record


def _image_in_answer(record: dict[str, Any]) -> Any:
    record["messages"][1]["content"].append(image())
    return record


MUTATIONS: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("json_invalid", lambda r: orjson.dumps(r)[:-1]),
    ("not_object", lambda r: [r]),
    ("encoding", lambda r: orjson.dumps(r).replace(b'"messages"', b'"messages\xff"', 1)),
    ("schema", _set("messages", "not a list")),
    ("schema", _set("schemaVersion", 2024)),  # any string is allowed (a warning): not a number
    ("role_order", _first_role),
    ("empty_content", _text("")),
    ("empty_content", _text("   ")),
    ("reserved_token", _prefix("User: ")),
    ("reserved_token", _prefix("[EOS]")),
    ("media_not_allowed", _image_in_answer),
    ("token_limit", _text("x" * 200_000)),
]


@SETTINGS
@given(datasets(), st.data())
def test_one_mutation_is_caught_at_its_line(items: list[dict[str, Any]], data: st.DataObject) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(items) - 1), label="index")
    code, mutate = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    lines: list[Any] = list(items)
    lines[index] = mutate(orjson.loads(orjson.dumps(items[index])))
    report = _validate(lines)
    assert codes(report) == {(code, index + 1)}, [e.model_dump() for e in report.errors]


def _thorough(record: Any, prompts_only: bool) -> tuple[IssueCollector, ConversationChecker]:
    technique = Technique.DISTILLATION if prompts_only else Technique.FINE_TUNING
    model = resolve_model("nova-lite")
    issues = IssueCollector()
    checker = ConversationChecker(
        model, technique, model.limits_for(technique), issues, dataset_bucket=None, files=["f"]
    )
    checker.check(record, "f", 1)
    return issues, checker


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | safe_text | st.sampled_from(["", " ", "user", "assistant"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["role", "content", "text", "x"]), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def near_valid(draw: st.DrawFn) -> Any:
    record: Any = orjson.loads(orjson.dumps(draw(records(prompts_only=True))))
    path = draw(st.sampled_from(["messages", "system", "schemaVersion", "extra", "msg", "item", "none"]))
    value = draw(json_values)
    if path == "msg":
        record["messages"][0] = value
    elif path == "item":
        record["messages"][-1]["content"][0] = value
    elif path != "none":
        record[path] = value
    return record


@settings(max_examples=200, deadline=None)
@given(near_valid(), st.booleans())
def test_fast_path_never_accepts_what_the_thorough_check_rejects(record: Any, prompts_only: bool) -> None:
    plain = plain_text(record, prompts_only)
    issues, checker = _thorough(record, prompts_only)
    if plain is not None:
        assert not issues.errors and not issues.warnings, issues.errors + issues.warnings
        assert checker.tokens_total == (plain[0] + 3) // 4
