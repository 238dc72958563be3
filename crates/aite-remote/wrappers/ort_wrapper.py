"""Reference command-target wrapper around ONNX Runtime (PyPI onnxruntime), protocol aite-cmd/1.

    aite accuracy --target 'cmd:python3 ort_wrapper.py MODEL.onnx' -d labels.csv -p PRESET

or as a daemon on the device, one Unix stream socket, any number of aite runs:

    python3 ort_wrapper.py --unix /run/aite/ort.sock MODEL.onnx &
    aite accuracy --target cmd+unix:///run/aite/ort.sock -d labels.csv -p PRESET

Serves one ONNX model on the CPU, one thread; see aite_cmd.py for the protocol.
"""
import os
import sys

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aite_cmd import InvalidInput, datatype, parse_args, serve  # noqa: E402

ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64, "tensor(uint8)": np.uint8,
             "tensor(int8)": np.int8, "tensor(int32)": np.int32, "tensor(int64)": np.int64, "tensor(bool)": np.bool_}


def main():
    unix, args = parse_args(sys.argv[1:], "ort_wrapper.py [--unix PATH] MODEL.onnx")
    if len(args) != 1:
        sys.exit("usage: ort_wrapper.py [--unix PATH] MODEL.onnx")
    model_path = args[0]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    inputs, outputs = session.get_inputs(), session.get_outputs()
    spec = lambda t: {"name": t.name, "datatype": datatype(ORT_TYPES[t.type]), "shape": [d if isinstance(d, int) else -1 for d in t.shape]}
    metadata = {
        "name": os.path.splitext(os.path.basename(model_path))[0],
        "platform": "onnxruntime_onnx",
        "runtime": f"onnxruntime {ort.__version__}",
        "inputs": [spec(i) for i in inputs],
        "outputs": [spec(o) for o in outputs],
    }

    def infer(tensors):
        missing = [i.name for i in inputs if i.name not in tensors]
        if missing:
            raise InvalidInput(f"missing input(s) {missing}")
        result = session.run(None, {i.name: tensors[i.name] for i in inputs})
        return [(o.name, r) for o, r in zip(outputs, result)]

    serve(metadata, infer, unix)


if __name__ == "__main__":
    main()
