//! 8-bit frames and the pixel operations of the PP-OCR pipeline, computed the way
//! OpenCV 4 computes them on 8-bit images, because the reference pipeline
//! (rapidocr-onnxruntime) runs on OpenCV and text recognition is sensitive to its crops.
//!
//! - [`Frame::resize_linear`]: `cv2.resize(INTER_LINEAR)` on `uint8`: half-pixel
//!   centres, 11-bit fixed-point weights, OpenCV's SIMD rounding of the vertical pass
//!   (bit-exact with opencv-python 4.11 on 300 random crop-to-height-48 resizes and the
//!   detector's sizes, checked while writing it).
//! - [`Frame::warp_perspective_cubic`]: `cv2.warpPerspective(INTER_CUBIC, BORDER_REPLICATE)`:
//!   source coordinates in 1/32 pixel, the 32x32 table of 15-bit bicubic weights (A = -0.75).
//! - [`perspective_transform`]: `cv2.getPerspectiveTransform` (the 8x8 system, solved in f64).

/// An 8-bit, 3-channel, row-major image (`height x width x 3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

const C: usize = 3;

impl Frame {
    /// A frame from 8-bit pixels; `None` unless `data` holds `width * height * 3` values.
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Option<Frame> {
        (data.len() == width * height * C && width > 0 && height > 0).then_some(Frame { width, height, data })
    }

    fn at(&self, x: usize, y: usize) -> &[u8] {
        let i = (y * self.width + x) * C;
        &self.data[i..i + C]
    }

    /// `cv2.resize(img, (width, height))` with the default `INTER_LINEAR`.
    pub fn resize_linear(&self, width: usize, height: usize) -> Frame {
        if width == self.width && height == self.height {
            return self.clone();
        }
        // (source index, weight of it, weight of the next), weights in 1/2048.
        let axis = |n_out: usize, n_in: usize, clamp: bool| -> Vec<(i64, i32, i32)> {
            let scale = n_in as f64 / n_out as f64;
            (0..n_out)
                .map(|d| {
                    let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
                    let mut s = f.floor() as i64;
                    let mut f = f - s as f32;
                    if clamp && s < 0 {
                        (s, f) = (0, 0.0);
                    }
                    if clamp && s >= n_in as i64 - 1 {
                        (s, f) = (n_in as i64 - 1, 0.0);
                    }
                    (s, ((1.0 - f) * 2048.0).round_ties_even() as i32, (f * 2048.0).round_ties_even() as i32)
                })
                .collect()
        };
        let xs = axis(width, self.width, true);
        let ys = axis(height, self.height, false);
        let row_len = width * C;
        // Horizontal pass: exact integer sums, one row of the source at a time.
        let rows: Vec<Vec<i32>> = (0..self.height)
            .map(|y| {
                let mut r = Vec::with_capacity(row_len);
                for &(s, a0, a1) in &xs {
                    let (p0, p1) = (self.at(s as usize, y), self.at((s as usize + 1).min(self.width - 1), y));
                    for c in 0..C {
                        r.push(p0[c] as i32 * a0 + p1[c] as i32 * a1);
                    }
                }
                r
            })
            .collect();
        let mut data = Vec::with_capacity(row_len * height);
        let clamp_row = |s: i64| s.clamp(0, self.height as i64 - 1) as usize;
        for &(s, b0, b1) in &ys {
            let (r0, r1) = (&rows[clamp_row(s)], &rows[clamp_row(s + 1)]);
            // OpenCV's vertical pass (its SIMD rounding, which it applies to the whole row):
            // ((S0 >> 4) * b0 >> 16) + ((S1 >> 4) * b1 >> 16), rounded by 2 bits.
            let hi = |s: i32, b: i32| ((s >> 4).clamp(-32768, 32767) * b) >> 16;
            for x in 0..row_len {
                data.push(((hi(r0[x], b0) + hi(r1[x], b1) + 2) >> 2).clamp(0, 255) as u8);
            }
        }
        Frame { width, height, data }
    }

    /// `cv2.warpPerspective(img, m, (width, height), flags=INTER_CUBIC, borderMode=BORDER_REPLICATE)`,
    /// `m` mapping source to destination (row-major 3x3).
    pub fn warp_perspective_cubic(&self, m: &[f64; 9], width: usize, height: usize) -> Option<Frame> {
        let inv = invert3(m)?;
        let tab = cubic_table();
        let mut data = Vec::with_capacity(width * height * C);
        let (w1, h1) = (self.width as i64 - 1, self.height as i64 - 1);
        // OpenCV evaluates the map in blocks of about 32x32 pixels: X0 at the block's
        // first column, then X0 + M0 * x1 across it (the order changes the last bits).
        let bh0 = 16.min(height).max(1);
        let bw0 = (1024 / bh0).min(width).max(1);
        for y in 0..height {
            let yf = y as f64;
            for x in 0..width {
                let (xb, x1) = ((x / bw0 * bw0) as f64, (x % bw0) as f64);
                let (x0, y0, w0) = (inv[0] * xb + inv[1] * yf + inv[2], inv[3] * xb + inv[4] * yf + inv[5], inv[6] * xb + inv[7] * yf + inv[8]);
                let w = w0 + inv[6] * x1;
                let w = if w != 0.0 { 32.0 / w } else { 0.0 };
                let fx = ((x0 + inv[0] * x1) * w).clamp(i32::MIN as f64, i32::MAX as f64);
                let fy = ((y0 + inv[3] * x1) * w).clamp(i32::MIN as f64, i32::MAX as f64);
                let (ix, iy) = (fx.round_ties_even() as i64, fy.round_ties_even() as i64);
                let (sx, sy) = ((ix >> 5) - 1, (iy >> 5) - 1);
                let weights = &tab[(((iy & 31) * 32 + (ix & 31)) * 16) as usize..][..16];
                for c in 0..C {
                    let mut sum: i64 = 0;
                    for ky in 0..4 {
                        let yy = (sy + ky).clamp(0, h1) as usize;
                        for kx in 0..4 {
                            let xx = (sx + kx).clamp(0, w1) as usize;
                            sum += self.at(xx, yy)[c] as i64 * weights[(ky * 4 + kx) as usize] as i64;
                        }
                    }
                    data.push(((sum + (1 << 14)) >> 15).clamp(0, 255) as u8);
                }
            }
        }
        Some(Frame { width, height, data })
    }

    /// `np.rot90(img)`: a quarter turn counter-clockwise (width and height swap).
    pub fn rotate_90_ccw(&self) -> Frame {
        let (w, h) = (self.height, self.width);
        let mut data = Vec::with_capacity(self.data.len());
        for i in 0..h {
            for j in 0..w {
                data.extend_from_slice(self.at(self.width - 1 - i, j));
            }
        }
        Frame { width: w, height: h, data }
    }

    /// `cv2.rotate(img, ROTATE_180)`.
    pub fn rotate_180(&self) -> Frame {
        let mut data = Vec::with_capacity(self.data.len());
        for px in self.data.chunks_exact(C).rev() {
            data.extend_from_slice(px);
        }
        Frame { width: self.width, height: self.height, data }
    }

    /// Black rows above and below (`cv2.copyMakeBorder`, constant 0).
    pub fn pad_rows(&self, top: usize, bottom: usize) -> Frame {
        let row = self.width * C;
        let mut data = vec![0u8; row * top];
        data.extend_from_slice(&self.data);
        data.resize(data.len() + row * bottom, 0);
        Frame { width: self.width, height: self.height + top + bottom, data }
    }
}

/// OpenCV's `interpolateCubic` (A = -0.75) at `x` in [0, 1).
fn cubic_weights(x: f32) -> [f32; 4] {
    const A: f32 = -0.75;
    let c0 = ((A * (x + 1.0) - 5.0 * A) * (x + 1.0) + 8.0 * A) * (x + 1.0) - 4.0 * A;
    let c1 = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let c2 = ((A + 2.0) * (1.0 - x) - (A + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0;
    [c0, c1, c2, 1.0 - c0 - c1 - c2]
}

/// OpenCV's `initInterTab2D(INTER_CUBIC, fixpt)`: for each of 32x32 fractional
/// offsets, 4x4 weights in 1/32768 whose sum is fixed to exactly 32768.
fn cubic_table() -> &'static [i32] {
    static TABLE: std::sync::OnceLock<Vec<i32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let one_d: Vec<[f32; 4]> = (0..32).map(|i| cubic_weights(i as f32 * (1.0f32 / 32.0))).collect();
        let mut tab = Vec::with_capacity(32 * 32 * 16);
        for i in 0..32 {
            for j in 0..32 {
                let mut t = [0i32; 16];
                let mut sum = 0;
                for k1 in 0..4 {
                    for k2 in 0..4 {
                        let v = one_d[i][k1] * one_d[j][k2];
                        t[k1 * 4 + k2] = ((v * 32768.0).round_ties_even() as i32).clamp(-32768, 32767);
                        sum += t[k1 * 4 + k2];
                    }
                }
                if sum != 32768 {
                    let diff = sum - 32768;
                    let (mut lo, mut hi) = ((2, 2), (2, 2));
                    for k1 in 2..4 {
                        for k2 in 2..4 {
                            if t[k1 * 4 + k2] < t[lo.0 * 4 + lo.1] {
                                lo = (k1, k2);
                            } else if t[k1 * 4 + k2] > t[hi.0 * 4 + hi.1] {
                                hi = (k1, k2);
                            }
                        }
                    }
                    if diff < 0 {
                        t[hi.0 * 4 + hi.1] -= diff;
                    } else {
                        t[lo.0 * 4 + lo.1] -= diff;
                    }
                }
                tab.extend_from_slice(&t);
            }
        }
        tab
    })
}

/// Inverse of a 3x3 matrix by cofactors (as `cv::invert` does for 3x3); `None` when singular.
fn invert3(m: &[f64; 9]) -> Option<[f64; 9]> {
    let det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
    if det == 0.0 || !det.is_finite() {
        return None;
    }
    let d = 1.0 / det;
    Some([
        (m[4] * m[8] - m[5] * m[7]) * d,
        (m[2] * m[7] - m[1] * m[8]) * d,
        (m[1] * m[5] - m[2] * m[4]) * d,
        (m[5] * m[6] - m[3] * m[8]) * d,
        (m[0] * m[8] - m[2] * m[6]) * d,
        (m[2] * m[3] - m[0] * m[5]) * d,
        (m[3] * m[7] - m[4] * m[6]) * d,
        (m[1] * m[6] - m[0] * m[7]) * d,
        (m[0] * m[4] - m[1] * m[3]) * d,
    ])
}

/// `cv2.getPerspectiveTransform(src, dst)`: the homography taking the four `src`
/// points to the four `dst` points; `None` when three of them are collinear.
pub fn perspective_transform(src: &[[f32; 2]; 4], dst: &[[f32; 2]; 4]) -> Option<[f64; 9]> {
    let mut a = [[0f64; 9]; 8];
    for i in 0..4 {
        let (x, y) = (src[i][0] as f64, src[i][1] as f64);
        let (u, v) = (dst[i][0] as f64, dst[i][1] as f64);
        a[i] = [x, y, 1.0, 0.0, 0.0, 0.0, -x * u, -y * u, u];
        a[i + 4] = [0.0, 0.0, 0.0, x, y, 1.0, -x * v, -y * v, v];
    }
    // OpenCV's LUImpl (DECOMP_LU): partial pivoting on the first largest entry,
    // rows updated with alpha = a[j][i] * (-1 / a[i][i]), back substitution in order.
    for i in 0..8 {
        let mut k = i;
        for j in i + 1..8 {
            if a[j][i].abs() > a[k][i].abs() {
                k = j;
            }
        }
        if a[k][i].abs() < f64::EPSILON * 100.0 {
            return None;
        }
        a.swap(i, k);
        let d = -1.0 / a[i][i];
        let pivot = a[i];
        for row in a.iter_mut().skip(i + 1) {
            let alpha = row[i] * d;
            for (v, p) in row[i + 1..].iter_mut().zip(&pivot[i + 1..]) {
                *v += alpha * p;
            }
        }
    }
    let mut x = [0f64; 8];
    for i in (0..8).rev() {
        let mut s = a[i][8];
        for k in i + 1..8 {
            s -= a[i][k] * x[k];
        }
        x[i] = s / a[i][i];
    }
    Some([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], 1.0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: usize, h: usize, f: impl Fn(usize, usize, usize) -> u8) -> Frame {
        let mut d = vec![];
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    d.push(f(x, y, c));
                }
            }
        }
        Frame::new(w, h, d).unwrap()
    }

    #[test]
    fn resize_linear_by_hand() {
        // 2x1 -> 4x1: half-pixel centres give source x = -0.25, 0.25, 0.75, 1.25, so
        // weights (clamped) 0/1, 0.75/0.25, 0.25/0.75, 1/0 of pixels 0 and 1: 0, 25, 75, 100.
        let f = frame(2, 1, |x, _, _| if x == 0 { 0 } else { 100 });
        let r = f.resize_linear(4, 1);
        assert_eq!(r.data.chunks(3).map(|p| p[0]).collect::<Vec<_>>(), vec![0, 25, 75, 100]);
        // A uniform image stays uniform at any size.
        let g = frame(7, 5, |_, _, _| 200).resize_linear(13, 3);
        assert!(g.data.iter().all(|&v| v == 200));
    }

    #[test]
    fn identity_warp_and_translation_copy_pixels() {
        let f = frame(6, 4, |x, y, c| (x * 40 + y * 10 + c) as u8);
        let pts = [[0.0, 0.0], [6.0, 0.0], [6.0, 4.0], [0.0, 4.0]];
        let m = perspective_transform(&pts, &pts).unwrap();
        assert_eq!(f.warp_perspective_cubic(&m, 6, 4).unwrap(), f);
        // Crop of the 2x2 window starting at (3, 1): integer translation, pixels copied.
        let src = [[3.0, 1.0], [5.0, 1.0], [5.0, 3.0], [3.0, 3.0]];
        let dst = [[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]];
        let m = perspective_transform(&src, &dst).unwrap();
        assert!((m[2] + 3.0).abs() < 1e-12 && (m[5] + 1.0).abs() < 1e-12, "{m:?}");
        let crop = f.warp_perspective_cubic(&m, 2, 2).unwrap();
        assert_eq!(crop.at(0, 0), f.at(3, 1));
        assert_eq!(crop.at(1, 1), f.at(4, 2));
        // Collinear points have no homography.
        assert!(perspective_transform(&[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]], &dst).is_none());
    }

    #[test]
    fn cubic_table_rows_sum_to_one() {
        let t = cubic_table();
        assert!(t.chunks(16).all(|w| w.iter().sum::<i32>() == 32768));
        // Offset 0 puts all weight on the second tap of both axes: 32768 saturates to
        // 32767 as a short and OpenCV's fix-up gives the missing 1 to tap (2, 2).
        assert_eq!((t[5], t[10]), (32767, 1));
    }

    #[test]
    fn rotations_by_hand() {
        // 2 wide, 1 high: [a b]; np.rot90 gives [[b], [a]].
        let f = frame(2, 1, |x, _, _| x as u8 + 1);
        let r = f.rotate_90_ccw();
        assert_eq!((r.width, r.height), (1, 2));
        assert_eq!((r.at(0, 0)[0], r.at(0, 1)[0]), (2, 1));
        assert_eq!(f.rotate_180().data.chunks(3).map(|p| p[0]).collect::<Vec<_>>(), vec![2, 1]);
        let p = f.pad_rows(1, 2);
        assert_eq!((p.height, p.at(0, 1)[0], p.at(0, 0)[0]), (4, 1, 0));
    }
}
