//! The probe against in-process loopback devices: the vulnerable reference
//! device's planted weaknesses each fail their rule; its hardened twin fails none.

use aite_network::reference::{DeviceKind, ReferenceDevice, Role};
use aite_network::tls::{Offer, TlsVersion};
use aite_network::{probe, PortList, ProbeOptions, Service};
use aite_security::RuleStatus;
use std::time::Duration;

/// Each probe step and the whole probe where a test asserts what a stand-in answered: the
/// stand-ins answer at once, so these only stop a hang (the default 3 s step is a race on a
/// loaded machine). The banner waits stay short: a silent server makes the probe wait them out.
const STEP: Duration = Duration::from_secs(30);
const BUDGET: Duration = Duration::from_secs(600);

fn options(dev: &ReferenceDevice, extra: &[u16]) -> ProbeOptions {
    let mut ports = dev.ports();
    ports.extend_from_slice(extra);
    ProbeOptions {
        ports: PortList::parse(&ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",")).unwrap(),
        declared: Some(dev.declared.clone()),
        banner_wait: Duration::from_millis(1500),
        credential_pause: Duration::from_millis(10),
        // 2025-06-01: a fixed clock, so the certificates are judged the same on every run.
        now: Some(1_748_736_000),
        step_timeout: STEP,
        budget: BUDGET,
        ..ProbeOptions::default()
    }
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn vulnerable_device_fails_each_planted_rule() {
    let dev = ReferenceDevice::start(DeviceKind::Vulnerable).unwrap();
    let closed = closed_port();
    let r = probe("127.0.0.1", &options(&dev, &[closed])).unwrap();
    let fails = |rule: &str| r.findings.iter().filter(|f| f.failed() && f.rule == rule).map(|f| f.path.clone()).collect::<Vec<_>>();
    let keys = |rule: &str| r.findings.iter().filter(|f| f.failed() && f.rule == rule).map(|f| f.key.clone()).collect::<Vec<_>>();
    let at = |role: Role| format!("127.0.0.1:{}/tcp", dev.port(role).unwrap());
    assert_eq!(r.closed, 1, "{r:#?}");
    assert_eq!(r.open.len(), 7);
    assert_eq!(fails("AITE-NET-TELNET"), [at(Role::Telnet)]);
    // The login is tried with prompt matching: admin:admin gets the shell prompt.
    assert_eq!(fails("AITE-NET-TELNET-DEFAULT-CREDENTIAL"), [at(Role::Telnet)]);
    // The web UI accepts admin:admin on plain HTTP and inside TLS.
    let mut basic = fails("AITE-NET-HTTP-DEFAULT-CREDENTIAL");
    basic.sort();
    let mut want = vec![at(Role::HttpBasic), at(Role::Tls)];
    want.sort();
    assert_eq!(basic, want);
    // One finding per weak algorithm, each keyed by its role and name.
    let ssh = r.services.iter().find(|s| s.port == dev.port(Role::Ssh).unwrap()).unwrap().ssh.as_ref().unwrap();
    assert_eq!(ssh.weak.len(), 2, "{ssh:?}");
    assert_eq!(fails("AITE-NET-SSH-WEAK-ALGORITHM"), [at(Role::Ssh), at(Role::Ssh)]);
    let want_keys: Vec<String> = ssh.weak.iter().map(|w| w.split(" (").next().unwrap().to_string()).collect();
    assert_eq!(keys("AITE-NET-SSH-WEAK-ALGORITHM"), want_keys.iter().map(|k| Some(k.clone())).collect::<Vec<_>>());
    assert!(want_keys.iter().all(|k| k.starts_with("kex ") || k.starts_with("cipher ") || k.starts_with("mac ") || k.starts_with("host key ")), "{want_keys:?}");
    let mut oip = fails("AITE-NET-OIP-UNAUTHENTICATED");
    oip.sort();
    let mut want = vec![at(Role::HttpBasic), at(Role::Oip), at(Role::Tls)];
    want.sort();
    assert_eq!(oip, want);
    // A real SSH server: password offered after the key exchange, admin:admin gets in.
    assert_eq!(fails("AITE-NET-SSH-PASSWORD-DEFAULT-CREDENTIAL"), [at(Role::Ssh)]);
    // The inference API lists its READY model without credentials on each HTTP service, and the
    // unknown datatype gets a 500 after a well-formed control got a 200.
    let mut repo = fails("AITE-NET-OIP-REPOSITORY-UNAUTHENTICATED");
    repo.sort();
    assert_eq!(repo, want);
    assert_eq!(fails("AITE-NET-OIP-MALFORMED-INPUT").len(), 3);
    let oip = r.services.iter().find(|s| s.port == dev.port(Role::Oip).unwrap()).unwrap().oip.as_ref().unwrap();
    assert_eq!(oip.control.as_ref().and_then(|c| c.status), Some(200), "{oip:?}");
    let not_clean: Vec<&str> = oip.malformed.iter().filter(|m| !m.clean()).map(|m| m.case.as_str()).collect();
    assert_eq!(not_clean, ["unknown datatype"], "{oip:?}");
    // ONVIF: device information to anyone; GetUsers refused, then answered to the admin:admin token
    // made on the device's clock (GetSystemDateAndTime).
    assert_eq!(fails("AITE-NET-ONVIF-UNAUTHENTICATED"), [at(Role::Onvif)]);
    assert_eq!(fails("AITE-NET-ONVIF-DEFAULT-CREDENTIAL"), [at(Role::Onvif)]);
    let onvif = r.services.iter().find(|s| s.port == dev.port(Role::Onvif).unwrap()).unwrap().onvif.as_ref().unwrap();
    assert!(matches!(onvif.token_clock, Some(aite_network::onvif::TokenClock::Device { .. })), "{onvif:?}");
    assert!(r.attempts.iter().any(|x| x.service.ends_with("onvif-usernametoken GetUsers") && matches!(x.outcome, aite_network::http::AttemptOutcome::Accepted { .. })), "{:?}", r.attempts);
    // Five undeclared open ports (only HTTP and ONVIF are declared); the closed one is examined, not failed.
    assert_eq!(fails("AITE-NET-UNDECLARED-PORT").len(), 5);
    // RTSP: /live.sdp open to anyone, /Streaming/Channels/1 behind admin:admin; the random route is 404.
    assert_eq!(fails("AITE-NET-RTSP-UNAUTHENTICATED"), [at(Role::Rtsp)]);
    assert_eq!(fails("AITE-NET-RTSP-DEFAULT-CREDENTIAL"), [at(Role::Rtsp)]);
    // Keys: the route, the account tried; none where the rule has one finding per port.
    assert_eq!(keys("AITE-NET-RTSP-UNAUTHENTICATED"), [Some("/live.sdp".to_string())]);
    assert_eq!(keys("AITE-NET-RTSP-DEFAULT-CREDENTIAL"), [Some("admin".to_string())]);
    assert_eq!(keys("AITE-NET-TELNET-DEFAULT-CREDENTIAL"), [Some("admin".to_string())]);
    assert_eq!(keys("AITE-NET-ONVIF-DEFAULT-CREDENTIAL"), [Some("admin".to_string())]);
    assert_eq!(keys("AITE-NET-TELNET"), [None]);
    assert!(keys("AITE-NET-UNDECLARED-PORT").iter().all(Option::is_none));
    let rtsp = r.services.iter().find(|s| s.port == dev.port(Role::Rtsp).unwrap()).unwrap().rtsp.as_ref().unwrap();
    assert_eq!(rtsp.random_route.status, Some(404));
    assert_eq!(rtsp.routes.iter().filter(|x| x.stream).map(|x| x.route.as_str()).collect::<Vec<_>>(), ["live.sdp"]);
    // TLS: rustls offers 1.2 and 1.3 only; the certificate is expired and self-signed, P-256.
    let tls = r.services.iter().find(|s| s.service == Service::Tls).unwrap().tls.as_ref().unwrap();
    for p in &tls.versions {
        let offered = matches!(p.offer, Offer::Offered { .. });
        assert_eq!(offered, p.version >= TlsVersion::Tls12, "{p:?}");
        assert!(!matches!(p.offer, Offer::Unknown { .. }), "{p:?}");
    }
    let v12 = tls.versions.iter().find(|p| p.version == TlsVersion::Tls12).unwrap();
    assert!(v12.suites.iter().all(|s| s.starts_with("TLS_ECDHE_ECDSA_WITH_")), "{:?}", v12.suites);
    assert_eq!(v12.suites.len(), 3, "rustls 0.23 + ring: ECDHE-ECDSA AES-128/256-GCM and ChaCha20: {:?}", v12.suites);
    let v13 = tls.versions.iter().find(|p| p.version == TlsVersion::Tls13).unwrap();
    assert_eq!(v13.suites.len(), 3, "{:?}", v13.suites);
    assert_eq!(fails("AITE-NET-TLS-CERT-EXPIRED"), [at(Role::Tls)]);
    let expired = r.findings.iter().find(|f| f.failed() && f.rule == "AITE-NET-TLS-CERT-EXPIRED").unwrap();
    assert!(expired.message.contains("valid 2020-01-01T00:00:00Z to 2021-01-01T00:00:00Z, judged at 2025-06-01"), "{}", expired.message);
    assert_eq!(fails("AITE-NET-TLS-CERT-SELF-SIGNED"), [at(Role::Tls)]);
    for rule in ["AITE-NET-TLS-LEGACY-VERSION", "AITE-NET-TLS-WEAK-CIPHER", "AITE-NET-TLS-CBC-SHA1", "AITE-NET-TLS-KEY-WEAK", "AITE-NET-TLS-CERT-WEAK-SIGNATURE"] {
        assert_eq!(r.status(rule), Some(RuleStatus::Pass), "{rule}: {:?}", r.rules.iter().find(|o| o.rule == rule));
    }
    // Every credential try is recorded; the password is not, unless asked.
    let a = &r.attempts;
    assert_eq!(a.len(), 6, "one accepted try per web UI, on RTSP, on telnet, on SSH and on ONVIF: {a:?}");
    assert!(a.iter().all(|x| x.user == "admin" && x.list_entry == 1), "{a:?}");
    assert!(a.iter().any(|x| x.service.ends_with("(TLS) http-basic GET /")), "{a:?}");
    assert!(a.iter().any(|x| x.service.ends_with("telnet login")), "{a:?}");
    assert!(a.iter().any(|x| x.service == format!("{} ssh-password", at(Role::Ssh))), "{a:?}");
    assert!(a.iter().all(|x| x.password.is_none()));
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["attempts"].as_array().unwrap().iter().all(|a| a.get("password").is_none()), "no password field in the evidence");
    assert!(r.complete(), "{:?}", r.gaps);
}

#[test]
fn hardened_twin_fails_nothing() {
    let dev = ReferenceDevice::start(DeviceKind::Hardened).unwrap();
    let r = probe("127.0.0.1", &options(&dev, &[])).unwrap();
    let failed: Vec<_> = r.findings.iter().filter(|f| f.failed()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    // Six default credentials tried on HTTP, HTTPS and RTSP, each rejected (401), and as ONVIF
    // UsernameTokens, each rejected (ter:NotAuthorized, 400); paced, recorded.
    use aite_network::http::AttemptOutcome::Rejected;
    let n = aite_network::http::DEFAULT_CREDENTIALS.len();
    let (onvif, other): (Vec<_>, Vec<_>) = r.attempts.iter().partition(|a| a.service.contains("onvif-usernametoken"));
    assert_eq!((other.len(), onvif.len()), (3 * n, n), "{:?}", r.attempts);
    assert!(other.iter().all(|a| matches!(a.outcome, Rejected { status: 401 })), "{:?}", r.attempts);
    assert!(onvif.iter().all(|a| matches!(a.outcome, Rejected { status: 400 })), "{:?}", r.attempts);
    let s = |rule: &str| r.status(rule).unwrap();
    // Key-only SSH: after the key exchange only publickey is offered; no password is tried.
    let ssh = r.services.iter().find(|s| s.port == dev.port(Role::Ssh).unwrap()).unwrap();
    assert_eq!(ssh.ssh_auth_methods.as_deref(), Some(&["publickey".to_string()][..]), "{ssh:?}");
    for rule in ["AITE-NET-SSH-PASSWORD-DEFAULT-CREDENTIAL", "AITE-NET-OIP-REPOSITORY-UNAUTHENTICATED", "AITE-NET-ONVIF-UNAUTHENTICATED", "AITE-NET-ONVIF-DEFAULT-CREDENTIAL"] {
        assert_eq!(s(rule), RuleStatus::Pass, "{rule}: {:?}", r.rules.iter().find(|o| o.rule == rule));
    }
    // Infer is reachable only with credentials: no malformed tensor is sent.
    assert_eq!(s("AITE-NET-OIP-MALFORMED-INPUT"), RuleStatus::NotApplicable);
    for rule in ["AITE-NET-UNDECLARED-PORT", "AITE-NET-TELNET", "AITE-NET-SSH-WEAK-ALGORITHM", "AITE-NET-TLS-LEGACY-VERSION", "AITE-NET-TLS-WEAK-CIPHER", "AITE-NET-TLS-KEY-WEAK", "AITE-NET-TLS-CERT-WEAK-SIGNATURE", "AITE-NET-TLS-CERT-EXPIRED", "AITE-NET-TLS-CERT-SELF-SIGNED", "AITE-NET-RTSP-UNAUTHENTICATED", "AITE-NET-RTSP-DEFAULT-CREDENTIAL"] {
        assert_eq!(s(rule), RuleStatus::Pass, "{rule}: {:?}", r.rules.iter().find(|o| o.rule == rule));
    }
    // The certificate came through a real TLS 1.3 handshake (1.3 encrypts it).
    let tls = r.services.iter().find(|s| s.service == Service::Tls).unwrap().tls.as_ref().unwrap();
    assert!(tls.certificate_source.as_deref().unwrap().contains("TLS 1.3 handshake"), "{tls:?}");
    assert!(tls.certificate_der_hex.is_some());
    // HTTP and HTTPS ask for Basic; those two and the ONVIF service are asked GET /v2.
    for (rule, examined) in [("AITE-NET-HTTP-DEFAULT-CREDENTIAL", 2), ("AITE-NET-OIP-UNAUTHENTICATED", 3)] {
        let o = r.rules.iter().find(|o| o.rule == rule).unwrap();
        assert_eq!((o.status, o.examined), (RuleStatus::Pass, examined), "{o:?}");
    }
    assert!(r.services.iter().any(|s| s.https_status == Some(401)));
    assert!(r.complete(), "{:?}", r.gaps);
}

#[test]
fn a_spent_budget_passes_nothing() {
    let dev = ReferenceDevice::start(DeviceKind::Hardened).unwrap();
    let opts = ProbeOptions { budget: Duration::ZERO, ..options(&dev, &[]) };
    let r = probe("127.0.0.1", &opts).unwrap();
    assert!(!r.complete());
    assert!(r.rules.iter().all(|o| o.status != RuleStatus::Pass), "{:#?}", r.rules);
    assert_eq!(r.unknown_count, dev.ports().len());
}

#[test]
fn no_declared_list_leaves_the_port_rule_not_checked() {
    let dev = ReferenceDevice::start(DeviceKind::Hardened).unwrap();
    let opts = ProbeOptions { declared: None, ports: PortList::parse(&dev.port(Role::Ssh).unwrap().to_string()).unwrap(), ..options(&dev, &[]) };
    let r = probe("127.0.0.1", &opts).unwrap();
    assert_eq!(r.status("AITE-NET-UNDECLARED-PORT"), Some(RuleStatus::NotChecked));
    assert_eq!(r.status("AITE-NET-SSH-WEAK-ALGORITHM"), Some(RuleStatus::Pass));
}

#[test]
fn targets_outside_loopback_are_refused_before_any_packet() {
    for t in ["10.1.2.3", "192.168.0.10", "203.0.113.5", "::ffff:192.168.0.1"] {
        let e = probe(t, &ProbeOptions { ports: PortList::parse("80").unwrap(), ..ProbeOptions::default() }).unwrap_err();
        assert!(matches!(e, aite_network::ProbeError::OutOfScope { .. }), "{t}: {e}");
    }
}

/// cameradar #438: a server that answers 200 to any path, without a stream description,
/// proves nothing about its routes: the RTSP rules are not checked, never passed.
#[test]
fn rtsp_server_accepting_any_path_is_not_checked() {
    let port = serve(|_| b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n".to_vec());
    let opts = ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(300), step_timeout: STEP, budget: BUDGET, ..ProbeOptions::default() };
    let r = probe("127.0.0.1", &opts).unwrap();
    assert!(matches!(r.services[0].service, Service::Rtsp { status: 200, .. }), "{:?}", r.services[0]);
    for rule in ["AITE-NET-RTSP-UNAUTHENTICATED", "AITE-NET-RTSP-DEFAULT-CREDENTIAL"] {
        let o = r.rules.iter().find(|o| o.rule == rule).unwrap();
        assert_eq!(o.status, RuleStatus::NotChecked, "{o:?}");
        assert!(o.reason.contains("random route"), "{o:?}");
    }
}

/// A `#` in the banner is no login (fscan#590): a telnet server that rejects every
/// password gets six recorded, rejected tries and the credential rule passes.
#[test]
fn telnet_rejecting_every_password_passes_the_credential_rule() {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                let _ = s.write_all(b"\xff\xfd\x18### camera service shell # \r\nlogin: ");
                let mut got = Vec::new();
                let mut b = [0u8; 256];
                // user line, then password line
                while got.iter().filter(|&&c| c == b'\n').count() < 1 {
                    match s.read(&mut b) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&b[..n]),
                    }
                }
                let _ = s.write_all(b"Password: ");
                while got.iter().filter(|&&c| c == b'\n').count() < 2 {
                    match s.read(&mut b) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&b[..n]),
                    }
                }
                let _ = s.write_all(b"\r\nLogin incorrect\r\nlogin: ");
                std::thread::sleep(Duration::from_millis(100));
            });
        }
    });
    let opts = ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(1500), credential_pause: Duration::from_millis(5), step_timeout: STEP, budget: BUDGET, ..ProbeOptions::default() };
    let r = probe("127.0.0.1", &opts).unwrap();
    assert!(matches!(r.services[0].service, Service::Telnet { .. }), "{:?}", r.services[0]);
    assert_eq!(r.status("AITE-NET-TELNET"), Some(RuleStatus::Fail));
    assert_eq!(r.status("AITE-NET-TELNET-DEFAULT-CREDENTIAL"), Some(RuleStatus::Pass), "{:?}", r.attempts);
    assert_eq!(r.attempts.len(), aite_network::http::DEFAULT_CREDENTIALS.len());
    assert!(r.attempts.iter().all(|a| matches!(a.outcome, aite_network::http::AttemptOutcome::Rejected { .. })), "{:?}", r.attempts);
}

/// A one-request-per-connection stand-in server on a free loopback port: each request (its
/// head and its Content-Length body, as text) gets the bytes of `answer(request)`, then the
/// connection closes. A test that records the request records it inside `answer`, so before
/// the client can read the answer. A TLS record is closed unanswered: no stand-in speaks TLS.
fn serve(answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let answer = answer.clone();
            std::thread::spawn(move || {
                // Long: a loaded machine may be slow to send; a client that gives up closes.
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                let mut buf = Vec::new();
                let mut b = [0u8; 65536];
                loop {
                    if buf.first() == Some(&0x16) {
                        return;
                    }
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]);
                        let len = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0))).unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            let _ = s.write_all(&answer(&String::from_utf8_lossy(&buf)));
                            return;
                        }
                    }
                    match s.read(&mut b) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&b[..n]),
                    }
                }
            });
        }
    });
    port
}

/// An HTTP stand-in (see [`serve`]): `reply(method, path, body)` gives the whole answer.
fn http_server(reply: impl Fn(&str, &str, &str) -> String + Send + Sync + 'static) -> u16 {
    serve(move |request| {
        let (head, body) = request.split_once("\r\n\r\n").unwrap_or((request, ""));
        let mut w = head.split_whitespace();
        let (method, path) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
        reply(method, path, body).into_bytes()
    })
}

fn answer(status: &str, ctype: &str, body: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

/// An OIP server that 400s every infer request proves nothing about validation unless a
/// well-formed request gets a 2xx: unreadable metadata, an unready model or a refused
/// control leave AITE-NET-OIP-MALFORMED-INPUT not checked, with the reason.
#[test]
fn malformed_input_needs_metadata_a_ready_model_and_a_control() {
    for (metadata_ok, state, infer_ok, why) in [(false, "READY", true, "model metadata not readable"), (true, "UNAVAILABLE", true, "is READY"), (true, "READY", false, "control request")] {
        let port = http_server(move |method, path, body| match (method, path) {
            ("GET", "/v2") => answer("200 OK", "application/json", r#"{"name":"triton","version":"2.50","extensions":["model_repository"]}"#),
            ("POST", "/v2/repository/index") => answer("200 OK", "application/json", &format!(r#"[{{"name":"m","version":"1","state":"{state}"}}]"#)),
            ("GET", "/v2/models/m") if metadata_ok => answer("200 OK", "application/json", r#"{"name":"m","inputs":[{"name":"x","datatype":"FP32","shape":[1,4]}]}"#),
            ("GET", "/v2/models/m") => answer("500 Internal Server Error", "application/json", r#"{"error":"metadata unavailable"}"#),
            // The control is exactly four zeros; anything else (and everything, when !infer_ok) is a 400.
            ("POST", "/v2/models/m/infer") if infer_ok && body.contains(r#""shape":[1,4],"data":[0,0,0,0]"#) => answer("200 OK", "application/json", r#"{"outputs":[]}"#),
            ("POST", "/v2/models/m/infer") => answer("400 Bad Request", "application/json", r#"{"error":"unexpected inference input"}"#),
            _ => answer("404 Not Found", "text/plain", "not found"),
        });
        let opts = ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(300), step_timeout: STEP, budget: BUDGET, ..ProbeOptions::default() };
        let r = probe("127.0.0.1", &opts).unwrap();
        let o = r.rules.iter().find(|o| o.rule == "AITE-NET-OIP-MALFORMED-INPUT").unwrap();
        assert_eq!(o.status, RuleStatus::NotChecked, "{why}: {o:?}");
        assert!(o.reason.contains(why), "{why}: {o:?}");
        let oip = r.services[0].oip.as_ref().unwrap();
        assert!(oip.malformed.is_empty(), "{why}: no malformed request without a control: {oip:?}");
        assert_eq!(oip.control.as_ref().and_then(|c| c.status), (metadata_ok && state == "READY").then_some(400), "{oip:?}");
    }
}

fn soap(status: &str, body: &str) -> String {
    answer(status, "application/soap+xml; charset=utf-8", &format!("<?xml version=\"1.0\"?><env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:ter=\"http://www.onvif.org/ver10/error\"><env:Body>{body}</env:Body></env:Envelope>"))
}

fn soap_fault(subcode: &str) -> String {
    soap("400 Bad Request", &format!("<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>{subcode}</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang=\"en\">refused</env:Text></env:Reason></env:Fault>"))
}

/// A device service that faults with ter:ActionNotSupported to everything has shown nothing
/// about authentication: neither ONVIF rule passes, and no token is tried.
#[test]
fn onvif_faults_other_than_authentication_are_no_refusal() {
    let port = http_server(|method, path, _| match (method, path) {
        ("POST", "/onvif/device_service") => soap_fault("ter:ActionNotSupported"),
        _ => answer("404 Not Found", "text/plain", "not found"),
    });
    let opts = ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(300), step_timeout: STEP, budget: BUDGET, ..ProbeOptions::default() };
    let r = probe("127.0.0.1", &opts).unwrap();
    for rule in ["AITE-NET-ONVIF-UNAUTHENTICATED", "AITE-NET-ONVIF-DEFAULT-CREDENTIAL"] {
        let o = r.rules.iter().find(|o| o.rule == rule).unwrap();
        assert_eq!(o.status, RuleStatus::NotChecked, "{o:?}");
        assert!(o.reason.contains("ActionNotSupported"), "{o:?}");
    }
    assert!(r.attempts.is_empty(), "{:?}", r.attempts);
}

/// A camera whose clock is at 2001 refuses tokens whose Created is off its own clock by more
/// than 5 s: the tokens are made on the clock GetSystemDateAndTime gives, and admin:admin is found.
#[test]
fn onvif_tokens_are_made_on_the_devices_clock() {
    const SKEW: i64 = -760_000_000;
    let utc = |t: i64| time::OffsetDateTime::from_unix_timestamp(t).unwrap();
    let port = http_server(move |method, path, body| {
        let device_now = time::OffsetDateTime::now_utc().unix_timestamp() + SKEW;
        let field = |tag: &str| body.split(tag).nth(1).and_then(|x| if tag.ends_with('>') { Some(x) } else { x.split_once('>').map(|(_, v)| v) }).and_then(|x| x.split('<').next()).unwrap_or("").to_string();
        match (method, path) {
            ("POST", "/onvif/device_service") if body.contains("GetSystemDateAndTime") => {
                let d = utc(device_now);
                soap("200 OK", &format!("<tds:GetSystemDateAndTimeResponse xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\" xmlns:tt=\"http://www.onvif.org/ver10/schema\"><tds:SystemDateAndTime><tt:UTCDateTime><tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}</tt:Minute><tt:Second>{}</tt:Second></tt:Time><tt:Date><tt:Year>{}</tt:Year><tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>", d.hour(), d.minute(), d.second(), d.year(), u8::from(d.month()), d.day()))
            }
            ("POST", "/onvif/device_service") => {
                let created = field("<wsu:Created>");
                let on_clock = (-5..=5).any(|dt| utc(device_now + dt).format(&time::format_description::well_known::Rfc3339).unwrap() == created);
                let nonce = base64_decode(&field("<wsse:Nonce"));
                let good = aite_network::onvif::username_token("admin", "admin", &nonce, &created);
                let password = field("<wsse:Password");
                let ok = on_clock && field("<wsse:Username>") == "admin" && good.contains(&format!(">{password}</wsse:Password>"));
                let op = if body.contains("GetUsers") { "GetUsers" } else { "GetDeviceInformation" };
                if ok {
                    soap("200 OK", &format!("<tds:{op}Response xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\"/>"))
                } else {
                    soap_fault("ter:NotAuthorized")
                }
            }
            _ => answer("404 Not Found", "text/plain", "not found"),
        }
    });
    let opts = ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(300), credential_pause: Duration::from_millis(5), step_timeout: STEP, budget: BUDGET, ..ProbeOptions::default() };
    let r = probe("127.0.0.1", &opts).unwrap();
    assert_eq!(r.status("AITE-NET-ONVIF-UNAUTHENTICATED"), Some(RuleStatus::Pass), "{:?}", r.rules);
    assert_eq!(r.status("AITE-NET-ONVIF-DEFAULT-CREDENTIAL"), Some(RuleStatus::Fail), "{:?}", r.attempts);
    assert_eq!((r.attempts.len(), r.attempts[0].list_entry), (1, 1), "{:?}", r.attempts);
    match r.services[0].onvif.as_ref().unwrap().token_clock.as_ref().unwrap() {
        aite_network::onvif::TokenClock::Device { offset_seconds, .. } => assert!((offset_seconds - SKEW).abs() <= 2, "{offset_seconds}"),
        other => panic!("the device's clock was not used: {other:?}"),
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap_or_default()
}

/// An SSH server offering only keyboard-interactive (one `Password: ` prompt, as PAM sends it):
/// the default list is answered to the prompt, recorded like password tries, and admin:admin
/// gets in. Before keyboard-interactive was tried, this server left the rule not checked.
#[test]
fn ssh_keyboard_interactive_is_tried_like_a_password() {
    use aite_network::reference::SshLogins;
    let dev = ReferenceDevice::ssh_only(SshLogins::KeyboardInteractive).unwrap();
    let r = probe("127.0.0.1", &options(&dev, &[])).unwrap();
    let ssh = &r.services[0];
    assert_eq!(ssh.ssh_auth_methods.as_deref(), Some(&["keyboard-interactive".to_string()][..]), "{ssh:?}");
    assert_eq!(r.status("AITE-NET-SSH-PASSWORD-DEFAULT-CREDENTIAL"), Some(RuleStatus::Fail), "{:?}", r.rules);
    let f = r.findings.iter().find(|f| f.failed() && f.rule == "AITE-NET-SSH-PASSWORD-DEFAULT-CREDENTIAL").unwrap();
    assert!(f.message.contains("keyboard-interactive"), "{}", f.message);
    let port = dev.port(Role::Ssh).unwrap();
    assert_eq!(r.attempts.len(), 1, "{:?}", r.attempts);
    assert_eq!(r.attempts[0].service, format!("127.0.0.1:{port}/tcp ssh-keyboard-interactive"));
    assert_eq!((r.attempts[0].user.as_str(), r.attempts[0].list_entry, &r.attempts[0].outcome), ("admin", 1, &aite_network::http::AttemptOutcome::Accepted { status: 0 }));
    // A password-only server is not asked keyboard-interactive: each try is of the offered method.
    let pw = ReferenceDevice::ssh_only(SshLogins::Password).unwrap();
    let r = probe("127.0.0.1", &options(&pw, &[])).unwrap();
    assert!(r.attempts.iter().all(|a| a.service.ends_with("ssh-password")), "{:?}", r.attempts);
    assert_eq!(r.status("AITE-NET-SSH-PASSWORD-DEFAULT-CREDENTIAL"), Some(RuleStatus::Fail));
}

/// An SSLv2 server as OpenSSL 0.9.8 with SSLv2 enabled behaves (no Debian package speaks SSLv2
/// any more, so this in-process responder stands in): to an SSLv2 CLIENT-HELLO it returns a
/// SERVER-HELLO in the SSLv2 record format (2-byte header 0x80|len, type 4, session-id-hit 0,
/// certificate type 1 = X.509, version 0x0002, the lengths, an X.509 certificate, the cipher
/// kinds RC4-128-MD5 and DES-192-EDE3-CBC-MD5, a 16-byte connection id); TLS hellos get a
/// handshake_failure alert. The probe reports "SSLv2 offered" under AITE-NET-TLS-LEGACY-VERSION.
#[test]
fn sslv2_server_hello_is_reported_as_offered() {
    use std::io::{Read, Write};
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap().self_signed(&key).unwrap().der().to_vec();
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let cert = cert.clone();
            std::thread::spawn(move || {
                let mut s = s;
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                let mut b = [0u8; 4096];
                let Ok(n) = s.read(&mut b) else { return };
                if n >= 3 && b[0] & 0x80 != 0 && b[2] == 1 {
                    let mut body = vec![4, 0, 1, 0x00, 0x02];
                    body.extend_from_slice(&(cert.len() as u16).to_be_bytes());
                    body.extend_from_slice(&6u16.to_be_bytes());
                    body.extend_from_slice(&16u16.to_be_bytes());
                    body.extend_from_slice(&cert);
                    body.extend_from_slice(&[0x01, 0x00, 0x80, 0x07, 0x00, 0xc0]);
                    body.extend_from_slice(&[0x42; 16]);
                    let mut rec = (0x8000u16 | body.len() as u16).to_be_bytes().to_vec();
                    rec.extend_from_slice(&body);
                    let _ = s.write_all(&rec);
                } else if n > 0 && b[0] == 0x16 {
                    let _ = s.write_all(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28]);
                }
                std::thread::sleep(Duration::from_millis(50));
            });
        }
    });
    let opts = ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(300), step_timeout: STEP, budget: BUDGET, ..ProbeOptions::default() };
    let r = probe("127.0.0.1", &opts).unwrap();
    assert_eq!(r.services[0].service, Service::Tls, "{:?}", r.services[0]);
    let tls = r.services[0].tls.as_ref().unwrap();
    let v2 = tls.sslv2.as_ref().unwrap();
    assert!(matches!(v2.offer, Offer::Offered { .. }), "{v2:?}");
    assert_eq!(v2.ciphers, ["SSL_CK_RC4_128_WITH_MD5", "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"]);
    assert!(tls.versions.iter().all(|p| matches!(p.offer, Offer::NotOffered { .. })), "{:?}", tls.versions);
    assert_eq!(r.status("AITE-NET-TLS-LEGACY-VERSION"), Some(RuleStatus::Fail));
    let f = r.findings.iter().find(|f| f.failed() && f.rule == "AITE-NET-TLS-LEGACY-VERSION").unwrap();
    assert_eq!((f.message.as_str(), f.key.as_deref()), ("offers SSLv2", Some("SSLv2")));
}

/// A port that answers RTSP to OPTIONS and HTTP to GET (RTSP over HTTP tunnelling, here
/// with a web login: Basic, admin:admin) is examined as both: the RTSP checks run and the
/// HTTP default-credential check finds the login (it never looked before: RTSP won).
#[test]
fn a_port_answering_rtsp_and_http_gets_the_http_checks_too() {
    let port = serve(|request| {
        let answer: &[u8] = if request.contains("RTSP/1.0") {
            b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nServer: GStreamer RTSP server\r\n\r\n"
        } else if request.contains("Authorization: Basic YWRtaW46YWRtaW4=") {
            b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
        } else {
            b"HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\nServer: GStreamer RTSP Server\r\nContent-Length: 0\r\n\r\n"
        };
        answer.to_vec()
    });
    let opts = ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(300), credential_pause: Duration::from_millis(5), step_timeout: STEP, budget: BUDGET, ..ProbeOptions::default() };
    let r = probe("127.0.0.1", &opts).unwrap();
    assert!(matches!(&r.services[0].service, Service::Rtsp { status: 200, http: Some(h), .. } if h.status == 401), "{:?}", r.services[0]);
    assert_eq!(r.status("AITE-NET-HTTP-DEFAULT-CREDENTIAL"), Some(RuleStatus::Fail), "{:?}", r.rules);
    let rtsp = r.rules.iter().find(|o| o.rule == "AITE-NET-RTSP-UNAUTHENTICATED").unwrap();
    assert_eq!(rtsp.status, RuleStatus::NotChecked, "the RTSP checks ran too (this server accepts any route): {rtsp:?}");
}

/// GStreamer's rtsp-server on its RTSP port: OPTIONS gets RTSP, `GET /` its RTSP-over-HTTP
/// tunnel's `503 Service Unavailable`. The HTTP checks are not run there, and the evidence
/// says so per rule and port (a typed not-applicable entry); with no other HTTP service the
/// HTTP rules are not applicable, never passed. Before, they were left out without a word.
#[test]
fn an_rtsp_tunnel_answering_503_lists_the_http_checks_as_not_applicable_there() {
    let port = serve(|request| {
        let answer: &[u8] = if !request.contains("RTSP/1.0") {
            b"HTTP/1.0 503 Service Unavailable\r\nServer: GStreamer RTSP Server\r\n\r\n"
        } else if request.starts_with("DESCRIBE") {
            b"RTSP/1.0 404 Not Found\r\nCSeq: 2\r\n\r\n"
        } else {
            b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\nServer: GStreamer RTSP server\r\n\r\n"
        };
        answer.to_vec()
    });
    let opts = ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(300), step_timeout: STEP, budget: BUDGET, ..ProbeOptions::default() };
    let r = probe("127.0.0.1", &opts).unwrap();
    assert!(matches!(&r.services[0].service, Service::Rtsp { http: Some(h), .. } if h.status == 503), "{:?}", r.services[0]);
    let subject = format!("127.0.0.1:{port}/tcp");
    for id in ["AITE-NET-HTTP-DEFAULT-CREDENTIAL", "AITE-NET-OIP-UNAUTHENTICATED", "AITE-NET-OIP-REPOSITORY-UNAUTHENTICATED", "AITE-NET-OIP-MALFORMED-INPUT", "AITE-NET-ONVIF-UNAUTHENTICATED", "AITE-NET-ONVIF-DEFAULT-CREDENTIAL"] {
        let o = r.rules.iter().find(|o| o.rule == id).unwrap();
        assert_eq!((o.status, o.examined), (RuleStatus::NotApplicable, 0), "{id}: {o:?}");
        assert_eq!(o.not_applicable.len(), 1, "{id}: {o:?}");
        let n = &o.not_applicable[0];
        assert_eq!((n.subject.as_str(), n.cause), (subject.as_str(), aite_network::rules::NotApplicableCause::RtspOverHttpTunnel { get_status: 503 }), "{id}");
        assert_eq!(n.why, "port identified as RTSP (its RTSP-over-HTTP tunnel answered GET / with HTTP 503); the RTSP checks cover it");
        assert!(o.reason.contains(&subject), "{id}: {}", o.reason);
    }
    // The RTSP checks did run on the port.
    let rtsp = r.rules.iter().find(|o| o.rule == "AITE-NET-RTSP-UNAUTHENTICATED").unwrap();
    assert_eq!((rtsp.status, rtsp.examined), (RuleStatus::Pass, 1), "{rtsp:?}");
    assert!(r.services[0].oip_status.is_none() && r.services[0].onvif.is_none(), "{:?}", r.services[0]);
}

/// OpenSSH with `PasswordAuthentication no` and `Match User root` / `PasswordAuthentication
/// yes` (russh in process: publickey for every user, password for root, root:root): the
/// random user is offered publickey only, but each default-list user is asked too, so the
/// password is tried and root:root gets in. Before, the rule passed on the random user alone.
#[test]
fn ssh_password_open_to_root_alone_is_found() {
    use aite_network::reference::SshLogins;
    let dev = ReferenceDevice::ssh_only(SshLogins::PasswordForRootOnly).unwrap();
    let r = probe("127.0.0.1", &options(&dev, &[])).unwrap();
    let ssh = &r.services[0];
    assert_eq!(ssh.ssh_auth_methods.as_deref(), Some(&["publickey".to_string()][..]), "{ssh:?}");
    let per_user: Vec<(&str, Vec<&str>)> = ssh.ssh_auth_methods_per_user.iter().map(|(u, m)| (u.as_str(), m.iter().map(String::as_str).collect())).collect();
    assert_eq!(per_user, [("admin", vec!["publickey"]), ("root", vec!["publickey", "password"])], "{ssh:?}");
    assert_eq!(r.status("AITE-NET-SSH-PASSWORD-DEFAULT-CREDENTIAL"), Some(RuleStatus::Fail), "{:?}", r.rules);
    let accepted: Vec<_> = r.attempts.iter().filter(|a| matches!(a.outcome, aite_network::http::AttemptOutcome::Accepted { .. })).map(|a| (a.user.as_str(), a.list_entry)).collect();
    assert_eq!(accepted, [("root", 5)], "{:?}", r.attempts);
    // Publickey for everyone: every default-list user was asked, none is offered a password: examined, passes.
    let pk = ReferenceDevice::ssh_only(SshLogins::PublicKeyOnly).unwrap();
    let r = probe("127.0.0.1", &options(&pk, &[])).unwrap();
    assert_eq!(r.services[0].ssh_auth_methods_per_user.len(), 2, "{:?}", r.services[0]);
    assert_eq!(r.status("AITE-NET-SSH-PASSWORD-DEFAULT-CREDENTIAL"), Some(RuleStatus::Pass), "{:?}", r.rules);
    assert!(r.attempts.is_empty(), "{:?}", r.attempts);
}

/// The anonymous `GET /`: a 200 serves the page without authentication and its
/// `Server: lighttpd/1.4.69` names a version (both fail, on that port only); a 401 with
/// `Server: camera` passes both; a redirect leaves the page not examined (never a pass).
#[test]
fn pages_served_without_auth_and_versioned_server_headers() {
    let open = http_server(|_, _, _| "HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.69\r\nContent-Type: text/html\r\nContent-Length: 19\r\nConnection: close\r\n\r\n<html>camera</html>".into());
    let asks = http_server(|_, _, _| "HTTP/1.1 401 Unauthorized\r\nServer: camera\r\nWWW-Authenticate: Basic realm=\"camera\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into());
    let redirects = http_server(|_, _, _| "HTTP/1.1 302 Found\r\nLocation: /login.html\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into());
    let opts = |ports: Vec<u16>| ProbeOptions { declared: Some(ports.clone()), ports: PortList(ports), banner_wait: Duration::from_millis(300), credential_pause: Duration::from_millis(5), step_timeout: STEP, budget: BUDGET, ..ProbeOptions::default() };
    const OPEN: &str = "AITE-NET-HTTP-UNAUTHENTICATED";
    const BANNER: &str = "AITE-NET-HTTP-SERVER-BANNER";
    let r = probe("127.0.0.1", &opts(vec![open, asks, redirects])).unwrap();
    let fails = |rule: &str| r.findings.iter().filter(|f| f.failed() && f.rule == rule).map(|f| (f.path.clone(), f.key.clone(), f.message.clone())).collect::<Vec<_>>();
    let at = format!("127.0.0.1:{open}/tcp");
    assert_eq!(fails(OPEN), [(at.clone(), Some("/".to_string()), "GET / answers 200 without credentials".to_string())]);
    assert_eq!(fails(BANNER), [(at.clone(), None, "the Server header names version lighttpd/1.4.69: \"Server: lighttpd/1.4.69\"".to_string())]);
    let f = r.findings.iter().find(|f| f.failed() && f.rule == BANNER).unwrap();
    assert_eq!((f.excerpt.as_deref(), f.clauses.clone()), (Some("Server: lighttpd/1.4.69"), vec!["ETSI EN 303 645 5.6-2".to_string()]));
    assert_eq!((r.status(OPEN), r.status(BANNER)), (Some(RuleStatus::Fail), Some(RuleStatus::Fail)), "{:?}", r.rules);
    // A 401 asks for credentials and names no version: both examined, both pass.
    let r = probe("127.0.0.1", &opts(vec![asks])).unwrap();
    for rule in [OPEN, BANNER] {
        let o = r.rules.iter().find(|o| o.rule == rule).unwrap();
        assert_eq!((o.status, o.examined), (RuleStatus::Pass, 1), "{o:?}");
    }
    // A redirect is not followed: the page is not examined; no Server header names no version.
    let r = probe("127.0.0.1", &opts(vec![redirects])).unwrap();
    let o = r.rules.iter().find(|o| o.rule == OPEN).unwrap();
    assert_eq!(o.status, RuleStatus::NotChecked, "{o:?}");
    assert!(o.reason.contains("302 (a redirect, not followed)"), "{o:?}");
    assert_eq!(r.status(BANNER), Some(RuleStatus::Pass), "{:?}", r.rules);
    // 404 and 410 (nothing served at /) and 403 (refused) are examined: pass.
    for status in ["403 Forbidden", "404 Not Found", "410 Gone"] {
        let port = http_server(move |_, _, _| answer(status, "text/plain", "no"));
        let r = probe("127.0.0.1", &opts(vec![port])).unwrap();
        let o = r.rules.iter().find(|o| o.rule == OPEN).unwrap();
        assert_eq!((o.status, o.examined), (RuleStatus::Pass, 1), "{status}: {o:?}");
    }
    // A 400 (our request refused) or a 429 (rate-limited) shows neither a page nor an
    // authentication answer: not checked, naming the status.
    for (status, code) in [("400 Bad Request", 400), ("429 Too Many Requests", 429)] {
        let port = http_server(move |_, _, _| answer(status, "text/plain", "no"));
        let r = probe("127.0.0.1", &opts(vec![port])).unwrap();
        let o = r.rules.iter().find(|o| o.rule == OPEN).unwrap();
        assert_eq!((o.status, o.examined), (RuleStatus::NotChecked, 0), "{status}: {o:?}");
        assert!(o.reason.contains(&format!("HTTP {code} to GET /: neither a page nor an authentication answer")), "{status}: {o:?}");
        assert!(!r.findings.iter().any(|f| f.failed() && f.rule == OPEN), "{status}: {:?}", r.findings);
    }
}
