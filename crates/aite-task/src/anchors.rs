//! SSD anchors as MediaPipe's `SsdAnchorsCalculator` generates them (BlazeFace).
//!
//! Follows `mediapipe/calculators/tflite/ssd_anchors_calculator.cc` (non-multiscale
//! path): consecutive layers with the same stride share one feature map of
//! `ceil(input / stride)` cells; per cell (rows, then columns) one anchor per
//! (layer, aspect ratio), plus one at the interpolated scale `sqrt(s_i * s_{i+1})`
//! when `interpolated_scale_aspect_ratio > 0`; centres at
//! `((x + offset_x) / map_w, (y + offset_y) / map_h)`; sizes 1 x 1 with
//! `fixed_anchor_size`, otherwise `scale / sqrt(ratio)` high and `scale * sqrt(ratio)`
//! wide, the scale of layer `i` of `n` being `min + (max - min) * i / (n - 1)`.

use crate::{Prior, TaskError};
use serde::{Deserialize, Serialize};

/// The declared anchor config: the fields of MediaPipe's `SsdAnchorsCalculatorOptions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorConfig {
    /// Model input `[width, height]` in pixels.
    pub input_size: [usize; 2],
    /// Number of layers; must equal the number of strides (MediaPipe checks the same).
    pub num_layers: usize,
    /// One stride per layer; equal consecutive strides share a feature map.
    pub strides: Vec<usize>,
    pub min_scale: f64,
    pub max_scale: f64,
    /// `[x, y]` offset of a centre within its cell (MediaPipe: 0.5, 0.5).
    #[serde(default = "half")]
    pub anchor_offset: [f64; 2],
    #[serde(default = "one")]
    pub aspect_ratios: Vec<f64>,
    /// Aspect ratio of the extra anchor at the interpolated scale; 0 adds none (MediaPipe default 1.0).
    #[serde(default = "unit")]
    pub interpolated_scale_aspect_ratio: f64,
    /// Every anchor is 1 x 1 (the box regression carries the size).
    #[serde(default)]
    pub fixed_anchor_size: bool,
    /// The first layer gets the predefined ratios 1, 2, 0.5 at scales 0.1, s, s.
    #[serde(default)]
    pub reduce_boxes_in_lowest_layer: bool,
}

fn half() -> [f64; 2] {
    [0.5, 0.5]
}
fn one() -> Vec<f64> {
    vec![1.0]
}
fn unit() -> f64 {
    1.0
}

impl AnchorConfig {
    /// BlazeFace short range, from MediaPipe's `face_detection_short_range_common.pbtxt`:
    /// 128x128, 4 layers, strides 8/16/16/16, scales 0.1484375..0.75, fixed anchor size
    /// (896 anchors: 16x16x2 + 8x8x6).
    pub fn blazeface_short() -> Self {
        AnchorConfig {
            input_size: [128, 128],
            num_layers: 4,
            strides: vec![8, 16, 16, 16],
            min_scale: 0.1484375,
            max_scale: 0.75,
            anchor_offset: half(),
            aspect_ratios: one(),
            interpolated_scale_aspect_ratio: 1.0,
            fixed_anchor_size: true,
            reduce_boxes_in_lowest_layer: false,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), TaskError> {
        let bad = |reason: String| Err(TaskError::Spec { reason, hint: "anchors need input_size = [W, H], num_layers, one stride per layer, min_scale, max_scale (see the blazeface-short preset)".into() });
        if self.input_size.contains(&0) {
            return bad(format!("anchors.input_size {:?} has a zero side", self.input_size));
        }
        if self.strides.is_empty() || self.strides.len() != self.num_layers {
            return bad(format!("anchors: num_layers {} but {} strides", self.num_layers, self.strides.len()));
        }
        if self.strides.contains(&0) || self.aspect_ratios.iter().any(|&r| !(r > 0.0 && r.is_finite())) {
            return bad("anchors: a stride is 0 or an aspect ratio is not positive".into());
        }
        if !(self.min_scale.is_finite() && self.max_scale.is_finite()) {
            return bad("anchors: min_scale and max_scale must be finite".into());
        }
        Ok(())
    }

    fn scale(&self, layer: usize) -> f64 {
        let n = self.strides.len();
        if n == 1 {
            (self.min_scale + self.max_scale) * 0.5
        } else {
            self.min_scale + (self.max_scale - self.min_scale) * layer as f64 / (n as f64 - 1.0)
        }
    }

    /// Every anchor, in the order the model's outputs list them (centre form, normalised).
    pub fn generate(&self) -> Vec<Prior> {
        let [iw, ih] = self.input_size;
        let mut anchors = Vec::new();
        let mut layer = 0;
        while layer < self.strides.len() {
            let (mut ratios, mut scales) = (Vec::new(), Vec::new());
            let mut last = layer;
            while last < self.strides.len() && self.strides[last] == self.strides[layer] {
                let scale = self.scale(last);
                if last == 0 && self.reduce_boxes_in_lowest_layer {
                    ratios.extend([1.0, 2.0, 0.5]);
                    scales.extend([0.1, scale, scale]);
                } else {
                    for &r in &self.aspect_ratios {
                        ratios.push(r);
                        scales.push(scale);
                    }
                    if self.interpolated_scale_aspect_ratio > 0.0 {
                        let next = if last == self.strides.len() - 1 { 1.0 } else { self.scale(last + 1) };
                        scales.push((scale * next).sqrt());
                        ratios.push(self.interpolated_scale_aspect_ratio);
                    }
                }
                last += 1;
            }
            let sizes: Vec<(f32, f32)> = ratios.iter().zip(&scales).map(|(r, s)| ((s * r.sqrt()) as f32, (s / r.sqrt()) as f32)).collect();
            let stride = self.strides[layer];
            let (fw, fh) = (iw.div_ceil(stride), ih.div_ceil(stride));
            for y in 0..fh {
                for x in 0..fw {
                    for &(w, h) in &sizes {
                        let cx = (x as f32 + self.anchor_offset[0] as f32) / fw as f32;
                        let cy = (y as f32 + self.anchor_offset[1] as f32) / fh as f32;
                        let (w, h) = if self.fixed_anchor_size { (1.0, 1.0) } else { (w, h) };
                        anchors.push(Prior { cx, cy, w, h });
                    }
                }
            }
            layer = last;
        }
        anchors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blazeface_short_anchors_match_hand_computed_values() {
        let a = AnchorConfig::blazeface_short().generate();
        // Stride 8: 16x16 cells x (1 ratio + 1 interpolated); stride 16 (3 layers merged): 8x8 x 6.
        assert_eq!(a.len(), 16 * 16 * 2 + 8 * 8 * 6);
        assert_eq!(a.len(), 896);
        let at = |i: usize| (a[i].cx, a[i].cy, a[i].w, a[i].h);
        // Cell (0, 0) of the 16x16 map, both anchors: centre 0.5 / 16.
        assert_eq!(at(0), (0.03125, 0.03125, 1.0, 1.0));
        assert_eq!(at(1), (0.03125, 0.03125, 1.0, 1.0));
        // Next column: 1.5 / 16.
        assert_eq!(at(2), (0.09375, 0.03125, 1.0, 1.0));
        // Row 1 starts at anchor 32: y = 1.5 / 16.
        assert_eq!(at(32), (0.03125, 0.09375, 1.0, 1.0));
        // Last of the first map (cell 15, 15): 15.5 / 16.
        assert_eq!(at(511), (0.96875, 0.96875, 1.0, 1.0));
        // First of the 8x8 map: 0.5 / 8; six anchors per cell.
        assert_eq!(at(512), (0.0625, 0.0625, 1.0, 1.0));
        assert_eq!(at(518), (0.1875, 0.0625, 1.0, 1.0));
        // Last anchor: cell (7, 7) of the 8x8 map, 7.5 / 8.
        assert_eq!(at(895), (0.9375, 0.9375, 1.0, 1.0));
    }

    #[test]
    fn sized_anchors_follow_the_scales() {
        // Two layers, strides 8 and 16 on 32x32: scales 0.2 and 0.8; interpolated sqrt(0.2*0.8) = 0.4 and sqrt(0.8*1) for the last.
        let cfg = AnchorConfig { input_size: [32, 32], num_layers: 2, strides: vec![8, 16], min_scale: 0.2, max_scale: 0.8, fixed_anchor_size: false, aspect_ratios: vec![1.0, 4.0], ..AnchorConfig::blazeface_short() };
        let a = cfg.generate();
        assert_eq!(a.len(), 4 * 4 * 3 + 2 * 2 * 3);
        let close = |x: f32, y: f64| (x as f64 - y).abs() < 1e-6;
        // Ratio 1: 0.2 x 0.2; ratio 4: 0.4 wide, 0.1 high; interpolated: 0.4 x 0.4.
        assert!(close(a[0].w, 0.2) && close(a[0].h, 0.2));
        assert!(close(a[1].w, 0.4) && close(a[1].h, 0.1));
        assert!(close(a[2].w, 0.4) && close(a[2].h, 0.4));
        // Second map, last anchor: interpolated sqrt(0.8) both sides, centre 1.5 / 2.
        let last = a.last().unwrap();
        assert!(close(last.w, 0.8f64.sqrt()) && close(last.cx, 0.75), "{last:?}");
        let bad = AnchorConfig { num_layers: 3, ..cfg };
        assert!(bad.validate().unwrap_err().to_string().contains("num_layers 3 but 2 strides"));
    }
}
