//! Plain HTTP/1.0 and RTSP/1.0 requests (one per connection), HTTP Basic
//! default credentials, and the Open Inference Protocol's `GET /v2`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The most bytes read from one response.
const MAX_RESPONSE: usize = 64 * 1024;

/// Well-known default credentials tried on HTTP Basic, in order (user, password).
/// Sources: the vendor defaults most cited for IP cameras (Mirai's list, cameradar's
/// credentials.json); kept short on purpose, one connection per try.
pub const DEFAULT_CREDENTIALS: &[(&str, &str)] = &[("admin", "admin"), ("admin", "12345"), ("admin", "password"), ("admin", ""), ("root", "root"), ("root", "pass")];

/// A parsed response head and the body bytes read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `HTTP/1.1` or `RTSP/1.0`.
    pub protocol: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable header (`WWW-Authenticate`), in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Where requests go: a TCP port, plain or inside TLS (TLS 1.2/1.3 through rustls,
/// the certificate not verified: the service is examined, not trusted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub tls: bool,
}

impl Endpoint {
    pub fn plain(addr: SocketAddr) -> Endpoint {
        Endpoint { addr, tls: false }
    }

    /// `127.0.0.1:8080/tcp` or `127.0.0.1:443/tcp (TLS)`.
    pub fn label(&self) -> String {
        format!("{}/tcp{}", self.addr, if self.tls { " (TLS)" } else { "" })
    }
}

trait Conn: Read + Write {
    fn set_read_timeout(&self, t: Option<Duration>);
}

impl Conn for TcpStream {
    fn set_read_timeout(&self, t: Option<Duration>) {
        let _ = TcpStream::set_read_timeout(self, t);
    }
}

impl Conn for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn set_read_timeout(&self, t: Option<Duration>) {
        let _ = self.sock.set_read_timeout(t);
    }
}

/// One connection carrying one or more requests (RTSP and HTTP/1.1 keep-alive: a
/// Digest challenge's nonce may belong to the connection that received it).
pub struct Connection {
    s: Box<dyn Conn>,
    /// Each exchange's own deadline, from when it starts.
    timeout: Duration,
}

impl Connection {
    pub fn open(ep: Endpoint, timeout: Duration) -> Result<Connection, String> {
        let tcp = TcpStream::connect_timeout(&ep.addr, timeout).map_err(|e| format!("connect failed: {e}"))?;
        let _ = tcp.set_write_timeout(Some(timeout));
        let s: Box<dyn Conn> = if ep.tls { Box::new(crate::tls::client(tcp, ep.addr, timeout)?) } else { Box::new(tcp) };
        Ok(Connection { s, timeout })
    }

    /// Send `request` and read one response: its head and its Content-Length or chunked body,
    /// or until EOF, the size limit or the exchange's deadline (the timeout, from now).
    pub fn exchange(&mut self, request: &[u8]) -> Result<Response, String> {
        let until = Instant::now() + self.timeout;
        let s = &mut self.s;
        s.write_all(request).map_err(|e| format!("sending the request failed: {e}"))?;
        let _ = s.flush();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Some(left) = until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
            s.set_read_timeout(Some(left));
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() >= MAX_RESPONSE || complete(&buf) {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        parse(&buf).ok_or_else(|| if buf.is_empty() { "no answer".to_string() } else { format!("not an HTTP/RTSP response (first bytes {:02x?})", &buf[..buf.len().min(8)]) })
    }
}

/// Send `request` on a new connection and read the response until EOF, the size limit or `timeout`.
pub fn request(ep: Endpoint, request: &[u8], timeout: Duration) -> Result<Response, String> {
    Connection::open(ep, timeout)?.exchange(request)
}

/// A head plus as much body as Content-Length says, or a chunked body up to its last
/// chunk and trailer (RTSP and HTTP/1.1 keep connections open).
fn complete(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { return false };
    let Some(r) = parse(buf) else { return false };
    if r.header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        return chunked_end(&buf[end + 4..]).is_some();
    }
    match r.header("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(n) => buf.len() >= end + 4 + n,
        None => r.protocol.starts_with("RTSP"),
    }
}

/// Where a chunked body (RFC 9112 7.1) ends: after the `0` chunk and the trailer's empty line.
/// `None`: not all of it read yet, or not a chunked body.
pub fn chunked_end(body: &[u8]) -> Option<usize> {
    let line_end = |from: usize| body.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|p| from + p);
    let mut at = 0usize;
    loop {
        let eol = line_end(at)?;
        let size_text = std::str::from_utf8(&body[at..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        at = eol + 2;
        if size == 0 {
            // Trailer fields, each a line, then an empty line.
            loop {
                let eol = line_end(at)?;
                let empty = eol == at;
                at = eol + 2;
                if empty {
                    return Some(at);
                }
            }
        }
        at = at.checked_add(size)?.checked_add(2)?;
        if at > body.len() {
            return None;
        }
    }
}

pub fn parse(buf: &[u8]) -> Option<Response> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|e| (e, e + 4)).or_else(|| buf.windows(2).position(|w| w == b"\n\n").map(|e| (e, e + 2)))?;
    let head = std::str::from_utf8(&buf[..end.0]).ok()?;
    let mut lines = head.lines();
    let first = lines.next()?;
    let mut parts = first.splitn(3, ' ');
    let protocol = parts.next()?.to_string();
    if !(protocol.starts_with("HTTP/") || protocol.starts_with("RTSP/")) {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    let headers = lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    Some(Response { protocol, status, headers, body: buf[end.1..].to_vec() })
}

pub fn get(ep: Endpoint, path: &str, authorization: Option<&str>, timeout: Duration) -> Result<Response, String> {
    let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    let addr = ep.addr;
    request(ep, format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: aite-probe\r\n{auth}Connection: close\r\n\r\n").as_bytes(), timeout)
}

pub fn rtsp_options(addr: SocketAddr, timeout: Duration) -> Result<Response, String> {
    request(Endpoint::plain(addr), format!("OPTIONS rtsp://{addr}/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: aite-probe\r\n\r\n").as_bytes(), timeout)
}

pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// How one credential attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum AttemptOutcome {
    /// The server answered 2xx to the request carrying the credential.
    Accepted { status: u16 },
    /// The server answered 401 or 403.
    Rejected { status: u16 },
    /// No conclusion (timeout, reset, another status): never a success.
    Unknown { why: String },
}

/// One credential tried, as recorded in the evidence. The password is recorded
/// only when the user asked (`reveal`); otherwise its place in the default list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// `127.0.0.1:8080/tcp http-basic GET /`.
    pub service: String,
    pub user: String,
    /// 1-based index into [`DEFAULT_CREDENTIALS`].
    pub list_entry: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(flatten)]
    pub outcome: AttemptOutcome,
}

/// Try the default list on a path that answered 401 with a Basic challenge,
/// waiting `pause` between tries; stops at the first accepted credential.
pub fn try_basic(ep: Endpoint, path: &str, timeout: Duration, pause: Duration, reveal: bool, budget: &crate::scan::Budget) -> Vec<Attempt> {
    let pacing = crate::creds::Pacing { step: timeout, pause, reveal };
    crate::creds::try_credentials(&format!("{} http-basic GET {path}", ep.label()), pacing, budget, |_, user, password, t| match get(ep, path, Some(&basic(user, password)), t) {
        Ok(r) if (200..300).contains(&r.status) => AttemptOutcome::Accepted { status: r.status },
        Ok(r) if r.status == 401 || r.status == 403 => AttemptOutcome::Rejected { status: r.status },
        Ok(r) => AttemptOutcome::Unknown { why: format!("status {}", r.status) },
        Err(why) => AttemptOutcome::Unknown { why },
    })
}

/// The version a `Server` header names, if any: a `product/version` token whose version starts
/// with a digit (`lighttpd/1.4.69`, `Python/3.11.2`) or a bare dotted number (`1.4.69`).
/// `camera`, `Apache` or `GoAhead-Webs` name none.
pub fn server_version(header: &str) -> Option<&str> {
    header.split_whitespace().map(|t| t.trim_matches(|c| c == '(' || c == ')' || c == ',' || c == ';')).find(|t| {
        let after_slash = t.split_once('/').is_some_and(|(p, v)| !p.is_empty() && v.starts_with(|c: char| c.is_ascii_digit()));
        let dotted = t.contains('.') && t.starts_with(|c: char| c.is_ascii_digit()) && t.chars().all(|c| c.is_ascii_digit() || c == '.');
        after_slash || dotted
    })
}

/// Whether a `GET /v2` response is an Open Inference Protocol server-metadata answer:
/// 200 with a JSON object holding `name`, `version` and `extensions` (KServe v2 REST).
pub fn is_oip_metadata(r: &Response) -> bool {
    r.status == 200
        && serde_json::from_slice::<serde_json::Value>(&r.body).ok().is_some_and(|v| v.get("name").is_some_and(|n| n.is_string()) && v.get("version").is_some() && v.get("extensions").is_some_and(|e| e.is_array()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_matches_rfc7617_example() {
        // RFC 7617 section 2: Aladdin / open sesame.
        assert_eq!(basic("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn responses_and_oip_metadata() {
        let r = parse(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 49\r\n\r\n{\"name\":\"mlserver\",\"version\":\"1.7.1\",\"extensions\":[]}").unwrap();
        assert!(is_oip_metadata(&r));
        let r = parse(b"HTTP/1.0 200 OK\r\n\r\n<html>camera</html>").unwrap();
        assert!(!is_oip_metadata(&r));
        let r = parse(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n").unwrap();
        assert_eq!((r.protocol.as_str(), r.header("public")), ("RTSP/1.0", Some("OPTIONS, DESCRIBE")));
        assert!(parse(b"SSH-2.0-x\r\n\r\n").is_none());
    }

    #[test]
    fn server_headers_naming_a_version() {
        assert_eq!(server_version("lighttpd/1.4.69"), Some("lighttpd/1.4.69"));
        assert_eq!(server_version("aite-camera-onvif Python/3.11.2"), Some("Python/3.11.2"));
        assert_eq!(server_version("Apache/2.4.57 (Debian)"), Some("Apache/2.4.57"));
        assert_eq!(server_version("Microsoft-IIS/10.0"), Some("Microsoft-IIS/10.0"));
        assert_eq!(server_version("WebServer 1.4.2"), Some("1.4.2"));
        for none in ["camera", "Apache", "GoAhead-Webs", "aite-camera-onvif", "cloudflare", "", "HTTP/ server", "Server/v2"] {
            assert_eq!(server_version(none), None, "{none:?}");
        }
    }

    #[test]
    fn chunked_bodies_end_at_their_last_chunk() {
        assert_eq!(chunked_end(b"5\r\nhello\r\n0\r\n\r\n"), Some(15));
        assert_eq!(chunked_end(b"5;ext=1\r\nhello\r\n0\r\nX-Trailer: y\r\n\r\nnext"), Some(35));
        assert_eq!(chunked_end(b"5\r\nhello\r\n0\r\n"), None, "trailer's empty line not read yet");
        assert_eq!(chunked_end(b"a\r\nhello"), None);
        assert_eq!(chunked_end(b"zz\r\n"), None);
    }

    /// A keep-alive 401 with a chunked body ends at its terminator: the next request on the
    /// same connection gets its own answer (the server sends it only once asked).
    #[test]
    fn a_chunked_keep_alive_answer_is_read_to_its_terminator() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut b = [0u8; 4096];
            let _ = s.read(&mut b);
            let _ = s.write_all(b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
            let _ = s.read(&mut b);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            let _ = s.read(&mut b);
        });
        let mut c = Connection::open(Endpoint::plain(addr), Duration::from_secs(5)).unwrap();
        let r = c.exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (401, &b"5\r\nhello\r\n0\r\n\r\n"[..]));
        let r = c.exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
    }
}
