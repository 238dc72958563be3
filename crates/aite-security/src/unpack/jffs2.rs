//! JFFS2, the journalling file system of NOR flash: a log of nodes, each with
//! a header CRC; directory entries (dirents) name an inode in a parent, inode
//! nodes carry metadata and one compressed range of the file's data. The
//! newest version of a dirent or inode wins; a dirent naming inode 0 deletes
//! the name. Both byte orders (the first magic decides); zlib, rtime, lzma,
//! lzo, zero and uncompressed data. Every CRC is checked: a mismatch, a truncated
//! node, bytes that are neither nodes nor erased flash inside the image, or
//! data aite cannot decompress (rubin) fail the container with that cause,
//! after what could be read was indexed. Written from the Linux kernel's
//! `include/uapi/linux/jffs2.h` layout.

use super::{kind_from_mode, EntryKind, Sink, UnpackError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

const MAGIC: u16 = 0x1985;
const DIRENT: u16 = 0xe001;
const INODE: u16 = 0xe002;
/// Node types whose 0x2000 bit (ACCURATE) is clear are obsolete.
const ACCURATE: u16 = 0x2000;
/// A node type with both of these bits set must be understood to read the image.
const FEATURE_INCOMPAT: u16 = 0xc000;
const XATTR: u16 = 0xe008;
const XREF: u16 = 0xe009;
/// Causes listed one by one in the failure cause; the rest are counted.
const LISTED_PROBLEMS: usize = 5;

/// What reading a JFFS2 image found.
pub(super) struct Jffs2 {
    /// Bytes from the image's start to the end of its last node (4-byte aligned).
    pub len: usize,
    /// Why the container is not fully read (empty: it was).
    pub problems: Vec<String>,
}

impl Jffs2 {
    /// The failure cause, or `None` when nothing went wrong.
    pub fn cause(&self) -> Option<String> {
        let (first, rest) = self.problems.split_at(self.problems.len().min(LISTED_PROBLEMS));
        (!first.is_empty()).then(|| {
            let more = if rest.is_empty() { String::new() } else { format!("; and {} more", rest.len()) };
            format!("{}{more}", first.join("; "))
        })
    }
}

/// Whether `b` starts with a JFFS2 node header whose CRC checks out.
pub(super) fn header_ok(b: &[u8]) -> bool {
    let Some(be) = byte_order(b) else { return false };
    let r = Bytes { b, be };
    b.len() >= 12 && r.u32(8) == Some(crc(&b[..8])) && r.u32(4).is_some_and(|l| l >= 12)
}

fn byte_order(b: &[u8]) -> Option<bool> {
    match b.get(..2)? {
        [0x85, 0x19] => Some(false),
        [0x19, 0x85] => Some(true),
        _ => None,
    }
}

/// The CRC-32 JFFS2 uses: reflected 0xEDB88320, initial value 0, no final inversion.
pub(super) fn crc(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, e) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            }
            *e = c;
        }
        t
    });
    data.iter().fold(0u32, |c, &b| table[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8))
}

#[derive(Clone, Copy)]
struct Bytes<'a> {
    b: &'a [u8],
    be: bool,
}

impl Bytes<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let s: [u8; 2] = self.b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.be { u16::from_be_bytes(s) } else { u16::from_le_bytes(s) })
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.be { u32::from_be_bytes(s) } else { u32::from_le_bytes(s) })
    }
}

/// One inode node: metadata at its version and one range of data.
struct InodeNode<'a> {
    version: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    isize: u32,
    offset: u32,
    dsize: u32,
    compr: u8,
    data: &'a [u8],
    at: usize,
}

/// The newest dirent of one name in one directory.
struct Dirent {
    version: u32,
    ino: u32,
}

/// Read the JFFS2 image at the start of `bytes` into the sink.
pub(super) fn read(sink: &mut Sink<'_>, bytes: &[u8]) -> Result<Jffs2, UnpackError> {
    let be = byte_order(bytes).unwrap_or(false);
    let mut problems = Vec::new();
    let mut inodes: HashMap<u32, Vec<InodeNode<'_>>> = HashMap::new();
    let mut dirents: HashMap<(u32, Vec<u8>), Dirent> = HashMap::new();
    let (mut at, mut end, mut junk_since_end, mut junk) = (0usize, 0usize, (0usize, None::<usize>), (0usize, None::<usize>));
    while at + 12 <= bytes.len() {
        let r = Bytes { b: &bytes[at..], be };
        if r.u16(0) != Some(MAGIC) {
            let word = &bytes[at..at + 4];
            if !(word.iter().all(|&b| b == 0xff) || word.iter().all(|&b| b == 0)) {
                junk_since_end.0 += 4;
                junk_since_end.1.get_or_insert(at);
            }
            at += 4;
            continue;
        }
        let (ntype, totlen) = (r.u16(2).unwrap_or(0), r.u32(4).unwrap_or(0) as usize);
        if r.u32(8) != Some(crc(&bytes[at..at + 8])) {
            problems.push(format!("node header at offset {at}: CRC mismatch"));
            at += 4;
            continue;
        }
        if totlen < 12 {
            problems.push(format!("node at offset {at}: length {totlen} is shorter than a node header"));
            at += 4;
            continue;
        }
        if totlen > bytes.len() - at {
            problems.push(format!("truncated: the node at offset {at} declares {totlen} bytes, {} present", bytes.len() - at));
            end = bytes.len();
            break;
        }
        // A valid node: the bytes that were not nodes since the last one lie inside the image.
        if let Some(first) = junk_since_end.1 {
            junk.0 += junk_since_end.0;
            junk.1.get_or_insert(first);
        }
        junk_since_end = (0, None);
        let node = Bytes { b: &bytes[at..at + totlen], be };
        match ntype {
            DIRENT => match dirent(node) {
                Ok((pino, name, d)) => {
                    let slot = dirents.entry((pino, name)).or_insert(Dirent { version: 0, ino: 0 });
                    if d.version >= slot.version {
                        *slot = d;
                    }
                }
                Err(e) => problems.push(format!("dirent at offset {at}: {e}")),
            },
            INODE => match inode(node, at) {
                Ok((ino, n)) => inodes.entry(ino).or_default().push(n),
                Err(e) => problems.push(format!("inode node at offset {at}: {e}")),
            },
            // Extended attributes are not part of the file list; they are read past.
            XATTR | XREF => {}
            t if t & ACCURATE == 0 => {}
            t if t & FEATURE_INCOMPAT == FEATURE_INCOMPAT => problems.push(format!("node at offset {at}: unknown node type {t:#06x} the image requires to be understood")),
            // Cleanmarkers, padding, summaries and compatible unknown nodes carry no files.
            _ => {}
        }
        // Nodes are 4-byte aligned: the alignment bytes belong to the node.
        end = ((at + totlen).div_ceil(4) * 4).min(bytes.len());
        at = end;
    }
    if let Some(first) = junk.1 {
        problems.push(format!("{} bytes from offset {first} on are neither JFFS2 nodes nor erased flash", junk.0));
    }
    let mut children: BTreeMap<u32, Vec<(Vec<u8>, u32)>> = BTreeMap::new();
    for ((pino, name), d) in dirents {
        if d.ino != 0 {
            children.entry(pino).or_default().push((name, d.ino));
        }
    }
    for list in children.values_mut() {
        list.sort();
    }
    for nodes in inodes.values_mut() {
        nodes.sort_by_key(|n| n.version);
    }
    // Walk the tree from the root inode (1); each folder once, so a loop of dirents ends.
    let mut visited = HashSet::from([1u32]);
    let mut stack = vec![(1u32, String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        for (name, ino) in children.get(&dir).map(Vec::as_slice).unwrap_or_default() {
            let name = String::from_utf8_lossy(name);
            if name.contains('/') || name == ".." || name == "." {
                sink.skip(&format!("{prefix}{name}"), "JFFS2 name with a `/` or a dot entry: not a file name");
                continue;
            }
            let path = format!("{prefix}{name}");
            let Some(nodes) = inodes.get(ino).filter(|n| !n.is_empty()) else {
                problems.push(format!("`{path}` names inode {ino}, which has no inode node"));
                continue;
            };
            let last = &nodes[nodes.len() - 1];
            let (mode, uid, gid) = (last.mode & 0o7777, last.uid, last.gid);
            match kind_from_mode(last.mode) {
                Some(EntryKind::Dir) => {
                    sink.meta(&path, EntryKind::Dir, mode, uid, gid);
                    if visited.insert(*ino) {
                        stack.push((*ino, format!("{path}/")));
                    } else {
                        problems.push(format!("`{path}`: folder inode {ino} is reached twice (a loop of dirents)"));
                    }
                }
                Some(EntryKind::File) => {
                    let data = contents(&path, nodes, sink.limits.max_file_bytes, &mut problems);
                    let holes = u64::from(last.isize).saturating_sub(data.len() as u64);
                    let mut reader = (&data[..]).chain(std::io::repeat(0).take(holes));
                    sink.file(&path, mode, uid, gid, &mut reader)?;
                }
                Some(EntryKind::Symlink { .. }) => {
                    let data = contents(&path, nodes, 4096, &mut problems);
                    sink.meta(&path, EntryKind::Symlink { target: String::from_utf8_lossy(&data).into_owned() }, mode, uid, gid);
                }
                Some(kind) => sink.meta(&path, kind, mode, uid, gid),
                None => sink.skip(&path, format!("unknown JFFS2 inode mode {:o}", last.mode)),
            }
        }
    }
    Ok(Jffs2 { len: end, problems })
}

fn dirent(n: Bytes<'_>) -> Result<(u32, Vec<u8>, Dirent), String> {
    let field = |v: Option<u32>| v.ok_or_else(|| "shorter than a dirent header".to_string());
    let (pino, version, ino) = (field(n.u32(12))?, field(n.u32(16))?, field(n.u32(20))?);
    let nsize = *n.b.get(28).ok_or("shorter than a dirent header")? as usize;
    if field(n.u32(32))? != crc(&n.b[..32]) {
        return Err("node CRC mismatch".into());
    }
    let name = n.b.get(40..40 + nsize).ok_or("its name runs past the node")?;
    if field(n.u32(36))? != crc(name) {
        return Err("name CRC mismatch".into());
    }
    Ok((pino, name.to_vec(), Dirent { version, ino }))
}

fn inode<'a>(n: Bytes<'a>, at: usize) -> Result<(u32, InodeNode<'a>), String> {
    let field = |p: usize| n.u32(p).ok_or_else(|| "shorter than an inode header".to_string());
    let half = |p: usize| n.u16(p).map(u32::from).ok_or_else(|| "shorter than an inode header".to_string());
    if n.b.len() < 68 {
        return Err("shorter than an inode header".into());
    }
    if field(64)? != crc(&n.b[..60]) {
        return Err("node CRC mismatch".into());
    }
    let csize = field(48)? as usize;
    let data = n.b.get(68..68usize.saturating_add(csize)).ok_or("its data runs past the node")?;
    if field(60)? != crc(data) {
        return Err("data CRC mismatch".into());
    }
    let node = InodeNode { version: field(16)?, mode: field(20)?, uid: half(24)?, gid: half(26)?, isize: field(28)?, offset: field(44)?, dsize: field(52)?, compr: n.b[56], data, at };
    Ok((field(12)?, node))
}

/// A file's bytes from its data nodes, oldest version first, cut at the newest
/// size; at most `cap + 1` bytes (the sink reports a larger file). A range of
/// the size in no data node is a problem: the kernel writes holes as zero
/// nodes, so a missing range means missing nodes (a cut or damaged image).
fn contents(path: &str, nodes: &[InodeNode<'_>], cap: u64, problems: &mut Vec<String>) -> Vec<u8> {
    let cap = usize::try_from(cap.saturating_add(1)).unwrap_or(usize::MAX);
    let mut out: Vec<u8> = Vec::new();
    let mut covered = Vec::new();
    for n in nodes {
        let offset = n.offset as usize;
        if n.dsize == 0 || offset >= cap {
            continue;
        }
        let want = (n.dsize as usize).min(cap - offset);
        let piece = match decompress(n, want) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("inode node at offset {}: {e}", n.at));
                continue;
            }
        };
        if piece.len() < want {
            problems.push(format!("inode node at offset {}: its data decompresses to {} bytes, the node declares {}", n.at, piece.len(), n.dsize));
        }
        if out.len() < offset + piece.len() {
            out.resize(offset + piece.len(), 0);
        }
        out[offset..offset + piece.len()].copy_from_slice(&piece);
        covered.push((offset, offset + piece.len()));
    }
    let isize = nodes.last().map_or(0, |n| n.isize as usize);
    out.truncate(isize);
    covered.sort_unstable();
    let mut at = 0;
    for (start, end) in covered {
        if start > at {
            break;
        }
        at = at.max(end);
    }
    if at < isize.min(cap) {
        problems.push(format!("`{path}`: bytes {at}..{isize} of its {isize} are in no data node"));
    }
    out
}

/// The JFFS2 compression types (`JFFS2_COMPR_*`).
fn decompress(n: &InodeNode<'_>, want: usize) -> Result<Vec<u8>, String> {
    let bounded = |r: &mut dyn Read| -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        r.take(want as u64).read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    };
    match n.compr {
        0 => Ok(n.data[..n.data.len().min(want)].to_vec()),
        1 => Ok(vec![0; want]),
        2 => rtime(n.data, want),
        6 => bounded(&mut flate2::read::ZlibDecoder::new(n.data)),
        8 => {
            let mut r = lzma_rust2::LzmaReader::new(n.data, n.dsize as u64, 0, 0, 0, 1 << 20, None).map_err(|e| format!("lzma: {e}"))?;
            bounded(&mut r)
        }
        7 => super::lzo::lzo1x(n.data, want),
        3 | 5 => Err("rubin-compressed data, which aite cannot decompress".into()),
        c => Err(format!("unknown compression type {c}")),
    }
}

/// The kernel's rtime: each literal byte is followed by a repeat count, copied
/// from where that byte value was last written.
fn rtime(src: &[u8], want: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(want);
    let mut positions = [0usize; 256];
    let mut pos = 0;
    while out.len() < want {
        let (Some(&value), Some(&repeat)) = (src.get(pos), src.get(pos + 1)) else { return Err("rtime data ends early".into()) };
        pos += 2;
        out.push(value);
        let back = positions[value as usize];
        positions[value as usize] = out.len();
        // Byte by byte: the copy may overlap what it writes.
        for from in back..back + repeat as usize {
            if out.len() >= want {
                break;
            }
            let b = out[from];
            out.push(b);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_the_kernels_crc32_without_inversion() {
        // crc32_le(0, "123456789") of the kernel's lib/crc32.c; the oracle is zlib:
        // `~binascii.crc32(b"123456789", 0xffffffff)` in Python gives 0x2DFD2D88.
        assert_eq!(crc(b"123456789"), 0x2dfd_2d88);
    }

    #[test]
    fn rtime_repeats_from_the_last_position_of_the_byte() {
        // a, b, then a with 2 repeats copied from just after the first a (by hand: "ab" "a" "ba").
        assert_eq!(rtime(&[b'a', 0, b'b', 0, b'a', 2], 5).unwrap(), b"ababa");
        assert!(rtime(b"a", 3).is_err());
    }

    /// A JFFS2 image writer for the tests, from the same header layout.
    struct Image {
        be: bool,
        out: Vec<u8>,
    }

    impl Image {
        fn u16(&mut self, v: u16) {
            self.out.extend(if self.be { v.to_be_bytes() } else { v.to_le_bytes() });
        }
        fn u32(&mut self, v: u32) {
            self.out.extend(if self.be { v.to_be_bytes() } else { v.to_le_bytes() });
        }
        fn header(&mut self, ntype: u16, totlen: usize) -> usize {
            let start = self.out.len();
            self.u16(MAGIC);
            self.u16(ntype);
            self.u32(totlen as u32);
            let c = crc(&self.out[start..start + 8]);
            self.u32(c);
            start
        }
        fn pad(&mut self) {
            self.out.resize(self.out.len().div_ceil(4) * 4, 0xff);
        }
        fn dirent(&mut self, pino: u32, version: u32, ino: u32, name: &str) {
            let start = self.header(DIRENT, 40 + name.len());
            for v in [pino, version, ino, 0] {
                self.u32(v);
            }
            self.out.extend([name.len() as u8, 0, 0, 0]);
            let c = crc(&self.out[start..start + 32]);
            self.u32(c);
            self.u32(crc(name.as_bytes()));
            self.out.extend(name.as_bytes());
            self.pad();
        }
        #[allow(clippy::too_many_arguments)]
        fn inode(&mut self, ino: u32, version: u32, mode: u32, isize: u32, offset: u32, dsize: u32, compr: u8, data: &[u8]) {
            let start = self.header(INODE, 68 + data.len());
            for v in [ino, version, mode] {
                self.u32(v);
            }
            self.u16(0);
            self.u16(0);
            for v in [isize, 0, 0, 0, offset, data.len() as u32, dsize] {
                self.u32(v);
            }
            self.out.extend([compr, 0, 0, 0]);
            self.u32(crc(data));
            let c = crc(&self.out[start..start + 60]);
            self.u32(c);
            self.out.extend(data);
            self.pad();
        }
    }

    fn rtime_literal(data: &[u8]) -> Vec<u8> {
        data.iter().flat_map(|&b| [b, 0]).collect()
    }

    /// Every node kind and compression the reader knows, in one byte order.
    fn image(be: bool) -> Vec<u8> {
        use std::io::Write;
        let mut i = Image { be, out: Vec::new() };
        i.header(0x2003, 12); // cleanmarker
        i.dirent(1, 1, 2, "etc");
        i.inode(2, 1, 0o040755, 0, 0, 0, 0, b"");
        i.dirent(2, 2, 3, "passwd");
        i.inode(3, 1, 0o100644, 10, 0, 10, 0, b"old-data!!");
        i.inode(3, 2, 0o100600, 6, 0, 6, 2, &rtime_literal(b"root:x"));
        let opts = lzma_rust2::LzmaOptions { lc: 0, lp: 0, pb: 0, dict_size: 0x2000, ..Default::default() };
        let mut w = lzma_rust2::LzmaWriter::new_no_header(Vec::new(), &opts, false).unwrap();
        w.write_all(b"0:0:ab").unwrap();
        i.inode(3, 3, 0o100600, 12, 6, 6, 8, &w.finish().unwrap());
        i.out.extend([0xff; 64]); // erased flash between nodes
        i.dirent(1, 1, 3, "passwd-link");
        i.dirent(1, 1, 4, "bin");
        i.inode(4, 1, 0o120777, 7, 0, 7, 0, b"usr/bin");
        i.dirent(1, 1, 5, "console");
        i.inode(5, 1, 0o020600, 0, 0, 0, 0, b"");
        i.dirent(1, 1, 6, "gone");
        i.inode(6, 1, 0o100644, 3, 0, 3, 0, b"old");
        i.dirent(1, 2, 0, "gone");
        i.dirent(1, 1, 7, "zeros");
        i.inode(7, 1, 0o100644, 4096, 0, 4096, 1, b"");
        i.dirent(1, 1, 8, "z");
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&[b'z'; 3000]).unwrap();
        i.inode(8, 1, 0o100755, 3000, 0, 3000, 6, &z.finish().unwrap());
        i.out
    }

    /// The tree, the coverage and the folder holding the extracted contents.
    fn open_bytes(bytes: &[u8]) -> (crate::tree::Tree, super::super::Coverage, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("image.jffs2");
        std::fs::write(&input, bytes).unwrap();
        let (tree, cov) = super::super::open(&input, &dir.path().join("work"), super::super::Limits::default()).unwrap();
        (tree, cov, dir)
    }

    fn content(tree: &crate::tree::Tree, path: &str) -> Vec<u8> {
        std::fs::read(tree.get(path).unwrap().content.as_ref().unwrap()).unwrap()
    }

    #[test]
    fn both_byte_orders_every_node_kind_newest_version_wins() {
        for be in [false, true] {
            let bytes = image(be);
            let (tree, cov, _dir) = open_bytes(&bytes);
            let c = &cov.containers[0];
            assert_eq!((c.format.as_str(), c.length, &c.status), ("jffs2", Some(bytes.len() as u64), &super::super::ContainerStatus::Extracted), "be={be}");
            let paths: Vec<&str> = tree.entries.keys().map(String::as_str).collect();
            assert_eq!(paths, ["bin", "console", "etc", "etc/passwd", "passwd-link", "z", "zeros"], "be={be}: `gone` is deleted");
            // v1 (10 bytes, uncompressed) overwritten by v2 (rtime) and v3 (lzma); mode from v3.
            assert_eq!(content(&tree, "etc/passwd"), b"root:x0:0:ab");
            assert_eq!(tree.get("etc/passwd").unwrap().mode, 0o600);
            assert_eq!(content(&tree, "passwd-link"), b"root:x0:0:ab", "a hard link has the same contents");
            assert_eq!(tree.get("bin").unwrap().kind, EntryKind::Symlink { target: "usr/bin".into() });
            assert_eq!(tree.get("console").unwrap().kind, EntryKind::Device);
            assert_eq!(content(&tree, "zeros"), vec![0; 4096]);
            assert_eq!(content(&tree, "z"), vec![b'z'; 3000]);
        }
    }

    #[test]
    fn cut_damaged_or_holed_images_fail_with_their_cause() {
        let bytes = image(false);
        let status = |b: &[u8]| open_bytes(b).1.containers[0].status.clone();
        let cut = status(&bytes[..bytes.len() - 10]);
        assert!(cut.cause().unwrap().starts_with("truncated: the node at offset "), "{cut}");
        let mut flipped = bytes.clone();
        let at = bytes.len() - 20; // inside the zlib data of the last node
        flipped[at] ^= 1;
        assert!(status(&flipped).cause().unwrap().contains("data CRC mismatch"), "{}", status(&flipped));
        // Junk between two nodes.
        let mut junk = bytes[..12].to_vec();
        junk.extend(b"not a node!!");
        junk.extend(&bytes[12..]);
        assert!(status(&junk).cause().unwrap().contains("12 bytes from offset 12 on are neither JFFS2 nodes nor erased flash"), "{}", status(&junk));
        // A file whose second data node is missing.
        let mut i = Image { be: false, out: Vec::new() };
        i.dirent(1, 1, 2, "f");
        i.inode(2, 1, 0o100644, 8, 0, 4, 0, b"abcd");
        i.inode(2, 2, 0o100644, 8, 8, 0, 0, b"");
        let holed = status(&i.out);
        assert!(holed.cause().unwrap().contains("`f`: bytes 4..8 of its 8 are in no data node"), "{holed}");
    }
}
