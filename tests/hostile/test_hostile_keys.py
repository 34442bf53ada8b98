"""Hostile S3 keys as ingestion sees them (S3 → EventBridge events carry keys URL-encoded: '+' for a
space, %2F, %C3%A9): each upload ends in a report with its specific code, or, outside every
Tailor prefix, in ``UnrelatedObjectError`` (a failed batch item for an operator), never a crash."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import orjson
import pytest

from tailor.adapters.bus import InMemoryPublisher
from tailor.adapters.object_store import InMemoryObjectStore
from tailor.adapters.runs import InMemoryRunStore
from tailor.events.aws import S3Bucket, S3Object, S3ObjectCreatedDetail
from tailor.ingestion import IngestionDeps, IngestOutcome, UnrelatedObjectError, classify_key, ingest_object
from tailor.ingestion.inbox import safe_file_name, usable_file_name
from tailor.ingestion.triggers import InboxTrigger, MisplacedTrigger, SpecTrigger
from tailor.jobs.naming import bedrock_safe_key, client_request_token, job_name, slug

DATA = "data-bucket"
ARTIFACTS = "artifacts-bucket"
SPEC = orjson.dumps({"technique": "fine-tuning", "baseModel": "nova-lite"})


def record(i: int) -> bytes:
    return orjson.dumps(
        {
            "schemaVersion": "bedrock-conversation-2024",
            "messages": [
                {"role": "user", "content": [{"text": f"How do I reset password number {i}?"}]},
                {"role": "assistant", "content": [{"text": f"Open settings and choose reset ({i})."}]},
            ],
        }
    )


GOOD = b"\n".join(record(i) for i in range(10)) + b"\n"
LONG = "a" * 1000  # S3 keys are at most 1024 bytes


def ingest(
    stored: str, event_key: str | None = None, *, data: bool = True
) -> tuple[IngestOutcome, list[str]]:
    """Upload ``stored`` (job.json beside train.jsonl, or an inbox file) and deliver the event with
    ``event_key`` (the key as the notification spells it). Returns the outcome and the report's codes."""
    deps = IngestionDeps(InMemoryObjectStore(), InMemoryRunStore(), InMemoryPublisher(), ARTIFACTS)
    if stored.endswith("job.json"):
        if data:
            deps.objects.put_bytes(DATA, stored.removesuffix("job.json") + "train.jsonl", GOOD)
        info = deps.objects.put_bytes(DATA, stored, SPEC)
    else:
        info = deps.objects.put_bytes(DATA, stored, GOOD)
    detail = S3ObjectCreatedDetail(
        bucket=S3Bucket(name=DATA),
        object=S3Object(
            key=stored if event_key is None else event_key,
            size=info.size,
            etag=info.etag,
            **{"version-id": info.version_id},
        ),
    )
    result = ingest_object(detail, deps)
    assert result.run_id is not None
    assert len(result.run_id) <= 32 + 1 + 20  # slug + hash: bounded whatever the key
    report = orjson.loads(deps.objects.get_bytes(ARTIFACTS, f"reports/{result.run_id}/validation.json"))
    assert isinstance(deps.bus, InMemoryPublisher)
    published = [e["DetailType"] for e in deps.bus.entries]
    assert published == [
        "DatasetValidated" if result.outcome is IngestOutcome.VALIDATED else "DatasetRejected"
    ]
    return result.outcome, [error["code"] for error in report["errors"]]


V, R, G = IngestOutcome.VALIDATED, IngestOutcome.REJECTED, IngestOutcome.OBJECT_GONE
INBOX = "inbox/fine-tuning/nova-lite/"

# (id, stored key, key in the event (None: the same), outcome, report codes)
CASES: list[tuple[str, str, str | None, IngestOutcome, list[str]]] = [
    # spaces: '+' in the event, ' ' in the bucket
    ("space-in-dataset-folder", "datasets/my set/job.json", "datasets/my+set/job.json", R, ["key_invalid"]),
    (
        "space-in-dataset-folder-%20",
        "datasets/my set/job.json",
        "datasets/my%20set/job.json",
        R,
        ["key_invalid"],
    ),
    ("space-in-inbox-file", INBOX + "my file.jsonl", INBOX + "my+file.jsonl", R, ["key_invalid"]),
    ("literal-plus-in-inbox-file", INBOX + "a+b.jsonl", INBOX + "a%2Bb.jsonl", R, ["key_invalid"]),
    # unicode, encoded as S3 does
    ("unicode-dataset-folder", "datasets/café/job.json", quote("datasets/café/job.json"), R, ["key_invalid"]),
    (
        "unicode-inbox-file",
        INBOX + "données.jsonl",
        quote_plus(INBOX + "données.jsonl", safe="/"),
        R,
        ["key_invalid"],
    ),
    ("emoji-dataset-folder", "datasets/🤖/job.json", None, R, ["key_invalid"]),
    ("right-to-left-override", "datasets/\u202ejob/job.json", None, R, ["key_invalid"]),
    ("nul-in-folder", "datasets/a\x00b/job.json", None, R, ["key_invalid"]),
    ("newline-in-folder", "datasets/a\nb/job.json", None, R, ["key_invalid"]),
    # %2F: an encoded slash that decodes into another folder depth
    (
        "%2F-decodes-to-a-nested-job.json",
        "datasets/a/b/job.json",
        "datasets/a%2Fb/job.json",
        R,
        ["not_a_trigger"],
    ),
    ("literal-%2F-in-folder", "datasets/a%2Fb/job.json", None, R, ["key_invalid"]),
    ("invalid-percent-escape", "datasets/%zz/job.json", None, R, ["key_invalid"]),
    ("event-key-that-names-nothing", "datasets/x/job.json", "datasets/%E9/job.json", G, ["file_missing"]),
    # '..', '.', '//'
    ("dotdot-twice", "datasets/../../etc/job.json", None, R, ["not_a_trigger"]),
    ("double-slash", "datasets//job.json", None, R, ["not_a_trigger"]),
    ("double-slash-inside", "datasets/x//job.json", None, R, ["not_a_trigger"]),
    ("trailing-slash", "datasets/x/job.json/", None, R, ["not_a_trigger"]),
    ("nested-job.json", "datasets/a/b/job.json", None, R, ["not_a_trigger"]),
    ("inbox-dotdot-as-model", "inbox/fine-tuning/../x.jsonl", None, R, ["not_a_trigger"]),
    ("inbox-only-dots", INBOX + "...jsonl", None, R, ["key_invalid"]),
    ("inbox-only-the-extension", INBOX + ".jsonl", None, R, ["key_invalid"]),
    ("inbox-too-deep", INBOX + "sub/a.jsonl", None, R, ["not_a_trigger"]),
    ("inbox-shell-technique", "inbox/$(rm -rf)/nova-lite/a.jsonl", None, R, ["key_invalid"]),
    ("inbox-sql-model", "inbox/fine-tuning/'; DROP TABLE/a.jsonl", None, R, ["key_invalid"]),
    ("inbox-script-model", "inbox/fine-tuning/<script>/a.jsonl", None, R, ["key_invalid"]),
    ("inbox-unknown-model", "inbox/fine-tuning/nova-lyte/a.jsonl", None, R, ["unsupported_model"]),
    # very long keys
    ("1000-char-dataset-folder", f"datasets/{LONG}/job.json", None, V, []),
    ("1000-char-inbox-file", f"{INBOX}{LONG}.jsonl", None, V, []),
]


@pytest.mark.parametrize(
    ("stored", "event_key", "outcome", "codes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_key_gets_its_code(
    stored: str, event_key: str | None, outcome: IngestOutcome, codes: list[str]
) -> None:
    assert ingest(stored, event_key) == (outcome, codes)


@pytest.mark.parametrize(
    "stored",
    ["datasets/../job.json", "datasets/./job.json"],
    ids=["dotdot-as-dataset-name", "dot-as-dataset-name"],
)
def test_dot_segments_as_a_dataset_name_are_not_a_trigger(stored: str) -> None:
    assert ingest(stored) == (R, ["not_a_trigger"])


@pytest.mark.parametrize(
    "key",
    ["other/file.csv", "datasets%2Fx%2Fjob.json", "", "/datasets/x/job.json", "DATASETS/x/job.json", "inbox"],
    ids=["outside-prefixes", "fully-encoded", "empty", "leading-slash", "upper-case-prefix", "bare-inbox"],
)
def test_keys_outside_every_prefix_are_unrelated(key: str) -> None:
    deps = IngestionDeps(InMemoryObjectStore(), InMemoryRunStore(), InMemoryPublisher(), ARTIFACTS)
    detail = S3ObjectCreatedDetail(bucket=S3Bucket(name=DATA), object=S3Object(key=key))
    with pytest.raises(UnrelatedObjectError):
        ingest_object(detail, deps)
    assert isinstance(deps.bus, InMemoryPublisher) and deps.bus.entries == []


HOSTILE_NAMES = [
    "my file.jsonl",
    "données.jsonl",
    "../../etc/passwd",
    "$(rm -rf /).jsonl",
    "'; DROP TABLE runs; --.jsonl",
    "<script>alert(1)</script>.jsonl",
    "a%2Fb+c.jsonl",
    "\x00\n\r\t.jsonl",
    "🤖" * 300 + ".jsonl",
    "." * 50 + ".jsonl",
    "",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_suggested_file_names_are_safe_and_stable(name: str) -> None:
    fixed = safe_file_name(name)
    assert usable_file_name(fixed) and bedrock_safe_key(fixed)
    assert safe_file_name(fixed) == fixed


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("datasets/x/job.json", SpecTrigger),
        ("datasets/x/../job.json", MisplacedTrigger),
        ("datasets/" + "b" * 1100 + "/job.json", SpecTrigger),
        ("inbox/a/b/c.jsonl", InboxTrigger),
        ("inbox/a//c.jsonl", MisplacedTrigger),
        ("inbox/a/b/c.json", MisplacedTrigger),
    ],
)
def test_classify_key_shapes(key: str, kind: type) -> None:
    assert isinstance(classify_key(key), kind)


@pytest.mark.parametrize("text", [*HOSTILE_NAMES, "x" * 100_000])
def test_names_derived_from_hostile_labels_are_valid_aws_names(text: str) -> None:
    label = slug(text)
    assert label and len(label) <= 32 and bedrock_safe_key(label)
    assert len(job_name(text)) <= 63
    token = client_request_token(text)
    assert token and len(token) <= 256
