//! Peer tests of `frost` and `jpeg_compression` pixel for pixel against the
//! reference Python stack (tests/peers/frost_jpeg_peer.py: numpy + OpenCV
//! with the imagecorruptions 1.1.2 photographs; PIL's libjpeg for JPEG), on
//! real images from ../shared.
//!
//! frost's random draws are fixed (photo index, crop offset) so the pixels can
//! be compared. Needs `AITE_PEER_PYTHON` (the peer virtualenv) and
//! ../shared/assets; without them each test skips with a message, or fails
//! under `AITE_REQUIRE_PEERS=1`.

mod common;

use aite_robustness::corruption::frost::{self, FrostDraw};
use aite_robustness::corruption::{jpeg_round_trip, table, ParameterTable};
use common::*;
use image::RgbImage;
use std::path::{Path, PathBuf};

/// ../shared/assets and the peer Python, each or a skip (a failure under `AITE_REQUIRE_PEERS=1`).
fn assets_and_peer() -> (Option<PathBuf>, Option<PathBuf>) {
    (shared_assets("data", "../shared/assets is absent (the real images live there)"), peer_python("imagecorruptions 1.1.2, numpy and OpenCV"))
}

fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw().iter().zip(b.as_raw()).map(|(&x, &y)| (x as f64 - y as f64).abs()).sum::<f64>() / a.as_raw().len() as f64
}

/// The first `n` ic01 images (32x32 CIFAR-10 test images).
fn cifar_images(a: &Path, n: usize) -> Vec<RgbImage> {
    let dir = a.join("data/ic01/images");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "png")).collect();
    names.sort();
    names.iter().take(n).map(|p| load(p)).collect()
}

#[test]
fn frost_equals_the_reference_formula_for_fixed_draws() {
    let (Some(a), Some(py)) = assets_and_peer() else { return };
    let work = tempfile::tempdir().unwrap();
    // (table, image, draw, severity): CIFAR-10-C on 32x32, ImageNet-C on 224x224, and
    // an image larger than every photograph (imagecorruptions' bicubic rescale).
    let mut cases: Vec<(ParameterTable, RgbImage, FrostDraw, u8)> = vec![];
    for (i, img) in cifar_images(&a, 6).into_iter().enumerate() {
        let index = i % 6;
        let p = frost::photo(index, ParameterTable::CifarC);
        cases.push((ParameterTable::CifarC, img, FrostDraw { index, row: (p.height() - 33) * (i as u32 % 3) / 2, col: (p.width() - 33) * (i as u32 % 2) }, 1 + (i % 5) as u8));
    }
    for (i, img) in imagenet_crops(&a, 6).into_iter().enumerate() {
        let index = (i + 3) % 6;
        let p = frost::photo(index, ParameterTable::ImagenetC);
        cases.push((ParameterTable::ImagenetC, img, FrostDraw { index, row: (p.height() - 225) * (i as u32 % 2), col: (p.width() - 225) / 2 }, 1 + (i % 5) as u8));
    }
    let big = image::imageops::resize(&imagenet_crops(&a, 1)[0], 1000, 700, image::imageops::FilterType::Triangle);
    for index in [0usize, 3] {
        cases.push((ParameterTable::ImagenetC, big.clone(), FrostDraw { index, row: 40, col: 100 }, 4));
    }
    let mut jobs = vec![];
    let mut ours = vec![];
    for (k, (t, img, d, s)) in cases.iter().enumerate() {
        let input = work.path().join(format!("in{k}.png"));
        img.save(&input).unwrap();
        ours.push(frost::frost_at(img, *t, *s, *d).expect("the case's crop lies inside the photograph"));
        jobs.push(serde_json::json!({"mode": "frost", "table": t.name(), "index": d.index, "row": d.row, "col": d.col, "severity": s,
            "in": input, "out": work.path().join(format!("ref{k}.png"))}));
    }
    let info = run_peer(&py, "frost_jpeg_peer.py", work.path(), &serde_json::Value::Array(jobs));
    let mut worst: f64 = 0.0;
    for (k, (t, _, d, s)) in cases.iter().enumerate() {
        let theirs = load(&work.path().join(format!("ref{k}.png")));
        let diff = mean_abs_diff(&ours[k], &theirs);
        eprintln!("frost {} s{s} {} at ({}, {}) {}: mean abs diff {diff:.4} grey levels", t.name(), frost::photo_name(d.index), d.row, d.col, info[k]);
        assert!(diff <= 1.0, "frost case {k} ({}, {}): {diff:.3} grey levels from the reference", t.name(), frost::photo_name(d.index));
        worst = worst.max(diff);
    }
    eprintln!("frost: worst mean abs diff {worst:.4} grey levels over {} cases", cases.len());
}

#[test]
fn jpeg_compression_equals_pil() {
    let (Some(a), Some(py)) = assets_and_peer() else { return };
    let work = tempfile::tempdir().unwrap();
    let mut cases: Vec<(ParameterTable, RgbImage, u8)> = vec![];
    for img in cifar_images(&a, 20) {
        for s in 1..=5 {
            cases.push((ParameterTable::CifarC, img.clone(), table::jpeg_quality(ParameterTable::CifarC, s)));
        }
    }
    for img in imagenet_crops(&a, 8) {
        for s in 1..=5 {
            cases.push((ParameterTable::ImagenetC, img.clone(), table::jpeg_quality(ParameterTable::ImagenetC, s)));
        }
    }
    // Sizes that are not whole 16x16 MCUs exercise the edge replication and the
    // upsampler's borders (table name only groups the figures).
    let crop = &imagenet_crops(&a, 1)[0];
    for (w, h) in [(1u32, 1u32), (3, 5), (8, 8), (37, 29), (101, 75), (223, 224), (224, 221)] {
        let img = image::imageops::crop_imm(crop, 0, 0, w, h).to_image();
        for q in [7u8, 40, 90] {
            cases.push((ParameterTable::ImagenetC, img.clone(), q));
        }
    }
    let mut jobs = vec![];
    for (k, (_, img, q)) in cases.iter().enumerate() {
        let input = work.path().join(format!("in{k}.png"));
        img.save(&input).unwrap();
        jobs.push(serde_json::json!({"mode": "jpeg", "quality": q, "in": input, "out": work.path().join(format!("ref{k}.png"))}));
    }
    run_peer(&py, "frost_jpeg_peer.py", work.path(), &serde_json::Value::Array(jobs));
    let mut per_table: std::collections::BTreeMap<&str, (f64, f64, usize)> = Default::default();
    for (k, (t, img, q)) in cases.iter().enumerate() {
        let theirs = load(&work.path().join(format!("ref{k}.png")));
        let diff = mean_abs_diff(&jpeg_round_trip(img, *q), &theirs);
        let e = per_table.entry(t.name()).or_insert((0.0, 0.0, 0));
        (e.0, e.1, e.2) = (e.0 + diff, e.1.max(diff), e.2 + 1);
    }
    for (name, (sum, max, n)) in &per_table {
        eprintln!("jpeg_compression {name}: mean abs diff vs PIL {:.4} grey levels (worst image {max:.4}) over {n} image-qualities", sum / *n as f64);
    }
    // Measured: 0 (bit for bit) with Pillow 13.0's libjpeg-turbo. The goal is 0.5; the
    // bound 0.1 leaves room for another libjpeg-turbo build and still fails image-rs's 4:4:4
    // encoder (4.3 / 2.9) and jpeg-encoder 0.7.1's inexact quantisation (0.37 / 0.45).
    for (name, (sum, _, n)) in &per_table {
        let mean = sum / *n as f64;
        assert!(mean < 0.1, "{name}: jpeg_compression is {mean:.3} grey levels from PIL on average (bound 0.1)");
    }
}
