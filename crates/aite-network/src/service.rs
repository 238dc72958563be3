//! Service identification on an open port with four probes, each on its own
//! connection: wait for a banner (SSH, telnet, FTP-style greetings), a TLS
//! ClientHello, `GET / HTTP/1.0`, `OPTIONS … RTSP/1.0`. The first positive
//! answer decides, except that a port answering both HTTP and RTSP (RTSP-over-HTTP
//! tunnelling) is RTSP with its HTTP answer kept, so both families of checks run; no
//! answer to any is "unknown", never a guess from the port number.

use crate::http;
use crate::scan::Budget;
use crate::ssh::{self, SshReport};
use crate::tls::{self, HelloReply, TlsVersion};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// What an open port carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Service {
    /// An SSH identification line (the report holds the KEXINIT lists, or why they could not be read).
    Ssh,
    /// Telnet option negotiation (IAC) or a login prompt before any input.
    Telnet { evidence: String },
    /// A TLS record answered the ClientHello (ServerHello or alert).
    Tls,
    Http { status: u16, server: Option<String>, www_authenticate: Option<String> },
    /// An RTSP answer to OPTIONS; `http` is the same port's answer to `GET /` when it gave one.
    Rtsp {
        status: u16,
        server: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        http: Option<HttpAnswer>,
    },
    /// Another greeting (FTP, SMTP, a vendor protocol): the text, cut to 200 bytes.
    Banner { text: String },
    /// Nothing any probe recognised.
    Unknown { why: String },
}

/// A port's answer to `GET / HTTP/1.0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpAnswer {
    pub status: u16,
    pub server: Option<String>,
    pub www_authenticate: Option<String>,
}

/// How to identify: how long to wait for a banner and for each probe.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub banner_wait: Duration,
    pub step: Duration,
}

fn printable(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(200)]).chars().map(|c| if c.is_control() && c != '\n' { '.' } else { c }).collect::<String>().trim().to_string()
}

fn looks_like_login_prompt(text: &str) -> bool {
    let t = text.trim_end().to_ascii_lowercase();
    ["login:", "username:", "login as:", "user name:"].iter().any(|p| t.ends_with(p))
}

/// What identification found, with the SSH details when it is SSH.
pub struct Identified {
    pub service: Service,
    pub ssh: Option<Result<SshReport, String>>,
    /// The answer of the TLS probe when it was made (reused to skip a second hello).
    pub tls_reply: Option<HelloReply>,
}

/// Identify the service at `addr`.
pub fn identify(addr: SocketAddr, timing: Timing, budget: &Budget) -> Identified {
    let spent = || Identified { service: Service::Unknown { why: "the probe's total budget was spent".into() }, ssh: None, tls_reply: None };
    let mut notes = Vec::new();
    // 1. NULL probe: connect and listen.
    let Some(t) = budget.step(timing.step) else { return spent() };
    match TcpStream::connect_timeout(&addr, t) {
        Err(e) => notes.push(format!("banner probe: connect failed: {e}")),
        Ok(mut s) => {
            let mut got = Vec::new();
            let until = Instant::now() + budget.step(timing.banner_wait).unwrap_or(Duration::from_millis(1));
            let mut buf = [0u8; 2048];
            while let Some(left) = until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
                let _ = s.set_read_timeout(Some(left));
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        got.extend_from_slice(&buf[..n]);
                        // Greetings end with a line or a prompt; a short pause would do, but one read usually holds it.
                        if got.ends_with(b"\n") || got.ends_with(b": ") || got.ends_with(b":") || got.len() > 1024 || got[0] == 0xff {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
            if got.first() == Some(&0xff) {
                return Identified { service: Service::Telnet { evidence: format!("telnet option negotiation (IAC) {:02x?}", &got[..got.len().min(9)]) }, ssh: None, tls_reply: None };
            }
            if got.starts_with(b"SSH-") || got.windows(4).any(|w| w == b"\nSSH") {
                let report = budget.step(timing.step).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| ssh::examine(&mut s, got, t));
                return Identified { service: Service::Ssh, ssh: Some(report), tls_reply: None };
            }
            if !got.is_empty() {
                let text = printable(&got);
                if looks_like_login_prompt(&text) {
                    return Identified { service: Service::Telnet { evidence: format!("login prompt before any input: {text:?}") }, ssh: None, tls_reply: None };
                }
                return Identified { service: Service::Banner { text }, ssh: None, tls_reply: None };
            }
        }
    }
    // 2. TLS ClientHello (TLS 1.2 with every known suite).
    let Some(t) = budget.step(timing.step) else { return spent() };
    let reply = tls::exchange(addr, &tls::client_hello(TlsVersion::Tls12, &tls::legacy_suites(), None), t);
    match &reply {
        HelloReply::ServerHello { .. } | HelloReply::Alert { .. } => return Identified { service: Service::Tls, ssh: None, tls_reply: Some(reply) },
        HelloReply::NotTls { first_bytes } => notes.push(format!("TLS probe: not TLS (first bytes {first_bytes:02x?})")),
        HelloReply::NoAnswer { why } => notes.push(format!("TLS probe: {why}")),
    }
    // 3. HTTP GET, 4. RTSP OPTIONS, both: an RTSP server may answer HTTP too (RTSP over HTTP
    // tunnelling; GStreamer's rtsp-server answers GET with `HTTP/1.0 503`): then it is RTSP
    // and keeps the HTTP answer, so the HTTP checks run there too.
    let mut http_answer = None;
    for probe in ["http", "rtsp"] {
        let Some(t) = budget.step(timing.step) else { break };
        let r = if probe == "http" { http::get(http::Endpoint::plain(addr), "/", None, t) } else { http::rtsp_options(addr, t) };
        match r {
            Ok(r) if r.protocol.starts_with("HTTP/") => {
                http_answer = http_answer.or(Some(HttpAnswer { status: r.status, server: r.header("server").map(str::to_string), www_authenticate: r.header("www-authenticate").map(str::to_string) }));
            }
            Ok(r) => return Identified { service: Service::Rtsp { status: r.status, server: r.header("server").map(str::to_string), http: http_answer }, ssh: None, tls_reply: None },
            Err(why) => notes.push(format!("{probe} probe: {why}")),
        }
    }
    match http_answer {
        Some(HttpAnswer { status, server, www_authenticate }) => Identified { service: Service::Http { status, server, www_authenticate }, ssh: None, tls_reply: None },
        None if budget.spent() => spent(),
        None => Identified { service: Service::Unknown { why: notes.join("; ") }, ssh: None, tls_reply: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// GStreamer 1.22's rtsp-server, as seen on the simulated camera: `GET /` gets its
    /// RTSP-over-HTTP tunnel's `503`, `OPTIONS` an RTSP answer.
    fn gstreamer_like() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                        if got.first() == Some(&0x16) {
                            return;
                        }
                    }
                    let answer: &[u8] = if got.starts_with(b"GET ") {
                        b"HTTP/1.0 503 Service Unavailable\r\nServer: GStreamer RTSP Server\r\nConnection: close\r\nCache-Control: no-store\r\nPragma: no-cache\r\n\r\n"
                    } else {
                        b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, ANNOUNCE, GET_PARAMETER, PAUSE, PLAY, RECORD, SETUP, SET_PARAMETER, TEARDOWN\r\nServer: GStreamer RTSP server\r\n\r\n"
                    };
                    let _ = conn.write_all(answer);
                });
            }
        });
        addr
    }

    #[test]
    fn an_rtsp_server_that_also_answers_http_is_rtsp_with_its_http_answer() {
        // The banner wait waits for nothing (this server sends no banner); the step bounds answers.
        let timing = Timing { banner_wait: Duration::from_millis(200), step: Duration::from_secs(30) };
        let id = identify(gstreamer_like(), timing, &Budget::new(Duration::from_secs(300)));
        let http = HttpAnswer { status: 503, server: Some("GStreamer RTSP Server".into()), www_authenticate: None };
        assert_eq!(id.service, Service::Rtsp { status: 200, server: Some("GStreamer RTSP server".into()), http: Some(http) });
    }
}
