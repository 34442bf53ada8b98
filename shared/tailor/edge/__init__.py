"""Edge export: an open compact ONNX model (never Nova weights, which do not leave AWS) checked,
quantized, gated on fidelity, bundled, signed and rolled out to IoT fleets; plus the reference
device agent. onnx/onnxruntime/numpy are imported lazily, only where a model is actually touched."""
