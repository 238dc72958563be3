//! The pickle opcode walker and its import verdicts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let scan = aite_security::models::pickle::scan(data);
    for import in &scan.imports {
        let _ = aite_security::models::pickle::verdict(import);
    }
    let a = aite_security::models::examine("model.pkl", "pickle", data);
    let _ = aite_security::models::findings(&a);
});
