"""Hostile job.json: every input ends in a SpecError with its public code (and a line where the
problem has one), never another exception, a hang or a silent coercion."""

from __future__ import annotations

import tracemalloc

import pytest

from tailor.jobs.spec import MAX_SPEC_BYTES, JobSpec, SpecError, parse_spec

HEAD = b'{"technique": "fine-tuning", "baseModel": "nova-lite"'
BIG_STRING = b"a" * (10 << 20)  # 10 MB: built once per module


def spec(extra: bytes = b"") -> bytes:
    """A valid spec's opening plus ``extra`` (``, "field": value`` ...), closed."""
    return HEAD + extra + b"}"


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


INVALID = "spec_invalid"
MODEL = "unsupported_model"
TECHNIQUE = "unsupported_technique"

# (id, raw bytes, expected code, expected line (None: no line), a needle of the message)
CASES: list[tuple[str, bytes, str, int | None, str]] = [
    # --- malformed and truncated JSON ---------------------------------------------------------
    ("empty-file", b"", INVALID, 1, "not valid JSON"),
    ("only-whitespace", b"  \n\t ", INVALID, 1, "not valid JSON"),
    ("truncated-after-a-value", HEAD, INVALID, 1, "unexpected end of data"),
    ("truncated-inside-a-string", b'{"technique": "fine-tu', INVALID, 1, "unexpected end of data"),
    ("truncated-on-line-3", b'{\n"technique": "fine-tuning",\n"baseModel": ', INVALID, 3, "not valid JSON"),
    ("trailing-comma", HEAD + b",}", INVALID, 1, "trailing comma"),
    ("single-quotes", b"{'technique': 'fine-tuning'}", INVALID, 1, "not valid JSON"),
    ("a-comment", HEAD + b" /* note */ }", INVALID, 1, "not valid JSON"),
    ("two-documents", spec() + spec(), INVALID, 1, "unexpected content after document"),
    ("trailing-garbage", spec() + b" rm -rf /", INVALID, 1, "unexpected content after document"),
    ("top-level-array", b'[{"technique": "fine-tuning"}]', INVALID, 1, "must be a JSON object"),
    ("top-level-string", b'"job"', INVALID, 1, "must be a JSON object"),
    ("top-level-null", b"null", INVALID, 1, "must be a JSON object"),
    # --- deep nesting --------------------------------------------------------------------------
    ("10000-nested-arrays", nested_arrays(10_000), INVALID, 1, "depth limit exceeded"),
    ("10000-nested-arrays-in-a-field", spec(b', "tags": ' + nested_arrays(10_000)), INVALID, 1, "depth"),
    ("1000-nested-arrays-in-a-field", spec(b', "tags": ' + nested_arrays(1000)), INVALID, 1, "nests deeper"),
    ("600-nested-objects", spec(b', "tags": ' + b'{"a":' * 600 + b"1" + b"}" * 600), INVALID, 1, "deeper"),
    # --- NUL bytes and encodings ---------------------------------------------------------------
    (
        "raw-nul-in-a-string",
        spec().replace(b"fine-tuning", b"fine\x00tuning"),
        INVALID,
        1,
        "control character",
    ),
    ("nul-after-the-document", spec() + b"\x00", INVALID, 1, "unexpected content after document"),
    (
        "escaped-nul-in-technique",
        spec().replace(b"fine-tuning", b"fine\\u0000tuning"),
        TECHNIQUE,
        1,
        "unknown",
    ),
    ("escaped-nul-in-model-name", spec(b', "customModelName": "a\\u0000b"'), INVALID, 1, "customModelName"),
    ("raw-newline-in-a-string", spec(b', "customModelName": "a\nb"'), INVALID, 1, "control character"),
    ("lone-surrogate", spec(b', "customModelName": "\\ud800"'), INVALID, 1, "surrogate"),
    (
        "invalid-utf8",
        b'{"technique": "fine-tuning",\n"tags": {"t": "\xff\xfe"}}',
        INVALID,
        2,
        "not valid UTF-8",
    ),
    ("latin1-accent", b'{"tags": {"t": "caf\xe9"}}', INVALID, 1, "not valid UTF-8"),
    ("utf16-with-bom", '{"technique": "fine-tuning"}'.encode("utf-16"), INVALID, 1, "looks like UTF-16"),
    ("utf8-bom-then-an-error", b"\xef\xbb\xbf" + spec(b', "epochs": 1'), INVALID, 1, "epochs: unknown field"),
    # --- huge values ---------------------------------------------------------------------------
    ("10MB-string", spec(b', "customModelName": "' + BIG_STRING + b'"'), INVALID, None, "the limit is 65536"),
    (
        "1e308-in-range-of-json",
        spec(b', "hyperParameters": {"epochCount": 1e308}'),
        INVALID,
        1,
        "out of range",
    ),
    ("1e309-overflows", spec(b', "hyperParameters": {"epochCount": 1e309}'), INVALID, 1, "1e309"),
    (
        "10**400",
        spec(b', "hyperParameters": {"epochCount": 1' + b"0" * 400 + b"}"),
        INVALID,
        1,
        "out of range",
    ),
    (
        "-10**400",
        spec(b', "hyperParameters": {"epochCount": -1' + b"0" * 400 + b"}"),
        INVALID,
        1,
        "out of range",
    ),
    ("2**64", spec(b', "hyperParameters": {"epochCount": 18446744073709551616}'), INVALID, 1, "out of range"),
    ("1e-400-underflows", spec(b', "hyperParameters": {"epochCount": 1e-400}'), INVALID, 1, "out of range"),
    ("NaN", spec(b', "hyperParameters": {"epochCount": NaN}'), INVALID, 1, "NaN"),
    ("-Infinity", spec(b', "hyperParameters": {"epochCount": -Infinity}'), INVALID, 1, "Infinity"),
    (
        "5000-tags",
        spec(b', "tags": {' + b",".join(b'"k%d":"v"' % i for i in range(5000)) + b"}"),
        INVALID,
        1,
        "50",
    ),
    ("a-300-char-tag", spec(b', "tags": {"a": "' + b"v" * 300 + b'"}'), INVALID, 1, "at most 256"),
    # --- wrong types ---------------------------------------------------------------------------
    ("technique-a-number", b'{"technique": 5, "baseModel": "nova-lite"}', INVALID, 1, "must be a string"),
    ("technique-null", b'{"technique": null, "baseModel": "nova-lite"}', INVALID, 1, "got null"),
    (
        "baseModel-a-list",
        b'{"technique": "fine-tuning", "baseModel": ["nova-lite"]}',
        INVALID,
        1,
        "got a list",
    ),
    ("tags-a-list", spec(b', "tags": ["a"]'), INVALID, 1, "tags: must be an object"),
    ("edge-a-string", spec(b', "edge": "yes"'), INVALID, 1, "edge: must be an object"),
    (
        "hyperparameter-a-string",
        spec(b', "hyperParameters": {"epochCount": "3"}'),
        INVALID,
        1,
        "without quotes",
    ),
    ("hyperparameter-a-boolean", spec(b', "hyperParameters": {"epochCount": true}'), INVALID, 1, "boolean"),
    ("specVersion-2", spec(b', "specVersion": "2"'), INVALID, 1, 'must be "1"'),
    ("required-fields-missing", b"{}", INVALID, None, "missing"),
    # --- unknown fields and duplicate keys -----------------------------------------------------
    ("unknown-field", spec(b', "epochs": 3'), INVALID, 1, "epochs: unknown field"),
    (
        "unknown-nested-field",
        spec(b', "edge": {"model": "m.onnx", "targets": ["thinggroup/k"], "x": 1}'),
        INVALID,
        1,
        "edge.x: unknown field",
    ),
    ("snake-case-field", spec(b', "base_model": "nova-pro"'), INVALID, 1, "write it as baseModel"),
    (
        "duplicate-key",
        b'{"technique": "fine-tuning",\n"baseModel": "nova-lite",\n"baseModel": "nova-pro"}',
        INVALID,
        3,
        "appears twice",
    ),
    ("duplicate-key-escaped", spec(b', "t\\u0065chnique": "fine-tuning"'), INVALID, 1, "appears twice"),
    ("duplicate-nested-key", spec(b', "tags": {"a": "1", "a": "2"}'), INVALID, 1, "appears twice in tags"),
    # --- injection strings in names --------------------------------------------------------------
    ("shell-in-model-name", spec(b', "customModelName": "$(rm -rf /)"'), INVALID, 1, "customModelName"),
    (
        "sql-in-model-name",
        spec(b', "customModelName": "\'; DROP TABLE runs; --"'),
        INVALID,
        1,
        "customModelName",
    ),
    (
        "traversal-in-model-name",
        spec(b', "customModelName": "../../etc/passwd"'),
        INVALID,
        1,
        "customModelName",
    ),
    (
        "script-in-model-name",
        spec(b', "customModelName": "<script>alert(1)</script>"'),
        INVALID,
        1,
        "Bedrock",
    ),
    ("shell-in-training", spec(b', "training": "$(rm -rf /).jsonl"'), INVALID, 1, "not a usable data file"),
    ("traversal-in-training", spec(b', "training": "../../etc/passwd"'), INVALID, 1, "'..'"),
    ("absolute-validation", spec(b', "validation": "/etc/passwd"'), INVALID, 1, "absolute path"),
    ("script-in-training", spec(b', "training": "<script>.jsonl"'), INVALID, 1, "not a usable data file"),
    (
        "shell-as-base-model",
        b'{"technique": "fine-tuning", "baseModel": "$(rm -rf /)"}',
        MODEL,
        1,
        "unknown model",
    ),
    ("script-as-technique", b'{"technique": "<script>", "baseModel": "nova-lite"}', TECHNIQUE, 1, "unknown"),
    ("sql-as-hyperparameter", spec(b', "hyperParameters": {"\'; DROP TABLE": 1}'), INVALID, 1, "not tunable"),
    (
        "shell-as-edge-model",
        spec(b', "edge": {"model": "$(rm -rf /)", "targets": ["thinggroup/k"]}'),
        INVALID,
        1,
        "edge.model",
    ),
    (
        "traversal-as-edge-golden",
        spec(b', "edge": {"model": "m.onnx", "targets": ["thing/k"], "golden": "../g"}'),
        INVALID,
        1,
        "edge.golden",
    ),
    (
        "traversal-in-edge-target",
        spec(b', "edge": {"model": "m.onnx", "targets": ["thinggroup/../../x"]}'),
        INVALID,
        1,
        "edge.targets",
    ),
    # --- over-long job.json ----------------------------------------------------------------------
    (
        "one-byte-over-the-limit",
        b" " * (MAX_SPEC_BYTES - len(spec())) + spec() + b" ",
        INVALID,
        None,
        "limit",
    ),
]


@pytest.mark.parametrize(("raw", "code", "line", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_spec_gets_its_code(raw: bytes, code: str, line: int | None, needle: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(raw)
    error = caught.value
    assert error.code == code
    assert error.line == line
    assert needle in error.message
    assert error.hint  # always says how to fix it
    assert len(error.message) < 4096  # a hostile value is not echoed back whole


def test_a_spec_exactly_at_the_byte_limit_is_parsed() -> None:
    raw = b" " * (MAX_SPEC_BYTES - len(spec())) + spec()
    assert len(raw) == MAX_SPEC_BYTES
    assert parse_spec(raw).base_model == "nova-lite"


def test_a_utf8_bom_alone_is_accepted() -> None:
    assert parse_spec(b"\xef\xbb\xbf" + spec()).base_model == "nova-lite"


def test_injection_strings_in_free_form_tags_are_data_not_code() -> None:
    parsed = parse_spec(spec(b', "tags": {"<script>": "\'; DROP TABLE runs; -- $(rm -rf /)"}'))
    assert parsed.tags == {"<script>": "'; DROP TABLE runs; -- $(rm -rf /)"}
    assert JobSpec.model_validate(parsed.model_dump(mode="json", by_alias=True)) == parsed


def test_a_10mb_spec_is_refused_before_it_is_decoded() -> None:
    raw = spec(b', "customModelName": "' + BIG_STRING + b'"')
    tracemalloc.start()
    try:
        with pytest.raises(SpecError):
            parse_spec(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # no copy of the 10 MB is made
