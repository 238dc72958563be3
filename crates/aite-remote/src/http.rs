//! A small HTTP/1.1 client on `std::net`: one kept-alive connection, a deadline per
//! request, and failures classified the way the fault policy needs them.
//!
//! Written here rather than taken from a crate because the retry policy depends on a
//! fact HTTP libraries keep to themselves: whether a reset hit a *reused* pooled
//! connection (the server closed it while idle) or a fresh one. Plain HTTP only.

use aite_target::RequestOutcome;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The largest response body accepted (a model's outputs), 1 GiB.
const MAX_BODY: usize = 1 << 30;
const MAX_HEAD: usize = 64 << 10;

/// A complete HTTP response.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// It came over a connection an earlier request had used.
    pub reused: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A request that did not produce a complete response.
#[derive(Debug)]
pub(crate) struct Failure {
    pub outcome: RequestOutcome,
    /// The request went out on a connection an earlier request had used.
    pub reused: bool,
    pub detail: String,
}

/// One server, one idle connection kept for the next request.
pub(crate) struct HttpClient {
    authority: String,
    idle: Option<TcpStream>,
    pub timeout: Duration,
    /// TCP connections opened so far (1 for a whole run when keep-alive holds).
    pub connections: u64,
}

impl HttpClient {
    pub fn new(authority: String, timeout: Duration) -> Self {
        HttpClient { authority, idle: None, timeout, connections: 0 }
    }

    /// Send one request and read its whole response. `fresh` forbids reusing the idle connection.
    pub fn send(&mut self, method: &str, path: &str, headers: &[(&str, String)], body: &[u8], fresh: bool) -> Result<Response, Failure> {
        let deadline = Instant::now() + self.timeout;
        let pooled = if fresh { None } else { self.idle.take() };
        if fresh {
            self.idle = None;
        }
        let reused = pooled.is_some();
        let mut stream = match pooled {
            Some(s) => s,
            None => self.connect(deadline)?,
        };
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: aite/{}\r\nAccept: */*\r\n", self.authority, env!("CARGO_PKG_VERSION"));
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if method != "GET" || !body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let fail = |e: io::Error, got_bytes: bool| Failure { outcome: classify(&e, got_bytes), reused, detail: e.to_string() };
        let mut out = head.into_bytes();
        out.extend_from_slice(body);
        if let Err(e) = set_timeouts(&stream, deadline).and_then(|_| stream.write_all(&out)) {
            return Err(fail(e, false));
        }
        let mut reader = Deadline { stream: &mut stream, deadline, buf: Vec::new(), pos: 0, received: 0 };
        let (mut resp, keep) = match read_response(&mut reader, method == "HEAD") {
            Ok(r) => r,
            Err(ReadError::Io(e, got)) => return Err(fail(e, got)),
            Err(ReadError::Malformed(d)) => return Err(Failure { outcome: RequestOutcome::Malformed, reused, detail: d }),
        };
        resp.reused = reused;
        if keep && reader.pos == reader.buf.len() {
            self.idle = Some(stream);
        }
        Ok(resp)
    }

    fn connect(&mut self, deadline: Instant) -> Result<TcpStream, Failure> {
        let fail = |e: io::Error| Failure { outcome: classify(&e, false), reused: false, detail: e.to_string() };
        let addrs: Vec<SocketAddr> = self.authority.to_socket_addrs().map_err(|e| Failure {
            outcome: RequestOutcome::Refused,
            reused: false,
            detail: format!("cannot resolve {}: {e}", self.authority),
        })?.collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for a in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(fail(io::Error::new(io::ErrorKind::TimedOut, "deadline passed while connecting")));
            }
            match TcpStream::connect_timeout(&a, left) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    self.connections += 1;
                    return Ok(s);
                }
                Err(e) => last = e,
            }
        }
        Err(fail(last))
    }
}

fn set_timeouts(s: &TcpStream, deadline: Instant) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
    }
    s.set_read_timeout(Some(left))?;
    s.set_write_timeout(Some(left))
}

fn classify(e: &io::Error, got_bytes: bool) -> RequestOutcome {
    use io::ErrorKind::*;
    match e.kind() {
        TimedOut | WouldBlock => RequestOutcome::Timeout,
        ConnectionRefused => RequestOutcome::Refused,
        _ if got_bytes => RequestOutcome::Truncated,
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected => RequestOutcome::Reset,
        _ => RequestOutcome::Reset,
    }
}

enum ReadError {
    /// An I/O error, and whether any byte of the response had arrived.
    Io(io::Error, bool),
    Malformed(String),
}

/// A buffered reader that re-arms the socket timeout to what is left of the deadline.
struct Deadline<'a> {
    stream: &'a mut TcpStream,
    deadline: Instant,
    buf: Vec<u8>,
    pos: usize,
    /// Bytes of the response received so far.
    received: usize,
}

impl Deadline<'_> {
    fn fill(&mut self) -> Result<(), ReadError> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let got = self.received > 0;
        set_timeouts(self.stream, self.deadline).map_err(|e| ReadError::Io(e, got))?;
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(ReadError::Io(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"), got)),
            Ok(n) => {
                self.received += n;
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(ReadError::Io(e, got)),
        }
    }

    fn line(&mut self, limit: usize) -> Result<String, ReadError> {
        let mut line = Vec::new();
        loop {
            if let Some(i) = self.buf[self.pos..].iter().position(|&b| b == b'\n') {
                line.extend_from_slice(&self.buf[self.pos..self.pos + i]);
                self.pos += i + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return String::from_utf8(line).map_err(|_| ReadError::Malformed("a header line is not UTF-8".into()));
            }
            line.extend_from_slice(&self.buf[self.pos..]);
            self.pos = self.buf.len();
            if line.len() > limit {
                return Err(ReadError::Malformed(format!("a line of the response head is longer than {limit} bytes")));
            }
            self.fill()?;
        }
    }

    fn exact(&mut self, n: usize, out: &mut Vec<u8>) -> Result<(), ReadError> {
        let mut left = n;
        while left > 0 {
            if self.pos == self.buf.len() {
                self.fill()?;
            }
            let take = left.min(self.buf.len() - self.pos);
            out.extend_from_slice(&self.buf[self.pos..self.pos + take]);
            self.pos += take;
            left -= take;
        }
        Ok(())
    }
}

/// Read status line, headers and body; `true` when the connection may be reused.
fn read_response(r: &mut Deadline, head_only: bool) -> Result<(Response, bool), ReadError> {
    let status_line = r.line(MAX_HEAD)?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status: u16 = match (version.starts_with("HTTP/1."), parts.next().and_then(|s| s.parse().ok())) {
        (true, Some(s)) if (100..1000).contains(&s) => s,
        _ => return Err(ReadError::Malformed(format!("not an HTTP/1.x status line: {:?}", truncate(&status_line)))),
    };
    let mut headers = Vec::new();
    let mut head_bytes = status_line.len();
    loop {
        let line = r.line(MAX_HEAD)?;
        if line.is_empty() {
            break;
        }
        head_bytes += line.len();
        if head_bytes > MAX_HEAD {
            return Err(ReadError::Malformed(format!("response head longer than {MAX_HEAD} bytes")));
        }
        let (k, v) = line.split_once(':').ok_or_else(|| ReadError::Malformed(format!("header line without a colon: {:?}", truncate(&line))))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    if (100..200).contains(&status) {
        // An interim response (100 Continue): the real one follows.
        return read_response(r, head_only);
    }
    let find = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let conn = find("connection").unwrap_or_default().to_ascii_lowercase();
    let mut keep = if version == "HTTP/1.0" { conn.contains("keep-alive") } else { !conn.contains("close") };
    let mut body = Vec::new();
    let chunked = find("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    if head_only || status == 204 || status == 304 {
    } else if chunked {
        loop {
            let size_line = r.line(1024)?;
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| ReadError::Malformed(format!("bad chunk size {:?}", truncate(&size_line))))?;
            if size == 0 {
                while !r.line(MAX_HEAD)?.is_empty() {}
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(ReadError::Malformed(format!("response body larger than {MAX_BODY} bytes")));
            }
            r.exact(size, &mut body)?;
            if !r.line(16)?.is_empty() {
                return Err(ReadError::Malformed("chunk not followed by CRLF".into()));
            }
        }
    } else if let Some(len) = find("content-length") {
        let len: usize = len.parse().map_err(|_| ReadError::Malformed(format!("bad Content-Length {len:?}")))?;
        if len > MAX_BODY {
            return Err(ReadError::Malformed(format!("Content-Length {len} is larger than {MAX_BODY} bytes")));
        }
        body.reserve(len);
        r.exact(len, &mut body)?;
    } else {
        // Body delimited by the end of the connection.
        keep = false;
        body.extend_from_slice(&r.buf[r.pos..]);
        r.pos = r.buf.len();
        loop {
            match r.fill() {
                Ok(()) => {
                    body.extend_from_slice(&r.buf[r.pos..]);
                    r.pos = r.buf.len();
                    if body.len() > MAX_BODY {
                        return Err(ReadError::Malformed(format!("response body larger than {MAX_BODY} bytes")));
                    }
                }
                Err(ReadError::Io(e, _)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok((Response { status, headers, body, reused: false }, keep))
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    /// A server answering each request on one connection with the next canned bytes.
    fn canned(answers: Vec<&'static [u8]>) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut w = s;
            for a in answers {
                let mut line = String::new();
                while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    line.clear();
                }
                w.write_all(a).unwrap();
            }
        });
        addr
    }

    #[test]
    fn chunked_interim_and_connection_close() {
        let addr = canned(vec![
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        ]);
        let mut c = HttpClient::new(addr, Duration::from_secs(5));
        let r = c.send("GET", "/", &[], &[], false).unwrap();
        assert_eq!((r.status, r.body.as_slice(), r.reused), (200, &b"Wikipedia"[..], false));
        let r = c.send("GET", "/", &[], &[], false).unwrap();
        assert_eq!((r.body.as_slice(), r.reused), (&b"ok"[..], true));
        assert!(c.idle.is_none(), "Connection: close is honoured");
    }

    #[test]
    fn http10_body_until_eof_and_garbage() {
        let addr = canned(vec![b"HTTP/1.0 200 OK\r\n\r\nuntil the end"]);
        let mut c = HttpClient::new(addr, Duration::from_secs(5));
        let r = c.send("GET", "/", &[], &[], false).unwrap();
        assert_eq!(r.body, b"until the end");
        assert!(c.idle.is_none());
        let addr = canned(vec![b"SSH-2.0-OpenSSH_9.2\r\n"]);
        let f = HttpClient::new(addr, Duration::from_secs(5)).send("GET", "/", &[], &[], false).unwrap_err();
        assert_eq!(f.outcome, RequestOutcome::Malformed);
        assert!(f.detail.contains("not an HTTP/1.x status line"), "{}", f.detail);
        let addr = canned(vec![b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"]);
        let f = HttpClient::new(addr, Duration::from_secs(5)).send("GET", "/", &[], &[], false).unwrap_err();
        assert_eq!(f.outcome, RequestOutcome::Truncated);
    }
}
