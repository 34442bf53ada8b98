"""Which uploads start a run, and what they mean."""

from __future__ import annotations

from dataclasses import dataclass

DATASETS_PREFIX = "datasets/"
INBOX_PREFIX = "inbox/"
SPEC_FILE = "job.json"


def report_key(run_id: str) -> str:
    """Where a run's validation report goes in the artifacts bucket."""
    return f"reports/{run_id}/validation.json"


@dataclass(frozen=True, slots=True)
class SpecTrigger:
    """``datasets/<name>/job.json``: data files sit beside it."""

    name: str

    @property
    def folder(self) -> str:
        return f"{DATASETS_PREFIX}{self.name}/"

    @property
    def label(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class InboxTrigger:
    """``inbox/<technique>/<model alias>/<file>.jsonl``: zero-config, defaults from the catalog."""

    technique: str
    model: str
    file: str

    @property
    def folder(self) -> str:
        return f"{INBOX_PREFIX}{self.technique}/{self.model}/"

    @property
    def label(self) -> str:
        return self.file.removesuffix(".jsonl")


HOW_TO_TRIGGER = (
    f"upload datasets/<name>/{SPEC_FILE} last (data files beside it), or a single file as "
    f"{INBOX_PREFIX}<technique>/<model alias>/<file>.jsonl"
)


@dataclass(frozen=True, slots=True)
class MisplacedTrigger:
    """Under a Tailor prefix but of the wrong shape (e.g. ``datasets/a/b/job.json``): the user gets
    a rejection report that says where the file should go."""

    key: str

    @property
    def folder(self) -> str:
        return self.key.rsplit("/", 1)[0] + "/"

    @property
    def label(self) -> str:
        return self.key.rsplit("/", 1)[-1].removesuffix(".jsonl").removesuffix(".json")

    @property
    def problem(self) -> str:
        return f"{self.key!r} is not where a run starts"


class UnrelatedObjectError(ValueError):
    """The key is outside every Tailor prefix: the event should never have been routed here
    (a wiring problem for an operator, not a user's mistake)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"{key!r} is not under datasets/ or inbox/: check the ingest rule's pattern")


Trigger = SpecTrigger | InboxTrigger | MisplacedTrigger


# A "." or ".." segment names no folder of its own (S3 keeps it verbatim, paths would resolve it).
_DOT_SEGMENTS = frozenset({".", ".."})


def classify_key(key: str) -> Trigger:
    parts = key.split("/")
    if key.startswith(DATASETS_PREFIX):
        if len(parts) == 3 and parts[2] == SPEC_FILE and parts[1] and parts[1] not in _DOT_SEGMENTS:
            return SpecTrigger(name=parts[1])
        return MisplacedTrigger(key)
    if key.startswith(INBOX_PREFIX):
        if (
            len(parts) == 4
            and all(parts[1:])
            and not _DOT_SEGMENTS & set(parts)
            and parts[3].endswith(".jsonl")
        ):
            return InboxTrigger(technique=parts[1], model=parts[2], file=parts[3])
        return MisplacedTrigger(key)
    raise UnrelatedObjectError(key)
