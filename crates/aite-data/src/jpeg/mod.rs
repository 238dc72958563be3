//! JPEG decoding bit-exact with libjpeg(-turbo) as Pillow calls it (default
//! `JDCT_ISLOW`, fancy upsampling): the integer IDCT (`jidctint.c`) with its
//! range limit, triangular chroma upsampling (`jdsample.c`) and the
//! fixed-point YCbCr to RGB tables (`jdcolor.c`), shared with the JPEG round
//! trip corruption, plus an own baseline Huffman entropy decoder
//! ([`decode_baseline`]). The encoder's integer forward DCT (`jfdctint.c`,
//! [`fdct_islow`]) lives here too, on the same constants, for the round trip. Variants outside its scope are reported as
//! [`JpegError::Unsupported`] so the caller can fall back and say so.
//!
//! The IDCT and colour conversion constants follow the Independent JPEG
//! Group's libjpeg: this software is based in part on the work of the
//! Independent JPEG Group.

mod decoder;
mod progressive;

pub use decoder::{decode, decode_baseline, JpegError, Planes};

const CONST_BITS: i64 = 13;
const PASS1_BITS: i64 = 2;
const FIX_0_298631336: i64 = 2446;
const FIX_0_390180644: i64 = 3196;
const FIX_0_541196100: i64 = 4433;
const FIX_0_765366865: i64 = 6270;
const FIX_0_899976223: i64 = 7373;
const FIX_1_175875602: i64 = 9633;
const FIX_1_501321110: i64 = 12299;
const FIX_1_847759065: i64 = 15137;
const FIX_1_961570560: i64 = 16069;
const FIX_2_053119869: i64 = 16819;
const FIX_2_562915447: i64 = 20995;
const FIX_3_072711026: i64 = 25172;

fn descale(x: i64, n: i64) -> i64 {
    (x + (1 << (n - 1))) >> n
}

/// `jpeg_fdct_islow` on level-shifted samples (natural order), in place; the
/// output is scaled by 8, as libjpeg's quantisation step expects.
pub fn fdct_islow(data: &mut [i32; 64]) {
    let mut d64: [i64; 64] = data.map(i64::from);
    for pass in 0..2 {
        for i in 0..8 {
            let at = |k: usize| if pass == 0 { i * 8 + k } else { k * 8 + i };
            let d: [i64; 8] = std::array::from_fn(|k| d64[at(k)]);
            let (tmp0, tmp7) = (d[0] + d[7], d[0] - d[7]);
            let (tmp1, tmp6) = (d[1] + d[6], d[1] - d[6]);
            let (tmp2, tmp5) = (d[2] + d[5], d[2] - d[5]);
            let (tmp3, tmp4) = (d[3] + d[4], d[3] - d[4]);
            let (tmp10, tmp13) = (tmp0 + tmp3, tmp0 - tmp3);
            let (tmp11, tmp12) = (tmp1 + tmp2, tmp1 - tmp2);
            let shift = if pass == 0 { CONST_BITS - PASS1_BITS } else { CONST_BITS + PASS1_BITS };
            if pass == 0 {
                d64[at(0)] = (tmp10 + tmp11) << PASS1_BITS;
                d64[at(4)] = (tmp10 - tmp11) << PASS1_BITS;
            } else {
                d64[at(0)] = descale(tmp10 + tmp11, PASS1_BITS);
                d64[at(4)] = descale(tmp10 - tmp11, PASS1_BITS);
            }
            let z1 = (tmp12 + tmp13) * FIX_0_541196100;
            d64[at(2)] = descale(z1 + tmp13 * FIX_0_765366865, shift);
            d64[at(6)] = descale(z1 - tmp12 * FIX_1_847759065, shift);
            let (z1, z2, z3, z4) = (tmp4 + tmp7, tmp5 + tmp6, tmp4 + tmp6, tmp5 + tmp7);
            let z5 = (z3 + z4) * FIX_1_175875602;
            let (t4, t5, t6, t7) = (tmp4 * FIX_0_298631336, tmp5 * FIX_2_053119869, tmp6 * FIX_3_072711026, tmp7 * FIX_1_501321110);
            let (z1, z2) = (-z1 * FIX_0_899976223, -z2 * FIX_2_562915447);
            let (z3, z4) = (-z3 * FIX_1_961570560 + z5, -z4 * FIX_0_390180644 + z5);
            d64[at(7)] = descale(t4 + z1 + z3, shift);
            d64[at(5)] = descale(t5 + z2 + z4, shift);
            d64[at(3)] = descale(t6 + z2 + z3, shift);
            d64[at(1)] = descale(t7 + z1 + z4, shift);
        }
    }
    // |level-shifted sample| <= 128: every coefficient fits in i32 (|x| <= 8 * 64 * 128).
    *data = d64.map(|v| v as i32);
}

/// `jpeg_idct_islow`'s output range limit: `idct_range_limit[x & 1023]`.
pub fn range_limit(x: i64) -> u8 {
    match x & 1023 {
        m if m < 128 => (m + 128) as u8,
        m if m < 512 => 255,
        m if m < 896 => 0,
        m => (m - 896) as u8,
    }
}

/// `jpeg_idct_islow` of dequantised coefficients (natural order) into 8x8
/// samples. Computed in `i64`: identical to libjpeg's `int` arithmetic
/// wherever that does not overflow, and never overflowing on hostile input.
pub fn idct_islow(coef: &[i32; 64], out: &mut [u8; 64]) {
    let mut ws = [0i64; 64];
    let butterfly = |e: [i64; 4], o: [i64; 4]| -> [i64; 8] {
        // e: (c0, c2, c4, c6), o: (c1, c3, c5, c7).
        let (z2, z3) = (e[1], e[3]);
        let z1 = (z2 + z3) * FIX_0_541196100;
        let tmp2 = z1 - z3 * FIX_1_847759065;
        let tmp3 = z1 + z2 * FIX_0_765366865;
        let (tmp0, tmp1) = ((e[0] + e[2]) << CONST_BITS, (e[0] - e[2]) << CONST_BITS);
        let (tmp10, tmp13, tmp11, tmp12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);
        let (t0, t1, t2, t3) = (o[3], o[2], o[1], o[0]);
        let (z1, z2, z3, z4) = (t0 + t3, t1 + t2, t0 + t2, t1 + t3);
        let z5 = (z3 + z4) * FIX_1_175875602;
        let (t0, t1, t2, t3) = (t0 * FIX_0_298631336, t1 * FIX_2_053119869, t2 * FIX_3_072711026, t3 * FIX_1_501321110);
        let (z1, z2) = (-z1 * FIX_0_899976223, -z2 * FIX_2_562915447);
        let (z3, z4) = (-z3 * FIX_1_961570560 + z5, -z4 * FIX_0_390180644 + z5);
        let (t0, t1, t2, t3) = (t0 + z1 + z3, t1 + z2 + z4, t2 + z2 + z3, t3 + z1 + z4);
        [tmp10 + t3, tmp11 + t2, tmp12 + t1, tmp13 + t0, tmp13 - t0, tmp12 - t1, tmp11 - t2, tmp10 - t3]
    };
    // Pass 1: columns.
    for c in 0..8 {
        let col = |r: usize| coef[r * 8 + c] as i64;
        if (1..8).all(|r| col(r) == 0) {
            let dc = col(0) << PASS1_BITS;
            (0..8).for_each(|r| ws[r * 8 + c] = dc);
            continue;
        }
        let v = butterfly([col(0), col(2), col(4), col(6)], [col(1), col(3), col(5), col(7)]);
        for r in 0..8 {
            ws[r * 8 + c] = descale(v[r], CONST_BITS - PASS1_BITS);
        }
    }
    // Pass 2: rows.
    for r in 0..8 {
        let row = |k: usize| ws[r * 8 + k];
        if (1..8).all(|k| row(k) == 0) {
            let v = range_limit(descale(row(0), PASS1_BITS + 3));
            (0..8).for_each(|k| out[r * 8 + k] = v);
            continue;
        }
        let v = butterfly([row(0), row(2), row(4), row(6)], [row(1), row(3), row(5), row(7)]);
        for k in 0..8 {
            out[r * 8 + k] = range_limit(descale(v[k], CONST_BITS + PASS1_BITS + 3));
        }
    }
}

/// `h2v2_fancy_upsample`: the real chroma samples `cw x ch` of a plane with
/// row stride `stride` to `2cw x 2ch`, a triangle filter with edges replicated.
pub fn upsample_h2v2_fancy(p: &[u8], stride: usize, cw: usize, ch: usize) -> Vec<u8> {
    let mut out = vec![0u8; 2 * cw * 2 * ch];
    let at = |x: usize, y: usize| p[y * stride + x] as i32;
    for y in 0..ch {
        for v in 0..2 {
            let other = if v == 0 { y.saturating_sub(1) } else { (y + 1).min(ch - 1) };
            let col = |x: usize| at(x, y) * 3 + at(x, other);
            let orow = &mut out[(2 * y + v) * 2 * cw..(2 * y + v + 1) * 2 * cw];
            if cw == 1 {
                let s = col(0);
                orow[0] = ((s * 4 + 8) >> 4) as u8;
                orow[1] = ((s * 4 + 7) >> 4) as u8;
                continue;
            }
            for x in 0..cw {
                let this = col(x);
                let last = if x == 0 { this } else { col(x - 1) };
                let next = if x + 1 == cw { this } else { col(x + 1) };
                orow[2 * x] = ((this * 3 + last + 8) >> 4) as u8;
                orow[2 * x + 1] = ((this * 3 + next + 7) >> 4) as u8;
            }
        }
    }
    out
}

/// `h2v1_fancy_upsample`: `cw x ch` to `2cw x ch`, horizontal triangle filter.
pub fn upsample_h2v1_fancy(p: &[u8], stride: usize, cw: usize, ch: usize) -> Vec<u8> {
    let mut out = vec![0u8; 2 * cw * ch];
    for y in 0..ch {
        let at = |x: usize| p[y * stride + x] as i32;
        let orow = &mut out[y * 2 * cw..(y + 1) * 2 * cw];
        for x in 0..cw {
            let this = at(x) * 3;
            let last = if x == 0 { at(x) } else { at(x - 1) };
            let next = if x + 1 == cw { at(x) } else { at(x + 1) };
            orow[2 * x] = ((this + last + 1) >> 2) as u8;
            orow[2 * x + 1] = ((this + next + 2) >> 2) as u8;
        }
    }
    out
}

/// `ycc_rgb_convert` for one pixel: jdcolor.c's tables FIX(1.402), FIX(1.772),
/// -FIX(0.71414), -FIX(0.34414) with ONE_HALF, then the sample range limit.
pub fn ycc_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let (yy, b, r) = (y as i32, cb as i32 - 128, cr as i32 - 128);
    let red = yy + ((91881 * r + 32768) >> 16);
    let green = yy + ((-22554 * b + 32768 - 46802 * r) >> 16);
    let blue = yy + ((116130 * b + 32768) >> 16);
    [red.clamp(0, 255) as u8, green.clamp(0, 255) as u8, blue.clamp(0, 255) as u8]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_limit_matches_libjpeg_table() {
        // Within -128..=127 it is clamp(x + 128); beyond, libjpeg's table wraps (x & 1023).
        assert_eq!([range_limit(-300), range_limit(-128), range_limit(-1), range_limit(0), range_limit(127), range_limit(300)], [0, 0, 127, 128, 255, 255]);
        assert_eq!([range_limit(600), range_limit(-600)], [0, 255]);
    }

    #[test]
    fn the_forward_dct_is_scaled_by_8_and_inverts_through_the_idct() {
        // A flat block of level 10: DC = 8 (libjpeg's scale) x 64 x 10 / 8 = 640, nothing else.
        let mut flat = [10i32; 64];
        fdct_islow(&mut flat);
        assert_eq!(flat[0], 640);
        assert!(flat[1..].iter().all(|&v| v == 0), "{flat:?}");
        // A ramp: dividing by 8 (quality 100's table) and the IDCT give the samples back within 1.
        let ramp: [i32; 64] = std::array::from_fn(|i| (i % 8) as i32 * 9 + (i / 8) as i32 * 5 - 60);
        let mut c = ramp;
        fdct_islow(&mut c);
        let c = c.map(|v| (v + if v < 0 { -4 } else { 4 }) / 8);
        let mut out = [0u8; 64];
        idct_islow(&c, &mut out);
        assert!(out.iter().zip(ramp).all(|(&o, r)| (o as i32 - 128 - r).abs() <= 1), "{out:?}");
    }

    #[test]
    fn a_dc_only_block_is_flat() {
        // DC 80 (dequantised): 80 / 8 = 10 above mid-grey.
        let mut c = [0i32; 64];
        c[0] = 80;
        let mut out = [0u8; 64];
        idct_islow(&c, &mut out);
        assert!(out.iter().all(|&v| v == 138));
        // Hostile magnitudes neither overflow nor panic.
        idct_islow(&[i32::MAX; 64], &mut out);
    }
}
