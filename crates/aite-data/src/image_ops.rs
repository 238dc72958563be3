//! Decoded frames and the geometric operations of preprocessing.
//!
//! Resizing is implemented here rather than borrowed from `image` because the
//! kernel changes accuracy measurably (MobileNetV2 on ImageNet: 85.8% top-1 with
//! plain half-pixel bilinear, 83.8% with an antialiased one), so aite names and
//! owns exactly what it computes.

use crate::preprocess::{ColorOrder, ResizeKernel};
use crate::DataError;
use std::io::Cursor;

/// A decoded image: `height x width x channels`, `f32` values in 0..=255.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub data: Vec<f32>,
}

/// Largest image aite will decode (pixels), against decompression bombs.
const MAX_PIXELS: u64 = 64 * 1024 * 1024;

/// Which decoder produced an image's samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoder {
    /// aite's JPEG decoder (baseline and progressive), bit-exact with
    /// libjpeg-turbo's default (islow IDCT, fancy upsampling) as Pillow uses it.
    LibjpegExact,
    /// The `image` crate (zune-jpeg for JPEG): PNG/BMP, and JPEG variants the
    /// exact decoder does not implement (the reason says which).
    ImageCrate { unsupported_jpeg: Option<String> },
}

/// Which decoder produced each sample a run decoded, for the evidence: a peer
/// decoding with libjpeg(-turbo) (PIL, OpenCV) sees the same samples for
/// `libjpeg_exact` and `lossless`, and possibly different ones (a few grey
/// levels) for the `jpeg_fallback` files, listed with the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DecoderTally {
    /// Baseline and progressive JPEGs, decoded by aite's libjpeg-exact decoder.
    pub libjpeg_exact: usize,
    /// PNG and BMP, by the `image` crate (lossless: every decoder gives the same samples).
    pub lossless: usize,
    /// JPEGs outside the exact decoder's scope (arithmetic, Adobe, incomplete progressive...), by the
    /// `image` crate (zune-jpeg), whose IDCT and upsampling round differently from libjpeg.
    pub jpeg_fallback: usize,
    /// Each fallback JPEG: its sample id and why the exact decoder did not take it.
    pub fallbacks: Vec<JpegFallback>,
}

/// One JPEG decoded by the fallback decoder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JpegFallback {
    pub id: String,
    pub reason: String,
}

impl DecoderTally {
    /// Count one decoded sample.
    pub fn record(&mut self, id: &str, decoder: &Decoder) {
        match decoder {
            Decoder::LibjpegExact => self.libjpeg_exact += 1,
            Decoder::ImageCrate { unsupported_jpeg: None } => self.lossless += 1,
            Decoder::ImageCrate { unsupported_jpeg: Some(reason) } => {
                self.jpeg_fallback += 1;
                self.fallbacks.push(JpegFallback { id: id.to_string(), reason: reason.clone() });
            }
        }
    }

    /// Samples counted.
    pub fn total(&self) -> usize {
        self.libjpeg_exact + self.lossless + self.jpeg_fallback
    }
}

/// Decode JPEG/PNG/BMP bytes into an image with the requested colour order.
pub fn decode(id: &str, bytes: &[u8], color: ColorOrder) -> Result<Image, DataError> {
    decode_with_decoder(id, bytes, color).map(|(img, _)| img)
}

/// [`decode`], also saying which decoder was used.
pub fn decode_with_decoder(id: &str, bytes: &[u8], color: ColorOrder) -> Result<(Image, Decoder), DataError> {
    let err = |reason: String| DataError::Decode {
        id: id.to_string(),
        reason,
    };
    let mut unsupported_jpeg = None;
    if bytes.starts_with(&[0xFF, 0xD8]) {
        match crate::jpeg::decode(bytes, MAX_PIXELS) {
            Ok(p) => {
                let (w, h) = (p.width as u32, p.height as u32);
                let img = if p.channels == 1 {
                    image::GrayImage::from_raw(w, h, p.data).map(image::DynamicImage::ImageLuma8)
                } else {
                    image::RgbImage::from_raw(w, h, p.data).map(image::DynamicImage::ImageRgb8)
                };
                let img = img.ok_or_else(|| err("decoded sample count does not match the size".into()))?;
                return Ok((to_image(&img, color), Decoder::LibjpegExact));
            }
            Err(crate::jpeg::JpegError::Corrupt(reason)) => return Err(err(reason)),
            Err(crate::jpeg::JpegError::Unsupported(reason)) => unsupported_jpeg = Some(reason),
        }
    }
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| err(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4);
    reader.limits(limits);
    if reader.format().is_none() {
        return Err(err("not a JPEG, PNG or BMP file".into()));
    }
    let decoded = reader.decode().map_err(|e| err(e.to_string()))?;
    if decoded.width() == 0 || decoded.height() == 0 {
        return Err(err("image has zero width or height".into()));
    }
    Ok((to_image(&decoded, color), Decoder::ImageCrate { unsupported_jpeg }))
}

fn to_image(decoded: &image::DynamicImage, color: ColorOrder) -> Image {
    let (width, height) = (decoded.width() as usize, decoded.height() as usize);
    let (channels, data): (usize, Vec<f32>) = match color {
        ColorOrder::Gray => (1, decoded.to_luma8().into_raw().into_iter().map(f32::from).collect()),
        ColorOrder::Rgb => (3, decoded.to_rgb8().into_raw().into_iter().map(f32::from).collect()),
        ColorOrder::Bgr => {
            let mut raw: Vec<f32> = decoded.to_rgb8().into_raw().into_iter().map(f32::from).collect();
            for px in raw.chunks_exact_mut(3) {
                px.swap(0, 2);
            }
            (3, raw)
        }
    };
    Image {
        width,
        height,
        channels,
        data,
    }
}

impl Image {
    /// Crop a window; the caller guarantees it lies inside the image.
    fn crop(&self, top: usize, left: usize, height: usize, width: usize) -> Image {
        let c = self.channels;
        let mut data = Vec::with_capacity(height * width * c);
        for y in top..top + height {
            let row = (y * self.width + left) * c;
            data.extend_from_slice(&self.data[row..row + width * c]);
        }
        Image {
            width,
            height,
            channels: c,
            data,
        }
    }

    /// Central crop keeping `fraction` of each side, as TensorFlow's `central_crop`:
    /// start = int((side - side * fraction) / 2) in float64, size = side - 2 * start
    /// (for 0.875: the box `(W//16, H//16, W - W//16, H - H//16)`).
    pub fn central_crop_fraction(&self, fraction: f64) -> Image {
        let start = |side: usize| ((side as f64 - side as f64 * fraction) / 2.0) as usize;
        let (top, left) = (start(self.height), start(self.width));
        let h = self.height.saturating_sub(2 * top).max(1);
        let w = self.width.saturating_sub(2 * left).max(1);
        self.crop(top.min(self.height - 1), left.min(self.width - 1), h, w)
    }

    /// Center crop to `width x height`, top-left offset `round((side - crop) / 2)` with
    /// ties to even, as torchvision's `center_crop` (Python's `round`).
    /// Returns `None` when the image is smaller than the crop.
    pub fn center_crop(&self, width: usize, height: usize) -> Option<Image> {
        if width > self.width || height > self.height {
            return None;
        }
        let top = ((self.height - height) as f64 / 2.0).round_ties_even() as usize;
        let left = ((self.width - width) as f64 / 2.0).round_ties_even() as usize;
        Some(self.crop(top, left, height, width))
    }

    /// Resize to exactly `width x height` with `kernel`. Bilinear results are rounded
    /// to whole grey levels (`floor(x + 0.5)`), as an 8-bit pipeline holds them.
    pub fn resize(&self, width: usize, height: usize, kernel: ResizeKernel) -> Image {
        if width == self.width && height == self.height {
            return self.clone();
        }
        let c = self.channels;
        let mut out = vec![0f32; width * height * c];
        let sx = self.width as f64 / width as f64;
        let sy = self.height as f64 / height as f64;
        match kernel {
            ResizeKernel::Nearest => {
                for y in 0..height {
                    let iy = (((y as f64 + 0.5) * sy).floor() as usize).min(self.height - 1);
                    for x in 0..width {
                        let ix = (((x as f64 + 0.5) * sx).floor() as usize).min(self.width - 1);
                        let src = (iy * self.width + ix) * c;
                        let dst = (y * width + x) * c;
                        out[dst..dst + c].copy_from_slice(&self.data[src..src + c]);
                    }
                }
            }
            ResizeKernel::Bilinear => {
                // Half-pixel centres, edge clamped, no antialiasing, in float64 and in
                // TensorFlow's `top + (bottom - top) * lerp` form, so that results
                // rounded to 8 bits agree with the reference pipeline bit for bit.
                let axis = |o: usize, n_out: usize, n: usize| -> (usize, usize, f64) {
                    let scale = n as f64 / n_out as f64;
                    let s = ((o as f64 + 0.5) * scale - 0.5).clamp(0.0, (n - 1) as f64);
                    let i0 = s.floor() as usize;
                    let i1 = (i0 + 1).min(n - 1);
                    (i0, i1, s - i0 as f64)
                };
                let xs: Vec<_> = (0..width).map(|x| axis(x, width, self.width)).collect();
                for y in 0..height {
                    let (y0, y1, fy) = axis(y, height, self.height);
                    for (x, &(x0, x1, fx)) in xs.iter().enumerate() {
                        let dst = (y * width + x) * c;
                        for ch in 0..c {
                            let p = |yy: usize, xx: usize| self.data[(yy * self.width + xx) * c + ch] as f64;
                            let top = p(y0, x0) + (p(y0, x1) - p(y0, x0)) * fx;
                            let bottom = p(y1, x0) + (p(y1, x1) - p(y1, x0)) * fx;
                            out[dst + ch] = (top + (bottom - top) * fy + 0.5).floor() as f32;
                        }
                    }
                }
            }
        }
        Image {
            width,
            height,
            channels: c,
            data: out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize) -> Image {
        Image {
            width: w,
            height: h,
            channels: 1,
            data: (0..w * h).map(|i| i as f32).collect(),
        }
    }

    #[test]
    fn bilinear_downscale_by_two_averages_pixel_pairs() {
        // Half-pixel centres: output pixel 0 samples input x = 0.5.
        let img = Image { width: 4, height: 1, channels: 1, data: vec![0.0, 10.0, 20.0, 30.0] };
        let out = img.resize(2, 1, ResizeKernel::Bilinear);
        assert_eq!(out.data, vec![5.0, 25.0]);
    }

    #[test]
    fn bilinear_upscale_clamps_at_edges_and_rounds_halves_up() {
        // Samples at x = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1):
        // 0, 2.5, 7.5, 10, rounded floor(x + 0.5).
        let img = Image { width: 2, height: 1, channels: 1, data: vec![0.0, 10.0] };
        let out = img.resize(4, 1, ResizeKernel::Bilinear);
        assert_eq!(out.data, vec![0.0, 3.0, 8.0, 10.0]);
    }

    #[test]
    fn central_crop_is_tensorflows_integer_box() {
        // 500x375: box (500//16, 375//16, 500 - 500//16, 375 - 375//16) = (31, 23, 469, 352).
        let out = ramp(500, 375).central_crop_fraction(0.875);
        assert_eq!((out.width, out.height), (438, 329));
        assert_eq!(out.data[0], (23 * 500 + 31) as f32);
        // TF: int((side - side * 0.9) / 2) in float64: 101 -> int(5.049999999999997) = 5, size 91.
        assert_eq!(ramp(101, 101).central_crop_fraction(0.9).width, 91);
    }

    #[test]
    fn center_crop_offset_rounds_ties_to_even_like_torchvision() {
        // (341 - 224) / 2 = 58.5: Python's round gives 58.
        let c = ramp(341, 224).center_crop(224, 224).unwrap();
        assert_eq!(c.data[0], 58.0);
        let c = ramp(227, 224).center_crop(224, 224).unwrap(); // 1.5 -> 2
        assert_eq!(c.data[0], 2.0);
    }

    #[test]
    fn central_crop_matches_tensorflow_rounding() {
        // 256 * 0.875 = 224 -> start 16, size 224.
        let out = ramp(256, 256).central_crop_fraction(0.875);
        assert_eq!((out.width, out.height), (224, 224));
        assert_eq!(out.data[0], (16 * 256 + 16) as f32);
    }

    #[test]
    fn center_crop_rejects_larger_window() {
        assert!(ramp(10, 10).center_crop(11, 5).is_none());
        let c = ramp(10, 10).center_crop(4, 4).unwrap();
        assert_eq!(c.data[0], (3 * 10 + 3) as f32);
    }

    #[test]
    fn jpegs_use_the_exact_decoder_and_truncation_names_the_file() {
        let img = image::RgbImage::from_fn(20, 12, |x, y| image::Rgb([(x * 9) as u8, (y * 20) as u8, 90]));
        let mut jpg = vec![];
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 90).encode_image(&img).unwrap();
        let (full, decoder) = decode_with_decoder("ok.jpg", &jpg, ColorOrder::Rgb).unwrap();
        assert_eq!((full.width, full.height, decoder), (20, 12, Decoder::LibjpegExact));
        let err = decode("cut.jpg", &jpg[..jpg.len() / 2], ColorOrder::Rgb).unwrap_err().to_string();
        assert!(err.contains("cut.jpg") && err.contains("truncated"), "{err}");
        // PNG goes to the image crate, and says so.
        let mut png = vec![];
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        assert_eq!(decode_with_decoder("a.png", &png, ColorOrder::Rgb).unwrap().1, Decoder::ImageCrate { unsupported_jpeg: None });
    }

    #[test]
    fn progressive_jpegs_use_the_exact_decoder() {
        // frost4 (progressive 4:4:4), identical to PIL's decode (jpeg::progressive's tests).
        let frost4 = include_bytes!("../../aite-robustness/assets/frost/frost4.jpg");
        let (img, decoder) = decode_with_decoder("frost4.jpg", frost4, ColorOrder::Rgb).unwrap();
        assert_eq!((img.width, img.height, decoder), (527, 350, Decoder::LibjpegExact));
    }

    #[test]
    fn the_tally_counts_each_decoder_and_names_the_fallbacks() {
        let img = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([(x * 15) as u8, (y * 15) as u8, 40]));
        let mut jpg = vec![];
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpg, 90).encode_image(&img).unwrap();
        // An Adobe APP14 segment (transform 1, YCbCr) after SOI: outside the exact decoder's
        // scope, decoded by the image crate.
        let mut adobe = jpg[..2].to_vec();
        adobe.extend_from_slice(&[0xFF, 0xEE, 0x00, 0x0E, b'A', b'd', b'o', b'b', b'e', 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x01]);
        adobe.extend_from_slice(&jpg[2..]);
        let mut png = vec![];
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let mut tally = DecoderTally::default();
        for (id, bytes) in [("a.jpg", &jpg), ("b.jpg", &adobe), ("c.png", &png), ("d.jpg", &jpg)] {
            let (_, decoder) = decode_with_decoder(id, bytes, ColorOrder::Rgb).unwrap();
            tally.record(id, &decoder);
        }
        assert_eq!((tally.libjpeg_exact, tally.lossless, tally.jpeg_fallback, tally.total()), (2, 1, 1, 4));
        assert_eq!(tally.fallbacks.len(), 1);
        assert_eq!(tally.fallbacks[0].id, "b.jpg");
        assert!(tally.fallbacks[0].reason.contains("Adobe"), "{:?}", tally.fallbacks);
        let json = serde_json::to_value(&tally).unwrap();
        assert_eq!(json["jpeg_fallback"], 1);
        assert_eq!(json["fallbacks"][0]["id"], "b.jpg");
    }

    #[test]
    fn decode_reports_garbage_by_id() {
        let err = decode("frame-7.png", b"not an image at all", ColorOrder::Rgb).unwrap_err();
        assert!(err.to_string().contains("frame-7.png"), "{err}");
    }

    #[test]
    fn decode_reports_truncated_png() {
        let mut png = Vec::new();
        image::RgbImage::from_pixel(16, 16, image::Rgb([1, 2, 3]))
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let full = decode("ok.png", &png, ColorOrder::Bgr).unwrap();
        assert_eq!(&full.data[..3], &[3.0, 2.0, 1.0]);
        let err = decode("cut.png", &png[..png.len() / 2], ColorOrder::Rgb).unwrap_err();
        assert!(err.to_string().contains("cut.png"));
    }
}
