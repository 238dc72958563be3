//! aite's progressive JPEG decoding against PIL (libjpeg-turbo; the peer
//! tests/peers/jpeg_progressive_peer.py compares `np.asarray(Image.open(f).convert('RGB'))`),
//! sample for sample: PIL-written progressive variants of real ../shared photos
//! (quality 75/95, 4:4:4, 4:2:2, 4:2:0, grey, restart intervals, odd sizes), the
//! embedded frost4 photograph and every progressive JPEG of ../shared. Needs
//! `AITE_PEER_PYTHON` (the peer virtualenv with Pillow and numpy) and ../shared/assets;
//! without them the test skips with a message, or fails under `AITE_REQUIRE_PEERS=1`.

use aite_data::jpeg::decode;
use std::path::{Path, PathBuf};
use std::process::Command;

fn skip_or_fail(why: &str) {
    if std::env::var("AITE_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("required peer missing: {why}");
    }
    eprintln!("skipped: {why}");
}

fn peer(py: &std::ffi::OsStr, args: &[&std::ffi::OsStr]) -> Vec<(String, usize, usize)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/peers/jpeg_progressive_peer.py");
    let out = Command::new(py).arg(script).args(args).output().expect("peer python runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.rsplitn(3, ' ').collect();
            (f[2].to_string(), f[1].parse().unwrap(), f[0].parse().unwrap())
        })
        .collect()
}

/// aite's decode of `jpg` as RGB (grey replicated, as PIL's convert('RGB')) against PIL's `rgb`:
/// `None` when identical, else a description of the difference.
fn differs(jpg: &Path, rgb: &Path, w: usize, h: usize) -> Option<String> {
    let p = match decode(&std::fs::read(jpg).unwrap(), 1 << 26) {
        Ok(p) => p,
        Err(e) => return Some(format!("{}: {e}", jpg.display())),
    };
    let ours: Vec<u8> = if p.channels == 1 { p.data.iter().flat_map(|&v| [v, v, v]).collect() } else { p.data };
    let theirs = std::fs::read(rgb).unwrap();
    if (p.width, p.height) != (w, h) || ours.len() != theirs.len() {
        return Some(format!("{}: {}x{} vs PIL {w}x{h}", jpg.display(), p.width, p.height));
    }
    let n = ours.iter().zip(&theirs).filter(|(a, b)| a != b).count();
    let max = ours.iter().zip(&theirs).map(|(&a, &b)| (a as i32 - b as i32).abs()).max().unwrap_or(0);
    (n > 0).then(|| format!("{}: {n} samples differ (max {max})", jpg.display()))
}

fn setup() -> Option<(std::ffi::OsString, PathBuf)> {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/assets/data");
    if !assets.is_dir() {
        skip_or_fail("../shared/assets is absent (the real images live there)");
        return None;
    }
    let Some(py) = std::env::var_os("AITE_PEER_PYTHON").filter(|p| Path::new(p).exists()) else {
        skip_or_fail("AITE_PEER_PYTHON is not set to a Python with Pillow and numpy (bash .ci/run builds target/peers-venv)");
        return None;
    };
    Some((py, assets))
}

#[test]
fn progressive_decoding_is_bit_exact_with_pil_on_pil_written_variants() {
    let Some((py, assets)) = setup() else { return };
    let work = tempfile::tempdir().unwrap();
    let srcs = [assets.join("photos/face.jpg"), assets.join("photos/owl.jpg"), assets.join("photos/grace_hopper.png")];
    let mut args: Vec<&std::ffi::OsStr> = vec!["write".as_ref(), work.path().as_os_str()];
    args.extend(srcs.iter().map(|s| s.as_os_str()));
    let written = peer(&py, &args);
    assert_eq!(written.len(), 3 * 11 + 8);
    let differ: Vec<String> = written
        .iter()
        .filter_map(|(name, w, h)| differs(&work.path().join(format!("{name}.jpg")), &work.path().join(format!("{name}.rgb")), *w, *h))
        .collect();
    eprintln!("progressive, bit-exact with PIL: {}/{}", written.len() - differ.len(), written.len());
    assert!(differ.is_empty(), "{differ:#?}");
}

#[test]
fn progressive_decoding_is_bit_exact_with_pil_on_frost4_and_the_shared_progressive_jpegs() {
    let Some((py, assets)) = setup() else { return };
    let mut files = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../aite-robustness/assets/frost/frost4.jpg")];
    let mut all = vec![];
    for d in ["imagenet-sample", "photos", "faces"] {
        jpegs(&assets.join(d), &mut all);
    }
    files.extend(all.into_iter().filter(|f| is_progressive(&std::fs::read(f).unwrap())));
    assert!(files.len() >= 2, "the survey found one progressive face in ../shared");
    let work = tempfile::tempdir().unwrap();
    let mut args: Vec<&std::ffi::OsStr> = vec!["decode".as_ref(), work.path().as_os_str()];
    args.extend(files.iter().map(|s| s.as_os_str()));
    let decoded = peer(&py, &args);
    assert_eq!(decoded.len(), files.len());
    let differ: Vec<String> = files
        .iter()
        .zip(&decoded)
        .filter_map(|(f, (_, w, h))| differs(f, &work.path().join(format!("{}.rgb", f.file_name().unwrap().to_string_lossy())), *w, *h))
        .collect();
    eprintln!("frost4 and {} shared progressive JPEGs: {} bit-exact with PIL", files.len() - 1, files.len() - differ.len());
    assert!(differ.is_empty(), "{differ:#?}");
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

/// The frame header before the first scan is SOF2.
fn is_progressive(d: &[u8]) -> bool {
    let mut pos = 2;
    while pos + 4 <= d.len() && d[pos] == 0xFF {
        let m = d[pos + 1];
        if m == 0xC2 {
            return true;
        }
        if m == 0xDA || (0xC0..=0xCF).contains(&m) && m != 0xC4 && m != 0xCC {
            return false;
        }
        pos += 2 + (((d[pos + 2] as usize) << 8) | d[pos + 3] as usize);
    }
    false
}
