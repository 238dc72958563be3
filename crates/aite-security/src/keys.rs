//! Keys and certificates shipped in the image.
//!
//! Every file (binaries included: keys compiled into a program are the worst
//! case) is searched for PEM blocks and OpenSSH keys; DER certificates are
//! read by extension. Each object is inventoried with its algorithm, size and
//! security strength in bits (NIST SP 800-57 Part 1 equivalences, the measure
//! EN 18031-1 CCK-1 uses with its 112-bit floor), and certificates with their
//! validity and whether they sign themselves.
//!
//! A private key in a firmware image is the same on every device built from
//! it, so any unencrypted one is a finding; an encrypted one is a lesser one
//! (its passphrase has to be somewhere on the device too). Key findings are keyed by
//! the object's fingerprint (SHA-256 of its encoding), so one file's keys stay apart.

use crate::examined::Ledger;
use crate::finding::Finding;
use crate::tree::Tree;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// EN 18031-1 CCK-1 / SP 800-57: the minimum security strength accepted.
pub const MIN_SECURITY_BITS: u32 = 112;

/// Files larger than this are not searched for embedded keys.
pub const MAX_SEARCH_BYTES: u64 = 64 << 20;

/// What kind of key material an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyObjectKind {
    PrivateKey,
    PublicKey,
    Certificate,
}

/// One key, public key or certificate found in the image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyObject {
    /// Path inside the image.
    pub path: String,
    /// Byte offset of the object inside the file.
    pub offset: u64,
    /// `sha256:<hex>` of the object's encoding: the DER a PEM block armours (the
    /// `openssh-key-v1` blob for OpenSSH keys; the armoured text itself when it does not
    /// decode), or the whole DER or dropbear file. It tells two keys of one file apart from
    /// release to release, where the offset moves; `None` when read from an older results.json.
    #[serde(default)]
    pub fingerprint: Option<String>,
    pub kind: KeyObjectKind,
    /// Encoding: `pem:<label>`, `openssh`, `der`.
    pub format: String,
    /// `rsa`, `dsa`, `ec:<curve>`, `ed25519`, ..., or `unknown`.
    pub algorithm: String,
    /// Key size in bits (modulus for RSA/DSA, field size for curves).
    pub bits: Option<u32>,
    /// Security strength in bits; `None` when it cannot be told (encrypted keys).
    pub security_bits: Option<u32>,
    /// A private key protected by a passphrase.
    pub encrypted: bool,
    /// Certificates: subject, issuer, validity (Unix seconds), CA flag.
    pub certificate: Option<CertificateFacts>,
    /// Where the object could not be parsed: why.
    pub error: Option<String>,
}

/// What a certificate says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateFacts {
    pub subject: String,
    pub issuer: String,
    pub not_before: i64,
    pub not_after: i64,
    pub is_ca: bool,
    /// Issuer equals subject (and the key identifiers, when present, agree).
    pub self_signed: bool,
    /// Found in a system trust store (CA bundle), where self-signed roots belong.
    pub trust_store: bool,
}

/// Inventory every key object in the tree.
pub fn inventory(tree: &Tree) -> Vec<KeyObject> {
    let mut out = Vec::new();
    for e in tree.files().filter(|e| e.size > 0 && e.size <= MAX_SEARCH_BYTES) {
        if let Some(bytes) = e.content.as_ref().and_then(|c| std::fs::read(c).ok()) {
            inventory_file(&e.path, &bytes, &mut out);
        }
    }
    out
}

/// The key objects of one file (`path` inside the image, `bytes` its content).
pub fn inventory_file(path: &str, bytes: &[u8], out: &mut Vec<KeyObject>) {
    if bytes.is_empty() || bytes.len() as u64 > MAX_SEARCH_BYTES {
        return;
    }
    let mut found = Vec::new();
    search(path, bytes, &mut found);
    // Programs carry PEM armour as format strings (key converters, TLS
    // libraries): inside an executable only a block that parses is a key.
    if bytes.starts_with(b"\x7fELF") {
        found.retain(|o| o.error.is_none());
    }
    let lower = path.to_ascii_lowercase();
    let der_by_name = [".der", ".cer", ".crt"].iter().any(|x| lower.ends_with(x));
    if found.is_empty() && der_by_name && bytes.first() == Some(&0x30) {
        found.extend(certificate(path, 0, "der", bytes));
    }
    // A whole file that is one DER private key (PKCS#1, PKCS#8, SEC1), whatever its name.
    if found.is_empty() && bytes.first() == Some(&0x30) && !bytes.starts_with(b"\x7fELF") {
        found.extend(der_private_key(path, bytes));
    }
    if found.is_empty() {
        found.extend(dropbear_key(path, bytes));
    }
    out.extend(found);
}

/// Findings from the inventory, with `now` (Unix seconds) deciding expiry.
pub fn findings(objects: &[KeyObject], tree: &Tree, now: i64, ledger: &mut Ledger) -> Vec<Finding> {
    let mut out = Vec::new();
    for o in objects {
        let subject = format!("{}@{}", o.path, o.offset);
        let trusted = o.certificate.as_ref().is_some_and(|c| c.trust_store);
        match (o.security_bits, trusted) {
            (_, true) => {}
            (Some(_), false) => ledger.examined(&["AITE-KEY-WEAK"], &subject),
            (None, false) => ledger.not_examined(&["AITE-KEY-WEAK"], &subject, o.error.clone().unwrap_or_else(|| format!("strength of {} {} keys unknown", o.format, o.algorithm))),
        }
        if o.kind == KeyObjectKind::Certificate && !trusted {
            if o.certificate.is_some() {
                ledger.examined(&["AITE-CERT-EXPIRED", "AITE-CERT-SELF-SIGNED"], &subject);
            } else {
                ledger.not_examined(&["AITE-CERT-EXPIRED", "AITE-CERT-SELF-SIGNED"], &subject, o.error.clone().unwrap_or_else(|| "certificate could not be parsed".into()));
            }
        }
        // Keyed by the object's fingerprint: one file may hold several keys of one algorithm,
        // whose messages are the same (the certificate rules key by the certificate's subject).
        let at = |f: Finding| {
            let f = f.at_offset(o.offset, describe(o));
            match &o.fingerprint {
                Some(k) => f.about(k.clone()),
                None => f,
            }
        };
        match o.kind {
            KeyObjectKind::PrivateKey if o.encrypted => {
                out.push(at(Finding::fail("AITE-KEY-PRIVATE-ENCRYPTED", &o.path, format!("{} holds a passphrase-protected private key ({})", o.path, o.format))));
            }
            KeyObjectKind::PrivateKey => {
                out.push(at(Finding::fail("AITE-KEY-PRIVATE", &o.path, format!("{} holds an unencrypted {} private key: every device built from this image shares it", o.path, o.algorithm))));
            }
            _ => {}
        }
        if let Some(s) = o.security_bits.filter(|&s| s < MIN_SECURITY_BITS) {
            let what = match o.kind {
                KeyObjectKind::Certificate => "certificate key",
                KeyObjectKind::PrivateKey => "private key",
                KeyObjectKind::PublicKey => "public key",
            };
            let trusted_root = o.certificate.as_ref().is_some_and(|c| c.trust_store);
            if !trusted_root {
                out.push(at(Finding::fail("AITE-KEY-WEAK", &o.path, format!("{} has a {what} of {} {} bits: {s}-bit security, below {MIN_SECURITY_BITS}", o.path, o.algorithm, o.bits.unwrap_or(0)))));
            }
        }
        if let Some(c) = &o.certificate {
            if c.trust_store {
                continue;
            }
            if c.not_after < now {
                out.push(at(Finding::fail("AITE-CERT-EXPIRED", &o.path, format!("{} holds a certificate for `{}` that expired at {}", o.path, c.subject, iso(c.not_after))).about(c.subject.clone())));
            } else if c.not_before > now {
                out.push(at(Finding::fail("AITE-CERT-EXPIRED", &o.path, format!("{} holds a certificate for `{}` not valid before {}", o.path, c.subject, iso(c.not_before))).about(c.subject.clone())));
            }
            if c.self_signed && !c.is_ca {
                out.push(at(Finding::fail("AITE-CERT-SELF-SIGNED", &o.path, format!("{} holds a self-signed end-entity certificate for `{}`", o.path, c.subject)).about(c.subject.clone())));
            }
        }
    }
    // authorized_keys shipped in the image: somebody's key opens every device.
    // Every file is examined by its name; an authorized_keys file also by its contents.
    for e in tree.files() {
        if !(e.path.ends_with(".ssh/authorized_keys") || e.path.ends_with(".ssh/authorized_keys2")) {
            ledger.examined(&["AITE-KEY-AUTHORIZED"], &e.path);
        } else {
            let Some(text) = tree.read(&e.path).map(|b| String::from_utf8_lossy(&b).into_owned()) else {
                ledger.not_examined(&["AITE-KEY-AUTHORIZED"], &e.path, "an authorized_keys file that could not be read");
                continue;
            };
            ledger.examined(&["AITE-KEY-AUTHORIZED"], &e.path);
            let keys: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
            if let Some(first) = keys.first() {
                let comment = first.split_whitespace().last().unwrap_or("");
                out.push(Finding::fail("AITE-KEY-AUTHORIZED", &e.path, format!("{} authorises {} key(s) for SSH login", e.path, keys.len())).at_line(1, format!("{} … {comment}", first.split_whitespace().next().unwrap_or(""))));
            }
        }
    }
    out
}

/// `sha256:<hex>` of an object's encoding ([`KeyObject::fingerprint`]).
fn fingerprint(encoding: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(encoding)))
}

fn describe(o: &KeyObject) -> String {
    let mut s = format!("{} {}", o.format, o.algorithm);
    if let Some(b) = o.bits {
        s.push_str(&format!(" {b} bits"));
    }
    if let Some(c) = &o.certificate {
        s.push_str(&format!(", subject `{}`, valid {} to {}", c.subject, iso(c.not_before), iso(c.not_after)));
    }
    s
}

/// `YYYY-MM-DD` for a Unix time (certificate dates; days are enough).
fn iso(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t).map(|d| d.date().to_string()).unwrap_or_else(|_| t.to_string())
}

/// Find PEM blocks anywhere in `bytes` (text files and binaries alike).
fn search(path: &str, bytes: &[u8], out: &mut Vec<KeyObject>) {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&bytes[from..], BEGIN) {
        let start = from + i;
        from = start + BEGIN.len();
        let Some(label_end) = memchr::memmem::find(&bytes[from..(from + 64).min(bytes.len())], b"-----") else { continue };
        let label = String::from_utf8_lossy(&bytes[from..from + label_end]).into_owned();
        let body_start = from + label_end + 5;
        let end_marker = format!("-----END {label}-----");
        let Some(j) = memchr::memmem::find(&bytes[body_start..(body_start + (1 << 20)).min(bytes.len())], end_marker.as_bytes()) else { continue };
        let body = &bytes[body_start..body_start + j];
        from = body_start + j + end_marker.len();
        if let Some(o) = pem_object(path, start as u64, &label, body) {
            out.push(o);
        }
    }
}

/// Decode one PEM body (headers skipped; RFC 7468 with RFC 1421 headers).
fn pem_object(path: &str, offset: u64, label: &str, body: &[u8]) -> Option<KeyObject> {
    let text = String::from_utf8_lossy(body);
    let legacy_encrypted = text.contains("Proc-Type: 4,ENCRYPTED");
    let b64: String = text.lines().filter(|l| !l.contains(':')).flat_map(|l| l.chars()).filter(|c| !c.is_whitespace() && *c != '\\' && *c != '"').collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64.as_bytes());
    let format = format!("pem:{}", label.to_ascii_lowercase().replace(' ', "-"));
    let fp = match &der {
        Ok(d) => fingerprint(d),
        Err(_) => fingerprint(b64.as_bytes()),
    };
    let base = |kind| KeyObject { path: path.into(), offset, fingerprint: Some(fp.clone()), kind, format: format.clone(), algorithm: "unknown".into(), bits: None, security_bits: None, encrypted: false, certificate: None, error: None };
    let der = match der {
        // Armour with nothing inside is a template, not a key.
        Ok(d) if d.is_empty() => return None,
        Ok(d) => d,
        Err(e) if label.contains("PRIVATE KEY") => return Some(KeyObject { error: Some(format!("base64: {e}")), ..base(KeyObjectKind::PrivateKey) }),
        Err(_) => return None,
    };
    match label {
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => certificate(path, offset, &format, &der),
        "PUBLIC KEY" => Some(spki(base(KeyObjectKind::PublicKey), &der)),
        "RSA PUBLIC KEY" => {
            let mut o = base(KeyObjectKind::PublicKey);
            match pkcs1::RsaPublicKey::try_from(der.as_slice()) {
                Ok(k) => set_rsa(&mut o, k.modulus.as_bytes()),
                Err(e) => o.error = Some(e.to_string()),
            }
            Some(o)
        }
        "OPENSSH PRIVATE KEY" => Some(openssh(base(KeyObjectKind::PrivateKey), &text)),
        "ENCRYPTED PRIVATE KEY" => Some(KeyObject { encrypted: true, ..base(KeyObjectKind::PrivateKey) }),
        _ if legacy_encrypted && label.ends_with("PRIVATE KEY") => {
            let alg = label.trim_end_matches("PRIVATE KEY").trim().to_ascii_lowercase();
            Some(KeyObject { encrypted: true, algorithm: if alg.is_empty() { "unknown".into() } else { alg }, ..base(KeyObjectKind::PrivateKey) })
        }
        "PRIVATE KEY" => Some(pkcs8_key(base(KeyObjectKind::PrivateKey), &der)),
        "RSA PRIVATE KEY" => {
            let mut o = base(KeyObjectKind::PrivateKey);
            match pkcs1::RsaPrivateKey::try_from(der.as_slice()) {
                Ok(k) => set_rsa(&mut o, k.modulus.as_bytes()),
                Err(e) => o.error = Some(e.to_string()),
            }
            Some(o)
        }
        "EC PRIVATE KEY" => {
            let mut o = base(KeyObjectKind::PrivateKey);
            match sec1::EcPrivateKey::try_from(der.as_slice()) {
                Ok(k) => set_curve(&mut o, k.parameters.and_then(|p| p.named_curve()).map(|c| c.to_string()).as_deref()),
                Err(e) => o.error = Some(e.to_string()),
            }
            Some(o)
        }
        "DSA PRIVATE KEY" => {
            // SEQUENCE { version, p, q, g, y, x }: the size is p's.
            let mut o = base(KeyObjectKind::PrivateKey);
            o.algorithm = "dsa".into();
            match dsa_p_bits(&der) {
                Some(bits) => set_bits(&mut o, bits, finite_field_strength(bits)),
                None => o.error = Some("not a DSA private key structure".into()),
            }
            Some(o)
        }
        _ if label.ends_with("PRIVATE KEY") => Some(KeyObject { error: Some(format!("unrecognised private key type `{label}`")), ..base(KeyObjectKind::PrivateKey) }),
        _ => None,
    }
}

/// A file that is exactly one DER private key structure: PKCS#1 RSA, PKCS#8
/// (unencrypted) or SEC1 EC. The decoders refuse trailing bytes, so a file
/// that merely starts with a SEQUENCE is no key.
fn der_private_key(path: &str, der: &[u8]) -> Option<KeyObject> {
    let base = |format: &str| KeyObject { path: path.into(), offset: 0, fingerprint: Some(fingerprint(der)), kind: KeyObjectKind::PrivateKey, format: format.into(), algorithm: "unknown".into(), bits: None, security_bits: None, encrypted: false, certificate: None, error: None };
    if let Ok(k) = pkcs1::RsaPrivateKey::try_from(der) {
        let mut o = base("der:rsa-private-key");
        set_rsa(&mut o, k.modulus.as_bytes());
        return Some(o);
    }
    if pkcs8::PrivateKeyInfo::try_from(der).is_ok() {
        return Some(pkcs8_key(base("der:private-key"), der));
    }
    if let Ok(k) = sec1::EcPrivateKey::try_from(der) {
        let mut o = base("der:ec-private-key");
        set_curve(&mut o, k.parameters.and_then(|p| p.named_curve()).map(|c| c.to_string()).as_deref());
        return Some(o);
    }
    None
}

/// dropbear's own private key files (`dropbearkey`, e.g. etc/dropbear/
/// dropbear_rsa_host_key): SSH wire strings, the key type first, then the
/// private fields (RSA: e, n, d, p, q; DSS: p, q, g, y, x; ECDSA: curve, Q, d;
/// Ed25519: one 64-byte string). The whole file must be consumed.
fn dropbear_key(path: &str, bytes: &[u8]) -> Option<KeyObject> {
    let mut fields = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?) as usize;
        let start = at.checked_add(4)?;
        let end = start.checked_add(len)?;
        fields.push(bytes.get(start..end)?);
        at = end;
        if fields.len() > 8 {
            return None;
        }
    }
    let mut o = KeyObject { path: path.into(), offset: 0, fingerprint: Some(fingerprint(bytes)), kind: KeyObjectKind::PrivateKey, format: "dropbear".into(), algorithm: "unknown".into(), bits: None, security_bits: None, encrypted: false, certificate: None, error: None };
    match (fields.first().copied()?, fields.len()) {
        (b"ssh-rsa", 6) => set_rsa(&mut o, fields[2]),
        (b"ssh-dss", 6) => {
            o.algorithm = "dsa".into();
            let bits = int_bits(fields[1]);
            set_bits(&mut o, bits, finite_field_strength(bits));
        }
        (b"ssh-ed25519", 2) if fields[1].len() == 64 => {
            o.algorithm = "ed25519".into();
            set_bits(&mut o, 256, 128);
        }
        (t, 4) if t.starts_with(b"ecdsa-sha2-") => {
            let oid = match fields[1] {
                b"nistp256" => "1.2.840.10045.3.1.7",
                b"nistp384" => "1.3.132.0.34",
                b"nistp521" => "1.3.132.0.35",
                _ => return None,
            };
            set_curve(&mut o, Some(oid));
        }
        _ => return None,
    }
    Some(o)
}

fn set_bits(o: &mut KeyObject, bits: u32, security: u32) {
    o.bits = Some(bits);
    o.security_bits = Some(security);
}

/// Bits of a big-endian unsigned integer.
fn int_bits(be: &[u8]) -> u32 {
    let s: &[u8] = match be.iter().position(|&b| b != 0) {
        Some(i) => &be[i..],
        None => return 0,
    };
    (s.len() as u32) * 8 - s[0].leading_zeros()
}

fn set_rsa(o: &mut KeyObject, modulus: &[u8]) {
    o.algorithm = "rsa".into();
    let bits = int_bits(modulus);
    set_bits(o, bits, finite_field_strength(bits));
}

/// SP 800-57 Part 1 Table 2 for RSA/DSA/DH moduli (strength 0 below 1024 bits: < 80).
pub fn finite_field_strength(bits: u32) -> u32 {
    match bits {
        b if b >= 15360 => 256,
        b if b >= 7680 => 192,
        b if b >= 3072 => 128,
        b if b >= 2048 => 112,
        b if b >= 1024 => 80,
        _ => 0,
    }
}

/// Named curves by OID: (name, field bits, security bits).
fn curve(oid: &str) -> Option<(&'static str, u32, u32)> {
    Some(match oid {
        "1.2.840.10045.3.1.1" => ("p192", 192, 96),
        "1.3.132.0.33" => ("p224", 224, 112),
        "1.2.840.10045.3.1.7" => ("p256", 256, 128),
        "1.3.132.0.34" => ("p384", 384, 192),
        "1.3.132.0.35" => ("p521", 521, 256),
        "1.3.132.0.10" => ("secp256k1", 256, 128),
        "1.3.36.3.3.2.8.1.1.7" => ("brainpoolP256r1", 256, 128),
        "1.3.36.3.3.2.8.1.1.11" => ("brainpoolP384r1", 384, 192),
        "1.3.36.3.3.2.8.1.1.13" => ("brainpoolP512r1", 512, 256),
        _ => return None,
    })
}

fn set_curve(o: &mut KeyObject, oid: Option<&str>) {
    match oid.and_then(curve) {
        Some((name, bits, sec)) => {
            o.algorithm = format!("ec:{name}");
            set_bits(o, bits, sec);
        }
        None => o.algorithm = format!("ec:{}", oid.unwrap_or("unnamed-curve")),
    }
}

/// Algorithms identified by their OID alone: (name, bits, security bits).
fn edwards(oid: &str) -> Option<(&'static str, u32, u32)> {
    Some(match oid {
        "1.3.101.112" => ("ed25519", 256, 128),
        "1.3.101.113" => ("ed448", 456, 224),
        "1.3.101.110" => ("x25519", 256, 128),
        "1.3.101.111" => ("x448", 448, 224),
        _ => return None,
    })
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_DSA: &str = "1.2.840.10040.4.1";

fn pkcs8_key(mut o: KeyObject, der: &[u8]) -> KeyObject {
    let info = match pkcs8::PrivateKeyInfo::try_from(der) {
        Ok(i) => i,
        Err(e) => {
            o.error = Some(e.to_string());
            return o;
        }
    };
    let oid = info.algorithm.oid.to_string();
    match oid.as_str() {
        OID_RSA => match pkcs1::RsaPrivateKey::try_from(info.private_key) {
            Ok(k) => set_rsa(&mut o, k.modulus.as_bytes()),
            Err(e) => o.error = Some(e.to_string()),
        },
        OID_EC => {
            let named = info.algorithm.parameters_oid().ok().map(|c| c.to_string());
            set_curve(&mut o, named.as_deref());
        }
        OID_DSA => {
            o.algorithm = "dsa".into();
            // Parameters are SEQUENCE { p, q, g }.
            if let Some(bits) = info.algorithm.parameters.and_then(|p| der_integers(p.value()).first().map(|p| int_bits(p))) {
                set_bits(&mut o, bits, finite_field_strength(bits));
            }
        }
        other => match edwards(other) {
            Some((name, bits, sec)) => {
                o.algorithm = name.into();
                set_bits(&mut o, bits, sec);
            }
            None => o.algorithm = other.to_string(),
        },
    }
    o
}

/// SubjectPublicKeyInfo (PEM `PUBLIC KEY`, and inside certificates).
fn spki(mut o: KeyObject, der: &[u8]) -> KeyObject {
    use x509_parser::prelude::FromDer;
    match x509_parser::x509::SubjectPublicKeyInfo::from_der(der) {
        Ok((_, info)) => spki_facts(&mut o, &info),
        Err(e) => o.error = Some(e.to_string()),
    }
    o
}

fn spki_facts(o: &mut KeyObject, info: &x509_parser::x509::SubjectPublicKeyInfo<'_>) {
    use x509_parser::public_key::PublicKey;
    let oid = info.algorithm.algorithm.to_id_string();
    match info.parsed() {
        Ok(PublicKey::RSA(rsa)) => set_rsa(o, rsa.modulus),
        Ok(PublicKey::EC(_)) => {
            let named = info.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok()).map(|c| c.to_id_string());
            set_curve(o, named.as_deref());
        }
        Ok(PublicKey::DSA(_)) => {
            o.algorithm = "dsa".into();
            let p = info.algorithm.parameters.as_ref().map(|p| der_integers(p.data)).and_then(|v| v.first().map(|p| int_bits(p)));
            if let Some(bits) = p {
                set_bits(o, bits, finite_field_strength(bits));
            }
        }
        _ => match edwards(&oid) {
            Some((name, bits, sec)) => {
                o.algorithm = name.into();
                set_bits(o, bits, sec);
            }
            None => o.algorithm = oid,
        },
    }
}

/// The INTEGERs at the top level of a DER SEQUENCE's contents (or of a whole
/// SEQUENCE when `der` starts with one).
fn der_integers(der: &[u8]) -> Vec<&[u8]> {
    use x509_parser::der_parser::ber::BerObjectContent;
    let mut out = Vec::new();
    let seq = match x509_parser::der_parser::parse_der(der) {
        Ok((_, obj)) => obj,
        Err(_) => return out,
    };
    let items = match &seq.content {
        BerObjectContent::Sequence(items) => items.clone(),
        BerObjectContent::Integer(_) => {
            // A bare run of INTEGERs (the contents of a SEQUENCE).
            let mut rest = der;
            let mut v = Vec::new();
            while let Ok((r, obj)) = x509_parser::der_parser::parse_der(rest) {
                v.push(obj);
                rest = r;
            }
            v
        }
        _ => return out,
    };
    for it in &items {
        if let BerObjectContent::Integer(i) = it.content {
            out.push(i);
        }
    }
    out
}

fn dsa_p_bits(der: &[u8]) -> Option<u32> {
    der_integers(der).get(1).map(|p| int_bits(p))
}

/// OpenSSH's own private key format (`openssh-key-v1`).
fn openssh(mut o: KeyObject, text: &str) -> KeyObject {
    o.format = "openssh".into();
    let pem = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n", text.trim());
    let key = match ssh_key::PrivateKey::from_openssh(pem.as_bytes()) {
        Ok(k) => k,
        Err(e) => {
            o.error = Some(e.to_string());
            return o;
        }
    };
    o.encrypted = key.is_encrypted();
    use ssh_key::public::KeyData;
    match key.public_key().key_data() {
        KeyData::Rsa(r) => set_rsa(&mut o, r.n.as_bytes()),
        KeyData::Dsa(d) => {
            o.algorithm = "dsa".into();
            let bits = int_bits(d.p.as_bytes());
            set_bits(&mut o, bits, finite_field_strength(bits));
        }
        KeyData::Ecdsa(e) => {
            let oid = match e.curve() {
                ssh_key::EcdsaCurve::NistP256 => "1.2.840.10045.3.1.7",
                ssh_key::EcdsaCurve::NistP384 => "1.3.132.0.34",
                ssh_key::EcdsaCurve::NistP521 => "1.3.132.0.35",
            };
            set_curve(&mut o, Some(oid));
        }
        KeyData::Ed25519(_) | KeyData::SkEd25519(_) => {
            o.algorithm = "ed25519".into();
            set_bits(&mut o, 256, 128);
        }
        other => o.algorithm = other.algorithm().to_string(),
    }
    o
}

/// Trust-store locations, where self-signed roots are expected.
fn in_trust_store(path: &str) -> bool {
    let p = path.trim_start_matches('/');
    ["etc/ssl/certs/", "usr/share/ca-certificates/", "etc/pki/", "usr/lib/ssl/certs/", "etc/ca-certificates/"].iter().any(|d| p.starts_with(d))
        || p.ends_with("ca-certificates.crt")
        || p.ends_with("ca-bundle.crt")
        || p.ends_with("cacert.pem")
}

fn certificate(path: &str, offset: u64, format: &str, der: &[u8]) -> Option<KeyObject> {
    let mut o = KeyObject { path: path.into(), offset, fingerprint: Some(fingerprint(der)), kind: KeyObjectKind::Certificate, format: format.into(), algorithm: "unknown".into(), bits: None, security_bits: None, encrypted: false, certificate: None, error: None };
    let cert = match x509_parser::parse_x509_certificate(der) {
        Ok((_, c)) => c,
        Err(_) if format == "der" => return None, // a .der/.crt that is not a certificate: not ours to judge
        Err(e) => {
            o.error = Some(e.to_string());
            return Some(o);
        }
    };
    spki_facts(&mut o, cert.public_key());
    let (aki, ski) = key_ids(&cert);
    let same_name = cert.subject().as_raw() == cert.issuer().as_raw();
    let self_signed = same_name && (aki.is_none() || ski.is_none() || aki == ski);
    o.certificate = Some(CertificateFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        is_ca: cert.is_ca(),
        self_signed,
        trust_store: in_trust_store(path),
    });
    Some(o)
}

fn key_ids(cert: &x509_parser::certificate::X509Certificate<'_>) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    use x509_parser::extensions::ParsedExtension;
    let mut aki = None;
    let mut ski = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => aki = a.key_identifier.as_ref().map(|k| k.0.to_vec()),
            ParsedExtension::SubjectKeyIdentifier(s) => ski = Some(s.0.to_vec()),
            _ => {}
        }
    }
    (aki, ski)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys");
    /// 2026-11-26T00:00:00Z.
    const NOW: i64 = 1_795_651_200;

    /// A root filesystem with every fixture somewhere a device might keep it.
    fn image() -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().unwrap();
        let put = |rel: &str, bytes: &[u8]| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        };
        for e in std::fs::read_dir(FIXTURES).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "make.sh" {
                continue;
            }
            let rel = if name == "root-ca.crt" { format!("etc/ssl/certs/{name}") } else { format!("etc/keys/{name}") };
            put(&rel, &std::fs::read(e.path()).unwrap());
        }
        // A key compiled into a program, between binary bytes.
        let mut bin = b"\x7fELF\x02\x01\x01\x00\xff\xfe".to_vec();
        bin.extend(std::fs::read(Path::new(FIXTURES).join("p256-sec1.key")).unwrap());
        bin.extend(b"\x00\x00\x13\x37more code");
        put("usr/bin/camd", &bin);
        put("root/.ssh/authorized_keys", b"# vendor support\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZpeHR1cmUta2V5LW5vdC1yZWFs vendor@factory\n");
        put("etc/motd", b"-----BEGIN nothing here, just text");
        // A key converter's format strings: armour without a key.
        put("usr/bin/keyconvert", b"\x7fELF\x02\x01-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\x00-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----\n");
        let (tree, _) = crate::unpack::open(dir.path(), &dir.path().join("work"), crate::Limits::default()).unwrap();
        (dir, tree)
    }

    fn find<'a>(objs: &'a [KeyObject], path: &str) -> &'a KeyObject {
        objs.iter().find(|o| o.path == path).unwrap_or_else(|| panic!("{path} not found in {objs:#?}"))
    }

    #[test]
    fn every_key_format_is_identified_with_its_strength() {
        let (_d, tree) = image();
        let objs = inventory(&tree);
        // (file, kind, algorithm, bits, security bits, encrypted)
        let expect: &[(&str, KeyObjectKind, &str, Option<u32>, Option<u32>, bool)] = &[
            ("etc/keys/rsa1024-pkcs1.key", KeyObjectKind::PrivateKey, "rsa", Some(1024), Some(80), false),
            ("etc/keys/rsa2048-pkcs8.key", KeyObjectKind::PrivateKey, "rsa", Some(2048), Some(112), false),
            ("etc/keys/p256-sec1.key", KeyObjectKind::PrivateKey, "ec:p256", Some(256), Some(128), false),
            ("etc/keys/p192-pkcs8.key", KeyObjectKind::PrivateKey, "ec:p192", Some(192), Some(96), false),
            ("etc/keys/ed25519-pkcs8.key", KeyObjectKind::PrivateKey, "ed25519", Some(256), Some(128), false),
            ("etc/keys/dsa1024-pkcs8.key", KeyObjectKind::PrivateKey, "dsa", Some(1024), Some(80), false),
            ("etc/keys/dsa1024-traditional.key", KeyObjectKind::PrivateKey, "dsa", Some(1024), Some(80), false),
            ("etc/keys/rsa2048-encrypted-pkcs8.key", KeyObjectKind::PrivateKey, "unknown", None, None, true),
            ("etc/keys/rsa2048-legacy-encrypted.key", KeyObjectKind::PrivateKey, "rsa", None, None, true),
            ("etc/keys/id_ed25519", KeyObjectKind::PrivateKey, "ed25519", Some(256), Some(128), false),
            ("etc/keys/id_rsa1024", KeyObjectKind::PrivateKey, "rsa", Some(1024), Some(80), false),
            ("etc/keys/id_ecdsa_encrypted", KeyObjectKind::PrivateKey, "ec:p384", Some(384), Some(192), true),
            ("etc/keys/rsa1024-public.pem", KeyObjectKind::PublicKey, "rsa", Some(1024), Some(80), false),
            ("etc/keys/leaf-by-ca.crt", KeyObjectKind::Certificate, "rsa", Some(2048), Some(112), false),
            ("etc/keys/expired-self-signed.crt", KeyObjectKind::Certificate, "ec:p256", Some(256), Some(128), false),
            ("etc/keys/weak-rsa1024.der", KeyObjectKind::Certificate, "rsa", Some(1024), Some(80), false),
            ("etc/ssl/certs/root-ca.crt", KeyObjectKind::Certificate, "ec:p256", Some(256), Some(128), false),
            ("usr/bin/camd", KeyObjectKind::PrivateKey, "ec:p256", Some(256), Some(128), false),
        ];
        for (path, kind, alg, bits, sec, enc) in expect {
            let o = find(&objs, path);
            assert_eq!((o.kind, o.algorithm.as_str(), o.bits, o.security_bits, o.encrypted), (*kind, *alg, *bits, *sec, *enc), "{path}: {o:?}");
            assert!(o.error.is_none(), "{path}: {o:?}");
        }
        assert_eq!(objs.len(), expect.len(), "{objs:#?}");
        assert_eq!(find(&objs, "usr/bin/camd").offset, 10);
        let root = find(&objs, "etc/ssl/certs/root-ca.crt").certificate.clone().unwrap();
        assert!(root.self_signed && root.is_ca && root.trust_store);
        let leaf = find(&objs, "etc/keys/leaf-by-ca.crt").certificate.clone().unwrap();
        assert!(!leaf.self_signed && !leaf.is_ca);
        assert_eq!(leaf.subject, "CN=camera.local");
    }

    #[test]
    fn findings_name_private_weak_expired_self_signed_and_authorized_keys() {
        let (_d, tree) = image();
        let objs = inventory(&tree);
        let found = findings(&objs, &tree, NOW, &mut Ledger::default());
        let of = |rule: &str| -> Vec<&str> {
            let mut v: Vec<&str> = found.iter().filter(|f| f.rule == rule).map(|f| f.path.as_str()).collect();
            v.sort();
            v
        };
        assert_eq!(
            of("AITE-KEY-WEAK"),
            ["etc/keys/dsa1024-pkcs8.key", "etc/keys/dsa1024-traditional.key", "etc/keys/id_rsa1024", "etc/keys/p192-pkcs8.key", "etc/keys/rsa1024-pkcs1.key", "etc/keys/rsa1024-public.pem", "etc/keys/weak-rsa1024.der"]
        );
        assert_eq!(of("AITE-KEY-PRIVATE-ENCRYPTED"), ["etc/keys/id_ecdsa_encrypted", "etc/keys/rsa2048-encrypted-pkcs8.key", "etc/keys/rsa2048-legacy-encrypted.key"]);
        assert_eq!(of("AITE-KEY-PRIVATE").len(), 10);
        assert!(of("AITE-KEY-PRIVATE").contains(&"usr/bin/camd"));
        assert_eq!(of("AITE-CERT-EXPIRED"), ["etc/keys/expired-self-signed.crt"]);
        assert_eq!(of("AITE-CERT-SELF-SIGNED"), ["etc/keys/expired-self-signed.crt"]);
        assert_eq!(of("AITE-KEY-AUTHORIZED"), ["root/.ssh/authorized_keys"]);
        let auth = found.iter().find(|f| f.rule == "AITE-KEY-AUTHORIZED").unwrap();
        assert!(auth.excerpt.as_deref().unwrap().contains("vendor@factory"));
        // The same image in 2019: that certificate was still valid, the 2024 ones not yet.
        let in_2019 = findings(&objs, &tree, 1_560_000_000, &mut Ledger::default());
        let dated: Vec<(&str, &str)> = in_2019.iter().filter(|f| f.rule == "AITE-CERT-EXPIRED").map(|f| (f.path.as_str(), f.message.as_str())).collect();
        assert_eq!(dated.len(), 2, "{dated:?}");
        assert!(dated.iter().all(|(p, m)| *p != "etc/keys/expired-self-signed.crt" && m.contains("not valid before 2024-01-01")), "{dated:?}");
    }

    #[test]
    fn strength_tables_follow_sp800_57() {
        assert_eq!([1023, 1024, 2047, 2048, 3072, 7680, 15360].map(finite_field_strength), [0, 80, 80, 112, 128, 192, 256]);
        assert_eq!(int_bits(&[0, 0, 0x01, 0xff]), 9);
        assert_eq!(int_bits(&[]), 0);
    }

    #[test]
    fn damaged_blocks_are_reported_not_fatal() {
        let mut out = Vec::new();
        search("x", b"-----BEGIN RSA PRIVATE KEY-----\nMIIB!!!notbase64\n-----END RSA PRIVATE KEY-----", &mut out);
        search("y", b"-----BEGIN PRIVATE KEY-----\nMIIBAAAA\n-----END PRIVATE KEY-----", &mut out);
        search("z", b"-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----", &mut out);
        search("w", b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", &mut out);
        search("v", b"-----BEGIN PRIVATE KEY-----\nno end marker", &mut out);
        assert_eq!(out.len(), 4);
        assert!(out.iter().all(|o| o.error.is_some()), "{out:#?}");
        // Private keys stay private keys even when broken: still a finding.
        let tree = Tree::default();
        assert_eq!(findings(&out, &tree, NOW, &mut Ledger::default()).iter().filter(|f| f.rule == "AITE-KEY-PRIVATE").count(), 3);
    }

    /// Three RSA private keys in one program: the same rule, file and message, told apart by
    /// the SHA-256 of each key's DER (the values `sed '1d;$d' KEY | base64 -d | sha256sum`
    /// gives), whatever their order and offsets.
    #[test]
    fn keys_in_one_file_are_keyed_by_their_fingerprint() {
        let fixture = |name: &str| std::fs::read(Path::new(FIXTURES).join(name)).unwrap();
        let names = ["rsa1024-pkcs1.key", "rsa2048-pkcs8.key", "id_rsa1024"];
        let expected = [
            "sha256:e6b31eb35534d05f742e5e93ebf639c823b5ba6e02e50137304ecbf1f70d07d8",
            "sha256:e34ea7e938f8b491320085f59f6ac83cfdeeacfc693173d93e209946648636d6",
            "sha256:3c248992aad1c92898438752fc92c43d3b07f8d94e4daefa5e799b83f6a3150a",
        ];
        let program = |order: &[usize], filler: &[u8]| {
            let mut bin = b"\x7fELF\x02\x01\x01\x00".to_vec();
            for &i in order {
                bin.extend(filler);
                bin.extend(fixture(names[i]));
            }
            bin
        };
        let private = |bin: &[u8]| -> Vec<(String, Option<String>, u64)> {
            let mut objs = Vec::new();
            inventory_file("usr/bin/camd", bin, &mut objs);
            let found = findings(&objs, &Tree::default(), NOW, &mut Ledger::default());
            found.into_iter().filter(|f| f.rule == "AITE-KEY-PRIVATE").map(|f| (f.message, f.key, f.offset.unwrap())).collect()
        };
        let keys = |found: &[(String, Option<String>, u64)]| -> Vec<String> {
            let mut k: Vec<String> = found.iter().map(|(_, k, _)| k.clone().expect("a key finding without a key")).collect();
            k.sort();
            k
        };
        let mut sorted = expected.map(String::from).to_vec();
        sorted.sort();
        let first = private(&program(&[0, 1, 2], b"\x00code\x00"));
        assert_eq!(first.len(), 3, "{first:?}");
        assert!(first.iter().all(|(m, _, _)| *m == first[0].0), "one message for the three: {first:?}");
        assert_eq!(keys(&first), sorted);
        // Another build: reordered, moved; the same keys.
        let second = private(&program(&[2, 0, 1], b"\x00\x00longer code\x00"));
        assert_eq!(keys(&second), sorted);
        assert_ne!(first.iter().map(|f| f.2).collect::<Vec<_>>(), second.iter().map(|f| f.2).collect::<Vec<_>>());
        // The weak ones (1024 bits) are keyed the same way.
        let mut objs = Vec::new();
        inventory_file("usr/bin/camd", &program(&[0, 1, 2], b"\x00"), &mut objs);
        let mut weak: Vec<String> = findings(&objs, &Tree::default(), NOW, &mut Ledger::default()).into_iter().filter(|f| f.rule == "AITE-KEY-WEAK").filter_map(|f| f.key).collect();
        weak.sort();
        assert_eq!(weak, [expected[2], expected[0]]);
    }

    /// SSH wire strings, as dropbearkey writes them.
    fn wire(fields: &[&[u8]]) -> Vec<u8> {
        fields.iter().flat_map(|f| (f.len() as u32).to_be_bytes().into_iter().chain(f.iter().copied())).collect()
    }

    #[test]
    fn dropbear_host_keys_are_read_by_structure() {
        let mut n = vec![0u8; 257];
        n[1] = 0xc5; // a 2048-bit modulus with its mpint sign byte
        let rsa = wire(&[b"ssh-rsa", &[1, 0, 1], &n, &[7; 256], &[3; 128], &[5; 128]]);
        let mut out = Vec::new();
        inventory_file("etc/dropbear/dropbear_rsa_host_key", &rsa, &mut out);
        assert_eq!((out[0].format.as_str(), out[0].algorithm.as_str(), out[0].bits, out[0].security_bits), ("dropbear", "rsa", Some(2048), Some(112)));
        let ec = wire(&[b"ecdsa-sha2-nistp256", b"nistp256", &[4; 65], &[9; 32]]);
        let ed = wire(&[b"ssh-ed25519", &[1; 64]]);
        for (bytes, alg) in [(ec, "ec:p256"), (ed, "ed25519")] {
            let mut out = Vec::new();
            inventory_file("etc/dropbear/key", &bytes, &mut out);
            assert_eq!((out[0].kind, out[0].algorithm.as_str()), (KeyObjectKind::PrivateKey, alg));
        }
        // A public key blob (no private fields), trailing bytes, a short string: not keys.
        let mut trailing = rsa.clone();
        trailing.push(0);
        for not_key in [wire(&[b"ssh-rsa", &[1, 0, 1], &n]), trailing, rsa[..rsa.len() - 1].to_vec(), wire(&[b"ssh-ed25519", &[1; 32]])] {
            let mut out = Vec::new();
            inventory_file("etc/dropbear/x", &not_key, &mut out);
            assert!(out.is_empty(), "{out:?}");
        }
    }
}
