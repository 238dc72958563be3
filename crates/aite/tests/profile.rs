//! `aite profile show|check` on the shipped profiles and on a lab's file.

mod common;
use common::*;

#[test]
fn shipped_profiles_are_shown_with_their_provisional_status() {
    let r = run(aite().args(["profile", "show", "ai-camera"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.lines().nth(1).is_some_and(|l| l.starts_with("PROVISIONAL:")), "{}", r.stdout);
    assert!(r.stdout.contains("LAT-E2E-PERIOD") && r.stdout.contains("frame-period"), "{}", r.stdout);
    for item in ["Latency (", "Robustness (", "Security ("] {
        assert!(r.stdout.contains(item), "{item}: {}", r.stdout);
    }
    let r = run(aite().args(["profile", "show", "no-such-profile"]));
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("no-such-profile") && r.stderr.contains("ai-camera"), "names the shipped ones: {}", r.stderr);
}

#[test]
fn a_lab_profile_is_checked_and_its_overrides_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let lab = dir.path().join("lab-x.toml");
    std::fs::write(&lab, "schema = \"aite.profile/v1\"\nid = \"lab-x\"\nversion = \"2\"\ntitle = \"Lab X\"\nextends = \"ai-camera\"\n\n[[override]]\nrequirement = \"LAT-AFTER-IDLE\"\nthreshold = 80.0\nprovenance = { source = \"Lab X procedure 12\", status = \"lab\" }\n").unwrap();
    let r = run(aite().args(["profile", "check"]).arg(&lab));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // One [[override]] changes two fields (threshold and provenance), each recorded.
    let n = aite_assessment::shipped("ai-camera").unwrap().requirements.len();
    assert!(r.stdout.contains(&format!("valid profile lab-x 2 ({n} requirements, 2 overrides)")), "{}", r.stdout);
    let r = run(aite().args(["profile", "show"]).arg(&lab));
    assert!(r.stdout.contains("override LAT-AFTER-IDLE threshold: 200 -> 80"), "{}", r.stdout);
    assert!(r.stdout.lines().any(|l| l.contains("LAT-AFTER-IDLE") && l.contains(" lab ") && l.ends_with("<= 80 ms")), "{}", r.stdout);
    // An unknown key is an error naming the file and its line.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "schema = \"aite.profile/v1\"\nid = \"bad\"\ncolour = \"blue\"\nversion = \"1\"\ntitle = \"Bad\"\n").unwrap();
    let r = run(aite().args(["profile", "check"]).arg(&bad));
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(r.stderr.contains("bad.toml:3:") && r.stderr.contains("colour"), "{}", r.stderr);
}
