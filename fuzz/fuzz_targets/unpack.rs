//! Unpackers: the input file as `aite security` would open it (tar, cpio,
//! gzip/xz/zstd, squashfs, uImage, carving), extracted into a fresh folder.
//! A panic the unpacker contains (reported as the container's failure) counts
//! as a crash here.
#![no_main]

use aite_security::unpack::{open, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temporary folder");
    let input = dir.path().join("input.bin");
    std::fs::write(&input, data).expect("write input");
    // Small bounds so a bomb costs milliseconds, not the fuzzer's memory.
    let limits = Limits { max_total_bytes: 64 << 20, max_files: 4096, max_file_bytes: 16 << 20 };
    if let Ok((tree, coverage)) = open(&input, &dir.path().join("work"), limits) {
        // The scan contains parser panics (the container is reported as failed);
        // the fuzzer still wants to see them, so a contained panic is a crash here.
        for c in &coverage.containers {
            assert!(!c.status.to_string().contains("parser panicked"), "contained panic in {} at {}: {}", c.format, c.offset, c.status);
        }
        for s in &coverage.skipped {
            assert!(!s.reason.contains("parser panicked"), "contained panic on {}: {}", s.path, s.reason);
        }
        for e in tree.files() {
            let _ = tree.read(&e.path);
        }
    }
});
