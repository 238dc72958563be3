//! Corruption throughput at 224x224, per corruption and overall, single
//! thread and with rayon across images; optionally against the reference
//! implementation (PyPI imagecorruptions) timed in the same run.
//!
//! cargo bench -p aite-robustness --bench corruption_throughput
//!   [-- --images N] [-- --peer-python /path/to/python]   (or AITE_PEER_PYTHON)
//!
//! The reference is timed on one core, as published (about 295 ms per image
//! and severity averaged over the 19 corruptions); the ratio printed is
//! reference ms / aite ms per image-severity, from this one run.

use aite_robustness::corruption::{corrupt, sample_seed, CorruptionKind, ParameterTable};
use image::RgbImage;
use rayon::prelude::*;
use std::time::Instant;

fn test_images(n: usize) -> Vec<RgbImage> {
    // Textured, deterministic frames (no files needed).
    (0..n)
        .map(|k| {
            RgbImage::from_fn(224, 224, |x, y| {
                let v = ((x * 7 + y * 3 + k as u32 * 31) % 256) as u8;
                let w = (((x as f32 / 9.0).sin() * (y as f32 / 13.0).cos() * 120.0) + 128.0) as u8;
                image::Rgb([v, w, v / 2 + w / 2])
            })
        })
        .collect()
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let n: usize = arg("--images").and_then(|v| v.parse().ok()).unwrap_or(8);
    let images = test_images(n);
    let kinds: Vec<CorruptionKind> = CorruptionKind::IMAGENET_C.iter().chain(&CorruptionKind::HELD_OUT).copied().collect();
    let table = ParameterTable::ImagenetC;
    println!("corruption throughput, {n} images of 224x224, severities 1..5, ImageNet-C table");
    println!("{:20} {:>12}", "corruption", "ms/img-sev");
    let mut total_single = 0.0;
    for &kind in &kinds {
        let t = Instant::now();
        for (i, img) in images.iter().enumerate() {
            for s in 1..=5 {
                std::hint::black_box(corrupt(img, kind, s, table, sample_seed(0, kind, s, i)));
            }
        }
        let ms = t.elapsed().as_secs_f64() * 1000.0 / (5 * n) as f64;
        total_single += ms;
        println!("{:20} {:>12.2}", kind.name(), ms);
    }
    let single = total_single / kinds.len() as f64;
    // Parallel across (image, corruption, severity), as the sweep runs it.
    let jobs: Vec<(usize, CorruptionKind, u8)> = (0..n).flat_map(|i| kinds.iter().flat_map(move |&k| (1..=5).map(move |s| (i, k, s)))).collect();
    let t = Instant::now();
    jobs.par_iter().for_each(|&(i, k, s)| {
        std::hint::black_box(corrupt(&images[i], k, s, table, sample_seed(0, k, s, i)));
    });
    let parallel = t.elapsed().as_secs_f64() * 1000.0 / jobs.len() as f64;
    println!("mean over the 19: {single:.2} ms per image-severity on one thread; {parallel:.2} ms with rayon on {} threads", rayon::current_num_threads());

    let python = arg("--peer-python").or_else(|| std::env::var("AITE_PEER_PYTHON").ok());
    let Some(python) = python else {
        println!("reference not timed: pass --peer-python PATH (a Python with imagecorruptions 1.1.2, numpy<2) or set AITE_PEER_PYTHON");
        return;
    };
    let script = format!(
        r#"
import time, warnings, numpy as np
warnings.simplefilter("ignore")
import skimage.filters
_g = skimage.filters.gaussian
def _shim(image, sigma=1, *a, multichannel=None, **k):
    if multichannel: k["channel_axis"] = -1
    return _g(image, sigma, *a, **k)
skimage.filters.gaussian = _shim
import imagecorruptions.corruptions as icc
icc.gaussian = _shim
from imagecorruptions import corrupt, get_corruption_names
rng = np.random.default_rng(0)
imgs = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range({n})]
tot = 0.0; calls = 0
for name in get_corruption_names("all"):
    t = time.perf_counter()
    for im in imgs:
        for s in range(1, 6):
            corrupt(im, severity=s, corruption_name=name)
    tot += time.perf_counter() - t; calls += 5 * len(imgs)
print(1000 * tot / calls)
"#
    );
    let out = std::process::Command::new(&python).arg("-c").arg(script).env("OMP_NUM_THREADS", "1").env("OPENBLAS_NUM_THREADS", "1").output();
    match out {
        Ok(o) if o.status.success() => {
            let reference: f64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(f64::NAN);
            println!("reference imagecorruptions 1.1.2: {reference:.1} ms per image-severity (one core)");
            println!("ratio (reference / aite): {:.1}x single thread, {:.1}x with rayon (goal: at least 20x)", reference / single, reference / parallel);
        }
        Ok(o) => println!("reference failed: {}", String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")),
        Err(e) => println!("cannot run {python}: {e}"),
    }
}
