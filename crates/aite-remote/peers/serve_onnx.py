"""Serve one ONNX model through a real Triton Inference Server (PyPI nvidia-pytriton, CPU),
for aite's remote-target tests: onnxruntime runs the model inside Triton's python backend.

    python serve_onnx.py MODEL.onnx HTTP_PORT [NAME]

HTTP on 127.0.0.1:HTTP_PORT, gRPC on HTTP_PORT+1, metrics on HTTP_PORT+2 (all loopback);
statistics and the other restricted endpoints are open (restricted_endpoints=[]). Runs until
SIGTERM/SIGINT. With a venv built from a non-Debian CPython, set
LD_LIBRARY_PATH=$(python -c 'import sys; print(sys.base_prefix)')/lib (the backend stub links libpython).
"""
import sys

import numpy as np
import onnxruntime as ort
from pytriton.decorators import sample
from pytriton.model_config import ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig

DTYPES = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def main():
    model, port = sys.argv[1], int(sys.argv[2])
    name = sys.argv[3] if len(sys.argv) > 3 else "model"
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    inputs, outputs = session.get_inputs(), session.get_outputs()
    shape = lambda s: tuple(d if isinstance(d, int) else -1 for d in s)

    @sample
    def infer(**tensors):
        result = session.run(None, {i.name: tensors[i.name] for i in inputs})
        return {o.name: r for o, r in zip(outputs, result)}

    config = TritonConfig(http_address="127.0.0.1", http_port=port, grpc_address="127.0.0.1", grpc_port=port + 1, metrics_port=port + 2, allow_gpu_metrics=False)
    with Triton(config=config, security_config=TritonSecurityConfig(restricted_endpoints=[])) as triton:
        triton.bind(
            model_name=name,
            infer_func=infer,
            inputs=[Tensor(name=i.name, dtype=DTYPES[i.type], shape=shape(i.shape)) for i in inputs],
            outputs=[Tensor(name=o.name, dtype=DTYPES[o.type], shape=shape(o.shape)) for o in outputs],
            config=ModelConfig(batching=False),
        )
        triton.serve()


if __name__ == "__main__":
    main()
