//! aite's baseline JPEG decoder against PIL (libjpeg-turbo, default islow IDCT,
//! fancy upsampling; tests/peers/jpeg_decode_peer.py), sample for sample, on
//! every JPEG of ../shared (imagenet-sample, photos, faces). Needs
//! `AITE_PEER_PYTHON` (the peer virtualenv with Pillow) and ../shared/assets;
//! without them the test skips with a message, or fails under
//! `AITE_REQUIRE_PEERS=1`.

use aite_data::jpeg::{decode_baseline, JpegError};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn skip_or_fail(why: &str) {
    if std::env::var("AITE_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("required peer missing: {why}");
    }
    eprintln!("skipped: {why}");
}

fn jpegs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            jpegs(&p, out);
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg")) {
            out.push(p);
        }
    }
}

#[test]
fn baseline_decoder_is_bit_exact_with_pil_on_the_shared_jpegs() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/data");
    if !assets.is_dir() {
        return skip_or_fail("../shared/assets is absent (the real images live there)");
    }
    let Some(py) = std::env::var_os("AITE_PEER_PYTHON").filter(|p| Path::new(p).exists()) else {
        return skip_or_fail("AITE_PEER_PYTHON is not set to a Python with Pillow (bash .ci/run builds target/peers-venv)");
    };
    let mut files = vec![];
    for d in ["imagenet-sample", "photos", "faces"] {
        jpegs(&assets.join(d), &mut files);
    }
    assert!(files.len() > 1000, "{} JPEGs", files.len());
    let (exact, unsupported) = compare(&py, &files);
    eprintln!("bit-exact with PIL: {exact}/{}; unsupported (progressive, image crate fallback): {unsupported:?}", files.len());
    assert!(exact >= 1025, "{exact}");
}

/// PIL-written variants of a real image: 4:4:4, 4:2:2, 4:2:0 at qualities 30 and 95, grey,
/// restart intervals (every 3 MCUs), sizes 1x1, 2x3, 17x9, 33x31 and whole; one progressive.
#[test]
fn baseline_decoder_is_bit_exact_with_pil_on_sampling_restart_and_size_variants() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/data");
    if !assets.is_dir() {
        return skip_or_fail("../shared/assets is absent (the real images live there)");
    }
    let Some(py) = std::env::var_os("AITE_PEER_PYTHON").filter(|p| Path::new(p).exists()) else {
        return skip_or_fail("AITE_PEER_PYTHON is not set to a Python with Pillow (bash .ci/run builds target/peers-venv)");
    };
    let mut src = vec![];
    jpegs(&assets.join("photos"), &mut src);
    let work = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/jpeg_decode_peer.py");
    let out = Command::new(&py).arg(&script).arg("write").arg(&src[0]).arg(work.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: Vec<PathBuf> = String::from_utf8(out.stdout).unwrap().lines().map(|n| work.path().join(n)).collect();
    assert_eq!(files.len(), 41);
    let (exact, unsupported) = compare(&py, &files);
    assert_eq!((exact, unsupported.len()), (40, 1), "{unsupported:?}");
}

/// Decode `files` with PIL and aite; every file is bit-exact or (progressive only)
/// unsupported. Returns the exact count and the unsupported files.
fn compare(py: &std::ffi::OsStr, files: &[PathBuf]) -> (usize, Vec<String>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/jpeg_decode_peer.py");
    let mut child = Command::new(py).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("peer python runs");
    let list: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
    child.stdin.take().unwrap().write_all(list.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), files.len());
    let (mut exact, mut unsupported, mut differ) = (0, vec![], vec![]);
    for (f, line) in files.iter().zip(&lines) {
        let peer: Vec<&str> = line.split(' ').collect();
        match decode_baseline(&std::fs::read(f).unwrap(), 1 << 26) {
            Ok(p) => {
                let ours = format!("{} {} {} {}", hex::encode(Sha256::digest(&p.data)), if p.channels == 1 { "L" } else { "RGB" }, p.width, p.height);
                if ours == peer[..4].join(" ") {
                    exact += 1;
                } else {
                    differ.push(f.display().to_string());
                }
            }
            Err(JpegError::Unsupported(why)) => {
                // Only progressive files may fall back here (the survey: one face is progressive).
                assert_eq!(peer[4], "1", "{}: unsupported ({why}) but not progressive", f.display());
                unsupported.push(f.display().to_string());
            }
            Err(e) => panic!("{}: {e}", f.display()),
        }
    }
    assert!(differ.is_empty(), "{} differ from PIL: {:?}", differ.len(), &differ[..differ.len().min(10)]);
    (exact, unsupported)
}
