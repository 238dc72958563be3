//! Turning what the user gives (a root filesystem folder, an archive, a
//! filesystem image, a raw flash dump) into a [`Tree`], safely, and saying
//! how much of it was understood.
//!
//! Hostile-input rules: entry paths are normalised and any that would leave
//! the root are skipped; symlinks, device nodes and setuid bits are recorded
//! in the index, never created on disk, so no later entry can write through a
//! link; input size, extracted bytes and entry counts of every container kind
//! are bounded ([`Limits`], decompression bombs) and every limit reached is
//! listed in [`Coverage::limits_hit`]; every skipped entry is listed with its
//! reason. Every third-party parser (backhand, tar, cpio, flate2, lzma-rust2,
//! ruzstd) and aite's own JFFS2, UBI and UBIFS readers ([`jffs2`], [`ubi`]) runs contained: a panic fails
//! that container with the cause `parser panicked: …` and the scan goes on.
//!
//! squashfs: 4.0 in both byte orders through backhand, with pure-Rust block
//! decompressors (zlib, xz, zstd, aite's own LZO and LZ4, and the vendor LZMA forms of
//! [`squashfs_lzma`]); 1.x, 2.x and 3.x in both byte orders, zlib or vendor LZMA, with
//! aite's own reader ([`squashfs_legacy`]). The byte order is the one in which the
//! superblock's version reads right, so swapped and vendor magics are read too.
//!
//! A file with no container signature that is an ELF, a model or a key is examined
//! as that one file ([`single`]). FIT images and device trees are read by [`fit`]: each
//! FIT payload is scanned like a decompressed stream (`fit:<image>/…`).
//!
//! Carving: the whole input is scanned for signatures; after a container (a
//! uImage header and its declared payload, the end of a compressed stream, a
//! squashfs's `bytes_used`, a cpio trailer) scanning resumes at its end, so a
//! flash dump of bootloader, kernel and root filesystem reaches the root
//! filesystem.

mod fit;
pub(crate) mod guard;
mod jffs2;
mod lz4;
mod lzo;
pub mod single;
mod squashfs_legacy;
mod squashfs_lzma;
mod ubi;

use crate::tree::{normalise, Entry, EntryKind, Tree};
use guard::contained;
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Containers nest at most this deep (a tar in a gzip in a uImage payload is 3).
pub const MAX_DEPTH: usize = 4;
/// Skipped entries listed one by one; beyond this they are counted in
/// [`Coverage::skipped_unlisted`].
pub const MAX_LISTED: usize = 10_000;

/// Bounds on what extraction may read and write.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Limits {
    /// Bytes of the input read (the rest is reported, not examined) and bytes
    /// extracted to the work folder in total.
    pub max_total_bytes: u64,
    /// Entries (files, folders, links, devices) indexed from all containers.
    pub max_files: usize,
    /// Bytes of one extracted file, and of one decompressed stream.
    pub max_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_total_bytes: 4 << 30, max_files: 500_000, max_file_bytes: 1 << 30 }
    }
}

/// Why the input could not be opened at all.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("cannot read {path}: {source}\n  hint: check the path and permissions")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot write into the work folder {path}: {source}\n  hint: pick an --out folder on a writable disk with free space")]
    Work { path: PathBuf, source: std::io::Error },
}

/// One container found in the input and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "ContainerRecord", try_from = "ContainerRecord")]
pub struct Container {
    pub format: String,
    /// Where it starts in the input; for a container inside a decompressed
    /// stream (format `gzip/tar`), where that stream starts.
    pub offset: u64,
    /// Bytes of the input this container spans, when known.
    pub length: Option<u64>,
    pub status: ContainerStatus,
}

/// What became of a container. Every state but `Extracted` carries its cause,
/// never empty (the constructors put a placeholder naming the parser in).
///
/// Serialized as `status` (`extracted`, `failed`, `not-supported`,
/// `not-understood`, `not-examined`: fixed names) with `cause` beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerStatus {
    /// Opened and read to its end (entries it skipped are in [`Coverage::skipped`]).
    Extracted,
    /// Recognised, but its parser failed, it is truncated, or a limit stopped it.
    Failed(String),
    /// A format aite recognises and has no reader for.
    NotSupported(String),
    /// Bytes with no known signature.
    NotUnderstood(String),
    /// Present but never read (beyond `max_total_bytes`, or a folder past `max_files`).
    NotExamined(String),
}

impl ContainerStatus {
    /// `Failed`, with `cause` or, when it is blank, a placeholder naming `parser`.
    pub fn failed(parser: &str, cause: impl Into<String>) -> Self {
        let cause = cause.into();
        ContainerStatus::Failed(if cause.trim().is_empty() { format!("the {parser} parser gave no reason") } else { cause })
    }

    pub fn is_extracted(&self) -> bool {
        *self == ContainerStatus::Extracted
    }

    /// The serialized name of the state.
    pub fn name(&self) -> &'static str {
        match self {
            ContainerStatus::Extracted => "extracted",
            ContainerStatus::Failed(_) => "failed",
            ContainerStatus::NotSupported(_) => "not-supported",
            ContainerStatus::NotUnderstood(_) => "not-understood",
            ContainerStatus::NotExamined(_) => "not-examined",
        }
    }

    /// Why the container was not extracted; `None` when it was.
    pub fn cause(&self) -> Option<&str> {
        match self {
            ContainerStatus::Extracted => None,
            ContainerStatus::Failed(c) | ContainerStatus::NotSupported(c) | ContainerStatus::NotUnderstood(c) | ContainerStatus::NotExamined(c) => Some(c),
        }
    }

    fn from_parts(name: &str, cause: String) -> Option<Self> {
        let cause = if cause.trim().is_empty() { "no cause recorded".to_string() } else { cause };
        Some(match name {
            "extracted" => ContainerStatus::Extracted,
            "failed" => ContainerStatus::Failed(cause),
            "not-supported" | "not supported" => ContainerStatus::NotSupported(cause),
            "not-understood" | "not understood" => ContainerStatus::NotUnderstood(cause),
            "not-examined" | "not examined" => ContainerStatus::NotExamined(cause),
            _ => return None,
        })
    }
}

impl std::fmt::Display for ContainerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.cause() {
            None => f.write_str(self.name()),
            Some(c) => write!(f, "{}: {c}", self.name()),
        }
    }
}

/// A [`Container`] as results.json and coverage.json hold it.
#[derive(Serialize, Deserialize)]
struct ContainerRecord {
    format: String,
    offset: u64,
    length: Option<u64>,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cause: Option<String>,
}

impl From<Container> for ContainerRecord {
    fn from(c: Container) -> Self {
        ContainerRecord { format: c.format, offset: c.offset, length: c.length, status: c.status.name().into(), cause: c.status.cause().map(str::to_string) }
    }
}

impl TryFrom<ContainerRecord> for Container {
    type Error = String;

    /// Also reads the single string older run folders wrote (`failed: <cause>`).
    fn try_from(r: ContainerRecord) -> Result<Self, String> {
        let (name, cause) = match r.cause {
            Some(c) => (r.status.as_str(), c),
            None => r.status.split_once(": ").map_or((r.status.as_str(), String::new()), |(n, c)| (n, c.to_string())),
        };
        let status = ContainerStatus::from_parts(name, cause).ok_or_else(|| format!("unknown container status `{}` (expected extracted, failed, not-supported, not-understood or not-examined)", r.status))?;
        Ok(Container { format: r.format, offset: r.offset, length: r.length, status })
    }
}

/// An entry that was not extracted, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// Which bound of [`Limits`] (or of the unpacker itself) was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// `max_total_bytes`: the input is longer, or extraction wrote that much.
    MaxTotalBytes,
    /// `max_files`: more entries than that.
    MaxFiles,
    /// `max_file_bytes`: a file or a decompressed stream is larger.
    MaxFileBytes,
    /// [`MAX_DEPTH`]: containers nested deeper.
    MaxDepth,
}

/// A limit that was reached: what it stopped is in `skipped` or `containers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitHit {
    pub limit: LimitKind,
    /// The limit's value (bytes, entries or levels).
    pub value: u64,
    /// How many entries or containers it stopped.
    pub times: usize,
    /// The first one it stopped.
    pub first: String,
}

/// What part of the input was examined (no anchor reports this).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub input: String,
    pub input_bytes: u64,
    pub containers: Vec<Container>,
    /// Input bytes inside containers that were extracted.
    pub extracted_input_bytes: u64,
    /// Input bytes inside containers found but not understood, and input
    /// bytes beyond `max_total_bytes` (never read).
    pub not_understood_bytes: u64,
    /// Input bytes outside any container (padding, unknown formats).
    pub unclaimed_bytes: u64,
    pub files: usize,
    pub file_bytes: u64,
    pub symlinks: usize,
    pub devices: usize,
    /// The first [`MAX_LISTED`] skipped entries.
    pub skipped: Vec<Skipped>,
    /// Skipped entries beyond those listed.
    #[serde(default)]
    pub skipped_unlisted: usize,
    /// Every limit reached (the scan is then incomplete).
    #[serde(default)]
    pub limits_hit: Vec<LimitHit>,
    /// The input's byte ranges outside every container, in order (they sum to
    /// `unclaimed_bytes`).
    #[serde(default)]
    pub unclaimed: Vec<ByteRange>,
    /// Bytes outside every container that are padding (all 0x00 or 0xFF):
    /// understood, not unclaimed (set by the scan, which reads those ranges).
    #[serde(default)]
    pub padding_bytes: u64,
    /// Bytes of decompressed streams (a gzip'd kernel, an LZMA uImage payload)
    /// around the containers carved from them, in order: not input bytes, so
    /// apart from `unclaimed`, and each one is a gap like an unclaimed range.
    /// A stream in which nothing was found is one `<format>/unknown` container instead.
    #[serde(default)]
    pub stream_unclaimed: Vec<StreamRange>,
    /// Bytes of those streams around carved containers that are padding (all 0x00 or 0xFF).
    #[serde(default)]
    pub stream_padding_bytes: u64,
    /// The input is one file examined as what it is (an ELF, a model, a key), not an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_file: Option<single::SingleFileKind>,
}

/// A range of bytes inside a decompressed stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRange {
    /// The stream's format as in `containers` (`gzip`; `lzma/gzip` for a gzip stream inside an LZMA payload).
    pub stream: String,
    /// Where the outermost stream starts in the input.
    pub stream_offset: u64,
    /// Offset and length in the decompressed bytes of the innermost stream.
    pub offset: u64,
    pub length: u64,
}

/// A range of input bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRange {
    pub offset: u64,
    pub length: u64,
}

/// The ranges of `0..total` that no `(offset, length)` span covers.
fn uncovered(mut spans: Vec<(u64, u64)>, total: u64) -> Vec<ByteRange> {
    spans.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0u64;
    for (offset, length) in spans {
        if offset > at {
            out.push(ByteRange { offset: at, length: offset.min(total) - at });
        }
        at = at.max(offset.saturating_add(length));
        if at >= total {
            return out;
        }
    }
    if at < total {
        out.push(ByteRange { offset: at, length: total - at });
    }
    out
}

/// Writes extracted entries under the work folder, enforcing the rules above.
struct Sink<'a> {
    work: &'a Path,
    limits: Limits,
    tree: Tree,
    coverage: Coverage,
    written: u64,
    counter: usize,
}

impl<'a> Sink<'a> {
    fn skip(&mut self, path: &str, reason: impl Into<String>) {
        if self.coverage.skipped.len() < MAX_LISTED {
            self.coverage.skipped.push(Skipped { path: path.to_string(), reason: reason.into() });
        } else {
            self.coverage.skipped_unlisted += 1;
        }
    }

    fn limit(&mut self, limit: LimitKind, value: u64, what: &str) {
        match self.coverage.limits_hit.iter_mut().find(|h| h.limit == limit) {
            Some(hit) => hit.times += 1,
            None => self.coverage.limits_hit.push(LimitHit { limit, value, times: 1, first: what.to_string() }),
        }
    }

    /// Whether one more entry fits under `max_files`; if not, it is skipped and the limit recorded.
    fn room_for(&mut self, path: &str) -> bool {
        let max = self.limits.max_files;
        if self.tree.entries.len() < max || self.tree.entries.contains_key(path) {
            return true;
        }
        self.skip(path, format!("more than {max} entries (max_files limit)"));
        self.limit(LimitKind::MaxFiles, max as u64, path);
        false
    }

    /// Record a non-file entry.
    fn meta(&mut self, raw: &str, kind: EntryKind, mode: u32, uid: u32, gid: u32) {
        let Some(path) = normalise(raw) else { return self.skip(raw, "path leaves the image root") };
        if path.is_empty() || !self.room_for(&path) {
            return;
        }
        match &kind {
            EntryKind::Symlink { target } => {
                self.coverage.symlinks += 1;
                let base = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                if !target.starts_with('/') && normalise(&format!("{base}/{target}")).is_none() {
                    self.skip(&path, format!("symlink to `{target}` points outside the image root; recorded, never followed"));
                }
            }
            EntryKind::Device => self.coverage.devices += 1,
            _ => {}
        }
        self.tree.insert(Entry { path, kind, mode, uid, gid, size: 0, content: None });
    }

    /// Copy a regular file's contents (bounded) and record it; returns the
    /// bytes stored, or `None` when the entry was skipped.
    fn file(&mut self, raw: &str, mode: u32, uid: u32, gid: u32, reader: &mut dyn Read) -> Result<Option<u64>, UnpackError> {
        let Some(path) = normalise(raw) else {
            self.skip(raw, "path leaves the image root");
            return Ok(None);
        };
        if path.is_empty() || !self.room_for(&path) {
            return Ok(None);
        }
        let remaining = self.limits.max_total_bytes.saturating_sub(self.written);
        let (cap, bound) = if remaining < self.limits.max_file_bytes { (remaining, LimitKind::MaxTotalBytes) } else { (self.limits.max_file_bytes, LimitKind::MaxFileBytes) };
        // Contents go to a flat, numbered store: no directory structure from
        // the image is ever created on disk, so nothing can be redirected.
        self.counter += 1;
        let dest = self.work.join(format!("{:08}", self.counter));
        let work_err = |source| UnpackError::Work { path: dest.clone(), source };
        let mut out = std::fs::File::create(&dest).map_err(work_err)?;
        let copied = std::io::copy(&mut reader.take(cap.saturating_add(1)), &mut out);
        let n = match copied {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&dest);
                self.skip(&path, format!("unreadable: {e}"));
                return Ok(None);
            }
        };
        if n > cap {
            let _ = std::fs::remove_file(&dest);
            let name = if bound == LimitKind::MaxFileBytes { "max_file_bytes" } else { "max_total_bytes" };
            self.skip(&path, format!("larger than the extraction limit ({cap} bytes left, {name})"));
            let value = if bound == LimitKind::MaxFileBytes { self.limits.max_file_bytes } else { self.limits.max_total_bytes };
            self.limit(bound, value, &path);
            return Ok(None);
        }
        self.written += n;
        self.coverage.files += 1;
        self.coverage.file_bytes += n;
        self.tree.insert(Entry { path, kind: EntryKind::File, mode, uid, gid, size: n, content: Some(dest) });
        Ok(Some(n))
    }

    /// Record what became of a container, counting its input bytes.
    fn record(&mut self, format: &str, offset: u64, length: Option<u64>, status: ContainerStatus) {
        if status.is_extracted() {
            self.coverage.extracted_input_bytes += length.unwrap_or(0);
        } else {
            self.coverage.not_understood_bytes += length.unwrap_or(0);
        }
        self.coverage.containers.push(Container { format: format.into(), offset, length, status });
    }
}

fn kind_from_mode(mode: u32) -> Option<EntryKind> {
    match mode & 0o170000 {
        0o100000 => Some(EntryKind::File),
        0o040000 => Some(EntryKind::Dir),
        0o120000 => Some(EntryKind::Symlink { target: String::new() }),
        0o020000 | 0o060000 => Some(EntryKind::Device),
        0o010000 => Some(EntryKind::Fifo),
        0o140000 => Some(EntryKind::Socket),
        _ => None,
    }
}

/// Formats recognised by their first bytes.
fn sniff(head: &[u8]) -> Option<&'static str> {
    if SQUASHFS_MAGICS.iter().any(|m| head.starts_with(*m)) {
        Some("squashfs")
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Some("gzip")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else if head.starts_with(b"070701") || head.starts_with(b"070702") {
        Some("cpio")
    } else if head.len() > 262 && &head[257..262] == b"ustar" {
        Some("tar")
    } else if head.starts_with(&UIMAGE_MAGIC) {
        Some("uimage")
    } else if head.starts_with(&[0xd0, 0x0d, 0xfe, 0xed]) {
        Some("fit")
    } else if head.starts_with(b"UBI#") {
        Some("ubi")
    } else if head.starts_with(&[0x85, 0x19]) || head.starts_with(&[0x19, 0x85]) {
        Some("jffs2")
    } else {
        None
    }
}

const UIMAGE_MAGIC: [u8; 4] = [0x27, 0x05, 0x19, 0x56];
/// squashfs magics: little- and big-endian, and the vendor ones of LZMA images (sasquatch's list).
const SQUASHFS_MAGICS: [&[u8; 4]; 7] = [b"hsqs", b"sqsh", b"shsq", b"qshs", b"hsqt", b"tqsh", b"sqlz"];

/// Which squashfs a superblock declares, and the bytes it spans.
enum SquashfsVariant {
    /// 4.0, read by backhand (`be`: the big-endian layout some vendors use).
    V4 { be: bool, len: u64 },
    /// 1.x–3.x, read by [`squashfs_legacy`].
    Legacy(squashfs_legacy::Superblock),
}

impl SquashfsVariant {
    fn of(b: &[u8]) -> Option<Self> {
        let version = |be: bool| b.get(28..32).map(|v| if be { (u16::from_be_bytes([v[0], v[1]]), u16::from_be_bytes([v[2], v[3]])) } else { (u16::from_le_bytes([v[0], v[1]]), u16::from_le_bytes([v[2], v[3]])) });
        for be in [false, true] {
            if version(be) == Some((4, 0)) {
                let used = b.get(40..48)?.try_into().ok()?;
                let block = b.get(12..16)?.try_into().ok()?;
                let log = b.get(22..24)?.try_into().ok()?;
                let (len, block, log) = if be { (u64::from_be_bytes(used), u32::from_be_bytes(block), u16::from_be_bytes(log)) } else { (u64::from_le_bytes(used), u32::from_le_bytes(block), u16::from_le_bytes(log)) };
                return (log < 32 && block == 1 << log).then_some(SquashfsVariant::V4 { be, len });
            }
        }
        squashfs_legacy::superblock(b).map(SquashfsVariant::Legacy)
    }

    fn len(&self) -> u64 {
        match self {
            SquashfsVariant::V4 { len, .. } => *len,
            SquashfsVariant::Legacy(sb) => sb.bytes_used,
        }
    }

    /// The container format name: `squashfs` for standard 4.0, else with version and byte order.
    fn format(&self) -> String {
        match self {
            SquashfsVariant::V4 { be: false, .. } => "squashfs".into(),
            SquashfsVariant::V4 { be: true, .. } => "squashfs-4.0-be".into(),
            SquashfsVariant::Legacy(sb) => format!("squashfs-{}.{}-{}", sb.major, sb.minor, if sb.be { "be" } else { "le" }),
        }
    }
}

/// Whether a signature found inside a blob (not at its start) is worth
/// extracting: the header checks out, so random bytes rarely pass.
fn carvable(format: &str, b: &[u8]) -> bool {
    match format {
        // squashfs 4.0 with a consistent block size and a plausible length.
        "squashfs" => SquashfsVariant::of(b).is_some_and(|v| v.len() > 96),
        "uimage" => uimage_header(b).is_some(),
        // deflate, no reserved flag bits.
        "gzip" => b.len() > 10 && b[2] == 8 && b[3] & 0xe0 == 0,
        "xz" | "zstd" => true,
        "jffs2" => jffs2::header_ok(b),
        "fit" => fit::header_ok(b),
        "ubi" => ubi::header_ok(b),
        // newc header: 13 fields of 8 hex digits.
        "cpio" => b.get(6..110).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
        _ => false,
    }
}

/// Open `input` (folder, archive, image or raw dump) into a tree, extracting
/// into `work` when needed.
pub fn open(input: &Path, work: &Path, limits: Limits) -> Result<(Tree, Coverage), UnpackError> {
    let io = |source| UnpackError::Io { path: input.to_path_buf(), source };
    let meta = std::fs::symlink_metadata(input).map_err(io)?;
    if meta.is_dir() {
        return walk_dir(input, limits);
    }
    std::fs::create_dir_all(work).map_err(|source| UnpackError::Work { path: work.to_path_buf(), source })?;
    // The input is read up to `max_total_bytes`; the rest is reported, never read.
    let mut file = std::fs::File::open(input).map_err(io)?;
    let mut bytes = Vec::new();
    (&mut file).take(limits.max_total_bytes).read_to_end(&mut bytes).map_err(io)?;
    let read = bytes.len() as u64;
    let beyond = file.read(&mut [0u8; 1]).map_err(io)? > 0;
    let total = if beyond { file.metadata().map(|m| m.len()).unwrap_or(0).max(read + 1) } else { read };
    // A file with no container signature at its start that is an ELF, a model or a key is examined as that file.
    if !beyond && sniff(&bytes).is_none() {
        let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if let Some(kind) = single::kind_of(&name, &bytes) {
            return Ok(single::open(input, &file.metadata().map_err(io)?, &bytes, kind));
        }
    }
    let coverage = Coverage { input: input.display().to_string(), input_bytes: total, ..Default::default() };
    let mut sink = Sink { work, limits, tree: Tree::default(), coverage, written: 0, counter: 0 };
    if beyond {
        sink.limit(LimitKind::MaxTotalBytes, limits.max_total_bytes, "input");
        let status = ContainerStatus::NotExamined(format!("the input is larger than the {} byte limit (max_total_bytes)", limits.max_total_bytes));
        sink.record("input beyond the limit", read, Some(total - read), status);
    }
    scan(&mut sink, &bytes, 0, 0)?;
    // Only containers at input offsets have a length (those inside decompressed streams have none).
    let spans = sink.coverage.containers.iter().filter_map(|c| Some((c.offset, c.length?))).collect();
    sink.coverage.unclaimed = uncovered(spans, total);
    sink.coverage.unclaimed_bytes = sink.coverage.unclaimed.iter().map(|r| r.length).sum();
    Ok((sink.tree, sink.coverage))
}

/// Account for `bytes`, found at `offset` of the input: the container at its
/// start if any, then every container carved after it, each scan resuming
/// where the previous container ends. `depth` bounds nesting. Returns the
/// `(start, length)` in `bytes` of each container whose extent is known, or
/// `None` when nothing was found (then `bytes` is one `unknown` container).
fn scan(sink: &mut Sink<'_>, bytes: &[u8], offset: u64, depth: usize) -> Result<Option<Vec<(u64, u64)>>, UnpackError> {
    if depth > MAX_DEPTH {
        sink.limit(LimitKind::MaxDepth, MAX_DEPTH as u64, &format!("offset {offset}"));
        sink.coverage.containers.push(Container { format: "nested".into(), offset, length: Some(bytes.len() as u64), status: ContainerStatus::Failed(format!("nested more than {MAX_DEPTH} levels (limit)")) });
        return Ok(None);
    }
    let mut i = 0usize;
    let mut found = false;
    let mut spans = Vec::new();
    while i < bytes.len() {
        let rest = &bytes[i..];
        let consumed = match sniff(rest) {
            Some(format) if i == 0 || carvable(format, rest) => {
                found = true;
                extract(sink, format, rest, offset + i as u64, depth)?
            }
            _ => None,
        };
        if let Some(n) = consumed.filter(|&n| n > 0) {
            spans.push((i as u64, n as u64));
        }
        i += consumed.unwrap_or(1).max(1);
    }
    if !found {
        sink.coverage.containers.push(Container { format: "unknown".into(), offset, length: None, status: ContainerStatus::NotUnderstood("no known signature".into()) });
        return Ok(None);
    }
    Ok(Some(spans))
}

/// Scan the decompressed bytes `out` of the `format` stream at input `offset`:
/// what is carved from them is named `<format>/…` at the stream's offset, and the
/// bytes around it that are not padding are recorded in [`Coverage::stream_unclaimed`].
fn scan_stream(sink: &mut Sink<'_>, format: &str, out: &[u8], offset: u64, depth: usize) -> Result<(), UnpackError> {
    // The decompressed stream is not input bytes: don't count it twice.
    let before = (sink.coverage.extracted_input_bytes, sink.coverage.not_understood_bytes);
    let (n, ranges) = (sink.coverage.containers.len(), sink.coverage.stream_unclaimed.len());
    let spans = scan(sink, out, offset, depth)?;
    (sink.coverage.extracted_input_bytes, sink.coverage.not_understood_bytes) = before;
    for c in &mut sink.coverage.containers[n..] {
        c.format = format!("{format}/{}", c.format);
        c.offset = offset;
        c.length = None;
    }
    for r in &mut sink.coverage.stream_unclaimed[ranges..] {
        r.stream = format!("{format}/{}", r.stream);
        r.stream_offset = offset;
    }
    for gap in spans.map(|s| uncovered(s, out.len() as u64)).unwrap_or_default() {
        let bytes = &out[gap.offset as usize..(gap.offset + gap.length) as usize];
        if bytes.iter().all(|&b| b == 0 || b == 0xff) {
            sink.coverage.stream_padding_bytes += gap.length;
        } else {
            sink.coverage.stream_unclaimed.push(StreamRange { stream: format.to_string(), stream_offset: offset, offset: gap.offset, length: gap.length });
        }
    }
    Ok(())
}

/// A failure cause that is never empty.
fn cause(parser: &str, e: String) -> String {
    if e.trim().is_empty() {
        format!("the {parser} parser gave no reason")
    } else {
        e
    }
}

/// Extract the container of `format` at the start of `bytes`; returns the input
/// bytes it spans (where carving resumes), or `None` when its extent is unknown.
fn extract(sink: &mut Sink<'_>, format: &'static str, bytes: &[u8], offset: u64, depth: usize) -> Result<Option<usize>, UnpackError> {
    match format {
        "squashfs" => {
            let variant = SquashfsVariant::of(bytes);
            let declared = variant.as_ref().map(SquashfsVariant::len).filter(|&l| l > 96);
            let len = declared.map_or(bytes.len(), |l| l.min(bytes.len() as u64) as usize);
            let read = match &variant {
                Some(SquashfsVariant::V4 { be, .. }) => contained(|| squashfs(sink, &bytes[..len], *be)).and_then(|r| r),
                Some(SquashfsVariant::Legacy(sb)) => contained(|| squashfs_legacy::read(sink, &bytes[..len], sb.clone())).and_then(|r| r.map(|_| ())),
                None => Err(format!(
                    "a squashfs magic ({:?}), but no consistent superblock of version 1.x, 2.x, 3.x or 4.0 in either byte order ({})",
                    String::from_utf8_lossy(&bytes[..4]),
                    squashfs_legacy::parse_superblock(bytes).err().unwrap_or_default()
                )),
            };
            let status = match read {
                Ok(()) => ContainerStatus::Extracted,
                Err(e) => match declared {
                    Some(d) if d > bytes.len() as u64 => ContainerStatus::Failed(format!("truncated: the superblock declares {d} bytes, {} present ({})", bytes.len(), cause("squashfs", e))),
                    _ => ContainerStatus::failed("squashfs", e),
                },
            };
            let format = variant.as_ref().map_or_else(|| "squashfs".to_string(), SquashfsVariant::format);
            sink.record(&format, offset, Some(len as u64), status);
            Ok(Some(len))
        }
        "gzip" | "xz" | "zstd" => {
            let cap = sink.limits.max_file_bytes;
            let (out, consumed) = contained(|| inflate(format, bytes, cap)).unwrap_or_else(|panic| (Err(panic), 0));
            let length = (consumed > 0).then_some(consumed as u64);
            match out {
                Ok(out) if out.len() as u64 > cap => {
                    sink.limit(LimitKind::MaxFileBytes, cap, &format!("{format} stream at offset {offset}"));
                    sink.record(format, offset, length, ContainerStatus::Failed(format!("decompresses to more than {cap} bytes (max_file_bytes limit)")));
                }
                Ok(out) => {
                    sink.record(format, offset, length, ContainerStatus::Extracted);
                    scan_stream(sink, format, &out, offset, depth + 1)?;
                }
                Err(e) => sink.record(format, offset, length, ContainerStatus::failed(format, e)),
            }
            Ok(length.map(|l| l as usize))
        }
        "cpio" => match contained(|| cpio(sink, bytes)).and_then(|r| r) {
            Ok(len) => {
                sink.record("cpio", offset, Some(len as u64), ContainerStatus::Extracted);
                Ok(Some(len))
            }
            Err(e) => {
                sink.record("cpio", offset, None, ContainerStatus::failed("cpio", e));
                Ok(None)
            }
        },
        "tar" => {
            let status = match contained(|| tar(sink, bytes)).and_then(|r| r) {
                Ok(()) => ContainerStatus::Extracted,
                Err(e) => ContainerStatus::failed("tar", e),
            };
            sink.record("tar", offset, Some(bytes.len() as u64), status);
            Ok(Some(bytes.len()))
        }
        "uimage" => {
            let Some(header) = uimage_header(bytes) else {
                let why = if bytes.len() < 64 { "shorter than its 64-byte header" } else { "header checksum mismatch" };
                sink.record("uimage", offset, None, ContainerStatus::Failed(why.into()));
                return Ok(None);
            };
            sink.record("uimage-header", offset, Some(64), ContainerStatus::Extracted);
            let end = 64usize.saturating_add(header.size).min(bytes.len());
            let payload = &bytes[64..end];
            if end - 64 < header.size {
                sink.record("uimage-payload", offset + 64, None, ContainerStatus::Failed(format!("truncated: the header declares {} bytes, {} present", header.size, payload.len())));
            }
            if header.compression == 3 {
                // Raw LZMA ("lzma alone") has no magic of its own: the header says so.
                extract_lzma_payload(sink, payload, offset + 64, depth + 1)?;
            } else {
                scan(sink, payload, offset + 64, depth + 1)?;
            }
            Ok(Some(end))
        }
        "fit" => match contained(|| fit::read(bytes)).and_then(|r| r) {
            // A device tree without payloads (a board's DTB): read whole, it holds no files.
            Ok(f) if f.payloads.is_empty() && f.refused_count == 0 => {
                sink.record("fdt", offset, Some(f.len as u64), ContainerStatus::Extracted);
                Ok(Some(f.len))
            }
            Ok(f) => {
                // Refused images (data inside the tree, overlapping, too many) fail the FIT; the others are still read.
                let status = match &f.refused {
                    None => ContainerStatus::Extracted,
                    Some(first) if f.refused_count > 1 => ContainerStatus::Failed(format!("{first}; {} more FIT images refused", f.refused_count - 1)),
                    Some(first) => ContainerStatus::Failed(first.clone()),
                };
                sink.record("fit", offset, Some(f.len as u64), status);
                for p in &f.payloads {
                    fit_payload(sink, p, &bytes[p.start..p.start + p.len], offset + p.start as u64, depth + 1)?;
                }
                Ok(Some(f.len))
            }
            Err(e) => {
                sink.record("fit", offset, None, ContainerStatus::failed("device-tree", e));
                Ok(None)
            }
        },
        "jffs2" => {
            let read = match contained(|| jffs2::read(sink, bytes)) {
                Ok(r) => r?,
                Err(panic) => {
                    sink.record("jffs2", offset, None, ContainerStatus::failed("jffs2", panic));
                    return Ok(None);
                }
            };
            let status = read.cause().map_or(ContainerStatus::Extracted, |c| ContainerStatus::failed("jffs2", c));
            let len = (read.len > 0).then_some(read.len);
            sink.record("jffs2", offset, len.map(|l| l as u64), status);
            Ok(len)
        }
        "ubi" => {
            let read = match contained(|| ubi::read(sink, bytes, offset, depth)) {
                Ok(r) => r?,
                Err(panic) => {
                    sink.record("ubi", offset, None, ContainerStatus::failed("ubi", panic));
                    return Ok(None);
                }
            };
            let status = read.cause().map_or(ContainerStatus::Extracted, |c| ContainerStatus::failed("ubi", c));
            let len = (read.len > 0).then_some(read.len);
            sink.record("ubi", offset, len.map(|l| l as u64), status);
            Ok(len)
        }
        other => {
            sink.record(other, offset, Some(bytes.len() as u64), ContainerStatus::NotSupported("aite has no reader for this format: listed as not examined".into()));
            Ok(Some(bytes.len()))
        }
    }
}

/// The fields of a uImage header (legacy U-Boot image) aite uses, when its
/// header checksum is right.
struct UimageHeader {
    size: usize,
    compression: u8,
}

fn uimage_header(b: &[u8]) -> Option<UimageHeader> {
    let h = b.get(..64)?;
    if h[..4] != UIMAGE_MAGIC {
        return None;
    }
    let be = |p: usize| u32::from_be_bytes([h[p], h[p + 1], h[p + 2], h[p + 3]]);
    let mut zeroed = [0u8; 64];
    zeroed.copy_from_slice(h);
    zeroed[4..8].fill(0);
    let mut crc = flate2::Crc::new();
    crc.update(&zeroed);
    (crc.sum() == be(4)).then(|| UimageHeader { size: be(12) as usize, compression: h[31] })
}

/// One payload of a FIT, scanned like a decompressed stream named `fit:<image>`
/// (a `compression = "lzma"` payload is decompressed first: raw LZMA has no magic).
fn fit_payload(sink: &mut Sink<'_>, p: &fit::Payload, data: &[u8], offset: u64, depth: usize) -> Result<(), UnpackError> {
    let stream = format!("fit:{}", p.name);
    if p.compression != "lzma" {
        return scan_stream(sink, &stream, data, offset, depth);
    }
    let cap = sink.limits.max_file_bytes;
    let inflated = contained(|| -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let r = lzma_rust2::LzmaReader::new_mem_limit(data, (squashfs_lzma::MAX_DICT >> 10) + 1024, None).map_err(|e| e.to_string())?;
        r.take(cap.saturating_add(1)).read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    })
    .and_then(|r| r);
    let format = format!("{stream}/lzma");
    match inflated {
        Ok(out) if out.len() as u64 > cap => {
            sink.limit(LimitKind::MaxFileBytes, cap, &format!("FIT image {} at offset {offset}", p.name));
            sink.coverage.containers.push(Container { format, offset, length: None, status: ContainerStatus::Failed(format!("decompresses to more than {cap} bytes (max_file_bytes limit)")) });
        }
        Ok(out) => {
            sink.coverage.containers.push(Container { format: format.clone(), offset, length: None, status: ContainerStatus::Extracted });
            scan_stream(sink, &format, &out, offset, depth + 1)?;
        }
        Err(e) => sink.coverage.containers.push(Container { format, offset, length: None, status: ContainerStatus::failed("lzma", e) }),
    }
    Ok(())
}

/// A uImage payload compressed with raw LZMA: decompressed (bounded) and scanned.
fn extract_lzma_payload(sink: &mut Sink<'_>, payload: &[u8], offset: u64, depth: usize) -> Result<(), UnpackError> {
    let cap = sink.limits.max_file_bytes;
    let inflated = contained(|| -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        let r = lzma_rust2::LzmaReader::new_mem_limit(payload, u32::MAX, None).map_err(|e| e.to_string())?;
        r.take(cap.saturating_add(1)).read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    })
    .and_then(|r| r);
    let length = Some(payload.len() as u64);
    match inflated {
        Ok(out) if out.len() as u64 > cap => {
            sink.limit(LimitKind::MaxFileBytes, cap, &format!("lzma payload at offset {offset}"));
            sink.record("lzma", offset, length, ContainerStatus::Failed(format!("decompresses to more than {cap} bytes (max_file_bytes limit)")));
        }
        Ok(out) => {
            sink.record("lzma", offset, length, ContainerStatus::Extracted);
            scan_stream(sink, "lzma", &out, offset, depth + 1)?;
        }
        Err(e) => sink.record("lzma", offset, length, ContainerStatus::failed("lzma", e)),
    }
    Ok(())
}

/// Decompress the stream at the start of `bytes` (with any gzip members, xz
/// streams or zstd frames that directly follow it) into at most `cap + 1`
/// bytes. Returns the output or the decoder's error, and the input bytes
/// the decoder consumed: where the next container may start.
fn inflate(format: &str, bytes: &[u8], cap: u64) -> (Result<Vec<u8>, String>, usize) {
    let mut out = Vec::new();
    let mut input: &[u8] = bytes;
    let mut run = || -> Result<(), String> {
        loop {
            let room = cap.saturating_add(1).saturating_sub(out.len() as u64);
            // Each decoder reads from `&mut input`, which advances by what it consumed.
            match format {
                "gzip" => {
                    let mut d = flate2::bufread::GzDecoder::new(&mut input);
                    (&mut d).take(room).read_to_end(&mut out).map_err(|e| e.to_string())?;
                }
                "xz" => {
                    let mut d = lzma_rust2::XzReader::new(&mut input, false);
                    (&mut d).take(room).read_to_end(&mut out).map_err(|e| e.to_string())?;
                }
                _ => {
                    let mut d = ruzstd::decoding::StreamingDecoder::new(&mut input).map_err(|e| e.to_string())?;
                    (&mut d).take(room).read_to_end(&mut out).map_err(|e| e.to_string())?;
                }
            }
            let next = match format {
                "gzip" => input.starts_with(&[0x1f, 0x8b, 8]),
                "xz" => input.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]),
                _ => input.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]),
            };
            if out.len() as u64 > cap || !next {
                return Ok(());
            }
        }
    };
    let result = run();
    let consumed = bytes.len() - input.len();
    (result.map(|()| out), consumed)
}

/// `bytes_used` from a squashfs 4 superblock.
#[cfg(test)]
fn squashfs_len(bytes: &[u8]) -> Option<u64> {
    let b = bytes.get(40..48)?;
    Some(u64::from_le_bytes(b.try_into().ok()?))
}

fn tar(sink: &mut Sink<'_>, bytes: &[u8]) -> Result<(), String> {
    let mut archive = ::tar::Archive::new(bytes);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let h = entry.header();
        let (mode, uid, gid) = (h.mode().unwrap_or(0), h.uid().unwrap_or(0) as u32, h.gid().unwrap_or(0) as u32);
        use ::tar::EntryType as T;
        match h.entry_type() {
            T::Regular | T::Continuous => {
                let declared = entry.size();
                let stored = sink.file(&path, mode, uid, gid, &mut entry).map_err(|e| e.to_string())?;
                truncated(&path, declared, stored)?;
            }
            T::Directory => sink.meta(&path, EntryKind::Dir, mode, uid, gid),
            T::Symlink | T::Link => {
                let target = entry.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
                let kind = EntryKind::Symlink { target: if h.entry_type() == T::Link { format!("/{}", target.trim_start_matches('/')) } else { target } };
                sink.meta(&path, kind, mode, uid, gid)
            }
            T::Char | T::Block => sink.meta(&path, EntryKind::Device, mode, uid, gid),
            T::Fifo => sink.meta(&path, EntryKind::Fifo, mode, uid, gid),
            other => sink.skip(&path, format!("tar entry type {other:?} not examined")),
        }
    }
    Ok(())
}

/// An archive entry shorter than its header declares means the archive is
/// truncated: the part present is kept, the container fails.
fn truncated(path: &str, declared: u64, stored: Option<u64>) -> Result<(), String> {
    match stored {
        Some(n) if n < declared => Err(format!("truncated: entry `{path}` declares {declared} bytes, {n} present")),
        _ => Ok(()),
    }
}

/// A newc cpio archive up to its trailer; returns the bytes it spans.
fn cpio(sink: &mut Sink<'_>, bytes: &[u8]) -> Result<usize, String> {
    let mut reader: &[u8] = bytes;
    loop {
        let mut entry = ::cpio::NewcReader::new(reader).map_err(|e| e.to_string())?;
        if entry.entry().is_trailer() {
            let rest = entry.finish().map_err(|e| e.to_string())?;
            return Ok(bytes.len() - rest.len());
        }
        let (name, mode, uid, gid) = (entry.entry().name().to_string(), entry.entry().mode(), entry.entry().uid(), entry.entry().gid());
        match kind_from_mode(mode) {
            Some(EntryKind::File) => {
                let declared = u64::from(entry.entry().file_size());
                let stored = sink.file(&name, mode & 0o7777, uid, gid, &mut entry).map_err(|e| e.to_string())?;
                truncated(&name, declared, stored)?;
            }
            Some(EntryKind::Symlink { .. }) => {
                let mut target = String::new();
                (&mut entry).take(4096).read_to_string(&mut target).map_err(|e| e.to_string())?;
                sink.meta(&name, EntryKind::Symlink { target }, mode & 0o7777, uid, gid);
            }
            Some(kind) => sink.meta(&name, kind, mode & 0o7777, uid, gid),
            None => sink.skip(&name, format!("unknown cpio mode {mode:o}")),
        }
        reader = entry.finish().map_err(|e| e.to_string())?;
    }
}

/// squashfs 4 through backhand, with pure-Rust decompressors (xz, lzma via
/// lzma-rust2; gzip via flate2) so that default builds need no C.
fn squashfs(sink: &mut Sink<'_>, bytes: &[u8], be: bool) -> Result<(), String> {
    static DECOMPRESSOR: PureRustDecompressor = PureRustDecompressor;
    let kind = if be { backhand::kind::Kind::new_v4_with_const(&DECOMPRESSOR, backhand::kind::BE_V4_0) } else { backhand::kind::Kind::new_v4(&DECOMPRESSOR) };
    IMAGE_LZMA.with(|m| m.set(squashfs_lzma::LzmaMode::Unknown));
    let cursor = std::io::Cursor::new(bytes);
    let fs = backhand::FilesystemReader::from_reader_with_offset_and_kind(std::io::BufReader::new(cursor), 0, kind).map_err(|e| e.to_string())?;
    for node in fs.files() {
        let path = node.fullpath.to_string_lossy().into_owned();
        let h = &node.header;
        let mode = h.permissions as u32;
        use backhand::InnerNode as N;
        match &node.inner {
            N::File(f) => {
                let mut r = fs.file(f).reader();
                sink.file(&path, mode, h.uid, h.gid, &mut r).map_err(|e| e.to_string())?;
            }
            N::Dir(_) => sink.meta(&path, EntryKind::Dir, mode, h.uid, h.gid),
            N::Symlink(s) => sink.meta(&path, EntryKind::Symlink { target: s.link.to_string_lossy().into_owned() }, mode, h.uid, h.gid),
            N::CharacterDevice(_) | N::BlockDevice(_) => sink.meta(&path, EntryKind::Device, mode, h.uid, h.gid),
            N::NamedPipe => sink.meta(&path, EntryKind::Fifo, mode, h.uid, h.gid),
            N::Socket => sink.meta(&path, EntryKind::Socket, mode, h.uid, h.gid),
        }
    }
    Ok(())
}

struct PureRustDecompressor;

thread_local! {
    /// How the LZMA blocks of the squashfs 4.0 image being read are stored (the decompressor is a static).
    static IMAGE_LZMA: std::cell::Cell<squashfs_lzma::LzmaMode> = const { std::cell::Cell::new(squashfs_lzma::LzmaMode::Unknown) };
}

impl backhand::compression::CompressionAction for PureRustDecompressor {
    type Error = backhand::BackhandError;
    type Compressor = backhand::compression::Compressor;
    type FilesystemCompressor = backhand::FilesystemCompressor;
    type SuperBlock = backhand::SuperBlock;

    fn decompress(&self, bytes: &[u8], out: &mut Vec<u8>, compressor: Self::Compressor) -> Result<(), Self::Error> {
        use backhand::compression::Compressor as C;
        #[cfg(test)]
        if tests::PANIC_IN_DECOMPRESSOR.with(std::cell::Cell::get) {
            panic!("synthetic panic inside backhand's read path");
        }
        let bad = |e: String| backhand::BackhandError::StdIo(std::io::Error::other(e));
        // No block of a squashfs 4.0 image decompresses to more than the largest block size.
        const MAX: usize = 1 << 20;
        let lzma = |bytes: &[u8]| -> Result<Vec<u8>, String> {
            let mut mode = IMAGE_LZMA.with(std::cell::Cell::get);
            let r = squashfs_lzma::decode(bytes, None, MAX, &mut mode);
            IMAGE_LZMA.with(|m| m.set(mode));
            r
        };
        let bounded = |r: &mut dyn Read, out: &mut Vec<u8>| -> Result<(), String> {
            let before = out.len();
            r.take(MAX as u64 + 1).read_to_end(out).map_err(|e| e.to_string())?;
            if out.len() - before > MAX {
                return Err(format!("a block decompresses to more than {MAX} bytes"));
            }
            Ok(())
        };
        match compressor {
            C::Xz => bounded(&mut lzma_rust2::XzReader::new(bytes, false), out).map_err(bad)?,
            // Standard 4.0 LZMA (the .lzma header) and the vendor variants without it.
            C::Lzma => out.extend(lzma(bytes).map_err(bad)?),
            C::Lzo => out.extend(lzo::lzo1x(bytes, MAX).map_err(|e| bad(format!("LZO: {e}")))?),
            C::Lz4 => out.extend(lz4::block(bytes, MAX).map_err(bad)?),
            C::Zstd => {
                let mut d = ruzstd::decoding::StreamingDecoder::new(bytes).map_err(|e| bad(format!("zstd: {e}")))?;
                bounded(&mut d, out).map_err(|e| bad(format!("zstd: {e}")))?;
            }
            // Vendors label LZMA images gzip: a block that is no zlib stream is tried as LZMA.
            C::Gzip => match bounded(&mut flate2::read::ZlibDecoder::new(bytes), out) {
                Ok(()) => {}
                Err(e) => {
                    out.clear();
                    out.extend(lzma(bytes).map_err(|l| bad(format!("zlib: {e}; as LZMA: {l}")))?);
                }
            },
            _ => backhand::compression::DefaultCompressor.decompress(bytes, out, compressor)?,
        }
        Ok(())
    }

    fn compress(&self, bytes: &[u8], fc: Self::FilesystemCompressor, block_size: u32) -> Result<Vec<u8>, Self::Error> {
        backhand::compression::DefaultCompressor.compress(bytes, fc, block_size)
    }
}

/// Index a root filesystem folder in place (no copies), never following symlinks.
fn walk_dir(root: &Path, limits: Limits) -> Result<(Tree, Coverage), UnpackError> {
    use std::os::unix::fs::MetadataExt;
    let mut tree = Tree::default();
    let mut cov = Coverage { input: root.display().to_string(), ..Default::default() };
    let mut stack = vec![root.to_path_buf()];
    let mut stopped = false;
    'walk: while let Some(dir) = stack.pop() {
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                cov.skipped.push(Skipped { path: dir.display().to_string(), reason: e.to_string() });
                continue;
            }
        };
        for item in rd {
            let item = match item {
                Ok(i) => i,
                Err(e) => {
                    cov.skipped.push(Skipped { path: dir.display().to_string(), reason: format!("an entry of this folder could not be listed: {e}") });
                    continue;
                }
            };
            let p = item.path();
            let m = match std::fs::symlink_metadata(&p) {
                Ok(m) => m,
                Err(e) => {
                    cov.skipped.push(Skipped { path: p.display().to_string(), reason: format!("cannot read its metadata: {e}") });
                    continue;
                }
            };
            let rel = p.strip_prefix(root).map(|r| r.to_string_lossy().into_owned()).unwrap_or_default();
            if tree.entries.len() >= limits.max_files {
                let reason = format!("more than {} entries (max_files limit); the rest of the folder is not indexed", limits.max_files);
                cov.skipped.push(Skipped { path: rel.clone(), reason });
                cov.limits_hit.push(LimitHit { limit: LimitKind::MaxFiles, value: limits.max_files as u64, times: 1, first: rel });
                stopped = true;
                break 'walk;
            }
            let ft = m.file_type();
            let kind = if ft.is_dir() {
                stack.push(p.clone());
                EntryKind::Dir
            } else if ft.is_symlink() {
                cov.symlinks += 1;
                EntryKind::Symlink { target: std::fs::read_link(&p).map(|t| t.to_string_lossy().into_owned()).unwrap_or_default() }
            } else if ft.is_file() {
                cov.files += 1;
                cov.file_bytes += m.len();
                EntryKind::File
            } else {
                cov.devices += 1;
                EntryKind::Device
            };
            let content = (kind == EntryKind::File).then(|| p.clone());
            tree.insert(Entry { path: rel, kind, mode: m.mode() & 0o7777, uid: m.uid(), gid: m.gid(), size: m.len(), content });
        }
    }
    cov.input_bytes = cov.file_bytes;
    cov.extracted_input_bytes = cov.file_bytes;
    let status = if stopped { ContainerStatus::NotExamined(format!("indexing stopped at the max_files limit ({} entries)", limits.max_files)) } else { ContainerStatus::Extracted };
    cov.containers.push(Container { format: "directory".into(), offset: 0, length: Some(cov.file_bytes), status });
    Ok((tree, cov))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    thread_local! {
        /// Makes the squashfs decompressor panic (called from inside backhand),
        /// since no input found so far makes backhand itself panic.
        pub(super) static PANIC_IN_DECOMPRESSOR: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// A tar entry with a raw, unchecked name (the tar crate refuses to write `..`).
    fn raw_entry(out: &mut Vec<u8>, name: &str, kind: ::tar::EntryType, link: &str, data: &[u8], mode: u32) {
        let mut h = ::tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_gnu_mut().unwrap().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    fn finish(mut tar: Vec<u8>) -> Vec<u8> {
        tar.extend_from_slice(&[0u8; 1024]);
        tar
    }

    /// Extract `bytes` into a fresh work folder inside a sandbox folder and
    /// return the tree, the coverage and the sandbox (to check nothing escaped).
    fn extract(bytes: &[u8], limits: Limits) -> (Tree, Coverage, tempfile::TempDir) {
        let sandbox = tempfile::tempdir().unwrap();
        let input = sandbox.path().join("input.bin");
        std::fs::write(&input, bytes).unwrap();
        let work = sandbox.path().join("work");
        let (tree, cov) = open(&input, &work, limits).unwrap();
        (tree, cov, sandbox)
    }

    /// Every path under `dir`, relative.
    fn all_paths(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
                if std::fs::symlink_metadata(&p).unwrap().is_dir() {
                    stack.push(p);
                }
            }
        }
        out
    }


    #[test]
    fn traversal_and_absolute_paths_stay_inside() {
        let mut t = Vec::new();
        raw_entry(&mut t, "../../escaped.txt", ::tar::EntryType::Regular, "", b"pwned", 0o644);
        raw_entry(&mut t, "/etc/absolute.txt", ::tar::EntryType::Regular, "", b"inside", 0o644);
        raw_entry(&mut t, "a/../../../up.txt", ::tar::EntryType::Regular, "", b"pwned", 0o644);
        let (tree, cov, sandbox) = extract(&finish(t), Limits::default());
        assert!(tree.get("etc/absolute.txt").is_some(), "absolute paths are taken relative to the image root");
        assert_eq!(cov.skipped.iter().filter(|s| s.reason.contains("leaves the image root")).count(), 2, "{:?}", cov.skipped);
        let paths = all_paths(sandbox.path());
        assert!(paths.iter().all(|p| p == "input.bin" || p.starts_with("work")), "{paths:?}");
        assert!(!sandbox.path().parent().unwrap().join("escaped.txt").exists());
    }

    #[test]
    fn symlinks_are_recorded_never_created_or_written_through() {
        let target = tempfile::tempdir().unwrap();
        let outside = target.path().display().to_string();
        let mut t = Vec::new();
        raw_entry(&mut t, "link", ::tar::EntryType::Symlink, &outside, b"", 0o777);
        raw_entry(&mut t, "link/planted.txt", ::tar::EntryType::Regular, "", b"pwned", 0o644);
        raw_entry(&mut t, "up", ::tar::EntryType::Symlink, "../../..", b"", 0o777);
        let (tree, cov, sandbox) = extract(&finish(t), Limits::default());
        assert!(!target.path().join("planted.txt").exists(), "nothing is written through a symlink");
        assert!(matches!(tree.get("link").unwrap().kind, EntryKind::Symlink { .. }));
        assert!(tree.get("link/planted.txt").is_some(), "the entry is indexed as a file of the image");
        assert!(cov.skipped.iter().any(|s| s.path == "up" && s.reason.contains("outside the image root")));
        for p in all_paths(sandbox.path()) {
            assert!(!std::fs::symlink_metadata(sandbox.path().join(&p)).unwrap().file_type().is_symlink(), "{p} is a symlink on disk");
        }
    }

    #[test]
    fn device_nodes_and_setuid_bits_are_metadata_only() {
        let mut t = Vec::new();
        raw_entry(&mut t, "dev/mem", ::tar::EntryType::Char, "", b"", 0o666);
        raw_entry(&mut t, "bin/su", ::tar::EntryType::Regular, "", b"#!/bin/sh\n", 0o4755);
        let (tree, cov, sandbox) = extract(&finish(t), Limits::default());
        assert_eq!(tree.get("dev/mem").unwrap().kind, EntryKind::Device);
        assert_eq!(cov.devices, 1);
        assert!(tree.get("bin/su").unwrap().setuid());
        use std::os::unix::fs::PermissionsExt;
        for p in all_paths(&sandbox.path().join("work")) {
            let m = std::fs::symlink_metadata(sandbox.path().join("work").join(&p)).unwrap();
            assert!(m.is_file(), "only regular files on disk: {p}");
            assert_eq!(m.permissions().mode() & 0o6000, 0, "no setuid/setgid on disk: {p}");
        }
    }

    #[test]
    fn bombs_are_bounded() {
        // 64 MiB of zeros in a 64 KiB gzip stream, against a 1 MiB limit.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        let limits = Limits { max_total_bytes: 1 << 20, max_files: 10, max_file_bytes: 1 << 20 };
        let (_, cov, sandbox) = extract(&bomb, limits);
        assert!(cov.containers.iter().any(|c| c.format == "gzip" && c.status.to_string().contains("limit")), "{:?}", cov.containers);
        let written: u64 = all_paths(&sandbox.path().join("work")).iter().map(|p| std::fs::metadata(sandbox.path().join("work").join(p)).unwrap().len()).sum();
        assert!(written <= 1 << 20);
        // Entry-count bomb.
        let mut t = Vec::new();
        for i in 0..50 {
            raw_entry(&mut t, &format!("f{i}"), ::tar::EntryType::Regular, "", b"x", 0o644);
        }
        let (tree, cov, _s) = extract(&finish(t), limits);
        assert_eq!(tree.entries.len(), 10);
        assert_eq!(cov.skipped.len(), 40);
        // Size bomb inside an archive (the input itself within max_total_bytes).
        let mut t = Vec::new();
        raw_entry(&mut t, "big", ::tar::EntryType::Regular, "", &vec![7u8; 2 << 20], 0o644);
        let (tree, cov, _s) = extract(&finish(t), Limits { max_total_bytes: 8 << 20, ..limits });
        assert!(tree.get("big").is_none());
        assert!(cov.skipped[0].reason.contains("larger than the extraction limit"));
    }

    #[test]
    fn xz_and_zstd_compressed_archives_are_extracted() {
        let mut t = Vec::new();
        raw_entry(&mut t, "etc/passwd", ::tar::EntryType::Regular, "", b"root::0:0:root:/root:/bin/sh\n", 0o644);
        let tar = finish(t);
        let mut xz = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).unwrap();
        xz.write_all(&tar).unwrap();
        let xz = xz.finish().unwrap();
        let zst = ruzstd::encoding::compress_to_vec(&tar[..], ruzstd::encoding::CompressionLevel::Fastest);
        for (name, bytes) in [("xz", xz), ("zstd", zst)] {
            let (tree, cov, _s) = extract(&bytes, Limits::default());
            assert!(tree.get("etc/passwd").is_some(), "{name}: {:?}", cov.containers);
            assert_eq!(cov.containers[0].format, name);
            assert_eq!(cov.containers[1].format, format!("{name}/tar"));
            assert_eq!(cov.extracted_input_bytes, bytes.len() as u64, "{name}");
            // A truncated stream is a failed container, not an error or a panic.
            let (_, cov, _s) = extract(&bytes[..bytes.len() / 2], Limits::default());
            assert!(cov.containers.iter().any(|c| c.format == name && matches!(c.status, ContainerStatus::Failed(_))), "{name}: {:?}", cov.containers);
        }
    }

    #[test]
    fn truncated_and_garbage_inputs_fail_softly() {
        let mut t = Vec::new();
        raw_entry(&mut t, "etc/passwd", ::tar::EntryType::Regular, "", &[b'x'; 2000], 0o644);
        let truncated = &t[..900];
        let (_, cov, _s) = extract(truncated, Limits::default());
        assert_eq!(cov.containers[0].status, ContainerStatus::Failed("truncated: entry `etc/passwd` declares 2000 bytes, 388 present".into()), "{:?}", cov.containers);
        let (tree, cov, _s) = extract(b"\x00\x01garbage that is no format at all", Limits::default());
        assert!(tree.entries.is_empty());
        assert!(matches!(cov.containers[0].status, ContainerStatus::NotUnderstood(_)));
        // A squashfs magic with a broken superblock.
        let mut fake = b"hsqs".to_vec();
        fake.extend_from_slice(&[0xff; 200]);
        let (_, cov, _s) = extract(&fake, Limits::default());
        assert!(cov.containers.iter().any(|c| matches!(c.status, ContainerStatus::Failed(_) | ContainerStatus::NotUnderstood(_))), "{:?}", cov.containers);
    }

    /// A squashfs 4 image written by backhand (gzip): regular files, with their folders.
    fn squashfs_image(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut w = backhand::FilesystemWriter::default();
        w.set_compressor(backhand::FilesystemCompressor::new(backhand::compression::Compressor::Gzip, None).unwrap());
        for (path, data) in files {
            if let Some((dir, _)) = path.rsplit_once('/') {
                w.push_dir_all(dir, backhand::NodeHeader::new(0o755, 0, 0, 0)).unwrap();
            }
            w.push_file(std::io::Cursor::new(data.clone()), path, backhand::NodeHeader::new(0o644, 0, 0, 0)).unwrap();
        }
        let mut out = std::io::Cursor::new(Vec::new());
        w.write(&mut out).unwrap();
        out.into_inner()
    }

    /// A legacy U-Boot image header (64 bytes, big endian, both CRCs) for `payload`.
    fn uimage(payload: &[u8], compression: u8) -> Vec<u8> {
        let crc = |b: &[u8]| {
            let mut c = flate2::Crc::new();
            c.update(b);
            c.sum()
        };
        let mut h = Vec::with_capacity(64);
        h.extend_from_slice(&UIMAGE_MAGIC);
        h.extend_from_slice(&[0; 4]); // header CRC, below
        h.extend_from_slice(&1_700_000_000u32.to_be_bytes()); // time
        h.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        h.extend_from_slice(&0x8000_8000u32.to_be_bytes()); // load address
        h.extend_from_slice(&0x8000_8000u32.to_be_bytes()); // entry point
        h.extend_from_slice(&crc(payload).to_be_bytes());
        h.extend_from_slice(&[5, 2, 2, compression]); // Linux, ARM, kernel, compression
        let mut name = *b"Linux-5.10-aite\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        name[31] = 0;
        h.extend_from_slice(&name);
        let hcrc = crc(&h);
        h[4..8].copy_from_slice(&hcrc.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    }

    const SHADOW: &[u8] = b"root:$1$aiteCarv$33fozzGLDVi9yj31v3K2s/:19000:0:99999:7:::\n"; // `openssl passwd -1 -salt aiteCarv admin`

    #[test]
    fn carving_reaches_the_rootfs_after_a_uimage_kernel() {
        // Flash layout: 32 KiB bootloader (random bytes), a uImage with a gzip'd
        // kernel, 0xff padding to 64 KiB, the squashfs root filesystem, padding to 256 KiB.
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut flash: Vec<u8> = (0..32 << 10).map(|_| rng.gen()).collect();
        let kernel = gzip(&b"Linux version 5.10.0 (fake kernel for the carving test)\n".repeat(40));
        flash.extend(uimage(&kernel, 1));
        let kernel_end = flash.len();
        flash.resize(64 << 10, 0xff);
        let rootfs = squashfs_image(&[("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n".to_vec()), ("etc/shadow", SHADOW.to_vec()), ("bin/busybox", b"\x7fELF".to_vec())]);
        let used = squashfs_len(&rootfs).unwrap();
        flash.extend_from_slice(&rootfs);
        flash.resize(256 << 10, 0xff);

        let (tree, cov, _s) = extract(&flash, Limits::default());
        assert_eq!(tree.read("etc/shadow").as_deref(), Some(SHADOW), "{:#?}", cov.containers);
        assert!(tree.get("etc/passwd").is_some() && tree.get("bin/busybox").is_some());
        let seen: Vec<(&str, u64, Option<u64>, String)> = cov.containers.iter().map(|c| (c.format.as_str(), c.offset, c.length, c.status.to_string())).collect();
        assert_eq!(
            seen,
            vec![
                ("uimage-header", 32 << 10, Some(64), "extracted".to_string()),
                ("gzip", (32 << 10) + 64, Some(kernel.len() as u64), "extracted".to_string()),
                ("gzip/unknown", (32 << 10) + 64, None, "not-understood: no known signature".to_string()),
                ("squashfs", 64 << 10, Some(used), "extracted".to_string()),
            ]
        );
        // Unclaimed: the bootloader, the padding after the kernel and after the rootfs.
        let r = |offset: u64, end: u64| ByteRange { offset, length: end - offset };
        assert_eq!(cov.unclaimed, vec![r(0, 32 << 10), r(kernel_end as u64, 64 << 10), r((64 << 10) + used, 256 << 10)]);
        assert_eq!(cov.unclaimed_bytes, (256 << 10) - 64 - kernel.len() as u64 - used);
        assert_eq!(cov.extracted_input_bytes, 64 + kernel.len() as u64 + used);
        // The whole scan reaches the rootfs's findings; the 0xff padding is no gap, the
        // bootloader and the kernel's contents are, so the scan is incomplete.
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("flash.bin"), &flash).unwrap();
        let report = crate::scan(&d.path().join("flash.bin"), &d.path().join("work"), Limits::default()).unwrap();
        assert!(report.findings.iter().any(|f| f.failed() && f.rule == "AITE-CRED-DEFAULT" && f.path == "etc/shadow"), "{:#?}", report.findings);
        assert_eq!(report.coverage.unclaimed, vec![r(0, 32 << 10)], "padding dropped, the bootloader stays");
        assert_eq!(report.coverage.padding_bytes, (64 << 10) - kernel_end as u64 + (256 << 10) - (64 << 10) - used);
        assert_eq!(report.gaps.len(), 2, "{:?}", report.gaps);
    }

    #[test]
    fn scanning_resumes_after_the_end_of_each_compressed_stream() {
        // gzip(tar a) + 100 zero bytes + xz(tar b) + zstd(tar c): each stream's end is found.
        let tar_with = |name: &str| {
            let mut t = Vec::new();
            raw_entry(&mut t, name, ::tar::EntryType::Regular, "", name.as_bytes(), 0o644);
            finish(t)
        };
        let gz = gzip(&tar_with("etc/a"));
        let mut xz = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).unwrap();
        xz.write_all(&tar_with("etc/b")).unwrap();
        let xz = xz.finish().unwrap();
        let zst = ruzstd::encoding::compress_to_vec(&tar_with("etc/c")[..], ruzstd::encoding::CompressionLevel::Fastest);
        let mut input = gz.clone();
        input.extend_from_slice(&[0; 100]);
        input.extend_from_slice(&xz);
        input.extend_from_slice(&zst);
        let (tree, cov, _s) = extract(&input, Limits::default());
        for f in ["etc/a", "etc/b", "etc/c"] {
            assert_eq!(tree.read(f).as_deref(), Some(f.as_bytes()), "{f}: {:#?}", cov.containers);
        }
        let top: Vec<(&str, u64, Option<u64>)> = cov.containers.iter().filter(|c| c.length.is_some()).map(|c| (c.format.as_str(), c.offset, c.length)).collect();
        let (g, x, z) = (gz.len() as u64, xz.len() as u64, zst.len() as u64);
        assert_eq!(top, vec![("gzip", 0, Some(g)), ("xz", g + 100, Some(x)), ("zstd", g + 100 + x, Some(z))]);
        assert_eq!(cov.unclaimed, vec![ByteRange { offset: g, length: 100 }]);
        assert!(cov.containers.iter().all(|c| c.status.is_extracted()), "{:#?}", cov.containers);
    }

    #[test]
    fn container_states_have_fixed_names_and_older_run_folders_still_read() {
        let c = |status| Container { format: "squashfs".into(), offset: 0, length: Some(5), status };
        let failed = c(ContainerStatus::Failed("truncated".into()));
        let json = serde_json::to_value(&failed).unwrap();
        assert_eq!(json, serde_json::json!({"format": "squashfs", "offset": 0, "length": 5, "status": "failed", "cause": "truncated"}));
        assert_eq!(serde_json::from_value::<Container>(json).unwrap(), failed);
        let extracted = serde_json::to_value(c(ContainerStatus::Extracted)).unwrap();
        assert_eq!(extracted, serde_json::json!({"format": "squashfs", "offset": 0, "length": 5, "status": "extracted"}));
        for (status, name) in [(ContainerStatus::NotSupported("x".into()), "not-supported"), (ContainerStatus::NotUnderstood("x".into()), "not-understood"), (ContainerStatus::NotExamined("x".into()), "not-examined")] {
            assert_eq!(serde_json::to_value(c(status)).unwrap()["status"], name);
        }
        // The one-string form written before the cause had its own field.
        let old = |s: &str| serde_json::from_value::<Container>(serde_json::json!({"format": "jffs2", "offset": 0, "length": null, "status": s}));
        assert_eq!(old("failed: truncated: entry `a` declares 2 bytes, 1 present").unwrap().status, ContainerStatus::Failed("truncated: entry `a` declares 2 bytes, 1 present".into()));
        assert_eq!(old("not supported: listed as not examined").unwrap().status, ContainerStatus::NotSupported("listed as not examined".into()));
        assert_eq!(old("extracted").unwrap().status, ContainerStatus::Extracted);
        assert_eq!(old("failed: ").unwrap().status, ContainerStatus::Failed("no cause recorded".into()), "an empty cause stays visible");
        assert!(old("passed").unwrap_err().to_string().contains("unknown container status `passed`"));
        assert_eq!(ContainerStatus::failed("cpio", " ").to_string(), "failed: the cpio parser gave no reason");
    }

    /// Leftover of issue 9: bytes of a decompressed stream around what was carved
    /// from it (a gzip'd kernel with an initramfs inside) were not counted anywhere.
    #[test]
    fn bytes_around_containers_inside_a_decompressed_stream_are_gaps() {
        let mut initramfs = Vec::new();
        let w = ::cpio::NewcBuilder::new("etc/shadow").mode(0o100600).write(&mut initramfs, SHADOW.len() as u32);
        let mut w = w;
        w.write_all(SHADOW).unwrap();
        w.finish().unwrap();
        ::cpio::newc::trailer(&mut initramfs).unwrap();
        let code = b"kernel code ".repeat(341); // 4092 bytes, no known signature inside
        let tail = b"more kernel code".repeat(50); // 800 bytes
        let mut kernel = code.clone();
        kernel.extend_from_slice(&initramfs);
        kernel.extend_from_slice(&[0u8; 512]);
        kernel.extend_from_slice(&tail);
        let mut input = vec![0u8; 0];
        input.extend(gzip(&kernel));
        let (tree, cov, _s) = extract(&input, Limits::default());
        assert_eq!(tree.read("etc/shadow").as_deref(), Some(SHADOW), "{:#?}", cov.containers);
        let at = |offset: usize, length: usize| StreamRange { stream: "gzip".into(), stream_offset: 0, offset: offset as u64, length: length as u64 };
        // A range holding data is a gap whole, zeros included (as for input ranges).
        let after = code.len() + initramfs.len();
        assert_eq!(cov.stream_unclaimed, [at(0, code.len()), at(after, 512 + tail.len())], "{:#?}", cov.containers);
        assert_eq!(cov.stream_padding_bytes, 0);
        assert_eq!(cov.unclaimed, [], "every input byte is inside the gzip stream");
        // The scan names both ranges as gaps and is incomplete.
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("kernel.gz"), &input).unwrap();
        let report = crate::scan(&d.path().join("kernel.gz"), &d.path().join("work"), Limits::default()).unwrap();
        assert_eq!(
            report.gaps,
            [
                format!("{} bytes at offset 0 of the decompressed gzip stream at input offset 0 in no known format", code.len()),
                format!("{} bytes at offset {after} of the decompressed gzip stream at input offset 0 in no known format", 512 + tail.len()),
            ]
        );
        // The same initramfs followed by nothing but padding is complete, and so is a stream inside a stream.
        let mut padded = initramfs.clone();
        padded.extend_from_slice(&[0u8; 700]);
        let (_, cov, _s) = extract(&gzip(&padded), Limits::default());
        assert_eq!((cov.stream_unclaimed.as_slice(), cov.stream_padding_bytes), ([].as_slice(), 700), "{:#?}", cov.containers);
        let mut inner = b"lzma-free prefix".repeat(4);
        inner.extend(gzip(&kernel));
        let (_, cov, _s) = extract(&gzip(&inner), Limits::default());
        let nested: Vec<(&str, u64, u64)> = cov.stream_unclaimed.iter().map(|r| (r.stream.as_str(), r.offset, r.length)).collect();
        assert_eq!(nested, [("gzip/gzip", 0, code.len() as u64), ("gzip/gzip", after as u64, 512 + tail.len() as u64), ("gzip", 0, 64)]);
    }

    #[test]
    fn a_failed_squashfs_always_has_a_cause() {
        let image = squashfs_image(&[("etc/passwd", b"root::0:0::/:/bin/sh\n".to_vec())]);
        let used = squashfs_len(&image).unwrap() as usize;
        // Truncated, and with its tables overwritten.
        let mut broken = image[..used].to_vec();
        let half = broken.len() / 2;
        broken[half..].fill(0xa5);
        for bytes in [&image[..used / 2], &broken[..]] {
            let (_, cov, _s) = extract(bytes, Limits::default());
            let c = cov.containers.iter().find(|c| c.format == "squashfs").unwrap();
            let ContainerStatus::Failed(cause) = &c.status else { panic!("{c:?}") };
            assert!(cause.trim().len() > 3, "{c:?}");
        }
        let (_, cov, _s) = extract(&image[..used / 2], Limits::default());
        assert!(cov.containers[0].status.to_string().starts_with(&format!("failed: truncated: the superblock declares {used} bytes")), "{:?}", cov.containers);
    }

    #[test]
    fn squashfs_bombs_are_bounded() {
        // 64 MiB of one byte in a squashfs of a few KiB, against a 1 MiB limit.
        let limits = Limits { max_total_bytes: 4 << 20, max_files: 100, max_file_bytes: 1 << 20 };
        let image = squashfs_image(&[("bomb", vec![b'A'; 64 << 20]), ("etc/passwd", b"root::0:0::/:/bin/sh\n".to_vec())]);
        assert!(image.len() < 256 << 10, "{} bytes", image.len());
        let (tree, cov, sandbox) = extract(&image, limits);
        assert!(tree.get("bomb").is_none() && tree.get("etc/passwd").is_some());
        assert!(cov.skipped.iter().any(|s| s.path == "bomb" && s.reason.contains("max_file_bytes")), "{:?}", cov.skipped);
        assert_eq!(cov.limits_hit.iter().map(|h| (h.limit, h.value, h.first.as_str())).collect::<Vec<_>>(), vec![(LimitKind::MaxFileBytes, 1 << 20, "bomb")]);
        let written: u64 = all_paths(&sandbox.path().join("work")).iter().map(|p| std::fs::metadata(sandbox.path().join("work").join(p)).unwrap().len()).sum();
        assert!(written <= 1 << 20, "{written}");
        // The same bomb made by mksquashfs (zeros, so sparse blocks too), when installed.
        let Ok(_) = std::process::Command::new("mksquashfs").arg("-version").output() else {
            let why = "mksquashfs is not installed (apt-get install squashfs-tools)";
            assert!(std::env::var_os("AITE_REQUIRE_PEERS").is_none_or(|v| v != "1"), "AITE_REQUIRE_PEERS=1: {why}");
            println!("skipping the mksquashfs bomb: {why}");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("root")).unwrap();
        std::fs::File::create(dir.path().join("root/zeros")).unwrap().set_len(256 << 20).unwrap();
        let img = dir.path().join("bomb.sqfs");
        let ok = std::process::Command::new("mksquashfs").arg(dir.path().join("root")).arg(&img).args(["-noappend", "-no-progress", "-quiet", "-comp", "gzip"]).stdout(std::process::Stdio::null()).status().unwrap();
        assert!(ok.success());
        let bytes = std::fs::read(&img).unwrap();
        let (tree, cov, _s) = extract(&bytes, limits);
        assert!(tree.get("zeros").is_none(), "{:?}", cov);
        assert!(cov.limits_hit.iter().any(|h| h.limit == LimitKind::MaxFileBytes), "{:?}", cov.limits_hit);
        assert_eq!(cov.containers[0].status, ContainerStatus::Extracted);
    }

    #[test]
    fn the_entry_limit_applies_to_every_container_kind() {
        let limits = Limits { max_total_bytes: 1 << 20, max_files: 10, max_file_bytes: 1 << 20 };
        let check = |what: &str, tree: &Tree, cov: &Coverage| {
            assert_eq!(tree.entries.len(), 10, "{what}");
            assert!(cov.limits_hit.iter().any(|h| h.limit == LimitKind::MaxFiles && h.value == 10), "{what}: {:?}", cov.limits_hit);
            assert!(cov.skipped.iter().any(|s| s.reason.contains("max_files")), "{what}");
        };
        // tar: symlinks, folders and devices count, not only files.
        let mut t = Vec::new();
        for i in 0..30 {
            raw_entry(&mut t, &format!("l{i}"), ::tar::EntryType::Symlink, "x", b"", 0o777);
            raw_entry(&mut t, &format!("d{i}/"), ::tar::EntryType::Directory, "", b"", 0o755);
            raw_entry(&mut t, &format!("c{i}"), ::tar::EntryType::Char, "", b"", 0o666);
        }
        let (tree, cov, _s) = extract(&finish(t), limits);
        check("tar", &tree, &cov);
        assert_eq!(cov.skipped.len(), 80);
        // cpio newc.
        let mut c = Vec::new();
        for i in 0..30 {
            let w = ::cpio::NewcBuilder::new(&format!("dir{i}")).mode(0o040755).write(&mut c, 0);
            w.finish().unwrap();
        }
        ::cpio::newc::trailer(&mut c).unwrap();
        let (tree, cov, _s) = extract(&c, limits);
        check("cpio", &tree, &cov);
        // squashfs (backhand adds the folders too).
        let files: Vec<(String, Vec<u8>)> = (0..30).map(|i| (format!("f{i}"), vec![b'x'])).collect();
        let image = squashfs_image(&files.iter().map(|(p, d)| (p.as_str(), d.clone())).collect::<Vec<_>>());
        let (tree, cov, _s) = extract(&image, limits);
        check("squashfs", &tree, &cov);
        // A folder, indexed in place.
        let dir = tempfile::tempdir().unwrap();
        for i in 0..30 {
            std::fs::write(dir.path().join(format!("f{i}")), b"x").unwrap();
        }
        let (tree, cov) = open(dir.path(), &dir.path().join("unused"), limits).unwrap();
        check("folder", &tree, &cov);
        assert!(cov.containers[0].status.to_string().starts_with("not-examined: indexing stopped at the max_files limit"), "{:?}", cov.containers);
    }

    #[test]
    fn input_beyond_the_byte_limit_is_reported_not_read() {
        let mut t = Vec::new();
        raw_entry(&mut t, "etc/passwd", ::tar::EntryType::Regular, "", b"root::0:0::/:/bin/sh\n", 0o644);
        let mut input = finish(t);
        let tar_len = input.len() as u64;
        input.resize(3 << 20, 0);
        let limits = Limits { max_total_bytes: 1 << 20, max_files: 10, max_file_bytes: 1 << 20 };
        let (tree, cov, _s) = extract(&input, limits);
        assert!(tree.get("etc/passwd").is_some());
        assert_eq!(cov.input_bytes, 3 << 20);
        let beyond = cov.containers.iter().find(|c| matches!(c.status, ContainerStatus::NotExamined(_))).expect("a container for the unread bytes");
        assert_eq!((beyond.offset, beyond.length), (1 << 20, Some(2 << 20)), "{beyond:?}");
        assert!(beyond.status.to_string().contains("max_total_bytes"));
        assert_eq!(cov.limits_hit[0].limit, LimitKind::MaxTotalBytes);
        assert_eq!(cov.not_understood_bytes, 2 << 20);
        assert!(tar_len < 1 << 20);
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_reported() {
        let mut t = Vec::new();
        raw_entry(&mut t, "etc/passwd", ::tar::EntryType::Regular, "", b"root::0:0::/:/bin/sh\n", 0o644);
        let mut bytes = finish(t);
        for _ in 0..=MAX_DEPTH {
            bytes = gzip(&bytes);
        }
        let (tree, cov, _s) = extract(&bytes, Limits::default());
        assert!(tree.get("etc/passwd").is_none());
        assert!(cov.containers.iter().any(|c| c.format.ends_with("/nested") && c.status.to_string().contains("nested more than")), "{:?}", cov.containers);
        assert_eq!(cov.limits_hit.iter().map(|h| h.limit).collect::<Vec<_>>(), vec![LimitKind::MaxDepth]);
    }

    #[test]
    fn a_parser_panic_fails_its_container_and_the_scan_goes_on() {
        // squashfs (its parser panics) + a gzip'd tar carved after it.
        let mut image = squashfs_image(&[("etc/shadow", SHADOW.to_vec())]);
        image.truncate(squashfs_len(&image).unwrap() as usize);
        let mut t = Vec::new();
        raw_entry(&mut t, "etc/after", ::tar::EntryType::Regular, "", b"still scanned", 0o644);
        let gz = gzip(&finish(t));
        let mut input = image.clone();
        input.extend_from_slice(&gz);
        PANIC_IN_DECOMPRESSOR.with(|p| p.set(true));
        let (tree, cov, _s) = extract(&input, Limits::default());
        PANIC_IN_DECOMPRESSOR.with(|p| p.set(false));
        let sq = &cov.containers[0];
        assert_eq!((sq.format.as_str(), sq.length), ("squashfs", Some(image.len() as u64)));
        assert!(sq.status.to_string().starts_with("failed: parser panicked: synthetic panic inside backhand's read path (at "), "{sq:?}");
        assert_eq!(tree.read("etc/after").as_deref(), Some(&b"still scanned"[..]), "{:?}", cov.containers);
        assert_eq!(cov.containers[1].format, "gzip");
        assert_eq!(cov.containers[1].status, ContainerStatus::Extracted);
        // The same input without the panic: both containers extracted.
        let (tree, _, _s) = extract(&input, Limits::default());
        assert_eq!(tree.read("etc/shadow").as_deref(), Some(SHADOW));
    }
}
