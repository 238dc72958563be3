//! UBI (the volume layer of NAND flash) and UBIFS (the file system on a UBI
//! volume), aite's own readers written from the Linux kernel's `ubi-media.h`
//! and `ubifs-media.h` layouts.
//!
//! UBI: the physical erase blocks (PEBs) each start with an erase-counter
//! header and, when mapped, a volume-identifier header naming the volume and
//! logical block (LEB) it holds; the newest copy (highest sequence number) of a
//! LEB wins; erased PEBs (all 0xFF) hold nothing; the layout volume's table
//! names the volumes. A volume holding UBIFS is read as a file system; any
//! other volume's bytes are scanned like a decompressed stream (a squashfs in a
//! static volume is found). UBIFS: the superblock, the newest master node, the
//! index B-tree from its root, and the inode, directory-entry and data nodes
//! it points to (LZO via [`super::lzo`], zlib, zstd or plain data); every node CRC is checked. An
//! uncommitted journal is not replayed: it fails the container with that cause.

use super::{kind_from_mode, EntryKind, Sink, UnpackError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

const EC_MAGIC: &[u8; 4] = b"UBI#";
const VID_MAGIC: &[u8; 4] = b"UBI!";
const LAYOUT_VOLUME: u32 = 0x7fff_efff;
const UBIFS_MAGIC: u32 = 0x0610_1831;
const LISTED_PROBLEMS: usize = 5;

/// What reading a UBI image found.
pub(super) struct Ubi {
    /// Bytes of the input the image spans (whole PEBs).
    pub len: usize,
    pub problems: Vec<String>,
}

impl Ubi {
    /// The failure cause, or `None` when nothing went wrong.
    pub fn cause(&self) -> Option<String> {
        let (first, rest) = self.problems.split_at(self.problems.len().min(LISTED_PROBLEMS));
        (!first.is_empty()).then(|| {
            let more = if rest.is_empty() { String::new() } else { format!("; and {} more", rest.len()) };
            format!("{}{more}", first.join("; "))
        })
    }
}

/// UBI's and UBIFS's CRC-32: initial value 0xFFFFFFFF, no final inversion.
fn crc(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    !c.sum()
}

fn be32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}
fn le16(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 2).map_or(0, |s| u32::from(u16::from_le_bytes([s[0], s[1]])))
}
fn le32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn le64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
}

/// An erase-counter header whose CRC checks out: (VID header offset, data offset).
fn ec_header(b: &[u8]) -> Option<(usize, usize)> {
    let h = b.get(..64)?;
    (&h[..4] == EC_MAGIC && be32(h, 60) == crc(&h[..60])).then(|| (be32(h, 16) as usize, be32(h, 20) as usize))
}

/// Whether `b` starts with a valid UBI erase-counter header.
pub(super) fn header_ok(b: &[u8]) -> bool {
    ec_header(b).is_some()
}

/// The PEB size: the distance to the next valid erase-counter header (powers of two from 4 KiB to 4 MiB;
/// an image has at least the two blocks of its volume table).
fn peb_size(b: &[u8]) -> Option<usize> {
    (12..=22).map(|s| 1usize << s).find(|&s| b.get(s..).is_some_and(|r| ec_header(r).is_some()))
}

/// Read the UBI image at the start of `bytes` into the sink.
pub(super) fn read(sink: &mut Sink<'_>, bytes: &[u8], offset: u64, depth: usize) -> Result<Ubi, UnpackError> {
    let mut problems = Vec::new();
    let Some(peb) = peb_size(bytes) else {
        return Ok(Ubi { len: 0, problems: vec!["no valid erase-counter header".into()] });
    };
    // (volume, lnum) -> (sqnum, data)
    let mut lebs: HashMap<(u32, u32), (u64, &[u8])> = HashMap::new();
    let mut at = 0;
    let mut leb_size = 0;
    while at + peb <= bytes.len() {
        let block = &bytes[at..at + peb];
        let Some((vid, data)) = ec_header(block) else {
            if block.starts_with(EC_MAGIC) {
                problems.push(format!("PEB at offset {at}: erase-counter header CRC mismatch"));
            } else if block.iter().any(|&b| b != 0xff) {
                // Not erased and not UBI: the image ends here.
                break;
            }
            at += peb;
            continue;
        };
        if vid + 64 > peb || data > peb || data < vid + 64 {
            problems.push(format!("PEB at offset {at}: header offsets {vid}/{data} do not fit a {peb}-byte block"));
            at += peb;
            continue;
        }
        leb_size = peb - data;
        let h = &block[vid..vid + 64];
        if h.iter().all(|&b| b == 0xff) {
            at += peb; // erased, unmapped
            continue;
        }
        if &h[..4] != VID_MAGIC || be32(h, 60) != crc(&h[..60]) {
            problems.push(format!("PEB at offset {at}: volume-identifier header is damaged"));
            at += peb;
            continue;
        }
        let (vol, lnum, sqnum) = (be32(h, 8), be32(h, 12), u64::from(be32(h, 40)) << 32 | u64::from(be32(h, 44)));
        let (data_size, data_crc, static_vol) = (be32(h, 20) as usize, be32(h, 32), h[5] == 2);
        let payload = &block[data..];
        if static_vol || h[6] == 1 {
            match payload.get(..data_size) {
                Some(p) if crc(p) == data_crc => {}
                _ => problems.push(format!("PEB at offset {at}: volume {vol} LEB {lnum}: data CRC mismatch")),
            }
        }
        let payload = if static_vol { &payload[..data_size.min(payload.len())] } else { payload };
        let slot = lebs.entry((vol, lnum)).or_insert((sqnum, payload));
        if sqnum >= slot.0 {
            *slot = (sqnum, payload);
        }
        at += peb;
    }
    let mut len = at;
    // A last erase block cut short: part of this image.
    if len < bytes.len() && bytes.len() - len < peb && ec_header(&bytes[len..]).is_some() {
        problems.push(format!("truncated: the image ends {} bytes into a {peb}-byte erase block", bytes.len() - len));
        len = bytes.len();
    }
    // The volume table (layout volume, LEB 0): names of the volumes.
    let mut names = BTreeMap::new();
    match lebs.get(&(LAYOUT_VOLUME, 0)) {
        Some((_, table)) => {
            for (i, rec) in table.chunks_exact(172).take(128).enumerate() {
                if be32(rec, 168) != crc(&rec[..168]) {
                    problems.push(format!("volume table record {i}: CRC mismatch"));
                    continue;
                }
                // An empty record (no reserved PEBs) is no volume.
                if be32(rec, 0) == 0 {
                    continue;
                }
                let n = (rec.get(14..16).map_or(0, |s| u16::from_be_bytes([s[0], s[1]])) as usize).min(127);
                names.insert(i as u32, String::from_utf8_lossy(&rec[16..16 + n]).into_owned());
            }
        }
        None => problems.push("no volume table (layout volume LEB 0 is missing)".into()),
    }
    let mut volumes: BTreeMap<u32, BTreeMap<u32, &[u8]>> = BTreeMap::new();
    for ((vol, lnum), (_, data)) in lebs {
        if vol != LAYOUT_VOLUME {
            volumes.entry(vol).or_default().insert(lnum, data);
        }
    }
    let several = names.len() > 1;
    for (vol, lebs) in &volumes {
        let name = names.get(vol).cloned().unwrap_or_else(|| format!("volume-{vol}"));
        if !names.contains_key(vol) {
            problems.push(format!("volume {vol} has blocks but no volume table record"));
        }
        let prefix = if several { format!("{name}/") } else { String::new() };
        let is_ubifs = lebs.get(&0).is_some_and(|l| le32(l, 0) == UBIFS_MAGIC);
        if is_ubifs {
            let fs = Volume { lebs };
            for p in ubifs(sink, &fs, &prefix)? {
                problems.push(format!("volume `{name}`: {p}"));
            }
        } else {
            // A raw volume (a squashfs in a static volume, a kernel): scanned like a stream.
            let top = lebs.keys().next_back().map_or(0, |&l| l as usize + 1);
            // A LEB number past the image's block count is bogus: never allocated for.
            let top = top.min(len / peb);
            let mut data = vec![0xffu8; top.saturating_mul(leb_size).min(sink.limits.max_file_bytes as usize)];
            for (&l, d) in lebs {
                let start = l as usize * leb_size;
                if start + d.len() <= data.len() {
                    data[start..start + d.len()].copy_from_slice(d);
                }
            }
            super::scan_stream(sink, "ubi", &data, offset, depth + 1)?;
        }
    }
    Ok(Ubi { len, problems })
}

/// A UBI volume's LEBs.
struct Volume<'a, 'b> {
    lebs: &'b BTreeMap<u32, &'a [u8]>,
}

impl Volume<'_, '_> {
    /// The node at (lnum, offs), its CRC checked.
    fn node(&self, lnum: u32, offs: u32) -> Result<&[u8], String> {
        let leb = self.lebs.get(&lnum).ok_or_else(|| format!("LEB {lnum} is not mapped"))?;
        let n = leb.get(offs as usize..).filter(|n| n.len() >= 24).ok_or_else(|| format!("node at LEB {lnum}:{offs} lies past the block"))?;
        if le32(n, 0) != UBIFS_MAGIC {
            return Err(format!("no node at LEB {lnum}:{offs}"));
        }
        let len = le32(n, 16) as usize;
        let n = n.get(..len).filter(|_| len >= 24).ok_or_else(|| format!("node at LEB {lnum}:{offs} runs past the block"))?;
        if le32(n, 4) != crc(&n[8..]) {
            return Err(format!("node at LEB {lnum}:{offs}: CRC mismatch"));
        }
        Ok(n)
    }
}

/// One inode and what the index holds for it.
#[derive(Default)]
struct Inode {
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    /// Symlink target or device number.
    inline: Vec<u8>,
    /// Data blocks by block number: (uncompressed size, compression, bytes).
    blocks: BTreeMap<u32, (u32, u16, Vec<u8>)>,
}

/// Read a UBIFS volume into the sink (paths under `prefix`); returns its problems.
fn ubifs(sink: &mut Sink<'_>, fs: &Volume<'_, '_>, prefix: &str) -> Result<Vec<String>, UnpackError> {
    let mut problems = Vec::new();
    let sb = match fs.node(0, 0) {
        Ok(n) if n[20] == 6 => n,
        Ok(_) => return Ok(vec!["LEB 0 does not hold a superblock".into()]),
        Err(e) => return Ok(vec![format!("superblock: {e}")]),
    };
    let log_lebs = le32(sb, 56);
    // The newest master node of LEBs 1 and 2.
    let mut master: Option<(u64, &[u8])> = None;
    for lnum in [1, 2] {
        let Some(leb) = fs.lebs.get(&lnum) else { continue };
        let mut offs = 0;
        while offs + 24 <= leb.len() && le32(leb, offs) == UBIFS_MAGIC {
            let len = le32(leb, offs + 16) as usize;
            if let Ok(n) = fs.node(lnum, offs as u32) {
                if n[20] == 7 && master.is_none_or(|(s, _)| le64(n, 8) > s) {
                    master = Some((le64(n, 8), n));
                }
            }
            offs += len.max(24).div_ceil(8) * 8;
        }
    }
    let Some((_, mst)) = master else { return Ok(vec!["no valid master node".into()]) };
    // Bud references in the log after the last commit start: journal not replayed.
    let log_lnum = le32(mst, 44);
    let mut refs = 0;
    for lnum in log_lnum..log_lnum.saturating_add(log_lebs) {
        let Some(leb) = fs.lebs.get(&lnum) else { continue };
        let mut offs = 0;
        while offs + 24 <= leb.len() && le32(leb, offs) == UBIFS_MAGIC {
            refs += usize::from(leb[offs + 20] == 8);
            offs += (le32(leb, offs + 16) as usize).max(24).div_ceil(8) * 8;
        }
    }
    if refs > 0 {
        problems.push(format!("the journal holds {refs} uncommitted bud reference(s), which aite does not replay"));
    }
    let mut inodes: HashMap<u64, Inode> = HashMap::new();
    let mut dents: Vec<(u64, Vec<u8>, u64)> = Vec::new();
    let mut stack = vec![(le32(mst, 48), le32(mst, 52), 0u32)];
    let mut seen = HashSet::new();
    while let Some((lnum, offs, depth)) = stack.pop() {
        if !seen.insert((lnum, offs)) || depth > 64 {
            problems.push(format!("index node at LEB {lnum}:{offs} is reached twice or too deep"));
            continue;
        }
        let n = match fs.node(lnum, offs) {
            Ok(n) => n,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        match n[20] {
            9 => {
                let count = le16(n, 24) as usize;
                for i in 0..count {
                    let b = 28 + i * 20;
                    if b + 12 > n.len() {
                        problems.push(format!("index node at LEB {lnum}:{offs}: branch {i} runs past the node"));
                        break;
                    }
                    stack.push((le32(n, b), le32(n, b + 4), depth + 1));
                }
            }
            0 if n.len() >= 160 => {
                let ino = inodes.entry(u64::from(le32(n, 24))).or_default();
                (ino.size, ino.uid, ino.gid, ino.mode) = (le64(n, 48), le32(n, 96), le32(n, 100), le32(n, 104));
                let dlen = le32(n, 112) as usize;
                ino.inline = n.get(160..160 + dlen).unwrap_or_default().to_vec();
            }
            1 if n.len() >= 48 => {
                let key = le32(n, 28);
                let block = key & 0x1fff_ffff;
                let data = (le32(n, 40), le16(n, 44) as u16, n[48..].to_vec());
                inodes.entry(u64::from(le32(n, 24))).or_default().blocks.insert(block, data);
            }
            2 if n.len() >= 56 => {
                let nlen = le16(n, 50) as usize;
                let name = n.get(56..56 + nlen).unwrap_or_default().to_vec();
                dents.push((u64::from(le32(n, 24)), name, le64(n, 40)));
            }
            // Extended-attribute entries and truncation nodes carry no files.
            3 | 4 => {}
            t => problems.push(format!("node at LEB {lnum}:{offs}: unexpected node type {t} in the index")),
        }
    }
    let mut children: BTreeMap<u64, Vec<(Vec<u8>, u64)>> = BTreeMap::new();
    for (parent, name, ino) in dents {
        children.entry(parent).or_default().push((name, ino));
    }
    let mut visited = HashSet::from([1u64]);
    let mut walk = vec![(1u64, prefix.to_string())];
    let cap = sink.limits.max_file_bytes;
    while let Some((dir, path_prefix)) = walk.pop() {
        for (name, ino) in children.get(&dir).map(Vec::as_slice).unwrap_or_default() {
            let name = String::from_utf8_lossy(name);
            let path = format!("{path_prefix}{name}");
            if name.contains('/') || name == ".." || name == "." {
                sink.skip(&path, "UBIFS name with a `/` or a dot entry: not a file name");
                continue;
            }
            let Some(node) = inodes.get(ino) else {
                problems.push(format!("`{path}` names inode {ino}, which has no inode node"));
                continue;
            };
            let (mode, uid, gid) = (node.mode & 0o7777, node.uid, node.gid);
            match kind_from_mode(node.mode) {
                Some(EntryKind::Dir) => {
                    sink.meta(&path, EntryKind::Dir, mode, uid, gid);
                    if visited.insert(*ino) {
                        walk.push((*ino, format!("{path}/")));
                    } else {
                        problems.push(format!("`{path}`: folder inode {ino} is reached twice"));
                    }
                }
                Some(EntryKind::File) => {
                    let data = file_data(&path, node, cap, &mut problems);
                    let holes = node.size.saturating_sub(data.len() as u64);
                    sink.file(&path, mode, uid, gid, &mut (&data[..]).chain(std::io::repeat(0).take(holes)))?;
                }
                Some(EntryKind::Symlink { .. }) => sink.meta(&path, EntryKind::Symlink { target: String::from_utf8_lossy(&node.inline).into_owned() }, mode, uid, gid),
                Some(kind) => sink.meta(&path, kind, mode, uid, gid),
                None => sink.skip(&path, format!("unknown UBIFS inode mode {:o}", node.mode)),
            }
        }
    }
    Ok(problems)
}

/// UBIFS data blocks are 4096 bytes.
const BLOCK: u64 = 4096;

/// A file's bytes up to its last data block; a missing block inside the size is a hole
/// (zeros), as UBIFS writes no node for a block of zeros. At most `cap + 1` bytes.
fn file_data(path: &str, node: &Inode, cap: u64, problems: &mut Vec<String>) -> Vec<u8> {
    let last = node.blocks.keys().next_back().map_or(0, |&b| (u64::from(b) + 1) * BLOCK);
    let size = node.size.min(cap + 1).min(last) as usize;
    let mut out = vec![0u8; size];
    for (&block, (dsize, compr, data)) in &node.blocks {
        let start = u64::from(block) * BLOCK;
        if start >= size as u64 {
            continue;
        }
        let want = (*dsize as usize).min(BLOCK as usize);
        match decompress(*compr, data, want) {
            Ok(piece) => {
                if piece.len() != want {
                    problems.push(format!("`{path}`: block {block} decompresses to {} bytes, its node declares {dsize}", piece.len()));
                }
                let start = start as usize;
                let end = (start + piece.len()).min(size);
                out[start..end].copy_from_slice(&piece[..end - start]);
            }
            Err(e) => problems.push(format!("`{path}`: block {block}: {e}")),
        }
    }
    out
}

/// The UBIFS compression types (`UBIFS_COMPR_*`).
fn decompress(compr: u16, data: &[u8], want: usize) -> Result<Vec<u8>, String> {
    let bounded = |r: &mut dyn Read| -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        r.take(want as u64).read_to_end(&mut out).map_err(|e| e.to_string())?;
        Ok(out)
    };
    match compr {
        0 => Ok(data[..data.len().min(want)].to_vec()),
        1 => super::lzo::lzo1x(data, want),
        // Raw deflate (no zlib header).
        2 => bounded(&mut flate2::read::DeflateDecoder::new(data)),
        3 => bounded(&mut ruzstd::decoding::StreamingDecoder::new(data).map_err(|e| format!("zstd: {e}"))?),
        c => Err(format!("unknown compression type {c}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_is_zlibs_without_the_final_inversion() {
        // zlib's CRC-32 of "123456789" is 0xCBF43926; UBI keeps the register uninverted.
        assert_eq!(crc(b"123456789"), !0xcbf4_3926);
    }
}
