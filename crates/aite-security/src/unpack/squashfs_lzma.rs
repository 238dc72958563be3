//! The LZMA blocks of vendor squashfs images, the variants sasquatch reads:
//! blocks with the 13-byte `.lzma` header (squashfs 4.0 LZMA, and the sqlzma
//! patch of 3.x images, which leaves blocks it could not shrink in zlib), and raw
//! LZMA streams without a header whose properties the image does not record
//! ("LZMA adaptive" of Broadcom, Realtek and DD-WRT SDKs): the default
//! properties, then every lc/lp/pb allowed and a few bytes of vendor header
//! before the stream, are tried on a block and the first that decodes is kept for
//! the image. Decoding is bounded: at most `max_out` bytes out, a dictionary of at
//! most [`MAX_DICT`] bytes.

use std::io::Read;

/// A dictionary larger than this in a `.lzma` header is refused (no squashfs block needs it).
pub(crate) const MAX_DICT: u32 = 64 << 20;
/// Bytes of vendor header tried before a raw stream.
const MAX_OFFSET: usize = 10;

/// How the LZMA blocks of one image are stored, learnt from its first block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LzmaMode {
    /// No block decoded yet.
    Unknown,
    /// `.lzma` header (properties, dictionary size, uncompressed size) before each stream.
    Alone,
    /// Raw streams with these properties after `offset` bytes of vendor header.
    Raw { lc: u32, lp: u32, pb: u32, offset: usize },
    /// No form decoded the first block: later blocks are not searched again.
    Undecodable,
}

impl std::fmt::Display for LzmaMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LzmaMode::Unknown => f.write_str("LZMA (no block decoded)"),
            LzmaMode::Undecodable => f.write_str("LZMA in no known form"),
            LzmaMode::Alone => f.write_str("LZMA with .lzma headers"),
            LzmaMode::Raw { lc, lp, pb, offset } => write!(f, "raw LZMA lc={lc} lp={lp} pb={pb} after {offset} header bytes"),
        }
    }
}

/// Counts what the decoder consumed, to tell a stream read to its end from one abandoned midway.
struct Counting<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.b.len() - self.pos);
        buf[..n].copy_from_slice(&self.b[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Decode one block: `exact` is its uncompressed size when the caller knows it
/// (a full data block), else at most `max_out` bytes. `mode` is the image's
/// mode, learnt (and updated) here.
pub(crate) fn decode(bytes: &[u8], exact: Option<usize>, max_out: usize, mode: &mut LzmaMode) -> Result<Vec<u8>, String> {
    match *mode {
        LzmaMode::Alone => return alone(bytes, max_out),
        LzmaMode::Raw { lc, lp, pb, offset } => return raw(bytes, lc, lp, pb, offset, exact, max_out),
        LzmaMode::Undecodable => return Err("an earlier block of this image decoded in no LZMA form".into()),
        LzmaMode::Unknown => {}
    }
    if let Ok(out) = alone(bytes, max_out) {
        *mode = LzmaMode::Alone;
        return Ok(out);
    }
    let mut candidates = vec![(3, 0, 2, 0)];
    for offset in 0..=MAX_OFFSET {
        // The range coder's first byte is always zero.
        if bytes.get(offset) != Some(&0) {
            continue;
        }
        for lc in 0..=4 {
            for lp in 0..=(4 - lc) {
                for pb in 0..=4 {
                    if (lc, lp, pb, offset) != (3, 0, 2, 0) {
                        candidates.push((lc, lp, pb, offset));
                    }
                }
            }
        }
    }
    for (lc, lp, pb, offset) in candidates {
        if let Ok(out) = raw(bytes, lc, lp, pb, offset, exact, max_out) {
            *mode = LzmaMode::Raw { lc, lp, pb, offset };
            return Ok(out);
        }
    }
    *mode = LzmaMode::Undecodable;
    Err(format!("no LZMA form decodes this block ({} bytes): neither a .lzma header nor a raw stream with any lc/lp/pb after 0..={MAX_OFFSET} header bytes", bytes.len()))
}

/// A stream with the 13-byte `.lzma` header.
fn alone(bytes: &[u8], max_out: usize) -> Result<Vec<u8>, String> {
    let head = bytes.get(..13).ok_or("shorter than a .lzma header")?;
    let dict = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
    let size = u64::from_le_bytes(head[5..13].try_into().map_err(|_| "header")?);
    if head[0] >= 9 * 5 * 5 || dict > MAX_DICT || (size != u64::MAX && size > max_out as u64) {
        return Err("not a .lzma header of a squashfs block".into());
    }
    let r = lzma_rust2::LzmaReader::new_mem_limit(bytes, (MAX_DICT >> 10) + 1024, None).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    r.take(max_out as u64 + 1).read_to_end(&mut out).map_err(|e| e.to_string())?;
    if out.len() > max_out {
        return Err(format!("decodes to more than {max_out} bytes"));
    }
    Ok(out)
}

/// A raw stream with these properties, `offset` bytes into the block.
fn raw(bytes: &[u8], lc: u32, lp: u32, pb: u32, offset: usize, exact: Option<usize>, max_out: usize) -> Result<Vec<u8>, String> {
    let input = bytes.get(offset..).filter(|b| b.len() >= 5).ok_or("too short for a raw LZMA stream")?;
    let dict = (max_out.max(4096) as u32).next_power_of_two();
    let size = exact.map_or(u64::MAX, |n| n as u64);
    let mut r = lzma_rust2::LzmaReader::new(Counting { b: input, pos: 0 }, size, lc, lp, pb, dict, None).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let read = (&mut r).take(max_out as u64 + 1).read_to_end(&mut out);
    let consumed = r.inner().pos;
    if out.len() > max_out {
        return Err(format!("decodes to more than {max_out} bytes"));
    }
    match read {
        Ok(_) if exact.is_none_or(|n| out.len() == n) && !out.is_empty() => Ok(out),
        // A stream without an end marker ends with its input.
        Err(_) if exact.is_none() && !out.is_empty() && consumed == input.len() => Ok(out),
        Ok(_) => Err(format!("raw LZMA gave {} bytes, {} expected", out.len(), exact.unwrap_or(0))),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn encode(data: &[u8], lc: u32, lp: u32, pb: u32, header: bool) -> Vec<u8> {
        let mut o = lzma_rust2::LzmaOptions::with_preset(6);
        (o.lc, o.lp, o.pb) = (lc, lp, pb);
        o.dict_size = 1 << 16;
        let mut w = if header { lzma_rust2::LzmaWriter::new_use_header(Vec::new(), &o, Some(data.len() as u64)).unwrap() } else { lzma_rust2::LzmaWriter::new_no_header(Vec::new(), &o, true).unwrap() };
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn standard_and_adaptive_forms_are_found_and_kept() {
        let data: Vec<u8> = b"root:x:0:0:root:/root:/bin/sh\n".iter().cycle().take(5000).copied().collect();
        let mut mode = LzmaMode::Unknown;
        assert_eq!(decode(&encode(&data, 3, 0, 2, true), None, 8192, &mut mode).unwrap(), data);
        assert_eq!(mode, LzmaMode::Alone);
        let mut mode = LzmaMode::Unknown;
        let mut vendor = vec![0xa5, 0x5a, 0x00, 0x00];
        vendor.extend(encode(&data, 1, 2, 0, false));
        assert_eq!(decode(&vendor, None, 8192, &mut mode).unwrap(), data);
        // Any equivalent properties may win (with ASCII text lc=0 and lc=1 decode alike): the output decides.
        assert!(matches!(mode, LzmaMode::Raw { lp: 2, pb: 0, offset: 2..=4, .. }), "{mode:?}");
        // The next block of that image decodes with the kept mode.
        let mut next = vec![0xa5, 0x5a, 0x00, 0x00];
        next.extend(encode(b"telnetd -l /bin/sh", 1, 2, 0, false));
        assert_eq!(decode(&next, None, 8192, &mut mode).unwrap(), b"telnetd -l /bin/sh");
        // Garbage is an error, never a panic; a bomb is bounded.
        let mut mode = LzmaMode::Unknown;
        let garbage: Vec<u8> = (0..400u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(decode(&garbage, None, 8192, &mut mode).is_err());
        assert_eq!(mode, LzmaMode::Undecodable, "searched once per image");
        assert!(decode(&encode(&data, 3, 0, 2, true), None, 8192, &mut mode).is_err());
        let mut mode = LzmaMode::Unknown;
        assert!(decode(&encode(&vec![0u8; 1 << 20], 3, 0, 2, true), None, 8192, &mut mode).is_err());
    }
}
