//! Preprocessing: a command-line spec (first line) applied to an image decoded
//! from the rest of the input.
#![no_main]

use aite_data::{decode, PreprocessSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (spec, image) = (&data[..split], data.get(split + 1..).unwrap_or(&[]));
    let Ok(spec) = std::str::from_utf8(spec) else { return };
    let Ok(spec) = PreprocessSpec::parse_cli(spec) else { return };
    // Output sizes are the user's choice, not hostile input: keep them small.
    let side = |s: Option<aite_data::Size>| match s {
        Some(aite_data::Size::Side(n)) => n,
        Some(aite_data::Size::Exact { width, height }) => width.max(height),
        None => 0,
    };
    if side(spec.resize) > 1024 || side(spec.crop) > 1024 {
        return;
    }
    let Ok(img) = decode("fuzz", image, spec.color) else { return };
    if spec.resize.is_none() && img.width * img.height > 1 << 22 {
        return;
    }
    let _ = spec.to_tensor(&img);
});
