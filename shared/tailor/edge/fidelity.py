"""The release gate: does the quantized model still answer like the fp32 one on the golden inputs?

Both files run side by side in onnxruntime on the CPU with one or two threads (what a small device
has, and reproducible). A release passes when the lowest cosine is high enough *or* the top class
agrees often enough: a classifier whose logits drift but whose decisions do not is still fine.
Per-channel weights keep fidelity better, so they are tried first; per-tensor is the fallback.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tailor.edge.errors import ExportError, Stage
from tailor.edge.golden import cosine
from tailor.edge.manifest import FidelityReport, Quantization
from tailor.edge.profiles import DeviceProfile
from tailor.edge.quantize import quantize

if TYPE_CHECKING:
    import numpy as np

    from tailor.jobs.spec import FidelitySpec

Outputs = dict[str, "np.ndarray"]
INTRA_OP_THREADS = 2


def run_model(path: Path, samples: Sequence[dict[str, np.ndarray]]) -> list[Outputs]:
    """Each sample's outputs by name, from onnxruntime's CPU provider."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = INTRA_OP_THREADS
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        names = [output.name for output in session.get_outputs()]
        return [dict(zip(names, session.run(names, dict(feeds)), strict=True)) for feeds in samples]
    except Exception as exc:  # onnxruntime raises its own unrelated types
        raise ExportError(
            Stage.FIDELITY,
            "model_run_failed",
            f"onnxruntime could not run {Path(path).name} on the golden inputs: "
            f"{type(exc).__name__}: {' '.join(str(exc).split())[:500]}",
            hint="run the model locally with onnxruntime on the same inputs; check the golden file's "
            "shapes and dtypes against the model's inputs",
        ) from None


@dataclass(frozen=True, slots=True)
class FidelityGate:
    min_cosine: float = 0.99
    min_argmax_agreement: float = 0.99

    @classmethod
    def from_spec(cls, spec: FidelitySpec) -> FidelityGate:
        return cls(min_cosine=spec.min_cosine, min_argmax_agreement=spec.min_argmax_agreement)

    def evaluate(self, reference: Sequence[Outputs], candidate: Sequence[Outputs]) -> FidelityReport:
        """Lowest per-sample, per-output cosine, and argmax agreement on the first float output."""
        import numpy as np

        if len(reference) != len(candidate) or not reference:
            raise ValueError("reference and candidate must hold the same, non-zero number of samples")
        lowest = min(
            cosine(ref[name], cand[name])
            for ref, cand in zip(reference, candidate, strict=True)
            for name in ref
        )
        first_float = next((n for n, a in reference[0].items() if np.issubdtype(a.dtype, np.floating)), None)
        agree = 0
        for ref, cand in zip(reference, candidate, strict=True):
            if first_float is None:
                agree += all(np.array_equal(ref[n], cand[n]) for n in ref)
                continue
            a, b = ref[first_float], cand[first_float]
            if a.ndim == 0 or a.shape != b.shape:
                agree += bool(a.shape == b.shape and np.array_equal(a, b))
            else:
                agree += bool(np.array_equal(np.argmax(a, axis=-1), np.argmax(b, axis=-1)))
        agreement = agree / len(reference)
        if lowest >= self.min_cosine:
            metric, threshold, passed = "cosine", self.min_cosine, True
        elif agreement >= self.min_argmax_agreement:
            metric, threshold, passed = "argmax", self.min_argmax_agreement, True
        else:
            metric, threshold, passed = "cosine", self.min_cosine, False
        return FidelityReport(
            cosine=round(lowest, 6),
            argmax_agreement=round(agreement, 6),
            metric=metric,
            threshold=threshold,
            passed=passed,
            samples=len(reference),
        )


@dataclass(frozen=True, slots=True)
class Quantized:
    """One gated model file for a profile: where it is, how it was made, how well it agrees."""

    path: Path
    quantization: Quantization
    report: FidelityReport
    outputs: list[Outputs]  # the file's own outputs on the golden inputs (the profile's expected)
    quantize_seconds: float = 0.0
    fidelity_seconds: float = 0.0


def quantize_gated(
    source: Path,
    out_path: Path,
    profile: DeviceProfile,
    gate: FidelityGate,
    samples: Sequence[dict[str, np.ndarray]],
    reference: Sequence[Outputs],
) -> Quantized:
    """Per-channel where it keeps fidelity, else per-tensor; raise when neither passes the gate."""
    attempts: list[tuple[bool, FidelityReport | None, ExportError | None]] = []
    quantize_seconds = fidelity_seconds = 0.0
    for per_channel in (True, False):
        trial = out_path.with_name(f"{out_path.stem}.{'perchannel' if per_channel else 'pertensor'}.tmp")
        started = time.perf_counter()
        try:
            settings = quantize(source, trial, profile, per_channel)
        except ExportError as exc:
            trial.unlink(missing_ok=True)
            attempts.append((per_channel, None, exc))
            continue
        finally:
            quantize_seconds += time.perf_counter() - started
        started = time.perf_counter()
        outputs = run_model(trial, samples)
        report = gate.evaluate(reference, outputs)
        fidelity_seconds += time.perf_counter() - started
        if report.passed:
            trial.replace(out_path)
            return Quantized(out_path, settings, report, outputs, quantize_seconds, fidelity_seconds)
        trial.unlink(missing_ok=True)
        attempts.append((per_channel, report, None))
    measured = [(pc, r) for pc, r, _ in attempts if r is not None]
    if not measured:
        error = attempts[-1][2]
        assert error is not None
        raise error
    best_pc, best = max(measured, key=lambda item: (item[1].cosine, item[1].argmax_agreement))
    tried = ", ".join(
        f"{'per-channel' if pc else 'per-tensor'}: "
        + (
            f"cosine {r.cosine:.4f}, argmax {r.argmax_agreement:.3f}"
            if r
            else f"failed ({e.code if e else '?'})"
        )
        for pc, r, e in attempts
    )
    raise ExportError(
        Stage.FIDELITY,
        "fidelity_below_threshold",
        f"int8 model for profile {profile.name!r} misses the fidelity gate on {best.samples} golden "
        f"inputs (needs cosine >= {gate.min_cosine} or argmax agreement >= {gate.min_argmax_agreement}; "
        f"{tried})",
        hint='ship the fp32 model (job.json edge.quantize: "none"), or lower the gate in job.json '
        "edge.fidelity (minCosine / minArgmaxAgreement) if this agreement is acceptable",
        details={
            "cosine": best.cosine,
            "argmaxAgreement": best.argmax_agreement,
            "minCosine": gate.min_cosine,
            "minArgmaxAgreement": gate.min_argmax_agreement,
            "profile": profile.name,
            "perChannel": best_pc,
            "samples": best.samples,
        },
    )
