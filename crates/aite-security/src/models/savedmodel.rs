//! TensorFlow SavedModel graphs (`saved_model.pb`): the operators that run
//! Python when the graph is loaded and executed.
//!
//! `tf.py_function` / `tf.numpy_function` / `tf.compat.v1.py_func` become
//! `EagerPyFunc`, `PyFunc` or `PyFuncStateless` nodes; TensorFlow runs the
//! Python callable registered under the node's `token` attribute. A strict
//! hand-written protobuf walker reads only the messages on the way to the
//! operator names (no protoc, no generated code):
//!
//! ```text
//! SavedModel.meta_graphs(2) -> MetaGraphDef.graph_def(2) -> GraphDef.node(1) -> NodeDef.op(2)
//!                                                         -> GraphDef.library(2) -> FunctionDefLibrary.function(1)
//!                                                            -> FunctionDef.node_def(3) -> NodeDef.op(2)
//! ```
//!
//! Every length is checked against the bytes left, so a truncated or hostile
//! file is an error at a byte offset, never a panic or a silent clean result.

use serde::{Deserialize, Serialize};

/// Operators whose kernel calls back into Python.
pub const PY_FUNC_OPS: &[&str] = &["PyFunc", "PyFuncStateless", "EagerPyFunc"];

/// Largest file read: protobuf messages are limited to 2 GiB.
pub const SAVED_MODEL_BYTES_MAX: usize = 2 << 30;

/// What the walk covered: the evidence behind an "examined".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphWalk {
    pub meta_graphs: usize,
    /// Nodes of the meta graphs' top-level graphs.
    pub nodes: usize,
    /// Functions of the graphs' function libraries.
    pub functions: usize,
    /// Nodes inside those functions.
    pub function_nodes: usize,
}

impl std::fmt::Display for GraphWalk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} meta graph(s), {} graph node(s), {} function(s) with {} node(s) walked", self.meta_graphs, self.nodes, self.functions, self.function_nodes)
    }
}

/// One Python-calling node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyFuncNode {
    pub op: String,
    /// The node's name.
    pub name: String,
    /// The `token` attribute naming the registered Python callable, when present.
    pub token: Option<String>,
    /// Where it sits: "graph" or "function <name>".
    pub within: String,
}

/// Why a SavedModel could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {offset}")]
pub struct WalkError {
    pub offset: usize,
    pub what: String,
}

/// A protobuf field: its number and a length-delimited body (other wire types
/// carry no body here).
struct Field<'a> {
    number: u64,
    body: Option<&'a [u8]>,
}

/// Fields of the message `b`, which starts at byte `base` of the file.
fn fields(b: &[u8], base: usize) -> Result<Vec<Field<'_>>, WalkError> {
    let mut out = Vec::new();
    let mut p = 0usize;
    let err = |p: usize, what: &str| WalkError { offset: base + p, what: what.into() };
    let varint = |p: &mut usize| -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let x = *b.get(*p)?;
            *p += 1;
            v |= u64::from(x & 0x7f) << (7 * i);
            if x & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    };
    while p < b.len() {
        let start = p;
        let key = varint(&mut p).ok_or_else(|| err(start, "truncated field key"))?;
        let (number, wire) = (key >> 3, key & 7);
        if number == 0 {
            return Err(err(start, "field number 0 (not a protobuf message)"));
        }
        let skip = |p: &mut usize, n: usize| -> Result<(), WalkError> {
            if b.len() - *p < n {
                return Err(err(start, "truncated field"));
            }
            *p += n;
            Ok(())
        };
        match wire {
            0 => {
                varint(&mut p).ok_or_else(|| err(start, "truncated varint"))?;
                out.push(Field { number, body: None });
            }
            1 => {
                skip(&mut p, 8)?;
                out.push(Field { number, body: None });
            }
            2 => {
                let len = varint(&mut p).ok_or_else(|| err(start, "truncated length"))?;
                let len = usize::try_from(len).ok().filter(|&n| n <= b.len() - p).ok_or_else(|| err(start, "length beyond the end of the message (truncated)"))?;
                out.push(Field { number, body: Some(&b[p..p + len]) });
                p += len;
            }
            5 => {
                skip(&mut p, 4)?;
                out.push(Field { number, body: None });
            }
            w => return Err(err(start, &format!("wire type {w} (not a protobuf message)"))),
        }
    }
    Ok(out)
}

/// The length-delimited fields numbered `n`, each with its offset in the file.
fn bodies<'a>(fs: &[Field<'a>], n: u64, outer: &'a [u8], base: usize) -> Vec<(&'a [u8], usize)> {
    fs.iter().filter(|f| f.number == n).filter_map(|f| f.body).map(|b| (b, base + (b.as_ptr() as usize - outer.as_ptr() as usize))).collect()
}

fn text(fs: &[Field<'_>], n: u64) -> Option<String> {
    fs.iter().rev().find(|f| f.number == n).and_then(|f| f.body).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// Walk the NodeDef at `b`; record it if it calls Python.
fn node(b: &[u8], base: usize, within: &str, found: &mut Vec<PyFuncNode>) -> Result<(), WalkError> {
    let fs = fields(b, base)?;
    let op = text(&fs, 2).unwrap_or_default();
    if PY_FUNC_OPS.contains(&op.as_str()) {
        let mut token = None;
        // attr (5): map<string, AttrValue>; AttrValue.s (2) holds the token.
        for (entry, at) in bodies(&fs, 5, b, base) {
            let kv = fields(entry, at)?;
            if text(&kv, 1).as_deref() == Some("token") {
                if let Some((value, at)) = bodies(&kv, 2, entry, at).pop() {
                    token = text(&fields(value, at)?, 2);
                }
            }
        }
        found.push(PyFuncNode { op, name: text(&fs, 1).unwrap_or_default(), token, within: within.into() });
    }
    Ok(())
}

/// Walk a serialized SavedModel: every node of every meta graph and of every
/// function in their libraries.
pub fn walk(b: &[u8]) -> Result<(GraphWalk, Vec<PyFuncNode>), WalkError> {
    if b.len() > SAVED_MODEL_BYTES_MAX {
        return Err(WalkError { offset: 0, what: format!("{} bytes, above protobuf's {SAVED_MODEL_BYTES_MAX}-byte message limit", b.len()) });
    }
    let mut walk = GraphWalk::default();
    let mut found = Vec::new();
    let model = fields(b, 0)?;
    for (meta, at) in bodies(&model, 2, b, 0) {
        walk.meta_graphs += 1;
        let meta_fs = fields(meta, at)?;
        for (graph, at) in bodies(&meta_fs, 2, meta, at) {
            let graph_fs = fields(graph, at)?;
            for (n, at) in bodies(&graph_fs, 1, graph, at) {
                walk.nodes += 1;
                node(n, at, "graph", &mut found)?;
            }
            for (library, at) in bodies(&graph_fs, 2, graph, at) {
                let library_fs = fields(library, at)?;
                for (function, at) in bodies(&library_fs, 1, library, at) {
                    walk.functions += 1;
                    let function_fs = fields(function, at)?;
                    // signature (1): OpDef, whose name (1) is the function's.
                    let name = match bodies(&function_fs, 1, function, at).pop() {
                        Some((sig, at)) => text(&fields(sig, at)?, 1).unwrap_or_default(),
                        None => String::new(),
                    };
                    let within = format!("function {name}");
                    for (n, at) in bodies(&function_fs, 3, function, at) {
                        walk.function_nodes += 1;
                        node(n, at, &within, &mut found)?;
                    }
                }
            }
        }
    }
    if walk.meta_graphs == 0 {
        return Err(WalkError { offset: 0, what: "no meta graph (not a SavedModel, or truncated)".into() });
    }
    Ok((walk, found))
}
