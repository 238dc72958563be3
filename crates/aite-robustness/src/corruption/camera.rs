//! Camera shifts beyond ImageNet-C (exposure, low-light sensor noise, JPEG
//! generation loss, mounting geometry, lens distortion, occlusion), plus the
//! pieces they share with the ImageNet-C set: JPEG round trips, affine maps
//! and the procedural frost texture (`frost_procedural`).

use super::filters::{self, Border, Planes};
use super::{table, to_planes, to_rgb8_unit, CorruptionKind};
use image::RgbImage;
use rand::{rngs::StdRng, Rng};
use rand_distr::{Distribution, Normal};

/// Encode as baseline JPEG at `quality` and decode again, as PIL's
/// `Image.save(format='JPEG', quality=q)` and `Image.open` do with
/// libjpeg-turbo: IJG-scaled Annex K tables, 4:2:0, integer DCT and IDCT,
/// fancy upsampling (see [`super::jpeg`]).
pub fn jpeg_round_trip(img: &RgbImage, quality: u8) -> RgbImage {
    super::jpeg::round_trip(img, quality)
}

/// sRGB transfer function and its inverse (IEC 61966-2-1).
fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}
fn linear_to_srgb(v: f32) -> f32 {
    let v = v.max(0.0);
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

/// A 2x3 affine map `[a b c; d e f]`: (x, y) -> (a x + b y + c, d x + e y + f).
pub type Affine = [f64; 6];

/// `cv2.getAffineTransform`: the affine map taking three points onto three others.
pub fn affine_from_points(src: &[(f64, f64); 3], dst: &[(f64, f64); 3]) -> Option<Affine> {
    let [(x0, y0), (x1, y1), (x2, y2)] = *src;
    let det = x0 * (y1 - y2) - y0 * (x1 - x2) + (x1 * y2 - x2 * y1);
    if det.abs() < 1e-12 {
        return None;
    }
    let solve = |u0: f64, u1: f64, u2: f64| {
        // Cramer's rule for [x y 1] * [p q r]^T = u.
        let p = (u0 * (y1 - y2) - y0 * (u1 - u2) + (u1 * y2 - u2 * y1)) / det;
        let q = (x0 * (u1 - u2) - u0 * (x1 - x2) + (x1 * u2 - x2 * u1)) / det;
        let r = (x0 * (y1 * u2 - y2 * u1) - y0 * (x1 * u2 - x2 * u1) + u0 * (x1 * y2 - x2 * y1)) / det;
        (p, q, r)
    };
    let (a, b, c) = solve(dst[0].0, dst[1].0, dst[2].0);
    let (d, e, f) = solve(dst[0].1, dst[1].1, dst[2].1);
    Some([a, b, c, d, e, f])
}

pub fn invert_affine(m: Affine) -> Option<Affine> {
    let [a, b, c, d, e, f] = m;
    let det = a * e - b * d;
    if det.abs() < 1e-12 {
        return None;
    }
    let (ia, ib, id, ie) = (e / det, -b / det, -d / det, a / det);
    Some([ia, ib, -(ia * c + ib * f), id, ie, -(id * c + ie * f)])
}

pub fn apply_affine(m: &Affine, x: f32, y: f32) -> (f32, f32) {
    let (x, y) = (x as f64, y as f64);
    ((m[0] * x + m[1] * y + m[2]) as f32, (m[3] * x + m[4] * y + m[5]) as f32)
}

/// Procedural frost (0..=255, RGB) for the `frost_procedural` alternative:
/// ice needles with side branches over a fractal haze, slightly blue,
/// calibrated to the statistics of ImageNet-C's frost photographs at 224x224
/// (mean about (146, 167, 179) in RGB, standard deviation about 35 grey
/// levels). Not ImageNet-C's frost (that is [`super::frost`]): at 32x32 it
/// damages images far less than the photographs do.
pub fn frost_texture(w: usize, h: usize, rng: &mut StdRng) -> Planes {
    let side = w.max(h).next_power_of_two();
    let haze = super::plasma_fractal(side, 1.6, rng);
    let mut ice = Planes::new(w, h, 1);
    let needles = (w * h / 60).max(8);
    let max_len = (w.min(h) as f64 / 5.0).max(3.0);
    let plot = |ice: &mut Planes, x0: f64, y0: f64, angle: f64, len: f64, v: f32| {
        let (dx, dy) = (angle.cos(), angle.sin());
        let mut t = 0.0;
        while t < len {
            let (x, y) = (x0 + dx * t, y0 + dy * t);
            if x >= 0.0 && y >= 0.0 && (x as usize) < w && (y as usize) < h {
                let i = y as usize * w + x as usize;
                ice.data[i] = ice.data[i].max(v * (1.0 - (t / len) as f32 * 0.5));
            }
            t += 0.5;
        }
    };
    for _ in 0..needles {
        let (x, y) = (rng.gen_range(0.0..w as f64), rng.gen_range(0.0..h as f64));
        let angle = rng.gen_range(0.0..std::f64::consts::TAU);
        let len = rng.gen_range(2.0..max_len);
        let v = rng.gen_range(0.5f32..1.0);
        plot(&mut ice, x, y, angle, len, v);
        for b in 1..3 {
            let at = len * b as f64 / 3.0;
            let (bx, by) = (x + angle.cos() * at, y + angle.sin() * at);
            for side in [-1.0, 1.0] {
                plot(&mut ice, bx, by, angle + side * std::f64::consts::FRAC_PI_3, len / 3.0, v * 0.8);
            }
        }
    }
    let ice = filters::gaussian(&ice, 0.6, Border::Nearest, 4.0);
    let haze_mean = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| haze[y * side + x]).sum::<f64>() / (w * h) as f64;
    let tint = [0.82f32, 0.93, 1.0];
    Planes::from_fn(w, h, 3, |x, y, c| {
        let v = 0.62 + 0.6 * (haze[y * side + x] - haze_mean) as f32 + 0.35 * ice.data[y * w + x];
        (v.clamp(0.0, 1.0) * 255.0 * tint[c]).min(255.0)
    })
}

/// Apply one of the camera shifts.
pub fn apply(img: &RgbImage, kind: CorruptionKind, s: u8, rng: &mut StdRng) -> RgbImage {
    let x = to_planes(img);
    let (w, h) = (x.width as f32, x.height as f32);
    let (cx, cy) = ((w - 1.0) / 2.0, (h - 1.0) / 2.0);
    match kind {
        CorruptionKind::Underexposure | CorruptionKind::Overexposure => {
            let stops = table::exposure_stops(s) as f32 * if kind == CorruptionKind::Underexposure { -1.0 } else { 1.0 };
            let gain = 2f32.powf(stops);
            to_rgb8_unit(&x.map(|v| linear_to_srgb((srgb_to_linear(v) * gain).min(1.0))))
        }
        CorruptionKind::LowLightNoise => {
            // Fewer photons (exposure cut by `stops`), shot noise on the
            // electrons collected, read noise, then the gain brings the
            // brightness back: the image a camera shows in a dark scene.
            let (stops, full_well, read) = table::low_light(s);
            let electrons_per_unit = full_well * 2f64.powf(-stops);
            let read_noise = Normal::new(0.0, read).expect("positive read noise");
            // 8-bit input: one Poisson distribution per grey level.
            let rates: Vec<super::PoissonTable> = (0..256).map(|v| super::PoissonTable::new(srgb_to_linear(v as f32 / 255.0) as f64 * electrons_per_unit)).collect();
            let data = img
                .as_raw()
                .iter()
                .map(|&v| {
                    let e = rates[v as usize].sample(rng);
                    let signal = (e + read_noise.sample(rng)) / electrons_per_unit;
                    linear_to_srgb(signal.clamp(0.0, 1.0) as f32)
                })
                .collect();
            to_rgb8_unit(&Planes { width: x.width, height: x.height, channels: 3, data })
        }
        CorruptionKind::JpegRecompression => {
            let (quality, generations) = table::recompression(s);
            let mut out = img.clone();
            for g in 0..generations {
                // Re-encoding after a one-pixel re-crop, as when a stream is
                // scaled or re-packaged between hops; identical re-encodes
                // would converge and hide the loss.
                out = jpeg_round_trip(&out, quality);
                if g % 2 == 0 {
                    out = shift_one_pixel(&out);
                }
            }
            out
        }
        CorruptionKind::Rotation => {
            let deg = table::rotation_deg(s) * if rng.gen::<bool>() { 1.0 } else { -1.0 };
            let (sin, cos) = (deg.to_radians().sin() as f32, deg.to_radians().cos() as f32);
            to_rgb8_unit(&filters::warp(&x, Border::Reflect101, |px, py| {
                let (dx, dy) = (px - cx, py - cy);
                (cx + cos * dx + sin * dy, cy - sin * dx + cos * dy)
            }))
        }
        CorruptionKind::Scale => {
            let f = 1.0 + table::scale_delta(s) as f32 * if rng.gen::<bool>() { 1.0 } else { -1.0 };
            to_rgb8_unit(&filters::warp(&x, Border::Reflect101, |px, py| (cx + (px - cx) / f, cy + (py - cy) / f)))
        }
        CorruptionKind::Translation => {
            let d = table::translation(s) as f32;
            let angle = rng.gen_range(0.0..std::f32::consts::TAU);
            let (tx, ty) = (d * w * angle.cos(), d * h * angle.sin());
            to_rgb8_unit(&filters::warp(&x, Border::Reflect101, |px, py| (px - tx, py - ty)))
        }
        CorruptionKind::LensDistortion => {
            // Barrel distortion: the output at radius r reads the source at
            // r (1 + k1 r^2), r normalised to the half-diagonal.
            let k1 = table::lens_k1(s) as f32;
            let norm = (cx * cx + cy * cy).sqrt().max(1.0);
            to_rgb8_unit(&filters::warp(&x, Border::Reflect101, |px, py| {
                let (dx, dy) = ((px - cx) / norm, (py - cy) / norm);
                let f = 1.0 + k1 * (dx * dx + dy * dy);
                (cx + dx * f * norm, cy + dy * f * norm)
            }))
        }
        CorruptionKind::Occlusion => {
            let area = table::occlusion_area(s) * w as f64 * h as f64;
            let aspect = rng.gen_range(0.5..2.0f64);
            let ow = ((area * aspect).sqrt().round() as usize).clamp(1, x.width);
            let oh = ((area / ow as f64).round() as usize).clamp(1, x.height);
            let left = rng.gen_range(0..=x.width - ow);
            let top = rng.gen_range(0..=x.height - oh);
            let shade = rng.gen_range(0.1f32..0.6);
            let mut out = x;
            for yy in top..top + oh {
                for xx in left..left + ow {
                    for c in 0..3 {
                        out.data[(yy * out.width + xx) * 3 + c] = shade;
                    }
                }
            }
            to_rgb8_unit(&out)
        }
        _ => img.clone(),
    }
}

fn shift_one_pixel(img: &RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    RgbImage::from_fn(w, h, |x, y| *img.get_pixel((x + 1).min(w - 1), (y + 1).min(h - 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affine_from_points_maps_the_points() {
        let src = [(10.0, 10.0), (30.0, 10.0), (10.0, 40.0)];
        let dst = [(12.0, 9.0), (31.0, 13.0), (8.0, 41.0)];
        let m = affine_from_points(&src, &dst).unwrap();
        for (s, d) in src.iter().zip(&dst) {
            let (x, y) = apply_affine(&m, s.0 as f32, s.1 as f32);
            assert!((x as f64 - d.0).abs() < 1e-4 && (y as f64 - d.1).abs() < 1e-4);
        }
        let inv = invert_affine(m).unwrap();
        let (x, y) = apply_affine(&inv, 12.0, 9.0);
        assert!((x - 10.0).abs() < 1e-4 && (y - 10.0).abs() < 1e-4);
    }

    #[test]
    fn srgb_round_trip() {
        for v in [0.0f32, 0.01, 0.2, 0.5, 1.0] {
            assert!((linear_to_srgb(srgb_to_linear(v)) - v).abs() < 1e-5);
        }
    }

    #[test]
    fn exposure_moves_the_mean_the_right_way() {
        let img = RgbImage::from_fn(16, 16, |x, y| image::Rgb([(x * 16) as u8, (y * 16) as u8, 128]));
        let mean = |i: &RgbImage| i.as_raw().iter().map(|&v| v as f64).sum::<f64>() / i.as_raw().len() as f64;
        let mut rng = rand::SeedableRng::seed_from_u64(0);
        let under = apply(&img, CorruptionKind::Underexposure, 3, &mut rng);
        let over = apply(&img, CorruptionKind::Overexposure, 3, &mut rng);
        assert!(mean(&under) < mean(&img) && mean(&img) < mean(&over));
    }

    #[test]
    fn occlusion_hides_the_requested_area() {
        let img = RgbImage::from_pixel(100, 100, image::Rgb([255, 255, 255]));
        let mut rng = rand::SeedableRng::seed_from_u64(5);
        let out = apply(&img, CorruptionKind::Occlusion, 3, &mut rng);
        let hidden = out.pixels().filter(|p| p.0[0] < 255).count();
        assert!((1800..=2200).contains(&hidden), "severity 3 hides 20% of 10000 pixels, got {hidden}");
    }
}
