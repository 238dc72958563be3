"""Protocol aite-cmd/1, the wrapper's side: aite drives a model through a wrapper program's
stdin/stdout (`cmd:PROGRAM`), or through a long-running wrapper daemon on a Unix stream socket
(`cmd+unix://PATH`, the wrapper started with `--unix PATH`) (docs/remote.md, "Command target").
Import this module, read the arguments with `parse_args` and call `serve`.

Each message is one JSON object on one line (UTF-8, ending in "\n"), followed by exactly the
sum of its tensors' `parameters.binary_data_size` raw bytes: little-endian, row-major, in the
order the tensors are listed. stdout carries only the protocol; log to stderr.

    aite    -> {"type":"metadata","protocol":"aite-cmd/1"}
    wrapper -> {"protocol":"aite-cmd/1","name":…,"platform":…,"runtime":…,"inputs":[{name,datatype,shape}],"outputs":[…]}
    aite    -> {"type":"infer","id":"7","inputs":[{name,datatype,shape,"parameters":{"binary_data_size":N}}]} + bytes
    wrapper -> {"id":"7","model_name":…,"outputs":[{…,"parameters":{"binary_data_size":N}}],"timing_ns":{"infer":T}} + bytes
               or {"id":"7","error":"…","code":"invalid_input"|"runtime"}
    aite    -> {"type":"shutdown"}   (the wrapper exits 0; so does EOF on stdin)

Over a socket every connection runs its own metadata ... shutdown sequence; "shutdown" (or EOF)
ends that connection, and the daemon keeps listening until SIGTERM/SIGINT, then removes its
socket. Connections are served at once, each on its own thread; the model runs one request at a
time (a lock), so runtimes that are not thread-safe are safe here.
"""
import json
import os
import signal
import socket
import stat
import sys
import threading
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


def parse_args(argv, usage):
    """`[--unix PATH] ARG...` -> (socket path or None, [ARG...]); exits with `usage` otherwise."""
    args, unix = list(argv), None
    if "--unix" in args:
        i = args.index("--unix")
        if i + 1 >= len(args):
            sys.exit(f"usage: {usage}")
        unix = args[i + 1]
        del args[i:i + 2]
    return unix, args


def serve(metadata, infer, unix=None):
    """Answer aite until shutdown or EOF: on stdin/stdout, or with `unix` set, on every connection
    to a Unix stream socket at that path, until SIGTERM/SIGINT.

    `metadata`: the model's OIP metadata (name, platform, runtime, inputs, outputs).
    `infer(dict name -> numpy array) -> list of (name, numpy array)` in the outputs' order.
    """
    # Anything the runtime prints must not reach the protocol stream.
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    if unix is None:
        _serve_stream(inp, out, metadata, infer)
        return
    _serve_socket(unix, metadata, infer)


def _serve_socket(path, metadata, infer):
    if os.path.lexists(path):
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            sys.exit(f"{path} exists and is not a socket; not replacing it")
        os.unlink(path)  # a stale socket of an earlier run
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)
    lock = threading.Lock()

    def locked(tensors):
        with lock:
            return infer(tensors)

    def connection(conn):
        with conn:
            try:
                _serve_stream(conn.makefile("rb"), conn.makefile("wb"), metadata, locked)
            except (BrokenPipeError, ConnectionResetError, EOFError) as e:
                print(f"aite-cmd: connection ended: {e}", file=sys.stderr)

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"aite-cmd: {metadata['name']} listening on {path}", file=sys.stderr, flush=True)
    try:
        while True:
            conn, _ = server.accept()
            threading.Thread(target=connection, args=(conn,), daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _serve_stream(inp, out, metadata, infer):
    """One aite-cmd/1 conversation on a byte stream pair, until shutdown or EOF."""
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
