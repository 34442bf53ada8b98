"""JSON Schema export of the catalog: ``python -m tailor.events.schemas DIR [--check]``.

Each file is the schema of a whole EventBridge event of one detail-type (envelope included), so
subscribers can validate what their rule receives.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from tailor.events.catalog import CATALOG
from tailor.events.envelope import EventBridgeEvent, TailorDetail


def schema_for(detail_type: str) -> dict[str, Any]:
    spec = CATALOG[detail_type]  # type: ignore[index]
    model = EventBridgeEvent[TailorDetail[spec.model]]  # type: ignore[name-defined]
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    schema["title"] = spec.detail_type.value
    schema["description"] = spec.description
    props = schema.setdefault("properties", {})
    props["source"] = {"const": spec.source.value, "title": "Source", "type": "string"}
    props["detail-type"] = {"const": spec.detail_type.value, "title": "Detail-Type", "type": "string"}
    return schema


def render_all() -> dict[str, bytes]:
    """file name → content for every detail-type."""
    return {
        f"{detail_type.value}.json": orjson.dumps(
            schema_for(detail_type), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
        )
        + b"\n"
        for detail_type in CATALOG
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    out = Path(args[0] if args else "events/schemas")
    rendered = render_all()
    stale = [
        name
        for name, body in rendered.items()
        if not (out / name).is_file() or (out / name).read_bytes() != body
    ]
    if check:
        for name in stale:
            print(f"{out / name} is out of date: run `make schemas`", file=sys.stderr)
        return 1 if stale else 0
    out.mkdir(parents=True, exist_ok=True)
    for name, body in rendered.items():
        (out / name).write_bytes(body)
    print(f"wrote {len(rendered)} schemas to {out} ({len(stale)} changed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
