//! TLS without OpenSSL: hand-built ClientHellos (SSLv3 to TLS 1.3), replies
//! parsed with tls-parser, cipher suites enumerated by remove-and-repeat, the
//! certificate read from the plaintext handshake (up to TLS 1.2) or through a
//! real TLS 1.3 handshake (rustls, no verification: the certificate is what is
//! examined, not trusted).
//!
//! Only positive evidence counts: a version is offered when the ServerHello
//! names it (TLS 1.3: `supported_versions` = 0x0304, or a HelloRetryRequest),
//! not offered when the server answers with an alert or a lower version, and
//! unknown when it closes, resets or stays silent.
//!
//! TLS 1.2 is asked in both [`HelloForm`]s: the legacy one (`legacy_version`
//! 0x0303, no `supported_versions`) and, when that gets no TLS 1.2 ServerHello,
//! one whose `supported_versions` lists TLS 1.2 alone (how every TLS 1.3-capable
//! client asks; tlslite-ng 0.8.2 under `--max-ver tls1.0` negotiates TLS 1.2
//! only that way). Offered if either form negotiates it, not offered only when
//! both are refused; the version's `hello` says which form the state rests on.

use crate::scan::Budget;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use tls_parser::{TlsCipherAu, TlsCipherEnc, TlsCipherKx, TlsCipherMac, TlsCipherSuite, TlsExtension, TlsMessage, TlsMessageHandshake};

/// The protocol versions probed, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "SSLv3")]
    Ssl3,
    #[serde(rename = "TLSv1.0")]
    Tls10,
    #[serde(rename = "TLSv1.1")]
    Tls11,
    #[serde(rename = "TLSv1.2")]
    Tls12,
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl TlsVersion {
    pub const ALL: [TlsVersion; 5] = [TlsVersion::Ssl3, TlsVersion::Tls10, TlsVersion::Tls11, TlsVersion::Tls12, TlsVersion::Tls13];

    pub fn wire(self) -> u16 {
        match self {
            TlsVersion::Ssl3 => 0x0300,
            TlsVersion::Tls10 => 0x0301,
            TlsVersion::Tls11 => 0x0302,
            TlsVersion::Tls12 => 0x0303,
            TlsVersion::Tls13 => 0x0304,
        }
    }

    pub fn from_wire(v: u16) -> Option<TlsVersion> {
        TlsVersion::ALL.into_iter().find(|x| x.wire() == v)
    }

    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::Ssl3 => "SSLv3",
            TlsVersion::Tls10 => "TLSv1.0",
            TlsVersion::Tls11 => "TLSv1.1",
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        }
    }

    /// SSLv3 (RFC 7568), TLS 1.0 and 1.1 (RFC 8996) are deprecated.
    pub fn legacy(self) -> bool {
        self < TlsVersion::Tls12
    }
}

/// How a ClientHello asks for its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HelloForm {
    /// `legacy_version` names the version, no `supported_versions` extension (RFC 5246).
    #[default]
    LegacyVersion,
    /// `supported_versions` lists the version alone (RFC 8446 4.2.1), `legacy_version` at most 0x0303.
    SupportedVersions,
}

impl HelloForm {
    pub fn name(self) -> &'static str {
        match self {
            HelloForm::LegacyVersion => "the legacy-version ClientHello",
            HelloForm::SupportedVersions => "the ClientHello with supported_versions",
        }
    }
}

/// Whether a version is offered, with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum Offer {
    Offered { evidence: String },
    NotOffered { evidence: String },
    Unknown { why: String },
}

/// What the server answered to one ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloReply {
    /// A ServerHello: the negotiated version (from `supported_versions` when present) and suite.
    ServerHello { version: u16, cipher: u16, retry_request: bool, certificates: Vec<Vec<u8>> },
    Alert { level: u8, description: u8 },
    /// Bytes that are not a TLS record.
    NotTls { first_bytes: Vec<u8> },
    /// Closed, reset or silent.
    NoAnswer { why: String },
}

/// SHA-256("HelloRetryRequest"): the ServerHello.random of a HelloRetryRequest (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c];
/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV.
const SCSV: u16 = 0x00ff;
/// Suites per ClientHello when enumerating (nmap's CHUNK_SIZE).
pub const CHUNK: usize = 64;
/// At most this many handshakes per version when enumerating suites.
const MAX_ENUMERATION_HELLOS: usize = 200;

/// Every suite tls-parser knows that TLS 1.0–1.2 can negotiate, sorted by id.
pub fn legacy_suites() -> Vec<u16> {
    let mut v: Vec<u16> = tls_parser::CIPHERS.keys().copied().filter(|&id| id >> 8 != 0x13 && id != SCSV && id != 0x5600).collect();
    v.sort_unstable();
    v
}

pub const TLS13_SUITES: [u16; 5] = [0x1301, 0x1302, 0x1303, 0x1304, 0x1305];

/// Why a suite is weak, or `None`.
pub fn weakness(id: u16) -> Option<&'static str> {
    let c = TlsCipherSuite::from_id(id)?;
    if c.name.contains("EXPORT") {
        Some("EXPORT")
    } else if c.enc == TlsCipherEnc::Null {
        Some("NULL encryption")
    } else if c.au == TlsCipherAu::Null && !matches!(c.kx, TlsCipherKx::Psk | TlsCipherKx::Tls13 | TlsCipherKx::Null) {
        Some("anonymous key exchange")
    } else if c.enc == TlsCipherEnc::Rc4 {
        Some("RC4")
    } else if c.enc == TlsCipherEnc::Des {
        Some("DES")
    } else if c.enc == TlsCipherEnc::TripleDes {
        Some("3DES")
    } else {
        None
    }
}

/// Whether `id` is a CBC suite authenticated with HMAC-SHA1.
pub fn cbc_sha1(id: u16) -> bool {
    TlsCipherSuite::from_id(id).is_some_and(|c| c.mac == TlsCipherMac::HmacSha1 && weakness(id).is_none() && c.enc_block_size() > 0)
}

pub fn suite_name(id: u16) -> String {
    TlsCipherSuite::from_id(id).map(|c| c.name.to_string()).unwrap_or_else(|| format!("0x{id:04x}"))
}

fn u16be(v: &mut Vec<u8>, x: usize) {
    v.extend_from_slice(&(x as u16).to_be_bytes());
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    u16be(out, body.len());
    out.extend_from_slice(body);
}

/// A ClientHello record asking for `version` with `suites` in its usual form (TLS 1.3:
/// `supported_versions`, older: `legacy_version`); `server_name` adds SNI.
pub fn client_hello(version: TlsVersion, suites: &[u16], server_name: Option<&str>) -> Vec<u8> {
    let form = if version == TlsVersion::Tls13 { HelloForm::SupportedVersions } else { HelloForm::LegacyVersion };
    client_hello_as(version, form, suites, server_name)
}

/// A ClientHello record asking for `version` in `form` (SSLv3 has no extensions, TLS 1.3 no
/// legacy form: both keep their only one).
pub fn client_hello_as(version: TlsVersion, form: HelloForm, suites: &[u16], server_name: Option<&str>) -> Vec<u8> {
    let form = match version {
        TlsVersion::Ssl3 => HelloForm::LegacyVersion,
        TlsVersion::Tls13 => HelloForm::SupportedVersions,
        _ => form,
    };
    let mut body = Vec::new();
    let legacy = version.wire().min(0x0303);
    body.extend_from_slice(&legacy.to_be_bytes());
    body.extend((0..32).map(|_| rand::random::<u8>()));
    if version == TlsVersion::Tls13 {
        body.push(32);
        body.extend((0..32).map(|_| rand::random::<u8>()));
    } else {
        body.push(0);
    }
    let mut list: Vec<u16> = suites.to_vec();
    if version != TlsVersion::Tls13 {
        list.push(SCSV);
    }
    u16be(&mut body, list.len() * 2);
    for s in list {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression: null only
    if version != TlsVersion::Ssl3 {
        let mut ext = Vec::new();
        if let Some(name) = server_name {
            let mut sni = Vec::new();
            u16be(&mut sni, name.len() + 3);
            sni.push(0);
            u16be(&mut sni, name.len());
            sni.extend_from_slice(name.as_bytes());
            extension(&mut ext, 0x0000, &sni);
        }
        // supported_groups: x25519, P-256, P-384, P-521, ffdhe2048
        extension(&mut ext, 0x000a, &[0, 10, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19, 0x01, 0x00]);
        extension(&mut ext, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
        // signature_algorithms: ecdsa p256/p384 sha256/384, rsa-pss sha256/384/512, rsa pkcs1 sha256/384/512, ed25519, rsa-sha1, ecdsa-sha1
        let algs: [u16; 12] = [0x0403, 0x0503, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0807, 0x0201, 0x0203, 0x0603];
        let mut sa = Vec::new();
        u16be(&mut sa, algs.len() * 2);
        for a in algs {
            sa.extend_from_slice(&a.to_be_bytes());
        }
        extension(&mut ext, 0x000d, &sa);
        if form == HelloForm::SupportedVersions {
            let [hi, lo] = version.wire().to_be_bytes();
            extension(&mut ext, 0x002b, &[2, hi, lo]); // supported_versions: this version only
        }
        if version == TlsVersion::Tls13 {
            extension(&mut ext, 0x002d, &[1, 1]); // psk_key_exchange_modes: psk_dhe_ke
            let mut ks = Vec::new();
            u16be(&mut ks, 36);
            ks.extend_from_slice(&[0x00, 0x1d, 0x00, 0x20]);
            // Any 32 bytes: the handshake is never completed, so no private key is needed.
            ks.extend((0..32).map(|_| rand::random::<u8>()));
            extension(&mut ext, 0x0033, &ks);
        }
        // RFC 7685: some stacks hang on hellos of 256-511 bytes; pad those to 512.
        let len = 4 + body.len() + 2 + ext.len();
        if (256..512).contains(&len) {
            let pad = 512 - len - 4;
            extension(&mut ext, 0x0015, &vec![0; pad]);
        }
        u16be(&mut body, ext.len());
        body.extend_from_slice(&ext);
    }
    let mut hs = vec![1u8];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let record_version: u16 = if version == TlsVersion::Ssl3 { 0x0300 } else { 0x0301 };
    let mut rec = vec![0x16];
    rec.extend_from_slice(&record_version.to_be_bytes());
    u16be(&mut rec, hs.len());
    rec.extend_from_slice(&hs);
    rec
}

fn read_exact_by(s: &mut TcpStream, buf: &mut [u8], until: Instant) -> Result<(), String> {
    let mut got = 0;
    while got < buf.len() {
        let left = until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()).ok_or("no complete answer in time")?;
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match s.read(&mut buf[got..]) {
            Ok(0) => return Err(if got == 0 { "connection closed".into() } else { format!("connection closed after {got} of {} bytes", buf.len()) }),
            Ok(n) => got += n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return Err("no complete answer in time".into()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read failed: {e}")),
        }
    }
    Ok(())
}

/// Send `hello` on a new connection to `addr` and read the reply (ServerHello up to
/// ServerHelloDone, or the first alert) within `timeout`.
pub fn exchange(addr: SocketAddr, hello: &[u8], timeout: Duration) -> HelloReply {
    let until = Instant::now() + timeout;
    let mut s = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(e) => return HelloReply::NoAnswer { why: format!("connect failed: {e}") },
    };
    let _ = s.set_write_timeout(Some(timeout));
    if let Err(e) = s.write_all(hello) {
        return HelloReply::NoAnswer { why: format!("sending the ClientHello failed: {e}") };
    }
    let mut hs = Vec::new();
    let mut hello_seen: Option<(u16, u16, bool)> = None;
    let mut certificates = Vec::new();
    for _ in 0..64 {
        let mut head = [0u8; 5];
        if let Err(why) = read_exact_by(&mut s, &mut head, until) {
            return match hello_seen {
                Some((version, cipher, retry_request)) => HelloReply::ServerHello { version, cipher, retry_request, certificates },
                None => HelloReply::NoAnswer { why },
            };
        }
        if !(20..=24).contains(&head[0]) || head[1] != 3 {
            return HelloReply::NotTls { first_bytes: head.to_vec() };
        }
        let len = u16::from_be_bytes([head[3], head[4]]) as usize;
        let mut frag = vec![0u8; len];
        if let Err(why) = read_exact_by(&mut s, &mut frag, until) {
            return HelloReply::NoAnswer { why: format!("record cut short: {why}") };
        }
        match head[0] {
            21 if len >= 2 && hello_seen.is_none() => return HelloReply::Alert { level: frag[0], description: frag[1] },
            22 => hs.extend_from_slice(&frag),
            _ => {}
        }
        // Complete handshake messages.
        while hs.len() >= 4 {
            let mlen = u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize;
            if hs.len() < 4 + mlen {
                break;
            }
            let msg: Vec<u8> = hs.drain(..4 + mlen).collect();
            match tls_parser::parse_tls_message_handshake(&msg) {
                Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) => {
                    let mut version = sh.version.0;
                    if let Some(ext) = sh.ext {
                        if let Ok((_, exts)) = tls_parser::parse_tls_server_hello_extensions(ext) {
                            for e in exts {
                                if let TlsExtension::SupportedVersions(v) = e {
                                    if let Some(first) = v.first() {
                                        version = first.0;
                                    }
                                }
                            }
                        }
                    }
                    let retry_request = sh.random == HRR_RANDOM;
                    hello_seen = Some((version, sh.cipher.0, retry_request));
                    // From TLS 1.3 on the rest of the handshake is encrypted.
                    if version == 0x0304 || retry_request {
                        return HelloReply::ServerHello { version, cipher: sh.cipher.0, retry_request, certificates };
                    }
                }
                Ok((_, TlsMessage::Handshake(TlsMessageHandshake::HelloRetryRequest(h)))) => {
                    return HelloReply::ServerHello { version: 0x0304, cipher: h.cipher.0, retry_request: true, certificates };
                }
                Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)))) => {
                    certificates = c.cert_chain.iter().map(|c| c.data.to_vec()).collect();
                }
                Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerDone(_)))) => {
                    if let Some((version, cipher, retry_request)) = hello_seen {
                        return HelloReply::ServerHello { version, cipher, retry_request, certificates };
                    }
                }
                _ => {}
            }
        }
    }
    match hello_seen {
        Some((version, cipher, retry_request)) => HelloReply::ServerHello { version, cipher, retry_request, certificates },
        None => HelloReply::NoAnswer { why: "no ServerHello in 64 records".into() },
    }
}

/// One version's verdict from one ClientHello.
pub fn judge(asked: TlsVersion, reply: &HelloReply) -> Offer {
    match reply {
        HelloReply::ServerHello { retry_request: true, .. } if asked == TlsVersion::Tls13 => Offer::Offered { evidence: "HelloRetryRequest for TLS 1.3".into() },
        HelloReply::ServerHello { version, cipher, .. } if *version == asked.wire() => Offer::Offered { evidence: format!("ServerHello {} with {}", asked.name(), suite_name(*cipher)) },
        HelloReply::ServerHello { version, .. } => Offer::NotOffered { evidence: format!("answered with a ServerHello for {}", TlsVersion::from_wire(*version).map(TlsVersion::name).map(str::to_string).unwrap_or_else(|| format!("version 0x{version:04x}"))) },
        HelloReply::Alert { description, .. } => Offer::NotOffered { evidence: format!("alert {description} ({})", alert_name(*description)) },
        HelloReply::NotTls { first_bytes } => Offer::Unknown { why: format!("the answer is not TLS (first bytes {first_bytes:02x?})") },
        HelloReply::NoAnswer { why } => Offer::Unknown { why: why.clone() },
    }
}

pub fn alert_name(d: u8) -> &'static str {
    match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        40 => "handshake_failure",
        47 => "illegal_parameter",
        50 => "decode_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        112 => "unrecognized_name",
        _ => "other",
    }
}

/// One version's probe: whether offered, and the suites accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionProbe {
    pub version: TlsVersion,
    #[serde(flatten)]
    pub offer: Offer,
    /// The ClientHello form the state rests on (and the suites were enumerated with):
    /// the one that negotiated the version, else the last one tried.
    #[serde(default)]
    pub hello: HelloForm,
    /// Suites the server picked, by IANA name, in the order found.
    pub suites: Vec<String>,
    /// Why the suite list may be incomplete (a chunk without an answer, the limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suites_incomplete: Option<String>,
    #[serde(skip)]
    pub suite_ids: Vec<u16>,
}

/// Everything found on one TLS service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlsReport {
    pub versions: Vec<VersionProbe>,
    /// The server's end-entity certificate (DER, hex) and how it was obtained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_der_hex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_source: Option<String>,
    /// Why no certificate was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_missing: Option<String>,
    /// How many ClientHellos were sent.
    pub hellos: usize,
    /// The SSLv2 CLIENT-HELLO's answer (its own record format, [`crate::sslv2`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sslv2: Option<crate::sslv2::Sslv2Probe>,
}

impl TlsReport {
    pub fn offered(&self, v: TlsVersion) -> bool {
        self.versions.iter().any(|p| p.version == v && matches!(p.offer, Offer::Offered { .. }))
    }
}

/// Probe versions, suites and certificate of the TLS service at `addr`.
pub fn probe(addr: SocketAddr, step: Duration, budget: &Budget) -> TlsReport {
    let mut hellos = 0;
    let mut certificate: Option<(Vec<u8>, String)> = None;
    let mut versions = Vec::new();
    let all = legacy_suites();
    for v in TlsVersion::ALL {
        let suites: &[u16] = if v == TlsVersion::Tls13 { &TLS13_SUITES } else { &all };
        // TLS 1.2 in both forms, the second only when the first does not negotiate it.
        let forms: &[HelloForm] = match v {
            TlsVersion::Tls12 => &[HelloForm::LegacyVersion, HelloForm::SupportedVersions],
            TlsVersion::Tls13 => &[HelloForm::SupportedVersions],
            _ => &[HelloForm::LegacyVersion],
        };
        let mut answers: Vec<(HelloForm, Offer, HelloReply)> = Vec::new();
        for &form in forms {
            let Some(t) = budget.step(step) else {
                let reply = HelloReply::NoAnswer { why: format!("the probe's total budget was spent before {} was sent", form.name()) };
                answers.push((form, judge(v, &reply), reply));
                break;
            };
            let reply = exchange(addr, &client_hello_as(v, form, suites, None), t);
            hellos += 1;
            let offer = judge(v, &reply);
            let offered = matches!(offer, Offer::Offered { .. });
            answers.push((form, offer, reply));
            if offered {
                break;
            }
        }
        let (form, offer, reply) = decide(v, answers);
        if let (Offer::Offered { .. }, HelloReply::ServerHello { certificates, .. }) = (&offer, &reply) {
            if certificate.is_none() {
                if let Some(c) = certificates.first() {
                    certificate = Some((c.clone(), format!("plaintext Certificate message of the {} handshake", v.name())));
                }
            }
        }
        let mut p = VersionProbe { version: v, offer, hello: form, suites: vec![], suites_incomplete: None, suite_ids: vec![] };
        if matches!(p.offer, Offer::Offered { .. }) {
            hellos += enumerate(addr, v, form, suites, step, budget, &mut p);
        }
        versions.push(p);
    }
    let sslv2 = Some(match budget.step(step) {
        Some(t) => crate::sslv2::judge(&crate::sslv2::exchange(addr, t)),
        None => crate::sslv2::Sslv2Probe { offer: Offer::Unknown { why: "the probe's total budget was spent".into() }, ciphers: vec![] },
    });
    hellos += 1;
    let mut report = TlsReport { versions, certificate_der_hex: None, certificate_source: None, certificate_missing: None, hellos, sslv2 };
    if certificate.is_none() && report.offered(TlsVersion::Tls13) {
        match budget.step(step).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| tls13_certificate(addr, t)) {
            Ok(der) => certificate = Some((der, "TLS 1.3 handshake (rustls, certificate not verified)".into())),
            Err(why) => report.certificate_missing = Some(format!("TLS 1.3 handshake failed: {why}")),
        }
    }
    match certificate {
        Some((der, source)) => {
            report.certificate_der_hex = Some(hex(&der));
            report.certificate_source = Some(source);
        }
        None if report.certificate_missing.is_none() => {
            report.certificate_missing = Some(if report.versions.iter().any(|p| matches!(p.offer, Offer::Offered { .. })) { "the server sent no certificate (anonymous suites only?)".into() } else { "no version offered".into() })
        }
        None => {}
    }
    report
}

/// One version's state from the answers to its hello forms, in the order sent: offered on the
/// first form that negotiated it, not offered when every form was refused, else unknown.
/// Returns the form the state rests on and that form's reply.
pub fn decide(v: TlsVersion, answers: Vec<(HelloForm, Offer, HelloReply)>) -> (HelloForm, Offer, HelloReply) {
    if answers.len() < 2 {
        return answers.into_iter().next().unwrap_or((HelloForm::LegacyVersion, Offer::Unknown { why: "no ClientHello sent".into() }, HelloReply::NoAnswer { why: "no ClientHello sent".into() }));
    }
    let said = |form: HelloForm, o: &Offer| match o {
        Offer::Offered { evidence } | Offer::NotOffered { evidence } => format!("{}: {evidence}", form.name()),
        Offer::Unknown { why } => format!("{}: no conclusion ({why})", form.name()),
    };
    let (mut offered, mut others, mut refused, mut last) = (None, Vec::new(), true, None);
    for (form, offer, reply) in answers {
        match offer {
            Offer::Offered { evidence } if offered.is_none() => offered = Some((form, evidence, reply)),
            o => {
                refused &= matches!(o, Offer::NotOffered { .. });
                others.push(said(form, &o));
                last = Some((form, reply));
            }
        }
    }
    let others = others.join("; ");
    match (offered, last) {
        (Some((form, evidence, reply)), _) => (form, Offer::Offered { evidence: format!("{evidence} to {} ({others})", form.name()) }, reply),
        (None, Some((form, reply))) if refused => (form, Offer::NotOffered { evidence: others }, reply),
        (None, Some((form, reply))) => (form, Offer::Unknown { why: format!("{} not refused in every form: {others}", v.name()) }, reply),
        (None, None) => (HelloForm::LegacyVersion, Offer::Unknown { why: "no ClientHello sent".into() }, HelloReply::NoAnswer { why: "no ClientHello sent".into() }),
    }
}

/// Remove-and-repeat: offer the suites in chunks, drop each one the server picks, until it refuses the rest.
fn enumerate(addr: SocketAddr, v: TlsVersion, form: HelloForm, suites: &[u16], step: Duration, budget: &Budget, p: &mut VersionProbe) -> usize {
    let mut hellos = 0;
    for chunk in suites.chunks(CHUNK) {
        let mut left: Vec<u16> = chunk.to_vec();
        while !left.is_empty() {
            if hellos >= MAX_ENUMERATION_HELLOS {
                p.suites_incomplete = Some(format!("stopped after {MAX_ENUMERATION_HELLOS} ClientHellos"));
                return hellos;
            }
            let Some(t) = budget.step(step) else {
                p.suites_incomplete = Some("the probe's total budget was spent".into());
                return hellos;
            };
            hellos += 1;
            match exchange(addr, &client_hello_as(v, form, &left, None), t) {
                HelloReply::ServerHello { version, cipher, .. } if version == v.wire() && left.contains(&cipher) => {
                    left.retain(|&c| c != cipher);
                    p.suite_ids.push(cipher);
                    p.suites.push(suite_name(cipher));
                }
                HelloReply::Alert { .. } => break,
                HelloReply::ServerHello { version, cipher, .. } => {
                    p.suites_incomplete = Some(format!("the server answered a {} hello with version 0x{version:04x} and suite {}, not one offered", v.name(), suite_name(cipher)));
                    break;
                }
                HelloReply::NotTls { .. } | HelloReply::NoAnswer { .. } => {
                    p.suites_incomplete = Some(format!("a ClientHello with {} suites got no answer", left.len()));
                    break;
                }
            }
        }
    }
    hellos
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

#[derive(Debug)]
struct NoVerify(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(&self, _: &rustls::pki_types::CertificateDer<'_>, _: &[rustls::pki_types::CertificateDer<'_>], _: &rustls::pki_types::ServerName<'_>, _: &[u8], _: rustls::pki_types::UnixTime) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(&self, _: &[u8], _: &rustls::pki_types::CertificateDer<'_>, _: &rustls::DigitallySignedStruct) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(&self, _: &[u8], _: &rustls::pki_types::CertificateDer<'_>, _: &rustls::DigitallySignedStruct) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS 1.2/1.3 client session on `tcp` (the certificate is not verified), handshake done.
pub fn client(mut tcp: TcpStream, addr: SocketAddr, timeout: Duration) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, String> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(NoVerify(provider)))
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).map_err(|e| e.to_string())?;
    let _ = tcp.set_read_timeout(Some(timeout));
    let until = Instant::now() + timeout;
    while conn.is_handshaking() {
        if Instant::now() > until {
            return Err("TLS handshake not finished in time".into());
        }
        conn.complete_io(&mut tcp).map_err(|e| format!("TLS handshake failed: {e}"))?;
    }
    Ok(rustls::StreamOwned::new(conn, tcp))
}

/// The end-entity certificate of a TLS 1.3 server, through a real handshake.
pub fn tls13_certificate(addr: SocketAddr, timeout: Duration) -> Result<Vec<u8>, String> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(NoVerify(provider)))
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let mut conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect failed: {e}"))?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    let until = Instant::now() + timeout;
    while conn.is_handshaking() {
        if Instant::now() > until {
            return Err("handshake not finished in time".into());
        }
        conn.complete_io(&mut s).map_err(|e| e.to_string())?;
    }
    conn.peer_certificates().and_then(|c| c.first()).map(|c| c.as_ref().to_vec()).ok_or_else(|| "the server sent no certificate".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_built_hellos_parse_as_what_they_ask() {
        for v in TlsVersion::ALL {
            let suites: &[u16] = if v == TlsVersion::Tls13 { &TLS13_SUITES } else { &[0xc02f, 0x002f] };
            let rec = client_hello(v, suites, Some("cam.example"));
            let (rest, plain) = tls_parser::parse_tls_plaintext(&rec).unwrap();
            assert!(rest.is_empty());
            let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = &plain.msg[0] else { panic!("{v:?}") };
            assert_eq!(ch.version.0, if v == TlsVersion::Tls13 { 0x0303 } else { v.wire() });
            let ids: Vec<u16> = ch.ciphers.iter().map(|c| c.0).collect();
            assert_eq!(&ids[..suites.len()], suites);
            let ext = tls_parser::parse_tls_client_hello_extensions(ch.ext.unwrap_or(&[])).map(|(_, e)| e).unwrap_or_default();
            let versions = ext.iter().find_map(|e| if let TlsExtension::SupportedVersions(v) = e { Some(v.iter().map(|x| x.0).collect::<Vec<_>>()) } else { None });
            assert_eq!(versions, (v == TlsVersion::Tls13).then(|| vec![0x0304]), "{v:?}");
            if v == TlsVersion::Ssl3 {
                assert!(ch.ext.is_none(), "SSLv3 hellos carry no extensions");
            }
            let len = rec.len() - 5;
            assert!(!(256..512).contains(&len), "{v:?}: {len} bytes is in the F5 hang range");
        }
    }

    #[test]
    fn tls12_hello_with_supported_versions_lists_tls12_alone() {
        let rec = client_hello_as(TlsVersion::Tls12, HelloForm::SupportedVersions, &[0x002f], None);
        let (_, plain) = tls_parser::parse_tls_plaintext(&rec).unwrap();
        let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = &plain.msg[0] else { panic!() };
        assert_eq!(ch.version.0, 0x0303);
        let ext = tls_parser::parse_tls_client_hello_extensions(ch.ext.unwrap()).unwrap().1;
        let versions = ext.iter().find_map(|e| if let TlsExtension::SupportedVersions(v) = e { Some(v.iter().map(|x| x.0).collect::<Vec<_>>()) } else { None });
        assert_eq!(versions, Some(vec![0x0303]));
        assert!(!ext.iter().any(|e| matches!(e, TlsExtension::KeyShare(_))), "no TLS 1.3 key share in a TLS 1.2 hello");
        assert!(!(256..512).contains(&(rec.len() - 5)));
    }

    /// A stand-in for tlslite-ng 0.8.2 under `--max-ver tls1.0`: a hello without
    /// `supported_versions` gets at most TLS 1.0, one whose `supported_versions` lists 0x0303
    /// gets TLS 1.2; the suites it accepts are `accepted`, others get handshake_failure.
    fn tls12_only_via_supported_versions(accepted: &'static [u16]) -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for mut s in l.incoming().flatten() {
                let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                let mut head = [0u8; 5];
                if s.read_exact(&mut head).is_err() || head[0] != 0x16 {
                    continue;
                }
                let mut rec = head.to_vec();
                rec.resize(5 + u16::from_be_bytes([head[3], head[4]]) as usize, 0);
                if s.read_exact(&mut rec[5..]).is_err() {
                    continue;
                }
                let Ok((_, plain)) = tls_parser::parse_tls_plaintext(&rec) else { continue };
                let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = &plain.msg[0] else { continue };
                let ext = ch.ext.and_then(|e| tls_parser::parse_tls_client_hello_extensions(e).ok()).map(|(_, e)| e).unwrap_or_default();
                let listed = ext.iter().find_map(|e| if let TlsExtension::SupportedVersions(v) = e { Some(v.iter().map(|x| x.0).collect::<Vec<u16>>()) } else { None });
                let version = match listed {
                    Some(v) if v.contains(&0x0303) => Some(0x0303),
                    Some(_) => None,
                    None => Some(ch.version.0.min(0x0301)),
                };
                let suite = ch.ciphers.iter().map(|c| c.0).find(|c| accepted.contains(c));
                let reply = match (version, suite) {
                    (None, _) => vec![0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 70],
                    (_, None) => vec![0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 40],
                    (Some(v), Some(c)) => {
                        let mut sh = v.to_be_bytes().to_vec();
                        sh.extend_from_slice(&[0x42; 32]);
                        sh.push(0);
                        sh.extend_from_slice(&c.to_be_bytes());
                        sh.push(0);
                        let mut hs = vec![2, 0, 0, sh.len() as u8];
                        hs.extend_from_slice(&sh);
                        hs.extend_from_slice(&[14, 0, 0, 0]); // ServerHelloDone
                        let mut r = vec![0x16, (v >> 8) as u8, v as u8];
                        r.extend_from_slice(&(hs.len() as u16).to_be_bytes());
                        r.extend_from_slice(&hs);
                        r
                    }
                };
                let _ = s.write_all(&reply);
            }
        });
        addr
    }

    /// Issue (TLS 1.2 probe without supported_versions): tlslite-ng negotiates TLS 1.2 only for
    /// a hello that lists it in supported_versions; before, aite sent the legacy form alone and
    /// reported "not offered" where testssl.sh (and any browser) gets TLS 1.2.
    #[test]
    fn tls12_offered_through_supported_versions_only() {
        const ACCEPTED: &[u16] = &[0x0005, 0x000a, 0x002f];
        let addr = tls12_only_via_supported_versions(ACCEPTED);
        // 30 s per step only bounds a hang: every hello here gets an answer or a close at once.
        let r = probe(addr, Duration::from_secs(30), &Budget::new(Duration::from_secs(600)));
        let v = |x: TlsVersion| r.versions.iter().find(|p| p.version == x).unwrap();
        let tls12 = v(TlsVersion::Tls12);
        let Offer::Offered { evidence } = &tls12.offer else { panic!("TLS 1.2: {tls12:?}") };
        assert_eq!(tls12.hello, HelloForm::SupportedVersions, "{tls12:?}");
        assert!(evidence.contains("supported_versions") && evidence.contains("legacy-version ClientHello: answered with a ServerHello for TLSv1.0"), "{evidence}");
        // The suites were enumerated with the hello form that negotiated TLS 1.2.
        let mut suites = tls12.suite_ids.clone();
        suites.sort_unstable();
        assert_eq!((suites.as_slice(), tls12.suites_incomplete.as_deref()), (ACCEPTED, None), "{tls12:?}");
        let tls10 = v(TlsVersion::Tls10);
        assert!(matches!(tls10.offer, Offer::Offered { .. }) && tls10.hello == HelloForm::LegacyVersion, "{tls10:?}");
        assert!(matches!(v(TlsVersion::Tls11).offer, Offer::NotOffered { .. }), "{:?}", v(TlsVersion::Tls11));
        assert!(matches!(v(TlsVersion::Tls13).offer, Offer::NotOffered { .. }), "{:?}", v(TlsVersion::Tls13));
        let json = serde_json::to_value(tls12).unwrap();
        assert_eq!((json["state"].as_str(), json["hello"].as_str()), (Some("offered"), Some("supported-versions")), "{json}");
    }

    #[test]
    fn tls12_not_offered_only_when_both_forms_are_refused() {
        let refused = |form| (form, Offer::NotOffered { evidence: "alert 70 (protocol_version)".into() }, HelloReply::Alert { level: 2, description: 70 });
        let silent = |form| (form, Offer::Unknown { why: "connection closed".into() }, HelloReply::NoAnswer { why: "connection closed".into() });
        let (form, offer, _) = decide(TlsVersion::Tls12, vec![refused(HelloForm::LegacyVersion), refused(HelloForm::SupportedVersions)]);
        assert!(matches!(&offer, Offer::NotOffered { evidence } if evidence.contains("legacy-version") && evidence.contains("supported_versions")), "{offer:?}");
        assert_eq!(form, HelloForm::SupportedVersions);
        // A refusal of one form and no answer to the other: no conclusion, not "not offered".
        for answers in [vec![refused(HelloForm::LegacyVersion), silent(HelloForm::SupportedVersions)], vec![silent(HelloForm::LegacyVersion), refused(HelloForm::SupportedVersions)]] {
            let (_, offer, _) = decide(TlsVersion::Tls12, answers);
            assert!(matches!(&offer, Offer::Unknown { why } if why.contains("connection closed")), "{offer:?}");
        }
        // One form alone: its own verdict, unannotated.
        let (form, offer, _) = decide(TlsVersion::Tls10, vec![refused(HelloForm::LegacyVersion)]);
        assert_eq!((form, offer), (HelloForm::LegacyVersion, Offer::NotOffered { evidence: "alert 70 (protocol_version)".into() }));
    }

    #[test]
    fn weak_suites_by_their_iana_names() {
        assert_eq!(weakness(0x0005), Some("RC4")); // TLS_RSA_WITH_RC4_128_SHA
        assert_eq!(weakness(0x000a), Some("3DES")); // TLS_RSA_WITH_3DES_EDE_CBC_SHA
        assert_eq!(weakness(0x0003), Some("EXPORT")); // TLS_RSA_EXPORT_WITH_RC4_40_MD5
        assert_eq!(weakness(0x0002), Some("NULL encryption")); // TLS_RSA_WITH_NULL_SHA
        assert_eq!(weakness(0x0034), Some("anonymous key exchange")); // TLS_DH_anon_WITH_AES_128_CBC_SHA
        assert_eq!(weakness(0xc02f), None); // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
        assert_eq!(weakness(0x1301), None);
        assert!(cbc_sha1(0x002f) && !cbc_sha1(0xc02f) && !cbc_sha1(0x000a));
        assert_eq!(suite_name(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    }

    #[test]
    fn replies_are_judged_on_positive_evidence_only() {
        let sh = |version| HelloReply::ServerHello { version, cipher: 0x002f, retry_request: false, certificates: vec![] };
        assert!(matches!(judge(TlsVersion::Tls11, &sh(0x0302)), Offer::Offered { .. }));
        assert!(matches!(judge(TlsVersion::Tls12, &sh(0x0301)), Offer::NotOffered { evidence } if evidence.contains("TLSv1.0")));
        assert!(matches!(judge(TlsVersion::Tls13, &sh(0x0303)), Offer::NotOffered { .. }), "a 1.2 ServerHello to a 1.3 hello");
        assert!(matches!(judge(TlsVersion::Tls13, &HelloReply::ServerHello { version: 0x0303, cipher: 0x1301, retry_request: true, certificates: vec![] }), Offer::Offered { .. }));
        assert!(matches!(judge(TlsVersion::Ssl3, &HelloReply::Alert { level: 2, description: 40 }), Offer::NotOffered { evidence } if evidence.contains("handshake_failure")));
        assert!(matches!(judge(TlsVersion::Tls10, &HelloReply::NoAnswer { why: "connection closed".into() }), Offer::Unknown { .. }));
    }
}
