//! Turning what the user gives (a root filesystem folder, an archive, a
//! filesystem image, a raw flash dump) into a [`Tree`], safely, and saying
//! how much of it was understood.
//!
//! Hostile-input rules: entry paths are normalised and any that would leave
//! the root are skipped; symlinks, device nodes and setuid bits are recorded
//! in the index, never created on disk, so no later entry can write through a
//! link; sizes and entry counts are bounded (decompression bombs); every
//! skipped entry is listed with its reason in the [`Coverage`].

use crate::tree::{normalise, Entry, EntryKind, Tree};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Bounds on what extraction may write.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Limits {
    pub max_total_bytes: u64,
    pub max_files: usize,
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
pub struct Container {
    pub format: String,
    pub offset: u64,
    /// Bytes of the input this container spans, when known.
    pub length: Option<u64>,
    /// `extracted`, `failed: <reason>` or `not supported`.
    pub status: String,
}

/// An entry that was not extracted, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

/// What part of the input was examined (no anchor reports this).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    pub input: String,
    pub input_bytes: u64,
    pub containers: Vec<Container>,
    /// Input bytes inside containers that were extracted.
    pub extracted_input_bytes: u64,
    /// Input bytes inside containers found but not understood.
    pub not_understood_bytes: u64,
    /// Input bytes outside any container (padding, unknown formats).
    pub unclaimed_bytes: u64,
    pub files: usize,
    pub file_bytes: u64,
    pub symlinks: usize,
    pub devices: usize,
    pub skipped: Vec<Skipped>,
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
        self.coverage.skipped.push(Skipped { path: path.to_string(), reason: reason.into() });
    }

    /// Record a non-file entry.
    fn meta(&mut self, raw: &str, kind: EntryKind, mode: u32, uid: u32, gid: u32) {
        let Some(path) = normalise(raw) else { return self.skip(raw, "path leaves the image root") };
        if path.is_empty() {
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

    /// Copy a regular file's contents (bounded) and record it.
    fn file(&mut self, raw: &str, mode: u32, uid: u32, gid: u32, reader: &mut dyn Read) -> Result<(), UnpackError> {
        let Some(path) = normalise(raw) else {
            self.skip(raw, "path leaves the image root");
            return Ok(());
        };
        if path.is_empty() {
            return Ok(());
        }
        if self.tree.entries.len() >= self.limits.max_files {
            self.skip(&path, format!("more than {} entries (limit)", self.limits.max_files));
            return Ok(());
        }
        let remaining = self.limits.max_total_bytes.saturating_sub(self.written);
        let cap = self.limits.max_file_bytes.min(remaining);
        // Contents go to a flat, numbered store: no directory structure from
        // the image is ever created on disk, so nothing can be redirected.
        self.counter += 1;
        let dest = self.work.join(format!("{:08}", self.counter));
        let work_err = |source| UnpackError::Work { path: dest.clone(), source };
        let mut out = std::fs::File::create(&dest).map_err(work_err)?;
        let copied = std::io::copy(&mut reader.take(cap + 1), &mut out);
        let n = match copied {
            Ok(n) => n,
            Err(e) => {
                let _ = std::fs::remove_file(&dest);
                self.skip(&path, format!("unreadable: {e}"));
                return Ok(());
            }
        };
        if n > cap {
            let _ = std::fs::remove_file(&dest);
            self.skip(&path, format!("larger than the extraction limit ({cap} bytes left)"));
            return Ok(());
        }
        self.written += n;
        self.coverage.files += 1;
        self.coverage.file_bytes += n;
        self.tree.insert(Entry { path, kind: EntryKind::File, mode, uid, gid, size: n, content: Some(dest) });
        Ok(())
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
    if head.starts_with(b"hsqs") {
        Some("squashfs")
    } else if head.starts_with(b"sqsh") {
        Some("squashfs-be")
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
    } else if head.starts_with(&[0x27, 0x05, 0x19, 0x56]) {
        Some("uimage")
    } else if head.starts_with(b"UBI#") {
        Some("ubi")
    } else if head.starts_with(&[0x85, 0x19]) || head.starts_with(&[0x19, 0x85]) {
        Some("jffs2")
    } else {
        None
    }
}

/// Open `input` (folder, archive, image or raw dump) into a tree, extracting
/// into `work` when needed.
pub fn open(input: &Path, work: &Path, limits: Limits) -> Result<(Tree, Coverage), UnpackError> {
    let io = |source| UnpackError::Io { path: input.to_path_buf(), source };
    let meta = std::fs::symlink_metadata(input).map_err(io)?;
    if meta.is_dir() {
        return walk_dir(input);
    }
    std::fs::create_dir_all(work).map_err(|source| UnpackError::Work { path: work.to_path_buf(), source })?;
    let bytes = std::fs::read(input).map_err(io)?;
    let mut sink = Sink { work, limits, tree: Tree::default(), coverage: Coverage { input: input.display().to_string(), input_bytes: bytes.len() as u64, ..Default::default() }, written: 0, counter: 0 };
    extract_blob(&mut sink, &bytes, 0, 0)?;
    let claimed: u64 = sink.coverage.containers.iter().filter_map(|c| c.length).sum::<u64>().min(bytes.len() as u64);
    sink.coverage.unclaimed_bytes = bytes.len() as u64 - claimed;
    Ok((sink.tree, sink.coverage))
}

/// Extract a blob found at `offset` of the input; `depth` bounds nesting.
fn extract_blob(sink: &mut Sink<'_>, bytes: &[u8], offset: u64, depth: usize) -> Result<(), UnpackError> {
    if depth > 4 {
        sink.coverage.containers.push(Container { format: "nested".into(), offset, length: Some(bytes.len() as u64), status: "failed: nested more than 4 levels".into() });
        return Ok(());
    }
    let format = sniff(bytes);
    let record = |sink: &mut Sink<'_>, format: &str, length: Option<u64>, status: String| {
        if status == "extracted" {
            sink.coverage.extracted_input_bytes += length.unwrap_or(0);
        } else {
            sink.coverage.not_understood_bytes += length.unwrap_or(0);
        }
        sink.coverage.containers.push(Container { format: format.into(), offset, length, status });
    };
    match format {
        Some("squashfs") => {
            let len = squashfs_len(bytes).unwrap_or(bytes.len() as u64).min(bytes.len() as u64);
            let status = match squashfs(sink, &bytes[..len as usize]) {
                Ok(()) => "extracted".into(),
                Err(e) => format!("failed: {e}"),
            };
            record(sink, "squashfs", Some(len), status);
        }
        Some(f @ ("gzip" | "xz" | "zstd")) => {
            let mut out = Vec::new();
            let cap = sink.limits.max_file_bytes;
            let inflated = match f {
                "gzip" => (&mut flate2::read::MultiGzDecoder::new(bytes)).take(cap + 1).read_to_end(&mut out).map_err(|e| e.to_string()),
                "xz" => (&mut lzma_rust2::XzReader::new(bytes, true)).take(cap + 1).read_to_end(&mut out).map_err(|e| e.to_string()),
                _ => ruzstd::decoding::StreamingDecoder::new(bytes)
                    .map_err(|e| e.to_string())
                    .and_then(|mut d| (&mut d).take(cap + 1).read_to_end(&mut out).map_err(|e| e.to_string())),
            };
            match inflated {
                Ok(_) if out.len() as u64 > cap => record(sink, f, Some(bytes.len() as u64), format!("failed: decompresses to more than {cap} bytes (limit)")),
                Ok(_) => {
                    record(sink, f, Some(bytes.len() as u64), "extracted".into());
                    // The decompressed stream is not input bytes: don't count it twice.
                    let before = (sink.coverage.extracted_input_bytes, sink.coverage.not_understood_bytes);
                    let n = sink.coverage.containers.len();
                    extract_blob(sink, &out, offset, depth + 1)?;
                    (sink.coverage.extracted_input_bytes, sink.coverage.not_understood_bytes) = before;
                    for c in &mut sink.coverage.containers[n..] {
                        c.format = format!("{f}/{}", c.format);
                        c.length = None;
                    }
                }
                Err(e) => record(sink, f, Some(bytes.len() as u64), format!("failed: {e}")),
            }
        }
        Some("cpio") => {
            let status = match cpio(sink, bytes) {
                Ok(()) => "extracted".into(),
                Err(e) => format!("failed: {e}"),
            };
            record(sink, "cpio", Some(bytes.len() as u64), status);
        }
        Some("tar") => {
            let status = match tar(sink, bytes) {
                Ok(()) => "extracted".into(),
                Err(e) => format!("failed: {e}"),
            };
            record(sink, "tar", Some(bytes.len() as u64), status);
        }
        Some("uimage") if bytes.len() >= 64 => {
            // 64-byte header: data size at 12..16 (big endian), then the payload.
            let size = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
            let end = (64 + size).min(bytes.len());
            record(sink, "uimage-header", Some(64), "extracted".into());
            extract_blob(sink, &bytes[64..end], offset + 64, depth + 1)?;
        }
        Some(f @ ("ubi" | "jffs2" | "squashfs-be")) => {
            record(sink, f, Some(bytes.len() as u64), "not supported: listed as not examined".into());
        }
        _ => carve(sink, bytes, offset, depth)?,
    }
    Ok(())
}

/// Look for known signatures inside an unrecognised blob (raw flash dumps).
fn carve(sink: &mut Sink<'_>, bytes: &[u8], offset: u64, depth: usize) -> Result<(), UnpackError> {
    let mut i = 0usize;
    let mut found = false;
    while i + 4 <= bytes.len() {
        let rest = &bytes[i..];
        let hit = match sniff(rest) {
            Some("squashfs") => squashfs_len(rest).filter(|&l| l as usize <= rest.len() && l > 96).map(|l| l as usize),
            Some("uimage") => Some(rest.len()),
            Some("gzip") if rest.len() > 10 && rest[2] == 8 => Some(rest.len()),
            Some("xz" | "zstd") => Some(rest.len()),
            _ => None,
        };
        if let Some(len) = hit {
            found = true;
            extract_blob(sink, &rest[..len], offset + i as u64, depth + 1)?;
            i += len.max(1);
        } else {
            i += 1;
        }
    }
    if !found {
        sink.coverage.containers.push(Container { format: "unknown".into(), offset, length: None, status: "not understood: no known signature".into() });
    }
    Ok(())
}

/// `bytes_used` from a squashfs 4 superblock.
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
            T::Regular | T::Continuous => sink.file(&path, mode, uid, gid, &mut entry).map_err(|e| e.to_string())?,
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

fn cpio(sink: &mut Sink<'_>, bytes: &[u8]) -> Result<(), String> {
    let mut reader: &[u8] = bytes;
    loop {
        let mut entry = ::cpio::NewcReader::new(reader).map_err(|e| e.to_string())?;
        if entry.entry().is_trailer() {
            return Ok(());
        }
        let (name, mode, uid, gid) = (entry.entry().name().to_string(), entry.entry().mode(), entry.entry().uid(), entry.entry().gid());
        match kind_from_mode(mode) {
            Some(EntryKind::File) => sink.file(&name, mode & 0o7777, uid, gid, &mut entry).map_err(|e| e.to_string())?,
            Some(EntryKind::Symlink { .. }) => {
                let mut target = String::new();
                entry.read_to_string(&mut target).map_err(|e| e.to_string())?;
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
fn squashfs(sink: &mut Sink<'_>, bytes: &[u8]) -> Result<(), String> {
    static DECOMPRESSOR: PureRustDecompressor = PureRustDecompressor;
    let kind = backhand::kind::Kind::new_v4(&DECOMPRESSOR);
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
                sink.file(&path, mode, h.uid, h.gid, &mut r).map_err(|e| e.to_string())?
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

impl backhand::compression::CompressionAction for PureRustDecompressor {
    type Error = backhand::BackhandError;
    type Compressor = backhand::compression::Compressor;
    type FilesystemCompressor = backhand::FilesystemCompressor;
    type SuperBlock = backhand::SuperBlock;

    fn decompress(&self, bytes: &[u8], out: &mut Vec<u8>, compressor: Self::Compressor) -> Result<(), Self::Error> {
        use backhand::compression::Compressor as C;
        let bad = |e: std::io::Error| backhand::BackhandError::StdIo(e);
        match compressor {
            C::Xz => {
                let mut r = lzma_rust2::XzReader::new(bytes, false);
                r.read_to_end(out).map_err(bad)?;
            }
            C::Lzma => {
                let mut r = lzma_rust2::LzmaReader::new_mem_limit(bytes, u32::MAX, None).map_err(bad)?;
                r.read_to_end(out).map_err(bad)?;
            }
            _ => backhand::compression::DefaultCompressor.decompress(bytes, out, compressor)?,
        }
        Ok(())
    }

    fn compress(&self, bytes: &[u8], fc: Self::FilesystemCompressor, block_size: u32) -> Result<Vec<u8>, Self::Error> {
        backhand::compression::DefaultCompressor.compress(bytes, fc, block_size)
    }
}

/// Index a root filesystem folder in place (no copies), never following symlinks.
fn walk_dir(root: &Path) -> Result<(Tree, Coverage), UnpackError> {
    use std::os::unix::fs::MetadataExt;
    let mut tree = Tree::default();
    let mut cov = Coverage { input: root.display().to_string(), ..Default::default() };
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                cov.skipped.push(Skipped { path: dir.display().to_string(), reason: e.to_string() });
                continue;
            }
        };
        for item in rd.flatten() {
            let p = item.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
            let rel = p.strip_prefix(root).map(|r| r.to_string_lossy().into_owned()).unwrap_or_default();
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
    cov.containers.push(Container { format: "directory".into(), offset: 0, length: Some(cov.file_bytes), status: "extracted".into() });
    Ok((tree, cov))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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
        assert!(cov.containers.iter().any(|c| c.format == "gzip" && c.status.contains("limit")), "{:?}", cov.containers);
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
        // Size bomb inside an archive.
        let mut t = Vec::new();
        raw_entry(&mut t, "big", ::tar::EntryType::Regular, "", &vec![7u8; 2 << 20], 0o644);
        let (tree, cov, _s) = extract(&finish(t), limits);
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
            assert!(cov.containers.iter().any(|c| c.format == name && c.status.starts_with("failed")), "{name}: {:?}", cov.containers);
        }
    }

    #[test]
    fn truncated_and_garbage_inputs_fail_softly() {
        let mut t = Vec::new();
        raw_entry(&mut t, "etc/passwd", ::tar::EntryType::Regular, "", &[b'x'; 2000], 0o644);
        let truncated = &t[..900];
        let (_, cov, _s) = extract(truncated, Limits::default());
        assert!(cov.containers.iter().all(|c| c.status != "extracted" || c.format == "tar"), "{:?}", cov.containers);
        let (tree, cov, _s) = extract(b"\x00\x01garbage that is no format at all", Limits::default());
        assert!(tree.entries.is_empty());
        assert!(cov.containers[0].status.contains("not understood"));
        // A squashfs magic with a broken superblock.
        let mut fake = b"hsqs".to_vec();
        fake.extend_from_slice(&[0xff; 200]);
        let (_, cov, _s) = extract(&fake, Limits::default());
        assert!(cov.containers.iter().any(|c| c.status.starts_with("failed") || c.status.contains("not understood")), "{:?}", cov.containers);
    }
}
