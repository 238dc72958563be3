//! A loopback reference device: in-process servers on 127.0.0.1 ephemeral
//! ports that plant known weaknesses ([`DeviceKind::Vulnerable`]) or avoid
//! them ([`DeviceKind::Hardened`]), for `aite demo` and the tests. Each server
//! answers a few bytes per connection and stops when the device is dropped.
//!
//! Vulnerable: telnet (IAC, a busybox-like login accepting admin:admin), HTTP Basic admin:admin, an Open
//! Inference Protocol server without authentication (metadata, a READY model in the repository
//! index, an infer route that answers a well-formed request and crashes, 500, on an unknown
//! datatype), a real SSH server (russh) whose KEXINIT offers `diffie-hellman-group1-sha1` and
//! `3des-cbc` and which lets admin:admin in by password, RTSP `/live.sdp` without
//! credentials and another route with admin:admin, and TLS 1.2/1.3
//! (rustls) with an expired self-signed certificate serving the same web UI, and an ONVIF device
//! service answering `GetDeviceInformation` to anyone and `GetUsers` to an admin:admin
//! WS-UsernameToken; only HTTP and ONVIF are declared.
//! Hardened: HTTP Basic and RTSP with a random password and `/v2` behind it, SSH with
//! curve25519/AES-GCM only and public keys only, TLS 1.3 only with a certificate from a CA,
//! ONVIF asking a UsernameToken (random password) for every operation but
//! `GetSystemDateAndTime`, every port declared.

use crate::http;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Vulnerable,
    Hardened,
}

/// Which service listens where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Telnet,
    HttpBasic,
    Oip,
    Ssh,
    Tls,
    Rtsp,
    Onvif,
}

/// Which logins the reference SSH server offers; the password ones accept admin:admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshLogins {
    Password,
    /// One `Password:` prompt (what PAM sends), answered like a password.
    KeyboardInteractive,
    PublicKeyOnly,
    /// OpenSSH's `PasswordAuthentication no` with `Match User root` / `PasswordAuthentication
    /// yes`: publickey for every user, password too for root, which accepts root:root.
    PasswordForRootOnly,
}

/// The reference SSH server's authentication (russh).
struct ReferenceSsh {
    logins: SshLogins,
}

impl russh::server::Handler for ReferenceSsh {
    type Error = russh::Error;

    async fn auth_none(&mut self, user: &str) -> Result<russh::server::Auth, Self::Error> {
        use russh::{MethodKind, MethodSet};
        let methods: &[MethodKind] = match self.logins {
            SshLogins::PasswordForRootOnly if user == "root" => &[MethodKind::PublicKey, MethodKind::Password],
            SshLogins::PasswordForRootOnly => &[MethodKind::PublicKey],
            _ => return Ok(russh::server::Auth::reject()),
        };
        Ok(russh::server::Auth::Reject { proceed_with_methods: Some(MethodSet::from(methods)), partial_success: false })
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<russh::server::Auth, Self::Error> {
        let accepted = match self.logins {
            SshLogins::Password => user == "admin" && password == "admin",
            SshLogins::PasswordForRootOnly => user == "root" && password == "root",
            _ => false,
        };
        Ok(if accepted { russh::server::Auth::Accept } else { russh::server::Auth::reject() })
    }

    async fn auth_keyboard_interactive<'a>(&'a mut self, user: &str, _: &str, response: Option<russh::server::Response<'a>>) -> Result<russh::server::Auth, Self::Error> {
        use russh::server::Auth;
        if self.logins != SshLogins::KeyboardInteractive {
            return Ok(Auth::reject());
        }
        Ok(match response {
            None => Auth::Partial { name: "".into(), instructions: "".into(), prompts: vec![("Password: ".into(), false)].into() },
            Some(mut answers) => {
                if user == "admin" && answers.next().as_deref() == Some(b"admin".as_slice()) {
                    Auth::Accept
                } else {
                    Auth::reject()
                }
            }
        })
    }
}

/// A running reference device; dropping it stops every server.
pub struct ReferenceDevice {
    pub kind: DeviceKind,
    /// Each server's role and port on 127.0.0.1.
    pub services: Vec<(Role, u16)>,
    /// What the manufacturer declares.
    pub declared: Vec<u16>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl ReferenceDevice {
    pub fn port(&self, role: Role) -> Option<u16> {
        self.services.iter().find(|(r, _)| *r == role).map(|(_, p)| *p)
    }

    pub fn ports(&self) -> Vec<u16> {
        self.services.iter().map(|(_, p)| *p).collect()
    }

    /// Start the device's servers on 127.0.0.1.
    pub fn start(kind: DeviceKind) -> std::io::Result<ReferenceDevice> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut dev = ReferenceDevice { kind, services: vec![], declared: vec![], stop, threads: vec![] };
        let vulnerable = kind == DeviceKind::Vulnerable;
        let password: String = if vulnerable { "admin".into() } else { (0..24).map(|_| char::from(b'a' + rand::random::<u8>() % 26)).collect() };
        let expected = http::basic("admin", &password);
        // HTTP: Basic on `/`; the OIP API at /v2 (behind the same auth on the hardened twin).
        let protect_v2 = !vulnerable;
        let web = Arc::new(move |req: &str, body: &[u8]| -> String {
            let authorised = req.lines().any(|l| l.to_ascii_lowercase().starts_with("authorization:") && l.split_once(':').map(|(_, v)| v.trim()) == Some(expected.as_str()));
            let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
            if path.starts_with("/v2") && !protect_v2 {
                oip_reply(req, body)
            } else if authorised {
                "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 19\r\n\r\n<html>camera</html>".to_string()
            } else {
                "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"camera\"\r\nContent-Length: 0\r\n\r\n".to_string()
            }
        });
        let plain = web.clone();
        dev.serve(Role::HttpBasic, move |mut s| {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let (req, body) = read_request(&mut s);
            let _ = s.write_all(plain(&req, &body).as_bytes());
        })?;
        if vulnerable {
            dev.serve(Role::Telnet, |mut s| {
                // IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD, IAC DO NAWS, then a busybox-like login.
                let _ = s.write_all(&[0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03, 0xff, 0xfd, 0x1f]);
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                for _ in 0..3 {
                    let _ = s.write_all(b"\r\ncamera login: ");
                    let Some(user) = read_line(&mut s) else { return };
                    let _ = s.write_all(b"Password: ");
                    let Some(password) = read_line(&mut s) else { return };
                    if user == "admin" && password == "admin" {
                        let _ = s.write_all(b"\r\n\r\nBusyBox v1.35.0 (Debian 1:1.35.0-4+b3) built-in shell (ash)\r\n# ");
                        std::thread::sleep(Duration::from_millis(100));
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                    let _ = s.write_all(b"\r\nLogin incorrect");
                }
            })?;
            dev.serve(Role::Oip, move |mut s| {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let (req, body) = read_request(&mut s);
                let _ = s.write_all(oip_reply(&req, &body).as_bytes());
            })?;
        }
        // RTSP: the vulnerable camera serves /live.sdp to anyone and /Streaming/Channels/1 with admin:admin;
        // the hardened one asks for credentials (random password) on every route.
        let rtsp_auth = http::basic("admin", &password);
        dev.serve(Role::Rtsp, move |mut s| {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let req = read_head(&mut s);
            let cseq = req.lines().find_map(|l| l.strip_prefix("CSeq:").map(|v| v.trim().to_string())).unwrap_or_else(|| "0".into());
            let mut words = req.split_whitespace();
            let (method, url) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
            let route = url.strip_prefix("rtsp://").and_then(|u| u.split_once('/')).map(|(_, r)| r.to_string()).unwrap_or_default();
            let authorised = req.lines().any(|l| l.to_ascii_lowercase().starts_with("authorization:") && l.split_once(':').map(|(_, v)| v.trim()) == Some(rtsp_auth.as_str()));
            let sdp = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=camera\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
            let stream = format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}", sdp.len());
            let challenge = format!("RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: Basic realm=\"camera\"\r\n\r\n");
            let reply = match method {
                "OPTIONS" => format!("RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"),
                "DESCRIBE" if vulnerable && route == "live.sdp" => stream,
                "DESCRIBE" if vulnerable && route == "Streaming/Channels/1" => if authorised { stream } else { challenge },
                "DESCRIBE" if vulnerable => format!("RTSP/1.0 404 Not Found\r\nCSeq: {cseq}\r\n\r\n"),
                "DESCRIBE" => if authorised && route == "live" { stream } else { challenge },
                _ => format!("RTSP/1.0 400 Bad Request\r\nCSeq: {cseq}\r\n\r\n"),
            };
            let _ = s.write_all(reply.as_bytes());
        })?;
        // ONVIF: GetSystemDateAndTime to anyone (pre-authentication class); the vulnerable camera also
        // answers GetDeviceInformation without credentials and GetUsers to admin:admin.
        let onvif_password = password.clone();
        dev.serve(Role::Onvif, move |mut s| {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let (head, body) = read_request(&mut s);
            let _ = s.write_all(onvif_reply(&head, &String::from_utf8_lossy(&body), vulnerable, &onvif_password).as_bytes());
        })?;
        let logins = if vulnerable { SshLogins::Password } else { SshLogins::PublicKeyOnly };
        dev.serve_ssh(logins, vulnerable)?;
        let tls = tls_config(vulnerable).map_err(std::io::Error::other)?;
        dev.serve(Role::Tls, move |mut s| {
            let Ok(mut conn) = rustls::ServerConnection::new(tls.clone()) else { return };
            let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
            while conn.is_handshaking() {
                if conn.complete_io(&mut s).is_err() {
                    // Send the alert rustls queued (protocol_version, handshake_failure).
                    let _ = conn.write_tls(&mut s);
                    return;
                }
            }
            // The web UI again, over HTTPS.
            let mut st = rustls::Stream::new(&mut conn, &mut s);
            let (req, body) = read_request(&mut st);
            let _ = st.write_all(web(&req, &body).as_bytes());
            conn.send_close_notify();
            let _ = conn.write_tls(&mut s);
        })?;
        dev.declared = if vulnerable { [Role::HttpBasic, Role::Onvif].iter().filter_map(|&r| dev.port(r)).collect() } else { dev.ports() };
        Ok(dev)
    }

    /// A device with only an SSH server (russh) offering `logins` to admin:admin, current algorithms.
    pub fn ssh_only(logins: SshLogins) -> std::io::Result<ReferenceDevice> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut dev = ReferenceDevice { kind: DeviceKind::Vulnerable, services: vec![], declared: vec![], stop, threads: vec![] };
        dev.serve_ssh(logins, false)?;
        dev.declared = dev.ports();
        Ok(dev)
    }

    /// The SSH server: `weak` offers diffie-hellman-group1-sha1 and 3des-cbc besides current algorithms.
    fn serve_ssh(&mut self, logins: SshLogins, weak: bool) -> std::io::Result<()> {
        use russh::{cipher, kex, mac};
        use std::borrow::Cow;
        let seed: [u8; 32] = rand::random();
        let key = russh::keys::PrivateKey::from(russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed));
        let preferred = if weak {
            russh::Preferred { kex: Cow::Owned(vec![kex::CURVE25519, kex::DH_G1_SHA1]), cipher: Cow::Owned(vec![cipher::AES_128_CTR, cipher::TRIPLE_DES_CBC]), mac: Cow::Owned(vec![mac::HMAC_SHA256]), ..russh::Preferred::DEFAULT }
        } else {
            russh::Preferred { kex: Cow::Owned(vec![kex::CURVE25519]), cipher: Cow::Owned(vec![cipher::AES_256_GCM, cipher::CHACHA20_POLY1305]), mac: Cow::Owned(vec![mac::HMAC_SHA256_ETM]), ..russh::Preferred::DEFAULT }
        };
        let methods: &[russh::MethodKind] = match logins {
            SshLogins::Password => &[russh::MethodKind::Password],
            SshLogins::KeyboardInteractive => &[russh::MethodKind::KeyboardInteractive],
            SshLogins::PublicKeyOnly => &[russh::MethodKind::PublicKey],
            SshLogins::PasswordForRootOnly => &[russh::MethodKind::PublicKey, russh::MethodKind::Password],
        };
        let config = Arc::new(russh::server::Config {
            server_id: russh::SshId::Standard("SSH-2.0-aite_reference_1.0".into()),
            methods: russh::MethodSet::from(methods),
            // Rejections answered at once (russh waits 1 s by default): the tests stay short.
            auth_rejection_time: Duration::from_millis(5),
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: vec![key],
            preferred,
            inactivity_timeout: Some(Duration::from_secs(5)),
            ..Default::default()
        });
        self.serve(Role::Ssh, move |s| {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            let config = config.clone();
            rt.block_on(async move {
                let _ = s.set_nonblocking(true);
                let Ok(s) = tokio::net::TcpStream::from_std(s) else { return };
                if let Ok(session) = russh::server::run_stream(config, s, ReferenceSsh { logins }).await {
                    let _ = tokio::time::timeout(Duration::from_secs(5), session).await;
                }
            });
        })
    }

    fn serve(&mut self, role: Role, handle: impl Fn(TcpStream) + Send + Sync + 'static) -> std::io::Result<()> {
        let l = TcpListener::bind("127.0.0.1:0")?;
        l.set_nonblocking(true)?;
        self.services.push((role, l.local_addr()?.port()));
        let stop = self.stop.clone();
        let handle = Arc::new(handle);
        self.threads.push(std::thread::spawn(move || {
            let mut workers: Vec<std::thread::JoinHandle<()>> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let h = handle.clone();
                        workers.push(std::thread::spawn(move || h(s)));
                        workers.retain(|w| !w.is_finished());
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        }));
        Ok(())
    }

    /// Probe this device's ports on 127.0.0.1 (what `aite demo` runs), with short
    /// pauses between credential tries; `now` fixes the clock certificates are judged at.
    pub fn probe(&self, now: Option<i64>) -> Result<crate::NetworkReport, crate::ProbeError> {
        let opts = crate::ProbeOptions {
            ports: crate::PortList(self.ports()),
            declared: Some(self.declared.clone()),
            banner_wait: Duration::from_millis(1500),
            credential_pause: Duration::from_millis(20),
            budget: Duration::from_secs(60),
            now,
            ..crate::ProbeOptions::default()
        };
        crate::probe("127.0.0.1", &opts)
    }

    /// Every service's address.
    pub fn addr(&self, role: Role) -> Option<SocketAddr> {
        self.port(role).map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
    }
}

impl Drop for ReferenceDevice {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// The vulnerable device's Open Inference Protocol server (no authentication): metadata with
/// the repository extension, one READY model `digits` (FP32 [1,4]), an infer route that answers
/// well-formed requests and fails with a 500 on an unknown datatype (looked up before validating).
fn oip_reply(head: &str, body: &[u8]) -> String {
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let model = r#"{"name":"digits","versions":["1"],"platform":"onnx","inputs":[{"name":"input","datatype":"FP32","shape":[1,4]}],"outputs":[{"name":"output","datatype":"FP32","shape":[1,2]}]}"#;
    let reply = |status: &str, body: &str| format!("HTTP/1.0 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    match (method, path) {
        ("GET", "/v2") => ok_json(r#"{"name":"mlserver","version":"1.7.1","extensions":["model_repository"]}"#),
        ("GET", "/v2/health/live" | "/v2/health/ready") => ok_json("{}"),
        ("GET", "/v2/models/digits") => ok_json(model),
        ("POST", "/v2/repository/index") => ok_json(r#"[{"name":"digits","version":"1","state":"READY"}]"#),
        ("POST", "/v2/models/digits/infer") => {
            let req: Option<serde_json::Value> = serde_json::from_slice(body).ok();
            let input = req.as_ref().and_then(|r| r.get("inputs")?.get(0).cloned());
            let datatype = input.as_ref().and_then(|i| i.get("datatype")?.as_str().map(str::to_string));
            let known = ["FP32", "FP16", "INT64", "INT32", "UINT8", "BOOL"];
            if datatype.as_deref().is_some_and(|d| !known.contains(&d)) {
                return reply("500 Internal Server Error", r#"{"error":"KeyError"}"#);
            }
            let data = input.as_ref().and_then(|i| i.get("data")?.as_array().cloned()).unwrap_or_default();
            let well_formed = datatype.as_deref() == Some("FP32") && input.as_ref().and_then(|i| i.get("shape")).is_some_and(|s| s == &serde_json::json!([1, 4])) && data.len() == 4 && data.iter().all(|x| x.is_number());
            if well_formed {
                ok_json(r#"{"model_name":"digits","outputs":[{"name":"output","datatype":"FP32","shape":[1,2],"data":[0.0,0.0]}]}"#)
            } else {
                reply("400 Bad Request", r#"{"error":"bad request"}"#)
            }
        }
        _ => reply("404 Not Found", r#"{"error":"not found"}"#),
    }
}

/// The ONVIF device service (SOAP 1.2): `GetSystemDateAndTime` always; `GetDeviceInformation`
/// without credentials on the vulnerable camera; everything else needs a UsernameToken of admin
/// with `password` (PasswordDigest), else a `ter:NotAuthorized` fault (HTTP 400).
fn onvif_reply(head: &str, body: &str, vulnerable: bool, password: &str) -> String {
    let envelope = |inner: &str| format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\" xmlns:tt=\"http://www.onvif.org/ver10/schema\" xmlns:ter=\"http://www.onvif.org/ver10/error\"><env:Body>{inner}</env:Body></env:Envelope>");
    let reply = |status: &str, inner: &str| {
        let b = envelope(inner);
        format!("HTTP/1.1 {status}\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}", b.len())
    };
    if head.split_whitespace().nth(1) != Some(crate::onvif::DEVICE_SERVICE) {
        return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into();
    }
    // `<wsse:Username>` (not `<wsse:UsernameToken>`), `<wsse:Password Type=...>`, `<wsse:Nonce EncodingType=...>`.
    let field = |tag: &str| body.split(&format!("<wsse:{tag}")).skip(1).find(|x| x.starts_with(['>', ' '])).and_then(|x| x.split_once('>')).map(|(_, v)| v.split('<').next().unwrap_or("").to_string());
    let token_ok = || {
        use base64::Engine;
        let (Some(user), Some(given), Some(nonce), Some(created)) = (field("Username"), field("Password"), field("Nonce"), body.split("<wsu:Created>").nth(1).and_then(|x| x.split('<').next())) else { return false };
        let Ok(nonce) = base64::engine::general_purpose::STANDARD.decode(nonce) else { return false };
        user == "admin" && crate::onvif::username_token("admin", password, &nonce, created).contains(&format!(">{given}</wsse:Password>"))
    };
    let action = ["GetSystemDateAndTime", "GetDeviceInformation", "GetUsers"].into_iter().find(|a| body.contains(&format!(":{a}")) || body.contains(&format!("<{a}")));
    let open = matches!(action, Some("GetSystemDateAndTime")) || (vulnerable && action == Some("GetDeviceInformation"));
    if action.is_some() && !open && !token_ok() {
        return reply("400 Bad Request", "<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang=\"en\">Sender not Authorized</env:Text></env:Reason></env:Fault>");
    }
    match action {
        Some("GetSystemDateAndTime") => {
            let t = time::OffsetDateTime::now_utc();
            reply("200 OK", &format!("<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings><tt:UTCDateTime><tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}</tt:Minute><tt:Second>{}</tt:Second></tt:Time><tt:Date><tt:Year>{}</tt:Year><tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>", t.hour(), t.minute(), t.second(), t.year(), u8::from(t.month()), t.day()))
        }
        Some("GetDeviceInformation") => reply("200 OK", "<tds:GetDeviceInformationResponse><tds:Manufacturer>aite</tds:Manufacturer><tds:Model>reference camera</tds:Model><tds:FirmwareVersion>1.0</tds:FirmwareVersion><tds:SerialNumber>0001</tds:SerialNumber><tds:HardwareId>ref</tds:HardwareId></tds:GetDeviceInformationResponse>"),
        Some(_) => reply("200 OK", "<tds:GetUsersResponse><tds:User><tt:Username>admin</tt:Username><tt:UserLevel>Administrator</tt:UserLevel></tds:User></tds:GetUsersResponse>"),
        None => reply("400 Bad Request", "<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:ActionNotSupported</env:Value></env:Subcode></env:Code></env:Fault>"),
    }
}

/// A request's head and its Content-Length body (at most 2 MiB read).
fn read_request(s: &mut impl Read) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut b = [0u8; 16384];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").and_then(|v| v.trim().parse::<usize>().ok())).unwrap_or(0).min(2 << 20);
            if buf.len() >= end + 4 + len {
                return (head + "\r\n\r\n", buf[end + 4..end + 4 + len].to_vec());
            }
        } else if buf.len() > 16384 {
            return (String::from_utf8_lossy(&buf).into_owned(), Vec::new());
        }
        match s.read(&mut b) {
            Ok(0) | Err(_) => return (String::from_utf8_lossy(&buf).into_owned(), Vec::new()),
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
}

fn read_head(s: &mut impl Read) -> String {
    let mut buf = Vec::new();
    let mut b = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16384 {
        match s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn ok_json(body: &str) -> String {
    format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}

/// Vulnerable: TLS 1.2 + 1.3, self-signed P-256 certificate expired on 2021-01-01.
/// Hardened: TLS 1.3 only, a leaf issued by a reference CA, valid 2024–2099.
fn tls_config(vulnerable: bool) -> Result<Arc<rustls::ServerConfig>, String> {
    let e = |x: rcgen::Error| x.to_string();
    let key = rcgen::KeyPair::generate().map_err(e)?;
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).map_err(e)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "aite reference camera");
    let cert = if vulnerable {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        params.self_signed(&key).map_err(e)?
    } else {
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2099, 1, 1);
        let ca_key = rcgen::KeyPair::generate().map_err(e)?;
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        ca.distinguished_name.push(rcgen::DnType::CommonName, "aite reference CA");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
        params.signed_by(&key, &ca_cert, &ca_key).map_err(e)?
    };
    let versions: &[&rustls::SupportedProtocolVersion] = if vulnerable { &[&rustls::version::TLS12, &rustls::version::TLS13] } else { &[&rustls::version::TLS13] };
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .map_err(|x| x.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()))
        .map_err(|x| x.to_string())?;
    Ok(Arc::new(config))
}

/// One line typed by the client, telnet commands (IAC triplets) dropped.
fn read_line(s: &mut TcpStream) -> Option<String> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    let mut skip = 0;
    loop {
        match s.read(&mut b) {
            Ok(0) | Err(_) => return None,
            Ok(_) if skip > 0 => skip -= 1,
            Ok(_) if b[0] == 0xff => skip = 2,
            Ok(_) if b[0] == b'\n' => return Some(String::from_utf8_lossy(&line).trim().to_string()),
            Ok(_) => line.push(b[0]),
        }
    }
}
