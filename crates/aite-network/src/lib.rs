//! The basic security layer, network part: what a running terminal exposes.
//!
//! [`probe`] admits the target through the safety [`scope`] (loopback only
//! unless a network is explicitly allowed), runs a TCP [`scan`], identifies
//! each open port's [`service`] (banner, TLS ClientHello, HTTP GET, RTSP
//! OPTIONS), then examines each service: [`tls`] versions, suites and
//! certificate; [`ssh`] identification and KEXINIT algorithms; telnet; [`http`]
//! Basic authentication with a short default list and the Open Inference
//! Protocol's `GET /v2`. Findings and per-rule outcomes use the static scan's
//! types ([`aite_security::Finding`], [`aite_security::RuleOutcome`], the latter
//! with the subjects a rule does not apply to) and are decided from a
//! [`rules::Ledger`]: a rule passes only on subjects it examined, a step that
//! timed out leaves it "not checked". A finding's subject is the endpoint
//! (`127.0.0.1:443/tcp`); a rule that can fail several times there writes one
//! finding per version, suite, algorithm, route, account or model, named by its
//! `key`, so a release diff follows each.
//!
//! Every step has a timeout and the whole probe a total budget; credential
//! tries are few, paced and recorded one by one. Nothing is exploited, loaded
//! or unloaded.
//!
//! ```no_run
//! use aite_network::{probe, ProbeOptions, scope::PortList};
//! let opts = ProbeOptions { ports: PortList::parse("22,80,443").unwrap(), declared: Some(vec![443]), ..ProbeOptions::default() };
//! let report = probe("127.0.0.1", &opts).unwrap();
//! for f in report.findings.iter().filter(|f| f.failed()) {
//!     println!("{} {}: {}", f.rule, f.path, f.message);
//! }
//! ```

pub mod creds;
pub mod digest;
pub mod http;
pub mod oip;
pub mod onvif;
pub mod reference;
pub mod rtsp;
pub mod rules;
pub mod scan;
pub mod scope;
pub mod service;
pub mod ssh;
pub mod sslv2;
pub mod telnet;
pub mod tls;

pub use rules::RULES;
pub use scan::{Budget, PortState};
pub use scope::{Cidr, PortList, Scope};
pub use service::Service;

use aite_security::keys::KeyObject;
use aite_security::{Finding, RuleStatus};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Why a probe could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("refusing to probe {target} ({address}): it is outside loopback (127.0.0.0/8, ::1){}; pass --allow-network CIDR to allow a network you are authorised to test", if allowed.is_empty() { String::new() } else { format!(" and the allowed networks {}", allowed.join(", ")) })]
    OutOfScope { target: String, address: IpAddr, allowed: Vec<String> },
    #[error("bad target {target:?}: {why}")]
    BadTarget { target: String, why: String },
    #[error("bad port list {value:?}: {why}")]
    BadPorts { value: String, why: String },
    #[error("bad network {value:?} for --allow-network: {why}")]
    BadCidr { value: String, why: String },
}

/// What to probe and how hard.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub ports: PortList,
    /// Ports the manufacturer declares; `None`: the undeclared-port rule is not checked.
    pub declared: Option<Vec<u16>>,
    pub scope: Scope,
    /// Connect attempts in flight.
    pub concurrency: usize,
    pub connect_timeout: Duration,
    /// How long to wait for a greeting on a fresh connection.
    pub banner_wait: Duration,
    /// Each request/handshake after connecting.
    pub step_timeout: Duration,
    /// The whole probe.
    pub budget: Duration,
    /// Pause between two credential tries on one service.
    pub credential_pause: Duration,
    /// Record the passwords tried in the evidence.
    pub reveal_passwords: bool,
    /// Unix seconds certificates are judged at; now when `None`.
    pub now: Option<i64>,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            ports: PortList((1..=65535).collect()),
            declared: None,
            scope: Scope::loopback(),
            concurrency: 256,
            connect_timeout: Duration::from_millis(500),
            banner_wait: Duration::from_millis(1500),
            step_timeout: Duration::from_secs(3),
            budget: Duration::from_secs(120),
            credential_pause: Duration::from_millis(250),
            reveal_passwords: false,
            now: None,
        }
    }
}

/// One open port and what was found on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceRecord {
    pub port: u16,
    pub service: Service,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<tls::TlsReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<ssh::SshReport>,
    /// The authentication methods the SSH server offers a random user after the key exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_auth_methods: Option<Vec<String>>,
    /// The methods offered to each default-list user (a `none` request each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_auth_methods_per_user: Vec<(String, Vec<String>)>,
    /// Why the SSH algorithms could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_error: Option<String>,
    /// The status of `GET /` inside TLS, when the TLS service carries HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https_status: Option<u16>,
    /// DESCRIBE results (RTSP services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtsp: Option<rtsp::RtspReport>,
    /// The `GET /v2` answer's status (HTTP services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oip_status: Option<u16>,
    /// The model repository and malformed-tensor answers (HTTP services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oip: Option<oip::OipReport>,
    /// The ONVIF device service's answers (HTTP services carrying one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onvif: Option<onvif::OnvifReport>,
    /// The certificate's signature algorithm (dotted OID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_algorithm: Option<String>,
    /// The certificate's facts, read by the static scan's certificate reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<KeyObject>,
}

/// Everything one probe found: results.json `suites.network`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkReport {
    pub target: String,
    pub address: IpAddr,
    /// Networks allowed besides loopback.
    pub allowed_networks: Vec<String>,
    pub ports_scanned: usize,
    pub declared: Option<Vec<u16>>,
    pub open: Vec<u16>,
    pub closed: usize,
    /// Ports without a conclusion, with why (the first 1000; `unknown_count` is complete).
    pub unknown: Vec<scan::PortScan>,
    pub unknown_count: usize,
    pub services: Vec<ServiceRecord>,
    /// Every credential tried: service, user, list entry, outcome.
    pub attempts: Vec<http::Attempt>,
    /// Why the probe did not cover everything it was asked to; empty: complete.
    pub gaps: Vec<String>,
    pub seconds: f64,
    pub rules: Vec<rules::NetworkRuleOutcome>,
    /// Failing findings, then one record per rule that did not fail.
    pub findings: Vec<Finding>,
    pub failures: std::collections::BTreeMap<String, usize>,
}

impl NetworkReport {
    pub fn complete(&self) -> bool {
        self.gaps.is_empty()
    }

    pub fn status(&self, rule: &str) -> Option<RuleStatus> {
        self.rules.iter().find(|r| r.rule == rule).map(|r| r.status)
    }
}

const SERVICE_RULES: &[&str] = &["AITE-NET-TELNET", "AITE-NET-TELNET-DEFAULT-CREDENTIAL", "AITE-NET-TLS-LEGACY-VERSION", "AITE-NET-TLS-WEAK-CIPHER", "AITE-NET-TLS-CBC-SHA1", "AITE-NET-TLS-KEY-WEAK", "AITE-NET-TLS-CERT-WEAK-SIGNATURE", "AITE-NET-TLS-CERT-EXPIRED", "AITE-NET-TLS-CERT-SELF-SIGNED", "AITE-NET-SSH-WEAK-ALGORITHM", "AITE-NET-SSH-PASSWORD-DEFAULT-CREDENTIAL", "AITE-NET-HTTP-DEFAULT-CREDENTIAL", "AITE-NET-HTTP-UNAUTHENTICATED", "AITE-NET-HTTP-SERVER-BANNER", "AITE-NET-OIP-UNAUTHENTICATED", "AITE-NET-OIP-REPOSITORY-UNAUTHENTICATED", "AITE-NET-OIP-MALFORMED-INPUT", "AITE-NET-ONVIF-UNAUTHENTICATED", "AITE-NET-ONVIF-DEFAULT-CREDENTIAL", "AITE-NET-RTSP-UNAUTHENTICATED", "AITE-NET-RTSP-DEFAULT-CREDENTIAL"];
/// The rules of what an HTTP service carries (plain or inside TLS).
const HTTP_RULES: &[&str] = &["AITE-NET-HTTP-DEFAULT-CREDENTIAL", "AITE-NET-HTTP-UNAUTHENTICATED", "AITE-NET-HTTP-SERVER-BANNER", "AITE-NET-OIP-UNAUTHENTICATED", "AITE-NET-OIP-REPOSITORY-UNAUTHENTICATED", "AITE-NET-ONVIF-UNAUTHENTICATED", "AITE-NET-ONVIF-DEFAULT-CREDENTIAL"];
/// The checks an RTSP port's tunnel 5xx leaves out: the HTTP rules and the malformed-tensor one.
const TUNNEL_SKIPPED: &[&str] = &["AITE-NET-HTTP-DEFAULT-CREDENTIAL", "AITE-NET-HTTP-UNAUTHENTICATED", "AITE-NET-HTTP-SERVER-BANNER", "AITE-NET-OIP-UNAUTHENTICATED", "AITE-NET-OIP-REPOSITORY-UNAUTHENTICATED", "AITE-NET-OIP-MALFORMED-INPUT", "AITE-NET-ONVIF-UNAUTHENTICATED", "AITE-NET-ONVIF-DEFAULT-CREDENTIAL"];
const CERT_RULES: &[&str] = &["AITE-NET-TLS-KEY-WEAK", "AITE-NET-TLS-CERT-WEAK-SIGNATURE", "AITE-NET-TLS-CERT-EXPIRED", "AITE-NET-TLS-CERT-SELF-SIGNED"];

/// Probe `target` (an address admitted by `options.scope`).
pub fn probe(target: &str, options: &ProbeOptions) -> Result<NetworkReport, ProbeError> {
    let ip = scope::parse_target(target, &options.scope)?;
    let started = Instant::now();
    let budget = Budget::new(options.budget);
    let now = options.now.unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0));
    let mut ledger = rules::Ledger::default();
    let mut findings = Vec::new();
    let mut gaps = Vec::new();
    let scanned = scan::connect_scan(ip, &options.ports.0, options.concurrency, options.connect_timeout, &budget);
    let subject = |port: u16| format!("{}/tcp", SocketAddr::new(ip, port));
    let open: Vec<u16> = scanned.iter().filter(|p| p.state == PortState::Offered).map(|p| p.port).collect();
    let unknown: Vec<scan::PortScan> = scanned.iter().filter(|p| matches!(p.state, PortState::Unknown { .. })).cloned().collect();
    let closed = scanned.iter().filter(|p| p.state == PortState::Closed).count();
    if !unknown.is_empty() {
        gaps.push(format!("{} port(s) without a conclusion (first: {})", unknown.len(), unknown.first().map(|p| format!("{}: {:?}", p.port, p.state)).unwrap_or_default()));
    }
    match &options.declared {
        None => ledger.not_checked("AITE-NET-UNDECLARED-PORT", "no declared ports given (--declared): open ports cannot be compared with the manufacturer's list"),
        Some(declared) => {
            for p in &scanned {
                match &p.state {
                    PortState::Unknown { why } => ledger.not_examined(&["AITE-NET-UNDECLARED-PORT"], &subject(p.port), why.clone()),
                    PortState::Closed => ledger.examined(&["AITE-NET-UNDECLARED-PORT"], &subject(p.port)),
                    PortState::Offered => {
                        ledger.examined(&["AITE-NET-UNDECLARED-PORT"], &subject(p.port));
                        if !declared.contains(&p.port) {
                            findings.push(rules::fail("AITE-NET-UNDECLARED-PORT", &subject(p.port), format!("port {} accepts connections but is not among the declared ports {:?}", p.port, declared)));
                        }
                    }
                }
            }
        }
    }
    let timing = service::Timing { banner_wait: options.banner_wait, step: options.step_timeout };
    let mut services = Vec::new();
    let mut attempts = Vec::new();
    // Each open port is examined on its own thread (a few at once), merged in port order.
    for o in examine_ports(ip, &open, timing, options, &budget, now) {
        ledger.merge(o.ledger);
        findings.extend(o.findings);
        attempts.extend(o.attempts);
        gaps.extend(o.gaps);
        services.push(o.record);
    }
    if budget.spent() {
        gaps.push(format!("the total budget of {} s was spent", options.budget.as_secs()));
    }
    let incomplete = budget.spent().then(|| format!("the total budget of {} s was spent", options.budget.as_secs()));
    let rules_out = ledger.outcomes(&findings, incomplete.as_deref());
    for r in rules_out.iter().filter(|r| r.status != RuleStatus::Fail) {
        let mut f = rules::fail(&r.rule, "", r.reason.clone());
        f.status = r.status;
        f.severity = aite_security::Severity::Info;
        findings.push(f);
    }
    let mut failures = std::collections::BTreeMap::new();
    for f in findings.iter().filter(|f| f.failed()) {
        *failures.entry(serde_json::to_value(f.severity).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()).or_insert(0) += 1;
    }
    Ok(NetworkReport {
        target: target.to_string(),
        address: ip,
        allowed_networks: options.scope.allowed.iter().map(Cidr::to_string).collect(),
        ports_scanned: scanned.len(),
        declared: options.declared.clone(),
        open,
        closed,
        unknown_count: unknown.len(),
        unknown: unknown.into_iter().take(1000).collect(),
        services,
        attempts,
        gaps,
        seconds: started.elapsed().as_secs_f64(),
        rules: rules_out,
        findings,
        failures,
    })
}

fn tls_findings(s: &str, r: &tls::TlsReport, now: i64, ledger: &mut rules::Ledger, findings: &mut Vec<Finding>, rec: &mut ServiceRecord) {
    use tls::Offer;
    let sslv2 = r.sslv2.as_ref().map(|p| &p.offer);
    let legacy: Vec<&str> = matches!(sslv2, Some(Offer::Offered { .. })).then_some("SSLv2").into_iter().chain(r.versions.iter().filter(|p| p.version.legacy() && matches!(p.offer, Offer::Offered { .. })).map(|p| p.version.name())).collect();
    let unknown: Vec<String> = r.versions.iter().filter_map(|p| if let Offer::Unknown { why } = &p.offer { Some(format!("{}: {why}", p.version.name())) } else { None }).collect();
    let sslv2_unknown = if let Some(Offer::Unknown { why }) = sslv2 { Some(format!("SSLv2: {why}")) } else { None };
    if !legacy.is_empty() {
        ledger.examined(&["AITE-NET-TLS-LEGACY-VERSION"], s);
        // One finding per version, keyed by it: a release that drops one of them fixes that one.
        for v in &legacy {
            findings.push(rules::fail("AITE-NET-TLS-LEGACY-VERSION", s, format!("offers {v}")).about(*v));
        }
    } else if sslv2_unknown.is_some() || unknown.iter().any(|u| !u.starts_with("TLSv1.2") && !u.starts_with("TLSv1.3")) {
        ledger.not_examined(&["AITE-NET-TLS-LEGACY-VERSION"], s, sslv2_unknown.iter().chain(&unknown).cloned().collect::<Vec<_>>().join("; "));
    } else {
        ledger.examined(&["AITE-NET-TLS-LEGACY-VERSION"], s);
    }
    // Suites: every offered version enumerated to the end, or not checked.
    let offered: Vec<&tls::VersionProbe> = r.versions.iter().filter(|p| matches!(p.offer, Offer::Offered { .. })).collect();
    let weak = suites_by_name(&offered, |id| tls::weakness(id).map(|w| format!(" ({w})")));
    let cbc = suites_by_name(&offered, |id| tls::cbc_sha1(id).then(String::new));
    let incomplete: Vec<String> = offered.iter().filter_map(|p| p.suites_incomplete.as_ref().map(|w| format!("{}: {w}", p.version.name()))).chain(unknown.iter().cloned()).collect();
    for (rule, found) in [("AITE-NET-TLS-WEAK-CIPHER", &weak), ("AITE-NET-TLS-CBC-SHA1", &cbc)] {
        if !found.is_empty() {
            ledger.examined(&[rule], s);
            // One finding per suite, keyed by its name; the versions that accept it in the message.
            for (name, why, versions) in found {
                findings.push(rules::fail(rule, s, format!("accepts {name}{why} in {}", versions.join(", "))).about(name.clone()));
            }
        } else if !incomplete.is_empty() {
            ledger.not_examined(&[rule], s, format!("suite list incomplete: {}", incomplete.join("; ")));
        } else if !offered.is_empty() {
            ledger.examined(&[rule], s);
        }
    }
    let der = r.certificate_der_hex.as_deref().and_then(tls::unhex);
    let Some(der) = der else {
        ledger.not_examined(CERT_RULES, s, r.certificate_missing.clone().unwrap_or_else(|| "no certificate read".into()));
        return;
    };
    let mut objects = Vec::new();
    aite_security::keys::inventory_file(&format!("{s}/certificate.der"), &der, &mut objects);
    let Some(cert) = objects.into_iter().find(|o| o.certificate.is_some() && o.error.is_none()) else {
        ledger.not_examined(CERT_RULES, s, "the certificate the server sent does not parse");
        return;
    };
    let facts = cert.certificate.clone().expect("checked above");
    match cert.security_bits {
        Some(bits) => {
            ledger.examined(&["AITE-NET-TLS-KEY-WEAK"], s);
            if bits < aite_security::keys::MIN_SECURITY_BITS {
                findings.push(rules::fail("AITE-NET-TLS-KEY-WEAK", s, format!("certificate key {} {} bits ({bits}-bit security, below {})", cert.algorithm, cert.bits.unwrap_or(0), aite_security::keys::MIN_SECURITY_BITS)).with_excerpt(facts.subject.clone()));
            }
        }
        None => ledger.not_examined(&["AITE-NET-TLS-KEY-WEAK"], s, format!("key strength of {} not known", cert.algorithm)),
    }
    match x509_parser::parse_x509_certificate(&der) {
        Ok((_, c)) => {
            let oid = c.signature_algorithm.algorithm.to_id_string();
            ledger.examined(&["AITE-NET-TLS-CERT-WEAK-SIGNATURE"], s);
            if let Some(name) = weak_signature(&oid) {
                findings.push(rules::fail("AITE-NET-TLS-CERT-WEAK-SIGNATURE", s, format!("certificate {} is signed with {name} ({oid})", facts.subject)));
            }
            rec.signature_algorithm = Some(oid);
        }
        Err(e) => ledger.not_examined(&["AITE-NET-TLS-CERT-WEAK-SIGNATURE"], s, format!("the certificate's signature algorithm does not parse: {e}")),
    }
    ledger.examined(&["AITE-NET-TLS-CERT-EXPIRED", "AITE-NET-TLS-CERT-SELF-SIGNED"], s);
    if now > facts.not_after || now < facts.not_before {
        findings.push(rules::fail("AITE-NET-TLS-CERT-EXPIRED", s, format!("certificate {} valid {} to {}, judged at {}", facts.subject, date(facts.not_before), date(facts.not_after), date(now))));
    }
    if facts.self_signed && !facts.is_ca {
        findings.push(rules::fail("AITE-NET-TLS-CERT-SELF-SIGNED", s, format!("certificate {} is issued by itself", facts.subject)));
    } else if facts.self_signed {
        findings.push(rules::fail("AITE-NET-TLS-CERT-SELF-SIGNED", s, format!("the server presents a self-signed CA certificate {} as its own", facts.subject)));
    }
    rec.certificate = Some(cert);
}

/// The suites of the offered versions that `flag` picks (`Some(note)`), by IANA name in first-seen
/// order, each with its note and the versions that accept it.
fn suites_by_name(offered: &[&tls::VersionProbe], flag: impl Fn(u16) -> Option<String>) -> Vec<(String, String, Vec<&'static str>)> {
    let mut out: Vec<(String, String, Vec<&'static str>)> = Vec::new();
    for p in offered {
        for &id in &p.suite_ids {
            let Some(note) = flag(id) else { continue };
            let name = tls::suite_name(id);
            match out.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, _, versions)) => versions.push(p.version.name()),
                None => out.push((name, note, vec![p.version.name()])),
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn http_checks(ep: http::Endpoint, s: &str, status: u16, challenge: Option<&str>, server: Option<&str>, options: &ProbeOptions, budget: &Budget, ledger: &mut rules::Ledger, findings: &mut Vec<Finding>, attempts: &mut Vec<http::Attempt>, rec: &mut ServiceRecord) {
    page_checks(ep, s, status, server, ledger, findings);
    let scheme = challenge.map(|c| c.split_whitespace().next().unwrap_or("").to_ascii_lowercase());
    match (status, scheme.as_deref()) {
        (401, Some("basic")) => {
            let tried = http::try_basic(ep, "/", options.step_timeout, options.credential_pause, options.reveal_passwords, budget);
            credential_outcome("AITE-NET-HTTP-DEFAULT-CREDENTIAL", s, &tried, |a| format!("user {:?} logs in with default-list entry {} (HTTP Basic, GET /{})", a.user, a.list_entry, if ep.tls { ", inside TLS" } else { "" }), ledger, findings);
            attempts.extend(tried);
        }
        (401, Some("digest")) => {
            let tried = digest::try_defaults(digest::Protocol::Http, ep, "/", options.step_timeout, options.credential_pause, options.reveal_passwords, budget);
            credential_outcome("AITE-NET-HTTP-DEFAULT-CREDENTIAL", s, &tried, |a| format!("user {:?} logs in with default-list entry {} (HTTP Digest, GET /{})", a.user, a.list_entry, if ep.tls { ", inside TLS" } else { "" }), ledger, findings);
            attempts.extend(tried);
        }
        (401, Some(other)) => ledger.not_examined(&["AITE-NET-HTTP-DEFAULT-CREDENTIAL"], s, format!("authentication scheme {other:?} is not tried (Basic and Digest are)")),
        (401, None) => ledger.not_examined(&["AITE-NET-HTTP-DEFAULT-CREDENTIAL"], s, "401 without a WWW-Authenticate challenge"),
        _ => {}
    }
    let metadata = match budget.step(options.step_timeout).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| http::get(ep, "/v2", None, t)) {
        Ok(r) => {
            ledger.examined(&["AITE-NET-OIP-UNAUTHENTICATED"], s);
            rec.oip_status = Some(r.status);
            if http::is_oip_metadata(&r) {
                findings.push(rules::fail("AITE-NET-OIP-UNAUTHENTICATED", s, "GET /v2 returns the inference server's metadata without authentication").with_excerpt(String::from_utf8_lossy(&r.body[..r.body.len().min(200)]).into_owned()));
                Some(r)
            } else {
                None
            }
        }
        Err(why) => {
            ledger.not_examined(&["AITE-NET-OIP-UNAUTHENTICATED"], s, format!("GET /v2: {why}"));
            None
        }
    };
    oip_checks(ep, s, metadata.as_ref(), options, budget, ledger, findings, rec);
    onvif_checks(ep, s, options, budget, ledger, findings, attempts, rec);
}

/// The answer to an anonymous `GET /`: a 2xx serves the page without authentication, a 401 or
/// 403 asks for (or refuses) it, a 404 or 410 says nothing is served there; a redirect, a 5xx
/// and any other 4xx (400: our request refused, 429: rate-limited, ...) show neither and leave
/// it not examined. Its `Server` header names a version or not.
fn page_checks(ep: http::Endpoint, s: &str, status: u16, server: Option<&str>, ledger: &mut rules::Ledger, findings: &mut Vec<Finding>) {
    const OPEN: &str = "AITE-NET-HTTP-UNAUTHENTICATED";
    const BANNER: &str = "AITE-NET-HTTP-SERVER-BANNER";
    let inside = if ep.tls { " inside TLS" } else { "" };
    match status {
        200..=299 => {
            ledger.examined(&[OPEN], s);
            findings.push(rules::fail(OPEN, s, format!("GET /{inside} answers {status} without credentials")).about("/"));
        }
        300..=399 => ledger.not_examined(&[OPEN], s, format!("GET /{inside} answers {status} (a redirect, not followed): the page behind it is not examined")),
        500.. => ledger.not_examined(&[OPEN], s, format!("GET /{inside} answers {status} (a server error): no page to examine")),
        401 | 403 | 404 | 410 => ledger.examined(&[OPEN], s),
        _ => ledger.not_examined(&[OPEN], s, format!("HTTP {status} to GET /{inside}: neither a page nor an authentication answer")),
    }
    ledger.examined(&[BANNER], s);
    if let Some((header, version)) = server.and_then(|h| http::server_version(h).map(|v| (h, v))) {
        findings.push(rules::fail(BANNER, s, format!("the Server header{inside} names version {version}: \"Server: {header}\"")).with_excerpt(format!("Server: {header}")));
    }
}

/// The model repository index on every HTTP service; malformed tensors where OIP answers without credentials.
#[allow(clippy::too_many_arguments)]
fn oip_checks(ep: http::Endpoint, s: &str, metadata: Option<&http::Response>, options: &ProbeOptions, budget: &Budget, ledger: &mut rules::Ledger, findings: &mut Vec<Finding>, rec: &mut ServiceRecord) {
    const REPO: &str = "AITE-NET-OIP-REPOSITORY-UNAUTHENTICATED";
    const MALFORMED: &str = "AITE-NET-OIP-MALFORMED-INPUT";
    let mut report = oip::OipReport { repository_extension: metadata.is_some_and(|m| String::from_utf8_lossy(&m.body).contains("model_repository")), ..Default::default() };
    let mut ready = Vec::new();
    match oip::repository_index(ep, options.step_timeout, budget) {
        Ok((r, entries)) => {
            ledger.examined(&[REPO], s);
            report.repository_index_status = Some(r.status);
            if let Some(entries) = entries.filter(|_| metadata.is_some() || r.header("content-type").is_some_and(|c| c.contains("json"))) {
                let models: Vec<String> = entries.iter().map(|(n, _)| n.clone()).collect();
                findings.push(rules::fail(REPO, s, format!("POST /v2/repository/index lists {} model(s) ({}) without authentication; the repository extension's load and unload routes (POST /v2/repository/models/M/load, /unload) come with it (inferred, never called)", models.len(), models.join(", "))));
                ready = entries.iter().filter(|(_, st)| st.as_deref().is_some_and(|st| st.eq_ignore_ascii_case("READY"))).map(|(n, _)| n.clone()).collect();
                report.models = models;
            }
        }
        Err(why) => ledger.not_examined(&[REPO], s, format!("POST /v2/repository/index: {why}")),
    }
    if ready.is_empty() && metadata.is_some_and(|m| String::from_utf8_lossy(&m.body).contains("\"statistics\"")) {
        report.statistics_models = oip::ready_from_statistics(ep, options.step_timeout, budget);
        ready.clone_from(&report.statistics_models);
    }
    if metadata.is_some() {
        match ready.first().cloned() {
            None if report.models.is_empty() => ledger.not_examined(&[MALFORMED], s, "the inference server answers without credentials but names no READY model (neither its repository index nor its statistics): no infer route to send malformed tensors to"),
            None => ledger.not_examined(&[MALFORMED], s, format!("no model the repository index lists is READY ({}): a 4xx from an unready model is no validation", report.models.join(", "))),
            Some(m) => {
                let inputs = budget.step(options.step_timeout).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| http::get(ep, &oip::model_path(&m, ""), None, t)).and_then(|r| oip::inputs(&r));
                let control = inputs
                    .map_err(|why| format!("model metadata not readable (GET /v2/models/{m}): {why}"))
                    .and_then(|i| oip::control_body(&i).map(|body| (oip::send(ep, &m, "well-formed: zeros of the declared shapes", &body, options.step_timeout, budget), i)));
                report.model = Some(m.clone());
                match control {
                    Err(why) => ledger.not_examined(&[MALFORMED], s, why),
                    Ok((c, _)) if !c.status.is_some_and(|st| (200..300).contains(&st)) => {
                        ledger.not_examined(&[MALFORMED], s, format!("the well-formed control request to POST /v2/models/{m}/infer got {}, not a 2xx: a 4xx to the malformed ones would not show validation", c.status.map(|st| format!("status {st}")).or(c.error.clone()).unwrap_or_default()));
                        report.control = Some(c);
                    }
                    Ok((c, inputs)) => {
                        report.control = Some(c);
                        let answers = oip::send_malformed(ep, &m, &inputs, options.step_timeout, budget);
                        let alive = budget.step(options.step_timeout).map(|t| http::get(ep, "/v2/health/live", None, t).is_ok_and(|r| r.status < 500));
                        let spent: Vec<&oip::MalformedAnswer> = answers.iter().filter(|a| a.error.as_deref().is_some_and(|e| e.contains("budget"))).collect();
                        let bad: Vec<String> = answers.iter().filter(|a| !a.clean() && !spent.iter().any(|x| x.case == a.case)).map(|a| format!("{}: {}", a.case, a.status.map(|s| format!("status {s}")).or(a.error.clone()).unwrap_or_default())).collect();
                        if !bad.is_empty() {
                            ledger.examined(&[MALFORMED], s);
                            findings.push(rules::fail(MALFORMED, s, format!("POST /v2/models/{m}/infer: {}{}", bad.join("; "), if alive == Some(false) { "; the server no longer answers GET /v2/health/live" } else { "" })).about(m.clone()));
                        } else if !spent.is_empty() {
                            ledger.not_examined(&[MALFORMED], s, "the probe's total budget was spent before every malformed request was sent");
                        } else {
                            ledger.examined(&[MALFORMED], s);
                        }
                        report.malformed = answers;
                        report.alive_after = alive;
                    }
                }
            }
        }
    }
    rec.oip = Some(report);
}

/// The ONVIF device service: read operations without credentials, then UsernameTokens where refused.
#[allow(clippy::too_many_arguments)]
fn onvif_checks(ep: http::Endpoint, s: &str, options: &ProbeOptions, budget: &Budget, ledger: &mut rules::Ledger, findings: &mut Vec<Finding>, attempts: &mut Vec<http::Attempt>, rec: &mut ServiceRecord) {
    const OPEN: &str = "AITE-NET-ONVIF-UNAUTHENTICATED";
    const CRED: &str = "AITE-NET-ONVIF-DEFAULT-CREDENTIAL";
    let mut report = match onvif::examine(ep, options.step_timeout, budget) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(why) => {
            ledger.not_examined(&[OPEN, CRED], s, why);
            return;
        }
    };
    use onvif::OperationAnswer as A;
    let answered: Vec<&str> = report.operations.iter().filter(|o| matches!(o.answer, A::Answered { .. })).map(|o| o.operation.as_str()).collect();
    let unknown = report.operations.iter().find(|o| matches!(o.answer, A::Unknown { .. }));
    if !answered.is_empty() {
        ledger.examined(&[OPEN], s);
        findings.push(rules::fail(OPEN, s, format!("the ONVIF device service ({}) answers {} without credentials", onvif::DEVICE_SERVICE, answered.join(" and "))));
    } else if let Some(u) = unknown {
        ledger.not_examined(&[OPEN], s, format!("{}: {:?}", u.operation, u.answer));
    } else {
        ledger.examined(&[OPEN], s);
    }
    // Tokens on the last operation that refused (GetUsers is the one that needs administrator rights),
    // their Created on the device's clock when it tells it.
    match report.operations.iter().rev().find(|o| matches!(o.answer, A::Refused { .. })) {
        Some(op) => {
            let clock = onvif::device_clock(ep, options.step_timeout, budget);
            let tried = onvif::try_tokens(ep, &op.operation, &clock, options.step_timeout, options.credential_pause, options.reveal_passwords, budget);
            let operation = op.operation.clone();
            credential_outcome(CRED, s, &tried, |a| format!("user {:?} gets {operation} with default-list entry {} (WS-UsernameToken PasswordDigest)", a.user, a.list_entry), ledger, findings);
            attempts.extend(tried);
            report.token_clock = Some(clock);
        }
        None => match unknown {
            Some(u) => ledger.not_examined(&[CRED], s, format!("no operation was refused for want of credentials ({}: {:?}): tokens not tried", u.operation, u.answer)),
            None => ledger.not_applicable_because(CRED, "no ONVIF device service asked for credentials"),
        },
    }
    rec.onvif = Some(report);
}

#[allow(clippy::too_many_arguments)]
fn rtsp_checks(addr: SocketAddr, s: &str, options: &ProbeOptions, budget: &Budget, ledger: &mut rules::Ledger, findings: &mut Vec<Finding>, attempts: &mut Vec<http::Attempt>, rec: &mut ServiceRecord) {
    let r = rtsp::examine(addr, options.step_timeout, budget);
    const OPEN: &str = "AITE-NET-RTSP-UNAUTHENTICATED";
    const CRED: &str = "AITE-NET-RTSP-DEFAULT-CREDENTIAL";
    let streams: Vec<&str> = r.routes.iter().filter(|x| x.stream).map(|x| x.route.as_str()).collect();
    if r.random_route.stream {
        ledger.examined(&[OPEN], s);
        // The route is random: the key says what it stands for, never its name.
        findings.push(rules::fail(OPEN, s, format!("DESCRIBE of the random route /{} returns a stream description without credentials (any path is accepted)", r.random_route.route)).about(ANY_ROUTE));
    } else if r.any_path() {
        ledger.not_examined(&[OPEN, CRED], s, format!("answers 200 without a stream description to the random route /{}: route results cannot be told apart", r.random_route.route));
    } else if !streams.is_empty() {
        ledger.examined(&[OPEN], s);
        for route in &streams {
            findings.push(rules::fail(OPEN, s, format!("DESCRIBE returns a stream description without credentials on /{route}")).about(format!("/{route}")));
        }
    } else if let Some(e) = r.routes.iter().find(|x| x.status.is_none()) {
        ledger.not_examined(&[OPEN], s, format!("DESCRIBE /{}: {}", e.route, e.error.clone().unwrap_or_default()));
    } else {
        ledger.examined(&[OPEN], s);
    }
    if !r.any_path() {
        let challenged = r.routes.iter().find(|x| x.status == Some(401));
        match challenged.map(|x| (x, x.challenge.as_deref().and_then(|c| c.split_whitespace().next()).unwrap_or("").to_ascii_lowercase())) {
            Some((x, scheme)) if scheme == "basic" => {
                let tried = rtsp::try_basic(addr, &x.route, options.step_timeout, options.credential_pause, options.reveal_passwords, budget);
                credential_outcome(CRED, s, &tried, |a| format!("user {:?} gets the stream /{} with default-list entry {} (RTSP Basic)", a.user, x.route, a.list_entry), ledger, findings);
                attempts.extend(tried);
            }
            Some((x, scheme)) if scheme == "digest" => {
                let tried = digest::try_defaults(digest::Protocol::Rtsp, http::Endpoint::plain(addr), &x.route, options.step_timeout, options.credential_pause, options.reveal_passwords, budget);
                credential_outcome(CRED, s, &tried, |a| format!("user {:?} gets the stream /{} with default-list entry {} (RTSP Digest)", a.user, x.route, a.list_entry), ledger, findings);
                attempts.extend(tried);
            }
            Some((x, scheme)) => ledger.not_examined(&[CRED], s, format!("/{} asks for {:?} authentication: not tried (Basic and Digest are)", x.route, if scheme.is_empty() { "no challenge" } else { scheme.as_str() })),
            None => {}
        }
    }
    rec.rtsp = Some(r);
}

/// The key of an RTSP finding on the random route: any route is served.
const ANY_ROUTE: &str = "(any route)";
/// The key of an SSH finding for a random user: any user gets in.
const ANY_USER: &str = "(any user)";

/// Decide a default-credential rule from the tries on one service: a failure on the first
/// accepted credential, not examined when a try had no conclusion, else examined.
fn credential_outcome(rule: &str, s: &str, tried: &[http::Attempt], message: impl Fn(&http::Attempt) -> String, ledger: &mut rules::Ledger, findings: &mut Vec<Finding>) {
    if let Some(a) = tried.iter().find(|a| matches!(a.outcome, http::AttemptOutcome::Accepted { .. })) {
        ledger.examined(&[rule], s);
        findings.push(rules::fail(rule, s, message(a)).about(a.user.clone()));
    } else if let Some(u) = tried.iter().find(|a| matches!(a.outcome, http::AttemptOutcome::Unknown { .. })) {
        ledger.not_examined(&[rule], s, format!("the try of list entry {} had no conclusion: {:?}", u.list_entry, u.outcome));
    } else {
        ledger.examined(&[rule], s);
    }
}

/// SSH auth methods (a `none` request for a random user) and, if `password` or
/// `keyboard-interactive` is offered, the default list.
#[allow(clippy::too_many_arguments)]
fn ssh_login_checks(addr: SocketAddr, s: &str, options: &ProbeOptions, budget: &Budget, ledger: &mut rules::Ledger, findings: &mut Vec<Finding>, attempts: &mut Vec<http::Attempt>, rec: &mut ServiceRecord) {
    const CRED: &str = "AITE-NET-SSH-PASSWORD-DEFAULT-CREDENTIAL";
    let ask = |user: &str| budget.step(options.step_timeout).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| ssh::auth_methods(addr, user, t));
    let user = format!("aite{:05x}", rand::random::<u32>() & 0xfffff);
    let methods = match ask(&user) {
        Ok(m) => m,
        Err(why) => {
            ledger.not_examined(&[CRED], s, format!("auth methods not read: {why}"));
            return;
        }
    };
    rec.ssh_auth_methods = Some(methods.clone());
    if methods.iter().any(|m| m == "none") {
        ledger.examined(&[CRED], s);
        findings.push(rules::fail(CRED, s, format!("the SSH server lets the random user {user:?} in without any authentication (method none)")).about(ANY_USER));
        return;
    }
    // Methods can differ per user (OpenSSH `Match User`): each user of the default list is
    // asked too (one `none` request each), so a password open to root alone is not missed.
    let mut offered = methods;
    let mut unread = Vec::new();
    let mut defaults: Vec<&str> = http::DEFAULT_CREDENTIALS.iter().map(|(u, _)| *u).collect();
    defaults.dedup();
    for u in defaults {
        match ask(u) {
            Ok(m) if m.iter().any(|m| m == "none") => {
                ledger.examined(&[CRED], s);
                findings.push(rules::fail(CRED, s, format!("the SSH server lets default-list user {u:?} in without any authentication (method none)")).about(u));
                rec.ssh_auth_methods_per_user.push((u.to_string(), m));
                return;
            }
            Ok(m) => {
                offered.extend(m.iter().filter(|m| !offered.contains(m)).cloned().collect::<Vec<_>>());
                rec.ssh_auth_methods_per_user.push((u.to_string(), m));
            }
            Err(why) => unread.push(format!("{u}: {why}")),
        }
    }
    if offered.iter().any(|m| m == "password" || m == "keyboard-interactive") {
        // Password first; keyboard-interactive (PAM's password prompt) when offered and nothing got in.
        let mut tried = Vec::new();
        if offered.iter().any(|m| m == "password") {
            tried = ssh::try_defaults(addr, options.step_timeout, options.credential_pause, options.reveal_passwords, budget);
        }
        let in_already = tried.iter().any(|a| matches!(a.outcome, http::AttemptOutcome::Accepted { .. }));
        if offered.iter().any(|m| m == "keyboard-interactive") && !in_already {
            tried.extend(ssh::try_keyboard_interactive_defaults(addr, options.step_timeout, options.credential_pause, options.reveal_passwords, budget));
        }
        let how = |a: &http::Attempt| if a.service.ends_with("ssh-keyboard-interactive") { "SSH keyboard-interactive" } else { "SSH password" };
        credential_outcome(CRED, s, &tried, |a| format!("user {:?} logs in with default-list entry {} ({})", a.user, a.list_entry, how(a)), ledger, findings);
        attempts.extend(tried);
    } else if unread.is_empty() {
        // No default-list user is offered a password method: examined, nothing to try.
        ledger.examined(&[CRED], s);
    } else {
        ledger.not_examined(&[CRED], s, format!("no password method offered to the users asked, but the methods of {} were not read", unread.join("; ")));
    }
}

/// What examining one open port produced, merged into the report in port order.
struct PortOutcome {
    record: ServiceRecord,
    ledger: rules::Ledger,
    findings: Vec<Finding>,
    attempts: Vec<http::Attempt>,
    gaps: Vec<String>,
}

/// Ports examined at once (each holds a few connections at most).
const SERVICE_WORKERS: usize = 8;

fn examine_ports(ip: IpAddr, open: &[u16], timing: service::Timing, options: &ProbeOptions, budget: &Budget, now: i64) -> Vec<PortOutcome> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for _ in 0..SERVICE_WORKERS.min(open.len()) {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&port) = open.get(i) else { break };
                let o = examine_port(ip, port, timing, options, budget, now);
                done.lock().unwrap_or_else(|e| e.into_inner()).push((i, o));
            });
        }
    });
    let mut v = done.into_inner().unwrap_or_else(|e| e.into_inner());
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, o)| o).collect()
}

fn examine_port(ip: IpAddr, port: u16, timing: service::Timing, options: &ProbeOptions, budget: &Budget, now: i64) -> PortOutcome {
    let (mut l, mut f, mut a, mut g) = (rules::Ledger::default(), Vec::new(), Vec::new(), Vec::new());
    let (ledger, findings, attempts, gaps) = (&mut l, &mut f, &mut a, &mut g);
    let addr = SocketAddr::new(ip, port);
    let s = format!("{addr}/tcp");
    let id = service::identify(addr, timing, budget);
    let mut rec = ServiceRecord { port, service: id.service.clone(), tls: None, ssh: None, ssh_auth_methods: None, ssh_auth_methods_per_user: vec![], ssh_error: None, https_status: None, rtsp: None, oip_status: None, oip: None, onvif: None, signature_algorithm: None, certificate: None };
    match &id.service {
        Service::Unknown { why } => {
            ledger.not_examined(SERVICE_RULES, &s, format!("service not identified: {why}"));
            gaps.push(format!("{s}: service not identified ({why})"));
        }
        Service::Telnet { evidence } => {
            ledger.examined(&["AITE-NET-TELNET"], &s);
            findings.push(rules::fail("AITE-NET-TELNET", &s, format!("telnet on port {port}: {evidence}")).with_excerpt(evidence.clone()));
            const CRED: &str = "AITE-NET-TELNET-DEFAULT-CREDENTIAL";
            let tried = telnet::try_defaults(addr, options.step_timeout, options.credential_pause, options.reveal_passwords, budget);
            credential_outcome(CRED, &s, &tried, |a| format!("user {:?} gets a shell prompt with default-list entry {} (telnet)", a.user, a.list_entry), ledger, findings);
            attempts.extend(tried);
        }
        Service::Ssh => {
            ledger.examined(&["AITE-NET-TELNET"], &s);
            ssh_login_checks(addr, &s, options, budget, ledger, findings, attempts, &mut rec);
            match id.ssh {
                Some(Ok(r)) => {
                    ledger.examined(&["AITE-NET-SSH-WEAK-ALGORITHM"], &s);
                    // One finding per algorithm, keyed by its role and name (`kex diffie-hellman-group1-sha1`).
                    for w in &r.weak {
                        let algorithm = w.split(" (").next().unwrap_or(w);
                        findings.push(rules::fail("AITE-NET-SSH-WEAK-ALGORITHM", &s, format!("{} offers {w}", r.banner)).with_excerpt(r.banner.clone()).about(algorithm));
                    }
                    rec.ssh = Some(r);
                }
                other => {
                    let why = match other {
                        Some(Err(why)) => why,
                        _ => "no KEXINIT read".to_string(),
                    };
                    ledger.not_examined(&["AITE-NET-SSH-WEAK-ALGORITHM"], &s, why.clone());
                    rec.ssh_error = Some(why);
                }
            }
        }
        Service::Tls => {
            ledger.examined(&["AITE-NET-TELNET"], &s);
            let report = tls::probe(addr, options.step_timeout, budget);
            tls_findings(&s, &report, now, ledger, findings, &mut rec);
            // HTTPS: the same HTTP checks inside TLS (rustls speaks TLS 1.2 and 1.3 only).
            if report.offered(tls::TlsVersion::Tls12) || report.offered(tls::TlsVersion::Tls13) {
                let ep = http::Endpoint { addr, tls: true };
                match budget.step(options.step_timeout).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| http::get(ep, "/", None, t)) {
                    Ok(r) if r.protocol.starts_with("HTTP/") => {
                        rec.https_status = Some(r.status);
                        http_checks(ep, &s, r.status, r.header("www-authenticate"), r.header("server"), options, budget, ledger, findings, attempts, &mut rec);
                    }
                    // Another protocol inside TLS (RTSPS, MQTT...): not HTTP, nothing for the HTTP rules.
                    Ok(_) => {}
                    Err(why) if why.starts_with("not an HTTP") => {}
                    Err(why) => ledger.not_examined(HTTP_RULES, &s, format!("HTTP inside TLS: {why}")),
                }
            } else {
                ledger.not_examined(HTTP_RULES, &s, "only TLS versions below 1.2 are offered: the protocol inside is not examined (aite's TLS client speaks 1.2 and 1.3)");
            }
            rec.tls = Some(report);
        }
        Service::Http { status, server, www_authenticate } => {
            ledger.examined(&["AITE-NET-TELNET"], &s);
            http_checks(http::Endpoint::plain(addr), &s, *status, www_authenticate.as_deref(), server.as_deref(), options, budget, ledger, findings, attempts, &mut rec);
        }
        Service::Rtsp { http, .. } => {
            ledger.examined(&["AITE-NET-TELNET"], &s);
            rtsp_checks(addr, &s, options, budget, ledger, findings, attempts, &mut rec);
            // It answered HTTP too (RTSP over HTTP): the HTTP checks run on that answer as well,
            // unless `GET /` got a 5xx (GStreamer's tunnel answers 503 and holds every POST as
            // the tunnel's client half): nothing is served over HTTP there, each HTTP check is
            // listed as not applicable on this port, and `service.http` keeps the answer.
            match http {
                Some(h) if h.status >= 500 => ledger.not_applicable_on(TUNNEL_SKIPPED, &s, rules::NotApplicableCause::RtspOverHttpTunnel { get_status: h.status }),
                Some(h) => http_checks(http::Endpoint::plain(addr), &s, h.status, h.www_authenticate.as_deref(), h.server.as_deref(), options, budget, ledger, findings, attempts, &mut rec),
                None => {}
            }
        }
        Service::Banner { .. } => ledger.examined(&["AITE-NET-TELNET"], &s),
    }
    PortOutcome { record: rec, ledger: l, findings: f, attempts: a, gaps: g }
}

/// Certificate signature algorithms with a broken hash, by OID (RFC 3279, RFC 5758, RFC 6151).
pub fn weak_signature(oid: &str) -> Option<&'static str> {
    match oid {
        "1.2.840.113549.1.1.2" => Some("md2WithRSAEncryption"),
        "1.2.840.113549.1.1.4" => Some("md5WithRSAEncryption"),
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => Some("sha1WithRSAEncryption"),
        "1.2.840.10040.4.3" => Some("dsa-with-sha1"),
        "1.2.840.10045.4.1" => Some("ecdsa-with-SHA1"),
        _ => None,
    }
}

/// A Unix time as an RFC 3339 UTC date (the number itself if out of range).
fn date(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t).ok().and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_else(|| t.to_string())
}
