"""Reference command-target wrapper around LiteRT (PyPI ai-edge-litert), protocol aite-cmd/1:
runs the quantized TFLite models tract cannot (e.g. resnet8_int8.tflite, int8 NHWC input).

    aite accuracy --target 'cmd:python3 litert_wrapper.py resnet8_int8.tflite' -d labels.csv \
        -p 'cifar10-resnet8,layout=nhwc,mean=128,dtype=i8'

With `--unix PATH` it is a daemon on that Unix stream socket instead (`--target cmd+unix://PATH`).

The tensors are the model's own (quantized dtype and layout); aite's preprocessing produces
them. One interpreter thread; see aite_cmd.py for the protocol.
"""
import os
import sys
from importlib.metadata import version

from ai_edge_litert.interpreter import Interpreter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aite_cmd import InvalidInput, datatype, parse_args, serve  # noqa: E402


def main():
    unix, args = parse_args(sys.argv[1:], "litert_wrapper.py [--unix PATH] MODEL.tflite")
    if len(args) != 1:
        sys.exit("usage: litert_wrapper.py [--unix PATH] MODEL.tflite")
    model_path = args[0]
    interpreter = Interpreter(model_path=model_path, num_threads=1)
    interpreter.allocate_tensors()
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    spec = lambda d: {"name": d["name"], "datatype": datatype(d["dtype"]), "shape": [int(x) for x in d["shape_signature"]],
                      "parameters": {"quantization": {"scale": float(d["quantization"][0]), "zero_point": int(d["quantization"][1])}}}
    metadata = {
        "name": os.path.splitext(os.path.basename(model_path))[0],
        "platform": "tflite",
        "runtime": f"ai-edge-litert {version('ai-edge-litert')}",
        "inputs": [spec(d) for d in inputs],
        "outputs": [spec(d) for d in outputs],
    }

    def infer(tensors):
        for d in inputs:
            if d["name"] not in tensors:
                raise InvalidInput(f"missing input {d['name']}")
            x = tensors[d["name"]]
            if x.dtype != d["dtype"] or list(x.shape) != [int(s) for s in d["shape"]]:
                raise InvalidInput(f"input {d['name']} needs {d['dtype'].__name__} {list(d['shape'])}, got {x.dtype} {list(x.shape)}")
            interpreter.set_tensor(d["index"], x)
        interpreter.invoke()
        return [(d["name"], interpreter.get_tensor(d["index"])) for d in outputs]

    serve(metadata, infer, unix)


if __name__ == "__main__":
    main()
