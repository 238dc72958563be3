//! Private keys, public keys and certificates (PEM, DER, OpenSSH, inside
//! binaries) and the findings judged from them.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The file name decides some readings (DER by extension).
const PATHS: &[&str] = &["etc/ssl/private/server.key", "etc/ssl/certs/ca.der", "etc/ssl/certs/ca.crt", "etc/dropbear/id_rsa", "usr/bin/app"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else { return };
    let path = PATHS[pick as usize % PATHS.len()];
    let mut objects = Vec::new();
    aite_security::keys::inventory_file(path, bytes, &mut objects);
    let tree = aite_security::tree::Tree::default();
    let mut ledger = aite_security::Ledger::default();
    let _ = aite_security::keys::findings(&objects, &tree, 1_780_000_000, &mut ledger);
});
