//! HTTP and RTSP Digest authentication (RFC 7616, RFC 2617; RTSP uses the
//! same scheme, RFC 2326 / 7826): the challenge's parameters, the response for
//! MD5, MD5-sess, SHA-256 and SHA-256-sess with or without `qop=auth`, and the
//! default list tried with one fresh challenge per try, on the connection that
//! received it (cameras bind nonces to the connection).

use crate::http::{Attempt, AttemptOutcome, Connection, Endpoint, Response};
use crate::scan::Budget;
use md5::Digest as _;
use std::time::Duration;

/// The hash a Digest challenge names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
}

impl Algorithm {
    fn parse(name: &str) -> Option<Algorithm> {
        match name.to_ascii_uppercase().as_str() {
            "MD5" => Some(Algorithm::Md5),
            "MD5-SESS" => Some(Algorithm::Md5Sess),
            "SHA-256" => Some(Algorithm::Sha256),
            "SHA-256-SESS" => Some(Algorithm::Sha256Sess),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn hash(self, s: &str) -> String {
        let bytes: Vec<u8> = match self {
            Algorithm::Md5 | Algorithm::Md5Sess => md5::Md5::digest(s.as_bytes()).to_vec(),
            Algorithm::Sha256 | Algorithm::Sha256Sess => sha2::Sha256::digest(s.as_bytes()).to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A `WWW-Authenticate: Digest ...` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// `qop=auth` offered (else the RFC 2069 form without qop).
    pub qop_auth: bool,
    /// `stale=true`: the previous nonce was refused as stale, not the credential (RFC 7616 3.3).
    pub stale: bool,
}

/// `key=value` and `key="quoted, value"` pairs of an auth-param list.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        let k0 = i;
        while i < b.len() && b[i] != b'=' && b[i] != b',' {
            i += 1;
        }
        let key = s[k0..i].trim().to_ascii_lowercase();
        if i >= b.len() || b[i] != b'=' {
            continue;
        }
        i += 1;
        let value = if b.get(i) == Some(&b'"') {
            i += 1;
            let mut v = String::new();
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                v.push(b[i] as char);
                i += 1;
            }
            i += 1;
            v
        } else {
            let v0 = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            s[v0..i].trim().to_string()
        };
        out.push((key, value));
    }
    out
}

impl Challenge {
    /// Parse one `WWW-Authenticate` value; `Err` says why it is not a usable Digest challenge.
    pub fn parse(header: &str) -> Result<Challenge, String> {
        let rest = header.trim().strip_prefix("Digest").or_else(|| header.trim().strip_prefix("digest")).ok_or_else(|| format!("not a Digest challenge: {header:?}"))?;
        let p = params(rest);
        let get = |k: &str| p.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let algorithm = match get("algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::parse(&a).ok_or_else(|| format!("Digest algorithm {a:?} is not supported (MD5, SHA-256 and their -sess forms are)"))?,
        };
        let qop = get("qop");
        if qop.as_deref().is_some_and(|q| !q.split(',').any(|x| x.trim() == "auth")) {
            return Err(format!("Digest qop {:?} without \"auth\" is not supported", qop.unwrap_or_default()));
        }
        Ok(Challenge { realm: get("realm").ok_or("Digest challenge without a realm")?, nonce: get("nonce").ok_or("Digest challenge without a nonce")?, opaque: get("opaque"), algorithm, qop_auth: qop.is_some(), stale: get("stale").is_some_and(|v| v.eq_ignore_ascii_case("true")) })
    }

    /// The Digest challenge among a response's `WWW-Authenticate` headers (the strongest algorithm first).
    pub fn from_response(r: &Response) -> Option<Result<Challenge, String>> {
        let mut found: Vec<Result<Challenge, String>> = r.headers_named("www-authenticate").filter(|v| v.trim_start().to_ascii_lowercase().starts_with("digest")).map(Challenge::parse).collect();
        found.sort_by_key(|c| match c {
            Ok(c) if matches!(c.algorithm, Algorithm::Sha256 | Algorithm::Sha256Sess) => 0,
            Ok(_) => 1,
            Err(_) => 2,
        });
        found.into_iter().next()
    }

    /// The `response` value (RFC 7616 3.4.1).
    pub fn response(&self, method: &str, uri: &str, user: &str, password: &str, cnonce: &str, nc: &str) -> String {
        let a = self.algorithm;
        let mut ha1 = a.hash(&format!("{user}:{}:{password}", self.realm));
        if matches!(a, Algorithm::Md5Sess | Algorithm::Sha256Sess) {
            ha1 = a.hash(&format!("{ha1}:{}:{cnonce}", self.nonce));
        }
        let ha2 = a.hash(&format!("{method}:{uri}"));
        if self.qop_auth {
            a.hash(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
        } else {
            a.hash(&format!("{ha1}:{}:{ha2}", self.nonce))
        }
    }

    /// The `Authorization` header value.
    pub fn authorization(&self, method: &str, uri: &str, user: &str, password: &str, cnonce: &str) -> String {
        let nc = "00000001";
        let response = self.response(method, uri, user, password, cnonce, nc);
        let mut h = format!("Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", algorithm={}, response=\"{response}\"", self.realm, self.nonce, self.algorithm.name());
        if self.qop_auth {
            h.push_str(&format!(", qop=auth, nc={nc}, cnonce=\"{cnonce}\""));
        }
        if let Some(o) = &self.opaque {
            h.push_str(&format!(", opaque=\"{o}\""));
        }
        h
    }
}

/// The protocol a Digest try speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `GET path` over HTTP/1.1; success is a 2xx.
    Http,
    /// `DESCRIBE rtsp://addr/path`; success is a stream description (200 with SDP).
    Rtsp,
}

fn request(protocol: Protocol, ep: Endpoint, path: &str, cseq: u32, authorization: Option<&str>) -> (String, Vec<u8>) {
    let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    let addr = ep.addr;
    match protocol {
        Protocol::Http => (path.to_string(), format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: aite-probe\r\n{auth}Connection: keep-alive\r\n\r\n").into_bytes()),
        Protocol::Rtsp => {
            let uri = format!("rtsp://{addr}/{path}");
            let req = format!("DESCRIBE {uri} RTSP/1.0\r\nCSeq: {cseq}\r\nAccept: application/sdp\r\nUser-Agent: aite-probe\r\n{auth}\r\n").into_bytes();
            (uri, req)
        }
    }
}

/// One try: ask without credentials for a fresh challenge and answer it on the same connection.
/// If that connection ends before the answer, the whole try is made once more on a new
/// connection with its own fresh challenge (a nonce is never sent on another connection).
fn one_try(protocol: Protocol, ep: Endpoint, path: &str, user: &str, password: &str, timeout: Duration) -> AttemptOutcome {
    match challenge_and_answer(protocol, ep, path, user, password, timeout) {
        Ok(outcome) => outcome,
        Err(first) => match challenge_and_answer(protocol, ep, path, user, password, timeout) {
            Ok(outcome) => outcome,
            Err(second) => AttemptOutcome::Unknown { why: format!("no answer to the credential on two connections: {first}; {second}") },
        },
    }
}

/// `Err`: the connection gave no answer to the request carrying the credential.
fn challenge_and_answer(protocol: Protocol, ep: Endpoint, path: &str, user: &str, password: &str, timeout: Duration) -> Result<AttemptOutcome, String> {
    let mut conn = match Connection::open(ep, timeout) {
        Ok(c) => c,
        Err(why) => return Ok(AttemptOutcome::Unknown { why }),
    };
    let (uri, first) = request(protocol, ep, path, 1, None);
    let challenge = match conn.exchange(&first) {
        Ok(r) if r.status == 401 => match Challenge::from_response(&r) {
            Some(Ok(c)) => c,
            Some(Err(why)) => return Ok(AttemptOutcome::Unknown { why }),
            None => return Ok(AttemptOutcome::Unknown { why: "401 without a Digest challenge".into() }),
        },
        Ok(r) => return Ok(AttemptOutcome::Unknown { why: format!("status {} to the request without credentials", r.status) }),
        Err(why) => return Ok(AttemptOutcome::Unknown { why }),
    };
    let cnonce = format!("{:016x}", rand::random::<u64>());
    let method = if protocol == Protocol::Http { "GET" } else { "DESCRIBE" };
    let (_, second) = request(protocol, ep, path, 2, Some(&challenge.authorization(method, &uri, user, password, &cnonce)));
    let r = conn.exchange(&second)?;
    let stale = r.status == 401 && matches!(Challenge::from_response(&r), Some(Ok(Challenge { stale: true, .. })));
    Ok(match r {
        r if protocol == Protocol::Rtsp && crate::rtsp::is_stream(&r) => AttemptOutcome::Accepted { status: r.status },
        r if protocol == Protocol::Http && (200..300).contains(&r.status) => AttemptOutcome::Accepted { status: r.status },
        r if stale => AttemptOutcome::Unknown { why: format!("status {} with stale=true: the nonce was refused, not the credential", r.status) },
        r if r.status == 401 || r.status == 403 => AttemptOutcome::Rejected { status: r.status },
        r => AttemptOutcome::Unknown { why: format!("status {}{}", r.status, if protocol == Protocol::Rtsp { " without a stream description" } else { "" }) },
    })
}

/// Try the default list with Digest on `path` (which answered 401 with a Digest challenge),
/// `pause` between tries; stops at the first accepted credential.
pub fn try_defaults(protocol: Protocol, ep: Endpoint, path: &str, step: Duration, pause: Duration, reveal: bool, budget: &Budget) -> Vec<Attempt> {
    let label = match protocol {
        Protocol::Http => format!("{} http-digest GET {path}", ep.label()),
        Protocol::Rtsp => format!("{}/tcp rtsp-digest DESCRIBE /{path}", ep.addr),
    };
    let pacing = crate::creds::Pacing { step, pause, reveal };
    crate::creds::try_credentials(&label, pacing, budget, |_, user, password, t| one_try(protocol, ep, path, user, password, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::DEFAULT_CREDENTIALS;

    #[test]
    fn rfc_7616_and_2617_examples() {
        // RFC 7616 3.9.1: the same request answered with MD5 and with SHA-256.
        let mut c = Challenge::parse(r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#).unwrap();
        assert_eq!((c.algorithm, c.qop_auth, c.opaque.as_deref()), (Algorithm::Sha256, true, Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")));
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        assert_eq!(c.response("GET", "/dir/index.html", "Mufasa", "Circle of Life", cnonce, "00000001"), "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
        c.algorithm = Algorithm::Md5;
        assert_eq!(c.response("GET", "/dir/index.html", "Mufasa", "Circle of Life", cnonce, "00000001"), "8ca523f5e9506fed4657c9700eebdbec");
        // RFC 2617 3.5.
        let c = Challenge::parse(r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#).unwrap();
        assert_eq!(c.response("GET", "/dir/index.html", "Mufasa", "Circle Of Life", "0a4f113b", "00000001"), "6629fae49393a05397450978507c4ef1");
        assert!(Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#).unwrap_err().contains("SHA-512-256"));
        assert!(Challenge::parse(r#"Digest nonce="n""#).is_err());
        assert!(Challenge::parse(r#"Basic realm="r""#).is_err());
    }

    /// A camera-like Digest server: each connection has its own nonce, a nonce from another
    /// connection is refused with a plain 401, the 401s are chunked keep-alive answers, and
    /// the first connection closes after its challenge. `stale`: every credential is answered
    /// 401 `stale=true`.
    fn bound_nonce_server(stale: bool) -> Endpoint {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for (n, s) in l.incoming().flatten().enumerate() {
                std::thread::spawn(move || {
                    let mut s = s;
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let nonce = format!("conn{n}-{:08x}", rand::random::<u32>());
                    let challenge = Challenge { realm: "cam".into(), nonce: nonce.clone(), opaque: None, algorithm: Algorithm::Md5, qop_auth: true, stale: false };
                    loop {
                        let mut req = Vec::new();
                        let mut b = [0u8; 1024];
                        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                            match s.read(&mut b) {
                                Ok(0) | Err(_) => return,
                                Ok(k) => req.extend_from_slice(&b[..k]),
                            }
                        }
                        let req = String::from_utf8_lossy(&req).into_owned();
                        let auth = req.lines().find_map(|l| l.strip_prefix("Authorization: Digest ")).map(params);
                        let ok = auth.as_ref().is_some_and(|p| {
                            let get = |k: &str| p.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone()).unwrap_or_default();
                            get("nonce") == nonce && get("response") == challenge.response("GET", &get("uri"), "admin", "admin", &get("cnonce"), &get("nc"))
                        });
                        if ok && !stale {
                            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                            continue;
                        }
                        let st = if stale && auth.is_some() { ", stale=true" } else { "" };
                        let _ = s.write_all(format!("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"cam\", qop=\"auth\", nonce=\"{nonce}\"{st}\r\nTransfer-Encoding: chunked\r\n\r\nc\r\nunauthorized\r\n0\r\n\r\n").as_bytes());
                        if n == 0 {
                            return;
                        }
                    }
                });
            }
        });
        Endpoint::plain(addr)
    }

    #[test]
    fn nonces_bound_to_their_connection_find_the_default_credential() {
        let ep = bound_nonce_server(false);
        let tried = try_defaults(Protocol::Http, ep, "/", Duration::from_secs(5), Duration::ZERO, false, &Budget::new(Duration::from_secs(60)));
        assert_eq!(tried.len(), 1, "{tried:?}");
        assert_eq!(tried[0].outcome, AttemptOutcome::Accepted { status: 200 }, "{tried:?}");
    }

    #[test]
    fn a_stale_nonce_is_no_rejection() {
        let ep = bound_nonce_server(true);
        let tried = try_defaults(Protocol::Http, ep, "/", Duration::from_secs(5), Duration::ZERO, false, &Budget::new(Duration::from_secs(60)));
        assert_eq!(tried.len(), DEFAULT_CREDENTIALS.len());
        assert!(tried.iter().all(|a| matches!(&a.outcome, AttemptOutcome::Unknown { why } if why.contains("stale=true"))), "{tried:?}");
        let c = Challenge::parse(r#"Digest realm="r", nonce="n", stale=TRUE"#).unwrap();
        assert!(c.stale);
    }
}
