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
        let out = dir.path().join("out");
        let r = run(aite().arg("security").arg(&image).arg("--out").arg(&out));
        assert_eq!(r.code, 6, "{name}: exit code\n{}{}", r.stdout, r.stderr);
        let summary: Vec<&str> = r.stdout.lines().collect();
        assert!(summary[1].starts_with("INCOMPLETE:"), "{name}: {}", r.stdout);
        let res = results(&run_folder(&out));
        let rules = res["suites"]["security"]["rules"].as_array().unwrap();
        assert!(rules.len() > 30, "{name}: every rule is decided");
        let passed: Vec<&str> = rules.iter().filter(|o| o["status"] == "pass").map(|o| o["rule"].as_str().unwrap()).collect();
        assert!(passed.is_empty(), "{name}: {passed:?}");
        let sarif: serde_json::Value = serde_json::from_slice(&std::fs::read(run_folder(&out).join("findings.sarif")).unwrap()).unwrap();
        let kinds: Vec<&str> = sarif["runs"][0]["results"].as_array().unwrap().iter().map(|x| x["kind"].as_str().unwrap()).collect();
        assert!(!kinds.contains(&"pass"), "{name}: {kinds:?}");
        assert!(kinds.contains(&"open"), "{name}: undecided rules are SARIF `open`");
    }
}
