"""Deterministic benchmark datasets for the validator (written to benchmarks/data/, gitignored).

    python benchmarks/validator/generate.py [--out DIR] [--cpt-mb 200] [--ft-records 20000 200000]

Fine-tuning records look like support chats: an optional system prompt and 3 to 7
user/assistant turns of 6 to 45 words (about 1.9 KB a record), with colons, parentheses and
"Ticket N:" in the prose (which exercise the reserved-string check without being reserved).
The CPT corpus is paragraphs of 30 to 450 words as ``{"text": ...}``. Same seed, same bytes,
on any machine.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import orjson

SEED = 20261129
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data"

_COMMON_WORDS = (
    "the of and to a in is you that it for on with as are this be your can at by from or have "
    "will not an we if all more about which when there their one what so up out do time use how "
    "said each she which them then many some would make like into him has two see way could "
    "people than first been call who its now find long down day did get come made may part "
    "account password order refund shipping device error update install settings customer "
    "support please thanks help issue problem reset email address payment invoice delivery"
)
_SYSTEMS = (
    "You are a helpful customer support assistant for an online store.",
    "You answer questions about our software product concisely and accurately.",
    "You are a friendly travel agent. Keep answers short and practical.",
    "You are an expert technical writer. Explain clearly, step by step.",
)
_PUNCT = (".", ".", ".", ".", ",", ",", "?", "!", ": for example", " (see below)", "; ", " -")


def _vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    words = _COMMON_WORDS.split()
    while len(words) < size:
        length = 2 + int(rng.random() * 9)
        words.append("".join(letters[int(rng.random() ** 1.7 * 26)] for _ in range(length)))
    return words


class _Text:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = _vocabulary(self.rng)

    def words_between(self, low: int, high: int) -> str:
        rng, words = self.rng, self.words
        count = low + int(rng.random() * (high - low))
        out: list[str] = []
        for i in range(count):
            # Zipf-ish: common words far more often than rare ones.
            out.append(words[int(rng.random() ** 3 * len(words))])
            if i % 12 == 11:
                out[-1] += _PUNCT[int(rng.random() * len(_PUNCT))]
        text = " ".join(out)
        return text[0].upper() + text[1:] + "."


def fine_tuning_record(text: _Text, index: int) -> dict[str, object]:
    """A support chat: 3 to 7 user/assistant turns (5 on average), short to medium messages."""
    rng = text.rng
    turns = 3 + int(rng.random() * 5)
    messages: list[dict[str, object]] = []
    for turn in range(turns):
        prefix = f"Ticket {index}: " if turn == 0 and rng.random() < 0.3 else ""
        messages.append({"role": "user", "content": [{"text": prefix + text.words_between(6, 30)}]})
        messages.append({"role": "assistant", "content": [{"text": text.words_between(8, 45)}]})
    record: dict[str, object] = {"schemaVersion": "bedrock-conversation-2024"}
    if rng.random() < 0.7:
        record["system"] = [{"text": _SYSTEMS[int(rng.random() * len(_SYSTEMS))]}]
    record["messages"] = messages
    return record


def write_fine_tuning(path: Path, records: int, seed: int = SEED) -> Path:
    text = _Text(seed)
    with path.open("wb") as out:
        for index in range(records):
            out.write(orjson.dumps(fine_tuning_record(text, index)) + b"\n")
    return path


def write_cpt(path: Path, megabytes: int, seed: int = SEED + 1) -> Path:
    text = _Text(seed)
    target = megabytes * 1_000_000
    written = 0
    with path.open("wb") as out:
        while written < target:
            paragraph = text.words_between(30, 450)
            line = orjson.dumps({"text": paragraph}) + b"\n"
            out.write(line)
            written += len(line)
    return path


def write_one_line(path: Path, line: bytes) -> Path:
    path.write_bytes(line + b"\n")
    return path


def generate(out: Path, cpt_mb: int, ft_records: list[int], force: bool = False) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for count in ft_records:
        path = out / f"ft_{count}.jsonl"
        if force or not path.exists():
            write_fine_tuning(path, count)
        files[f"ft_{count}"] = path
    path = out / f"cpt_{cpt_mb}mb.jsonl"
    if force or not path.exists():
        write_cpt(path, cpt_mb)
    files["cpt"] = path
    files["cpt_1"] = write_one_line(out / "cpt_1.jsonl", b'{"text": "One short line."}')
    first_ft = orjson.dumps(fine_tuning_record(_Text(SEED), 0))
    files["ft_1"] = write_one_line(out / "ft_1.jsonl", first_ft)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--cpt-mb", type=int, default=200)
    parser.add_argument("--ft-records", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--force", action="store_true", help="rewrite files that already exist")
    args = parser.parse_args()
    for name, path in generate(args.out, args.cpt_mb, args.ft_records, args.force).items():
        print(f"{name:10} {path}  {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
