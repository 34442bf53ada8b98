"""``tailor submit FILE --technique … --model …``: the job.json a single data file's flags stand for,
laid out as a dataset folder so that it is submitted exactly as ``tailor submit DIR`` would.

The temporary folder holds ``job.json`` and links (copies where links are not possible) to the
user's files under fixed names (``train.jsonl``, ``validation.jsonl``, ``model.onnx``): the same file
with the same flags is the same content, hence the same run id (docs/runs.md).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

TRAINING_FILE, VALIDATION_FILE, EDGE_MODEL_FILE = "train.jsonl", "validation.jsonl", "model.onnx"
TECHNIQUES = ("fine-tuning", "distillation", "continued-pre-training")


class FlagError(ValueError):
    """The flags cannot make a job.json: the one line to print (usage, exit 2)."""


@dataclass(frozen=True, slots=True)
class SpecFlags:
    """What the command line says about the job (None / empty: not given)."""

    technique: str | None = None
    model: str | None = None
    teacher: str | None = None
    validation: Path | None = None
    deploy: bool = False
    edge_model: Path | None = None
    edge_targets: tuple[str, ...] = ()

    def given(self) -> list[str]:
        """The flags given, as typed (for "job.json already says it")."""
        named = [
            ("--technique", self.technique is not None),
            ("--model", self.model is not None),
            ("--teacher", self.teacher is not None),
            ("--validation", self.validation is not None),
            ("--deploy", self.deploy),
            ("--edge-model", self.edge_model is not None),
            ("--edge-targets", bool(self.edge_targets)),
        ]
        return [flag for flag, present in named if present]


def split_targets(values: Sequence[str]) -> tuple[str, ...]:
    """``--edge-targets a --edge-targets b,c`` → ``("a", "b", "c")``."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def spec_document(flags: SpecFlags) -> dict[str, Any]:
    """The job.json the flags stand for. FlagError names what to add or fix."""
    missing = []
    if flags.technique is None:
        missing.append(f"--technique ({' | '.join(TECHNIQUES)})")
    if flags.model is None:
        missing.append("--model (e.g. nova-lite)")
    if flags.technique == "distillation" and flags.teacher is None:
        missing.append("--teacher (e.g. nova-premier) for distillation")
    if flags.edge_model is not None and not flags.edge_targets:
        missing.append("--edge-targets thinggroup/NAME for --edge-model")
    if flags.edge_targets and flags.edge_model is None:
        missing.append("--edge-model FILE (the ONNX model to ship) for --edge-targets")
    if missing:
        raise FlagError(f"a single data file needs {', '.join(missing)}; or pass a DIR with job.json")
    if flags.technique not in TECHNIQUES:
        raise FlagError(f"--technique {flags.technique!r}: use one of {', '.join(TECHNIQUES)}")
    if flags.teacher is not None and flags.technique != "distillation":
        raise FlagError(f"--teacher is only for --technique distillation, not {flags.technique}")
    document: dict[str, Any] = {
        "specVersion": "1",
        "technique": flags.technique,
        "baseModel": flags.model,
        "training": TRAINING_FILE,
    }
    if flags.teacher is not None:
        document["teacherModel"] = flags.teacher
    if flags.validation is not None:
        document["validation"] = VALIDATION_FILE
    if flags.edge_model is not None:
        document["edge"] = {"model": EDGE_MODEL_FILE, "targets": list(flags.edge_targets)}
    if flags.deploy:
        document["deploy"] = {"onDemand": True}
    return document


def spec_bytes(flags: SpecFlags) -> bytes:
    """job.json as it is written (and digested), checked as ingestion checks it: a rule the flags
    break (an unknown model, a teacher that cannot teach it …) is a FlagError."""
    from tailor.jobs.spec import SpecError, parse_spec

    raw = orjson.dumps(spec_document(flags), option=orjson.OPT_INDENT_2) + b"\n"
    try:
        parse_spec(raw)
    except SpecError as error:
        raise FlagError(f"the flags make an invalid job.json: {error.message} (hint: {error.hint})") from None
    return raw


@dataclass(frozen=True, slots=True)
class PreparedFolder:
    """A dataset folder to submit, and the user's name for each file in it (for messages)."""

    path: Path
    name: str | None
    shown: dict[Path, Path] = field(default_factory=dict)

    def show(self, path: Path | str) -> str:
        """The path the user knows for a file of the folder."""
        return str(self.shown.get(Path(path), path))


def default_name(data_file: Path) -> str:
    """``support.jsonl`` → ``support``: a single file's dataset name unless ``--name`` says another."""
    return data_file.name.split(".", 1)[0] or data_file.name


@contextlib.contextmanager
def file_folder(data_file: Path, flags: SpecFlags, name: str | None) -> Iterator[PreparedFolder]:
    """A temporary dataset folder for ``data_file`` and the flags; removed afterwards. FlagError:
    the flags are incomplete or wrong, or a file they name does not exist."""
    for flag, path in (("--validation", flags.validation), ("--edge-model", flags.edge_model)):
        if path is not None and not path.is_file():
            raise FlagError(f"{flag}: no such file: {path}")
    raw = spec_bytes(flags)
    name = name or default_name(data_file)
    with tempfile.TemporaryDirectory(prefix="tailor-submit-") as scratch:
        folder = Path(scratch) / "dataset"
        folder.mkdir()
        (folder / "job.json").write_bytes(raw)
        shown: dict[Path, Path] = {folder / "job.json": Path("job.json (from the flags)")}
        for local, placed in (
            (data_file, TRAINING_FILE),
            (flags.validation, VALIDATION_FILE),
            (flags.edge_model, EDGE_MODEL_FILE),
        ):
            if local is not None:
                _place(local, folder / placed)
                shown[folder / placed] = local
        yield PreparedFolder(path=folder, name=name, shown=shown)


def _place(source: Path, target: Path) -> None:
    """A link to ``source`` (large files are not copied), or a copy where links are not allowed."""
    try:
        target.symlink_to(source.resolve())
    except OSError:
        shutil.copyfile(source, target)
