"""Protocol aite-cmd/1, the wrapper's side: aite drives a model through a wrapper program's
stdin/stdout (docs/remote.md, "Command target"). Import this module and call `serve`.

Each message is one JSON object on one line (UTF-8, ending in "\n"), followed by exactly the
sum of its tensors' `parameters.binary_data_size` raw bytes: little-endian, row-major, in the
order the tensors are listed. stdout carries only the protocol; log to stderr.

    aite    -> {"type":"metadata","protocol":"aite-cmd/1"}
    wrapper -> {"protocol":"aite-cmd/1","name":…,"platform":…,"runtime":…,"inputs":[{name,datatype,shape}],"outputs":[…]}
    aite    -> {"type":"infer","id":"7","inputs":[{name,datatype,shape,"parameters":{"binary_data_size":N}}]} + bytes
    wrapper -> {"id":"7","model_name":…,"outputs":[{…,"parameters":{"binary_data_size":N}}],"timing_ns":{"infer":T}} + bytes
               or {"id":"7","error":"…","code":"invalid_input"|"runtime"}
    aite    -> {"type":"shutdown"}   (the wrapper exits 0; so does EOF on stdin)
"""
import json
import sys
import time

import numpy as np

PROTOCOL = "aite-cmd/1"
DATATYPES = {
    "BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32, "UINT64": np.uint64,
    "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
}


def datatype(dtype):
    """The OIP datatype name of a numpy dtype."""
    for name, t in DATATYPES.items():
        if np.dtype(t) == np.dtype(dtype):
            return name
    raise ValueError(f"no OIP datatype for numpy {dtype}")


class InvalidInput(Exception):
    """The request does not fit the model: answered with code invalid_input."""


def _send(out, header, tensors=()):
    blobs = []
    for entry, array in zip(header.get("outputs", []), tensors):
        data = np.ascontiguousarray(array).astype(np.dtype(DATATYPES[entry["datatype"]]).newbyteorder("<"), copy=False).tobytes()
        entry.setdefault("parameters", {})["binary_data_size"] = len(data)
        blobs.append(data)
    out.write(json.dumps(header, separators=(",", ":")).encode() + b"\n")
    for b in blobs:
        out.write(b)
    out.flush()


def _read_exact(inp, n):
    data = inp.read(n)
    if len(data) != n:
        raise EOFError(f"stdin ended {n - len(data)} bytes short of a tensor")
    return data


def serve(metadata, infer):
    """Answer aite on stdin/stdout until shutdown or EOF.

    `metadata`: the model's OIP metadata (name, platform, runtime, inputs, outputs).
    `infer(dict name -> numpy array) -> list of (name, numpy array)` in the outputs' order.
    """
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    # Anything the runtime prints must not reach the protocol stream.
    sys.stdout = sys.stderr
    while True:
        line = inp.readline()
        if not line:
            return
        msg = json.loads(line)
        kind = msg.get("type")
        if kind == "shutdown":
            return
        if kind == "metadata":
            _send(out, dict(metadata, protocol=PROTOCOL))
            continue
        if kind != "infer":
            _send(out, {"error": f"unknown message type {kind!r}", "code": "invalid_input"})
            continue
        rid = msg.get("id")
        tensors = {}
        for entry in msg["inputs"]:
            raw = _read_exact(inp, entry["parameters"]["binary_data_size"])
            dt = DATATYPES.get(entry["datatype"])
            tensors[entry["name"]] = None if dt is None else np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder("<")).reshape(entry["shape"])
        try:
            if any(v is None for v in tensors.values()):
                raise InvalidInput("an input datatype this wrapper does not read")
            start = time.perf_counter_ns()
            outputs = infer(tensors)
            took = time.perf_counter_ns() - start
        except InvalidInput as e:
            _send(out, {"id": rid, "error": str(e), "code": "invalid_input"})
            continue
        except Exception as e:  # the runtime's own failure, reported to aite with its message
            _send(out, {"id": rid, "error": f"{type(e).__name__}: {e}", "code": "runtime"})
            continue
        header = {
            "id": rid,
            "model_name": metadata["name"],
            "outputs": [{"name": n, "datatype": datatype(a.dtype), "shape": list(a.shape)} for n, a in outputs],
            "timing_ns": {"infer": took},
        }
        _send(out, header, [a for _, a in outputs])
