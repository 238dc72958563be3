//! Frost as ImageNet-C defines it: a crop of one of the reference frost
//! photographs blended over the image, and the OpenCV resizes the reference
//! applies to the photographs on the way.
//!
//! The six photographs are those of the PyPI wheel imagecorruptions 1.1.2
//! (Apache-2.0, see `assets/frost/NOTICE`), embedded and decoded once. The
//! rule, from `make_imagenet_c.py`, `make_cifar_c.py` and imagecorruptions'
//! `frost`:
//! - photo index `randint(5)`: the sixth photograph is never drawn;
//! - `cv2.imread` (BGR) then `[..., [2, 1, 0]]`: used here as RGB directly;
//! - CIFAR-10-C table: `cv2.resize(frost, (0, 0), fx=0.2, fy=0.2)` (bilinear);
//! - an image larger than the photo in either side (where the reference
//!   scripts would fail): imagecorruptions' rescale, the factor that makes both
//!   sides fit times 1.1, bicubic;
//! - crop offsets `randint(0, photo_rows - rows)`, then `randint(0, photo_cols - cols)`
//!   (0 when the sizes are equal);
//! - `np.uint8(np.clip(c0 * x + c1 * frost, 0, 255))` with the table's (c0, c1).
//!
//! The draws come from aite's seeded RNG: the same distribution as numpy's
//! `randint`, not the same draws.

use super::table::{self, ParameterTable};
use image::RgbImage;
use rand::{rngs::StdRng, Rng};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The photographs in the reference's order (`frost1.png` ... `frost6.jpg`).
const PHOTOS: [(&str, &[u8]); 6] = [
    ("frost1.png", include_bytes!("../../assets/frost/frost1.png")),
    ("frost2.png", include_bytes!("../../assets/frost/frost2.png")),
    ("frost3.png", include_bytes!("../../assets/frost/frost3.png")),
    ("frost4.jpg", include_bytes!("../../assets/frost/frost4.jpg")),
    ("frost5.jpg", include_bytes!("../../assets/frost/frost5.jpg")),
    ("frost6.jpg", include_bytes!("../../assets/frost/frost6.jpg")),
];

/// How many photographs the reference draws from (`np.random.randint(5)`).
pub const DRAWN: usize = 5;

/// The file name of photograph `index` (0-based, as the reference's list).
pub fn photo_name(index: usize) -> &'static str {
    PHOTOS[index.min(PHOTOS.len() - 1)].0
}

/// Photograph `index` as the table uses it: decoded (alpha dropped, as
/// `cv2.imread` does), and for the CIFAR-10-C table resized by 0.2.
pub fn photo(index: usize, table: ParameterTable) -> &'static RgbImage {
    static FULL: OnceLock<Vec<RgbImage>> = OnceLock::new();
    static CIFAR: OnceLock<Vec<RgbImage>> = OnceLock::new();
    let full = FULL.get_or_init(|| {
        PHOTOS
            .iter()
            .map(|(name, bytes)| {
                // JPEGs (baseline and progressive frost4) as cv2.imread's libjpeg-turbo decodes them (aite_data::jpeg); PNGs by the image crate.
                match aite_data::jpeg::decode(bytes, 1 << 26) {
                    Ok(p) if p.channels == 3 => RgbImage::from_raw(p.width as u32, p.height as u32, p.data).expect("w*h*3 samples"),
                    _ => image::load_from_memory(bytes).unwrap_or_else(|e| panic!("embedded frost photograph {name} does not decode: {e}")).to_rgb8(),
                }
            })
            .collect()
    });
    let index = index.min(PHOTOS.len() - 1);
    match table {
        ParameterTable::ImagenetC => &full[index],
        ParameterTable::CifarC => {
            let small = CIFAR.get_or_init(|| {
                full.iter()
                    .map(|p| cv_resize_by(p, 0.2, Interp::Linear))
                    .collect()
            });
            &small[index]
        }
    }
}

/// The photograph a crop is taken from: the table's own, or a rescaled copy.
enum Fitted {
    Table(&'static RgbImage),
    Rescaled(Arc<RgbImage>),
}

impl std::ops::Deref for Fitted {
    type Target = RgbImage;
    fn deref(&self) -> &RgbImage {
        match self {
            Fitted::Table(p) => p,
            Fitted::Rescaled(p) => p,
        }
    }
}

/// The photograph the crop is taken from for an image of `w x h`: the
/// table's photo when it is large enough, else imagecorruptions' bicubic
/// rescale (cached per size, since a dataset's frames usually share one).
/// Rescaled photographs by (photo index, table, image width, image height).
type RescaledCache = Mutex<HashMap<(usize, ParameterTable, u32, u32), Arc<RgbImage>>>;

fn fitted(index: usize, table: ParameterTable, w: u32, h: u32) -> Fitted {
    static RESCALED: OnceLock<RescaledCache> = OnceLock::new();
    let p = photo(index, table);
    if p.width() >= w && p.height() >= h {
        return Fitted::Table(p);
    }
    let cache = RESCALED.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (index, table, w, h);
    if let Some(hit) = cache.lock().map(|c| c.get(&key).cloned()).ok().flatten() {
        return Fitted::Rescaled(hit);
    }
    let factor = (h as f64 / p.height() as f64).max(w as f64 / p.width() as f64) * 1.1;
    let (nw, nh) = ((p.width() as f64 * factor).ceil() as u32, (p.height() as f64 * factor).ceil() as u32);
    let out = Arc::new(cv_resize(p, nw, nh, Interp::Cubic));
    if let Ok(mut c) = cache.lock() {
        if c.len() > 64 {
            c.clear();
        }
        c.insert(key, out.clone());
    }
    Fitted::Rescaled(out)
}

/// The random part of frost: which photograph and where the crop starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrostDraw {
    /// 0-based index into `frost1.png` ... `frost6.jpg`.
    pub index: usize,
    pub row: u32,
    pub col: u32,
}

/// Draw as the reference does, in its order: index, row offset, column offset.
pub fn draw(table: ParameterTable, w: u32, h: u32, rng: &mut StdRng) -> FrostDraw {
    let index = rng.gen_range(0..DRAWN);
    let p = fitted(index, table, w, h);
    // randint(0, n) draws from 0..n; the reference fails at n = 0, where the only crop is 0.
    let row = if p.height() > h { rng.gen_range(0..p.height() - h) } else { 0 };
    let col = if p.width() > w { rng.gen_range(0..p.width() - w) } else { 0 };
    FrostDraw { index, row, col }
}

/// The reference frost: photo and crop drawn from `rng`.
pub fn frost(img: &RgbImage, table: ParameterTable, severity: u8, rng: &mut StdRng) -> RgbImage {
    let d = draw(table, img.width(), img.height(), rng);
    frost_at(img, table, severity, d).expect("drawn crops lie inside the photograph")
}

/// Frost with the random draws fixed (the crop is taken from the fitted
/// photograph). `None` if the crop leaves the photograph.
pub fn frost_at(img: &RgbImage, table: ParameterTable, severity: u8, d: FrostDraw) -> Option<RgbImage> {
    let (w, h) = img.dimensions();
    if d.index >= PHOTOS.len() {
        return None;
    }
    let p = fitted(d.index, table, w, h);
    (d.row + h <= p.height() && d.col + w <= p.width()).then(|| blend(img, &p, d.row, d.col, table::frost(table, severity)))
}

/// `np.uint8(np.clip(c0 * x + c1 * crop, 0, 255))`, in double precision as numpy.
fn blend(img: &RgbImage, photo: &RgbImage, row: u32, col: u32, (c0, c1): (f64, f64)) -> RgbImage {
    let (w, h) = img.dimensions();
    let pw = photo.width() as usize;
    let (src, ph) = (img.as_raw(), photo.as_raw());
    let mut out = Vec::with_capacity(src.len());
    for y in 0..h as usize {
        let prow = ((row as usize + y) * pw + col as usize) * 3;
        let irow = y * w as usize * 3;
        for i in 0..w as usize * 3 {
            let v = c0 * src[irow + i] as f64 + c1 * ph[prow + i] as f64;
            out.push(v.clamp(0.0, 255.0) as u8);
        }
    }
    RgbImage::from_raw(w, h, out).expect("w*h*3 values")
}

/// OpenCV's interpolations for `cv2.resize` on 8-bit images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interp {
    /// `INTER_LINEAR`: half-pixel centres, no antialiasing.
    Linear,
    /// `INTER_CUBIC`: Keys' cubic with a = -0.75, replicated borders.
    Cubic,
}

/// `INTER_RESIZE_COEF_BITS`: OpenCV's 8-bit resize works in 11-bit fixed point.
const COEF_BITS: u32 = 11;
const COEF_SCALE: f32 = (1 << COEF_BITS) as f32;

/// Taps and fixed-point weights of one axis, as OpenCV's `resizeGeneric`
/// computes them; `scale` is source pixels per output pixel.
fn axis(src: usize, dst: usize, scale: f64, interp: Interp, horizontal: bool) -> Vec<([usize; 4], [i32; 4])> {
    let last = src as i64 - 1;
    let clamp = |i: i64| i.clamp(0, last) as usize;
    (0..dst)
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = f.floor() as i64;
            let mut t = f - s as f32;
            match interp {
                Interp::Linear => {
                    // Horizontally OpenCV pins taps outside the image to the edge pixel
                    // with weight one; vertically it clamps the rows and keeps the weights.
                    if horizontal && s < 0 {
                        (s, t) = (0, 0.0);
                    }
                    if horizontal && s >= last {
                        (s, t) = (last, 0.0);
                    }
                    let w = [round_short((1.0 - t) * COEF_SCALE), round_short(t * COEF_SCALE), 0, 0];
                    ([clamp(s), clamp(s + 1), 0, 0], w)
                }
                Interp::Cubic => {
                    const A: f32 = -0.75;
                    let x = t;
                    let c0 = ((A * (x + 1.0) - 5.0 * A) * (x + 1.0) + 8.0 * A) * (x + 1.0) - 4.0 * A;
                    let c1 = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
                    let c2 = ((A + 2.0) * (1.0 - x) - (A + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0;
                    let c3 = 1.0 - c0 - c1 - c2;
                    let w = [c0, c1, c2, c3].map(|c| round_short(c * COEF_SCALE));
                    ([clamp(s - 1), clamp(s), clamp(s + 1), clamp(s + 2)], w)
                }
            }
        })
        .collect()
}

/// `saturate_cast<short>(float)`: round half to even.
fn round_short(v: f32) -> i32 {
    v.round_ties_even().clamp(i16::MIN as f32, i16::MAX as f32) as i32
}

/// `cv2.resize(img, (w, h), interpolation)` for 8-bit RGB: a horizontal pass
/// into 32-bit sums, then a vertical pass rounded back to 8 bits, in OpenCV's
/// fixed point (the linear case uses the rounding of its SIMD path).
pub fn cv_resize(img: &RgbImage, w: u32, h: u32, interp: Interp) -> RgbImage {
    // With dsize given, OpenCV's scale is 1 / (dst / src).
    let (sx, sy) = (1.0 / (w as f64 / img.width() as f64), 1.0 / (h as f64 / img.height() as f64));
    resize_with_scale(img, w, h, sx, sy, interp)
}

/// `cv2.resize(img, (0, 0), fx=f, fy=f, interpolation)`: the size is
/// `saturate_cast<int>(side * f)` and the scale exactly `1 / f`.
pub fn cv_resize_by(img: &RgbImage, f: f64, interp: Interp) -> RgbImage {
    let (w, h) = ((img.width() as f64 * f).round() as u32, (img.height() as f64 * f).round() as u32);
    resize_with_scale(img, w, h, 1.0 / f, 1.0 / f, interp)
}

fn resize_with_scale(img: &RgbImage, w: u32, h: u32, scale_x: f64, scale_y: f64, interp: Interp) -> RgbImage {
    let (sw, sh) = (img.width() as usize, img.height() as usize);
    let (dw, dh) = (w as usize, h as usize);
    if sw == 0 || sh == 0 || dw == 0 || dh == 0 {
        return RgbImage::new(w, h);
    }
    let xs = axis(sw, dw, scale_x, interp, true);
    let ys = axis(sh, dh, scale_y, interp, false);
    let taps = if interp == Interp::Linear { 2 } else { 4 };
    let src = img.as_raw();
    // Horizontal pass over every source row (each row is needed by some output row).
    let mut rows = vec![0i32; sh * dw * 3];
    for y in 0..sh {
        let s = &src[y * sw * 3..(y + 1) * sw * 3];
        let d = &mut rows[y * dw * 3..(y + 1) * dw * 3];
        for (dx, (ix, wx)) in xs.iter().enumerate() {
            for c in 0..3 {
                d[dx * 3 + c] = (0..taps).map(|k| s[ix[k] * 3 + c] as i32 * wx[k]).sum();
            }
        }
    }
    let mut out = Vec::with_capacity(dw * dh * 3);
    for (iy, wy) in &ys {
        for i in 0..dw * 3 {
            let v = match interp {
                // VResizeLinearVec_32s8u: ((b0 * (S0 >> 4)) >> 16) + ((b1 * (S1 >> 4)) >> 16), then (v + 2) >> 2.
                Interp::Linear => {
                    let a = (wy[0] * (rows[iy[0] * dw * 3 + i] >> 4)) >> 16;
                    let b = (wy[1] * (rows[iy[1] * dw * 3 + i] >> 4)) >> 16;
                    (a + b + 2) >> 2
                }
                // FixedPtCast<int, uchar, 22>: (sum + 2^21) >> 22.
                Interp::Cubic => {
                    let sum: i64 = (0..4).map(|k| wy[k] as i64 * rows[iy[k] * dw * 3 + i] as i64).sum();
                    ((sum + (1 << 21)) >> 22) as i32
                }
            };
            out.push(v.clamp(0, 255) as u8);
        }
    }
    RgbImage::from_raw(w, h, out).expect("w*h*3 values")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn photographs_decode_at_their_published_sizes() {
        let sizes: Vec<(u32, u32)> = (0..6).map(|i| photo(i, ParameterTable::ImagenetC).dimensions()).collect();
        assert_eq!(sizes, [(900, 600), (560, 315), (560, 315), (527, 350), (660, 495), (485, 323)]);
        // cv2.resize(fx=0.2): round(side * 0.2).
        let small: Vec<(u32, u32)> = (0..6).map(|i| photo(i, ParameterTable::CifarC).dimensions()).collect();
        assert_eq!(small, [(180, 120), (112, 63), (112, 63), (105, 70), (132, 99), (97, 65)]);
    }

    #[test]
    fn linear_resize_by_a_fifth_picks_every_fifth_pixel_from_the_third() {
        // (dx + 0.5) * 5 - 0.5 = 5 dx + 2: OpenCV's bilinear lands exactly on a pixel.
        let full = photo(3, ParameterTable::ImagenetC);
        let small = photo(3, ParameterTable::CifarC);
        for (x, y) in [(0u32, 0u32), (10, 20), (104, 69), (50, 3)] {
            assert_eq!(small.get_pixel(x, y), full.get_pixel(5 * x + 2, 5 * y + 2));
        }
    }

    #[test]
    fn linear_and_cubic_resize_match_opencv() {
        // One row 0, 100, 200 upscaled x2. Linear by hand: source x = (dx + 0.5) / 2 - 0.5:
        // -0.25 pinned to 0 -> 0; 0.25 -> 25; 0.75 -> 75; 1.25 -> 125; 1.75 -> 175; 2.25 pinned -> 200.
        let row = RgbImage::from_fn(3, 1, |x, _| image::Rgb([(x * 100) as u8; 3]));
        let grey = |i: &RgbImage| i.pixels().map(|p| p.0[0]).collect::<Vec<_>>();
        assert_eq!(grey(&cv_resize(&row, 6, 1, Interp::Linear)), [0, 25, 75, 125, 175, 200]);
        // Cubic at dx = 1: t = 0.25, taps (-1, 0, 1, 2) clamped to (0, 0, 1, 2), a = -0.75:
        // weights (-0.1055, 0.8789, 0.2617, -0.0352) -> 100 * 0.2617 - 200 * 0.0352 = 19.1 -> 19.
        // The whole rows are what cv2.resize (opencv-python 4.11.0.86) returns.
        assert_eq!(grey(&cv_resize(&row, 6, 1, Interp::Cubic)), [0, 19, 67, 133, 181, 211]);
        let b = [[0u8, 100, 200], [50, 250, 10], [30, 30, 90]];
        let img = RgbImage::from_fn(3, 3, |x, y| image::Rgb([b[y as usize][x as usize]; 3]));
        let cubic: [[u8; 7]; 5] =
            [[0, 4, 34, 86, 151, 203, 233], [4, 40, 115, 174, 168, 129, 115], [28, 77, 191, 250, 170, 42, 0], [32, 53, 99, 126, 101, 56, 37], [30, 25, 8, 9, 44, 87, 107]];
        let linear: [[u8; 7]; 5] =
            [[0, 14, 57, 100, 143, 186, 200], [20, 40, 100, 160, 144, 129, 124], [50, 79, 164, 250, 147, 44, 10], [38, 49, 84, 118, 92, 66, 58], [30, 30, 30, 30, 56, 81, 90]];
        assert_eq!(grey(&cv_resize(&img, 7, 5, Interp::Cubic)), cubic.concat());
        assert_eq!(grey(&cv_resize(&img, 7, 5, Interp::Linear)), linear.concat());
        // A constant image stays constant under both (weights sum to one).
        let flat = RgbImage::from_pixel(7, 5, image::Rgb([93, 17, 240]));
        for interp in [Interp::Linear, Interp::Cubic] {
            assert!(cv_resize(&flat, 16, 11, interp).pixels().all(|p| p.0 == [93, 17, 240]), "{interp:?}");
        }
    }

    #[test]
    fn frost_blends_the_crop_with_the_table_weights() {
        let img = RgbImage::from_pixel(32, 32, image::Rgb([100, 50, 200]));
        let out = frost_at(&img, ParameterTable::CifarC, 5, FrostDraw { index: 1, row: 7, col: 11 }).unwrap();
        let p = photo(1, ParameterTable::CifarC);
        for (x, y) in [(0u32, 0u32), (31, 31), (5, 17)] {
            let f = p.get_pixel(x + 11, y + 7).0;
            let want: Vec<u8> = (0..3).map(|c| (0.75 * img.get_pixel(x, y).0[c] as f64 + 0.45 * f[c] as f64).clamp(0.0, 255.0) as u8).collect();
            assert_eq!(out.get_pixel(x, y).0.to_vec(), want);
        }
        // frost2 at 0.2 is 112x63: row 31 is the last crop that fits 32 rows.
        assert!(frost_at(&img, ParameterTable::CifarC, 5, FrostDraw { index: 1, row: 31, col: 0 }).is_some());
        assert!(frost_at(&img, ParameterTable::CifarC, 5, FrostDraw { index: 1, row: 32, col: 0 }).is_none(), "a crop leaving the photo is refused");
    }

    #[test]
    fn draws_cover_the_first_five_photographs_with_offsets_inside() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut seen = [0usize; 6];
        let (mut max_row, mut max_col) = (0, 0);
        for _ in 0..5000 {
            let d = draw(ParameterTable::CifarC, 32, 32, &mut rng);
            seen[d.index] += 1;
            let p = photo(d.index, ParameterTable::CifarC);
            // randint(0, n) excludes n: the last row and column of offsets are never drawn.
            assert!(d.row < p.height() - 32 && d.col < p.width() - 32, "{d:?}");
            if d.index == 1 {
                (max_row, max_col) = (max_row.max(d.row), max_col.max(d.col));
            }
        }
        assert!(seen[..5].iter().all(|&n| (850..1150).contains(&n)), "uniform over frost1..5: {seen:?}");
        assert_eq!(seen[5], 0, "frost6 is never drawn (randint(5))");
        assert_eq!((max_row, max_col), (63 - 32 - 1, 112 - 32 - 1));
        // frost() is frost_at() of its draw.
        let img = RgbImage::from_pixel(20, 24, image::Rgb([30, 60, 90]));
        let (mut a, mut b) = (StdRng::seed_from_u64(9), StdRng::seed_from_u64(9));
        assert_eq!(frost(&img, ParameterTable::CifarC, 3, &mut a), frost_at(&img, ParameterTable::CifarC, 3, draw(ParameterTable::CifarC, 20, 24, &mut b)).unwrap());
    }

    #[test]
    fn images_larger_than_the_photograph_use_the_rescaled_photo() {
        let img = RgbImage::from_pixel(1000, 700, image::Rgb([10, 10, 10]));
        let mut rng = StdRng::seed_from_u64(3);
        let out = frost(&img, ParameterTable::ImagenetC, 2, &mut rng);
        assert_eq!(out.dimensions(), (1000, 700));
        // frost1 (900x600) for a 1000x700 image: max(700/600, 1000/900) * 1.1 = 1.28333,
        // np.ceil -> 1155x771 (numpy gives the same).
        assert_eq!(fitted(0, ParameterTable::ImagenetC, 1000, 700).dimensions(), (1155, 771));
    }
}
