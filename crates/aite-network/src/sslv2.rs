//! SSLv2 (the Netscape draft of 1995, prohibited by RFC 6176): a hand-built CLIENT-HELLO in
//! the SSLv2 record format (2-byte header with the high bit set, no TLS record layer) offering
//! the seven SSLv2 cipher kinds, and the SERVER-HELLO parsed field by field (tls-parser reads
//! no SSLv2). Offered only on a SERVER-HELLO; an SSLv2 ERROR, a TLS record or a close after the
//! hello is "not offered"; silence or other bytes are no conclusion.

use crate::tls::Offer;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The SSLv2 cipher kinds (3 bytes each) and their names.
pub const CIPHER_KINDS: &[([u8; 3], &str)] = &[
    ([0x01, 0x00, 0x80], "SSL_CK_RC4_128_WITH_MD5"),
    ([0x02, 0x00, 0x80], "SSL_CK_RC4_128_EXPORT40_WITH_MD5"),
    ([0x03, 0x00, 0x80], "SSL_CK_RC2_128_CBC_WITH_MD5"),
    ([0x04, 0x00, 0x80], "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5"),
    ([0x05, 0x00, 0x80], "SSL_CK_IDEA_128_CBC_WITH_MD5"),
    ([0x06, 0x00, 0x40], "SSL_CK_DES_64_CBC_WITH_MD5"),
    ([0x07, 0x00, 0xc0], "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"),
];

/// SSLv2 message types.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 4;
const ERROR: u8 = 0;

/// A CLIENT-HELLO (version 0x0002, every cipher kind, no session id, a 16-byte challenge).
pub fn client_hello(challenge: &[u8; 16]) -> Vec<u8> {
    let mut body = vec![CLIENT_HELLO, 0x00, 0x02];
    body.extend_from_slice(&((CIPHER_KINDS.len() * 3) as u16).to_be_bytes());
    body.extend_from_slice(&0u16.to_be_bytes());
    body.extend_from_slice(&(challenge.len() as u16).to_be_bytes());
    for (kind, _) in CIPHER_KINDS {
        body.extend_from_slice(kind);
    }
    body.extend_from_slice(challenge);
    let mut record = (0x8000u16 | body.len() as u16).to_be_bytes().to_vec();
    record.extend_from_slice(&body);
    record
}

/// A parsed SERVER-HELLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub version: u16,
    pub session_id_hit: bool,
    pub certificate_type: u8,
    pub certificate: Vec<u8>,
    pub cipher_specs: Vec<[u8; 3]>,
    pub connection_id: Vec<u8>,
}

/// What the server answered to the CLIENT-HELLO.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    ServerHello(ServerHello),
    /// An SSLv2 ERROR message (e.g. 0x0001 NO-CIPHER-ERROR).
    Error { code: u16 },
    /// A TLS record (the server speaks TLS, not SSLv2).
    Tls { first_bytes: Vec<u8> },
    /// Closed or reset after reading the hello.
    Closed { why: String },
    /// Silence, or bytes that are neither SSLv2 nor TLS.
    NoConclusion { why: String },
}

/// The length of the SSLv2 record starting at `b` and its header size, if the header is there.
fn record_len(b: &[u8]) -> Option<(usize, usize)> {
    match b {
        [h, l, ..] if h & 0x80 != 0 => Some((((*h as usize & 0x7f) << 8) | *l as usize, 2)),
        [h, l, _, ..] => Some((((*h as usize & 0x3f) << 8) | *l as usize, 3)),
        _ => None,
    }
}

/// Parse one SSLv2 record holding a SERVER-HELLO or an ERROR.
pub fn parse(b: &[u8]) -> Result<Reply, String> {
    let (len, head) = record_len(b).ok_or("shorter than an SSLv2 record header")?;
    let body = b.get(head..head + len).ok_or_else(|| format!("SSLv2 record of {len} bytes cut short at {}", b.len().saturating_sub(head)))?;
    let u16at = |i: usize| body.get(i..i + 2).map(|x| u16::from_be_bytes([x[0], x[1]])).ok_or_else(|| format!("SERVER-HELLO cut short at byte {i}"));
    match body.first() {
        Some(&ERROR) => Ok(Reply::Error { code: u16at(1)? }),
        Some(&SERVER_HELLO) => {
            let (hit, cert_type) = (*body.get(1).ok_or("SERVER-HELLO cut short")? != 0, *body.get(2).ok_or("SERVER-HELLO cut short")?);
            let version = u16at(3)?;
            let (cert_len, specs_len, id_len) = (u16at(5)? as usize, u16at(7)? as usize, u16at(9)? as usize);
            if specs_len % 3 != 0 {
                return Err(format!("cipher specs length {specs_len} is not a multiple of 3"));
            }
            let rest = &body[11..];
            if rest.len() < cert_len + specs_len + id_len {
                return Err(format!("SERVER-HELLO declares {} bytes of certificate, cipher specs and connection id, holds {}", cert_len + specs_len + id_len, rest.len()));
            }
            let certificate = rest[..cert_len].to_vec();
            let cipher_specs = rest[cert_len..cert_len + specs_len].chunks(3).map(|c| [c[0], c[1], c[2]]).collect();
            let connection_id = rest[cert_len + specs_len..cert_len + specs_len + id_len].to_vec();
            Ok(Reply::ServerHello(ServerHello { version, session_id_hit: hit, certificate_type: cert_type, certificate, cipher_specs, connection_id }))
        }
        Some(t) => Err(format!("SSLv2 message type {t}, neither SERVER-HELLO (4) nor ERROR (0)")),
        None => Err("empty SSLv2 record".into()),
    }
}

pub fn cipher_name(kind: [u8; 3]) -> String {
    CIPHER_KINDS.iter().find(|(k, _)| *k == kind).map(|(_, n)| n.to_string()).unwrap_or_else(|| format!("0x{:02x}{:02x}{:02x}", kind[0], kind[1], kind[2]))
}

/// Send the CLIENT-HELLO to `addr` and read the answer within `timeout`.
pub fn exchange(addr: SocketAddr, timeout: Duration) -> Reply {
    let until = Instant::now() + timeout;
    let mut s = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(e) => return Reply::NoConclusion { why: format!("connect failed: {e}") },
    };
    let _ = s.set_write_timeout(Some(timeout));
    if let Err(e) = s.write_all(&client_hello(&rand::random())) {
        return Reply::Closed { why: format!("sending the CLIENT-HELLO failed: {e}") };
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if got.len() >= 2 && (20..=24).contains(&got[0]) && got[1] == 3 {
            return Reply::Tls { first_bytes: got[..got.len().min(8)].to_vec() };
        }
        if let Some((len, head)) = record_len(&got) {
            if got.len() >= head + len {
                return parse(&got).unwrap_or_else(|why| Reply::NoConclusion { why: format!("{why} (first bytes {:02x?})", &got[..got.len().min(8)]) });
            }
        }
        let Some(left) = until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else {
            return Reply::NoConclusion { why: format!("no complete answer within {} ms ({} bytes)", timeout.as_millis(), got.len()) };
        };
        let _ = s.set_read_timeout(Some(left));
        match s.read(&mut buf) {
            Ok(0) if got.is_empty() => return Reply::Closed { why: "closed the connection after the CLIENT-HELLO".into() },
            Ok(0) => return Reply::NoConclusion { why: format!("closed after {} bytes of an answer", got.len()) },
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && got.is_empty() => return Reply::Closed { why: "reset the connection after the CLIENT-HELLO".into() },
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return Reply::NoConclusion { why: format!("no answer within {} ms", timeout.as_millis()) },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Reply::NoConclusion { why: format!("read failed: {e}") },
        }
    }
}

/// SSLv2 on one TLS service: offered or not, with the cipher kinds the SERVER-HELLO lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sslv2Probe {
    #[serde(flatten)]
    pub offer: Offer,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ciphers: Vec<String>,
}

/// Judge a reply on positive evidence only.
pub fn judge(reply: &Reply) -> Sslv2Probe {
    let (offer, ciphers) = match reply {
        Reply::ServerHello(h) => {
            let ciphers: Vec<String> = h.cipher_specs.iter().map(|&k| cipher_name(k)).collect();
            (Offer::Offered { evidence: format!("SSLv2 SERVER-HELLO (version 0x{:04x}, {} certificate bytes) listing {}", h.version, h.certificate.len(), if ciphers.is_empty() { "no cipher kind".to_string() } else { ciphers.join(", ") }) }, ciphers)
        }
        Reply::Error { code } => (Offer::NotOffered { evidence: format!("SSLv2 ERROR 0x{code:04x}") }, vec![]),
        Reply::Tls { first_bytes } => (Offer::NotOffered { evidence: format!("answered with a TLS record ({first_bytes:02x?})") }, vec![]),
        Reply::Closed { why } => (Offer::NotOffered { evidence: format!("{why}, without a SERVER-HELLO") }, vec![]),
        Reply::NoConclusion { why } => (Offer::Unknown { why: why.clone() }, vec![]),
    };
    Sslv2Probe { offer, ciphers }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_hello_has_the_sslv2_layout() {
        let h = client_hello(&[0xab; 16]);
        // 2-byte header, high bit set, length 9 + 21 + 16 = 46.
        assert_eq!(&h[..2], &[0x80, 46]);
        assert_eq!(&h[2..11], &[1, 0x00, 0x02, 0, 21, 0, 0, 0, 16]);
        assert_eq!(&h[11..14], &[0x01, 0x00, 0x80]);
        assert_eq!(&h[h.len() - 16..], &[0xab; 16]);
        assert_eq!(h.len(), 48);
    }

    #[test]
    fn server_hello_and_error_parse() {
        // SERVER-HELLO by hand: hit 0, X.509 (1), version 0x0002, cert 3 bytes, 2 cipher kinds, 16-byte connection id.
        let mut b = vec![0x80, 11 + 3 + 6 + 16, 4, 0, 1, 0x00, 0x02, 0, 3, 0, 6, 0, 16, 0x30, 0x01, 0x00, 0x01, 0x00, 0x80, 0x07, 0x00, 0xc0];
        b.extend_from_slice(&[0x5a; 16]);
        let Reply::ServerHello(h) = parse(&b).unwrap() else { panic!() };
        assert_eq!((h.version, h.certificate_type, h.certificate.as_slice(), h.connection_id.len()), (2, 1, &[0x30, 0x01, 0x00][..], 16));
        assert_eq!(h.cipher_specs.iter().map(|&k| cipher_name(k)).collect::<Vec<_>>(), ["SSL_CK_RC4_128_WITH_MD5", "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"]);
        assert!(matches!(judge(&Reply::ServerHello(h)).offer, Offer::Offered { .. }));
        assert_eq!(parse(&[0x80, 3, 0, 0, 1]).unwrap(), Reply::Error { code: 1 });
        assert!(parse(&b[..20]).is_err(), "cut short");
        assert!(matches!(judge(&Reply::NoConclusion { why: "x".into() }).offer, Offer::Unknown { .. }));
    }
}
