//! `aite probe` end to end against the in-process loopback reference device:
//! exit codes, results.json `suites.network`, findings.sarif, and the refusal
//! of targets outside loopback (issue 14).

mod common;
use aite_network::reference::{DeviceKind, ReferenceDevice, Role};
use common::*;

fn list(ports: &[u16]) -> String {
    ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",")
}

#[test]
fn probe_writes_network_results_and_sarif() {
    let dev = ReferenceDevice::start(DeviceKind::Vulnerable).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = run(aite().args(["probe", "127.0.0.1", "--ports", &list(&dev.ports()), "--declared", &list(&dev.declared), "--out"]).arg(out.path()));
    assert_eq!(r.code, 1, "critical and high findings fail: {}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("FAIL") && r.stdout.contains("AITE-NET-TELNET"), "{}", r.stdout);
    assert!(!r.stdout.to_lowercase().contains("password: admin"), "no password printed: {}", r.stdout);
    let folder = run_folder(out.path());
    let res = results(&folder);
    let net = &res["suites"]["network"];
    assert_eq!(net["open"].as_array().unwrap().len(), dev.ports().len(), "{net}");
    let status = |rule: &str| net["rules"].as_array().unwrap().iter().find(|o| o["rule"] == rule).map(|o| o["status"].as_str().unwrap().to_string()).unwrap();
    for rule in ["AITE-NET-TELNET", "AITE-NET-HTTP-DEFAULT-CREDENTIAL", "AITE-NET-OIP-UNAUTHENTICATED", "AITE-NET-SSH-WEAK-ALGORITHM", "AITE-NET-UNDECLARED-PORT", "AITE-NET-TLS-CERT-EXPIRED", "AITE-NET-TLS-CERT-SELF-SIGNED"] {
        assert_eq!(status(rule), "fail", "{rule}");
    }
    let attempt = &net["attempts"][0];
    assert_eq!((attempt["user"].as_str(), attempt["outcome"].as_str(), attempt.get("password")), (Some("admin"), Some("accepted"), None), "{attempt}");
    let sarif: serde_json::Value = serde_json::from_slice(&std::fs::read(folder.join("findings.sarif")).unwrap()).unwrap();
    let run0 = &sarif["runs"][0];
    let telnet = run0["results"].as_array().unwrap().iter().find(|x| x["ruleId"] == "AITE-NET-TELNET" && x["kind"] == "fail").expect("telnet failure in SARIF");
    let idx = telnet["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(run0["tool"]["driver"]["rules"][idx]["id"], "AITE-NET-TELNET");
    assert_eq!(telnet["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], format!("127.0.0.1:{}/tcp", dev.port(Role::Telnet).unwrap()));
    // Every rule has one result: failures, plus one conclusion per rule that did not fail.
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    for rule in rules {
        assert!(run0["results"].as_array().unwrap().iter().any(|x| x["ruleId"] == rule["id"]), "{}", rule["id"]);
    }
    assert!(folder.join("manifest.json").is_file());
}

#[test]
fn probe_refuses_targets_outside_loopback() {
    let out = tempfile::tempdir().unwrap();
    for target in ["10.0.0.1", "192.168.1.64", "8.8.8.8", "camera.local"] {
        let r = run(aite().args(["probe", target, "--ports", "80", "--out"]).arg(out.path()));
        assert_eq!(r.code, 2, "{target}: {}", r.stderr);
        assert!(r.stderr.contains(target), "{target}: {}", r.stderr);
    }
    let r = run(aite().args(["probe", "10.0.0.1", "--ports", "80", "--out"]).arg(out.path()));
    assert!(r.stderr.contains("--allow-network"), "{}", r.stderr);
    for (flag, value) in [("--ports", "0"), ("--declared", "22-x"), ("--allow-network", "10.0.0.0/40")] {
        let r = run(aite().args(["probe", "127.0.0.1", flag, value, "--out"]).arg(out.path()));
        assert_eq!(r.code, 2, "{flag} {value}: {}", r.stderr);
        assert!(r.stderr.contains(value), "{flag} {value}: {}", r.stderr);
    }
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "no run folder for a refused probe");
}
