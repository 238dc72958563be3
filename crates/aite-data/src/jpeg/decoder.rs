//! Baseline (sequential Huffman, 8-bit) JPEG entropy decoding: markers,
//! quantisation and Huffman tables, restart intervals, one interleaved scan.
//! Every length and index comes from the file, so each is checked; bad data
//! is an error, never a panic.

use super::{idct_islow, upsample_h2v1_fancy, upsample_h2v2_fancy, ycc_to_rgb};

/// Why a JPEG was not decoded here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegError {
    /// A valid JPEG variant this decoder does not implement (progressive,
    /// arithmetic, 12-bit, CMYK/Adobe, uncommon sampling, several scans).
    #[error("unsupported JPEG variant: {0}")]
    Unsupported(String),
    /// Truncated or malformed data.
    #[error("corrupt JPEG: {0}")]
    Corrupt(String),
}

/// Decoded samples: 1 (grey) or 3 (RGB) interleaved channels.
#[derive(Debug, Clone, PartialEq)]
pub struct Planes {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

pub(super) fn corrupt<T>(s: impl Into<String>) -> Result<T, JpegError> {
    Err(JpegError::Corrupt(s.into()))
}
fn unsupported<T>(s: impl Into<String>) -> Result<T, JpegError> {
    Err(JpegError::Unsupported(s.into()))
}

pub(super) const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30,
    37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// A Huffman table in the form of Annex F.2.2.3 (MAXCODE, VALPTR, MINCODE).
#[derive(Clone)]
pub(super) struct Huffman {
    maxcode: [i32; 17],
    valptr: [i32; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    fn new(counts: &[u8; 16], values: Vec<u8>) -> Result<Self, JpegError> {
        let (mut maxcode, mut valptr, mut mincode) = ([-1i32; 17], [0i32; 17], [0i32; 17]);
        let (mut code, mut k) = (0i32, 0i32);
        for l in 1..=16 {
            let n = counts[l - 1] as i32;
            if n > 0 {
                valptr[l] = k;
                mincode[l] = code;
                code += n;
                k += n;
                maxcode[l] = code - 1;
            }
            if code > (1 << l) {
                return corrupt("Huffman table with more codes than fit");
            }
            code <<= 1;
        }
        Ok(Huffman { maxcode, valptr, mincode, values })
    }
}

pub(super) struct Bits<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    pub(super) acc: u32,
    pub(super) n: u32,
}

impl Bits<'_> {
    pub(super) fn bit(&mut self) -> Result<u32, JpegError> {
        if self.n == 0 {
            let Some(&b) = self.data.get(self.pos) else { return corrupt("entropy-coded data truncated") };
            if b == 0xFF {
                match self.data.get(self.pos + 1) {
                    Some(0) => self.pos += 2,
                    Some(_) => return corrupt("marker inside entropy-coded data (truncated or corrupt scan)"),
                    None => return corrupt("entropy-coded data truncated"),
                }
            } else {
                self.pos += 1;
            }
            self.acc = b as u32;
            self.n = 8;
        }
        self.n -= 1;
        Ok((self.acc >> self.n) & 1)
    }
    pub(super) fn bits(&mut self, count: u8) -> Result<i32, JpegError> {
        let mut v = 0i32;
        for _ in 0..count {
            v = (v << 1) | self.bit()? as i32;
        }
        Ok(v)
    }
    pub(super) fn decode(&mut self, h: &Huffman) -> Result<u8, JpegError> {
        let mut code = 0i32;
        for l in 1..=16 {
            code = (code << 1) | self.bit()? as i32;
            if code <= h.maxcode[l] {
                let i = (h.valptr[l] + code - h.mincode[l]) as usize;
                return h.values.get(i).copied().map_or_else(|| corrupt("Huffman code outside its table"), Ok);
            }
        }
        corrupt("invalid Huffman code")
    }
    /// EXTEND (F.2.2.1) of an `s`-bit magnitude category.
    pub(super) fn receive_extend(&mut self, s: u8) -> Result<i32, JpegError> {
        if s == 0 {
            return Ok(0);
        }
        if s > 16 {
            return corrupt("magnitude category above 16");
        }
        let v = self.bits(s)?;
        Ok(if v < 1 << (s - 1) { v - (1 << s) + 1 } else { v })
    }
}

pub(super) struct Component {
    pub(super) id: u8,
    pub(super) h: usize,
    pub(super) v: usize,
    pub(super) tq: usize,
}

fn be16(d: &[u8], at: usize) -> Result<usize, JpegError> {
    match d.get(at..at + 2) {
        Some(b) => Ok(((b[0] as usize) << 8) | b[1] as usize),
        None => corrupt("file truncated in a marker segment"),
    }
}

/// Decode a baseline JPEG into grey or RGB samples exactly as libjpeg-turbo's
/// default decompression (islow IDCT, fancy upsampling) does. Scope: SOF0/SOF1
/// 8-bit Huffman, one interleaved scan, 1 component or 3 components (YCbCr)
/// at 4:4:4, 4:2:2 (h2v1) or 4:2:0 (h2v2), restart intervals; anything else
/// is [`JpegError::Unsupported`]. `max_pixels` bounds the allocation.
pub fn decode_baseline(d: &[u8], max_pixels: u64) -> Result<Planes, JpegError> {
    decode_frame(d, max_pixels, false)
}

/// [`decode_baseline`], and progressive (SOF2, Huffman) files too, decoded as
/// libjpeg-turbo does ([`super::progressive`]): the same IDCT, upsampling and
/// colour conversion after all scans. A progressive file whose coefficients
/// stay incomplete (libjpeg would apply its block smoothing) is
/// [`JpegError::Unsupported`].
pub fn decode(d: &[u8], max_pixels: u64) -> Result<Planes, JpegError> {
    decode_frame(d, max_pixels, true)
}

fn decode_frame(d: &[u8], max_pixels: u64, progressive_ok: bool) -> Result<Planes, JpegError> {
    if d.get(..2) != Some(&[0xFF, 0xD8]) {
        return corrupt("no SOI marker");
    }
    let mut qt = [[0i32; 64]; 4];
    let mut qt_set = [false; 4];
    let mut dc_tabs: [Option<Huffman>; 4] = Default::default();
    let mut ac_tabs: [Option<Huffman>; 4] = Default::default();
    let mut comps: Vec<Component> = Vec::new();
    let (mut width, mut height) = (0usize, 0usize);
    let mut restart = 0usize;
    let mut pos = 2;
    let mut progressive = false;
    let mut coefs: Option<super::progressive::Coefficients> = None;
    loop {
        // Fill bytes 0xFF may precede a marker.
        while d.get(pos) == Some(&0xFF) && d.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        if pos >= d.len() {
            return corrupt("file truncated: no EOI marker");
        }
        if d.get(pos) != Some(&0xFF) {
            return corrupt(format!("expected a marker at byte {pos}"));
        }
        let Some(&m) = d.get(pos + 1) else { return corrupt("file truncated before a marker") };
        pos += 2;
        if m == 0xD9 {
            return match coefs {
                Some(c) => c.finish(),
                None => corrupt("EOI before any scan"),
            };
        }
        if m == 0x01 || (0xD0..=0xD7).contains(&m) {
            continue;
        }
        let len = be16(d, pos)?;
        if len < 2 || pos + len > d.len() {
            return corrupt(format!("file truncated or corrupt: marker 0xFF{m:02X} segment length {len} runs past the end"));
        }
        let seg = &d[pos + 2..pos + len];
        pos += len;
        match m {
            0xC0..=0xC2 if m != 0xC2 || progressive_ok => {
                if !comps.is_empty() {
                    return corrupt("several frame headers");
                }
                progressive = m == 0xC2;
                if seg.len() < 6 || seg[0] != 8 {
                    return unsupported("sample precision other than 8 bits");
                }
                height = be16(seg, 1)?;
                width = be16(seg, 3)?;
                let nc = seg[5] as usize;
                if seg.len() < 6 + 3 * nc {
                    return corrupt("SOF segment shorter than its component list");
                }
                for k in 0..nc {
                    let c = &seg[6 + 3 * k..9 + 3 * k];
                    let (h, v, tq) = ((c[1] >> 4) as usize, (c[1] & 15) as usize, c[2] as usize);
                    if !(1..=4).contains(&h) || !(1..=4).contains(&v) || tq > 3 {
                        return corrupt("component sampling factor or table out of range");
                    }
                    comps.push(Component { id: c[0], h, v, tq });
                }
            }
            0xC2 | 0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return unsupported(format!("SOF marker 0xFF{m:02X} (progressive, lossless, hierarchical or arithmetic)")),
            0xCC => return unsupported("arithmetic coding"),
            0xDB => {
                let mut s = seg;
                while !s.is_empty() {
                    let (pq, tq) = ((s[0] >> 4) as usize, (s[0] & 15) as usize);
                    let size = if pq == 0 { 64 } else { 128 };
                    if tq > 3 || pq > 1 || s.len() < 1 + size {
                        return corrupt("bad DQT segment");
                    }
                    for (k, &z) in ZIGZAG.iter().enumerate() {
                        qt[tq][z] = if pq == 0 { s[1 + k] as i32 } else { ((s[1 + 2 * k] as i32) << 8) | s[2 + 2 * k] as i32 };
                    }
                    qt_set[tq] = true;
                    s = &s[1 + size..];
                }
            }
            0xC4 => {
                let mut s = seg;
                while !s.is_empty() {
                    if s.len() < 17 {
                        return corrupt("bad DHT segment");
                    }
                    let (tc, th) = (s[0] >> 4, (s[0] & 15) as usize);
                    let counts: [u8; 16] = s[1..17].try_into().map_err(|_| JpegError::Corrupt("bad DHT segment".into()))?;
                    let n: usize = counts.iter().map(|&c| c as usize).sum();
                    if tc > 1 || th > 3 || s.len() < 17 + n {
                        return corrupt("bad DHT segment");
                    }
                    let t = Huffman::new(&counts, s[17..17 + n].to_vec())?;
                    if tc == 0 {
                        dc_tabs[th] = Some(t);
                    } else {
                        ac_tabs[th] = Some(t);
                    }
                    s = &s[17 + n..];
                }
            }
            0xDD => restart = be16(seg, 0)?,
            0xEE if seg.starts_with(b"Adobe") => return unsupported("Adobe APP14 colour transform"),
            0xDA if progressive => {
                if coefs.is_none() {
                    coefs = Some(super::progressive::Coefficients::new(&comps, width, height, max_pixels)?);
                }
                let Some(c) = coefs.as_mut() else { return corrupt("scan before a frame header") };
                pos = c.scan(d, pos, seg, restart, &qt, &qt_set, &dc_tabs, &ac_tabs)?;
            }
            0xDA => return scan(d, pos, seg, &comps, width, height, restart, &qt, &qt_set, &dc_tabs, &ac_tabs, max_pixels),
            _ => {}
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn scan(
    d: &[u8],
    pos: usize,
    seg: &[u8],
    comps: &[Component],
    width: usize,
    height: usize,
    restart: usize,
    qt: &[[i32; 64]; 4],
    qt_set: &[bool; 4],
    dc_tabs: &[Option<Huffman>; 4],
    ac_tabs: &[Option<Huffman>; 4],
    max_pixels: u64,
) -> Result<Planes, JpegError> {
    let nc = comps.len();
    frame_scope(comps, width, height, max_pixels)?;
    let ns = *seg.first().unwrap_or(&0) as usize;
    if ns != nc || seg.len() < 1 + 2 * ns + 3 {
        return unsupported("several scans (non-interleaved baseline)");
    }
    // Scan component order: table selectors per frame component.
    let mut sel = vec![(0usize, 0usize); nc];
    for k in 0..ns {
        let (id, t) = (seg[1 + 2 * k], seg[2 + 2 * k]);
        let Some(ci) = comps.iter().position(|c| c.id == id) else { return corrupt("scan names an unknown component") };
        if ci != k {
            return unsupported("scan component order differs from the frame");
        }
        sel[k] = ((t >> 4) as usize, (t & 15) as usize);
    }
    let (ss, se, a) = (seg[1 + 2 * ns], seg[2 + 2 * ns], seg[3 + 2 * ns]);
    if ss != 0 || se != 63 || a != 0 {
        return corrupt("baseline scan with a spectral selection");
    }
    // A single component is non-interleaved: its own blocks, no MCU padding.
    let (hmax, vmax) = if nc == 1 { (1, 1) } else { (comps[0].h, comps[0].v) };
    let blocks = |c: &Component| if nc == 1 { (1, 1) } else { (c.h, c.v) };
    let (mcux, mcuy) = (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax));
    let strides: Vec<usize> = comps.iter().map(|c| mcux * blocks(c).0 * 8).collect();
    let mut planes: Vec<Vec<u8>> = comps.iter().zip(&strides).map(|(c, &s)| vec![0u8; s * mcuy * blocks(c).1 * 8]).collect();
    for (c, &(td, ta)) in comps.iter().zip(&sel) {
        if !qt_set[c.tq] || dc_tabs.get(td).and_then(|t| t.as_ref()).is_none() || ac_tabs.get(ta).and_then(|t| t.as_ref()).is_none() {
            return corrupt("scan uses an undefined quantisation or Huffman table");
        }
    }
    let mut bits = Bits { data: d, pos, acc: 0, n: 0 };
    let mut pred = vec![0i32; nc];
    let (mut coef, mut out) = ([0i32; 64], [0u8; 64]);
    let mut left = restart;
    let mut next_rst = 0u8;
    for my in 0..mcuy {
        for mx in 0..mcux {
            if restart > 0 {
                if left == 0 {
                    // Byte-align, then expect RSTn.
                    bits.n = 0;
                    if d.get(bits.pos) != Some(&0xFF) || d.get(bits.pos + 1) != Some(&(0xD0 + next_rst)) {
                        return corrupt("missing restart marker");
                    }
                    bits.pos += 2;
                    next_rst = (next_rst + 1) & 7;
                    pred.iter_mut().for_each(|p| *p = 0);
                    left = restart;
                }
                left -= 1;
            }
            for (ci, c) in comps.iter().enumerate() {
                let (bh, bv) = blocks(c);
                let (dc, ac) = (dc_tabs[sel[ci].0].as_ref(), ac_tabs[sel[ci].1].as_ref());
                let (Some(dc), Some(ac)) = (dc, ac) else { return corrupt("undefined Huffman table") };
                let q = &qt[c.tq];
                for by in 0..bv {
                    for bx in 0..bh {
                        coef.fill(0);
                        let s = bits.decode(dc)?;
                        // libjpeg keeps coefficients as 16-bit JCOEF.
                        pred[ci] = (pred[ci] + bits.receive_extend(s)?) as i16 as i32;
                        coef[0] = pred[ci] * q[0];
                        let mut k = 1;
                        while k < 64 {
                            let rs = bits.decode(ac)?;
                            let (r, s) = ((rs >> 4) as usize, rs & 15);
                            if s == 0 {
                                if r != 15 {
                                    break;
                                }
                                k += 16;
                                continue;
                            }
                            k += r;
                            if k > 63 {
                                return corrupt("AC coefficient index past 63");
                            }
                            let z = ZIGZAG[k];
                            coef[z] = (bits.receive_extend(s)? as i16 as i32) * q[z];
                            k += 1;
                        }
                        idct_islow(&coef, &mut out);
                        let stride = strides[ci];
                        let (x0, y0) = ((mx * bh + bx) * 8, (my * bv + by) * 8);
                        for y in 0..8 {
                            let o = (y0 + y) * stride + x0;
                            planes[ci][o..o + 8].copy_from_slice(&out[y * 8..y * 8 + 8]);
                        }
                    }
                }
            }
        }
    }
    Ok(assemble(&planes, &strides, width, height, hmax, vmax))
}

/// The frame is in this decoder's scope: a size within `max_pixels`, grey or
/// YCbCr at 4:4:4, 4:2:2 (h2v1) or 4:2:0 (h2v2).
pub(super) fn frame_scope(comps: &[Component], width: usize, height: usize, max_pixels: u64) -> Result<(), JpegError> {
    let nc = comps.len();
    if nc == 0 {
        return corrupt("scan before a frame header");
    }
    if width == 0 || height == 0 {
        return corrupt("zero width or height (DNL not supported)");
    }
    if width as u64 * height as u64 > max_pixels {
        return corrupt(format!("{width}x{height} exceeds the decoding limit"));
    }
    let sampling: Vec<(usize, usize)> = comps.iter().map(|c| (c.h, c.v)).collect();
    match (nc, sampling.as_slice()) {
        (1, _) => {}
        (3, [(1, 1) | (2, 1) | (2, 2), (1, 1), (1, 1)]) => {}
        (3, _) => return unsupported(format!("chroma sampling {sampling:?}")),
        _ => return unsupported(format!("{nc} components")),
    }
    if nc == 3 && comps.iter().map(|c| c.id).eq(*b"RGB") {
        return unsupported("RGB (not YCbCr) components");
    }
    Ok(())
}

/// Sample planes (one per component, whole MCUs, row stride `strides[c]`)
/// to grey or RGB: libjpeg's fancy upsampling of the chroma, then `ycc_rgb_convert`.
pub(super) fn assemble(planes: &[Vec<u8>], strides: &[usize], width: usize, height: usize, hmax: usize, vmax: usize) -> Planes {
    if planes.len() == 1 {
        let s = strides[0];
        let data = (0..height).flat_map(|y| planes[0][y * s..y * s + width].to_vec()).collect();
        return Planes { width, height, channels: 1, data };
    }
    // Chroma: real size ceil(width * h / hmax) x ceil(height * v / vmax), here width/hmax.
    let (cw, ch) = (width.div_ceil(hmax), height.div_ceil(vmax));
    let (cb, cr, cs) = match (hmax, vmax) {
        (1, 1) => (planes[1].clone(), planes[2].clone(), strides[1]),
        (2, 1) => (upsample_h2v1_fancy(&planes[1], strides[1], cw, ch), upsample_h2v1_fancy(&planes[2], strides[2], cw, ch), 2 * cw),
        _ => (upsample_h2v2_fancy(&planes[1], strides[1], cw, ch), upsample_h2v2_fancy(&planes[2], strides[2], cw, ch), 2 * cw),
    };
    let ys = strides[0];
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        for x in 0..width {
            data.extend_from_slice(&ycc_to_rgb(planes[0][y * ys + x], cb[y * cs + x], cr[y * cs + x]));
        }
    }
    Planes { width, height, channels: 3, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4:2:0 baseline JPEG written by the `image` crate's encoder.
    fn sample_jpeg() -> Vec<u8> {
        let img = image::RgbImage::from_fn(37, 21, |x, y| image::Rgb([(x * 7) as u8, (y * 12) as u8, ((x + y) * 5) as u8]));
        let mut out = vec![];
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
        out
    }

    #[test]
    fn decodes_and_every_truncation_is_an_error_not_a_panic() {
        let full = sample_jpeg();
        let p = decode_baseline(&full, 1 << 20).unwrap();
        assert_eq!((p.width, p.height, p.channels, p.data.len()), (37, 21, 3, 37 * 21 * 3));
        // Close to the source (lossy, but not garbage).
        let src = image::RgbImage::from_fn(37, 21, |x, y| image::Rgb([(x * 7) as u8, (y * 12) as u8, ((x + y) * 5) as u8]));
        let mean = src.as_raw().iter().zip(&p.data).map(|(&a, &b)| (a as f64 - b as f64).abs()).sum::<f64>() / p.data.len() as f64;
        assert!(mean < 4.0, "mean abs error {mean}");
        // Cutting anything before the EOI marker loses entropy-coded data or tables.
        for cut in 0..full.len() - 2 {
            assert!(matches!(decode_baseline(&full[..cut], 1 << 20), Err(JpegError::Corrupt(_))), "cut at {cut}");
        }
    }

    #[test]
    fn corrupted_bytes_never_panic() {
        let full = sample_jpeg();
        for at in 0..full.len() {
            for v in [0x00, 0xFF, 0x7F, full[at] ^ 0x10] {
                let mut d = full.clone();
                d[at] = v;
                let _ = decode_baseline(&d, 1 << 20);
            }
        }
    }

    #[test]
    fn the_size_limit_and_progressive_files_are_reported() {
        let full = sample_jpeg();
        assert!(matches!(decode_baseline(&full, 100), Err(JpegError::Corrupt(r)) if r.contains("limit")));
        // SOF0 relabelled SOF2 (progressive): unsupported, for the fallback.
        let mut d = full.clone();
        let sof = d.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        d[sof + 1] = 0xC2;
        assert!(matches!(decode_baseline(&d, 1 << 20), Err(JpegError::Unsupported(_))));
    }
}
