//! A pickle opcode walker: lists every global a pickle would import, without
//! deserialising anything. It models the stack and memo just enough to
//! resolve `STACK_GLOBAL` operands pushed directly or fetched from the memo
//! (the trick several scanner bypasses use), and keeps reading concatenated
//! pickles (legacy PyTorch files hold four in a row). Byte and string
//! operands that are pickles themselves are walked by [`nested`].

pub mod nested;

use serde::{Deserialize, Serialize};

/// One import a pickle performs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    pub module: String,
    pub name: String,
    /// Byte offset of the opcode.
    pub offset: u64,
}

/// What the walker saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PickleScan {
    pub imports: Vec<Import>,
    /// `STACK_GLOBAL` whose operands were not strings known statically.
    pub dynamic_imports: usize,
    /// The walk stopped early: unknown opcode or truncated data (offset, reason).
    pub error: Option<(u64, String)>,
    pub pickles: usize,
    /// Byte and string operands that could hold a nested pickle (raw, or as
    /// base64/hex text): their opcode, offset and byte range in the input.
    #[serde(skip)]
    pub payloads: Vec<Payload>,
    /// Position after the last `STOP` read.
    #[serde(skip)]
    pub end: usize,
}

/// A byte or string operand of the walked pickle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub opcode: &'static str,
    /// Offset of the opcode.
    pub offset: u64,
    /// The operand's bytes in the input.
    pub range: std::ops::Range<usize>,
    pub form: OperandForm,
}

/// How an operand's bytes spell its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperandForm {
    /// The bytes themselves (`BINBYTES`, `SHORT_BINSTRING`, ...).
    Bytes,
    /// UTF-8 text; its characters may be latin-1 bytes (`_codecs.encode(s,
    /// "latin1")`, how protocols 0-2 store Python 3 `bytes`).
    Utf8,
    /// `UNICODE` (protocol 0): raw-unicode-escape, latin-1 with `\uXXXX` escapes.
    RawUnicodeEscape,
    /// `STRING` (protocol 0): a quoted Python literal with backslash escapes.
    Quoted,
}

#[derive(Clone)]
enum V {
    Str(String),
    Mark,
    Other,
}

fn line(b: &[u8], p: usize) -> Option<(&[u8], usize)> {
    let end = b[p..].iter().position(|&c| c == b'\n')?;
    Some((&b[p..p + end], p + end + 1))
}

fn le(b: &[u8], p: usize, n: usize) -> Option<u64> {
    let s = b.get(p..p + n)?;
    Some(s.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64))
}

/// The memo index operand of GET/PUT opcodes (1-byte, 4-byte or text forms)
/// and the position after it.
fn memo_index(op: u8, b: &[u8], p: usize) -> Option<(u64, usize)> {
    match op {
        b'h' | b'q' => Some((le(b, p, 1)?, p + 1)),
        b'j' | b'r' => Some((le(b, p, 4)?, p + 4)),
        _ => {
            let (s, q) = line(b, p)?;
            Some((String::from_utf8_lossy(s).trim().parse().unwrap_or(u64::MAX), q))
        }
    }
}

/// The name of a byte or string opcode, as `pickletools` spells it.
fn opcode_name(op: u8) -> &'static str {
    match op {
        0x8c => "SHORT_BINUNICODE",
        b'U' => "SHORT_BINSTRING",
        b'X' => "BINUNICODE",
        b'T' => "BINSTRING",
        0x8d => "BINUNICODE8",
        b'V' => "UNICODE",
        b'S' => "STRING",
        b'C' => "SHORT_BINBYTES",
        b'B' => "BINBYTES",
        0x8e => "BINBYTES8",
        0x96 => "BYTEARRAY8",
        _ => "?",
    }
}

/// Record an operand; only those long enough to hold a pickle (`N.` is the shortest).
fn payload(out: &mut PickleScan, op: u8, at: usize, range: std::ops::Range<usize>, b: &[u8]) {
    let form = match op {
        0x8c | b'X' | 0x8d => OperandForm::Utf8,
        b'V' => OperandForm::RawUnicodeEscape,
        b'S' => OperandForm::Quoted,
        _ => OperandForm::Bytes,
    };
    if b.get(range.clone()).is_some_and(|x| nested::plausible(x, form)) {
        out.payloads.push(Payload { opcode: opcode_name(op), offset: at as u64, range, form });
    }
}

/// Walk the pickle(s) in `b`.
pub fn scan(b: &[u8]) -> PickleScan {
    let mut out = PickleScan::default();
    let mut p = 0usize;
    let mut stack: Vec<V> = Vec::new();
    let mut memo: std::collections::HashMap<u64, V> = std::collections::HashMap::new();
    let pop_mark = |stack: &mut Vec<V>| {
        while let Some(v) = stack.pop() {
            if matches!(v, V::Mark) {
                break;
            }
        }
    };
    macro_rules! fail {
        ($why:expr) => {{
            out.error = Some((p as u64, $why.to_string()));
            return out;
        }};
    }
    macro_rules! need {
        ($e:expr) => {
            match $e {
                Some(v) => v,
                None => fail!("truncated"),
            }
        };
    }
    let mut in_pickle = false;
    while p < b.len() {
        let op = b[p];
        let at = p;
        p += 1;
        if !in_pickle {
            in_pickle = true;
            out.pickles += 1;
        }
        match op {
            b'.' => {
                // STOP: another pickle may follow (legacy PyTorch); anything else ends the walk.
                in_pickle = false;
                out.end = p;
                stack.clear();
                memo.clear();
                if !matches!(b.get(p), Some(0x80)) {
                    return out;
                }
            }
            0x80 => p += 1,  // PROTO
            0x95 => p += 8,  // FRAME
            b'c' | b'i' => {
                let (m, q) = need!(line(b, p));
                let (n, q) = need!(line(b, q));
                p = q;
                out.imports.push(Import { module: String::from_utf8_lossy(m).into_owned(), name: String::from_utf8_lossy(n).into_owned(), offset: at as u64 });
                if op == b'i' {
                    pop_mark(&mut stack);
                }
                stack.push(V::Other);
            }
            0x93 => {
                let name = stack.pop();
                let module = stack.pop();
                match (module, name) {
                    (Some(V::Str(m)), Some(V::Str(n))) => out.imports.push(Import { module: m, name: n, offset: at as u64 }),
                    _ => out.dynamic_imports += 1,
                }
                stack.push(V::Other);
            }
            0x8c | b'U' => {
                let n = need!(b.get(p)).to_owned() as usize;
                let s = need!(b.get(p + 1..p + 1 + n));
                payload(&mut out, op, at, p + 1..p + 1 + n, b);
                p += 1 + n;
                stack.push(V::Str(String::from_utf8_lossy(s).into_owned()));
            }
            b'X' | b'T' => {
                let n = need!(le(b, p, 4)) as usize;
                let s = need!(b.get(p + 4..p + 4 + n));
                payload(&mut out, op, at, p + 4..p + 4 + n, b);
                p += 4 + n;
                stack.push(V::Str(String::from_utf8_lossy(s).into_owned()));
            }
            0x8d => {
                let n = need!(le(b, p, 8)) as usize;
                let s = need!(b.get(p + 8..p.saturating_add(8).saturating_add(n)));
                payload(&mut out, op, at, p + 8..p + 8 + n, b);
                p += 8 + n;
                stack.push(V::Str(String::from_utf8_lossy(s).into_owned()));
            }
            b'V' | b'S' => {
                let (s, q) = need!(line(b, p));
                payload(&mut out, op, at, p..p + s.len(), b);
                p = q;
                let text = String::from_utf8_lossy(s).into_owned();
                let text = if op == b'S' { text.trim_matches(|c| c == '\'' || c == '"').to_string() } else { text };
                stack.push(V::Str(text));
            }
            b'C' => {
                let n = need!(b.get(p)).to_owned() as usize;
                need!(b.get(p + 1..p + 1 + n));
                payload(&mut out, op, at, p + 1..p + 1 + n, b);
                p += 1 + n;
                stack.push(V::Other);
            }
            b'B' => {
                let n = need!(le(b, p, 4)) as usize;
                need!(b.get(p + 4..p + 4 + n));
                payload(&mut out, op, at, p + 4..p + 4 + n, b);
                p += 4 + n;
                stack.push(V::Other);
            }
            0x8e | 0x96 => {
                let n = need!(le(b, p, 8)) as usize;
                let end = p.saturating_add(8).saturating_add(n);
                need!(b.get(p + 8..end));
                payload(&mut out, op, at, p + 8..end, b);
                p = end;
                stack.push(V::Other);
            }
            b'I' | b'L' | b'F' | b'P' => {
                let (_, q) = need!(line(b, p));
                p = q;
                stack.push(V::Other);
            }
            b'J' => {
                p += 4;
                stack.push(V::Other);
            }
            b'K' => {
                p += 1;
                stack.push(V::Other);
            }
            b'M' => {
                p += 2;
                stack.push(V::Other);
            }
            b'G' => {
                p += 8;
                stack.push(V::Other);
            }
            0x8a => {
                let n = need!(b.get(p)).to_owned() as usize;
                p += 1 + n;
                stack.push(V::Other);
            }
            0x8b => {
                let n = need!(le(b, p, 4)) as usize;
                p += 4 + n;
                stack.push(V::Other);
            }
            b'N' | 0x88 | 0x89 | b')' | b']' | b'}' | 0x8f => stack.push(V::Other),
            b'(' => stack.push(V::Mark),
            b'h' | b'j' | b'g' => {
                let (idx, q) = need!(memo_index(op, b, p));
                p = q;
                stack.push(memo.get(&idx).cloned().unwrap_or(V::Other));
            }
            b'q' | b'r' | b'p' => {
                let (idx, q) = need!(memo_index(op, b, p));
                p = q;
                if let Some(top) = stack.last().cloned() {
                    memo.insert(idx, top);
                }
            }
            0x94 => {
                if let Some(top) = stack.last().cloned() {
                    let n = memo.len() as u64;
                    memo.insert(n, top);
                }
            }
            b'R' | 0x81 => {
                stack.pop();
                stack.pop();
                stack.push(V::Other);
            }
            0x92 => {
                stack.truncate(stack.len().saturating_sub(3));
                stack.push(V::Other);
            }
            b'b' | b'a' | b'0' => {
                stack.pop();
            }
            b's' => {
                stack.pop();
                stack.pop();
            }
            b'Q' | 0x85 => {
                stack.pop();
                stack.push(V::Other);
            }
            0x86 => {
                stack.truncate(stack.len().saturating_sub(2));
                stack.push(V::Other);
            }
            0x87 => {
                stack.truncate(stack.len().saturating_sub(3));
                stack.push(V::Other);
            }
            b't' | b'l' | b'd' | 0x91 | b'o' => {
                pop_mark(&mut stack);
                stack.push(V::Other);
            }
            b'e' | b'u' | 0x90 | b'1' => pop_mark(&mut stack),
            b'2' => {
                if let Some(top) = stack.last().cloned() {
                    stack.push(top);
                }
            }
            0x97 | 0x98 => stack.push(V::Other),
            other => fail!(format!("unknown opcode 0x{other:02x}")),
        }
        if p > b.len() {
            fail!("truncated");
        }
    }
    if in_pickle {
        out.error = Some((p as u64, "no STOP opcode (truncated)".into()));
    }
    out
}

/// How an import is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// On aite's allowlist of what ML checkpoints legitimately import.
    Safe,
    /// Code execution, file, network or process access: modelscan's and picklescan's lists and more.
    Dangerous,
    /// Anything else: not known to be safe (published bypasses use obscure stdlib modules).
    Unknown,
}

const DANGEROUS_MODULES: &[&str] = &[
    "os", "posix", "nt", "subprocess", "socket", "runpy", "sys", "pickle", "_pickle", "shutil", "asyncio", "ctypes", "importlib", "marshal",
    "code", "codeop", "pty", "webbrowser", "urllib", "urllib2", "requests", "http", "httplib", "ftplib", "smtplib", "telnetlib", "imaplib", "poplib",
    "multiprocessing", "signal", "pip", "setuptools", "distutils", "cloudpickle", "dill", "commands", "platform", "pydoc", "timeit", "bdb", "pdb",
    "profile", "cProfile", "trace", "doctest", "_osx_support", "_aix_support", "_pyrepl", "uuid", "test", "venv", "ensurepip", "zipimport", "glob",
    "tempfile", "logging", "io", "_io", "builtins.open", "operator", "functools", "types", "torch.hub", "torch.serialization", "numpy.testing",
    "sqlite3", "xmlrpc", "socketserver", "ssl", "select", "mmap", "fcntl", "resource", "gc", "inspect",
];
const DANGEROUS_BUILTINS: &[&str] = &["eval", "exec", "execfile", "compile", "open", "__import__", "getattr", "setattr", "delattr", "apply", "breakpoint", "input", "globals", "locals", "vars", "memoryview", "exit", "quit", "help"];
const SAFE: &[&str] = &[
    "collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque", "_codecs.encode", "copy_reg._reconstructor", "copyreg._reconstructor",
    "__builtin__.set", "__builtin__.frozenset", "__builtin__.slice", "__builtin__.complex", "__builtin__.bytearray", "builtins.set", "builtins.frozenset", "builtins.slice",
    "builtins.range", "builtins.complex", "builtins.bytearray", "builtins.bytes", "builtins.dict", "builtins.list", "builtins.tuple", "builtins.int", "builtins.float",
    "builtins.str", "builtins.bool", "builtins.object", "__builtin__.object", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor", "torch._utils._rebuild_device_tensor_from_numpy", "torch.Size", "torch.device", "torch.dtype",
    "torch.float32", "torch.float16", "torch.bfloat16", "torch.int64", "torch.int32", "torch.uint8", "torch.int8", "torch.bool", "torch.FloatStorage", "torch.HalfStorage",
    "torch.BFloat16Storage", "torch.DoubleStorage", "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage",
    "torch.QInt8Storage", "torch.QUInt8Storage", "torch.storage.UntypedStorage", "torch.nn.parameter.Parameter", "numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar",
    "numpy._core.multiarray._reconstruct", "numpy._core.multiarray.scalar", "numpy.ndarray", "numpy.dtype", "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
    "numpy.random._pickle.__randomstate_ctor", "numpy.random.mtrand._rand",
];
/// Prefixes of classes that legitimately appear in model pickles (estimator classes, layer classes).
const SAFE_PREFIXES: &[&str] = &["sklearn.", "xgboost.", "lightgbm.", "torch.nn.modules.", "torchvision.models.", "numpy.dtypes."];

pub fn verdict(i: &Import) -> Verdict {
    let full = format!("{}.{}", i.module, i.name);
    let module_root = i.module.split('.').next().unwrap_or("");
    if matches!(i.module.as_str(), "builtins" | "__builtin__" | "__builtins__") && DANGEROUS_BUILTINS.contains(&i.name.as_str()) {
        return Verdict::Dangerous;
    }
    if SAFE.contains(&full.as_str()) {
        return Verdict::Safe;
    }
    if DANGEROUS_MODULES.iter().any(|d| i.module == *d || i.module.starts_with(&format!("{d}.")) || full == *d || (module_root == *d && !d.contains('.'))) {
        return Verdict::Dangerous;
    }
    if SAFE_PREFIXES.iter().any(|p| full.starts_with(p)) {
        return Verdict::Safe;
    }
    Verdict::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_0_global_and_protocol_4_stack_global_are_found() {
        // cos\nsystem\n(S'id'\ntR.
        let p0 = b"cos\nsystem\n(S'id'\ntR.";
        let s = scan(p0);
        assert_eq!(s.imports, vec![Import { module: "os".into(), name: "system".into(), offset: 0 }]);
        assert!(s.error.is_none());
        // Protocol 4: \x80\x04\x95 frame, SHORT_BINUNICODE 'posix' MEMOIZE, SHORT_BINUNICODE 'system' MEMOIZE, STACK_GLOBAL ...
        let mut p4 = vec![0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0, 0];
        p4.extend([0x8c, 5]);
        p4.extend(b"posix");
        p4.push(0x94);
        p4.extend([0x8c, 6]);
        p4.extend(b"system");
        p4.push(0x94);
        p4.push(0x93);
        // Memo trick: fetch the strings again with BINGET and import once more.
        p4.extend([b'h', 0, b'h', 1, 0x93]);
        p4.extend([0x8c, 2]);
        p4.extend(b"id");
        p4.extend([0x85, b'R', b'.']);
        let s = scan(&p4);
        assert_eq!(s.imports.len(), 2, "{s:?}");
        assert!(s.imports.iter().all(|i| i.module == "posix" && i.name == "system"));
        assert_eq!(s.dynamic_imports, 0);
    }

    #[test]
    fn garbage_and_truncation_are_reported_not_panicked() {
        assert!(scan(b"\x80\x04\xff").error.is_some());
        assert!(scan(b"cos\nsys").error.is_some());
        let s = scan(&[0x80, 2, 0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert!(s.error.is_some());
    }

    #[test]
    fn verdicts() {
        let v = |m: &str, n: &str| verdict(&Import { module: m.into(), name: n.into(), offset: 0 });
        assert_eq!(v("torch._utils", "_rebuild_tensor_v2"), Verdict::Safe);
        assert_eq!(v("collections", "OrderedDict"), Verdict::Safe);
        assert_eq!(v("builtins", "eval"), Verdict::Dangerous);
        assert_eq!(v("os", "system"), Verdict::Dangerous);
        assert_eq!(v("subprocess", "Popen"), Verdict::Dangerous);
        assert_eq!(v("imaplib", "IMAP4"), Verdict::Dangerous);
        assert_eq!(v("some_module", "thing"), Verdict::Unknown);
        assert_eq!(v("sklearn.linear_model._logistic", "LogisticRegression"), Verdict::Safe);
    }
}
