"""TensorFlow SavedModels written by the protobuf classes generated from
TensorFlow's own .proto files (tensorboard.compat.proto ships them; no
TensorFlow needed), as the independent encoder of `aite security`'s
SavedModel walker (crates/aite-security/tests/model_artifacts.rs).

Usage: python savedmodel_writer.py DIR

Writes DIR/<name>/saved_model.pb for each model and prints one line per model:
name meta_graphs graph_nodes functions function_nodes py_func_nodes.
Needs: pip install --no-deps tensorboard==2.19.0 (with protobuf).
"""
import os, sys

from tensorboard.compat.proto import meta_graph_pb2

PY_FUNC = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


def saved_model(metas):
    # SavedModel { int64 saved_model_schema_version = 1; repeated MetaGraphDef meta_graphs = 2; }
    # (saved_model.proto is not among tensorboard's copies; the wrapper is two fields.)
    def varint(v):
        out = bytearray()
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
        return bytes(out)

    body = b"\x08\x01"
    for m in metas:
        raw = m.SerializeToString()
        body += b"\x12" + varint(len(raw)) + raw
    return body


def meta(nodes, functions, tags=("serve",)):
    m = meta_graph_pb2.MetaGraphDef()
    m.meta_info_def.tags.extend(tags)
    m.meta_info_def.tensorflow_version = "2.19.0"
    m.graph_def.versions.producer = 1994
    for name, op, token in nodes:
        n = m.graph_def.node.add(name=name, op=op)
        n.attr["Tout"].list.type.append(1)
        if token:
            n.attr["token"].s = token.encode()
    for fname, fnodes in functions:
        f = m.graph_def.library.function.add()
        f.signature.name = fname
        f.signature.input_arg.add(name="x", type=1)
        f.ret["y"] = "n:output:0"
        for name, op, token in fnodes:
            n = f.node_def.add(name=name, op=op)
            n.input.append("x")
            if token:
                n.attr["token"].s = token.encode()
    # A signature as tf.saved_model.save writes one.
    sig = m.signature_def["serving_default"]
    sig.method_name = "tensorflow/serving/predict"
    sig.inputs["x"].name = "serving_default_x:0"
    return m


def count(metas):
    nodes = sum(len(m.graph_def.node) for m in metas)
    functions = sum(len(m.graph_def.library.function) for m in metas)
    fnodes = sum(len(f.node_def) for m in metas for f in m.graph_def.library.function)
    py = sum(n.op in PY_FUNC for m in metas for n in m.graph_def.node) + sum(n.op in PY_FUNC for m in metas for f in m.graph_def.library.function for n in f.node_def)
    return len(metas), nodes, functions, fnodes, py


MODELS = {
    "clean": [meta([("x", "Placeholder", None), ("w", "Const", None), ("y", "MatMul", None)], [("__inference_serve_11", [("n", "MatMul", None), ("r", "Relu", None)])])],
    "py_function": [meta([("x", "Placeholder", None), ("call", "StatefulPartitionedCall", None)], [("__inference_f_23", [("n", "EagerPyFunc", "pyfunc_0")]), ("__inference_g_24", [("m", "Identity", None)])])],
    "two_meta_graphs": [meta([("x", "Placeholder", None)], []), meta([("p", "PyFunc", "pyfunc_1"), ("q", "PyFuncStateless", "pyfunc_2")], [], tags=("train",))],
}

if __name__ == "__main__":
    root = sys.argv[1]
    for name, metas in MODELS.items():
        os.makedirs(os.path.join(root, name), exist_ok=True)
        with open(os.path.join(root, name, "saved_model.pb"), "wb") as f:
            f.write(saved_model(metas))
        print(name, *count(metas))
