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

/// Correlate every row and then every column with a 1-D kernel (centred),
/// per channel. Sums in f64, as scipy does.
pub fn separable(img: &Planes, kx: &[f64], ky: &[f64], border: Border) -> Planes {
    let (w, h, c) = (img.width, img.height, img.channels);
    let mut tmp = vec![0f32; img.data.len()];
    let rx = (kx.len() / 2) as i64;
    // Rows.
    let xs: Vec<Vec<usize>> = (0..w as i64).map(|x| (0..kx.len() as i64).map(|k| border_index(x + k - rx, w, border)).collect()).collect();
    for y in 0..h {
        let row = &img.data[y * w * c..(y + 1) * w * c];
        for x in 0..w {
            for ch in 0..c {
                let mut s = 0f64;
                for (k, &src) in xs[x].iter().enumerate() {
                    s += kx[k] * row[src * c + ch] as f64;
                }
                tmp[(y * w + x) * c + ch] = s as f32;
            }
        }
    }
    // Columns.
    let ry = (ky.len() / 2) as i64;
    let mut out = vec![0f32; img.data.len()];
    let mut acc = vec![0f64; w * c];
    for y in 0..h {
        acc.iter_mut().for_each(|a| *a = 0.0);
        for (k, &wk) in ky.iter().enumerate() {
            let src = border_index(y as i64 + k as i64 - ry, h, border);
            let row = &tmp[src * w * c..(src + 1) * w * c];
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += wk * v as f64;
            }
        }
        for (o, a) in out[y * w * c..(y + 1) * w * c].iter_mut().zip(&acc) {
            *o = *a as f32;
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
pub fn filter2d(img: &Planes, kernel: &[f64], kw: usize, kh: usize) -> Planes {
    let (w, h, c) = (img.width, img.height, img.channels);
    let (ax, ay) = ((kw / 2) as i64, (kh / 2) as i64);
    let xs: Vec<Vec<usize>> = (0..w as i64).map(|x| (0..kw as i64).map(|k| border_index(x + k - ax, w, Border::Reflect101)).collect()).collect();
    let mut out = Planes::new(w, h, c);
    let mut acc = vec![0f64; w * c];
    for y in 0..h {
        acc.iter_mut().for_each(|a| *a = 0.0);
        for ky in 0..kh {
            let sy = border_index(y as i64 + ky as i64 - ay, h, Border::Reflect101);
            let row = &img.data[sy * w * c..(sy + 1) * w * c];
            for kx in 0..kw {
                let wk = kernel[ky * kw + kx];
                if wk == 0.0 {
                    continue;
                }
                for x in 0..w {
                    let src = xs[x][kx] * c;
                    for ch in 0..c {
                        acc[x * c + ch] += wk * row[src + ch] as f64;
                    }
                }
            }
        }
        for (o, a) in out.data[y * w * c..(y + 1) * w * c].iter_mut().zip(&acc) {
            *o = *a as f32;
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
    let mut out = Planes::new(xs.len(), ys.len(), c);
    for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
        for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
            for ch in 0..c {
                let a = img.at(x0, y0, ch) * (1.0 - fx) + img.at(x1, y0, ch) * fx;
                let b = img.at(x0, y1, ch) * (1.0 - fx) + img.at(x1, y1, ch) * fx;
                out.data[(oy * out.width + ox) * c + ch] = a * (1.0 - fy) + b * fy;
            }
        }
    }
    out
}

/// ImageNet-C's `clipped_zoom`: crop the centre `ceil(n / z)`, zoom it by `z`,
/// and trim the result back to the original size around its centre.
pub fn clipped_zoom(img: &Planes, z: f64) -> Planes {
    let (w, h) = (img.width, img.height);
    let cw = ((w as f64 / z).ceil() as usize).clamp(1, w);
    let ch = ((h as f64 / z).ceil() as usize).clamp(1, h);
    let (left, top) = ((w - cw) / 2, (h - ch) / 2);
    let crop = Planes::from_fn(cw, ch, img.channels, |x, y, c| img.at(left + x, top + y, c));
    let zoomed = zoom(&crop, z);
    let tl = zoomed.width.saturating_sub(w) / 2;
    let tt = zoomed.height.saturating_sub(h) / 2;
    Planes::from_fn(w, h, img.channels, |x, y, c| {
        zoomed.at((tl + x).min(zoomed.width - 1), (tt + y).min(zoomed.height - 1), c)
    })
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

/// Resample through an inverse map: output pixel (x, y) reads the source at
/// `inverse(x, y)`.
pub fn warp(img: &Planes, border: Border, inverse: impl Fn(f32, f32) -> (f32, f32)) -> Planes {
    let c = img.channels;
    let mut out = Planes::new(img.width, img.height, c);
    for y in 0..img.height {
        for x in 0..img.width {
            let (sx, sy) = inverse(x as f32, y as f32);
            for ch in 0..c {
                out.data[(y * img.width + x) * c + ch] = sample_bilinear(img, sx, sy, ch, border);
            }
        }
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
    let mut out = Planes::new(img.width, img.height, img.channels);
    for (i, &wk) in k.iter().enumerate() {
        let dy = -((i as f64 * py / hyp) - 0.5).ceil() as i64;
        let dx = -((i as f64 * px / hyp) - 0.5).ceil() as i64;
        if dy.unsigned_abs() as usize >= img.height || dx.unsigned_abs() as usize >= img.width {
            break;
        }
        // shifted(x, y) = img(x - dx, y - dy), edges repeated.
        for y in 0..img.height {
            let sy = (y as i64 - dy).clamp(0, img.height as i64 - 1) as usize;
            for x in 0..img.width {
                let sx = (x as i64 - dx).clamp(0, img.width as i64 - 1) as usize;
                for ch in 0..img.channels {
                    out.data[(y * img.width + x) * img.channels + ch] += (wk * img.at(sx, sy, ch) as f64) as f32;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
