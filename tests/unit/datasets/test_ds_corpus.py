"""Table-driven corpus: every report code, every model, every technique.

Each case appends its records after enough valid filler records to satisfy the record-count
bounds, and states the exact set of errors expected, as (code, index of the case record) — or
``None`` for dataset-level errors — plus warnings that must be present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ds_builders import (
    Line,
    codes,
    conversation,
    document,
    filler,
    image,
    msg,
    qa,
    run,
    text,
    video,
    warning_codes,
)

from tailor.datasets import IssueCode

FT, DIST, CPT = "fine-tuning", "distillation", "continued-pre-training"
MIN = {"nova-2-lite": 200}
LONG = "word " * 34_000  # ~42,500 tokens estimated: beyond 1.25 x 32k
NEAR = "word " * 22_000  # ~27,500 tokens: between 0.8 x and 1 x 32k


@dataclass(frozen=True)
class Case:
    id: str
    records: list[Line]
    errors: set[tuple[str, int | None]] = field(default_factory=set)
    warnings: set[tuple[str, int | None]] = field(default_factory=set)
    technique: str = FT
    model: str = "nova-lite"
    fill: bool = True


CASES = [
    # --- valid data, every model and technique ---
    Case("valid nova-micro ft", [qa(100)], model="nova-micro"),
    Case("valid nova-lite ft", [qa(100)], model="nova-lite"),
    Case("valid nova-pro ft", [qa(100)], model="nova-pro"),
    Case("valid nova-2-lite ft", [qa(100)], model="nova-2-lite"),
    Case("valid by full id", [qa(100)], model="amazon.nova-pro-v1:0:300k"),
    Case("valid by id without context", [qa(100)], model="amazon.nova-lite-v1:0"),
    Case("valid distillation prompts", [conversation(msg("user", "Summarise this?"))], technique=DIST),
    Case(
        "valid distillation pairs",
        [conversation(msg("user", "Q?"), msg("assistant", "A."))],
        technique=DIST,
        model="nova-pro",
    ),
    Case("valid distillation micro", [conversation(msg("user", "Q?"))], technique=DIST, model="nova-micro"),
    Case("valid cpt", [{"text": "Some raw text."}], technique=CPT),
    Case("valid cpt nova-2-lite", [{"text": "Some raw text."}], technique=CPT, model="nova-2-lite"),
    Case(
        "valid multi-turn",
        [conversation(msg("user", "a"), msg("assistant", "b"), msg("user", "c"), msg("assistant", "d"))],
    ),
    Case(
        "no schemaVersion, no system",
        [conversation(msg("user", "a"), msg("assistant", "b"), system=None, schema=False)],
    ),
    Case(
        "images on lite",
        [conversation(msg("user", image(), image(fmt="jpeg"), "what is it?"), msg("assistant", "cats"))],
    ),
    Case(
        "video on pro",
        [conversation(msg("user", video(), "what happens?"), msg("assistant", "a cat"))],
        model="nova-pro",
    ),
    Case("webp on lite", [conversation(msg("user", image(fmt="webp")), msg("assistant", "x"))]),
    Case(
        "document on nova-2-lite",
        [conversation(msg("user", document(), "sum up"), msg("assistant", "x"))],
        model="nova-2-lite",
    ),
    Case(
        "reasoning on nova-2-lite",
        [
            conversation(
                msg("user", "q"),
                msg("assistant", {"reasoningContent": {"reasoningText": {"text": "think"}}}, "a"),
            )
        ],
        model="nova-2-lite",
    ),
    Case("lower-case user: in prose is fine", [qa(100, question="The user: a person. assistant: helper")]),
    Case("non-ASCII text", [qa(100, question="¿Cómo restablezco mi contraseña? 密码")]),
    # --- unsupported model / technique ---
    Case("unknown model", [qa(100)], {("unsupported_model", None)}, model="nova-giant"),
    Case("unknown technique", [qa(100)], {("unsupported_technique", None)}, technique="rlhf"),
    Case("premier is teacher only", [qa(100)], {("unsupported_technique", None)}, model="nova-premier"),
    Case(
        "no distillation for nova-2-lite",
        [qa(100)],
        {("unsupported_technique", None)},
        technique=DIST,
        model="nova-2-lite",
    ),
    # --- line-level parse problems ---
    Case("json_invalid", [b'{"messages": ['], {("json_invalid", 1)}),
    Case("not_object array", [[1, 2]], {("not_object", 1)}),
    Case("not_object string", ['"hello"'], {("not_object", 1)}),
    Case("encoding", [b'{"messages": "caf\xe9"}'], {("encoding", 1)}),
    # --- schema ---
    Case("schema no messages", [{"schemaVersion": "bedrock-conversation-2024"}], {("schema", 1)}),
    Case("schema messages not list", [{"messages": "hi"}], {("schema", 1)}),
    Case("schema version not a string", [{**qa(100), "schemaVersion": 2024}], {("schema", 1)}),
    # AWS: schemaVersion "can be any string value": a custom one is a warning only.
    Case("schema custom version warns", [{**qa(100), "schemaVersion": "v2"}], warnings={("schema", 1)}),
    Case("schema system not list", [{**qa(100), "system": "be nice"}], {("schema", 1)}),
    Case(
        "schema text not string",
        [conversation(msg("user", {"text": 5}), msg("assistant", "b"))],
        {("schema", 1)},
    ),
    Case(
        "schema two kinds in one item",
        [conversation(msg("user", {"text": "a", **image()}), msg("assistant", "b"))],
        {("schema", 1)},
    ),
    Case(
        "schema unknown item field",
        [conversation(msg("user", {"txt": "a"}), msg("assistant", "b"))],
        {("schema", 1)},
    ),
    Case(
        "schema message not object",
        [{"messages": ["hi", {"role": "assistant", "content": [text("b")]}]}],
        {("schema", 1)},
    ),
    Case(
        "schema content missing",
        [{"messages": [{"role": "user"}, {"role": "assistant", "content": [text("b")]}]}],
        {("schema", 1)},
    ),
    Case(
        "schema tools on nova-2-lite",
        [{**qa(100), "toolConfig": {"tools": []}}],
        {("schema", 1)},
        model="nova-2-lite",
    ),
    Case(
        "schema reasoning on lite",
        [
            conversation(
                msg("user", "q"),
                msg("assistant", {"reasoningContent": {"reasoningText": {"text": "t"}}}, "a"),
            )
        ],
        {("schema", 1)},
    ),
    Case("schema unknown top-level field warns", [{**qa(100), "id": 7}], warnings={("schema", 1)}),
    # --- roles ---
    Case(
        "role_order starts with assistant",
        [conversation(msg("assistant", "a"), msg("user", "b"))],
        {("role_order", 1)},
    ),
    Case("role_order two users", [conversation(msg("user", "a"), msg("user", "b"))], {("role_order", 1)}),
    Case(
        "role_order ends with user",
        [conversation(msg("user", "a"), msg("assistant", "b"), msg("user", "c"))],
        {("role_order", 1)},
    ),
    Case("role_order single message", [conversation(msg("user", "a"))], {("role_order", 1)}),
    Case("role_order system role", [conversation(msg("system", "a"), msg("user", "b"))], {("role_order", 1)}),
    Case("role_order no messages", [conversation()], {("role_order", 1)}),
    Case(
        "distillation role_order", [conversation(msg("assistant", "a"))], {("role_order", 1)}, technique=DIST
    ),
    # --- empty content ---
    Case("empty text", [conversation(msg("user", ""), msg("assistant", "b"))], {("empty_content", 1)}),
    Case(
        "whitespace text", [conversation(msg("user", " \n\t"), msg("assistant", "b"))], {("empty_content", 1)}
    ),
    Case(
        "unicode whitespace text",
        [conversation(msg("user", "\u3000"), msg("assistant", "b"))],
        {("empty_content", 1)},
    ),
    Case("empty content list", [conversation(msg("user"), msg("assistant", "b"))], {("empty_content", 1)}),
    Case("empty item", [conversation(msg("user", {}), msg("assistant", "b"))], {("empty_content", 1)}),
    Case(
        "empty system text",
        [conversation(msg("user", "a"), msg("assistant", "b"), system="")],
        {("empty_content", 1)},
    ),
    # --- reserved strings ---
    Case("reserved User:", [qa(100, question="User: hello")], {("reserved_token", 1)}),
    Case("reserved USER:", [qa(100, question="hello USER: hi")], {("reserved_token", 1)}),
    Case("reserved Bot:", [qa(100, question="Bot: hi")], {("reserved_token", 1)}),
    Case("reserved ASSISTANT:", [qa(100, question="ASSISTANT: hi")], {("reserved_token", 1)}),
    Case("reserved System:", [qa(100, question="System: hi")], {("reserved_token", 1)}),
    Case("reserved Thought:", [qa(100, question="Thought: hmm")], {("reserved_token", 1)}),
    Case("reserved [EOS]", [qa(100, question="end [EOS]")], {("reserved_token", 1)}),
    Case("reserved <image>", [qa(100, question="see <image> here")], {("reserved_token", 1)}),
    Case("reserved <VIDEO>", [qa(100, question="see <VIDEO> here")], {("reserved_token", 1)}),
    Case(
        "reserved in system",
        [conversation(msg("user", "a"), msg("assistant", "b"), system="Assistant: be kind")],
        {("reserved_token", 1)},
    ),
    Case("reserved in assistant warns", [qa(100, answer="User: said hi")], warnings={("reserved_token", 1)}),
    # --- media ---
    Case(
        "media_not_allowed micro",
        [conversation(msg("user", image()), msg("assistant", "x"))],
        {("media_not_allowed", 1)},
        model="nova-micro",
    ),
    Case(
        "media_not_allowed distillation",
        [conversation(msg("user", image(), "q"))],
        {("media_not_allowed", 1)},
        technique=DIST,
    ),
    Case(
        "media_not_allowed assistant turn",
        [conversation(msg("user", "q"), msg("assistant", image()))],
        {("media_not_allowed", 1)},
    ),
    Case(
        "media_not_allowed document on lite",
        [conversation(msg("user", document()), msg("assistant", "x"))],
        {("media_not_allowed", 1)},
    ),
    Case(
        "media_limit 11 images",
        [conversation(msg("user", *[image(f"s3://data/{i}.png") for i in range(11)]), msg("assistant", "x"))],
        {("media_limit", 1)},
    ),
    Case(
        "media_limit 2 videos",
        [conversation(msg("user", video(), video("s3://data/b.mp4")), msg("assistant", "x"))],
        {("media_limit", 1)},
    ),
    Case(
        "media_limit 2 documents",
        [conversation(msg("user", document(), document("s3://data/b.pdf")), msg("assistant", "x"))],
        {("media_limit", 1)},
        model="nova-2-lite",
    ),
    Case(
        "media_format bmp",
        [conversation(msg("user", image(fmt="bmp")), msg("assistant", "x"))],
        {("media_format", 1)},
    ),
    Case(
        "media_format jpg",
        [conversation(msg("user", image(fmt="jpg")), msg("assistant", "x"))],
        {("media_format", 1)},
    ),
    Case(
        "media_format webp on nova-2-lite",
        [conversation(msg("user", image(fmt="webp")), msg("assistant", "x"))],
        {("media_format", 1)},
        model="nova-2-lite",
    ),
    Case(
        "media_format webm on nova-2-lite",
        [conversation(msg("user", video(fmt="webm")), msg("assistant", "x"))],
        {("media_format", 1)},
        model="nova-2-lite",
    ),
    Case(
        "media_location http",
        [conversation(msg("user", image("https://x/y.png")), msg("assistant", "x"))],
        {("media_location", 1)},
    ),
    Case(
        "media_location inline bytes",
        [
            conversation(
                msg("user", {"image": {"format": "png", "source": {"bytes": "AAAA"}}}), msg("assistant", "x")
            )
        ],
        {("media_location", 1)},
    ),
    Case(
        "media_location two buckets",
        [
            conversation(msg("user", image("s3://one/a.png")), msg("assistant", "x")),
            conversation(msg("user", image("s3://two/b.png")), msg("assistant", "y")),
        ],
        {("media_location", 2)},
    ),
    Case(
        "mixed_media in a record",
        [conversation(msg("user", video(), image()), msg("assistant", "x"))],
        {("mixed_media", 1)},
    ),
    Case(
        "mixed_media in the dataset",
        [
            conversation(msg("user", image()), msg("assistant", "x")),
            conversation(msg("user", video()), msg("assistant", "y")),
        ],
        {("mixed_media", 2)},  # the first record of the second modality
    ),
    # --- counts ---
    Case("record_count too few", [qa(1), qa(2)], {("record_count", None)}, fill=False),
    Case(
        "record_count nova-2-lite needs 200",
        [qa(i) for i in range(50)],
        {("record_count", None)},
        model="nova-2-lite",
        fill=False,
    ),
    Case("record_count empty file", [], {("record_count", None)}, fill=False),
    Case(
        "distillation few records warns",
        [conversation(msg("user", "Q?"))],
        warnings={("record_count", None)},
        technique=DIST,
        fill=False,
    ),
    # --- tokens ---
    Case("token_limit far beyond", [qa(100, question=LONG)], {("token_limit", 1)}),
    Case("token_limit near warns", [qa(100, question=NEAR)], warnings={("token_limit", 1)}),
    # --- continued pre-training ---
    Case("cpt_format titan input", [{"input": "x"}], {("cpt_format", 1)}, technique=CPT),
    Case("cpt_format not string", [{"text": 5}], {("cpt_format", 1)}, technique=CPT),
    Case("cpt_format extra field", [{"text": "a", "source": "web"}], {("cpt_format", 1)}, technique=CPT),
    Case("cpt_format conversation", [qa(1)], {("cpt_format", 1)}, technique=CPT),
    Case("cpt_format no text", [{}], {("cpt_format", 1)}, technique=CPT),
    Case("cpt empty text", [{"text": "  "}], {("empty_content", 1)}, technique=CPT),
    Case("cpt not_object", [[1]], {("not_object", 1)}, technique=CPT),
    Case("cpt json_invalid", [b"{"], {("json_invalid", 1)}, technique=CPT),
    # --- hygiene ---
    Case("duplicate warns", [qa(100), qa(100)], warnings={("duplicate_record", 2)}),
    Case("blank line warns", [qa(100), b"", b"   ", qa(101)], warnings={("blank_line", 2)}),
    Case(
        "cpt duplicate warns",
        [{"text": "same"}, {"text": "same"}],
        warnings={("duplicate_record", 2)},
        technique=CPT,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus(tmp_path: Path, case: Case) -> None:
    count = MIN.get(case.model, 8) if case.fill else 0
    lead = filler(count, case.technique) if case.fill else []
    report = run(tmp_path, [*lead, *case.records], technique=case.technique, model=case.model)
    expected = {(code, None if at is None else at + len(lead)) for code, at in case.errors}
    assert codes(report) == expected, [e.model_dump() for e in report.errors]
    assert report.valid is (not expected)
    wanted = {(code, None if at is None else at + len(lead)) for code, at in case.warnings}
    assert wanted <= warning_codes(report), [w.model_dump() for w in report.warnings]
    for issue in [*report.errors, *report.warnings]:
        assert issue.message and issue.hint, issue
        assert issue.file is not None


def test_every_code_is_exercised() -> None:
    covered = {code for case in CASES for code, _ in case.errors | case.warnings}
    elsewhere = {  # codes produced outside the per-record corpus, each tested in its own module
        "validation_not_allowed",  # test_ds_engine
        "line_endings",  # test_ds_engine
        "line_too_long",  # test_ds_lines
        "file_extension",  # test_ds_engine
        "file_missing",  # test_ds_engine
        "file_unreadable",  # test_ds_engine
        "file_compressed",  # test_ds_rules_defect10
        "spec_invalid",  # ingestion codes: test_ds_report
        "not_a_trigger",  # ingestion codes: tests/unit/ingestion
        "key_invalid",
        "dataset_too_large",  # ingestion: tests/unit/ingestion/test_ingest_data_path
    }
    assert {c.value for c in IssueCode} == covered | elsewhere


def test_record_count_counts_training_and_validation(tmp_path: Path) -> None:
    report = run(tmp_path, filler(5), validation=[qa(500 + i) for i in range(4)])
    assert report.valid, report.errors
    assert (report.training_records, report.validation_records, report.records) == (5, 4, 9)
    too_few = run(tmp_path, filler(4), validation=[qa(900)])
    assert codes(too_few) == {("record_count", None)}


def test_record_count_maximum(tmp_path: Path) -> None:
    lines = [{"messages": [{"role": "user", "content": [text(f"q{i}")]}]} for i in range(15_001)]
    report = run(tmp_path, lines, technique=DIST)
    assert codes(report) == {("record_count", None)}
    assert "at most 15,000" in report.errors[0].message
