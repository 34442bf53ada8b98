"""int8 dynamic quantization of an open ONNX model for one device profile, versions kept pinned.

Weights become int8 (about 4x smaller); activations are quantized at run time, so no calibration
data is needed. The source's IR version and ai.onnx opset set the device's minimum onnxruntime,
so the quantized file must keep them: a file the quantizer stamped newer is put back when that is
valid, otherwise the export fails here rather than on the device. Same input and settings → same
bytes, so profiles that quantize alike share one content-addressed blob.
"""

from __future__ import annotations

import logging
from pathlib import Path

from tailor.edge.checks import AI_ONNX, read_versions
from tailor.edge.errors import ExportError, Stage
from tailor.edge.manifest import Quantization
from tailor.edge.profiles import DeviceProfile

WEIGHT_TYPES = ("QInt8", "QUInt8")


class _DropPreprocessHint(logging.Filter):
    """quantize_dynamic logs "consider pre-processing" on the root logger for every model: noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def settings(profile: DeviceProfile, per_channel: bool) -> Quantization:
    return Quantization(
        mode="int8-dynamic",
        weight_type=profile.weight_type,
        per_channel=per_channel,
        reduce_range=profile.reduce_range,
    )


def quantize(source_path: Path, out_path: Path, profile: DeviceProfile, per_channel: bool) -> Quantization:
    """Write ``out_path`` = ``source_path`` with int8 weights as ``profile`` wants them."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if profile.weight_type not in WEIGHT_TYPES:
        raise ExportError(
            Stage.QUANTIZE,
            "quantize_unsupported_weight_type",
            f"profile {profile.name!r} asks for weight type {profile.weight_type!r}",
            hint=f"use one of {', '.join(WEIGHT_TYPES)} in tailor.edge.profiles",
        )
    source_ir, source_opsets = read_versions(onnx.load(str(source_path), load_external_data=False))
    mode = "per-channel" if per_channel else "per-tensor"
    quiet = _DropPreprocessHint()
    logging.getLogger().addFilter(quiet)
    try:
        quantize_dynamic(
            str(source_path),
            str(out_path),
            weight_type=QuantType[profile.weight_type],
            per_channel=per_channel,
            reduce_range=profile.reduce_range,
        )
    except Exception as exc:  # the quantizer raises anything
        raise ExportError(
            Stage.QUANTIZE,
            "quantize_failed",
            f"onnxruntime's quantize_dynamic ({mode}, {profile.weight_type}) failed for profile "
            f"{profile.name!r}: {type(exc).__name__}: {' '.join(str(exc).split())[:500]}",
            hint='ship this model unquantized (job.json edge.quantize: "none") or simplify the graph '
            "(onnxruntime.quantization.preprocess) before uploading it",
            details={"profile": profile.name, "perChannel": per_channel},
        ) from None
    finally:
        logging.getLogger().removeFilter(quiet)
    _pin_versions(Path(out_path), source_ir, source_opsets, profile.name)
    return settings(profile, per_channel)


def _pin_versions(out_path: Path, source_ir: int, source_opsets: dict[str, int], profile: str) -> None:
    import onnx

    model = onnx.load(str(out_path))
    ir_version, opsets = read_versions(model)
    if opsets.get(AI_ONNX) != source_opsets.get(AI_ONNX):
        raise ExportError(
            Stage.QUANTIZE,
            "quantize_changed_opset",
            f"quantizing for {profile!r} changed the ai.onnx opset from {source_opsets.get(AI_ONNX)} to "
            f"{opsets.get(AI_ONNX)}, which would raise the device's minimum onnxruntime",
            hint="export the source model with opset >= 13 so the quantizer need not upgrade it",
            details={
                "profile": profile,
                "sourceOpset": source_opsets.get(AI_ONNX),
                "opset": opsets.get(AI_ONNX),
            },
        )
    if ir_version == source_ir:
        return
    model.ir_version = source_ir
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise ExportError(
            Stage.QUANTIZE,
            "quantize_changed_ir",
            f"the quantized model for {profile!r} needs IR version {ir_version}; the source's IR "
            f"{source_ir} is not valid for it: {' '.join(str(exc).split())[:300]}",
            hint="export the source with a newer IR version, or ship it unquantized",
            details={"profile": profile, "sourceIrVersion": source_ir, "irVersion": ir_version},
        ) from None
    onnx.save_model(model, str(out_path))
