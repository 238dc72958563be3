//! The filesystem under examination, as an index of entries with their
//! metadata, independent of where the contents live.
//!
//! Extraction never creates symlinks, device nodes or setuid files on disk:
//! their metadata is recorded here instead, and checks read modes, owners
//! and link targets from the index. Regular file contents are either the
//! original files (directory input, read in place) or copies under the work
//! folder.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// What an entry is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum EntryKind {
    File,
    Dir,
    Symlink { target: String },
    Device,
    Fifo,
    Socket,
}

/// One entry of the examined filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Path inside the image, `/`-separated, without a leading slash.
    pub path: String,
    pub kind: EntryKind,
    /// Unix mode bits (permission, setuid/setgid/sticky), as the image declares them.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// Where the contents can be read (regular files only).
    #[serde(skip)]
    pub content: Option<PathBuf>,
}

impl Entry {
    pub fn is_file(&self) -> bool {
        self.kind == EntryKind::File
    }
    pub fn setuid(&self) -> bool {
        self.mode & 0o4000 != 0
    }
    pub fn setgid(&self) -> bool {
        self.mode & 0o2000 != 0
    }
    pub fn world_writable(&self) -> bool {
        self.mode & 0o002 != 0
    }
}

/// The examined filesystem.
#[derive(Debug, Default, Clone)]
pub struct Tree {
    pub entries: BTreeMap<String, Entry>,
}

impl Tree {
    pub fn insert(&mut self, e: Entry) {
        self.entries.insert(e.path.clone(), e);
    }

    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path.trim_start_matches('/'))
    }

    pub fn files(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values().filter(|e| e.is_file())
    }

    /// Read a regular file's contents, following symlinks inside the image (at most 16 hops).
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        let e = self.resolve(path)?;
        std::fs::read(e.content.as_ref()?).ok()
    }

    /// Follow symlinks inside the image; never outside it.
    pub fn resolve(&self, path: &str) -> Option<&Entry> {
        let mut current = normalise(path)?;
        for _ in 0..16 {
            let e = self.entries.get(&current)?;
            match &e.kind {
                EntryKind::Symlink { target } => {
                    let base = if target.starts_with('/') { String::new() } else { current.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default() };
                    current = normalise(&format!("{base}/{target}"))?;
                }
                _ => return Some(e),
            }
        }
        None
    }
}

/// Normalise a path inside the image: strip leading `/` and `.`, resolve `..`
/// without ever leaving the root. Returns `None` for a path that would escape.
pub fn normalise(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(p) => parts.push(p.to_str()?),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_never_leaves_the_root() {
        assert_eq!(normalise("/etc/passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(normalise("./a/b/../c").as_deref(), Some("a/c"));
        assert_eq!(normalise("../../etc/shadow"), None);
        assert_eq!(normalise("a/../../x"), None);
    }

    #[test]
    fn symlinks_resolve_inside_the_image_only() {
        let mut t = Tree::default();
        let link = |p: &str, target: &str| Entry { path: p.into(), kind: EntryKind::Symlink { target: target.into() }, mode: 0o777, uid: 0, gid: 0, size: 0, content: None };
        t.insert(Entry { path: "bin/busybox".into(), kind: EntryKind::File, mode: 0o755, uid: 0, gid: 0, size: 1, content: None });
        t.insert(link("bin/sh", "busybox"));
        t.insert(link("usr/bin/sh", "/bin/sh"));
        t.insert(link("evil", "../../../../etc/passwd"));
        t.insert(link("loop", "loop"));
        assert_eq!(t.resolve("usr/bin/sh").unwrap().path, "bin/busybox");
        assert!(t.resolve("evil").is_none());
        assert!(t.resolve("loop").is_none());
    }
}
