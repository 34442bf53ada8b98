"""Golden inputs and expected outputs: the blob a bundle ships for its fidelity record and smoke test.

Tensors are stored exactly (little-endian raw bytes, base64) so that the device compares against the
very numbers the export function measured. numpy is imported lazily: reading the manifest never
needs it, the smoke test does.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from pydantic import Field

from tailor.events.base import WireModel

if TYPE_CHECKING:
    import numpy as np

GOLDEN_SCHEMA = "tailor.edge.golden/1"
GOLDEN_FILE_NAME = "golden.json"
# 64 samples of a few thousand floats stay far below this; anything bigger is hostile.
MAX_GOLDEN_BYTES = 16 * 1024 * 1024
_DTYPES = frozenset({"float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool"})


class Tensor(WireModel):
    dtype: str
    shape: list[int]
    data: str  # base64 of the little-endian C-order bytes

    @classmethod
    def of(cls, array: np.ndarray) -> Tensor:
        import numpy as np

        contiguous = np.ascontiguousarray(array)
        little = contiguous.astype(contiguous.dtype.newbyteorder("<"), copy=False)
        return cls(
            dtype=str(contiguous.dtype),
            shape=list(contiguous.shape),
            data=base64.b64encode(little.tobytes()).decode(),
        )

    def array(self) -> np.ndarray:
        import numpy as np

        if self.dtype not in _DTYPES:
            raise ValueError(f"golden tensor dtype {self.dtype!r} is not one of {sorted(_DTYPES)}")
        dtype = np.dtype(self.dtype).newbyteorder("<")
        raw = base64.b64decode(self.data, validate=True)
        count = 1
        for dim in self.shape:
            if dim < 0:
                raise ValueError(f"golden tensor shape {self.shape} has a negative dimension")
            count *= dim
        if len(raw) != count * dtype.itemsize:
            raise ValueError(
                f"golden tensor holds {len(raw)} bytes; shape {self.shape} of {self.dtype} needs "
                f"{count * dtype.itemsize}"
            )
        return np.frombuffer(raw, dtype=dtype).reshape(self.shape).astype(dtype.newbyteorder("="))


Sample = dict[str, Tensor]  # input or output name → tensor


class GoldenSet(WireModel):
    """``inputs[i]`` is one sample's feeds; ``expected[profile][i]`` that profile's outputs for it."""

    schema_: str = Field(default=GOLDEN_SCHEMA, alias="schema")
    inputs: list[Sample] = Field(min_length=1, max_length=1024)
    # "fp32" holds the source model's outputs; each profile name, its shipped model's outputs.
    expected: dict[str, list[Sample]]

    def feeds(self, index: int) -> dict[str, np.ndarray]:
        return {name: tensor.array() for name, tensor in self.inputs[index].items()}

    def outputs(self, key: str, index: int) -> dict[str, np.ndarray]:
        return {name: tensor.array() for name, tensor in self.expected[key][index].items()}

    def to_bytes(self) -> bytes:
        import orjson

        return orjson.dumps(self.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_bytes(cls, data: bytes) -> GoldenSet:
        if len(data) > MAX_GOLDEN_BYTES:
            raise ValueError(f"golden set is {len(data)} bytes, more than {MAX_GOLDEN_BYTES}")
        golden = cls.model_validate_json(data)
        if golden.schema_ != GOLDEN_SCHEMA:
            raise ValueError(f"golden set schema {golden.schema_!r} is not {GOLDEN_SCHEMA!r}")
        for key, samples in golden.expected.items():
            if len(samples) != len(golden.inputs):
                raise ValueError(
                    f"golden set has {len(golden.inputs)} inputs but {len(samples)} expected "
                    f"outputs for {key!r}"
                )
        return golden


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two tensors flattened as float64 (1.0 when both are all zeros)."""
    import numpy as np

    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        return 0.0
    nx, ny = float(np.linalg.norm(x)), float(np.linalg.norm(y))
    if nx == 0.0 and ny == 0.0:
        return 1.0
    if nx == 0.0 or ny == 0.0:
        return 0.0
    return float(np.dot(x, y) / (nx * ny))
