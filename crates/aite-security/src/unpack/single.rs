//! A file given alone: an ELF binary, a model artifact, a key or certificate.
//!
//! Such an input has no container signature at its start, so carving alone would
//! call it "no known signature" and examine nothing. Recognised here by its first
//! bytes (and, for models, its name), it becomes a tree of that one file, read in
//! place like a folder's files; the checks then treat it as they treat that file
//! inside an image. Containers embedded in it (a vmlinux with its initramfs, an ELF
//! with a squashfs appended) are not carved: every container signature carving would
//! try (its header checks out) is listed as a not-examined container at its offset,
//! so AITE-UNPACK-INCOMPLETE cannot pass on them; give the image to have them read.

use super::{Container, ContainerStatus, Coverage};
use crate::tree::{Entry, EntryKind, Tree};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a file given alone was examined as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SingleFileKind {
    /// An ELF executable, shared object or object file: hardening, embedded keys.
    Elf,
    /// A model artifact (ONNX, TFLite, pickle, Keras, HDF5, zip of pickles...): the model checks.
    Model,
    /// PEM or DER key or certificate material: the key checks.
    Key,
}

impl SingleFileKind {
    /// The container format name recorded in [`Coverage::containers`].
    pub fn format(self) -> &'static str {
        match self {
            SingleFileKind::Elf => "elf",
            SingleFileKind::Model => "model",
            SingleFileKind::Key => "key",
        }
    }
}

impl std::fmt::Display for SingleFileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SingleFileKind::Elf => "ELF",
            SingleFileKind::Model => "model artifact",
            SingleFileKind::Key => "key or certificate",
        })
    }
}

/// What the file named `name` with contents `bytes` is, when it is one of the
/// kinds examined alone.
pub fn kind_of(name: &str, bytes: &[u8]) -> Option<SingleFileKind> {
    if bytes.starts_with(b"\x7fELF") {
        return Some(SingleFileKind::Elf);
    }
    if crate::models::detect(name, &bytes[..bytes.len().min(32)]).is_some() {
        return Some(SingleFileKind::Model);
    }
    let head = &bytes[..bytes.len().min(4096)];
    let pem = memchr::memmem::find(head, b"-----BEGIN ").is_some();
    let lower = name.to_ascii_lowercase();
    let key_name = [".pem", ".key", ".crt", ".cer", ".der", ".p8", ".pk8"].iter().any(|x| lower.ends_with(x));
    let openssh = head.starts_with(b"ssh-") || head.starts_with(b"ecdsa-sha2-");
    if pem || openssh || (key_name && head.first() == Some(&0x30)) {
        return Some(SingleFileKind::Key);
    }
    None
}

/// Embedded container signatures listed one by one; the rest are counted in one more entry.
const MAX_EMBEDDED_LISTED: usize = 64;

/// Whether a signature inside the file is one carving would try, with the cheap checks
/// that keep byte strings of code and tables out (an xz stream header's CRC32, zstd's
/// reserved frame-header bit).
fn embedded_at(rest: &[u8]) -> Option<&'static str> {
    let format = super::sniff(rest).filter(|f| super::carvable(f, rest))?;
    let plausible = match format {
        "xz" => rest.get(6..12).is_some_and(|h| {
            let mut crc = flate2::Crc::new();
            crc.update(&h[..2]);
            h[0] == 0 && h[1] & 0xf0 == 0 && crc.sum() == u32::from_le_bytes([h[2], h[3], h[4], h[5]])
        }),
        "zstd" => rest.get(4).is_some_and(|d| d & 0x08 == 0),
        _ => true,
    };
    plausible.then_some(format)
}

/// The container signatures past the file's first byte, each a not-examined container.
fn embedded(bytes: &[u8], kind: SingleFileKind) -> Vec<Container> {
    let mut out: Vec<Container> = Vec::new();
    // Signatures beyond those listed: how many, from which offset.
    let mut more: Option<(usize, usize)> = None;
    let mut i = 1usize;
    while i < bytes.len() {
        let Some(format) = embedded_at(&bytes[i..]) else {
            i += 1;
            continue;
        };
        if out.len() < MAX_EMBEDDED_LISTED {
            let why = format!("embedded {format} signature at offset {i} of the {kind} given alone: not carved; give the image (or this container) to have it read");
            out.push(Container { format: format.into(), offset: i as u64, length: None, status: ContainerStatus::NotExamined(why) });
        } else {
            more.get_or_insert((i, 0)).1 += 1;
        }
        // A squashfs declares its length: signatures inside it are its own.
        let skip = match (format, super::SquashfsVariant::of(&bytes[i..])) {
            ("squashfs", Some(v)) => usize::try_from(v.len()).unwrap_or(usize::MAX).max(1),
            _ => 1,
        };
        i = i.saturating_add(skip);
    }
    if let Some((from, n)) = more {
        let why = format!("{n} more embedded container signatures from offset {from} on, not carved (only the first {MAX_EMBEDDED_LISTED} are listed)");
        out.push(Container { format: "embedded".into(), offset: from as u64, length: None, status: ContainerStatus::NotExamined(why) });
    }
    out
}

/// The tree of the one file at `input` (`bytes`, all of it), named by its file name.
pub(super) fn open(input: &Path, meta: &std::fs::Metadata, bytes: &[u8], kind: SingleFileKind) -> (Tree, Coverage) {
    use std::os::unix::fs::MetadataExt;
    let len = bytes.len() as u64;
    let mut containers = vec![Container { format: kind.format().into(), offset: 0, length: Some(len), status: ContainerStatus::Extracted }];
    containers.extend(embedded(bytes, kind));
    let name = input.file_name().map(|n| n.to_string_lossy().into_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| "input".into());
    let mut tree = Tree::default();
    tree.insert(Entry { path: name, kind: EntryKind::File, mode: meta.mode() & 0o7777, uid: meta.uid(), gid: meta.gid(), size: len, content: Some(input.to_path_buf()) });
    let coverage = Coverage {
        input: input.display().to_string(),
        input_bytes: len,
        containers,
        extracted_input_bytes: len,
        files: 1,
        file_bytes: len,
        single_file: Some(kind),
        ..Default::default()
    };
    (tree, coverage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_first_bytes_and_name() {
        assert_eq!(kind_of("busybox", b"\x7fELF\x01\x02\x01"), Some(SingleFileKind::Elf));
        assert_eq!(kind_of("model.onnx", b"\x08\x07\x12"), Some(SingleFileKind::Model));
        assert_eq!(kind_of("weights.pkl", b"\x80\x02cos\nsystem\n"), Some(SingleFileKind::Model));
        assert_eq!(kind_of("server.pem", b"-----BEGIN PRIVATE KEY-----\n"), Some(SingleFileKind::Key));
        assert_eq!(kind_of("anything", b"# comment\n-----BEGIN CERTIFICATE-----\n"), Some(SingleFileKind::Key));
        assert_eq!(kind_of("ca.der", &[0x30, 0x82, 0x01]), Some(SingleFileKind::Key));
        assert_eq!(kind_of("id_ed25519.pub", b"ssh-ed25519 AAAA"), Some(SingleFileKind::Key));
        assert_eq!(kind_of("notes.txt", b"hello"), None);
        assert_eq!(kind_of("blob.der", b"hello"), None);
    }
}
