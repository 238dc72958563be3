//! Issue 10: `aite security some-static-mips-binary` said "unknown, no known
//! signature" and never examined hardening. A lone ELF is now examined as an ELF:
//! the summary says so, results.json carries its hardening row, and the scan is
//! complete (no INCOMPLETE exit code).

mod common;
use common::*;

#[test]
fn a_static_mips_binary_given_alone_gets_its_hardening_examined() {
    let Some(shared) = shared_assets() else { return };
    let elf = shared.join("security/elf/fact_core/hello_world_mips3");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run(aite().arg("security").arg(&elf).arg("--out").arg(&out));
    assert_ne!(r.code, 6, "not incomplete\n{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("coverage: 1 file examined as ELF"), "{}", r.stdout);
    assert!(!r.stdout.contains("no known signature"), "{}", r.stdout);
    let security = results(&run_folder(&out))["suites"]["security"].clone();
    assert_eq!(security["coverage"]["single_file"], "elf");
    let rows = security["elf"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0]["path"].as_str(), rows[0]["machine"].as_str().map(|m| m.contains("MIPS"))), (Some("hello_world_mips3"), Some(true)), "{:?}", rows[0]);
    let status = |rule: &str| security["rules"].as_array().unwrap().iter().find(|o| o["rule"] == rule).map(|o| o["status"].as_str().unwrap_or("").to_string());
    // Statically linked, not PIE, no canary (checksec --file says the same: tests/single_files.rs in aite-security).
    assert_eq!(status("AITE-ELF-PIE").as_deref(), Some("fail"));
    assert_eq!(status("AITE-ELF-CANARY").as_deref(), Some("fail"));
    assert_eq!(status("AITE-ELF-NX").as_deref(), Some("pass"));
}
