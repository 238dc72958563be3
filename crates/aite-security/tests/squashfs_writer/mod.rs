//! A minimal squashfs 1.x / 2.x / 3.x writer for the tests, little- or
//! big-endian, with zlib, `.lzma`-header or raw ("adaptive") LZMA blocks and
//! vendor magics: written from the same compatibility headers as the reader
//! (`squashfs_compat.h`), and checked independently by squashfs-tools'
//! `unsquashfs -lln`, which reads 1.x–3.x in both byte orders.
//!
//! Layout as mksquashfs writes it: superblock, file data and fragment blocks,
//! inode table, directory table, fragment table (entries, then their index), uid
//! and gid tables. Directories are written bottom-up so every directory entry
//! knows its inode's metadata reference.

#![allow(dead_code)]

use std::io::Write;

/// How blocks are compressed.
#[derive(Debug, Clone)]
pub enum Compression {
    Zlib,
    /// The 13-byte `.lzma` header before each stream (sqlzma, squashfs-lzma patches).
    LzmaAlone,
    /// Raw LZMA with these properties, after `prefix` vendor bytes (Broadcom-style "adaptive").
    LzmaRaw { lc: u32, lp: u32, pb: u32, prefix: Vec<u8> },
}

#[derive(Debug, Clone)]
pub struct Options {
    pub major: u16,
    pub minor: u16,
    pub be: bool,
    pub block_log: u16,
    pub compression: Compression,
    /// Replaces the magic (vendor LZMA images use their own).
    pub magic: Option<[u8; 4]>,
}

/// One entry of the tree to write.
#[derive(Debug, Clone)]
pub enum Node {
    Dir { mode: u32, uid: u32, gid: u32, children: Vec<(String, Node)> },
    File { mode: u32, uid: u32, gid: u32, data: Vec<u8> },
    Symlink { target: String },
    CharDev { mode: u32, rdev: u16 },
    Fifo { mode: u32 },
}

/// Set the bit field at `pos`, `bits` wide (the reader's `field`, reversed).
fn put(b: &mut Vec<u8>, be: bool, pos: usize, bits: usize, value: u64) {
    let end = (pos + bits).div_ceil(8);
    if b.len() < end {
        b.resize(end, 0);
    }
    for k in 0..bits {
        let bit = (value >> k) & 1;
        // Little-endian: field bit k at stream bit pos+k, LSB first. Big-endian: MSB first.
        let i = if be { pos + bits - 1 - k } else { pos + k };
        let (byte, shift) = (i / 8, if be { 7 - i % 8 } else { i % 8 });
        b[byte] |= (bit as u8) << shift;
    }
}

fn int(be: bool, v: u64, n: usize) -> Vec<u8> {
    let le = v.to_le_bytes();
    let mut out = le[..n].to_vec();
    if be {
        out.reverse();
    }
    out
}

struct Writer {
    o: Options,
    image: Vec<u8>,
    uids: Vec<u32>,
    guids: Vec<u32>,
    inodes: Meta,
    dirs: Meta,
    fragments: Vec<(u64, u32)>,
    frag_buf: Vec<u8>,
    inode_count: u32,
}

/// A metadata stream: 8 KiB blocks compressed as they fill.
struct Meta {
    out: Vec<u8>,
    cur: Vec<u8>,
}

impl Writer {
    fn compress(&self, data: &[u8]) -> Vec<u8> {
        match &self.o.compression {
            Compression::Zlib => {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::LzmaAlone => {
                let mut o = lzma_rust2::LzmaOptions::with_preset(6);
                o.dict_size = 1 << 20;
                let mut w = lzma_rust2::LzmaWriter::new_use_header(Vec::new(), &o, Some(data.len() as u64)).unwrap();
                w.write_all(data).unwrap();
                w.finish().unwrap()
            }
            Compression::LzmaRaw { lc, lp, pb, prefix } => {
                let mut o = lzma_rust2::LzmaOptions::with_preset(6);
                (o.lc, o.lp, o.pb, o.dict_size) = (*lc, *lp, *pb, 1 << 20);
                let mut w = lzma_rust2::LzmaWriter::new_no_header(prefix.clone(), &o, true).unwrap();
                w.write_all(data).unwrap();
                w.finish().unwrap()
            }
        }
    }

    /// A block's bytes and whether they are stored uncompressed.
    fn block(&self, data: &[u8]) -> (Vec<u8>, bool) {
        let c = self.compress(data);
        if c.len() < data.len() {
            (c, false)
        } else {
            (data.to_vec(), true)
        }
    }

    fn meta_push(&mut self, which: bool, bytes: &[u8]) -> (u64, u64) {
        let (block, offset) = {
            let m = if which { &self.inodes } else { &self.dirs };
            (m.out.len() as u64, m.cur.len() as u64)
        };
        for &b in bytes {
            let full = {
                let m = if which { &mut self.inodes } else { &mut self.dirs };
                m.cur.push(b);
                m.cur.len() == 8192
            };
            if full {
                self.meta_flush(which);
            }
        }
        (block, offset)
    }

    fn meta_flush(&mut self, which: bool) {
        let cur = std::mem::take(if which { &mut self.inodes.cur } else { &mut self.dirs.cur });
        if cur.is_empty() {
            return;
        }
        let (data, stored) = self.block(&cur);
        let head = data.len() as u64 | if stored { 0x8000 } else { 0 };
        let be = self.o.be;
        let m = if which { &mut self.inodes } else { &mut self.dirs };
        m.out.extend(int(be, head, 2));
        m.out.extend(data);
    }

    fn uid_index(&mut self, uid: u32) -> u64 {
        match self.uids.iter().position(|&u| u == uid) {
            Some(i) => i as u64,
            None => {
                self.uids.push(uid);
                self.uids.len() as u64 - 1
            }
        }
    }

    fn guid_index(&mut self, gid: u32, uid: u32) -> u64 {
        if gid == uid {
            return if self.o.major == 1 { 15 } else { 255 };
        }
        match self.guids.iter().position(|&g| g == gid) {
            Some(i) => i as u64,
            None => {
                self.guids.push(gid);
                self.guids.len() as u64 - 1
            }
        }
    }

    /// The base header bits and its length in bits.
    fn base(&mut self, kind: u64, mode: u32, uid: u32, gid: u32) -> (Vec<u8>, usize) {
        let (be, major) = (self.o.be, self.o.major);
        let (u, g) = (self.uid_index(uid), self.guid_index(gid, uid));
        self.inode_count += 1;
        let mut b = Vec::new();
        put(&mut b, be, 0, 4, kind);
        put(&mut b, be, 4, 12, mode as u64 & 0o7777);
        if major == 1 {
            put(&mut b, be, 16, 4, u);
            put(&mut b, be, 20, 4, g);
            (b, 24)
        } else {
            put(&mut b, be, 16, 8, u);
            put(&mut b, be, 24, 8, g);
            if major == 3 {
                put(&mut b, be, 32, 32, 1_136_073_600);
                put(&mut b, be, 64, 32, self.inode_count as u64);
                (b, 96)
            } else {
                (b, 32)
            }
        }
    }

    fn flush_fragments(&mut self) {
        if self.frag_buf.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.frag_buf);
        let (data, stored) = self.block(&buf);
        self.fragments.push((self.image.len() as u64, data.len() as u32 | if stored { 1 << 24 } else { 0 }));
        self.image.extend(data);
    }

    /// Write a file's data and inode; returns its inode reference and type.
    fn file(&mut self, mode: u32, uid: u32, gid: u32, data: &[u8]) -> (u64, u64) {
        let (be, major) = (self.o.be, self.o.major);
        let bs = 1usize << self.o.block_log;
        let start = self.image.len() as u64;
        let full = if major == 1 { data.len().div_ceil(bs) } else { data.len() / bs };
        let mut list = Vec::new();
        for i in 0..full {
            let chunk = &data[i * bs..((i + 1) * bs).min(data.len())];
            let (d, stored) = self.block(chunk);
            list.push(if major == 1 { d.len() as u32 | if stored { 0x8000 } else { 0 } } else { d.len() as u32 | if stored { 1 << 24 } else { 0 } });
            self.image.extend(d);
        }
        let tail = &data[(full * bs).min(data.len())..];
        let (frag, frag_off) = if major > 1 && !tail.is_empty() {
            if self.frag_buf.len() + tail.len() > bs {
                self.flush_fragments();
            }
            let at = (self.fragments.len() as u32, self.frag_buf.len() as u32);
            self.frag_buf.extend_from_slice(tail);
            at
        } else {
            (0xffff_ffff, 0)
        };
        let (mut b, _) = self.base(2, mode, uid, gid);
        let size = data.len() as u64;
        match major {
            3 => {
                put(&mut b, be, 96, 64, start);
                put(&mut b, be, 160, 32, frag as u64);
                put(&mut b, be, 192, 32, frag_off as u64);
                put(&mut b, be, 224, 32, size);
            }
            2 => {
                put(&mut b, be, 32, 32, 1_136_073_600);
                put(&mut b, be, 64, 32, start);
                put(&mut b, be, 96, 32, frag as u64);
                put(&mut b, be, 128, 32, frag_off as u64);
                put(&mut b, be, 160, 32, size);
            }
            _ => {
                put(&mut b, be, 24, 32, 1_136_073_600);
                put(&mut b, be, 56, 32, start);
                put(&mut b, be, 88, 32, size);
            }
        }
        for l in list {
            b.extend(int(be, l as u64, if major == 1 { 2 } else { 4 }));
        }
        let (blk, off) = self.meta_push(true, &b);
        (blk << 16 | off, 2)
    }

    fn node(&mut self, node: &Node, parent: u32) -> (u64, u64) {
        let (be, major) = (self.o.be, self.o.major);
        match node {
            Node::File { mode, uid, gid, data } => self.file(*mode, *uid, *gid, data),
            Node::Symlink { target } => {
                let (mut b, bits) = self.base(3, 0o777, 0, 0);
                if major == 3 {
                    put(&mut b, be, 96, 32, 1);
                }
                let at = if major == 3 { 128 } else { bits };
                put(&mut b, be, at, 16, target.len() as u64);
                b.extend_from_slice(target.as_bytes());
                let (blk, off) = self.meta_push(true, &b);
                (blk << 16 | off, 3)
            }
            Node::CharDev { mode, rdev } => {
                let (mut b, bits) = self.base(5, *mode, 0, 0);
                if major == 3 {
                    put(&mut b, be, 96, 32, 1);
                }
                put(&mut b, be, if major == 3 { 128 } else { bits }, 16, *rdev as u64);
                let (blk, off) = self.meta_push(true, &b);
                (blk << 16 | off, 5)
            }
            Node::Fifo { mode } => {
                let kind = if major == 1 { 0 } else { 6 };
                let (mut b, _) = self.base(kind, *mode, 0, 0);
                if major == 3 {
                    put(&mut b, be, 96, 32, 1);
                } else if major == 1 {
                    put(&mut b, be, 24, 4, 6);
                    put(&mut b, be, 28, 4, 0);
                }
                let (blk, off) = self.meta_push(true, &b);
                (blk << 16 | off, 6)
            }
            Node::Dir { mode, uid, gid, children } => {
                let mut sorted: Vec<&(String, Node)> = children.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                let me = self.inode_count + 1000;
                let refs: Vec<(String, u64, u64)> = sorted.iter().map(|(name, n)| {
                    let (r, t) = self.node(n, me);
                    (name.clone(), r, t)
                }).collect();
                // The listing: one header per run of entries in the same inode metadata block.
                let (dir_blk, dir_off) = (self.dirs.out.len() as u64, self.dirs.cur.len() as u64);
                let mut listing = Vec::new();
                let mut i = 0;
                while i < refs.len() {
                    let block = refs[i].1 >> 16;
                    let run: Vec<&(String, u64, u64)> = refs[i..].iter().take_while(|r| r.1 >> 16 == block).take(256).collect();
                    let mut h = Vec::new();
                    put(&mut h, be, 0, 8, run.len() as u64 - 1);
                    if major == 3 {
                        put(&mut h, be, 8, 32, block);
                        put(&mut h, be, 40, 32, 1);
                    } else {
                        put(&mut h, be, 8, 24, block);
                    }
                    listing.extend(h);
                    for (name, r, t) in &run {
                        let mut e = Vec::new();
                        put(&mut e, be, 0, 13, r & 0xffff);
                        put(&mut e, be, 13, 3, *t);
                        put(&mut e, be, 16, 8, name.len() as u64 - 1);
                        if major == 3 {
                            put(&mut e, be, 24, 16, 0);
                        }
                        listing.extend(e);
                        listing.extend_from_slice(name.as_bytes());
                    }
                    i += run.len();
                }
                self.meta_push(false, &listing);
                let size = listing.len() as u64 + if major == 3 { 3 } else { 0 };
                let (mut b, _) = self.base(1, *mode, *uid, *gid);
                match major {
                    3 => {
                        put(&mut b, be, 96, 32, 2 + children.len() as u64);
                        put(&mut b, be, 128, 19, size);
                        put(&mut b, be, 147, 13, dir_off);
                        put(&mut b, be, 160, 32, dir_blk);
                        put(&mut b, be, 192, 32, parent as u64);
                    }
                    2 => {
                        put(&mut b, be, 32, 19, size);
                        put(&mut b, be, 51, 13, dir_off);
                        put(&mut b, be, 64, 32, 1_136_073_600);
                        put(&mut b, be, 96, 24, dir_blk);
                    }
                    _ => {
                        put(&mut b, be, 24, 19, size);
                        put(&mut b, be, 43, 13, dir_off);
                        put(&mut b, be, 56, 32, 1_136_073_600);
                        put(&mut b, be, 88, 24, dir_blk);
                    }
                }
                let (blk, off) = self.meta_push(true, &b);
                (blk << 16 | off, 1)
            }
        }
    }
}

/// The image of `root` (a `Node::Dir`).
pub fn write(root: &Node, o: Options) -> Vec<u8> {
    let (be, major) = (o.be, o.major);
    let sb_len = if major == 3 { 120 } else { 64 };
    let mut w = Writer { o: o.clone(), image: vec![0; sb_len], uids: vec![], guids: vec![], inodes: Meta { out: vec![], cur: vec![] }, dirs: Meta { out: vec![], cur: vec![] }, fragments: vec![], frag_buf: vec![], inode_count: 0 };
    let (root_ref, _) = w.node(root, 0);
    w.flush_fragments();
    w.meta_flush(true);
    w.meta_flush(false);
    let inode_start = w.image.len() as u64;
    let inodes = std::mem::take(&mut w.inodes.out);
    w.image.extend(inodes);
    let dir_start = w.image.len() as u64;
    let dirs = std::mem::take(&mut w.dirs.out);
    w.image.extend(dirs);
    // Fragment entries in metadata blocks, then the index of those blocks.
    let mut entries = Vec::new();
    for &(start, size) in &w.fragments.clone() {
        if major == 3 {
            entries.extend(int(be, start, 8));
            entries.extend(int(be, size as u64, 4));
            entries.extend(int(be, 0, 4));
        } else {
            entries.extend(int(be, start, 4));
            entries.extend(int(be, size as u64, 4));
        }
    }
    let mut index = Vec::new();
    for chunk in entries.chunks(8192) {
        index.push(w.image.len() as u64);
        let (data, stored) = w.block(chunk);
        w.image.extend(int(be, data.len() as u64 | if stored { 0x8000 } else { 0 }, 2));
        w.image.extend(data);
    }
    let frag_start = w.image.len() as u64;
    for i in index {
        w.image.extend(int(be, i, if major == 3 { 8 } else { 4 }));
    }
    let uid_start = w.image.len() as u64;
    for u in w.uids.clone() {
        w.image.extend(int(be, u as u64, 4));
    }
    let guid_start = w.image.len() as u64;
    for g in w.guids.clone() {
        w.image.extend(int(be, g as u64, 4));
    }
    let bytes_used = w.image.len() as u64;
    let bs = 1u64 << o.block_log;
    let mut sb = Vec::new();
    let magic = o.magic.unwrap_or(if be { *b"sqsh" } else { *b"hsqs" });
    sb.extend(magic);
    sb.extend(int(be, w.inode_count as u64, 4));
    sb.extend(int(be, bytes_used, 4));
    sb.extend(int(be, uid_start, 4));
    sb.extend(int(be, guid_start, 4));
    sb.extend(int(be, inode_start, 4));
    sb.extend(int(be, dir_start, 4));
    sb.extend(int(be, major as u64, 2));
    sb.extend(int(be, o.minor as u64, 2));
    sb.extend(int(be, bs & 0xffff, 2));
    sb.extend(int(be, o.block_log as u64, 2));
    sb.push(0); // flags
    sb.push(w.uids.len() as u8);
    sb.push(w.guids.len() as u8);
    sb.extend(int(be, 1_136_073_600, 4));
    sb.extend(int(be, root_ref, 8));
    sb.extend(int(be, bs, 4));
    sb.extend(int(be, w.fragments.len() as u64, 4));
    sb.extend(int(be, frag_start, 4));
    if major == 3 {
        for v in [bytes_used, uid_start, guid_start, inode_start, dir_start, frag_start, u64::MAX] {
            sb.extend(int(be, v, 8));
        }
    }
    w.image[..sb.len()].copy_from_slice(&sb);
    // Padded to 4 KiB as mksquashfs does.
    let padded = w.image.len().div_ceil(4096) * 4096;
    w.image.resize(padded, 0);
    w.image
}
