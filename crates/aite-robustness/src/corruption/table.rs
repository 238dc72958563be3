//! Severity parameters, `c[s-1]` for severity `s = 1..=5`.
//!
//! The ImageNet-C and CIFAR-10-C rows are the published constants of
//! hendrycks/robustness (`make_imagenet_c.py`, `make_cifar_c.py`), so that
//! accuracies measured here compare with published ones. The camera rows are
//! aite's own and documented in docs/robustness.md.

use serde::{Deserialize, Serialize};

/// Which published parameter table drives the ImageNet-C corruptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ParameterTable {
    /// `make_imagenet_c.py` (224x224 inputs).
    ImagenetC,
    /// `make_cifar_c.py` (32x32 inputs).
    CifarC,
}

impl ParameterTable {
    /// The table for an image of this size: CIFAR-10-C up to 64 pixels on the
    /// shorter side, ImageNet-C above.
    pub fn for_size(width: usize, height: usize) -> Self {
        if width.min(height) <= 64 {
            ParameterTable::CifarC
        } else {
            ParameterTable::ImagenetC
        }
    }

    /// The side length the table's constants were written for.
    pub fn nominal_side(self) -> f64 {
        match self {
            ParameterTable::ImagenetC => 224.0,
            ParameterTable::CifarC => 32.0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ParameterTable::ImagenetC => "imagenet-c",
            ParameterTable::CifarC => "cifar-c",
        }
    }
}

impl std::str::FromStr for ParameterTable {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "imagenet-c" | "imagenet" => Ok(ParameterTable::ImagenetC),
            "cifar-c" | "cifar" | "cifar10-c" => Ok(ParameterTable::CifarC),
            _ => Err(format!("unknown parameter table `{s}` (use imagenet-c or cifar-c)")),
        }
    }
}

fn pick<T: Copy>(table: ParameterTable, s: u8, imagenet: [T; 5], cifar: [T; 5]) -> T {
    let i = (s.clamp(1, 5) - 1) as usize;
    match table {
        ParameterTable::ImagenetC => imagenet[i],
        ParameterTable::CifarC => cifar[i],
    }
}

pub fn gaussian_noise(t: ParameterTable, s: u8) -> f64 {
    pick(t, s, [0.08, 0.12, 0.18, 0.26, 0.38], [0.04, 0.06, 0.08, 0.09, 0.10])
}
pub fn shot_noise(t: ParameterTable, s: u8) -> f64 {
    pick(t, s, [60.0, 25.0, 12.0, 5.0, 3.0], [500.0, 250.0, 100.0, 75.0, 50.0])
}
pub fn impulse_noise(t: ParameterTable, s: u8) -> f64 {
    pick(t, s, [0.03, 0.06, 0.09, 0.17, 0.27], [0.01, 0.02, 0.03, 0.05, 0.07])
}
pub fn speckle_noise(t: ParameterTable, s: u8) -> f64 {
    pick(t, s, [0.15, 0.2, 0.35, 0.45, 0.6], [0.06, 0.1, 0.12, 0.16, 0.2])
}
pub fn gaussian_blur(t: ParameterTable, s: u8) -> f64 {
    pick(t, s, [1.0, 2.0, 3.0, 4.0, 6.0], [0.4, 0.6, 0.7, 0.8, 1.0])
}
/// (sigma, max_delta, iterations)
pub fn glass_blur(t: ParameterTable, s: u8) -> (f64, i64, usize) {
    pick(t, s, [(0.7, 1, 2), (0.9, 2, 1), (1.0, 2, 3), (1.1, 3, 2), (1.5, 4, 2)], [(0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)])
}
/// (radius, alias_blur)
pub fn defocus_blur(t: ParameterTable, s: u8) -> (f64, f64) {
    pick(t, s, [(3.0, 0.1), (4.0, 0.5), (6.0, 0.5), (8.0, 0.5), (10.0, 0.5)], [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1.0, 0.2), (1.5, 0.1)])
}
/// (radius, sigma)
pub fn motion_blur(t: ParameterTable, s: u8) -> (usize, f64) {
    pick(t, s, [(10, 3.0), (15, 5.0), (15, 8.0), (15, 12.0), (20, 15.0)], [(6, 1.0), (6, 1.5), (6, 2.0), (8, 2.0), (9, 2.5)])
}
/// `np.arange(1, stop, step)` as (stop, step).
pub fn zoom_blur(t: ParameterTable, s: u8) -> Vec<f64> {
    let (stop, step): (f64, f64) = pick(t, s, [(1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03)], [(1.06, 0.01), (1.11, 0.01), (1.16, 0.01), (1.21, 0.01), (1.26, 0.01)]);
    // numpy: length ceil((stop - start) / step), values start + i * step.
    let n = ((stop - 1.0) / step).ceil() as usize;
    (0..n).map(|i| 1.0 + i as f64 * step).collect()
}
/// (loc, scale, zoom, threshold, blur radius, blur sigma, blend)
pub fn snow(t: ParameterTable, s: u8) -> (f64, f64, f64, f64, usize, f64, f64) {
    pick(
        t,
        s,
        [
            (0.1, 0.3, 3.0, 0.5, 10, 4.0, 0.8),
            (0.2, 0.3, 2.0, 0.5, 12, 4.0, 0.7),
            (0.55, 0.3, 4.0, 0.9, 12, 8.0, 0.7),
            (0.55, 0.3, 4.5, 0.85, 12, 8.0, 0.65),
            (0.55, 0.3, 2.5, 0.85, 12, 12.0, 0.55),
        ],
        [
            (0.1, 0.2, 1.0, 0.6, 8, 3.0, 0.95),
            (0.1, 0.2, 1.0, 0.5, 10, 4.0, 0.9),
            (0.15, 0.3, 1.75, 0.55, 10, 4.0, 0.9),
            (0.25, 0.3, 2.25, 0.6, 12, 6.0, 0.85),
            (0.3, 0.3, 1.25, 0.65, 14, 12.0, 0.8),
        ],
    )
}
/// (image weight, frost weight)
pub fn frost(t: ParameterTable, s: u8) -> (f64, f64) {
    pick(t, s, [(1.0, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)], [(1.0, 0.2), (1.0, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)])
}
/// (strength, wibble decay)
pub fn fog(t: ParameterTable, s: u8) -> (f64, f64) {
    pick(t, s, [(1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)], [(0.2, 3.0), (0.5, 3.0), (0.75, 2.5), (1.0, 2.0), (1.5, 1.75)])
}
pub fn brightness(t: ParameterTable, s: u8) -> f64 {
    pick(t, s, [0.1, 0.2, 0.3, 0.4, 0.5], [0.05, 0.1, 0.15, 0.2, 0.3])
}
pub fn contrast(t: ParameterTable, s: u8) -> f64 {
    pick(t, s, [0.4, 0.3, 0.2, 0.1, 0.05], [0.75, 0.5, 0.4, 0.3, 0.15])
}
/// (alpha, sigma, affine) as fractions of the nominal side (ImageNet-C uses 244, sic).
pub fn elastic(t: ParameterTable, s: u8) -> (f64, f64, f64) {
    let (a, b, c) = pick(
        t,
        s,
        [(2.0, 0.7, 0.1), (2.0, 0.08, 0.2), (0.05, 0.01, 0.02), (0.07, 0.01, 0.02), (0.12, 0.01, 0.02)],
        [(0.0, 0.0, 0.08), (0.05, 0.2, 0.07), (0.08, 0.06, 0.06), (0.1, 0.04, 0.05), (0.1, 0.03, 0.03)],
    );
    let side = match t {
        ParameterTable::ImagenetC => 244.0,
        ParameterTable::CifarC => 32.0,
    };
    (a * side, b * side, c * side)
}
pub fn pixelate(t: ParameterTable, s: u8) -> f64 {
    pick(t, s, [0.6, 0.5, 0.4, 0.3, 0.25], [0.95, 0.9, 0.85, 0.75, 0.65])
}
pub fn jpeg_quality(t: ParameterTable, s: u8) -> u8 {
    pick(t, s, [25, 18, 15, 10, 7], [80, 65, 58, 50, 40])
}
/// (loc, scale, sigma, threshold, intensity or mud sigma, mode: 0 water, 1 mud)
pub fn spatter(t: ParameterTable, s: u8) -> (f64, f64, f64, f64, f64, u8) {
    pick(
        t,
        s,
        [(0.65, 0.3, 4.0, 0.69, 0.6, 0), (0.65, 0.3, 3.0, 0.68, 0.6, 0), (0.65, 0.3, 2.0, 0.68, 0.5, 0), (0.65, 0.3, 1.0, 0.65, 1.5, 1), (0.67, 0.4, 1.0, 0.65, 1.5, 1)],
        [(0.62, 0.1, 0.7, 0.7, 0.5, 0), (0.65, 0.1, 0.8, 0.7, 0.5, 0), (0.65, 0.3, 1.0, 0.69, 0.5, 0), (0.65, 0.1, 0.7, 0.69, 0.6, 1), (0.65, 0.1, 0.5, 0.68, 0.6, 1)],
    )
}
/// (saturation factor, offset)
pub fn saturate(t: ParameterTable, s: u8) -> (f64, f64) {
    pick(t, s, [(0.3, 0.0), (0.1, 0.0), (2.0, 0.0), (5.0, 0.1), (20.0, 0.2)], [(0.3, 0.0), (0.1, 0.0), (1.5, 0.0), (2.0, 0.1), (2.5, 0.2)])
}

// Camera shifts (aite's own scale; the same for every resolution).

/// Exposure change in stops (EV), applied in linear light.
pub fn exposure_stops(s: u8) -> f64 {
    [0.5, 1.0, 1.5, 2.0, 3.0][(s.clamp(1, 5) - 1) as usize]
}
/// Low light: (stops under, full-well electrons at the brightest pixel, read noise electrons).
pub fn low_light(s: u8) -> (f64, f64, f64) {
    [(1.0, 4000.0, 2.0), (2.0, 2000.0, 3.0), (3.0, 1000.0, 4.0), (4.0, 500.0, 5.0), (5.0, 250.0, 6.0)][(s.clamp(1, 5) - 1) as usize]
}
/// JPEG re-encoding: (quality, generations).
pub fn recompression(s: u8) -> (u8, usize) {
    [(75, 2), (60, 3), (50, 4), (40, 5), (30, 6)][(s.clamp(1, 5) - 1) as usize]
}
/// Rotation in degrees (sign drawn at random).
pub fn rotation_deg(s: u8) -> f64 {
    [2.5, 5.0, 10.0, 15.0, 20.0][(s.clamp(1, 5) - 1) as usize]
}
/// Scale change: factor `1 +/- d` (direction drawn at random).
pub fn scale_delta(s: u8) -> f64 {
    [0.1, 0.2, 0.3, 0.4, 0.5][(s.clamp(1, 5) - 1) as usize]
}
/// Translation as a fraction of the image side.
pub fn translation(s: u8) -> f64 {
    [0.05, 0.1, 0.15, 0.2, 0.25][(s.clamp(1, 5) - 1) as usize]
}
/// Barrel distortion coefficient k1 (radius normalised to the half-diagonal).
pub fn lens_k1(s: u8) -> f64 {
    [0.05, 0.1, 0.2, 0.3, 0.4][(s.clamp(1, 5) - 1) as usize]
}
/// Fraction of the image area hidden by the occluder.
pub fn occlusion_area(s: u8) -> f64 {
    [0.05, 0.1, 0.2, 0.3, 0.4][(s.clamp(1, 5) - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_factors_follow_numpy_arange() {
        // Lengths numpy gives (float rounding makes np.arange(1, 1.11, 0.01) include 1.11).
        let lens = |t| (1..=5).map(|s| zoom_blur(t, s).len()).collect::<Vec<_>>();
        assert_eq!(lens(ParameterTable::ImagenetC), [12, 16, 11, 13, 11]);
        assert_eq!(lens(ParameterTable::CifarC), [7, 12, 16, 21, 26]);
    }

    #[test]
    fn table_selection_by_resolution() {
        assert_eq!(ParameterTable::for_size(32, 32), ParameterTable::CifarC);
        assert_eq!(ParameterTable::for_size(341, 256), ParameterTable::ImagenetC);
    }
}
