//! Labeled image datasets and the preprocessing that turns them into tensors.
//!
//! - [`Dataset`]: samples with labels, loaded from a CSV manifest
//!   (`path,label[,...]`, paths relative to the CSV) or an ImageFolder tree (one
//!   folder per class), or built in memory (the embedded reference terminal).
//!   Every dataset has a content SHA-256 for the evidence.
//! - [`PreprocessSpec`]: a declarative, serialisable recipe (crop, resize with a
//!   *named* kernel, colour order, layout, scale/mean/std, dtype, label offset),
//!   written in TOML, as `key=value` pairs on the command line, or by preset name.
//! - [`Image`]: a decoded frame as `f32` HWC, the unit corruptions will act on.
//!
//! ```
//! use aite_data::PreprocessSpec;
//! let spec = PreprocessSpec::parse_cli("crop_fraction=0.875,resize=224x224,mean=128,std=128,label_offset=1").unwrap();
//! assert_eq!(spec.label_offset, 1);
//! ```

mod dataset;
mod error;
mod image_ops;
pub mod jpeg;
mod preprocess;

pub use dataset::{Dataset, Sample, SampleSource};
pub use error::DataError;
pub use image_ops::{decode, decode_with_decoder, Decoder, DecoderTally, Image, JpegFallback};
pub use preprocess::{key_value_table, ColorOrder, Layout, PreprocessSpec, ResizeKernel, Size, PRESETS};
