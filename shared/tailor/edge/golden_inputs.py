"""The inputs the fidelity gate and the device smoke test run: shipped with the model, or generated.

Shipped inputs (a ``GoldenSet`` JSON file beside the model; only ``inputs`` is read) measure
fidelity on real data and are preferred. Without them, inputs are generated from the model's
signature with a seeded RNG, so the same model always gets the same golden set.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tailor.edge.errors import ExportError, Stage
from tailor.edge.golden import MAX_GOLDEN_BYTES, Tensor
from tailor.edge.manifest import TensorSpec

if TYPE_CHECKING:
    import numpy as np

Feeds = dict[str, "np.ndarray"]  # input name → array, one sample
GENERATED_SAMPLES = 32
MAX_SAMPLES = 1024  # GoldenSet's own limit
GENERATED_SEED = 20260101
MAX_GENERATED_ELEMENTS = 1_000_000  # per sample: a fixed dimension this big is not a "compact" model


def _fail(code: str, message: str, hint: str, **details: Any) -> ExportError:
    return ExportError(Stage.CHECK, code, message, hint=hint, details=details)


def _fits(spec: TensorSpec, array: np.ndarray, where: str) -> None:
    if str(array.dtype) != spec.elem_type:
        raise _fail(
            "golden_mismatch",
            f"{where}: input {spec.name!r} is {array.dtype}; the model wants {spec.elem_type}",
            f"store {spec.name!r} as {spec.elem_type} in the golden file",
        )
    fixed = list(spec.shape)
    if len(array.shape) != len(fixed) or any(
        isinstance(want, int) and want != got for want, got in zip(fixed, array.shape, strict=False)
    ):
        raise _fail(
            "golden_mismatch",
            f"{where}: input {spec.name!r} has shape {list(array.shape)}; the model wants {fixed}",
            "store each sample with the model's input shape (symbolic dimensions may be any size)",
        )


def load_shipped(path: Path, inputs: Sequence[TensorSpec]) -> list[Feeds]:
    """Read the ``inputs`` of a GoldenSet file and check them against the model's signature."""
    import orjson
    from pydantic import TypeAdapter, ValidationError

    data = Path(path).read_bytes()
    if len(data) > MAX_GOLDEN_BYTES:
        raise _fail(
            "golden_too_large",
            f"golden file {Path(path).name} is {len(data):,} bytes, more than {MAX_GOLDEN_BYTES:,}",
            "ship at most a few dozen samples (32 is plenty for the gate)",
        )
    try:
        raw = orjson.loads(data)
        samples = TypeAdapter(list[dict[str, Tensor]]).validate_python(raw["inputs"])
        feeds = [{name: tensor.array() for name, tensor in sample.items()} for sample in samples]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ValidationError) as exc:
        raise _fail(
            "golden_invalid",
            f"golden file {Path(path).name} is not a tailor.edge.golden/1 set with inputs: "
            f"{' '.join(str(exc).split())[:300]}",
            'write {"schema": "tailor.edge.golden/1", "inputs": [{"<input>": {"dtype", "shape", "data"}}], '
            '"expected": {}} (see tailor.edge.golden)',
        ) from None
    if not feeds:
        raise _fail(
            "golden_invalid", f"golden file {Path(path).name} has no inputs", "ship at least one sample"
        )
    if len(feeds) > MAX_SAMPLES:
        raise _fail(
            "golden_too_large",
            f"golden file {Path(path).name} has {len(feeds)} samples, more than {MAX_SAMPLES}",
            "ship at most a few dozen samples (32 is plenty for the gate)",
        )
    names = {spec.name for spec in inputs}
    for index, sample in enumerate(feeds):
        where = f"golden file {Path(path).name}, sample {index}"
        if set(sample) != names:
            raise _fail(
                "golden_mismatch",
                f"{where} feeds {sorted(sample)}; the model's inputs are {sorted(names)}",
                "name each tensor after a model input, and give every input",
            )
        for spec in inputs:
            _fits(spec, sample[spec.name], where)
    return feeds


def generate(
    inputs: Sequence[TensorSpec], *, samples: int = GENERATED_SAMPLES, seed: int = GENERATED_SEED
) -> list[Feeds]:
    """Seeded inputs from the signature: symbolic dims → 1, floats ~ N(0, 1), ints in [0, 8)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out: list[Feeds] = []
    for _ in range(samples):
        sample: Feeds = {}
        for spec in inputs:
            shape = tuple(dim if isinstance(dim, int) else 1 for dim in spec.shape)
            if int(np.prod(shape, dtype=np.int64)) > MAX_GENERATED_ELEMENTS:
                raise _fail(
                    "golden_too_large",
                    f"input {spec.name!r} has {int(np.prod(shape))} elements per sample",
                    "ship golden inputs with the model (job.json edge.golden)",
                )
            dtype = np.dtype(spec.elem_type)
            if dtype.kind == "f":
                sample[spec.name] = rng.standard_normal(shape).astype(dtype)
            elif dtype.kind == "b":
                sample[spec.name] = rng.integers(0, 2, size=shape).astype(bool)
            elif dtype.kind in "iu":
                sample[spec.name] = rng.integers(0, 8, size=shape).astype(dtype)
            else:
                raise _fail(
                    "golden_unsupported_dtype",
                    f"cannot generate golden values for input {spec.name!r} of type {spec.elem_type}",
                    "ship golden inputs with the model (job.json edge.golden)",
                )
        out.append(sample)
    return out
