//! Progressive (SOF2, Huffman) JPEG entropy decoding as libjpeg's `jdphuff.c`
//! does it: DC first/refine and AC first/refine scans (spectral selection,
//! successive approximation, EOB runs) into one coefficient buffer per
//! component, restart intervals, then libjpeg's output pass: dequantisation
//! with the table latched at the component's first scan, the islow IDCT and
//! the baseline decoder's upsampling and colour conversion. Every count and
//! index comes from the file and is checked; bad data is an error, never a panic.

use super::decoder::{assemble, corrupt, frame_scope, Bits, Component, Huffman, JpegError, Planes, ZIGZAG};
use super::idct_islow;

/// One component's coefficients, in whole MCUs.
struct Plane {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    /// Buffer width and height in blocks (whole MCUs).
    bw: usize,
    bh: usize,
    /// Blocks of the component proper (`width_in_blocks`, `height_in_blocks`):
    /// what a non-interleaved scan covers.
    wb: usize,
    hb: usize,
    coef: Vec<[i16; 64]>,
    /// libjpeg's `coef_bits`: the successive-approximation bit each coefficient is
    /// known down to, -1 before its first scan.
    known: [i32; 64],
    /// The quantisation table, latched at the component's first scan.
    q: Option<[i32; 64]>,
}

/// The coefficient buffers of a progressive frame, filled scan by scan.
pub(super) struct Coefficients {
    width: usize,
    height: usize,
    hmax: usize,
    vmax: usize,
    mcux: usize,
    mcuy: usize,
    planes: Vec<Plane>,
}

enum Pass {
    DcFirst,
    DcRefine,
    AcFirst,
    AcRefine,
}

impl Coefficients {
    pub(super) fn new(comps: &[Component], width: usize, height: usize, max_pixels: u64) -> Result<Self, JpegError> {
        frame_scope(comps, width, height, max_pixels)?;
        let nc = comps.len();
        let (hmax, vmax) = if nc == 1 { (1, 1) } else { (comps[0].h, comps[0].v) };
        let (mcux, mcuy) = (width.div_ceil(8 * hmax), height.div_ceil(8 * vmax));
        let planes = comps
            .iter()
            .map(|c| {
                let (h, v) = if nc == 1 { (1, 1) } else { (c.h, c.v) };
                let (wb, hb) = ((width * h).div_ceil(8 * hmax), (height * v).div_ceil(8 * vmax));
                let (bw, bh) = if nc == 1 { (wb, hb) } else { (mcux * h, mcuy * v) };
                Plane { id: c.id, h, v, tq: c.tq, bw, bh, wb, hb, coef: vec![[0i16; 64]; bw * bh], known: [-1; 64], q: None }
            })
            .collect();
        Ok(Coefficients { width, height, hmax, vmax, mcux, mcuy, planes })
    }

    /// Decode one scan whose SOS segment is `seg` and whose entropy-coded data
    /// starts at `pos`; returns the position of the next marker.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn scan(
        &mut self,
        d: &[u8],
        pos: usize,
        seg: &[u8],
        restart: usize,
        qt: &[[i32; 64]; 4],
        qt_set: &[bool; 4],
        dc_tabs: &[Option<Huffman>; 4],
        ac_tabs: &[Option<Huffman>; 4],
    ) -> Result<usize, JpegError> {
        let ns = *seg.first().unwrap_or(&0) as usize;
        if ns == 0 || ns > self.planes.len() || seg.len() != 1 + 2 * ns + 3 {
            return corrupt("bad SOS segment (component count or length)");
        }
        let mut members: Vec<(usize, usize, usize)> = Vec::with_capacity(ns);
        for k in 0..ns {
            let (id, t) = (seg[1 + 2 * k], seg[2 + 2 * k]);
            let Some(ci) = self.planes.iter().position(|p| p.id == id) else { return corrupt("scan names an unknown component") };
            if members.iter().any(|m| m.0 == ci) {
                return corrupt("scan names a component twice");
            }
            members.push((ci, (t >> 4) as usize, (t & 15) as usize));
        }
        let (ss, se, ah, al) = (seg[1 + 2 * ns] as usize, seg[2 + 2 * ns] as usize, (seg[3 + 2 * ns] >> 4) as i32, (seg[3 + 2 * ns] & 15) as i32);
        // jdphuff.c start_pass_phuff_decoder's checks.
        let dc = ss == 0;
        if (dc && se != 0) || (!dc && (ss > se || se > 63 || ns != 1)) || (ah != 0 && al != ah - 1) || al > 13 {
            return corrupt(format!("invalid progressive scan parameters Ss={ss} Se={se} Ah={ah} Al={al}"));
        }
        let pass = match (dc, ah == 0) {
            (true, true) => Pass::DcFirst,
            (true, false) => Pass::DcRefine,
            (false, true) => Pass::AcFirst,
            (false, false) => Pass::AcRefine,
        };
        // The progression must continue from what is known (libjpeg only warns; here it is refused).
        for &(ci, td, ta) in &members {
            let p = &mut self.planes[ci];
            if !dc && p.known[0] < 0 {
                return corrupt("AC scan before the component's DC scan");
            }
            for k in ss..=se {
                if ah != p.known[k].max(0) {
                    return corrupt(format!("bogus progression: coefficient {k} of component {} refined from bit {ah}, known to {}", p.id, p.known[k]));
                }
                p.known[k] = al;
            }
            let needs = match pass {
                Pass::DcFirst => dc_tabs.get(td).is_some_and(|t| t.is_some()),
                Pass::DcRefine => true,
                Pass::AcFirst | Pass::AcRefine => ac_tabs.get(ta).is_some_and(|t| t.is_some()),
            };
            if !needs {
                return corrupt("scan uses an undefined Huffman table");
            }
            if p.q.is_none() {
                if !qt_set[p.tq] {
                    return corrupt("scan uses an undefined quantisation table");
                }
                p.q = Some(qt[p.tq]);
            }
        }
        let interleaved = ns > 1;
        let (mcus_x, mcus_y) = if interleaved {
            (self.mcux, self.mcuy)
        } else {
            let p = &self.planes[members[0].0];
            (p.wb, p.hb)
        };
        let mut bits = Bits { data: d, pos, acc: 0, n: 0 };
        let mut pred = [0i32; 4];
        let mut eobrun = 0u32;
        let mut left = restart;
        let mut next_rst = 0u8;
        for my in 0..mcus_y {
            for mx in 0..mcus_x {
                if restart > 0 {
                    if left == 0 {
                        bits.n = 0;
                        if d.get(bits.pos) != Some(&0xFF) || d.get(bits.pos + 1) != Some(&(0xD0 + next_rst)) {
                            return corrupt("missing restart marker");
                        }
                        bits.pos += 2;
                        next_rst = (next_rst + 1) & 7;
                        pred = [0; 4];
                        eobrun = 0;
                        left = restart;
                    }
                    left -= 1;
                }
                for (mi, &(ci, td, ta)) in members.iter().enumerate() {
                    let p = &mut self.planes[ci];
                    let (bh, bv) = if interleaved { (p.h, p.v) } else { (1, 1) };
                    for by in 0..bv {
                        for bx in 0..bh {
                            let (row, col) = (my * bv + by, mx * bh + bx);
                            let Some(block) = p.coef.get_mut(row * p.bw + col) else { return corrupt("block outside the component") };
                            match pass {
                                Pass::DcFirst => {
                                    let Some(t) = dc_tabs[td].as_ref() else { return corrupt("undefined Huffman table") };
                                    let s = bits.decode(t)?;
                                    let diff = bits.receive_extend(s)?;
                                    let Some(v) = pred[mi].checked_add(diff) else { return corrupt("DC coefficient overflow") };
                                    pred[mi] = v;
                                    block[0] = ((v as i64) << al) as i16;
                                }
                                Pass::DcRefine => {
                                    if bits.bit()? == 1 {
                                        block[0] |= 1 << al;
                                    }
                                }
                                Pass::AcFirst => {
                                    let Some(t) = ac_tabs[ta].as_ref() else { return corrupt("undefined Huffman table") };
                                    ac_first(&mut bits, t, block, ss, se, al, &mut eobrun)?;
                                }
                                Pass::AcRefine => {
                                    let Some(t) = ac_tabs[ta].as_ref() else { return corrupt("undefined Huffman table") };
                                    ac_refine(&mut bits, t, block, ss, se, al, &mut eobrun)?;
                                }
                            }
                        }
                    }
                }
            }
        }
        // Extraneous bytes before the next marker are skipped, as libjpeg's next_marker does.
        let mut at = bits.pos;
        while at < d.len() && !(d[at] == 0xFF && d.get(at + 1).is_some_and(|&b| b != 0)) {
            at += 1;
        }
        Ok(at)
    }

    /// libjpeg's output pass after the last scan: dequantise, IDCT, upsample, convert.
    pub(super) fn finish(self) -> Result<Planes, JpegError> {
        // jdcoefct.c smoothing_ok: libjpeg smooths blocks (estimates the first 9 AC
        // coefficients from neighbouring DCs) when one of them is still inexact.
        let smoothing_ok = self.planes.iter().all(|p| p.known[0] >= 0 && p.q.is_some_and(|q| [0, 1, 8, 16, 9, 2, 3, 10, 17, 24].iter().all(|&z| q[z] != 0)));
        if smoothing_ok && self.planes.iter().any(|p| p.known[1..10].iter().any(|&b| b != 0)) {
            return Err(JpegError::Unsupported("progressive file with incomplete low-frequency coefficients (libjpeg's block smoothing)".into()));
        }
        let mut out = [0u8; 64];
        let mut samples = Vec::with_capacity(self.planes.len());
        let mut strides = Vec::with_capacity(self.planes.len());
        for p in &self.planes {
            let q = p.q.unwrap_or([0; 64]);
            let stride = p.bw * 8;
            let mut plane = vec![0u8; stride * p.bh * 8];
            for (i, block) in p.coef.iter().enumerate() {
                let coef: [i32; 64] = std::array::from_fn(|z| block[z] as i32 * q[z]);
                idct_islow(&coef, &mut out);
                let (x0, y0) = ((i % p.bw) * 8, (i / p.bw) * 8);
                for y in 0..8 {
                    let o = (y0 + y) * stride + x0;
                    plane[o..o + 8].copy_from_slice(&out[y * 8..y * 8 + 8]);
                }
            }
            samples.push(plane);
            strides.push(stride);
        }
        Ok(assemble(&samples, &strides, self.width, self.height, self.hmax, self.vmax))
    }
}

/// `decode_mcu_AC_first`: the band `ss..=se` of one block, scaled by `2^al`.
fn ac_first(bits: &mut Bits, t: &Huffman, block: &mut [i16; 64], ss: usize, se: usize, al: i32, eobrun: &mut u32) -> Result<(), JpegError> {
    if *eobrun > 0 {
        *eobrun -= 1;
        return Ok(());
    }
    let mut k = ss;
    while k <= se {
        let rs = bits.decode(t)?;
        let (r, s) = ((rs >> 4) as usize, rs & 15);
        if s != 0 {
            k += r;
            if k > se {
                return corrupt("AC coefficient index past the scan's band");
            }
            let v = bits.receive_extend(s)?;
            block[ZIGZAG[k]] = ((v as i64) << al) as i16;
        } else if r == 15 {
            k += 15;
        } else {
            let mut run = 1u32 << r;
            if r > 0 {
                run += bits.bits(r as u8)? as u32;
            }
            *eobrun = run - 1;
            break;
        }
        k += 1;
    }
    Ok(())
}

/// A correction bit for an already non-zero coefficient: increase its magnitude by `p1`.
fn correct(bits: &mut Bits, c: &mut i16, p1: i16) -> Result<(), JpegError> {
    if bits.bit()? == 1 && *c & p1 == 0 {
        *c = if *c >= 0 { c.wrapping_add(p1) } else { c.wrapping_sub(p1) };
    }
    Ok(())
}

/// `decode_mcu_AC_refine`: one more bit of the band `ss..=se` of one block.
fn ac_refine(bits: &mut Bits, t: &Huffman, block: &mut [i16; 64], ss: usize, se: usize, al: i32, eobrun: &mut u32) -> Result<(), JpegError> {
    let p1: i16 = 1 << al;
    let mut k = ss;
    if *eobrun == 0 {
        while k <= se {
            let rs = bits.decode(t)?;
            let (mut r, s) = ((rs >> 4) as i32, rs & 15);
            let mut value = 0i16;
            if s != 0 {
                if s != 1 {
                    return corrupt("refinement scan coefficient of a size other than 1");
                }
                value = if bits.bit()? == 1 { p1 } else { -p1 };
            } else if r != 15 {
                let mut run = 1u32 << r;
                if r > 0 {
                    run += bits.bits(r as u8)? as u32;
                }
                *eobrun = run;
                break;
            }
            // Skip r still-zero coefficients, correcting the non-zero ones on the way.
            loop {
                let c = &mut block[ZIGZAG[k]];
                if *c != 0 {
                    correct(bits, c, p1)?;
                } else {
                    r -= 1;
                    if r < 0 {
                        break;
                    }
                }
                k += 1;
                if k > se {
                    break;
                }
            }
            if value != 0 {
                if k > se {
                    return corrupt("refined coefficient past the scan's band");
                }
                block[ZIGZAG[k]] = value;
            }
            k += 1;
        }
    }
    if *eobrun > 0 {
        while k <= se {
            let c = &mut block[ZIGZAG[k]];
            if *c != 0 {
                correct(bits, c, p1)?;
            }
            k += 1;
        }
        *eobrun -= 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{decode, decode_baseline, JpegError};
    use sha2::{Digest, Sha256};

    /// The embedded frost4 photograph (imagecorruptions 1.1.2): progressive 4:4:4, a
    /// DC scan at Al=1, spectral bands with successive approximation, refinements.
    const FROST4: &[u8] = include_bytes!("../../../aite-robustness/assets/frost/frost4.jpg");

    #[test]
    fn frost4_decodes_to_pils_samples() {
        let p = decode(FROST4, 1 << 24).unwrap();
        assert_eq!((p.width, p.height, p.channels), (527, 350, 3));
        // SHA-256 of np.asarray(Image.open('frost4.jpg').convert('RGB')), Pillow 13.0.0 with
        // libjpeg-turbo 3.2.0 (the peer venv).
        assert_eq!(hex::encode(Sha256::digest(&p.data)), "7513e57763358ea3ace8aad8c437dfbbcefe18a1db454cf80f70d151b83477f3");
        // The baseline-only entry point still declines it, for callers that need that.
        assert!(matches!(decode_baseline(FROST4, 1 << 24), Err(JpegError::Unsupported(_))));
    }

    #[test]
    fn truncated_progressive_files_are_errors_not_panics() {
        // Every cut before EOI loses a scan's data, a table or the EOI itself.
        for cut in (0..FROST4.len() - 2).step_by(37).chain(FROST4.len() - 40..FROST4.len() - 1) {
            assert!(matches!(decode(&FROST4[..cut], 1 << 24), Err(JpegError::Corrupt(_))), "cut at {cut}");
        }
        let e = decode(&FROST4[..FROST4.len() - 2], 1 << 24).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn corrupted_progressive_bytes_never_panic() {
        for at in (0..FROST4.len()).step_by(53).chain(0..700) {
            for v in [0x00, 0xFF, 0x7F, FROST4[at] ^ 0x10] {
                let mut d = FROST4.to_vec();
                d[at] = v;
                let _ = decode(&d, 1 << 24);
            }
        }
    }

    #[test]
    fn a_file_stopping_after_the_dc_scan_is_left_to_the_fallback() {
        // Keep the frame, tables and first (DC) scan, then EOI: libjpeg would smooth the blocks.
        let sos: Vec<usize> = FROST4.windows(2).enumerate().filter(|(_, w)| *w == [0xFF, 0xDA]).map(|(i, _)| i).collect();
        let second_dht = FROST4[sos[0]..].windows(2).position(|w| w == [0xFF, 0xC4]).unwrap() + sos[0];
        let mut d = FROST4[..second_dht].to_vec();
        d.extend_from_slice(&[0xFF, 0xD9]);
        assert!(matches!(decode(&d, 1 << 24), Err(JpegError::Unsupported(r)) if r.contains("smoothing")));
    }
}
