//! Image filters the corruptions are built from, each matching the library
//! function the reference code calls (scipy/skimage Gaussian with its border
//! mode, OpenCV `filter2D`, scipy `zoom`, PIL `BOX` resampling, skimage HSV).
//! Matching the border rule and rounding of each one is what keeps our
//! corrupted pixels within a level or two of the reference ones.

/// An image as the reference code holds it: `height x width x channels`,
/// interleaved, values usually in 0..=1.
#[derive(Debug, Clone, PartialEq)]
pub struct Planes {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<f32>,
}

impl Planes {
    pub fn new(width: usize, height: usize, channels: usize) -> Self {
        Planes { width, height, channels, data: vec![0.0; width * height * channels] }
    }

    pub fn from_fn(width: usize, height: usize, channels: usize, mut f: impl FnMut(usize, usize, usize) -> f32) -> Self {
        let mut data = Vec::with_capacity(width * height * channels);
        for y in 0..height {
            for x in 0..width {
                for c in 0..channels {
                    data.push(f(x, y, c));
                }
            }
        }
        Planes { width, height, channels, data }
    }

    #[inline]
    pub fn at(&self, x: usize, y: usize, c: usize) -> f32 {
        self.data[(y * self.width + x) * self.channels + c]
    }

    pub fn map(mut self, mut f: impl FnMut(f32) -> f32) -> Self {
        self.data.iter_mut().for_each(|v| *v = f(*v));
        self
    }

    pub fn max(&self) -> f32 {
        self.data.iter().copied().fold(f32::NEG_INFINITY, f32::max)
    }
}

/// How a filter reads beyond the image edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// `aaa|abcd|ddd` (scipy/skimage "nearest", OpenCV REPLICATE).
    Nearest,
    /// `dcba|abcd|dcba` (scipy "reflect", half-sample symmetric).
    Reflect,
    /// `dcb|abcd|cba` (OpenCV's default BORDER_REFLECT_101).
    Reflect101,
}

/// Index of the sample read at position `i` of a line of length `n`.
#[inline]
pub fn border_index(i: i64, n: usize, border: Border) -> usize {
    let n = n as i64;
    if (0..n).contains(&i) {
        return i as usize;
    }
    let j = match border {
        Border::Nearest => i.clamp(0, n - 1),
        Border::Reflect => {
            let p = 2 * n;
            let m = i.rem_euclid(p);
            if m < n {
                m
            } else {
                p - 1 - m
            }
        }
        Border::Reflect101 => {
            if n == 1 {
                0
            } else {
                let p = 2 * n - 2;
                let m = i.rem_euclid(p);
                if m < n {
                    m
                } else {
                    p - m
                }
            }
        }
    };
    j as usize
}

/// scipy's 1-D Gaussian weights: radius `int(truncate * sigma + 0.5)`.
pub fn gaussian_kernel(sigma: f64, truncate: f64) -> Vec<f64> {
    let radius = (truncate * sigma + 0.5) as i64;
    let mut w: Vec<f64> = (-radius..=radius).map(|x| (-0.5 * (x * x) as f64 / (sigma * sigma)).exp()).collect();
    let sum: f64 = w.iter().sum();
    w.iter_mut().for_each(|v| *v /= sum);
    w
}

/// `acc[i] += w * src[i]` over two equal slices (vectorises).
#[inline]
fn axpy(acc: &mut [f32], w: f32, src: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(src) {
        *a += w * v;
    }
}

/// Correlate every row and then every column with a 1-D kernel (centred),
/// per channel. Both passes are sums of shifted contiguous rows, so they
/// vectorise; sums are in f32 (differences from scipy's f64 are below 1e-5
/// of a grey level).
pub fn separable(img: &Planes, kx: &[f64], ky: &[f64], border: Border) -> Planes {
    let (w, h, c) = (img.width, img.height, img.channels);
    let row_len = w * c;
    // Rows: pad each row by the kernel radius (border rule), then one axpy per tap.
    let rx = kx.len() / 2;
    let mut tmp = vec![0f32; img.data.len()];
    let mut padded = vec![0f32; (w + 2 * rx) * c];
    for y in 0..h {
        let row = &img.data[y * row_len..(y + 1) * row_len];
        for (p, chunk) in padded.chunks_exact_mut(c).enumerate() {
            let src = border_index(p as i64 - rx as i64, w, border);
            chunk.copy_from_slice(&row[src * c..(src + 1) * c]);
        }
        let out = &mut tmp[y * row_len..(y + 1) * row_len];
        for (k, &wk) in kx.iter().enumerate() {
            axpy(out, wk as f32, &padded[k * c..k * c + row_len]);
        }
    }
    // Columns: one axpy of a whole source row per tap.
    let ry = (ky.len() / 2) as i64;
    let mut out = vec![0f32; img.data.len()];
    for y in 0..h {
        let acc = &mut out[y * row_len..(y + 1) * row_len];
        for (k, &wk) in ky.iter().enumerate() {
            let src = border_index(y as i64 + k as i64 - ry, h, border);
            axpy(acc, wk as f32, &tmp[src * row_len..(src + 1) * row_len]);
        }
    }
    Planes { width: w, height: h, channels: c, data: out }
}

/// `skimage.filters.gaussian` / `scipy.ndimage.gaussian_filter` over the two
/// spatial axes (sigma 0 on the channel axis).
pub fn gaussian(img: &Planes, sigma: f64, border: Border, truncate: f64) -> Planes {
    if sigma <= 0.0 {
        return img.clone();
    }
    let k = gaussian_kernel(sigma, truncate);
    separable(img, &k, &k, border)
}

/// OpenCV `filter2D` (correlation, kernel anchored at its centre, BORDER_REFLECT_101).
/// The image is padded once; each non-zero tap adds a shifted padded row.
pub fn filter2d(img: &Planes, kernel: &[f64], kw: usize, kh: usize) -> Planes {
    let (w, h, c) = (img.width, img.height, img.channels);
    let (ax, ay) = (kw / 2, kh / 2);
    let (pw, ph) = (w + 2 * ax, h + 2 * ay);
    let mut padded = vec![0f32; pw * ph * c];
    for py in 0..ph {
        let sy = border_index(py as i64 - ay as i64, h, Border::Reflect101);
        for px in 0..pw {
            let sx = border_index(px as i64 - ax as i64, w, Border::Reflect101);
            let (d, s) = ((py * pw + px) * c, (sy * w + sx) * c);
            padded[d..d + c].copy_from_slice(&img.data[s..s + c]);
        }
    }
    let taps: Vec<(usize, usize, f32)> = (0..kh).flat_map(|ky| (0..kw).map(move |kx| (ky, kx))).map(|(ky, kx)| (ky, kx, kernel[ky * kw + kx] as f32)).filter(|t| t.2 != 0.0).collect();
    let mut out = Planes::new(w, h, c);
    let row_len = w * c;
    for y in 0..h {
        let acc = &mut out.data[y * row_len..(y + 1) * row_len];
        for &(ky, kx, wk) in &taps {
            let start = ((y + ky) * pw + kx) * c;
            axpy(acc, wk, &padded[start..start + row_len]);
        }
    }
    out
}

/// OpenCV `getGaussianKernel(ksize, sigma)` for an explicit positive sigma.
pub fn cv_gaussian_kernel(ksize: usize, sigma: f64) -> Vec<f64> {
    let mid = (ksize as f64 - 1.0) / 2.0;
    let mut k: Vec<f64> = (0..ksize).map(|i| (-((i as f64 - mid).powi(2)) / (2.0 * sigma * sigma)).exp()).collect();
    let s: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    k
}

/// ImageNet-C's anti-aliased disk kernel for defocus blur.
pub fn disk(radius: f64, alias_blur: f64) -> (Vec<f64>, usize) {
    let (half, ksize) = if radius <= 8.0 { (8i64, 3) } else { (radius as i64, 5) };
    let n = (2 * half + 1) as usize;
    let mut k: Vec<f64> = Vec::with_capacity(n * n);
    for y in -half..=half {
        for x in -half..=half {
            k.push(if ((x * x + y * y) as f64) <= radius * radius { 1.0 } else { 0.0 });
        }
    }
    let s: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    // cv2.GaussianBlur on the kernel itself (BORDER_REFLECT_101).
    let g = cv_gaussian_kernel(ksize, alias_blur);
    let planes = Planes { width: n, height: n, channels: 1, data: k.iter().map(|&v| v as f32).collect() };
    let blurred = separable(&planes, &g, &g, Border::Reflect101);
    (blurred.data.iter().map(|&v| v as f64).collect(), n)
}

/// Linear interpolation along one axis as scipy `zoom(order=1)` maps it:
/// output length `round(n * z)` (half to even), input coordinate
/// `o * (n - 1) / (m - 1)`.
fn zoom_axis(n: usize, z: f64) -> Vec<(usize, usize, f32)> {
    let m = ((n as f64) * z).round_ties_even().max(1.0) as usize;
    let scale = if m > 1 { (n as f64 - 1.0) / (m as f64 - 1.0) } else { 0.0 };
    (0..m)
        .map(|o| {
            let p = o as f64 * scale;
            let i0 = (p.floor() as usize).min(n - 1);
            let i1 = (i0 + 1).min(n - 1);
            (i0, i1, (p - i0 as f64) as f32)
        })
        .collect()
}

/// scipy `zoom(img, (z, z, 1), order=1)`.
pub fn zoom(img: &Planes, z: f64) -> Planes {
    let (xs, ys) = (zoom_axis(img.width, z), zoom_axis(img.height, z));
    let c = img.channels;
    let row_len = img.width * c;
    let mut out = Planes::new(xs.len(), ys.len(), c);
    let out_len = xs.len() * c;
    // Interpolate the two source rows horizontally, then blend them.
    let mut ra = vec![0f32; out_len];
    let mut rb = vec![0f32; out_len];
    let horizontal = |row: &[f32], dst: &mut [f32]| {
        for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
            for ch in 0..c {
                dst[ox * c + ch] = row[x0 * c + ch] * (1.0 - fx) + row[x1 * c + ch] * fx;
            }
        }
    };
    for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
        horizontal(&img.data[y0 * row_len..(y0 + 1) * row_len], &mut ra);
        horizontal(&img.data[y1 * row_len..(y1 + 1) * row_len], &mut rb);
        let dst = &mut out.data[oy * out_len..(oy + 1) * out_len];
        for ((d, &a), &b) in dst.iter_mut().zip(&ra).zip(&rb) {
            *d = a * (1.0 - fy) + b * fy;
        }
    }
    out
}

/// ImageNet-C's `clipped_zoom`: crop the centre `ceil(n / z)`, zoom it by `z`,
/// and trim the result back to the original size around its centre.
pub fn clipped_zoom(img: &Planes, z: f64) -> Planes {
    let mut out = Planes::new(img.width, img.height, img.channels);
    clipped_zoom_into(img, z, &mut out.data, |d, v| *d = v);
    out
}

/// [`clipped_zoom`] added to `acc` (the same values, `acc[i] += zoomed[i]`), without
/// the intermediate image: zoom_blur sums up to 16 of them.
pub fn clipped_zoom_add(img: &Planes, z: f64, acc: &mut Planes) {
    clipped_zoom_into(img, z, &mut acc.data, |d, v| *d += v);
}

fn clipped_zoom_into(img: &Planes, z: f64, out: &mut [f32], put: impl Fn(&mut f32, f32)) {
    let (w, h, c) = (img.width, img.height, img.channels);
    let cw = ((w as f64 / z).ceil() as usize).clamp(1, w);
    let ch = ((h as f64 / z).ceil() as usize).clamp(1, h);
    let (left, top) = ((w - cw) / 2, (h - ch) / 2);
    // The zoomed crop's sampling tables, restricted to the centred window
    // that survives the trim; source indices are shifted into the full image.
    let window = |n_crop: usize, n: usize, offset: usize| -> Vec<(usize, usize, f32)> {
        let full = zoom_axis(n_crop, z);
        let trim = full.len().saturating_sub(n) / 2;
        (0..n).map(|i| full[(trim + i).min(full.len() - 1)]).map(|(a, b, f)| (a + offset, b + offset, f)).collect()
    };
    let xs = window(cw, w, left);
    let ys = window(ch, h, top);
    let row_len = w * c;
    // Horizontal pass over the source rows the vertical pass needs, once each.
    let (first, last) = (ys.iter().map(|t| t.0).min().unwrap_or(0), ys.iter().map(|t| t.1).max().unwrap_or(0));
    let mut rows = vec![0f32; (last - first + 1) * row_len];
    for sy in first..=last {
        let src = &img.data[sy * row_len..(sy + 1) * row_len];
        let dst = &mut rows[(sy - first) * row_len..(sy - first + 1) * row_len];
        for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
            for k in 0..c {
                dst[ox * c + k] = src[x0 * c + k] * (1.0 - fx) + src[x1 * c + k] * fx;
            }
        }
    }
    for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
        let a = &rows[(y0 - first) * row_len..(y0 - first + 1) * row_len];
        let b = &rows[(y1 - first) * row_len..(y1 - first + 1) * row_len];
        for ((d, &va), &vb) in out[oy * row_len..(oy + 1) * row_len].iter_mut().zip(a).zip(b) {
            put(d, va * (1.0 - fy) + vb * fy);
        }
    }
}

/// PIL's resampling coefficients for the BOX filter (`ImagingResample`).
fn box_coefficients(n_in: usize, n_out: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = n_in as f64 / n_out as f64;
    let filterscale = scale.max(1.0);
    let support = 0.5 * filterscale;
    (0..n_out)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(n_in as i64) as usize;
            let mut w: Vec<f64> = (xmin..xmax)
                .map(|x| {
                    let t = (x as f64 - center + 0.5) / filterscale;
                    if t > -0.5 && t <= 0.5 {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let s: f64 = w.iter().sum();
            if s > 0.0 {
                w.iter_mut().for_each(|v| *v /= s);
            }
            (xmin, w)
        })
        .collect()
}

/// PIL `Image.resize(size, BOX)` on 0..=255 values, rounded to integers
/// after each pass as PIL's 8-bit path does.
pub fn resize_box(img: &Planes, width: usize, height: usize) -> Planes {
    let c = img.channels;
    let cx = box_coefficients(img.width, width);
    let cy = box_coefficients(img.height, height);
    let round8 = |v: f64| v.round().clamp(0.0, 255.0) as f32;
    let mut tmp = Planes::new(width, img.height, c);
    for y in 0..img.height {
        for (x, (x0, w)) in cx.iter().enumerate() {
            for ch in 0..c {
                let s: f64 = w.iter().enumerate().map(|(k, wk)| wk * img.at(x0 + k, y, ch) as f64).sum();
                tmp.data[(y * width + x) * c + ch] = round8(s);
            }
        }
    }
    let mut out = Planes::new(width, height, c);
    for (y, (y0, w)) in cy.iter().enumerate() {
        for x in 0..width {
            for ch in 0..c {
                let s: f64 = w.iter().enumerate().map(|(k, wk)| wk * tmp.at(x, y0 + k, ch) as f64).sum();
                out.data[(y * width + x) * c + ch] = round8(s);
            }
        }
    }
    out
}

/// skimage `rgb2hsv` for one pixel in 0..=1.
pub fn rgb_to_hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let v = r.max(g).max(b);
    let delta = v - r.min(g).min(b);
    let s = if v == 0.0 { 0.0 } else { delta / v };
    let h = if delta == 0.0 {
        0.0
    } else if r == v {
        (g - b) / delta
    } else if g == v {
        2.0 + (b - r) / delta
    } else {
        4.0 + (r - g) / delta
    };
    ((h / 6.0).rem_euclid(1.0), s, v)
}

/// skimage `hsv2rgb` for one pixel.
pub fn hsv_to_rgb(h: f32, s: f32, v: f32) -> (f32, f32, f32) {
    let hi = (h * 6.0).floor();
    let f = h * 6.0 - hi;
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - f * s), v * (1.0 - (1.0 - f) * s));
    match (hi as i64).rem_euclid(6) {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    }
}

/// Bilinear sample at a real coordinate with the given border rule.
#[inline]
pub fn sample_bilinear(img: &Planes, x: f32, y: f32, ch: usize, border: Border) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let xa = border_index(x0, img.width, border);
    let xb = border_index(x0 + 1, img.width, border);
    let ya = border_index(y0, img.height, border);
    let yb = border_index(y0 + 1, img.height, border);
    let top = img.at(xa, ya, ch) * (1.0 - fx) + img.at(xb, ya, ch) * fx;
    let bottom = img.at(xa, yb, ch) * (1.0 - fx) + img.at(xb, yb, ch) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// [`sample_bilinear`] of every channel into `out` (one per channel): the
/// same arithmetic, with the neighbours' indices computed once.
#[inline]
pub fn sample_bilinear_pixel(img: &Planes, x: f32, y: f32, border: Border, out: &mut [f32]) {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as i64, y0 as i64);
    let c = img.channels;
    let xa = border_index(x0, img.width, border) * c;
    let xb = border_index(x0 + 1, img.width, border) * c;
    let ya = border_index(y0, img.height, border) * img.width * c;
    let yb = border_index(y0 + 1, img.height, border) * img.width * c;
    let d = &img.data;
    for (ch, o) in out.iter_mut().enumerate() {
        let top = d[ya + xa + ch] * (1.0 - fx) + d[ya + xb + ch] * fx;
        let bottom = d[yb + xa + ch] * (1.0 - fx) + d[yb + xb + ch] * fx;
        *o = top * (1.0 - fy) + bottom * fy;
    }
}

/// Resample through an inverse map: output pixel (x, y) reads the source at
/// `inverse(x, y)`.
pub fn warp(img: &Planes, border: Border, inverse: impl Fn(f32, f32) -> (f32, f32)) -> Planes {
    let c = img.channels;
    let mut out = Planes::new(img.width, img.height, c);
    for (i, px) in out.data.chunks_exact_mut(c).enumerate() {
        let (sx, sy) = inverse((i % img.width) as f32, (i / img.width) as f32);
        sample_bilinear_pixel(img, sx, sy, border, px);
    }
    out
}

/// The numpy re-implementation of ImageMagick's motion blur that
/// `imagecorruptions` uses: a one-sided Gaussian along `angle` degrees,
/// with edge pixels repeated where the shifted image runs out.
pub fn motion_blur(img: &Planes, radius: usize, sigma: f64, angle_deg: f64) -> Planes {
    let width = radius * 2 + 1;
    let mut k: Vec<f64> = (0..width).map(|x| (-((x * x) as f64) / (2.0 * sigma * sigma)).exp()).collect();
    let s: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    let (py, px) = (width as f64 * angle_deg.to_radians().sin(), width as f64 * angle_deg.to_radians().cos());
    let hyp = py.hypot(px);
    let (w, h, c) = (img.width, img.height, img.channels);
    let row_len = w * c;
    let mut out = Planes::new(w, h, c);
    let mut shifted = vec![0f32; row_len];
    for (i, &wk) in k.iter().enumerate() {
        let dy = -((i as f64 * py / hyp) - 0.5).ceil() as i64;
        let dx = -((i as f64 * px / hyp) - 0.5).ceil() as i64;
        if dy.unsigned_abs() as usize >= h || dx.unsigned_abs() as usize >= w {
            break;
        }
        // shifted(x, y) = img(x - dx, y - dy), edges repeated: the columns whose source
        // x - dx lies inside the row read it in place; only the repeated edge is copied.
        let (lo, hi) = ((dx.max(0) as usize).min(w), ((w as i64 + dx.min(0)).max(0) as usize).max(dx.max(0) as usize).min(w));
        for y in 0..h {
            let sy = (y as i64 - dy).clamp(0, h as i64 - 1) as usize;
            let row = &img.data[sy * row_len..(sy + 1) * row_len];
            let acc = &mut out.data[y * row_len..(y + 1) * row_len];
            // Interior: output x in lo..hi reads x - dx.
            let src0 = (lo as i64 - dx) as usize;
            axpy(&mut acc[lo * c..hi * c], wk as f32, &row[src0 * c..(src0 + hi - lo) * c]);
            for x in (0..lo).chain(hi..w) {
                let sx = (x as i64 - dx).clamp(0, w as i64 - 1) as usize;
                shifted[..c].copy_from_slice(&row[sx * c..(sx + 1) * c]);
                axpy(&mut acc[x * c..(x + 1) * c], wk as f32, &shifted[..c]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    fn noise(w: usize, h: usize, seed: u64) -> Planes {
        let mut rng = StdRng::seed_from_u64(seed);
        Planes::from_fn(w, h, 3, |_, _, _| rng.gen_range(0.0f32..255.0))
    }

    /// The per-pixel shifted copy motion_blur used before its in-place interior.
    fn motion_blur_per_pixel(img: &Planes, radius: usize, sigma: f64, angle_deg: f64) -> Planes {
        let width = radius * 2 + 1;
        let mut k: Vec<f64> = (0..width).map(|x| (-((x * x) as f64) / (2.0 * sigma * sigma)).exp()).collect();
        let s: f64 = k.iter().sum();
        k.iter_mut().for_each(|v| *v /= s);
        let (py, px) = (width as f64 * angle_deg.to_radians().sin(), width as f64 * angle_deg.to_radians().cos());
        let hyp = py.hypot(px);
        let (w, h, c) = (img.width, img.height, img.channels);
        let row_len = w * c;
        let mut out = Planes::new(w, h, c);
        let mut shifted = vec![0f32; row_len];
        for (i, &wk) in k.iter().enumerate() {
            let dy = -((i as f64 * py / hyp) - 0.5).ceil() as i64;
            let dx = -((i as f64 * px / hyp) - 0.5).ceil() as i64;
            if dy.unsigned_abs() as usize >= h || dx.unsigned_abs() as usize >= w {
                break;
            }
            for y in 0..h {
                let sy = (y as i64 - dy).clamp(0, h as i64 - 1) as usize;
                let row = &img.data[sy * row_len..(sy + 1) * row_len];
                for x in 0..w {
                    let sx = (x as i64 - dx).clamp(0, w as i64 - 1) as usize;
                    shifted[x * c..(x + 1) * c].copy_from_slice(&row[sx * c..(sx + 1) * c]);
                }
                axpy(&mut out.data[y * row_len..(y + 1) * row_len], wk as f32, &shifted);
            }
        }
        out
    }

    #[test]
    fn faster_paths_are_bit_identical_to_the_plain_ones() {
        // motion_blur's in-place interior against the per-pixel copy, every direction and
        // sizes down to 1 pixel (shifts beyond the image end the kernel early).
        for (k, &(w, h)) in [(224usize, 224usize), (37, 5), (1, 9), (3, 1), (16, 16)].iter().enumerate() {
            let img = noise(w, h, k as u64);
            for angle in [-135.0, -90.0, -45.0, -20.5, 0.0, 13.0, 45.0, 90.0, 180.0] {
                for (radius, sigma) in [(10usize, 3.0), (15, 12.0), (6, 1.0)] {
                    let (a, b) = (motion_blur(&img, radius, sigma, angle), motion_blur_per_pixel(&img, radius, sigma, angle));
                    assert!(a.data.iter().zip(&b.data).all(|(x, y)| x.to_bits() == y.to_bits()), "{w}x{h} angle {angle} radius {radius}");
                }
            }
        }
        // zoom_blur's accumulation in place against adding each clipped zoom.
        let img = noise(224, 200, 5);
        let mut acc = img.clone();
        let mut plain = img.clone();
        for z in [1.0, 1.03, 1.11, 1.31] {
            clipped_zoom_add(&img, z, &mut acc);
            plain.data.iter_mut().zip(&clipped_zoom(&img, z).data).for_each(|(a, b)| *a += b);
        }
        assert!(acc.data.iter().zip(&plain.data).all(|(x, y)| x.to_bits() == y.to_bits()));
        // One pixel's channels at once against one channel at a time, inside and far outside.
        let img = noise(13, 7, 9);
        let mut rng = StdRng::seed_from_u64(3);
        for border in [Border::Reflect, Border::Reflect101, Border::Nearest] {
            for _ in 0..2000 {
                let (x, y) = (rng.gen_range(-40.0f32..50.0), rng.gen_range(-30.0f32..40.0));
                let mut px = [0f32; 3];
                sample_bilinear_pixel(&img, x, y, border, &mut px);
                for (ch, v) in px.iter().enumerate() {
                    assert_eq!(v.to_bits(), sample_bilinear(&img, x, y, ch, border).to_bits(), "({x}, {y}) {border:?}");
                }
            }
        }
    }

    #[test]
    fn border_rules_match_scipy_and_opencv() {
        // n = 4: "abcd"
        let idx = |i, b| border_index(i, 4, b);
        assert_eq!([-2, -1, 4, 5].map(|i| idx(i, Border::Nearest)), [0, 0, 3, 3]);
        assert_eq!([-2, -1, 4, 5].map(|i| idx(i, Border::Reflect)), [1, 0, 3, 2]);
        assert_eq!([-2, -1, 4, 5].map(|i| idx(i, Border::Reflect101)), [2, 1, 2, 1]);
        // Far outside (elastic transform uses kernels wider than the image).
        assert!(border_index(-100, 4, Border::Reflect) < 4);
        assert_eq!(border_index(-7, 1, Border::Reflect101), 0);
    }

    #[test]
    fn scipy_gaussian_kernel_radius_and_sum() {
        let k = gaussian_kernel(1.0, 4.0);
        assert_eq!(k.len(), 9);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // scipy.ndimage._gaussian_kernel1d(1, 0, 4)[4] == 0.39894...
        assert!((k[4] - 0.398942).abs() < 1e-5);
    }

    #[test]
    fn gaussian_keeps_constant_images_constant() {
        let p = Planes { width: 7, height: 5, channels: 3, data: vec![0.25; 105] };
        for b in [Border::Nearest, Border::Reflect, Border::Reflect101] {
            let g = gaussian(&p, 3.0, b, 4.0);
            assert!(g.data.iter().all(|v| (v - 0.25).abs() < 1e-6));
        }
    }

    #[test]
    fn zoom_output_size_and_endpoints_follow_scipy() {
        let p = Planes::from_fn(10, 10, 1, |x, _, _| x as f32);
        let z = zoom(&p, 1.25); // round(12.5) = 12 (half to even)
        assert_eq!((z.width, z.height), (12, 12));
        assert_eq!(z.at(0, 0, 0), 0.0);
        assert_eq!(z.at(11, 0, 0), 9.0);
    }

    #[test]
    fn clipped_zoom_matches_crop_zoom_and_trim() {
        // The fused implementation against the literal recipe.
        let p = Planes::from_fn(37, 29, 3, |x, y, c| ((x * 7 + y * 13 + c * 5) % 31) as f32);
        for z in [1.01, 1.07, 1.3, 2.0, 4.5] {
            let (w, h) = (37usize, 29usize);
            let (cw, chh) = ((w as f64 / z).ceil() as usize, (h as f64 / z).ceil() as usize);
            let (l, t) = ((w - cw) / 2, (h - chh) / 2);
            let crop = Planes::from_fn(cw, chh, 3, |x, y, c| p.at(l + x, t + y, c));
            let zz = zoom(&crop, z);
            let (tl, tt) = (zz.width.saturating_sub(w) / 2, zz.height.saturating_sub(h) / 2);
            let want = Planes::from_fn(w, h, 3, |x, y, c| zz.at((tl + x).min(zz.width - 1), (tt + y).min(zz.height - 1), c));
            let got = clipped_zoom(&p, z);
            assert!(got.data.iter().zip(&want.data).all(|(a, b)| (a - b).abs() < 1e-4), "zoom {z}");
        }
    }

    #[test]
    fn clipped_zoom_keeps_size_and_enlarges_the_centre() {
        let p = Planes::from_fn(32, 32, 1, |x, _, _| x as f32);
        let z = clipped_zoom(&p, 2.0);
        assert_eq!((z.width, z.height), (32, 32));
        let slope = z.at(20, 3, 0) - z.at(19, 3, 0);
        assert!(slope < 0.6, "zoom 2 halves the gradient, got {slope}");
    }

    #[test]
    fn hsv_round_trip() {
        for &(r, g, b) in &[(0.2, 0.4, 0.6), (1.0, 0.0, 0.0), (0.5, 0.5, 0.5), (0.1, 0.9, 0.3)] {
            let (h, s, v) = rgb_to_hsv(r, g, b);
            let (r2, g2, b2) = hsv_to_rgb(h, s, v);
            assert!((r - r2).abs() < 1e-6 && (g - g2).abs() < 1e-6 && (b - b2).abs() < 1e-6);
        }
    }

    #[test]
    fn box_resize_averages_blocks() {
        let p = Planes::from_fn(4, 2, 1, |x, _, _| if x < 2 { 10.0 } else { 30.0 });
        let r = resize_box(&p, 2, 1);
        assert_eq!(r.data, vec![10.0, 30.0]);
        let up = resize_box(&r, 4, 2);
        assert_eq!(up.data, vec![10.0, 10.0, 30.0, 30.0, 10.0, 10.0, 30.0, 30.0]);
    }

    #[test]
    fn disk_kernel_sums_as_opencv_gives() {
        let (k, n) = disk(3.0, 0.1);
        assert_eq!(n, 17);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-5);
        // Radius 10 touches the kernel's edge, so OpenCV's reflected border
        // adds mass: imagecorruptions' disk(10, 0.5).sum() is 1.0107858.
        let (k, n) = disk(10.0, 0.5);
        assert_eq!(n, 21);
        assert!((k.iter().sum::<f64>() - 1.0107858).abs() < 1e-5, "{}", k.iter().sum::<f64>());
    }

    #[test]
    fn motion_blur_of_a_constant_is_the_constant() {
        let p = Planes { width: 16, height: 16, channels: 1, data: vec![100.0; 256] };
        let m = motion_blur(&p, 10, 3.0, 30.0);
        assert!(m.data.iter().all(|v| (v - 100.0).abs() < 1e-3));
    }
}
