//! ELF hardening analysis on arbitrary bytes, with and without a libc symbol set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;

fuzz_target!(|data: &[u8]| {
    let _ = aite_security::elf::analyse("usr/bin/fuzz", data, None);
    let chk: BTreeSet<String> = ["__printf_chk", "__memcpy_chk", "__strcpy_chk"].iter().map(|s| s.to_string()).collect();
    let _ = aite_security::elf::analyse("usr/lib/libfuzz.so", data, Some(&chk));
});
