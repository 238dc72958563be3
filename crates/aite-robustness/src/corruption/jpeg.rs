//! The lossy arithmetic of a libjpeg(-turbo) baseline JPEG round trip, as
//! PIL's `Image.save(format='JPEG', quality=q)` then `Image.open` computes it.
//!
//! Encoder (libjpeg-turbo's defaults): RGB to YCbCr in 16-bit fixed point
//! (`jccolor.c`), edges replicated to whole blocks, 4:2:0 chroma by a 2x2 box
//! average with alternating rounding bias (`h2v2_downsample`), the integer
//! DCT (`jfdctint.c`), the Annex K tables at IJG quality scaling with the
//! baseline clamp, rounding division. Decoder: dequantisation, the integer
//! IDCT (`jidctint.c`) with its range limit, triangular ("fancy") chroma
//! upsampling (`h2v2_fancy_upsample`), YCbCr to RGB (`jdcolor.c`). Entropy
//! coding is lossless, so the round trip skips it: the output equals decoding
//! the file libjpeg would write, without writing it (bit for bit against
//! Pillow 13's libjpeg-turbo on the peer test's images).
//!
//! The integer DCT, IDCT and colour conversion constants follow the
//! Independent JPEG Group's libjpeg: this software is based in part on the
//! work of the Independent JPEG Group. The DCT, IDCT, upsampling and colour
//! conversion are aite-data's (`aite_data::jpeg`, shared with its JPEG file
//! decoder); this module owns the encoder's colour conversion, downsampling
//! and quantisation.

use aite_data::jpeg::{fdct_islow, idct_islow, upsample_h2v2_fancy, ycc_to_rgb};
use image::RgbImage;

/// Annex K, table K.1 (luminance), natural order.
const LUMA: [u32; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55,
    64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
/// Annex K, table K.2 (chrominance), natural order.
const CHROMA: [u32; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
];

/// `jpeg_set_quality`: IJG scaling, clamped to 1..=255 (`force_baseline`).
pub fn quant_table(base: &[u32; 64], quality: u8) -> [i32; 64] {
    let q = quality.clamp(1, 100) as u32;
    let scale = if q < 50 { 5000 / q } else { 200 - q * 2 };
    base.map(|v| ((v * scale + 50) / 100).clamp(1, 255) as i32)
}

/// One plane through DCT, quantisation, dequantisation and IDCT. `plane` is
/// `pw x ph` (multiples of 8, edges already replicated).
fn code_plane(plane: &[u8], pw: usize, ph: usize, q: &[i32; 64]) -> Vec<u8> {
    let mut out = vec![0u8; pw * ph];
    let mut block = [0i32; 64];
    let mut samples = [0u8; 64];
    for by in (0..ph).step_by(8) {
        for bx in (0..pw).step_by(8) {
            for y in 0..8 {
                for x in 0..8 {
                    block[y * 8 + x] = plane[(by + y) * pw + bx + x] as i32 - 128;
                }
            }
            fdct_islow(&mut block);
            for (v, &qv) in block.iter_mut().zip(q) {
                // Rounding division by the table value x 8 (the DCT's scale), sign kept; then dequantise.
                let d = qv << 3;
                let mag = (v.abs() + (d >> 1)) / d;
                *v = if *v < 0 { -mag } else { mag } * qv;
            }
            idct_islow(&block, &mut samples);
            for y in 0..8 {
                out[(by + y) * pw + bx..(by + y) * pw + bx + 8].copy_from_slice(&samples[y * 8..y * 8 + 8]);
            }
        }
    }
    out
}

/// The round trip for an 8-bit RGB image of any size (at least 1x1).
pub fn round_trip(img: &RgbImage, quality: u8) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    if w == 0 || h == 0 {
        return img.clone();
    }
    let (lq, cq) = (quant_table(&LUMA, quality), quant_table(&CHROMA, quality));
    // Component sizes: luma w x h, chroma ceil(w/2) x ceil(h/2), each padded to whole blocks.
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (lpw, lph) = (w.div_ceil(8) * 8, h.div_ceil(8) * 8);
    let (cpw, cph) = (cw.div_ceil(8) * 8, ch.div_ceil(8) * 8);
    // Colour conversion at full resolution over the padded area 2*cpw x 2*cph (>= lpw x lph),
    // edges replicated (expand_right_edge / expand_bottom_edge).
    let (fw, fh) = ((2 * cpw).max(lpw), (2 * cph).max(lph));
    let raw = img.as_raw();
    let mut yp = vec![0u8; fw * fh];
    let mut cb = vec![0u8; fw * fh];
    let mut cr = vec![0u8; fw * fh];
    for y in 0..fh {
        let sy = y.min(h - 1);
        for x in 0..fw {
            let i = (sy * w + x.min(w - 1)) * 3;
            let (r, g, b) = (raw[i] as i32, raw[i + 1] as i32, raw[i + 2] as i32);
            let o = y * fw + x;
            yp[o] = ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16) as u8;
            cb[o] = ((-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16) as u8;
            cr[o] = ((32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16) as u8;
        }
    }
    // Chroma rows beyond ceil(h/2) repeat the last one (expand_bottom_edge after downsampling).
    let down = |p: &[u8]| -> Vec<u8> {
        let mut out = vec![0u8; cpw * cph];
        for y in 0..cph {
            let sy = y.min(ch - 1);
            let mut bias = 1;
            for x in 0..cpw {
                let (a, b) = (p[2 * sy * fw + 2 * x], p[2 * sy * fw + 2 * x + 1]);
                let (c, d) = (p[(2 * sy + 1) * fw + 2 * x], p[(2 * sy + 1) * fw + 2 * x + 1]);
                out[y * cpw + x] = ((a as u32 + b as u32 + c as u32 + d as u32 + bias) >> 2) as u8;
                bias ^= 3;
            }
        }
        out
    };
    let luma: Vec<u8> = (0..lph).flat_map(|y| yp[y * fw..y * fw + lpw].to_vec()).collect();
    let luma = code_plane(&luma, lpw, lph, &lq);
    let cb = code_plane(&down(&cb), cpw, cph, &cq);
    let cr = code_plane(&down(&cr), cpw, cph, &cq);
    // Fancy upsampling (h2v2_fancy_upsample) over the real chroma samples (cw x ch).
    let (cb, cr) = (upsample_h2v2_fancy(&cb, cpw, cw, ch), upsample_h2v2_fancy(&cr, cpw, cw, ch));
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            out.extend_from_slice(&ycc_to_rgb(luma[y * lpw + x], cb[y * 2 * cw + x], cr[y * 2 * cw + x]));
        }
    }
    RgbImage::from_raw(w as u32, h as u32, out).expect("w*h*3 values")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_scaling_is_ijg() {
        // jpeg_set_quality(50) keeps Annex K; 25 doubles it (scale 200); 90 gives (v*20+50)/100.
        assert_eq!(quant_table(&LUMA, 50), LUMA.map(|v| v as i32));
        assert_eq!(quant_table(&LUMA, 25)[0], 32);
        assert_eq!(quant_table(&CHROMA, 90)[0], 3);
        // Quality 1 (scale 5000) clamps at 255 (baseline).
        assert_eq!(quant_table(&CHROMA, 1)[63], 255);
    }

    #[test]
    fn the_round_trip_is_near_lossless_at_quality_100_and_keeps_flat_colours() {
        // Quality 100: every table value is 1, so the DCT, IDCT and 4:2:0 are the only losses.
        let img = RgbImage::from_fn(16, 16, |x, y| image::Rgb([(x * 8 + y * 4) as u8, (200 - x * 5) as u8, (y * 11) as u8]));
        let out = round_trip(&img, 100);
        let worst = img.as_raw().iter().zip(out.as_raw()).map(|(&a, &b)| (a as i32 - b as i32).abs()).max().unwrap();
        // 4:2:0 chroma is the only real loss on this smooth image.
        assert!(worst <= 6, "worst {worst}");
        let flat = RgbImage::from_pixel(13, 9, image::Rgb([120, 64, 200]));
        let f = round_trip(&flat, 75);
        assert!(f.pixels().all(|p| p.0.iter().zip([120u8, 64, 200]).all(|(&a, b)| (a as i32 - b as i32).abs() <= 2)), "{:?}", f.get_pixel(0, 0));
    }
}
