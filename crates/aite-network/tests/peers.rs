//! The probe against real TLS servers from Debian, started and stopped by PID:
//! `openssl s_server -tls1` with a 1024-bit RSA certificate and every cipher
//! OpenSSL still has (a legacy camera web UI). Skipped with a printed reason
//! when `openssl` is absent; a failure under AITE_REQUIRE_PEERS=1.

use aite_network::tls::{HelloForm, Offer, TlsVersion};
use aite_network::{probe, PortList, ProbeOptions, Service};
use aite_security::RuleStatus;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        assert!(std::env::var("AITE_REQUIRE_PEERS").as_deref() != Ok("1"), "{tool} is required (AITE_REQUIRE_PEERS=1) but not installed: apt-get install openssl");
        eprintln!("SKIP: {tool} not installed (apt-get install openssl); the legacy-TLS peer test did not run");
    }
    found
}

/// Stops the server by its PID when dropped.
struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What shows that the listener on the port is the server we started, not another test's socket
/// that took the released port first (a connect alone cannot tell them apart).
enum Ours {
    /// A line the server prints on stdout: openssl s_server's `ACCEPT` once it listens, tls.py's
    /// `About to handshake...` once it accepted a connection.
    Prints(&'static str),
    /// How the server greets a connection: an SSH server's banner.
    Greets(&'static str),
}

/// Start `server(port)` on a free port and wait until it listens and shows it is `ours` (60 s
/// only bound a hang). The port is released before the server binds it, so another test's socket
/// may take it meanwhile: a server that exits before listening is started again on another port,
/// up to five times; a connect that reached someone else's socket is not taken as ours.
fn listening(name: &str, ours: Ours, server: impl Fn(u16) -> Command) -> (Server, u16) {
    listening_on(name, ours, std::iter::repeat_with(free_port), server)
}

/// [`listening`] on the ports `ports` yields, one per start.
fn listening_on(name: &str, ours: Ours, ports: impl Iterator<Item = u16>, server: impl Fn(u16) -> Command) -> (Server, u16) {
    use std::io::{BufRead, Read};
    for port in ports.take(5) {
        let mut child = Server(server(port).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{name}: {e}")));
        // Drained to the end (the server exits when dropped), so a full pipe never blocks it.
        let (lines, printed) = std::sync::mpsc::channel();
        let stdout = child.0.stdout.take().unwrap();
        std::thread::spawn(move || std::io::BufReader::new(stdout).lines().map_while(Result::ok).for_each(|l| drop(lines.send(l))));
        let mut seen = false;
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = child.0.try_wait() {
                eprintln!("{name} exited before listening on {port} ({status}); another port");
                break;
            }
            assert!(Instant::now() < until, "{name} did not listen on {port} as itself within 60 s");
            if let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                // A wait that runs out only tries again: the deadline above is the one that fails.
                let shown = match ours {
                    Ours::Prints(line) => {
                        seen = seen || printed.try_iter().any(|l| l.contains(line)) || printed.recv_timeout(Duration::from_secs(1)).is_ok_and(|l| l.contains(line));
                        seen
                    }
                    Ours::Greets(banner) => {
                        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        let mut got = Vec::new();
                        let mut byte = [0u8];
                        while got.len() < banner.len() && conn.read(&mut byte).is_ok_and(|n| n == 1) {
                            got.push(byte[0]);
                        }
                        got == banner.as_bytes()
                    }
                };
                if shown && matches!(child.0.try_wait(), Ok(None)) {
                    return (child, port);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("{name} exited before listening, five times");
}

/// Each probe step against a peer server: the servers answer every hello (or close), so this only
/// bounds a hang; the default 3 s is short for tlslite's pure-Python handshakes on a loaded machine.
const PEER_STEP: Duration = Duration::from_secs(30);

const LEGACY_CIPHERS: &str = "ALL:eNULL:@SECLEVEL=0";

/// `openssl s_server -tls1` with a fresh 1024-bit RSA self-signed certificate signed with SHA-1, in `d`.
fn legacy_tls_server(d: &std::path::Path) -> (Server, u16) {
    let (key, cert) = (d.join("k.pem"), d.join("c.pem"));
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-sha1", "-newkey", "rsa:1024", "-nodes", "-days", "30", "-subj", "/CN=legacy-cam"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());
    listening("openssl s_server", Ours::Prints("ACCEPT"), |port| {
        let mut c = Command::new("openssl");
        c.args(["s_server", "-www", "-tls1", "-cipher", LEGACY_CIPHERS, "-accept"]).arg(format!("127.0.0.1:{port}")).arg("-cert").arg(&cert).arg("-key").arg(&key);
        c
    })
}

/// The race `listening` guards against, made certain: the first port it is given is held by a
/// socket of this test, so the connect succeeds while s_server fails to bind it. The helper must
/// not take that socket for the server (it returned the held port when a connect was enough).
#[test]
fn a_server_that_could_not_bind_is_not_taken_for_the_socket_on_its_port() {
    if !have("openssl") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (key, cert) = (d.path().join("k.pem"), d.path().join("c.pem"));
    let ok = Command::new("openssl").args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=held"]).arg("-keyout").arg(&key).arg("-out").arg(&cert).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
    assert!(ok.success());
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    let (_server, port) = listening_on("openssl s_server", Ours::Prints("ACCEPT"), std::iter::once(taken).chain(std::iter::repeat_with(free_port)), |port| {
        let mut c = Command::new("openssl");
        c.args(["s_server", "-www", "-accept"]).arg(format!("127.0.0.1:{port}")).arg("-cert").arg(&cert).arg("-key").arg(&key);
        c
    });
    assert_ne!(port, taken, "the socket holding the port was taken for s_server");
    // The one answering now is s_server: a TLS handshake on it completes.
    let out = Command::new("openssl").args(["s_client", "-connect"]).arg(format!("127.0.0.1:{port}")).stdin(Stdio::null()).stderr(Stdio::null()).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("CN = held") || String::from_utf8_lossy(&out.stdout).contains("CN=held"), "{}", String::from_utf8_lossy(&out.stdout));
}

/// testssl.sh (Debian 3.0.8, driving the system OpenSSL with legacy protocols and ciphers
/// re-enabled through OPENSSL_CONF) agrees on the versions offered and the weak suite classes.
#[test]
fn testssl_agrees_on_versions_and_weak_suites() {
    if !have("openssl") || !tool("testssl") {
        eprintln!("SKIP: apt-get install testssl.sh");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (_server, port) = legacy_tls_server(d.path());
    let conf = d.path().join("legacy.cnf");
    std::fs::write(&conf, "openssl_conf = default_conf\n[default_conf]\nssl_conf = ssl_sect\n[ssl_sect]\nsystem_default = system_default_sect\n[system_default_sect]\nCipherString = ALL:eNULL:@SECLEVEL=0\nMinProtocol = None\n").unwrap();
    let json = d.path().join("testssl.json");
    let out = Command::new("testssl")
        .args(["--quiet", "-p", "-s", "--warnings", "batch", "--jsonfile"])
        .arg(&json)
        .arg(format!("127.0.0.1:{port}"))
        .env("OPENSSL_CONF", &conf)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let peer: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(&json).unwrap_or_else(|e| panic!("testssl wrote no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))).unwrap();
    let finding = |id: &str| peer.iter().find(|x| x["id"] == id).and_then(|x| x["finding"].as_str()).unwrap_or_else(|| panic!("testssl has no {id}: {peer:?}")).to_string();
    let r = probe("127.0.0.1", &ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(500), step_timeout: PEER_STEP, ..ProbeOptions::default() }).unwrap();
    let tls = r.services[0].tls.as_ref().unwrap();
    for (v, id) in [(TlsVersion::Ssl3, "SSLv3"), (TlsVersion::Tls10, "TLS1"), (TlsVersion::Tls11, "TLS1_1"), (TlsVersion::Tls12, "TLS1_2"), (TlsVersion::Tls13, "TLS1_3")] {
        let theirs = finding(id).starts_with("offered");
        assert_eq!(tls.offered(v), theirs, "{id}: testssl says {:?}", finding(id));
    }
    // Weak classes: testssl's cipherlist_NULL / aNULL / EXPORT / 3DES_IDEA against aite's classification.
    let weak: Vec<&str> = tls.versions.iter().flat_map(|p| p.suite_ids.iter().filter_map(|&id| aite_network::tls::weakness(id))).collect();
    for (class, id) in [("NULL encryption", "cipherlist_NULL"), ("anonymous key exchange", "cipherlist_aNULL"), ("EXPORT", "cipherlist_EXPORT"), ("3DES", "cipherlist_3DES_IDEA")] {
        assert_eq!(weak.contains(&class), finding(id) == "offered", "{class} vs testssl {id}: {:?}", finding(id));
    }
}

#[test]
fn openssl_tls1_server_with_a_1024_bit_key() {
    if !have("openssl") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (_server, port) = legacy_tls_server(d.path());
    let cipher = LEGACY_CIPHERS;
    let opts = ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(500), step_timeout: PEER_STEP, ..ProbeOptions::default() };
    let r = probe("127.0.0.1", &opts).unwrap();
    let svc = &r.services[0];
    assert_eq!(svc.service, Service::Tls, "{svc:?}");
    let tls = svc.tls.as_ref().unwrap();
    let offer = |v: TlsVersion| tls.versions.iter().find(|p| p.version == v).unwrap().offer.clone();
    assert!(matches!(offer(TlsVersion::Tls10), Offer::Offered { .. }), "{tls:#?}");
    // OpenSSL 3 has no SSLv2: the SSLv2 CLIENT-HELLO gets no SERVER-HELLO.
    assert!(matches!(tls.sslv2.as_ref().map(|p| &p.offer), Some(Offer::NotOffered { .. })), "{:?}", tls.sslv2);
    eprintln!("openssl s_server -tls1, SSLv2: {:?}", tls.sslv2);
    // OpenSSL answers 1.1 and 1.2 hellos with a TLS 1.0 ServerHello (a downgrade, not an offer).
    for v in [TlsVersion::Tls11, TlsVersion::Tls12] {
        assert!(matches!(offer(v), Offer::NotOffered { ref evidence } if evidence.contains("TLSv1.0")), "{v:?}: {:?}", offer(v));
    }
    for v in [TlsVersion::Ssl3, TlsVersion::Tls13] {
        assert!(matches!(offer(v), Offer::NotOffered { .. }), "{v:?}: {:?}", offer(v));
    }
    // Oracle: OpenSSL's own list of the suites that cipher string enables for TLS 1.0 (IANA names).
    let listed = Command::new("openssl").args(["ciphers", "-stdname", "-s", "-tls1", cipher]).output().unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    let iana: std::collections::BTreeSet<&str> = listed.lines().filter_map(|l| l.split_whitespace().next()).collect();
    let v10 = tls.versions.iter().find(|p| p.version == TlsVersion::Tls10).unwrap();
    assert!(v10.suites_incomplete.is_none(), "{v10:?}");
    assert!(v10.suites.len() >= 10, "{:?}", v10.suites);
    for s in &v10.suites {
        assert!(iana.contains(s.as_str()), "{s} accepted but not in `openssl ciphers` {iana:?}");
    }
    // Every RSA-authenticated or anonymous TLS 1.0 suite OpenSSL lists was found (an RSA key cannot serve ECDSA/PSK/SRP suites).
    let servable: Vec<&&str> = iana.iter().filter(|n| (n.contains("_RSA_") || n.contains("_anon_")) && !n.contains("PSK") && !n.contains("SRP") && !n.contains("_DH_RSA_") && !n.contains("_ECDH_RSA_")).collect();
    for n in &servable {
        assert!(v10.suites.iter().any(|s| s == **n), "{n} is enabled but was not found; found {:?}", v10.suites);
    }
    let fails = |rule: &str| r.findings.iter().any(|f| f.failed() && f.rule == rule);
    for rule in ["AITE-NET-TLS-LEGACY-VERSION", "AITE-NET-TLS-WEAK-CIPHER", "AITE-NET-TLS-KEY-WEAK", "AITE-NET-TLS-CERT-SELF-SIGNED", "AITE-NET-TLS-CBC-SHA1"] {
        assert!(fails(rule), "{rule}: {:?}", r.rules.iter().find(|o| o.rule == rule));
    }
    // One finding per suite: their messages together name them all.
    let weak: Vec<&str> = r.findings.iter().filter(|f| f.rule == "AITE-NET-TLS-WEAK-CIPHER" && f.failed()).map(|f| f.message.as_str()).collect();
    assert!(weak.iter().any(|m| m.contains("anon")) && weak.iter().any(|m| m.contains("NULL")), "{weak:?}");
    let key = svc.certificate.as_ref().unwrap();
    assert_eq!((key.algorithm.as_str(), key.bits), ("rsa", Some(1024)));
    assert_eq!(r.status("AITE-NET-TLS-CERT-EXPIRED"), Some(RuleStatus::Pass));
    // Oracle for the signature: OpenSSL's own reading of the certificate file.
    let text = Command::new("openssl").args(["x509", "-noout", "-text", "-in"]).arg(d.path().join("c.pem")).output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("Signature Algorithm: sha1WithRSAEncryption"));
    assert_eq!(svc.signature_algorithm.as_deref(), Some("1.2.840.113549.1.1.5"));
    assert!(fails("AITE-NET-TLS-CERT-WEAK-SIGNATURE"));
}

fn tool(path: &str) -> bool {
    let found = std::path::Path::new(path).is_file() || Command::new("which").arg(path).stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !found {
        assert!(std::env::var("AITE_REQUIRE_PEERS").as_deref() != Ok("1"), "{path} is required (AITE_REQUIRE_PEERS=1) but not installed");
        eprintln!("SKIP: {path} not installed; the peer test that needs it did not run");
    }
    found
}

/// The `peer server KEXINIT proposal` lists OpenSSH's client prints with -vv.
fn openssh_view(port: u16) -> Option<std::collections::BTreeMap<String, String>> {
    let out = Command::new("ssh")
        .args(["-vv", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5", "-p", &port.to_string(), "nobody@127.0.0.1", "true"])
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let at = text.find("peer server KEXINIT proposal")?;
    let mut m = std::collections::BTreeMap::new();
    for line in text[at..].lines().skip(1).take(6) {
        let line = line.trim_start_matches("debug2: ");
        if let Some((k, v)) = line.split_once(": ") {
            m.insert(k.to_string(), v.to_string());
        }
    }
    Some(m)
}

#[test]
fn dropbear_kexinit_matches_openssh_clients_view() {
    if !tool("dropbear") || !tool("dropbearkey") {
        eprintln!("SKIP: apt-get install dropbear-bin");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let hk = d.path().join("hostkey");
    assert!(Command::new("dropbearkey").args(["-t", "ed25519", "-f"]).arg(&hk).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap().success());
    let (_server, port) = listening("dropbear", Ours::Greets("SSH-2.0-dropbear"), |port| {
        let mut c = Command::new("dropbear");
        c.args(["-F", "-E", "-R", "-p", &format!("127.0.0.1:{port}"), "-r"]).arg(&hk);
        c
    });
    // dropbear forks a child per connection, which sends the banner: 10 s (the read ends at the
    // banner's line) instead of 1.5 s, which a loaded machine can spend before the fork runs.
    let opts = ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_secs(10), step_timeout: PEER_STEP, ..ProbeOptions::default() };
    let r = probe("127.0.0.1", &opts).unwrap();
    let ssh = r.services[0].ssh.as_ref().unwrap_or_else(|| panic!("{:?}", r.services[0]));
    assert!(ssh.banner.starts_with("SSH-2.0-dropbear"), "{}", ssh.banner);
    // dropbear 2022.83 still offers diffie-hellman-group14-sha1 (RFC 9142: SHOULD NOT).
    let weak: Vec<&str> = r.findings.iter().filter(|f| f.failed() && f.rule == "AITE-NET-SSH-WEAK-ALGORITHM").map(|f| f.message.as_str()).collect();
    assert!(weak.iter().any(|m| m.contains("diffie-hellman-group14-sha1")), "{weak:?}");
    if !tool("ssh") {
        return;
    }
    let view = openssh_view(port).expect("ssh -vv printed the server's KEXINIT");
    assert_eq!(view["KEX algorithms"], ssh.kex.join(","));
    assert_eq!(view["host key algorithms"], ssh.host_key.join(","));
    assert_eq!(view["ciphers ctos"], ssh.ciphers.join(","));
    assert_eq!(view["MACs ctos"], ssh.macs.join(","));
}

/// nmap 7.93 (`-sT -sV`, Debian) agrees on which ports of the reference device are open.
#[test]
fn nmap_agrees_on_open_ports() {
    if !tool("nmap") {
        eprintln!("SKIP: apt-get install nmap");
        return;
    }
    let dev = aite_network::reference::ReferenceDevice::start(aite_network::reference::DeviceKind::Vulnerable).unwrap();
    let closed = free_port();
    let mut ports = dev.ports();
    ports.push(closed);
    let list = ports.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
    let out = Command::new("nmap").args(["-sT", "-sV", "-Pn", "-n", "--version-light", "-p", &list, "-oX", "-", "127.0.0.1"]).stdin(Stdio::null()).output().unwrap();
    let xml = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut theirs: Vec<u16> = Vec::new();
    for chunk in xml.split("<port protocol=\"tcp\" portid=\"").skip(1) {
        let port: u16 = chunk.split('"').next().unwrap().parse().unwrap();
        if chunk.split("</port>").next().unwrap().contains("<state state=\"open\"") {
            theirs.push(port);
        }
    }
    theirs.sort_unstable();
    let r = dev.probe(None).unwrap();
    let ours = {
        let opts = ProbeOptions { ports: PortList(ports.clone()), ..ProbeOptions::default() };
        aite_network::scan::connect_scan("127.0.0.1".parse().unwrap(), &opts.ports.0, 8, Duration::from_millis(500), &aite_network::Budget::new(Duration::from_secs(10)))
            .into_iter()
            .filter(|p| p.state == aite_network::PortState::Offered)
            .map(|p| p.port)
            .collect::<Vec<_>>()
    };
    assert_eq!(ours, theirs, "nmap -sT: {xml}");
    let mut open = r.open.clone();
    open.sort_unstable();
    let mut want = dev.ports();
    want.sort_unstable();
    assert_eq!(open, want);
    assert!(!theirs.contains(&closed));
}

/// tlslite-ng 0.8.2 (PyPI, pure Python: SSLv3, RC4 and 3DES, which Debian's OpenSSL 3 no longer
/// serves) as `tls.py server --ssl3 --max-ver tls1.0 --cipherlist rc4 --cipherlist 3des
/// --cipherlist aes128`, from the peer virtualenv (AITE_PEER_PYTHON). Oracle: tlslite's own suite
/// lists for those settings (`CipherSuite.get*Suites`, the RSA-certificate ones), per version.
#[test]
fn tlslite_sslv3_rc4_3des_server() {
    let Ok(python) = std::env::var("AITE_PEER_PYTHON") else {
        assert!(std::env::var("AITE_REQUIRE_PEERS").as_deref() != Ok("1"), "AITE_PEER_PYTHON is required (AITE_REQUIRE_PEERS=1)");
        eprintln!("SKIP: AITE_PEER_PYTHON not set; the tlslite-ng peer test did not run");
        return;
    };
    let tls_py = std::path::Path::new(&python).with_file_name("tls.py");
    if !tls_py.is_file() || !have("openssl") {
        assert!(std::env::var("AITE_REQUIRE_PEERS").as_deref() != Ok("1"), "tlslite-ng is required (AITE_REQUIRE_PEERS=1): pip install tlslite-ng==0.8.2 ecdsa==0.19.2");
        eprintln!("SKIP: no {} (pip install tlslite-ng==0.8.2 ecdsa==0.19.2 into the peer venv)", tls_py.display());
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let www = d.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let (key, cert) = (d.path().join("k.pem"), d.path().join("c.pem"));
    let ok = Command::new("openssl").args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=tlslite-cam"]).arg("-keyout").arg(&key).arg("-out").arg(&cert).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
    assert!(ok.success());
    // tls.py serves its working directory: an empty folder.
    let (_server, port) = listening("tlslite-ng tls.py server", Ours::Prints("About to handshake..."), |port| {
        let mut c = Command::new(&python);
        // -u: its prints reach the pipe as they are made, not when a buffer fills.
        c.arg("-u").arg(&tls_py).args(["server", "-c"]).arg(&cert).arg("-k").arg(&key);
        c.args(["--ssl3", "--max-ver", "tls1.0", "--cipherlist", "rc4", "--cipherlist", "3des", "--cipherlist", "aes128"]).arg(format!("127.0.0.1:{port}")).current_dir(&www);
        c
    });
    let oracle = Command::new(&python)
        .args(["-c", "from tlslite import HandshakeSettings\nfrom tlslite.constants import CipherSuite as C\ns=HandshakeSettings(); s.cipherNames=['rc4','3des','aes128']; s.minVersion=(3,0); s.maxVersion=(3,1); s=s.validate()\nfor v in [(3,0),(3,1),(3,3)]:\n    print(' '.join(sorted(C.ietfNames[i] for i in C.getEcdheCertSuites(s,v)+C.getDheCertSuites(s,v)+C.getCertSuites(s,v))))"])
        .output()
        .unwrap();
    let lists: Vec<Vec<String>> = String::from_utf8_lossy(&oracle.stdout).lines().map(|l| l.split_whitespace().map(str::to_string).collect()).collect();
    assert_eq!(lists.len(), 3, "tlslite's suite lists: {}", String::from_utf8_lossy(&oracle.stderr));
    let r = probe("127.0.0.1", &ProbeOptions { ports: PortList(vec![port]), declared: Some(vec![port]), banner_wait: Duration::from_millis(500), step_timeout: PEER_STEP, ..ProbeOptions::default() }).unwrap();
    let tls = r.services[0].tls.as_ref().unwrap_or_else(|| panic!("{:?}", r.services[0]));
    // TLS 1.2 too, but only to the hello whose supported_versions lists it: --max-ver tls1.0 leaves
    // (3,3) in tlslite's `HandshakeSettings.versions`, which such a hello is negotiated from.
    for (v, want, form) in [(TlsVersion::Ssl3, &lists[0], HelloForm::LegacyVersion), (TlsVersion::Tls10, &lists[1], HelloForm::LegacyVersion), (TlsVersion::Tls12, &lists[2], HelloForm::SupportedVersions)] {
        let p = tls.versions.iter().find(|p| p.version == v).unwrap();
        assert!(matches!(p.offer, Offer::Offered { .. }) && p.hello == form, "{p:?}");
        let mut got = p.suites.clone();
        got.sort();
        assert_eq!(&got, want, "{v:?}: aite's suites vs tlslite's own list");
        eprintln!("tlslite-ng {}: {} suites, as tlslite lists them", v.name(), got.len());
    }
    for v in [TlsVersion::Tls11, TlsVersion::Tls13] {
        assert!(!tls.offered(v), "{v:?}: {:?}", tls.versions);
    }
    assert!(matches!(tls.sslv2.as_ref().map(|p| &p.offer), Some(Offer::NotOffered { .. })), "{:?}", tls.sslv2);
    for rule in ["AITE-NET-TLS-LEGACY-VERSION", "AITE-NET-TLS-WEAK-CIPHER", "AITE-NET-TLS-CBC-SHA1"] {
        assert_eq!(r.status(rule), Some(RuleStatus::Fail), "{rule}");
    }
    let weak: Vec<&str> = r.findings.iter().filter(|f| f.failed() && f.rule == "AITE-NET-TLS-WEAK-CIPHER").map(|f| f.message.as_str()).collect();
    assert!(weak.iter().any(|m| m.contains("RC4")) && weak.iter().any(|m| m.contains("3DES")), "{weak:?}");
}
