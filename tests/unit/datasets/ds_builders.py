"""Record and file builders for the dataset validation tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tailor.datasets import DatasetSource, ValidationReport, validate_dataset

SCHEMA = "bedrock-conversation-2024"
Line = dict[str, Any] | list[Any] | bytes | str


def text(value: str) -> dict[str, Any]:
    return {"text": value}


def image(uri: str = "s3://data/img/cat.png", fmt: str = "png") -> dict[str, Any]:
    return {"image": {"format": fmt, "source": {"s3Location": {"uri": uri}}}}


def video(uri: str = "s3://data/vid/clip.mp4", fmt: str = "mp4") -> dict[str, Any]:
    return {"video": {"format": fmt, "source": {"s3Location": {"uri": uri}}}}


def document(uri: str = "s3://data/doc/a.pdf", fmt: str = "pdf") -> dict[str, Any]:
    return {"document": {"format": fmt, "source": {"s3Location": {"uri": uri}}}}


def msg(role: str, *items: dict[str, Any] | str) -> dict[str, Any]:
    return {"role": role, "content": [text(i) if isinstance(i, str) else i for i in items]}


def conversation(
    *messages: dict[str, Any], system: str | None = "You are helpful.", schema: bool = True
) -> dict[str, Any]:
    record: dict[str, Any] = {"schemaVersion": SCHEMA} if schema else {}
    if system is not None:
        record["system"] = [text(system)]
    record["messages"] = list(messages)
    return record


def qa(index: int, question: str | None = None, answer: str | None = None) -> dict[str, Any]:
    """A valid single-turn record, unique per index."""
    return conversation(
        msg("user", question or f"How do I reset my password, case {index}?"),
        msg("assistant", answer or f"Open settings and choose reset ({index})."),
    )


def filler(count: int, technique: str = "fine-tuning") -> list[Line]:
    if technique == "continued-pre-training":
        return [{"text": f"Paragraph number {i} of the corpus."} for i in range(count)]
    if technique == "distillation":
        return [conversation(msg("user", f"Prompt number {i}?")) for i in range(count)]
    return [qa(i) for i in range(count)]


def encode(line: Line) -> bytes:
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode()
    return orjson.dumps(line)


def write(path: Path, lines: list[Line], *, newline: bytes = b"\n", prefix: bytes = b"") -> Path:
    path.write_bytes(prefix + b"".join(encode(line) + newline for line in lines))
    return path


def run(
    tmp_path: Path,
    lines: list[Line],
    *,
    technique: str = "fine-tuning",
    model: str = "nova-lite",
    validation: list[Line] | None = None,
    name: str = "train.jsonl",
) -> ValidationReport:
    train = write(tmp_path / name, lines)
    val = write(tmp_path / "val.jsonl", validation) if validation is not None else None
    return validate_dataset(
        DatasetSource.local(train),
        technique=technique,
        model=model,
        validation=DatasetSource.local(val) if val else None,
        workers=1,
    )


def codes(report: ValidationReport) -> set[tuple[str, int | None]]:
    return {(issue.code.value, issue.line) for issue in report.errors}


def warning_codes(report: ValidationReport) -> set[tuple[str, int | None]]:
    return {(issue.code.value, issue.line) for issue in report.warnings}
