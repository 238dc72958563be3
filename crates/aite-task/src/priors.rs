//! SSD prior (anchor) boxes from a declared config.
//!
//! Follows `generate_priors` of the UltraFace authors
//! (Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB, `vision/utils/box_utils.py`
//! and `vision/ssd/config/fd_config.py`): per feature map (size `ceil(input / stride)`),
//! row by row, column by column, one prior per minimum size, centred at
//! `((i + 0.5) / map_width, (j + 0.5) / map_height)` (the authors' shrinkage is
//! `input / map`, not the stride: 240 / 64 rounds up to a 4-row map whose centres
//! are at eighths), sized `min_size / width` by `min_size / height`, all normalised
//! and clamped to [0, 1].

use crate::TaskError;
use serde::{Deserialize, Serialize};

/// One prior in centre form, normalised to the input size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
}

/// The declared prior config: input size, one stride and a list of minimum box
/// sizes (pixels) per feature map, and the centre / size variances of the encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorConfig {
    /// Model input `[width, height]` in pixels.
    pub image_size: [usize; 2],
    /// Feature map strides (pixels per cell), one per feature map.
    pub strides: Vec<usize>,
    /// Minimum box sizes in pixels, one list per feature map.
    pub min_sizes: Vec<Vec<f64>>,
    /// `[centre, size]` variances of the SSD encoding (0.1, 0.2 in SSD and UltraFace).
    pub variances: [f32; 2],
    /// Clamp every prior coordinate to [0, 1] (UltraFace does).
    #[serde(default = "yes")]
    pub clamp: bool,
}

fn yes() -> bool {
    true
}

impl PriorConfig {
    /// The UltraFace RFB-320 / slim-320 config (both share the detection heads):
    /// 320x240, strides 8/16/32/64, min sizes [10,16,24] [32,48] [64,96] [128,192,256],
    /// variances 0.1 / 0.2.
    pub fn ultraface_320() -> Self {
        PriorConfig {
            image_size: [320, 240],
            strides: vec![8, 16, 32, 64],
            min_sizes: vec![vec![10.0, 16.0, 24.0], vec![32.0, 48.0], vec![64.0, 96.0], vec![128.0, 192.0, 256.0]],
            variances: [0.1, 0.2],
            clamp: true,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), TaskError> {
        let bad = |reason: String| Err(TaskError::Spec { reason, hint: "priors need image_size = [W, H], one stride and one min_sizes list per feature map".into() });
        if self.image_size.contains(&0) {
            return bad(format!("priors.image_size {:?} has a zero side", self.image_size));
        }
        if self.strides.is_empty() || self.strides.len() != self.min_sizes.len() {
            return bad(format!("{} strides but {} min_sizes lists", self.strides.len(), self.min_sizes.len()));
        }
        if self.strides.contains(&0) || self.min_sizes.iter().any(|m| m.is_empty() || m.iter().any(|&s| !(s > 0.0 && s.is_finite()))) {
            return bad("a stride is 0 or a min_sizes list is empty or not positive".into());
        }
        if self.variances.iter().any(|&v| !(v > 0.0 && v.is_finite())) {
            return bad(format!("variances {:?} must be positive", self.variances));
        }
        Ok(())
    }

    /// Feature map `[width, height]` per stride: `ceil(input / stride)`.
    pub fn feature_maps(&self) -> Vec<[usize; 2]> {
        let [w, h] = self.image_size;
        self.strides.iter().map(|&s| [w.div_ceil(s), h.div_ceil(s)]).collect()
    }

    /// Every prior, in the order the model's outputs list them.
    pub fn generate(&self) -> Vec<Prior> {
        let [iw, ih] = self.image_size.map(|v| v as f64);
        let clamp = |v: f64| if self.clamp { v.clamp(0.0, 1.0) } else { v };
        let mut priors = Vec::new();
        for ([fw, fh], sizes) in self.feature_maps().into_iter().zip(&self.min_sizes) {
            let (scale_w, scale_h) = (fw as f64, fh as f64);
            for j in 0..fh {
                for i in 0..fw {
                    let cx = (i as f64 + 0.5) / scale_w;
                    let cy = (j as f64 + 0.5) / scale_h;
                    for &m in sizes {
                        priors.push(Prior {
                            cx: clamp(cx) as f32,
                            cy: clamp(cy) as f32,
                            w: clamp(m / iw) as f32,
                            h: clamp(m / ih) as f32,
                        });
                    }
                }
            }
        }
        priors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ultraface_priors_match_hand_computed_values() {
        let cfg = PriorConfig::ultraface_320();
        assert_eq!(cfg.feature_maps(), vec![[40, 30], [20, 15], [10, 8], [5, 4]]);
        let p = cfg.generate();
        // 40*30*3 + 20*15*2 + 10*8*2 + 5*4*3
        assert_eq!(p.len(), 3600 + 600 + 160 + 60);
        // First prior: cell (0,0) of stride 8, min size 10: centre (4/320, 4/240), size (10/320, 10/240).
        let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-7;
        assert!(close(p[0].cx, 4.0 / 320.0) && close(p[0].cy, 4.0 / 240.0) && close(p[0].w, 10.0 / 320.0) && close(p[0].h, 10.0 / 240.0), "{:?}", p[0]);
        // Third prior: same cell, min size 24.
        assert!(close(p[2].w, 24.0 / 320.0) && close(p[2].h, 0.1));
        // Fourth: next column, centre x = 12/320.
        assert!(close(p[3].cx, 12.0 / 320.0) && close(p[3].cy, 4.0 / 240.0));
        // First prior of the second map (index 3600): stride 16 -> centre (8/320, 8/240), min size 32.
        assert!(close(p[3600].cx, 0.025) && close(p[3600].cy, 8.0 / 240.0) && close(p[3600].w, 0.1));
        // Stride 32: 240 / 32 = 7.5 rounds up to 8 rows, centres at (j + 0.5) / 8:
        // first prior of row 1 (index 3600 + 600 + 10*2) at y = 1.5 / 8.
        assert!(close(p[4220].cx, 0.05) && close(p[4220].cy, 0.1875) && close(p[4220].w, 0.2), "{:?}", p[4220]);
        // Last prior: stride 64 map 5x4, cell (4, 3), centre (4.5/5, 3.5/4) = (0.9, 0.875),
        // size 256 -> (0.8, 1.0667 clamped to 1.0).
        let last = p.last().unwrap();
        assert!(close(last.cx, 0.9) && close(last.cy, 0.875) && close(last.w, 0.8) && close(last.h, 1.0), "{last:?}");
    }

    #[test]
    fn mismatched_config_is_an_error() {
        let mut cfg = PriorConfig::ultraface_320();
        cfg.strides.pop();
        assert!(cfg.validate().unwrap_err().to_string().contains("3 strides but 4 min_sizes"));
    }
}
