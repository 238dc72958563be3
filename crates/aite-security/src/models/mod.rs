//! Model artifacts a device ships: what loading them could execute, and their
//! hashes. No anchor covers ONNX or TFLite; for pickles aite reads opcodes
//! (never deserialises) and judges every import against an allowlist, so
//! published blocklist bypasses are still caught.
//!
//! - pickles (`.pkl .pickle .pt .pth .bin .ckpt .joblib`), zip-wrapped PyTorch
//!   files, NumPy `.npy/.npz` object arrays;
//! - Keras `.h5` / `.keras` Lambda layers (marshalled Python bytecode);
//! - ONNX: external-data paths leaving the model folder, custom operator
//!   domains, huge declared tensors;
//! - TFLite: custom operators;
//! - TensorFlow SavedModels: `PyFunc`/`EagerPyFunc` operators (Python runs
//!   with the graph), in the graphs and their function libraries.
//!
//! Pickles nested inside pickles (raw, latin-1, base64 or hex operands) are
//! walked too and reported as information: loading the outer file runs none
//! of their imports.

pub mod pickle;
pub mod savedmodel;

use crate::finding::Finding;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;

/// One model artifact and what was found in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelArtifact {
    pub path: String,
    pub format: String,
    pub sha256: String,
    pub size: u64,
    /// Imports of every pickle inside, with their verdicts.
    pub imports: Vec<(String, pickle::Verdict)>,
    /// Code or hazards a loader meets besides plain weights: custom operators
    /// (ONNX domains, TFLite custom codes), Keras Lambda layers, external-data
    /// paths, huge tensors.
    pub custom_code: Vec<CodeFinding>,
    /// Parts that could not be examined (encrypted, unsupported, corrupt).
    pub unscanned: Vec<String>,
    /// Its OpenSSF Model Signing signature, when one was found beside it.
    #[serde(default)]
    pub signature: Option<SignatureCheck>,
    /// Pickles found inside its pickles' byte and string operands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nested_pickles: Vec<pickle::nested::NestedPickle>,
    /// A SavedModel's graph walk: how many graphs, nodes and functions were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<savedmodel::GraphWalk>,
}

impl ModelArtifact {
    /// The artifact as a content rule's examined subject: its path, with what
    /// was walked when that is more than "the file" (a graph, nested pickles).
    pub fn subject(&self) -> String {
        let mut what = Vec::new();
        if let Some(g) = &self.graph {
            what.push(g.to_string());
        }
        let walked = self.nested_pickles.iter().filter(|n| n.not_walked.is_none()).count();
        if walked > 0 {
            what.push(format!("{walked} nested pickle(s) walked"));
        }
        if what.is_empty() {
            self.path.clone()
        } else {
            format!("{} ({})", self.path, what.join("; "))
        }
    }

    /// Subjects of content rules that were found but not examined, with the
    /// rule and the cause (nested pickles beyond the depth or size bound).
    pub fn not_examined(&self) -> Vec<(&'static str, String)> {
        self.nested_pickles.iter().filter_map(|n| n.not_walked.as_ref().map(|why| ("AITE-MODEL-PICKLE-NESTED", format!("{}: {why}", n.path)))).collect()
    }
}

/// What kind of hazard a [`CodeFinding`] is; each kind has its own rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    CustomOp,
    KerasLambda,
    ExternalDataPath,
    HugeTensor,
    /// A TensorFlow operator that calls back into Python (`PyFunc`, `EagerPyFunc`).
    PyFunc,
}

impl CodeKind {
    pub fn rule(self) -> &'static str {
        match self {
            CodeKind::CustomOp => "AITE-MODEL-CUSTOM-OP",
            CodeKind::KerasLambda => "AITE-MODEL-KERAS-LAMBDA",
            CodeKind::ExternalDataPath => "AITE-MODEL-ONNX-EXTERNAL-PATH",
            CodeKind::HugeTensor => "AITE-MODEL-HUGE-TENSOR",
            CodeKind::PyFunc => "AITE-MODEL-TF-PYFUNC",
        }
    }
}

/// Code or a hazard found in a model, with what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeFinding {
    pub kind: CodeKind,
    pub detail: String,
}

impl CodeFinding {
    pub fn new(kind: CodeKind, detail: String) -> Self {
        CodeFinding { kind, detail }
    }
}

/// The rules that judge an artifact of `format` by its contents.
pub fn content_rules(format: &str) -> &'static [&'static str] {
    match format {
        "pickle" | "zip" | "npy" | "npz" => &["AITE-MODEL-PICKLE-CODE", "AITE-MODEL-PICKLE-UNKNOWN", "AITE-MODEL-PICKLE-NESTED"],
        "keras" | "keras-h5" => &["AITE-MODEL-KERAS-LAMBDA"],
        "onnx" => &["AITE-MODEL-ONNX-EXTERNAL-PATH", "AITE-MODEL-CUSTOM-OP", "AITE-MODEL-HUGE-TENSOR"],
        "tflite" => &["AITE-MODEL-CUSTOM-OP"],
        "savedmodel" => &["AITE-MODEL-TF-PYFUNC"],
        _ => &[],
    }
}

/// A model signature found in the image and what checking it gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureCheck {
    /// The bundle's path inside the image.
    pub bundle: String,
    pub verification: crate::signing::Verification,
}

/// Whether an artifact is a model that should carry a signature (weights and
/// graphs; not generic archives or data arrays).
pub fn is_model(path: &str, format: &str) -> bool {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match format {
        "onnx" | "tflite" | "keras" | "keras-h5" | "savedmodel" => true,
        "pickle" | "zip" => matches!(ext.as_str(), "pt" | "pth" | "ckpt" | "pkl" | "pickle" | "joblib" | "bin"),
        _ => false,
    }
}

/// The artifact's format by name and first bytes, or `None` if it is not a model file.
pub fn detect(path: &str, head: &[u8]) -> Option<&'static str> {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    let is_pickle_head = head.len() >= 2 && head[0] == 0x80 && (1..=5).contains(&head[1]);
    let is_zip = head.starts_with(b"PK\x03\x04");
    let file_name = path.rsplit('/').next().unwrap_or(path);
    if file_name.eq_ignore_ascii_case("saved_model.pb") {
        return Some("savedmodel");
    }
    match ext.as_str() {
        "onnx" => Some("onnx"),
        "tflite" | "lite" => Some("tflite"),
        "h5" | "hdf5" => Some("keras-h5"),
        "keras" => Some("keras"),
        "npy" => Some("npy"),
        "npz" => Some("npz"),
        "7z" => Some("7z"),
        "pkl" | "pickle" | "pt" | "pth" | "ckpt" | "joblib" | "bin" | "dat" | "data" | "zip" if is_zip => Some("zip"),
        "pkl" | "pickle" | "pt" | "pth" | "ckpt" | "joblib" | "dat" | "data" => Some("pickle"),
        "bin" if is_pickle_head => Some("pickle"),
        "zip" => Some("zip"),
        _ if is_pickle_head && head.get(2..).is_some_and(|r| r.iter().take(16).any(|&b| b == 0x95 || b == b'c' || b == 0x8c || b == b'}' || b == b']')) => Some("pickle"),
        _ => None,
    }
}

fn npy_payload(b: &[u8]) -> Option<(&str, &[u8])> {
    if !b.starts_with(b"\x93NUMPY") || b.len() < 10 {
        return None;
    }
    let (len, start) = if b[6] == 1 { (u16::from_le_bytes([b[8], b[9]]) as usize, 10) } else { (u32::from_le_bytes(b.get(8..12)?.try_into().ok()?) as usize, 12) };
    let header = std::str::from_utf8(b.get(start..start + len)?).ok()?;
    Some((header, &b[start + len..]))
}

/// Examine one artifact's bytes.
pub fn examine(path: &str, format: &str, bytes: &[u8]) -> ModelArtifact {
    let mut a = ModelArtifact {
        path: path.into(),
        format: format.into(),
        sha256: hex::encode(Sha256::digest(bytes)),
        size: bytes.len() as u64,
        imports: vec![],
        custom_code: vec![],
        unscanned: vec![],
        signature: None,
        nested_pickles: vec![],
        graph: None,
    };
    let pickle_into = |a: &mut ModelArtifact, what: &str, b: &[u8]| {
        let s = pickle::scan(b);
        a.nested_pickles.extend(pickle::nested::nested(b, &s, what));
        for i in &s.imports {
            let full = format!("{}.{}", i.module, i.name);
            if !a.imports.iter().any(|(x, _)| *x == full) {
                a.imports.push((full, pickle::verdict(i)));
            }
        }
        if s.dynamic_imports > 0 {
            a.imports.push((format!("<{} import(s) computed at load time>", s.dynamic_imports), pickle::Verdict::Unknown));
        }
        if let Some((off, why)) = s.error.filter(|_| s.imports.is_empty() && s.pickles <= 1) {
            a.unscanned.push(format!("{what}: not a readable pickle ({why} at byte {off})"));
        }
    };
    match format {
        "pickle" => pickle_into(&mut a, path, bytes),
        "npy" => match npy_payload(bytes) {
            Some((h, rest)) if h.contains("'|O'") || h.contains("\"|O\"") => pickle_into(&mut a, path, rest),
            Some(_) => {}
            None => a.unscanned.push("not a NumPy file".into()),
        },
        "zip" | "npz" | "keras" => match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
            Ok(mut z) => {
                const ZIP_ENTRIES_MAX: usize = 10_000;
                if z.len() > ZIP_ENTRIES_MAX {
                    a.unscanned.push(format!("{} zip entries after the first {ZIP_ENTRIES_MAX} were not read", z.len() - ZIP_ENTRIES_MAX));
                }
                for i in 0..z.len().min(ZIP_ENTRIES_MAX) {
                    // Entries are read raw and inflated here, without the zip
                    // reader's checks: a spurious "encrypted" flag or a wrong
                    // CRC (published scanner bypasses) must not hide a pickle
                    // that PyTorch would still load.
                    let (name, data) = match raw_entry(&mut z, i) {
                        Ok(x) => x,
                        Err(e) => {
                            a.unscanned.push(format!("entry {i}: {e}"));
                            continue;
                        }
                    };
                    if name.ends_with(".pkl") || name.ends_with(".pickle") || (data.len() > 2 && data[0] == 0x80 && (2..=5).contains(&data[1])) {
                        pickle_into(&mut a, &name, &data);
                    } else if name.ends_with(".npy") {
                        if let Some((h, rest)) = npy_payload(&data) {
                            if h.contains("'|O'") {
                                pickle_into(&mut a, &name, rest);
                            }
                        }
                    } else if name == "config.json" {
                        keras_lambdas(&mut a, &String::from_utf8_lossy(&data));
                    }
                }
            }
            Err(e) => a.unscanned.push(format!("zip: {e}")),
        },
        "keras-h5" => keras_lambdas(&mut a, &String::from_utf8_lossy(bytes)),
        "onnx" => onnx(&mut a, bytes),
        "tflite" => tflite(&mut a, bytes),
        "savedmodel" => saved_model(&mut a, bytes),
        "7z" => a.unscanned.push("7z archives are not opened by aite".into()),
        _ => {}
    }
    a
}

/// One zip entry's name and contents, inflated from the raw stream (stored or
/// deflated; really encrypted entries cannot be read and are reported).
fn raw_entry(z: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, i: usize) -> Result<(String, Vec<u8>), String> {
    let mut f = z.by_index_raw(i).map_err(|e| e.to_string())?;
    let name = f.name().to_string();
    let claims_encryption = f.encrypted();
    let method = f.compression();
    const ENTRY_BYTES_MAX: u64 = 1 << 30;
    let mut raw = Vec::new();
    (&mut f).take(ENTRY_BYTES_MAX + 1).read_to_end(&mut raw).map_err(|e| format!("{name}: {e}"))?;
    let raw_len = raw.len() as u64;
    let mut data = Vec::new();
    match method {
        zip::CompressionMethod::Stored => data = raw,
        zip::CompressionMethod::Deflated => {
            flate2::read::DeflateDecoder::new(&raw[..]).take(ENTRY_BYTES_MAX + 1).read_to_end(&mut data).map_err(|e| format!("{name}: cannot inflate ({e}); the entry may really be encrypted"))?;
        }
        other => return Err(format!("{name}: compression {other:?} is not read by aite")),
    }
    // Cut short would be read as clean: an entry above the bound is not examined.
    if data.len() as u64 > ENTRY_BYTES_MAX || raw_len > ENTRY_BYTES_MAX {
        return Err(format!("{name}: larger than {ENTRY_BYTES_MAX} bytes (limit), not read"));
    }
    // A spurious encryption flag over a readable pickle is a bypass; real
    // encryption leaves bytes that are not one.
    if claims_encryption && !(data.len() > 2 && data[0] == 0x80 && (1..=5).contains(&data[1])) {
        return Err(format!("{name}: encrypted"));
    }
    Ok((name, data))
}

/// Keras model configs: any layer with `"class_name": "Lambda"`.
fn keras_lambdas(a: &mut ModelArtifact, text: &str) {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let n = compact.matches("\"class_name\":\"Lambda\"").count();
    if n > 0 {
        a.custom_code.push(CodeFinding::new(CodeKind::KerasLambda, format!("{n} Keras Lambda layer(s) (Python bytecode runs at load time)")));
    }
}

/// Protocol-buffer fields of one message: (number, wire type, varint value or bytes).
fn proto_fields(mut b: &[u8]) -> Vec<(u64, u8, u64, &[u8])> {
    fn varint(b: &mut &[u8]) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let x = *b.first()?;
            *b = &b[1..];
            v |= ((x & 0x7f) as u64) << (7 * i);
            if x & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let Some(key) = varint(&mut b) else { break };
        let (num, wire) = (key >> 3, (key & 7) as u8);
        match wire {
            0 => match varint(&mut b) {
                Some(v) => out.push((num, 0, v, &[][..])),
                None => break,
            },
            1 => {
                if b.len() < 8 {
                    break;
                }
                b = &b[8..];
            }
            2 => {
                let Some(len) = varint(&mut b) else { break };
                if (len as usize) > b.len() {
                    break;
                }
                out.push((num, 2, len, &b[..len as usize]));
                b = &b[len as usize..];
            }
            5 => {
                if b.len() < 4 {
                    break;
                }
                b = &b[4..];
            }
            _ => break,
        }
    }
    out
}

const STANDARD_ONNX_DOMAINS: &[&str] = &["", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training", "com.microsoft"];

fn onnx(a: &mut ModelArtifact, bytes: &[u8]) {
    let model = proto_fields(bytes);
    let Some(graph) = model.iter().find(|f| f.0 == 7 && f.1 == 2).map(|f| f.3) else {
        a.unscanned.push("no ONNX graph found (not an ONNX model, or corrupt)".into());
        return;
    };
    let mut declared: u128 = 0;
    for (num, wire, _, body) in proto_fields(graph) {
        if wire != 2 {
            continue;
        }
        if num == 1 {
            let node = proto_fields(body);
            let domain = node.iter().find(|f| f.0 == 7).map(|f| String::from_utf8_lossy(f.3).into_owned()).unwrap_or_default();
            let op = node.iter().find(|f| f.0 == 4).map(|f| String::from_utf8_lossy(f.3).into_owned()).unwrap_or_default();
            if !STANDARD_ONNX_DOMAINS.contains(&domain.as_str()) {
                let d = CodeFinding::new(CodeKind::CustomOp, format!("ONNX custom operator {domain}::{op} (needs a custom-op library)"));
                if !a.custom_code.contains(&d) {
                    a.custom_code.push(d);
                }
            }
        } else if num == 5 {
            let t = proto_fields(body);
            let mut dims: Vec<u64> = Vec::new();
            for f in t.iter().filter(|f| f.0 == 1) {
                if f.1 == 0 {
                    dims.push(f.2);
                } else {
                    let mut packed = f.3;
                    while !packed.is_empty() {
                        let mut v = 0u64;
                        let mut i = 0;
                        while let Some((&x, rest)) = packed.split_first() {
                            packed = rest;
                            v |= ((x & 0x7f) as u64) << (7 * i);
                            i += 1;
                            if x & 0x80 == 0 || i >= 10 {
                                break;
                            }
                        }
                        dims.push(v);
                    }
                }
            }
            let dtype = t.iter().find(|f| f.0 == 2 && f.1 == 0).map(|f| f.2).unwrap_or(1);
            let elem: u128 = match dtype {
                2 | 3 | 9 => 1,
                4 | 5 | 10 | 16 => 2,
                7 | 11 | 13 => 8,
                _ => 4,
            };
            declared = declared.saturating_add(dims.iter().fold(1u128, |p, &d| p.saturating_mul(d as u128)).saturating_mul(elem));
            let name = t.iter().find(|f| f.0 == 8).map(|f| String::from_utf8_lossy(f.3).into_owned()).unwrap_or_default();
            for entry in t.iter().filter(|f| f.0 == 13) {
                let kv = proto_fields(entry.3);
                let key = kv.iter().find(|f| f.0 == 1).map(|f| String::from_utf8_lossy(f.3).into_owned());
                let value = kv.iter().find(|f| f.0 == 2).map(|f| String::from_utf8_lossy(f.3).into_owned()).unwrap_or_default();
                if key.as_deref() == Some("location") {
                    let escapes = value.starts_with('/') || value.starts_with('\\') || value.contains(':') || crate::tree::normalise(&value).is_none();
                    if escapes {
                        a.custom_code.push(CodeFinding::new(CodeKind::ExternalDataPath, format!("ONNX external data of `{name}` at `{value}` leaves the model folder")));
                    }
                }
            }
        }
    }
    if declared > (16u128 << 30) || declared > (bytes.len() as u128).saturating_mul(1000).max(2u128 << 30) {
        a.custom_code.push(CodeFinding::new(CodeKind::HugeTensor, format!("ONNX initializers declare {declared} bytes (huge; loading may exhaust memory)")));
    }
}

/// TFLite (flatbuffer) custom operators.
fn tflite(a: &mut ModelArtifact, b: &[u8]) {
    // Every offset and length below comes from the file: all arithmetic on
    // them is checked and every read is a `get`, so no input can make the
    // walker index out of bounds or overflow.
    let slice = |p: usize, n: usize| b.get(p..p.checked_add(n)?);
    let u32_at = |p: usize| slice(p, 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let u16_at = |p: usize| slice(p, 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    // The vtable of the table at `t` and its length, if the vtable and the
    // table's inline fields (the size the vtable declares) are inside the file;
    // a table starts with a signed offset back to its vtable.
    let vtable = |t: usize| -> Option<(usize, usize)> {
        let back = i64::from(u32_at(t)? as i32);
        let vt = usize::try_from(i64::try_from(t).ok()?.checked_sub(back)?).ok()?;
        let inline = usize::from(u16_at(vt.checked_add(2)?)?);
        slice(t, inline)?;
        Some((vt, usize::from(u16_at(vt)?)))
    };
    // Position of field `i` of the table at `t`, if present.
    let field = |t: usize, i: usize| -> Option<usize> {
        let (vt, vt_len) = vtable(t)?;
        let off_pos = i.checked_mul(2)?.checked_add(4)?;
        if off_pos.checked_add(2)? > vt_len {
            return None;
        }
        let off = usize::from(u16_at(vt.checked_add(off_pos)?)?);
        if off == 0 {
            return None;
        }
        t.checked_add(off)
    };
    let deref = |p: usize| p.checked_add(u32_at(p)? as usize);
    let parse = || -> Option<Vec<String>> {
        if b.get(4..8) != Some(b"TFL3") {
            return None;
        }
        let model = deref(0)?;
        let codes = deref(field(model, 1)?)?;
        let n = u32_at(codes)? as usize;
        let mut custom = Vec::new();
        for k in 0..n.min(10_000) {
            let code = deref(codes.checked_add(4)?.checked_add(k.checked_mul(4)?)?)?;
            // A code table outside the file is a truncated model, not a builtin operator.
            vtable(code)?;
            let deprecated = field(code, 0).and_then(|p| b.get(p)).map(|&x| i32::from(x as i8)).unwrap_or(0);
            let builtin = field(code, 3).and_then(u32_at).map(|v| v as i32).unwrap_or(deprecated);
            if builtin == 32 || deprecated == 32 {
                let name = field(code, 1).and_then(deref).and_then(|s| {
                    let len = u32_at(s)? as usize;
                    slice(s.checked_add(4)?, len).map(|x| String::from_utf8_lossy(x).into_owned())
                });
                custom.push(name.unwrap_or_else(|| "?".into()));
            }
        }
        if n > 10_000 {
            custom.push(format!("? ({} operator codes beyond the first 10 000 were not read)", n - 10_000));
        }
        Some(custom)
    };
    match parse() {
        Some(custom) => a.custom_code.extend(custom.into_iter().map(|c| CodeFinding::new(CodeKind::CustomOp, format!("TFLite custom operator `{c}` (needs a vendor delegate or op library)")))),
        None => a.unscanned.push("not a readable TFLite flatbuffer".into()),
    }
}

/// TensorFlow SavedModel: every `PyFunc`-family node, in the graphs and their functions.
fn saved_model(a: &mut ModelArtifact, bytes: &[u8]) {
    match savedmodel::walk(bytes) {
        Ok((walk, nodes)) => {
            a.graph = Some(walk);
            let mut seen = std::collections::BTreeSet::new();
            for n in nodes {
                let token = n.token.as_deref().map(|t| format!(", token `{t}`")).unwrap_or_default();
                let d = CodeFinding::new(CodeKind::PyFunc, format!("TensorFlow `{}` node `{}` in the {}{token} (runs a Python callable with the graph)", n.op, n.name, n.within));
                if seen.insert(d.detail.clone()) {
                    a.custom_code.push(d);
                }
            }
        }
        Err(e) => a.unscanned.push(format!("not a readable SavedModel ({e})")),
    }
}

/// Findings for one examined artifact.
pub fn findings(a: &ModelArtifact) -> Vec<Finding> {
    let mut out = Vec::new();
    let dangerous: Vec<&str> = a.imports.iter().filter(|(_, v)| *v == pickle::Verdict::Dangerous).map(|(n, _)| n.as_str()).collect();
    let unknown: Vec<&str> = a.imports.iter().filter(|(_, v)| *v == pickle::Verdict::Unknown).map(|(n, _)| n.as_str()).collect();
    if !dangerous.is_empty() {
        out.push(Finding::fail("AITE-MODEL-PICKLE-CODE", &a.path, format!("{} imports {} when loaded", a.path, dangerous.join(", "))).with_excerpt(dangerous.join(", ")));
    } else if !unknown.is_empty() {
        out.push(Finding::fail("AITE-MODEL-PICKLE-UNKNOWN", &a.path, format!("{} imports globals outside the safe list: {}", a.path, unknown.join(", "))).with_excerpt(unknown.join(", ")));
    }
    for c in &a.custom_code {
        out.push(Finding::fail(c.kind.rule(), &a.path, format!("{}: {}", a.path, c.detail)));
    }
    for n in a.nested_pickles.iter().filter(|n| n.not_walked.is_none()) {
        let judged: Vec<(String, pickle::Verdict)> = n.imports.iter().map(|i| (format!("{}.{}", i.module, i.name), pickle::verdict(i))).collect();
        let of = |v: pickle::Verdict| judged.iter().filter(|(_, x)| *x == v).map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(", ");
        let (dangerous, unknown) = (of(pickle::Verdict::Dangerous), of(pickle::Verdict::Unknown));
        let what = match (dangerous.is_empty(), unknown.is_empty(), n.dynamic_imports) {
            (false, _, _) => format!("would import {dangerous}"),
            (true, false, _) => format!("would import globals outside the safe list: {unknown}"),
            (true, true, d) if d > 0 => format!("would import {d} global(s) computed at load time"),
            _ => continue,
        };
        out.push(Finding::fail("AITE-MODEL-PICKLE-NESTED", &a.path, format!("{}: a nested pickle ({}) {what} if something unpickles it; loading the outer file does not run it", a.path, n.path)).with_excerpt(n.path.clone()).about(n.path.clone()));
    }
    for u in &a.unscanned {
        out.push(Finding::fail("AITE-MODEL-UNSCANNABLE", &a.path, format!("{}: {u}", a.path)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TFLite flatbuffer by hand: Model { operator_codes (field 1): [OperatorCode {
    /// deprecated_builtin_code (field 0): 32 = CUSTOM, custom_code (field 1): "EdgeTpu" }] }.
    fn tflite_with_custom_op() -> Vec<u8> {
        let mut b = Vec::new();
        let u16s = |b: &mut Vec<u8>, v: &[u16]| v.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        let u32s = |b: &mut Vec<u8>, v: &[u32]| v.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
        u32s(&mut b, &[16]); // 0: root table offset -> 16
        b.extend_from_slice(b"TFL3"); // 4
        u16s(&mut b, &[8, 8, 0, 4]); // 8: model vtable: field 1 at +4
        u32s(&mut b, &[8, 4]); // 16: model table (vtable 8 back), 20: -> codes at 24
        u32s(&mut b, &[1, 12]); // 24: one code, 28: -> code table at 40
        u16s(&mut b, &[8, 12, 4, 8]); // 32: code vtable: field 0 at +4, field 1 at +8
        u32s(&mut b, &[8]); // 40: code table (vtable 8 back)
        b.extend_from_slice(&[32, 0, 0, 0]); // 44: deprecated_builtin_code = CUSTOM
        u32s(&mut b, &[4, 7]); // 48: -> string at 52; 52: length 7
        b.extend_from_slice(b"EdgeTpu\0");
        b
    }

    #[test]
    fn tflite_walker_reads_a_hand_built_flatbuffer() {
        let a = examine("m.tflite", "tflite", &tflite_with_custom_op());
        assert!(a.unscanned.is_empty(), "{a:?}");
        assert_eq!(a.custom_code.len(), 1, "{a:?}");
        assert!(format!("{:?}", a.custom_code[0]).contains("`EdgeTpu`"), "{a:?}");
    }

    #[test]
    fn tflite_walker_reads_real_models_with_checked_offsets() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/security/models/coral");
        let (plain, edgetpu) = (dir.join("mobilenet_v1_0.25_128_quant.tflite"), dir.join("mobilenet_v1_0.25_128_quant_edgetpu.tflite"));
        let (Ok(plain), Ok(edgetpu)) = (std::fs::read(&plain), std::fs::read(&edgetpu)) else {
            assert!(std::env::var_os("AITE_REQUIRE_PEERS").is_none_or(|v| v != "1"), "AITE_REQUIRE_PEERS=1: the Coral TFLite models are not in ../shared ({})", dir.display());
            println!("skipping: the Coral TFLite models are not in ../shared ({})", dir.display());
            return;
        };
        let a = examine("plain.tflite", "tflite", &plain);
        assert!(a.unscanned.is_empty() && a.custom_code.is_empty(), "{a:?}");
        let a = examine("edgetpu.tflite", "tflite", &edgetpu);
        assert!(a.unscanned.is_empty(), "{a:?}");
        assert!(format!("{:?}", a.custom_code).contains("`edgetpu-custom-op`"), "{a:?}");
    }

    #[test]
    fn tflite_walker_survives_hostile_offsets_and_truncation() {
        // A table whose vtable offset points before the start of the file
        // (t - soffset < 0); on the old walker `(8 - 9) as usize + 2` overflowed.
        let mut b = vec![8, 0, 0, 0];
        b.extend_from_slice(b"TFL3");
        b.extend_from_slice(&9i32.to_le_bytes());
        let a = examine("neg.tflite", "tflite", &b);
        assert_eq!(a.unscanned, vec!["not a readable TFLite flatbuffer".to_string()], "{a:?}");
        let good = tflite_with_custom_op();
        // Every truncation is unreadable or, once the string is complete, read.
        for n in 0..good.len() {
            let a = examine("t.tflite", "tflite", &good[..n]);
            assert!(a.unscanned.len() + a.custom_code.len() == 1, "prefix {n}: {a:?}");
        }
        // Every 32-bit word (and each 16-bit half) set to extreme values.
        for pos in (0..good.len() - 3).step_by(2) {
            for v in [u32::MAX, 0x8000_0000, 0x7fff_ffff, 0xffff, 1] {
                let mut b = good.clone();
                b[pos..pos + 4].copy_from_slice(&v.to_le_bytes());
                // Reaching here without a panic is the test; the outcome varies.
                let a = examine("x.tflite", "tflite", &b);
                assert!(a.unscanned.len() <= 1, "word at {pos} = {v:#x}: {a:?}");
            }
        }
        // A string whose declared length runs past the end.
        let mut b = good.clone();
        b[52..56].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(format!("{:?}", examine("s.tflite", "tflite", &b).custom_code).contains("`?`"));
    }

    #[test]
    fn detection_by_name_and_content() {
        assert_eq!(detect("m/model.onnx", b""), Some("onnx"));
        assert_eq!(detect("w.pt", b"PK\x03\x04"), Some("zip"));
        assert_eq!(detect("w.pt", b"\x80\x02"), Some("pickle"));
        assert_eq!(detect("pytorch_model.bin", b"\x80\x02\x8a"), Some("pickle"));
        assert_eq!(detect("firmware.bin", b"\x7fELF"), None);
        assert_eq!(detect("readme.txt", b"hello"), None);
    }

    #[test]
    fn onnx_external_data_outside_the_folder_is_found() {
        // ModelProto { graph (7) { initializer (5) { dims 4, data_type 1, name "w", external_data { location: ../../etc/passwd } } } }
        fn msg(num: u64, body: &[u8]) -> Vec<u8> {
            let mut v = vec![((num << 3) | 2) as u8, body.len() as u8];
            v.extend_from_slice(body);
            v
        }
        let mut kv = msg(1, b"location");
        kv.extend(msg(2, b"../../etc/passwd"));
        let mut tensor = vec![(1 << 3) as u8, 4, (2 << 3) as u8, 1];
        tensor.extend(msg(8, b"w"));
        tensor.extend(msg(13, &kv));
        let graph = msg(5, &tensor);
        let model = msg(7, &graph);
        let a = examine("m.onnx", "onnx", &model);
        assert!(a.custom_code.iter().any(|c| c.kind == CodeKind::ExternalDataPath), "{a:?}");
        let f = findings(&a);
        assert_eq!(f[0].rule, "AITE-MODEL-ONNX-EXTERNAL-PATH");
    }
}
