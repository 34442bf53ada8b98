"""The docs' snippets are checked against the code, so a newcomer can copy them.

- every ```json block in README.md and docs/*.md parses (a block that is intentionally partial opts
  out with a first line ``// not-json``);
- every event pattern or event shown (JSON or YAML with "source" / "detail-type") names only sources and
  detail-types that exist (``tailor.events.constants``: ``Source``, ``DetailType`` and the AWS events
  Tailor consumes);
- every ```yaml block parses with a SafeLoader that accepts CloudFormation tags (``!Ref``, ``!Sub``…);
- every ``tailor <command>`` in docs/cli.md's first table is a registered command of the typer app;
- docs/deploy.md documents every template Parameter, and every Parameter and Output it names exists;
- the relative links of the newcomer docs (quickstart, deploy, troubleshooting) reach a file, and
  their #anchors a heading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tailor.events.constants import (
    BEDROCK_JOB_STATE_CHANGE,
    BEDROCK_SOURCE,
    S3_OBJECT_CREATED,
    S3_SOURCE,
    DetailType,
    Source,
)
from tailor.local.sam_transform import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
DOC_FILES = sorted([REPO_ROOT / "README.md", *DOCS.glob("*.md")])
TEMPLATE = REPO_ROOT / "template.yaml"

OPT_OUT = "// not-json"
KNOWN_SOURCES = {s.value for s in Source} | {S3_SOURCE, BEDROCK_SOURCE}
KNOWN_DETAIL_TYPES = {d.value for d in DetailType} | {S3_OBJECT_CREATED, BEDROCK_JOB_STATE_CHANGE}

# Existing docs (not owned by the docs-snippet change) whose blocks fail a check, keyed by the file
# and the block's first line (not its line number, which moves with every edit above it). Each is
# an expected failure; once the block is fixed the test XPASSes: remove its entry here.
KNOWN_BROKEN: dict[tuple[str, str], str] = {
    ("docs/architecture.md", '{"specVersion": "1",'): (
        "the job.json sketch has // comments, a `a | b` value and {...}: not JSON"
    ),
    ("docs/events.md", '{"metadata": {"eventId": "…", "eventVersion": "1", "runId": "support-bot-3f9a…",'): (
        "the event envelope sketch uses … for values: not JSON"
    ),
}

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[A-Za-z0-9_+-]*)[ \t]*$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO_ROOT).as_posix()}:{self.line}"

    @property
    def key(self) -> tuple[str, str]:
        first = next((line.strip() for line in self.text.splitlines() if line.strip()), "")
        return (self.path.relative_to(REPO_ROOT).as_posix(), first)


def _blocks(path: Path) -> Iterator[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, lang = opening["indent"], opening["lang"].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        yield Block(path, i + 1, lang, "\n".join(body))
        i = j + 1


ALL_BLOCKS = [block for path in DOC_FILES for block in _blocks(path)]
JSON_BLOCKS = [b for b in ALL_BLOCKS if b.lang == "json" and not b.text.lstrip().startswith(OPT_OUT)]
YAML_BLOCKS = [b for b in ALL_BLOCKS if b.lang in ("yaml", "yml")]


def _params(blocks: list[Block]) -> list[Any]:
    return [
        pytest.param(
            b,
            id=b.where,
            marks=[pytest.mark.xfail(reason=f"{b.where}: {KNOWN_BROKEN[b.key]}", strict=False)]
            if b.key in KNOWN_BROKEN
            else [],
        )
        for b in blocks
    ]


def test_the_docs_have_snippets_to_check() -> None:
    assert len(JSON_BLOCKS) >= 20, [b.where for b in JSON_BLOCKS]
    assert (DOCS / "deploy.md").is_file() and (DOCS / "quickstart.md").is_file()


# -- JSON ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", _params(JSON_BLOCKS))
def test_json_blocks_parse(block: Block) -> None:
    try:
        json.loads(block.text)
    except json.JSONDecodeError as error:
        pytest.fail(f"{block.where}: not JSON ({error}); fix it, or start it with {OPT_OUT!r}")


def _events_and_patterns(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if "source" in value or "detail-type" in value:
            yield value
        for child in value.values():
            yield from _events_and_patterns(child)
    elif isinstance(value, list):
        for child in value:
            yield from _events_and_patterns(child)


def _names(field: Any) -> Iterator[str]:
    """The exact names a pattern field matches (strings, also inside lists); operators such as
    ``{"prefix": "tailor."}`` are checked by the caller."""
    if isinstance(field, str):
        yield field
    elif isinstance(field, list):
        for item in field:
            if isinstance(item, str):
                yield item


def _unknown_names(value: Any) -> list[str]:
    unknown = []
    for found in _events_and_patterns(value):
        for key, known in (("source", KNOWN_SOURCES), ("detail-type", KNOWN_DETAIL_TYPES)):
            field = found.get(key)
            unknown += [f"{key} {name!r}" for name in _names(field) if name not in known]
            operators = [
                item for item in (field if isinstance(field, list) else []) if isinstance(item, dict)
            ]
            for operator in operators:
                prefix = operator.get("prefix")
                if isinstance(prefix, str) and not any(name.startswith(prefix) for name in known):
                    unknown.append(f"{key} prefix {prefix!r}")
    return unknown


@pytest.mark.parametrize("block", _params(JSON_BLOCKS))
def test_event_patterns_use_real_sources_and_detail_types(block: Block) -> None:
    try:
        value = json.loads(block.text)
    except json.JSONDecodeError:
        pytest.skip("not JSON: test_json_blocks_parse reports it")
    assert _unknown_names(value) == [], f"{block.where}: not in tailor.events.constants"


def test_the_event_check_catches_a_wrong_name() -> None:
    pattern = {"source": ["tailor.ingest"], "detail-type": ["DatasetValidated", "DatasetInvalid"]}
    assert _unknown_names(pattern) == ["source 'tailor.ingest'", "detail-type 'DatasetInvalid'"]
    assert _unknown_names({"source": [{"prefix": "tailor."}]}) == []
    assert _unknown_names({"$or": [{"source": ["aws.bedrock"]}, {"source": ["tailor.nope"]}]}) == [
        "source 'tailor.nope'"
    ]


# -- YAML ---------------------------------------------------------------------------------------------


def _load_yaml(text: str) -> Any:
    import yaml

    from tailor.local.sam_transform import _cfn_loader_class

    return yaml.load(text, Loader=_cfn_loader_class())  # a SafeLoader subclass with CFN tags


@pytest.mark.parametrize("block", _params(YAML_BLOCKS))
def test_yaml_blocks_parse(block: Block) -> None:
    try:
        _load_yaml(block.text)
    except Exception as error:
        pytest.fail(f"{block.where}: not YAML (CloudFormation tags allowed): {error}")


@pytest.mark.parametrize("block", _params(YAML_BLOCKS))
def test_yaml_event_patterns_use_real_sources_and_detail_types(block: Block) -> None:
    try:
        value = _load_yaml(block.text)
    except Exception:
        pytest.skip("not YAML: test_yaml_blocks_parse reports it")
    assert _unknown_names(value) == [], f"{block.where}: not in tailor.events.constants"


def test_the_yaml_loader_takes_cloudformation_tags() -> None:
    loaded = _load_yaml("Bucket: !Ref DataBucket\nArn: !GetAtt Queue.Arn\nName: !Sub '${AWS::StackName}-x'\n")
    assert loaded == {
        "Bucket": {"Ref": "DataBucket"},
        "Arn": {"Fn::GetAtt": ["Queue", "Arn"]},
        "Name": {"Fn::Sub": "${AWS::StackName}-x"},
    }


# -- docs/cli.md: the first table names real commands ---------------------------------------------------


def _first_table_first_column(path: Path) -> list[str]:
    cells: list[str] = []
    in_table = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            in_table = True
            first = re.split(r"(?<!\\)\|", line)[1].strip()
            if first and not set(first) <= set("-: "):
                cells.append(first)
        elif in_table:
            break
    return cells[1:]  # without the header row


def _registered() -> dict[str, set[str]]:
    """Top-level command name → sub-command names (empty for a plain command)."""
    import typer.main

    from tailor.cli.main import app

    group = typer.main.get_command(app)
    commands: dict[str, set[str]] = {}
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        commands[name] = set(getattr(command, "commands", {}) or {})
    return commands


def test_cli_md_first_table_names_registered_commands() -> None:
    registered = _registered()
    rows = _first_table_first_column(DOCS / "cli.md")
    assert len(rows) >= 10, rows
    named: set[str] = set()
    for cell in rows:
        match = re.match(r"`tailor ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", cell)
        assert match, f"docs/cli.md: first-table row {cell!r} does not start with `tailor <command>`"
        command, sub = match[1], match[2]
        assert command in registered, (
            f"docs/cli.md names `tailor {command}`, not a command of tailor.cli.main:app"
        )
        if registered[command]:
            assert sub in registered[command], (
                f"docs/cli.md names `tailor {command} {sub}`; "
                f"`tailor {command}` has {sorted(registered[command])}"
            )
            named.add(f"{command} {sub}")
        else:
            named.add(command)
    every = {f"{c} {s}" for c, subs in registered.items() for s in subs} | {
        c for c, subs in registered.items() if not subs
    }
    assert every - named == set(), "commands of the typer app missing from docs/cli.md's first table"


# -- docs/deploy.md: parameters and outputs -------------------------------------------------------------


def _section(text: str, heading: str) -> str:
    match = re.search(
        rf"^## {re.escape(heading)}\b.*?$(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL
    )
    assert match, f"docs/deploy.md has no '## {heading}' section"
    return match[1]


def _table_names(section: str) -> list[str]:
    return re.findall(r"^\| `([A-Za-z0-9]+)` \|", section, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE)


@pytest.fixture(scope="module")
def deploy_md() -> str:
    return (DOCS / "deploy.md").read_text(encoding="utf-8")


def test_deploy_md_documents_every_parameter(template: dict[str, Any], deploy_md: str) -> None:
    documented = _table_names(_section(deploy_md, "Parameters"))
    parameters = set(template["Parameters"])
    assert sorted(set(documented) - parameters) == [], (
        "docs/deploy.md documents parameters the template lacks"
    )
    assert sorted(parameters - set(documented)) == [], "template parameters missing from docs/deploy.md"
    assert len(documented) == len(set(documented)), "a parameter is documented twice"


def test_deploy_md_names_only_real_outputs(template: dict[str, Any], deploy_md: str) -> None:
    documented = _table_names(_section(deploy_md, "Outputs"))
    outputs = set(template["Outputs"])
    assert documented, "docs/deploy.md's Outputs section has no table"
    assert sorted(set(documented) - outputs) == [], "docs/deploy.md documents outputs the template lacks"
    assert sorted(outputs - set(documented)) == [], "template outputs missing from docs/deploy.md"


def test_deploy_md_parameter_overrides_name_real_parameters(template: dict[str, Any]) -> None:
    lines = [
        line
        for block in _blocks(DOCS / "deploy.md")
        for line in block.text.splitlines()
        if "parameter-overrides" in line or "parameter_overrides" in line or line.startswith("  ")
    ]
    named = set(re.findall(r"\b([A-Z][A-Za-z0-9]+)=", "\n".join(lines)))
    assert sorted(named - set(template["Parameters"])) == [], "docs/deploy.md overrides unknown parameters"


def test_deploy_md_lists_every_retained_resource(template: dict[str, Any], deploy_md: str) -> None:
    retained = {
        name for name, resource in template["Resources"].items() if resource.get("DeletionPolicy") == "Retain"
    }
    assert retained, "template.yaml retains nothing: update docs/deploy.md's teardown"
    listed = set(_table_names(_section(deploy_md, "Tearing it down")))
    assert sorted(retained - listed) == [], "retained resources missing from docs/deploy.md's teardown table"
    assert sorted(listed - set(template["Resources"])) == []


def test_deploy_md_counts_the_alarms(template: dict[str, Any], deploy_md: str) -> None:
    alarms = sorted(n for n, r in template["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm")
    costs = _section(deploy_md, "What it costs")
    assert f"{len(alarms)} CloudWatch alarms" in costs
    for alarm in alarms:
        assert f"`{alarm}`" in deploy_md, f"docs/deploy.md does not name the alarm {alarm}"


# -- links of the newcomer docs --------------------------------------------------------------------------

NEWCOMER_DOCS = ["quickstart.md", "deploy.md", "troubleshooting.md"]


def _anchors(path: Path) -> set[str]:
    """GitHub's heading ids: lower-cased, punctuation dropped, spaces to hyphens."""
    anchors = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^#{1,6} (.+)$", line)
        if heading:
            text = heading[1].strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("name", NEWCOMER_DOCS)
def test_newcomer_doc_links_resolve(name: str) -> None:
    path = DOCS / name
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        exists = linked.exists()
        missing_anchor = exists and bool(anchor) and linked.suffix == ".md" and anchor not in _anchors(linked)
        if not exists or missing_anchor:
            broken.append(target)
    assert broken == [], f"docs/{name}: links that reach no file or heading"
