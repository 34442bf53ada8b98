"""Build the sample intent classifier: ``python samples/edge/intent-classifier/build.py OUT_DIR``.

Writes intent-classifier.onnx, golden.json and labels.json (byte-identical on every run) and shows
the label it gives a few sentences. The model is an open student model, not Nova weights.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "shared"))

from tailor.edge.sample import build_intent_classifier, classify

EXAMPLES = ("I was charged twice this month", "where is my parcel?", "I forgot my password")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: build.py OUT_DIR", file=sys.stderr)
        return 2
    model = build_intent_classifier(Path(argv[0]))
    for name in (model.name, "golden.json", "labels.json"):
        path = model.parent / name
        print(f"{path}  {path.stat().st_size:,} bytes")
    for text in EXAMPLES:
        print(f"{text!r} → {classify(model, text)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
