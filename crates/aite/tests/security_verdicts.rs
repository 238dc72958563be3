//! `aite security` on inputs it cannot (fully) open: no rule passes, the
//! incomplete exit code, and the first line of the summary says so.

mod common;
use common::*;

/// 64 KiB of seeded pseudo-random bytes (xorshift: no known signature inside).
fn random_bytes() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..64 << 10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[test]
fn unreadable_inputs_are_incomplete_with_no_passing_rule() {
    let mut ubi = b"UBI#".to_vec();
    ubi.extend(&random_bytes()[..8192]);
    // A ustar header for a 4000-byte etc/passwd followed by only 1536 bytes of it.
    let mut truncated_tar = vec![0u8; 512];
    let field = |h: &mut Vec<u8>, at: usize, v: &[u8]| h[at..at + v.len()].copy_from_slice(v);
    field(&mut truncated_tar, 0, b"etc/passwd");
    field(&mut truncated_tar, 100, b"0000644\0");
    field(&mut truncated_tar, 124, b"00000007640\0");
    field(&mut truncated_tar, 156, b"0");
    field(&mut truncated_tar, 257, b"ustar\x0000");
    field(&mut truncated_tar, 148, b"        ");
    let sum: u32 = truncated_tar.iter().map(|&b| b as u32).sum();
    field(&mut truncated_tar, 148, format!("{sum:06o}\0 ").as_bytes());
    truncated_tar.extend(vec![b'x'; 1536]);
    for (name, bytes) in [("random.bin", random_bytes()), ("rootfs.ubi", ubi), ("truncated.tar", truncated_tar)] {
        let dir = tempfile::tempdir().unwrap();
        let image = dir.path().join(name);
        std::fs::write(&image, &bytes).unwrap();
        assert_incomplete(name, &image);
    }
}

/// Scan `image` with the real binary and assert what an incomplete scan must say:
/// exit 6, the summary opens with INCOMPLETE, no rule passes (results.json and SARIF),
/// every gap has a cause, the rules held back are on one line by their typed cause.
/// Returns the security section of results.json.
fn assert_incomplete(name: &str, image: &std::path::Path) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run(aite().arg("security").arg(image).arg("--out").arg(&out));
    assert_eq!(r.code, 6, "{name}: exit code\n{}{}", r.stdout, r.stderr);
    let summary: Vec<&str> = r.stdout.lines().collect();
    assert!(summary[1].starts_with("INCOMPLETE:"), "{name}: {}", r.stdout);
    let res = results(&run_folder(&out));
    let security = res["suites"]["security"].clone();
    let rules = security["rules"].as_array().unwrap();
    assert!(rules.len() > 30, "{name}: every rule is decided");
    let passed: Vec<&str> = rules.iter().filter(|o| o["status"] == "pass").map(|o| o["rule"].as_str().unwrap()).collect();
    assert!(passed.is_empty(), "{name}: {passed:?}");
    let sarif: serde_json::Value = serde_json::from_slice(&std::fs::read(run_folder(&out).join("findings.sarif")).unwrap()).unwrap();
    let kinds: Vec<&str> = sarif["runs"][0]["results"].as_array().unwrap().iter().map(|x| x["kind"].as_str().unwrap()).collect();
    assert!(!kinds.contains(&"pass"), "{name}: {kinds:?}");
    assert!(kinds.contains(&"open"), "{name}: undecided rules are SARIF `open`");
    let gaps = security["gaps"].as_array().unwrap();
    assert!(!gaps.is_empty(), "{name}");
    for g in gaps {
        let g = g.as_str().unwrap();
        assert!(!g.trim_end().ends_with(':') && !g.contains(": ;"), "{name}: gap without a cause: {g}");
    }
    // Held back by the incomplete scan (typed `not_checked`), listed on one line; the
    // vulnerability rule could not run at all (no feed) and says so on its own line.
    let held: Vec<&str> = rules.iter().filter(|o| o["not_checked"] == "incomplete-scan").map(|o| o["rule"].as_str().unwrap()).collect();
    let failed: Vec<&str> = rules.iter().filter(|o| o["status"] == "fail").map(|o| o["rule"].as_str().unwrap()).collect();
    assert!(failed.contains(&"AITE-UNPACK-INCOMPLETE"), "{name}: {failed:?}");
    assert_eq!(held.len() + failed.len() + 1, rules.len(), "{name}: every rule is failed, held back, or AITE-VULN-KNOWN");
    let line = lines_starting(&r.stdout, "not checked, the scan is incomplete: ");
    assert_eq!(line.len(), 1, "{name}: {}", r.stdout);
    let listed: Vec<&str> = line[0]["not checked, the scan is incomplete: ".len()..].split(", ").collect();
    assert_eq!(listed, held, "{name}");
    assert_eq!(lines_starting(&r.stdout, "not checked: AITE-VULN-KNOWN (").len(), 1, "{name}: {}", r.stdout);
    security
}

/// The firmware forms of ../shared's armcam that aite cannot read whole: the UBI
/// and the JFFS2 cut inside an erase block / a node, the squashfs cut short, and the
/// squashfs with its compressed blocks damaged (decompression fails).
#[test]
fn real_images_aite_cannot_read_whole_pass_no_rule() {
    let Some(assets) = shared_assets() else { return };
    let armcam = assets.join("security/firmware/armcam");
    let dir = tempfile::tempdir().unwrap();
    let ubi = std::fs::read(armcam.join("armcam-mini.ubi")).unwrap();
    // 22 whole 128 KiB erase blocks and 116_416 bytes of the 23rd.
    let truncated = dir.path().join("truncated.ubi");
    std::fs::write(&truncated, &ubi[..3_000_000]).unwrap();
    let security = assert_incomplete("truncated.ubi", &truncated);
    let gaps = security["gaps"].as_array().unwrap();
    assert!(gaps.iter().any(|g| g.as_str().unwrap().starts_with("ubi at offset 0 ") && g.as_str().unwrap().contains("failed: truncated: the image ends 116416 bytes into a 131072-byte erase block")), "{gaps:?}");
    assert_eq!(gaps.len(), 1, "one container, the whole input: {gaps:?}");
    let jffs2 = std::fs::read(armcam.join("armcam-mini.jffs2")).unwrap();
    // 1_000_002 is not a node boundary: 4-byte aligned nodes end at multiples of 4.
    let truncated = dir.path().join("truncated.jffs2");
    std::fs::write(&truncated, &jffs2[..1_000_002]).unwrap();
    let security = assert_incomplete("truncated.jffs2", &truncated);
    let gaps = security["gaps"].as_array().unwrap();
    assert!(gaps.iter().any(|g| g.as_str().unwrap().starts_with("jffs2 at offset 0 ") && g.as_str().unwrap().contains("failed: truncated: the node at offset ")), "{gaps:?}");
    let squashfs = std::fs::read(armcam.join("armcam-mini.squashfs")).unwrap();
    let used = u64::from_le_bytes(squashfs[40..48].try_into().unwrap()) as usize;
    let truncated = dir.path().join("truncated.squashfs");
    std::fs::write(&truncated, &squashfs[..300_000]).unwrap();
    let security = assert_incomplete("truncated.squashfs", &truncated);
    let gaps = security["gaps"].as_array().unwrap();
    let expected = format!("squashfs at offset 0 (300000 bytes): failed: truncated: the superblock declares {used} bytes, 300000 present");
    assert!(gaps[0].as_str().unwrap().starts_with(&expected), "{gaps:?}");
    // One byte in 997 of the data blocks flipped (the superblock and the tables at the end stay).
    let mut damaged = squashfs.clone();
    for i in (4096..used / 2).step_by(997) {
        damaged[i] ^= 0xff;
    }
    let path = dir.path().join("damaged.squashfs");
    std::fs::write(&path, &damaged).unwrap();
    let security = assert_incomplete("damaged.squashfs", &path);
    // Each gap carries the decompressor's or backhand's own message.
    let gaps = security["gaps"].as_array().unwrap();
    assert!(gaps.iter().all(|g| g.as_str().unwrap().contains(": unreadable: ") || g.as_str().unwrap().contains(": failed: ")), "{gaps:?}");
    // results.json holds container states by their fixed names, a cause beside every one but `extracted`.
    for c in security["coverage"]["containers"].as_array().unwrap() {
        assert!(["extracted", "failed", "not-supported", "not-understood", "not-examined"].contains(&c["status"].as_str().unwrap()), "{c}");
        assert_eq!(c["status"] == "extracted", c["cause"].is_null(), "{c}");
    }
}
