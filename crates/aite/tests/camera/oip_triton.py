"""The simulated camera's inference server: a real Triton Inference Server 2.51 (PyPI
nvidia-pytriton 0.7.0, CPU) serving one ONNX model through onnxruntime, tests only.
Run with the peer virtualenv's python (see crates/aite-remote/peers/serve_onnx.py for
the LD_LIBRARY_PATH the backend stub needs).

    oip_triton.py MODEL.onnx ADDRESS PORT NAME WORKSPACE

Open Inference Protocol over HTTP only, on ADDRESS:PORT (gRPC and metrics off, so the
camera has no other port). No authentication, and PyTriton's restricted endpoints
(model repository, statistics, ...) opened (restricted_endpoints=[]): the vulnerable
camera's misconfiguration. PyTriton's sockets and Triton's files go in WORKSPACE (a
folder that must not exist yet). Runs until SIGTERM/SIGINT.
"""
import sys

import numpy as np
import onnxruntime as ort
from pytriton.decorators import sample
from pytriton.model_config import ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig, TritonSecurityConfig

DTYPES = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8, "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    model, address, port, name, workspace = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    inputs, outputs = session.get_inputs(), session.get_outputs()
    shape = lambda s: tuple(d if isinstance(d, int) else -1 for d in s)

    @sample
    def infer(**tensors):
        result = session.run(None, {i.name: tensors[i.name] for i in inputs})
        return {o.name: r for o, r in zip(outputs, result)}

    config = TritonConfig(http_address=address, http_port=port, allow_grpc=False, allow_metrics=False, allow_gpu_metrics=False)
    with Triton(config=config, workspace=workspace, security_config=TritonSecurityConfig(restricted_endpoints=[])) as triton:
        triton.bind(
            model_name=name,
            infer_func=infer,
            inputs=[Tensor(name=i.name, dtype=DTYPES[i.type], shape=shape(i.shape)) for i in inputs],
            outputs=[Tensor(name=o.name, dtype=DTYPES[o.type], shape=shape(o.shape)) for o in outputs],
            config=ModelConfig(batching=False),
        )
        print(f"oip_triton.py: Triton serving {name} on {address}:{port}", flush=True)
        triton.serve()


if __name__ == "__main__":
    main()
