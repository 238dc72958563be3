"""Real TensorFlow SavedModels (tf.saved_model.save) with tf.py_function and
tf.numpy_function, and a clean one, as the peer of `aite security`'s
SavedModel walker (crates/aite-security/tests/model_artifacts.rs).

Usage: python savedmodel_tf_peer.py DIR

Writes DIR/<name>/ (saved_model.pb, variables/, ...) and prints one line per
model, counted by TensorFlow's own saved_model_pb2 parse of saved_model.pb:
name meta_graphs graph_nodes functions function_nodes py_func_nodes.
Needs: pip install tensorflow-cpu==2.21.0.
"""
import os, sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

PY_FUNC = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}


class PyFunction(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
    def __call__(self, x):
        return tf.py_function(lambda v: v.numpy() * 2, [x], tf.float32)


class NumpyFunction(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([2], tf.float32)])
    def __call__(self, x):
        return tf.numpy_function(lambda v: v * 2, [x], tf.float32)


class Clean(tf.Module):
    def __init__(self):
        self.w = tf.Variable([[1.0, 2.0], [3.0, 4.0]])

    @tf.function(input_signature=[tf.TensorSpec([1, 2], tf.float32)])
    def __call__(self, x):
        return tf.nn.relu(tf.matmul(x, self.w))


def count(path):
    sm = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        sm.ParseFromString(f.read())
    metas = sm.meta_graphs
    nodes = sum(len(m.graph_def.node) for m in metas)
    functions = sum(len(m.graph_def.library.function) for m in metas)
    fnodes = sum(len(f.node_def) for m in metas for f in m.graph_def.library.function)
    py = sum(n.op in PY_FUNC for m in metas for n in m.graph_def.node) + sum(n.op in PY_FUNC for m in metas for f in m.graph_def.library.function for n in f.node_def)
    return len(metas), nodes, functions, fnodes, py


if __name__ == "__main__":
    root = sys.argv[1]
    for name, module in [("py_function", PyFunction()), ("numpy_function", NumpyFunction()), ("clean", Clean())]:
        out = os.path.join(root, name)
        tf.saved_model.save(module, out)
        print(name, *count(os.path.join(out, "saved_model.pb")))
