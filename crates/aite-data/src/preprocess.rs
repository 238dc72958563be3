//! The declarative preprocessing spec: image in, model input tensor out.
//!
//! Two stages. **Geometry** ([`PreprocessSpec::geometry`]), each step optional:
//! `crop_fraction` on the decoded image (TensorFlow's `central_crop`), `resize`
//! (shorter side or exact, with a named `kernel`), `crop` (center crop to a size);
//! its result is the 8-bit image at the model's input size (values rounded
//! `floor(x + 0.5)` and clamped to 0..=255), where ImageNet-C corrupts.
//! **Normalisation** ([`PreprocessSpec::normalise`]): per pixel
//! `(x * scale - mean[c]) / std[c]` in float32, then `layout` and `dtype`.
//! The exact definition of every preset is in docs/robustness.md.

use crate::{DataError, Image};
use aite_target::{DType, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::fmt;

/// `WIDTHxHEIGHT`, or a single number (meaning square, or shorter side for `resize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SizeRepr", into = "String")]
pub enum Size {
    /// A single number.
    Side(usize),
    /// Exact `width x height`.
    Exact { width: usize, height: usize },
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeRepr {
    Int(i64),
    Text(String),
}

impl TryFrom<SizeRepr> for Size {
    type Error = String;
    fn try_from(r: SizeRepr) -> Result<Self, String> {
        match r {
            SizeRepr::Int(n) if n > 0 => Ok(Size::Side(n as usize)),
            SizeRepr::Int(n) => Err(format!("size must be positive, got {n}")),
            SizeRepr::Text(s) => s.parse(),
        }
    }
}

impl std::str::FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a size: use a number (e.g. 256) or WIDTHxHEIGHT (e.g. 320x240)");
        let num = |t: &str| t.trim().parse::<usize>().ok().filter(|&n| n > 0);
        match s.split_once(['x', 'X']) {
            Some((w, h)) => Ok(Size::Exact {
                width: num(w).ok_or_else(bad)?,
                height: num(h).ok_or_else(bad)?,
            }),
            None => num(s).map(Size::Side).ok_or_else(bad),
        }
    }
}

impl From<Size> for String {
    fn from(s: Size) -> String {
        s.to_string()
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::Side(n) => write!(f, "{n}"),
            Size::Exact { width, height } => write!(f, "{width}x{height}"),
        }
    }
}

/// Interpolation used by `resize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeKernel {
    /// Bilinear at half-pixel centres, no antialiasing (TF `resize_bilinear(half_pixel_centers=True)`, OpenCV `INTER_LINEAR`).
    #[default]
    Bilinear,
    /// Nearest neighbour at half-pixel centres.
    Nearest,
}

/// Channel order of the model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorOrder {
    #[default]
    Rgb,
    Bgr,
    Gray,
}

/// Memory layout of the model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    #[default]
    Nchw,
    Nhwc,
}

/// How to turn a decoded image into a model input tensor, and how to read labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreprocessSpec {
    /// Central crop keeping this fraction of each side, before resizing (e.g. 0.875).
    pub crop_fraction: Option<f64>,
    /// Resize: a number resizes the shorter side keeping aspect; `WxH` resizes exactly.
    pub resize: Option<Size>,
    /// Center crop after resizing: a number (square) or `WxH`.
    pub crop: Option<Size>,
    pub kernel: ResizeKernel,
    pub color: ColorOrder,
    pub layout: Layout,
    /// Multiplier applied to 0..255 pixel values first (e.g. 1/255 = 0.00392156862745098).
    pub scale: f32,
    /// Subtracted after scaling: one value or one per channel.
    pub mean: Vec<f32>,
    /// Divisor after mean subtraction: one value or one per channel.
    pub std: Vec<f32>,
    /// Element type of the tensor (`f32`, `u8` or `i8`; integer types are rounded and clamped).
    pub dtype: DType,
    /// Added to dataset labels to get the model's output index (1 for 1001-class models).
    pub label_offset: i64,
}

impl Default for PreprocessSpec {
    fn default() -> Self {
        PreprocessSpec {
            crop_fraction: None,
            resize: None,
            crop: None,
            kernel: ResizeKernel::Bilinear,
            color: ColorOrder::Rgb,
            layout: Layout::Nchw,
            scale: 1.0,
            mean: vec![0.0],
            std: vec![1.0],
            dtype: DType::F32,
            label_offset: 0,
        }
    }
}

/// Built-in specs for the model families aite is tested on, by name.
pub const PRESETS: &[(&str, &str, &str)] = &[
    ("raw", "RGB 0..255 as float, no resize", ""),
    ("cifar10-resnet8", "MLPerf Tiny ResNet-8: 32x32 RGB 0..255", "resize = \"32x32\""),
    ("vww96", "MLPerf Tiny visual wake words: 96x96 RGB / 255", "resize = \"96x96\"\nscale = 0.00392156862745098"),
    (
        "imagenet-tf224",
        "TF-slim MobileNet 224: central crop 87.5%, bilinear to 224, (x-128)/128, 1001 classes",
        "crop_fraction = 0.875\nresize = \"224x224\"\nmean = [128.0]\nstd = [128.0]\nlabel_offset = 1",
    ),
    (
        "imagenet-tf128",
        "TF-slim MobileNet 128: central crop 87.5%, bilinear to 128, (x-128)/128, 1001 classes",
        "crop_fraction = 0.875\nresize = \"128x128\"\nmean = [128.0]\nstd = [128.0]\nlabel_offset = 1",
    ),
    (
        "imagenet-torch224",
        "torchvision: shorter side 256, center crop 224, ImageNet mean/std",
        "resize = 256\ncrop = 224\nscale = 0.00392156862745098\nmean = [0.485, 0.456, 0.406]\nstd = [0.229, 0.224, 0.225]",
    ),
    ("ultraface320", "UltraFace: 320x240 RGB, (x-127)/128", "resize = \"320x240\"\nmean = [127.0]\nstd = [128.0]"),
    ("blazeface128", "BlazeFace: 128x128 RGB, x/127.5-1", "resize = \"128x128\"\nscale = 0.00784313725490196\nmean = [1.0]"),
    ("digits8", "aite reference terminal: 8x8 grayscale / 255", "resize = \"8x8\"\ncolor = \"gray\"\nscale = 0.00392156862745098"),
];

impl PreprocessSpec {
    /// Parse a TOML document (unknown keys are an error naming the key).
    pub fn from_toml(text: &str) -> Result<Self, DataError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| DataError::Spec {
            reason: e.message().to_string(),
            hint: "the spec is TOML, e.g. `resize = \"224x224\"`".into(),
        })?;
        Self::from_table(table)
    }

    fn from_table(mut table: toml::Table) -> Result<Self, DataError> {
        let base = match table.remove("preset") {
            Some(toml::Value::String(name)) => Some(Self::preset_table(&name)?),
            Some(other) => {
                return Err(DataError::Spec {
                    reason: format!("`preset` must be a name, got {other}"),
                    hint: preset_hint(),
                })
            }
            None => None,
        };
        let mut merged = base.unwrap_or_default();
        merged.extend(table);
        let spec: PreprocessSpec = toml::Value::Table(merged).try_into().map_err(|e: toml::de::Error| DataError::Spec {
            reason: e.message().to_string(),
            hint: "known keys: crop_fraction, resize, crop, kernel, color, layout, scale, mean, std, dtype, label_offset, preset".into(),
        })?;
        spec.validate()?;
        Ok(spec)
    }

    fn preset_table(name: &str) -> Result<toml::Table, DataError> {
        let (_, _, body) = PRESETS
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or_else(|| DataError::Spec {
                reason: format!("unknown preset `{name}`"),
                hint: preset_hint(),
            })?;
        Ok(body.parse().expect("built-in presets are valid TOML"))
    }

    /// A built-in spec by name.
    pub fn preset(name: &str) -> Result<Self, DataError> {
        Self::from_table(Self::preset_table(name)?)
    }

    /// Parse the command-line form: a preset name, or `key=value` pairs separated by
    /// commas, with per-channel lists separated by `/` (e.g. `mean=123.7/116.3/103.5`),
    /// optionally starting with a preset to override (`vww96,layout=nhwc`).
    pub fn parse_cli(text: &str) -> Result<Self, DataError> {
        let text = text.trim();
        if !text.contains('=') {
            return Self::preset(text);
        }
        let table = key_value_table(text, |key, value| {
            let as_value = |v: &str| -> toml::Value {
                if let Ok(i) = v.parse::<i64>() {
                    if matches!(key, "label_offset" | "resize" | "crop") {
                        return toml::Value::Integer(i);
                    }
                }
                match v.parse::<f64>() {
                    Ok(f) => toml::Value::Float(f),
                    Err(_) => toml::Value::String(v.to_string()),
                }
            };
            if matches!(key, "mean" | "std") {
                toml::Value::Array(value.split('/').map(as_value).collect())
            } else {
                as_value(value)
            }
        })
        .map_err(|pair| DataError::Spec { reason: format!("`{pair}` is not key=value"), hint: "write e.g. resize=224x224,mean=128,std=128".into() })?;
        Self::from_table(table)
    }

    fn validate(&self) -> Result<(), DataError> {
        let bad = |reason: String, hint: &str| {
            Err(DataError::Spec {
                reason,
                hint: hint.to_string(),
            })
        };
        if let Some(f) = self.crop_fraction {
            if !(f > 0.0 && f <= 1.0) {
                return bad(format!("crop_fraction {f} is outside (0, 1]"), "use e.g. 0.875");
            }
        }
        let channels = if self.color == ColorOrder::Gray { 1 } else { 3 };
        for (name, v) in [("mean", &self.mean), ("std", &self.std)] {
            if v.len() != 1 && v.len() != channels {
                return bad(
                    format!("{name} has {} values but the image has {channels} channel(s)", v.len()),
                    "give one value or one per channel",
                );
            }
        }
        if self.std.iter().any(|&s| s == 0.0 || !s.is_finite()) {
            return bad("std contains 0 or a non-finite value".into(), "std divides every pixel");
        }
        if !matches!(self.dtype, DType::F32 | DType::U8 | DType::I8) {
            return bad(format!("dtype {} is not an image type", self.dtype), "use f32, u8 or i8");
        }
        Ok(())
    }

    /// The geometric stage: crop and resize a decoded image to the model's input
    /// size, as whole grey levels (`floor(x + 0.5)`, clamped to 0..=255).
    pub fn geometry(&self, image: &Image) -> Result<Image, DataError> {
        let mut img = match self.crop_fraction {
            Some(f) => image.central_crop_fraction(f),
            None => image.clone(),
        };
        if let Some(size) = self.resize {
            let (w, h) = match size {
                Size::Exact { width, height } => (width, height),
                Size::Side(s) => {
                    // torchvision's Resize(int): long = int(size * long / short), truncated.
                    let (w, h) = (img.width as f64, img.height as f64);
                    if img.width <= img.height {
                        (s, ((s as f64 * h / w) as usize).max(1))
                    } else {
                        (((s as f64 * w / h) as usize).max(1), s)
                    }
                }
            };
            img = img.resize(w, h, self.kernel);
        }
        if let Some(size) = self.crop {
            let (w, h) = match size {
                Size::Side(s) => (s, s),
                Size::Exact { width, height } => (width, height),
            };
            img = img.center_crop(w, h).ok_or_else(|| DataError::Spec {
                reason: format!("crop {size} is larger than the {}x{} image", img.width, img.height),
                hint: "resize to at least the crop size first (e.g. resize=256,crop=224)".into(),
            })?;
        }
        // Whole grey levels (a no-op after a bilinear resize, which already rounds).
        img.data.iter_mut().for_each(|v| *v = (*v + 0.5).floor().clamp(0.0, 255.0));
        Ok(img)
    }

    /// Full preprocessing: geometry, normalisation, layout and dtype, batch of one.
    pub fn to_tensor(&self, image: &Image) -> Result<Tensor, DataError> {
        let img = self.geometry(image)?;
        Ok(self.normalise(&img))
    }

    /// Normalise an already-sized image into a `[1, ...]` tensor.
    pub fn normalise(&self, img: &Image) -> Tensor {
        let (h, w, c) = (img.height, img.width, img.channels);
        // Per-channel constants resolved once, not per pixel.
        let per_channel = |v: &Vec<f32>| -> Vec<f32> { (0..c).map(|ch| if v.len() == 1 { v[0] } else { v[ch] }).collect() };
        let (mean, std) = (per_channel(&self.mean), per_channel(&self.std));
        let value = |idx: usize, ch: usize| (img.data[idx] * self.scale - mean[ch]) / std[ch];
        let mut out = vec![0f32; h * w * c];
        match self.layout {
            Layout::Nhwc => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = value(i, i % c);
                }
            }
            Layout::Nchw => {
                for ch in 0..c {
                    for p in 0..h * w {
                        out[ch * h * w + p] = value(p * c + ch, ch);
                    }
                }
            }
        }
        let shape = match self.layout {
            Layout::Nchw => vec![1, c, h, w],
            Layout::Nhwc => vec![1, h, w, c],
        };
        let data = match self.dtype {
            DType::U8 => TensorData::U8(out.iter().map(|v| v.round().clamp(0.0, 255.0) as u8).collect()),
            DType::I8 => TensorData::I8(out.iter().map(|v| v.round().clamp(-128.0, 127.0) as i8).collect()),
            _ => TensorData::F32(out),
        };
        Tensor::new(shape, data).expect("shape matches buffer by construction")
    }
}

fn preset_hint() -> String {
    let names: Vec<&str> = PRESETS.iter().map(|(n, _, _)| *n).collect();
    format!("known presets: {}", names.join(", "))
}


/// The command-line form of a declarative spec: `[PRESET,]key=value,...` as the
/// table its TOML form would give. A leading bare word becomes `preset`; each
/// value is typed by `value_of(key, value)` (both trimmed). `Err` is the piece
/// that is not `key=value`. One reader for every spec the CLI takes
/// (preprocessing here, tasks in aite-task).
pub fn key_value_table(text: &str, value_of: impl Fn(&str, &str) -> toml::Value) -> Result<toml::Table, String> {
    let mut table = toml::Table::new();
    for (i, pair) in text.split(',').filter(|p| !p.trim().is_empty()).enumerate() {
        if i == 0 && !pair.contains('=') {
            // `PRESET,key=value,...`: a preset with overrides.
            table.insert("preset".into(), toml::Value::String(pair.trim().to_string()));
            continue;
        }
        let (key, value) = pair.split_once('=').ok_or_else(|| pair.to_string())?;
        let (key, value) = (key.trim(), value.trim());
        table.insert(key.to_string(), value_of(key, value));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: usize, h: usize, rgb: [f32; 3]) -> Image {
        Image { width: w, height: h, channels: 3, data: (0..w * h).flat_map(|_| rgb).collect() }
    }

    #[test]
    fn every_preset_parses() {
        for (name, _, _) in PRESETS {
            PreprocessSpec::preset(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn unknown_key_is_named() {
        let err = PreprocessSpec::from_toml("resize = 32\nmeen = [1.0]").unwrap_err().to_string();
        assert!(err.contains("meen"), "{err}");
        let err = PreprocessSpec::parse_cli("resise=32").unwrap_err().to_string();
        assert!(err.contains("resise"), "{err}");
    }

    #[test]
    fn cli_form_equals_toml_form() {
        let a = PreprocessSpec::parse_cli("preset=imagenet-tf224,dtype=f32").unwrap();
        let b = PreprocessSpec::from_toml("crop_fraction = 0.875\nresize = \"224x224\"\nmean = [128.0]\nstd = [128.0]\nlabel_offset = 1").unwrap();
        assert_eq!(a, b);
        let d = PreprocessSpec::parse_cli("imagenet-tf224,layout=nhwc").unwrap();
        assert_eq!(d.layout, Layout::Nhwc);
        assert_eq!(d.label_offset, 1);
        let c = PreprocessSpec::parse_cli("mean=1/2/3,std=4/5/6,resize=256,crop=224").unwrap();
        assert_eq!(c.mean, vec![1.0, 2.0, 3.0]);
        assert_eq!(c.resize, Some(Size::Side(256)));
    }

    #[test]
    fn nchw_normalises_per_channel() {
        let spec = PreprocessSpec::parse_cli("mean=10/20/30,std=2/4/5").unwrap();
        let t = spec.to_tensor(&solid(2, 1, [20.0, 40.0, 80.0])).unwrap();
        assert_eq!(t.shape(), &[1, 3, 1, 2]);
        assert_eq!(t.to_f32_vec(), vec![5.0, 5.0, 5.0, 5.0, 10.0, 10.0]);
    }

    #[test]
    fn nhwc_int8_rounds_and_clamps() {
        let spec = PreprocessSpec::parse_cli("layout=nhwc,dtype=i8,mean=128").unwrap();
        let t = spec.to_tensor(&solid(1, 1, [0.0, 255.0, 128.4])).unwrap();
        assert_eq!(t.shape(), &[1, 1, 1, 3]);
        assert_eq!(t.data(), &TensorData::I8(vec![-128, 127, 0]));
    }

    #[test]
    fn shorter_side_resize_keeps_aspect_then_crops() {
        let spec = PreprocessSpec::parse_cli("resize=256,crop=224").unwrap();
        let out = spec.geometry(&solid(512, 384, [1.0; 3])).unwrap();
        assert_eq!((out.width, out.height), (224, 224));
        let spec = PreprocessSpec::parse_cli("resize=256").unwrap();
        let out = spec.geometry(&solid(384, 512, [1.0; 3])).unwrap();
        assert_eq!((out.width, out.height), (256, 341));
        // torchvision truncates the long side: int(256 * 333 / 250) = int(340.99) = 340.
        let out = spec.geometry(&solid(333, 250, [1.0; 3])).unwrap();
        assert_eq!((out.width, out.height), (340, 256));
    }

    #[test]
    fn geometry_yields_whole_grey_levels() {
        // No resize: fractional values (e.g. a brightened frame) are rounded floor(x + 0.5) and clamped.
        let img = Image { width: 2, height: 1, channels: 3, data: vec![0.5, 1.49, 254.6, 300.0, -3.0, 2.5] };
        let g = PreprocessSpec::default().geometry(&img).unwrap();
        assert_eq!(g.data, vec![1.0, 1.0, 255.0, 255.0, 0.0, 3.0]);
    }

    #[test]
    fn rejects_bad_values() {
        assert!(PreprocessSpec::parse_cli("crop_fraction=1.5").is_err());
        assert!(PreprocessSpec::parse_cli("std=0").is_err());
        assert!(PreprocessSpec::parse_cli("mean=1/2").is_err());
        assert!(PreprocessSpec::parse_cli("resize=0x3").is_err());
        assert!(PreprocessSpec::parse_cli("no-such-preset").unwrap_err().to_string().contains("known presets"));
    }
}
