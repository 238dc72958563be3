//! squashfs 1.x, 2.x and 3.x, little- and big-endian, with zlib blocks or the
//! vendor LZMA blocks of [`super::squashfs_lzma`]: aite's own reader, written from
//! the on-disk structures of squashfs-tools' compatibility headers
//! (`squashfs_compat.h`, the 2.4 kernel's `squashfs_fs.h`), since backhand reads
//! 3.x only with gzip and no maintained crate reads 1.x/2.x.
//!
//! Layout: the superblock, then data blocks and fragments, the inode table and
//! the directory table (metadata blocks of at most 8 KiB, each behind a 2-byte
//! length whose top bit says "stored"), the fragment table, the uid/gid tables.
//! Inodes and directory entries are packed bit fields: in a little-endian image
//! field bits run from the least significant bit of each byte, in a big-endian one
//! from the most significant (the `SQUASHFS_SWAP` macros), which [`field`] reads.
//!
//! Every offset is checked against the image (with checked arithmetic: a hostile
//! table start near `u64::MAX` is an error naming the field, never an overflow), every
//! decompression bounded (a data
//! block by the block size, a metadata block by 8 KiB), directories are walked
//! once each (a loop of directory references ends), and a file whose blocks do
//! not decode is skipped with its cause while the rest of the image is read.

use super::squashfs_lzma::{self, LzmaMode};
use super::{EntryKind, Sink};
use std::collections::{HashMap, HashSet};
use std::io::Read;

const METADATA_SIZE: usize = 8192;
const INVALID_FRAG: u32 = 0xffff_ffff;
/// Metadata blocks kept decompressed (8 KiB each at most: 64 MiB).
const MAX_CACHED_BLOCKS: usize = 8192;

/// The fields of a 1.x–3.x superblock aite uses.
#[derive(Debug, Clone)]
pub(crate) struct Superblock {
    pub be: bool,
    pub major: u16,
    pub minor: u16,
    /// Bytes of the image (1.x/2.x: the 32-bit field, 3.x: the 64-bit one).
    pub bytes_used: u64,
    block_size: u32,
    flags: u8,
    no_uids: u32,
    no_guids: u32,
    root_inode: u64,
    fragments: u32,
    uid_start: u64,
    guid_start: u64,
    inode_table_start: u64,
    directory_table_start: u64,
    fragment_table_start: u64,
}

impl Superblock {
    /// "3.1 big-endian" and the like.
    pub fn version(&self) -> String {
        format!("{}.{} {}-endian", self.major, self.minor, if self.be { "big" } else { "little" })
    }
    fn check_data(&self) -> bool {
        self.flags & (1 << 2) != 0
    }
    /// The table starts against `bytes_used` and `bytes_used` against the `len` bytes present.
    fn check(&self, len: usize) -> Result<(), String> {
        if self.bytes_used > len as u64 {
            return Err(format!("superblock bytes_used {} is larger than the image ({len} bytes present)", self.bytes_used));
        }
        let fragment_table = (self.major > 1 && self.fragments > 0).then_some(("fragment_table_start", self.fragment_table_start));
        for (name, at) in [("uid_start", self.uid_start), ("guid_start", self.guid_start), ("inode_table_start", self.inode_table_start), ("directory_table_start", self.directory_table_start)].into_iter().chain(fragment_table) {
            if at >= self.bytes_used && (name != "guid_start" || self.no_guids > 0) {
                return Err(format!("superblock {name} {at} lies past bytes_used {}", self.bytes_used));
            }
        }
        Ok(())
    }
    fn no_guids_marker(&self) -> u32 {
        if self.major == 1 {
            15
        } else {
            255
        }
    }
}

fn uint(b: &[u8], be: bool) -> u64 {
    b.iter().enumerate().fold(0u64, |v, (i, &x)| if be { v << 8 | x as u64 } else { v | (x as u64) << (8 * i) })
}

/// The bit field at bit `pos`, `bits` wide, of a packed structure (see the module comment).
fn field(b: &[u8], be: bool, pos: usize, bits: usize) -> Option<u64> {
    let (first, shift) = (pos / 8, pos % 8);
    let n = (shift + bits).div_ceil(8);
    let raw = b.get(first..first + n)?;
    let mut v: u128 = 0;
    for (i, &x) in raw.iter().enumerate() {
        if be {
            v = v << 8 | x as u128;
        } else {
            v |= (x as u128) << (8 * i);
        }
    }
    let v = if be { v >> (n * 8 - shift - bits) } else { v >> shift };
    Some((v & ((1u128 << bits) - 1)) as u64)
}

/// A 1.x–3.x superblock at the start of `b`, if its fields are consistent; the
/// byte order is the one in which the version reads 1, 2 or 3 (vendors swap or
/// replace the magic, so the magic does not decide it).
pub(crate) fn superblock(b: &[u8]) -> Option<Superblock> {
    parse_superblock(b).ok()
}

/// [`superblock`], or why there is none (naming the inconsistent field).
pub(crate) fn parse_superblock(b: &[u8]) -> Result<Superblock, String> {
    let short = || format!("the superblock is cut short ({} bytes present)", b.len());
    let h = &b[..119.min(b.len())];
    let version = h.get(28..30).ok_or_else(short)?;
    let be = match (uint(version, false), uint(version, true)) {
        (1..=3, _) => false,
        (_, 1..=3) => true,
        (v, _) => return Err(format!("superblock major version {v} is not 1, 2 or 3 in either byte order")),
    };
    let u = |at: usize, n: usize| h.get(at..at + n).map(|s| uint(s, be)).ok_or_else(short);
    let major = u(28, 2)? as u16;
    let block_log = u(34, 2)? as u32;
    let block_size = if major == 1 { u(32, 2)? as u32 } else { u(51, 4)? as u32 };
    if !(12..=20).contains(&block_log) || block_size != 1 << block_log || (major < 3 && block_log > 16) {
        return Err(format!("superblock block_size {block_size} and block_log {block_log} are inconsistent"));
    }
    let (bytes_used, uid_start, guid_start, inode_table_start, directory_table_start, fragment_table_start) = if major == 3 {
        (u(63, 8)?, u(71, 8)?, u(79, 8)?, u(87, 8)?, u(95, 8)?, u(103, 8)?)
    } else {
        (u(8, 4)?, u(12, 4)?, u(16, 4)?, u(20, 4)?, u(24, 4)?, if major == 2 { u(59, 4)? } else { 0 })
    };
    let sb = Superblock {
        be,
        major,
        minor: u(30, 2)? as u16,
        bytes_used,
        block_size,
        flags: u(36, 1)? as u8,
        no_uids: u(37, 1)? as u32,
        no_guids: u(38, 1)? as u32,
        root_inode: u(43, 8)?,
        fragments: if major == 1 { 0 } else { u(55, 4)? as u32 },
        uid_start,
        guid_start,
        inode_table_start,
        directory_table_start,
        fragment_table_start,
    };
    let size = if major == 3 { 119 } else { 63 };
    let (i, d, bu) = (sb.inode_table_start, sb.directory_table_start, sb.bytes_used);
    if bu < size {
        Err(format!("superblock bytes_used {bu} is smaller than the {size}-byte superblock"))
    } else if i < size {
        Err(format!("superblock inode_table_start {i} lies inside the {size}-byte superblock"))
    } else if i >= d {
        Err(format!("superblock inode_table_start {i} is not before directory_table_start {d}"))
    } else if d >= bu {
        Err(format!("superblock directory_table_start {d} lies past bytes_used {bu}"))
    } else if sb.uid_start >= bu {
        Err(format!("superblock uid_start {} lies past bytes_used {bu}", sb.uid_start))
    } else {
        Ok(sb)
    }
}

/// `at + n`, or an error naming `what` when it overflows.
fn add(at: u64, n: u64, what: &str) -> Result<u64, String> {
    at.checked_add(n).ok_or_else(|| format!("{what}: offset {at} + {n} overflows"))
}

/// How the blocks of one image are compressed (learnt from the first block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Unknown,
    Zlib,
    Lzma(LzmaMode),
}

struct Image<'a> {
    b: &'a [u8],
    sb: Superblock,
    codec: Codec,
    /// Metadata blocks decoded, by position: (contents, position of the next block).
    meta: HashMap<u64, (Vec<u8>, u64)>,
    uids: Vec<u32>,
    guids: Vec<u32>,
    fragments: HashMap<u32, (u64, u32)>,
}

impl<'a> Image<'a> {
    fn u(&self, at: u64, n: usize) -> Result<u64, String> {
        let at = usize::try_from(at).map_err(|_| format!("a table at byte {at} lies past the image end ({} bytes)", self.b.len()))?;
        self.b.get(at..at.saturating_add(n)).map(|s| uint(s, self.sb.be)).ok_or_else(|| format!("a table at byte {at} lies past the image end ({} bytes)", self.b.len()))
    }

    /// Decompress one block; `exact`: its size when known.
    fn inflate(&mut self, data: &[u8], exact: Option<usize>, max: usize) -> Result<Vec<u8>, String> {
        let zlib = |data: &[u8]| -> Result<Vec<u8>, String> {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(data).take(max as u64 + 1).read_to_end(&mut out).map_err(|e| format!("zlib: {e}"))?;
            if out.len() > max {
                return Err(format!("a block decompresses to more than {max} bytes"));
            }
            Ok(out)
        };
        // zlib streams start 0x78 (32 KiB window); sqlzma images keep zlib for blocks LZMA did not shrink.
        let looks_zlib = data.len() > 2 && data[0] & 0x0f == 8 && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0;
        match self.codec {
            Codec::Zlib => zlib(data),
            Codec::Lzma(_) if looks_zlib => zlib(data).or_else(|_| self.lzma(data, exact, max)),
            Codec::Lzma(_) => self.lzma(data, exact, max),
            Codec::Unknown => {
                if looks_zlib {
                    if let Ok(out) = zlib(data) {
                        self.codec = Codec::Zlib;
                        return Ok(out);
                    }
                }
                self.lzma(data, exact, max)
            }
        }
    }

    fn lzma(&mut self, data: &[u8], exact: Option<usize>, max: usize) -> Result<Vec<u8>, String> {
        let mut mode = match self.codec {
            Codec::Lzma(m) => m,
            _ => LzmaMode::Unknown,
        };
        let out = squashfs_lzma::decode(data, exact, max, &mut mode);
        let first = self.codec == Codec::Unknown;
        // Kept also when undecodable, so later blocks are not searched again.
        self.codec = Codec::Lzma(mode);
        out.map_err(|e| if first { format!("neither zlib nor LZMA: {e}") } else { e })
    }

    /// The metadata block at `pos`: its contents and where the next one starts.
    fn meta_block(&mut self, pos: u64) -> Result<(Vec<u8>, u64), String> {
        if let Some(m) = self.meta.get(&pos) {
            return Ok(m.clone());
        }
        // Bounded memory: a hostile image of many tiny blocks only costs decompressing again.
        if self.meta.len() >= MAX_CACHED_BLOCKS {
            self.meta.clear();
        }
        let h = self.u(pos, 2)? as usize;
        let skip = 2 + usize::from(self.sb.check_data());
        let len = if h & 0x7fff == 0 { 0x8000 } else { h & 0x7fff };
        let start = usize::try_from(add(pos, skip as u64, "a metadata block")?).map_err(|_| format!("the metadata block at byte {pos} lies past the image end"))?;
        let data = self.b.get(start..start.saturating_add(len)).ok_or_else(|| format!("the metadata block at byte {pos} ({len} bytes) runs past the image end"))?;
        let out = if h & 0x8000 != 0 { data.to_vec() } else { self.inflate(data, None, METADATA_SIZE).map_err(|e| format!("metadata block at byte {pos}: {e}"))? };
        let next = (start + len) as u64;
        self.meta.insert(pos, (out.clone(), next));
        Ok((out, next))
    }

    /// `n` bytes of metadata from `offset` into the block at `pos`, continuing into the next blocks.
    fn meta_read(&mut self, mut pos: u64, mut offset: usize, n: usize) -> Result<(Vec<u8>, u64, usize), String> {
        let mut out = Vec::with_capacity(n.min(1 << 16));
        while out.len() < n {
            let (block, next) = self.meta_block(pos)?;
            if offset >= block.len() {
                if offset > block.len() || block.is_empty() {
                    return Err(format!("a reference points {offset} bytes into a metadata block of {} bytes", block.len()));
                }
                (pos, offset) = (next, 0);
                continue;
            }
            let take = (n - out.len()).min(block.len() - offset);
            out.extend_from_slice(&block[offset..offset + take]);
            offset += take;
        }
        Ok((out, pos, offset))
    }

    fn uid(&self, i: u64) -> Result<u32, String> {
        self.uids.get(i as usize).copied().ok_or_else(|| format!("uid index {i} outside the uid table of {}", self.uids.len()))
    }

    fn gid(&self, i: u64, uid: u32) -> Result<u32, String> {
        if i == self.sb.no_guids_marker() as u64 {
            return Ok(uid);
        }
        self.guids.get(i as usize).copied().ok_or_else(|| format!("gid index {i} outside the gid table of {}", self.guids.len()))
    }

    /// Where fragment `i` is and its size word.
    fn fragment(&mut self, i: u32) -> Result<(u64, u32), String> {
        if let Some(f) = self.fragments.get(&i) {
            return Ok(*f);
        }
        if i >= self.sb.fragments {
            return Err(format!("fragment {i} outside the fragment table of {}", self.sb.fragments));
        }
        let (entry, index) = if self.sb.major == 3 { (16usize, 8usize) } else { (8, 4) };
        let at = i as usize * entry;
        let block = self.u(add(self.sb.fragment_table_start, (at / METADATA_SIZE * index) as u64, "superblock fragment_table_start")?, index)?;
        let (e, _, _) = self.meta_read(block, at % METADATA_SIZE, entry)?;
        let f = if self.sb.major == 3 { (uint(&e[..8], self.sb.be), uint(&e[8..12], self.sb.be) as u32) } else { (uint(&e[..4], self.sb.be), uint(&e[4..8], self.sb.be) as u32) };
        self.fragments.insert(i, f);
        Ok(f)
    }
}

/// One inode, as much of it as listing and extraction need.
enum Inode {
    Dir { start_block: u64, offset: usize, size: u64 },
    File { start: u64, blocks: Vec<u32>, fragment: Option<(u32, u32)>, size: u64 },
    Symlink(String),
    Device,
    Fifo,
    Socket,
}

struct Node {
    inode: Inode,
    mode: u32,
    uid: u32,
    gid: u32,
}

/// Read the inode at reference `r` (metadata block offset << 16 | offset).
fn inode(img: &mut Image<'_>, r: u64) -> Result<Node, String> {
    let (be, major, block_size) = (img.sb.be, img.sb.major, img.sb.block_size as u64);
    let pos = add(img.sb.inode_table_start, r >> 16, &format!("superblock inode_table_start with inode reference {r:#x}"))?;
    let off = (r & 0xffff) as usize;
    // The longest fixed part is 40 bytes (3.x lreg); metadata may end sooner, so read what is there.
    let mut head = Vec::new();
    for n in [40, 31, 28, 24, 18, 16, 15, 12, 6, 5, 4] {
        if let Ok((h, _, _)) = img.meta_read(pos, off, n) {
            head = h;
            break;
        }
    }
    if head.len() < 4 {
        return Err(format!("inode reference {r:#x} points past the inode table"));
    }
    let f = |p: usize, bits: usize| field(&head, be, p, bits).ok_or_else(|| format!("inode {r:#x} is cut short"));
    let kind = f(0, 4)?;
    let mode = f(4, 12)? as u32;
    let (uid_i, gid_i) = if major == 1 { (f(16, 4)?, f(20, 4)?) } else { (f(16, 8)?, f(24, 8)?) };
    // Fixed-part length of each kind, and the inode's own fields (bit positions from the compat headers).
    let blocks_of = |size: u64, has_frag: bool| if has_frag { size / block_size } else { size.div_ceil(block_size) };
    let (inode, fixed): (Inode, usize) = match (major, kind) {
        (3, 1) => (Inode::Dir { size: f(128, 19)?, offset: f(147, 13)? as usize, start_block: f(160, 32)? }, 28),
        (3, 8) => (Inode::Dir { size: f(128, 27)?, offset: f(155, 13)? as usize, start_block: f(168, 32)? }, 31),
        (3, 2) => {
            let (start, frag, foff, size) = (f(96, 64)?, f(160, 32)? as u32, f(192, 32)? as u32, f(224, 32)?);
            (Inode::File { start, blocks: vec![], fragment: (frag != INVALID_FRAG).then_some((frag, foff)), size }, 32)
        }
        (3, 9) => {
            let (start, frag, foff, size) = (f(128, 64)?, f(192, 32)? as u32, f(224, 32)? as u32, f(256, 64)?);
            (Inode::File { start, blocks: vec![], fragment: (frag != INVALID_FRAG).then_some((frag, foff)), size }, 40)
        }
        (3, 3) => (Inode::Symlink(String::new()), 18),
        (3, 4 | 5) => (Inode::Device, 18),
        (3, 6) => (Inode::Fifo, 16),
        (3, 7) => (Inode::Socket, 16),
        (2, 1) => (Inode::Dir { size: f(32, 19)?, offset: f(51, 13)? as usize, start_block: f(96, 24)? }, 15),
        (2, 8) => (Inode::Dir { size: f(32, 27)?, offset: f(59, 13)? as usize, start_block: f(104, 24)? }, 18),
        (2, 2) => {
            let (start, frag, foff, size) = (f(64, 32)?, f(96, 32)? as u32, f(128, 32)? as u32, f(160, 32)?);
            (Inode::File { start, blocks: vec![], fragment: (frag != INVALID_FRAG).then_some((frag, foff)), size }, 24)
        }
        (2, 3) => (Inode::Symlink(String::new()), 6),
        (2, 4 | 5) => (Inode::Device, 6),
        (2, 6) => (Inode::Fifo, 4),
        (2, 7) => (Inode::Socket, 4),
        (1, 1) => (Inode::Dir { size: f(24, 19)?, offset: f(43, 13)? as usize, start_block: f(88, 24)? }, 14),
        (1, 2) => (Inode::File { start: f(56, 32)?, blocks: vec![], fragment: None, size: f(88, 32)? }, 15),
        (1, 3) => (Inode::Symlink(String::new()), 5),
        (1, 4 | 5) => (Inode::Device, 5),
        (1, 0) => (if f(24, 4)? == 7 { Inode::Socket } else { Inode::Fifo }, 4),
        _ => return Err(format!("inode {r:#x} has type {kind}, not one of squashfs {major}.x")),
    };
    let uid = img.uid(if major == 1 && kind == 0 { f(28, 4)? << 4 | uid_i } else { uid_i })?;
    let gid = img.gid(gid_i, uid)?;
    let inode = match inode {
        Inode::Symlink(_) => {
            let at = if major == 3 { 128 } else if major == 2 { 32 } else { 24 };
            let n = f(at, 16)? as usize;
            let (name, _, _) = img.meta_read(pos, off, fixed + n)?;
            Inode::Symlink(String::from_utf8_lossy(&name[fixed..]).into_owned())
        }
        Inode::File { start, fragment, size, .. } => {
            let count = blocks_of(size, fragment.is_some());
            let width = if major == 1 { 2 } else { 4 };
            if count > img.b.len() as u64 {
                return Err(format!("inode {r:#x} declares {size} bytes in {count} blocks, more than the image holds"));
            }
            let (list, _, _) = img.meta_read(pos, off, fixed.saturating_add((count as usize).saturating_mul(width)))?;
            let blocks = list[fixed..].chunks(width).map(|c| {
                let v = uint(c, be) as u32;
                // 1.x marks a stored block with bit 15; bring it to bit 24 as in 2.x/3.x.
                if width == 2 {
                    (v & 0x7fff) | if v & 0x8000 != 0 { 1 << 24 } else { 0 }
                } else {
                    v
                }
            });
            Inode::File { start, blocks: blocks.collect(), fragment, size }
        }
        other => other,
    };
    Ok(Node { inode, mode: mode & 0o7777, uid, gid })
}

/// The entries (name, inode reference) of the directory at (`start_block`, `offset`), `size` bytes long.
fn list(img: &mut Image<'_>, start_block: u64, offset: usize, size: u64) -> Result<Vec<(String, u64)>, String> {
    let (be, major) = (img.sb.be, img.sb.major);
    let (head_len, entry_len) = if major == 3 { (9, 5) } else { (4, 3) };
    let (mut pos, mut off) = (add(img.sb.directory_table_start, start_block, "superblock directory_table_start with a directory's start block")?, offset);
    let mut read = 0u64;
    let mut out = Vec::new();
    // The size counts 3 bytes for `.` and `..` in 3.x; stop when no header and entry fit.
    while size.saturating_sub(read) >= (head_len + entry_len + 1) as u64 {
        let (h, p, o) = img.meta_read(pos, off, head_len)?;
        (pos, off) = (p, o);
        read += head_len as u64;
        let count = field(&h, be, 0, 8).unwrap_or(0) + 1;
        let block = field(&h, be, 8, if major == 3 { 32 } else { 24 }).unwrap_or(0);
        for _ in 0..count {
            let (e, p, o) = img.meta_read(pos, off, entry_len)?;
            let (eoff, name_len) = (field(&e, be, 0, 13).unwrap_or(0), field(&e, be, 16, 8).unwrap_or(0) as usize + 1);
            let (name, p, o) = img.meta_read(p, o, name_len)?;
            (pos, off) = (p, o);
            read += (entry_len + name_len) as u64;
            if read > size {
                return Err(format!("a directory entry runs past the directory's declared {size} bytes"));
            }
            out.push((String::from_utf8_lossy(&name).into_owned(), block << 16 | eoff));
        }
    }
    Ok(out)
}

/// A regular file's contents, block by block, decompressed as they are read.
struct FileReader<'i, 'a> {
    img: &'i mut Image<'a>,
    at: u64,
    blocks: std::vec::IntoIter<u32>,
    fragment: Option<(u32, u32)>,
    left: u64,
    buf: Vec<u8>,
    used: usize,
}

impl FileReader<'_, '_> {
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, String> {
        let bs = self.img.sb.block_size as usize;
        if let Some(word) = self.blocks.next() {
            let want = (self.left as usize).min(bs);
            let len = (word & !(1 << 24)) as usize;
            if len == 0 {
                return Ok(Some(vec![0; want])); // a sparse block
            }
            let start = self.at;
            self.at = add(start, len as u64, "a file's data blocks")?;
            let data = usize::try_from(start).ok().and_then(|s| self.img.b.get(s..s.checked_add(len)?)).ok_or_else(|| format!("a data block at byte {start} ({len} bytes) runs past the image end"))?;
            let out = if word & (1 << 24) != 0 { data.to_vec() } else { self.img.inflate(data, Some(want), bs)? };
            if out.len() != want {
                return Err(format!("the data block at byte {start} holds {} bytes, {want} expected", out.len()));
            }
            return Ok(Some(out));
        }
        if let Some((i, offset)) = self.fragment.take() {
            let (start, word) = self.img.fragment(i)?;
            let len = (word & !(1 << 24)) as usize;
            let data = usize::try_from(start).ok().and_then(|s| self.img.b.get(s..s.checked_add(len)?)).ok_or_else(|| format!("fragment {i} at byte {start} ({len} bytes) runs past the image end"))?;
            let out = if word & (1 << 24) != 0 { data.to_vec() } else { self.img.inflate(data, None, bs)? };
            let part = usize::try_from(self.left).ok().and_then(|l| out.get(offset as usize..(offset as usize).checked_add(l)?)).ok_or_else(|| format!("the file's tail lies outside fragment {i}"))?;
            return Ok(Some(part.to_vec()));
        }
        Ok(None)
    }
}

impl Read for FileReader<'_, '_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.used == self.buf.len() {
            if self.left == 0 {
                return Ok(0);
            }
            match self.next_chunk() {
                Ok(Some(chunk)) => {
                    self.left -= chunk.len() as u64;
                    (self.buf, self.used) = (chunk, 0);
                }
                Ok(None) => return Err(std::io::Error::other(format!("{} bytes missing: the block list ends early", self.left))),
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
        let n = out.len().min(self.buf.len() - self.used);
        out[..n].copy_from_slice(&self.buf[self.used..self.used + n]);
        self.used += n;
        Ok(n)
    }
}

/// Read the image `bytes` (a 1.x–3.x superblock at its start, already checked by
/// [`superblock`]) into `sink`. Returns what was read (version and compression).
pub(super) fn read(sink: &mut Sink<'_>, bytes: &[u8], sb: Superblock) -> Result<String, String> {
    sb.check(bytes.len())?;
    let mut img = Image { b: bytes, sb, codec: Codec::Unknown, meta: HashMap::new(), uids: vec![], guids: vec![], fragments: HashMap::new() };
    for i in 0..img.sb.no_uids as u64 {
        let v = img.u(add(img.sb.uid_start, 4 * i, "superblock uid_start")?, 4).map_err(|e| format!("superblock uid_start: {e}"))? as u32;
        img.uids.push(v);
    }
    for i in 0..img.sb.no_guids as u64 {
        let v = img.u(add(img.sb.guid_start, 4 * i, "superblock guid_start")?, 4).map_err(|e| format!("superblock guid_start: {e}"))? as u32;
        img.guids.push(v);
    }
    let root_ref = img.sb.root_inode;
    let root = inode(&mut img, root_ref).map_err(|e| format!("superblock root_inode {root_ref:#x}: {e}"))?;
    let Inode::Dir { .. } = root.inode else { return Err("the root inode is not a directory".into()) };
    let mut seen = HashSet::from([root_ref]);
    let mut stack = vec![(String::new(), root)];
    while let Some((path, node)) = stack.pop() {
        let Inode::Dir { start_block, offset, size } = node.inode else { continue };
        for (name, r) in list(&mut img, start_block, offset, size)? {
            if name.is_empty() || name == "." || name == ".." || name.contains('/') {
                sink.skip(&format!("{path}/{name}"), "directory entry with an invalid name");
                continue;
            }
            let child = if path.is_empty() { name } else { format!("{path}/{name}") };
            // At the entry limit the walk stops (the sink records the limit and the entry it refused).
            if !sink.room_for(&child) {
                return Ok(format!("squashfs {}: stopped at the entry limit", img.sb.version()));
            }
            let n = inode(&mut img, r)?;
            match n.inode {
                Inode::Dir { .. } => {
                    sink.meta(&child, EntryKind::Dir, n.mode, n.uid, n.gid);
                    if seen.insert(r) {
                        stack.push((child, n));
                    } else {
                        sink.skip(&child, "directory already listed elsewhere in the image (a loop of directory references): not walked again");
                    }
                }
                Inode::File { start, blocks, fragment, size } => {
                    let mut reader = FileReader { img: &mut img, at: start, blocks: blocks.into_iter(), fragment, left: size, buf: vec![], used: 0 };
                    sink.file(&child, n.mode, n.uid, n.gid, &mut reader).map_err(|e| e.to_string())?;
                }
                Inode::Symlink(target) => sink.meta(&child, EntryKind::Symlink { target }, n.mode, n.uid, n.gid),
                Inode::Device => sink.meta(&child, EntryKind::Device, n.mode, n.uid, n.gid),
                Inode::Fifo => sink.meta(&child, EntryKind::Fifo, n.mode, n.uid, n.gid),
                Inode::Socket => sink.meta(&child, EntryKind::Socket, n.mode, n.uid, n.gid),
            }
        }
    }
    let codec = match img.codec {
        Codec::Unknown => "no compressed block".to_string(),
        Codec::Zlib => "zlib".to_string(),
        Codec::Lzma(m) => m.to_string(),
    };
    Ok(format!("squashfs {}, {codec}", img.sb.version()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_fields_in_both_byte_orders() {
        // type 2 (4 bits), mode 0o755 (12 bits), uid 1, gid 2, as a little-endian and a big-endian image store them.
        let le = [0xd2, 0x1e, 0x01, 0x02];
        assert_eq!((field(&le, false, 0, 4), field(&le, false, 4, 12), field(&le, false, 16, 8), field(&le, false, 24, 8)), (Some(2), Some(0o755), Some(1), Some(2)));
        let be = [0x21, 0xed, 0x01, 0x02];
        assert_eq!((field(&be, true, 0, 4), field(&be, true, 4, 12), field(&be, true, 16, 8), field(&be, true, 24, 8)), (Some(2), Some(0o755), Some(1), Some(2)));
        assert_eq!(field(&be, true, 20, 16), None, "past the end");
    }
}
