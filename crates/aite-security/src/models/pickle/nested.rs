//! Pickles inside pickles: byte and string operands that are themselves a
//! pickle, raw or spelled as latin-1 text, base64 or hex.
//!
//! Loading the outer file imports only the outer pickle's globals; the inner
//! one runs when something later unpickles those bytes (a framework's cache, a
//! plug-in loader). So what a nested pickle would import is reported as
//! information about the file, not as code that runs on load, with the path
//! to it ("data.pkl → BINBYTES at offset 12 → base64 → pickle"). The walk is
//! recursive up to [`NESTED_DEPTH_MAX`] levels and [`NESTED_BYTES_MAX`] bytes
//! of nested pickles per file; what lies beyond is listed as not walked.

use super::{scan, Import, OperandForm, PickleScan};
use base64::Engine;
use std::borrow::Cow;

/// Nesting levels walked below the outer pickle.
pub const NESTED_DEPTH_MAX: usize = 4;
/// Bytes of nested pickles walked per outer pickle, over all levels.
pub const NESTED_BYTES_MAX: usize = 64 << 20;
/// Nested pickles walked per outer pickle.
pub const NESTED_COUNT_MAX: usize = 1000;

/// One pickle found inside another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NestedPickle {
    /// How it is reached from the outer file, one step per level.
    pub path: String,
    /// 1 for a pickle inside the outer one.
    pub depth: usize,
    /// What it imports (empty when not walked).
    pub imports: Vec<Import>,
    /// `STACK_GLOBAL`s with operands not known statically.
    pub dynamic_imports: usize,
    /// Why it was found but not walked (depth or size bound).
    pub not_walked: Option<String>,
}

/// How a nested pickle is spelled inside its operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spelling {
    Raw,
    Latin1,
    Base64,
    Hex,
}

impl Spelling {
    fn step(self) -> &'static str {
        match self {
            Spelling::Raw => "",
            Spelling::Latin1 => " → latin-1",
            Spelling::Base64 => " → base64",
            Spelling::Hex => " → hex",
        }
    }
}

fn is_base64_text(t: &[u8]) -> bool {
    t.len() >= 8 && t.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_' | b'\n' | b'\r'))
}

fn is_hex_text(t: &[u8]) -> bool {
    t.len() >= 8 && t.len() % 2 == 0 && t.iter().all(u8::is_ascii_hexdigit)
}

/// A protocol 2-5 pickle starts with `PROTO` and its version.
fn has_proto(d: &[u8]) -> bool {
    d.len() >= 2 && d[0] == 0x80 && (2..=5).contains(&d[1])
}

/// Could a protocol 0/1 pickle be these bytes? (First opcode one that can
/// start a pickle, `STOP` last.)
fn may_be_protocol_0(d: &[u8]) -> bool {
    d.len() >= 2 && d.last() == Some(&b'.') && b"c(]}N)ISVXJKLFTUGi".contains(&d[0])
}

/// A cheap test made while walking the outer pickle: could this operand hold a pickle?
pub(super) fn plausible(x: &[u8], form: OperandForm) -> bool {
    let t = x.trim_ascii();
    has_proto(x) || may_be_protocol_0(x) || is_base64_text(t) || is_hex_text(t) || (form != OperandForm::Bytes && x.iter().any(|&c| c >= 0x80 || c == b'\\'))
}

/// The operand's value as bytes (undoing protocol 0's escapes).
fn value(x: &[u8], form: OperandForm) -> Option<Cow<'_, [u8]>> {
    match form {
        OperandForm::Bytes => Some(Cow::Borrowed(x)),
        OperandForm::Utf8 => {
            if x.is_ascii() {
                return Some(Cow::Borrowed(x));
            }
            let s = std::str::from_utf8(x).ok()?;
            s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect::<Option<Vec<u8>>>().map(Cow::Owned)
        }
        OperandForm::RawUnicodeEscape => {
            let mut out = Vec::with_capacity(x.len());
            let mut i = 0;
            while i < x.len() {
                let width = match (x[i], x.get(i + 1)) {
                    (b'\\', Some(b'u')) => 4,
                    (b'\\', Some(b'U')) => 8,
                    _ => 0,
                };
                if width == 0 {
                    out.push(x[i]);
                    i += 1;
                    continue;
                }
                let digits = std::str::from_utf8(x.get(i + 2..i + 2 + width)?).ok()?;
                out.push(u8::try_from(u32::from_str_radix(digits, 16).ok()?).ok()?);
                i += 2 + width;
            }
            Some(Cow::Owned(out))
        }
        OperandForm::Quoted => {
            let q = *x.first()?;
            if !matches!(q, b'\'' | b'"') || x.len() < 2 || x.last() != Some(&q) {
                return None;
            }
            let body = &x[1..x.len() - 1];
            let mut out = Vec::with_capacity(body.len());
            let mut i = 0;
            while i < body.len() {
                if body[i] != b'\\' {
                    out.push(body[i]);
                    i += 1;
                    continue;
                }
                let e = *body.get(i + 1)?;
                i += 2;
                out.push(match e {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'0' => 0,
                    b'x' => {
                        let h = std::str::from_utf8(body.get(i..i + 2)?).ok()?;
                        i += 2;
                        u8::from_str_radix(h, 16).ok()?
                    }
                    other => other,
                });
            }
            Some(Cow::Owned(out))
        }
    }
}

/// The pickle an operand holds, and how it is spelled.
fn unwrap(x: &[u8], form: OperandForm) -> Option<(Spelling, Cow<'_, [u8]>)> {
    let v = value(x, form)?;
    if has_proto(&v) || may_be_protocol_0(&v) {
        let spelling = if matches!(v, Cow::Owned(_)) && form == OperandForm::Utf8 { Spelling::Latin1 } else { Spelling::Raw };
        return Some((spelling, v));
    }
    let t = v.trim_ascii();
    let decoded = if is_hex_text(t) {
        hex::decode(t).ok().map(|d| (Spelling::Hex, d))
    } else {
        None
    };
    let decoded = decoded.or_else(|| {
        if !is_base64_text(t) {
            return None;
        }
        let compact: Vec<u8> = t.iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
        let engines = [&base64::engine::general_purpose::STANDARD, &base64::engine::general_purpose::URL_SAFE, &base64::engine::general_purpose::STANDARD_NO_PAD, &base64::engine::general_purpose::URL_SAFE_NO_PAD];
        engines.iter().find_map(|e| e.decode(&compact).ok()).map(|d| (Spelling::Base64, d))
    })?;
    (has_proto(&decoded.1) || may_be_protocol_0(&decoded.1)).then(|| (decoded.0, Cow::Owned(decoded.1)))
}

/// Whether the walk of `d` shows it is a pickle (not bytes that merely start like one).
fn is_pickle(d: &[u8], s: &PickleScan) -> bool {
    if has_proto(d) {
        s.error.is_none() || !s.imports.is_empty()
    } else {
        s.error.is_none() && s.end == d.len()
    }
}

struct Budget {
    bytes: usize,
    count: usize,
    over: usize,
}

/// Every pickle nested in the pickle `b` (walked as `s`), reached from `outer`.
pub fn nested(b: &[u8], s: &PickleScan, outer: &str) -> Vec<NestedPickle> {
    let mut found = Vec::new();
    let mut budget = Budget { bytes: 0, count: 0, over: 0 };
    walk(b, s, outer, 1, &mut budget, &mut found);
    if budget.over > 0 {
        found.push(NestedPickle {
            path: format!("{outer} → …"),
            depth: 1,
            imports: vec![],
            dynamic_imports: 0,
            not_walked: Some(format!("{} further nested pickle candidate(s) not walked: the bound of {NESTED_COUNT_MAX} pickles or {NESTED_BYTES_MAX} bytes per file was reached", budget.over)),
        });
    }
    found
}

fn walk(b: &[u8], s: &PickleScan, path: &str, depth: usize, budget: &mut Budget, found: &mut Vec<NestedPickle>) {
    for p in &s.payloads {
        let Some(x) = b.get(p.range.clone()) else { continue };
        let Some((spelling, d)) = unwrap(x, p.form) else { continue };
        let here = format!("{path} → {} at offset {}{} → pickle", p.opcode, p.offset, spelling.step());
        if depth > NESTED_DEPTH_MAX {
            found.push(NestedPickle { path: here, depth, imports: vec![], dynamic_imports: 0, not_walked: Some(format!("nested deeper than {NESTED_DEPTH_MAX} levels: not walked")) });
            continue;
        }
        if budget.count >= NESTED_COUNT_MAX || budget.bytes.saturating_add(d.len()) > NESTED_BYTES_MAX {
            budget.over += 1;
            continue;
        }
        budget.count += 1;
        budget.bytes += d.len();
        let inner = scan(&d);
        if !is_pickle(&d, &inner) {
            continue;
        }
        found.push(NestedPickle { path: here.clone(), depth, imports: inner.imports.clone(), dynamic_imports: inner.dynamic_imports, not_walked: None });
        walk(&d, &inner, &here, depth + 1, budget, found);
    }
}
