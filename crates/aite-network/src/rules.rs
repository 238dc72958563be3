//! The network rule catalogue and the ledger its verdicts are decided from.
//!
//! Rules use the static scan's [`Rule`] and [`Finding`] types and its ledger
//! ([`examined::Ledger`] over this [`CATALOGUE`]) so both suites decide and read
//! alike in results.json and SARIF. A rule passes only on subjects it
//! examined (a port scanned, a TLS service whose versions were all answered);
//! a subject it reached but could not examine (timeout, reset, budget spent)
//! makes it "not checked", and nothing to examine makes it "not applicable".
//! A subject a rule deliberately skips (an RTSP port whose HTTP answer is only
//! its tunnel's 5xx) is listed as not applicable on that subject with a typed
//! [`NotApplicableCause`]: it never counts as examined, so it never makes a
//! rule pass, and a rule examined elsewhere keeps that examination's verdict.

use aite_security::examined::{self, Catalogue, RuleOutcome, SUBJECT_LIST_MAX};
use aite_security::finding::Rule;
use aite_security::{Finding, RuleStatus, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const SURFACE: &[&str] = &["ETSI EN 303 645 5.6-1", "EN 18031-1 GEC-2"];
const COMMS: &[&str] = &["ETSI EN 303 645 5.5-1", "EN 18031-1 SCM-1", "EN 18031-1 CRY-1"];
const PW: &[&str] = &["ETSI EN 303 645 5.1-1", "EN 18031-1 AUM-5"];

/// Every network rule, in report order.
pub const RULES: &[Rule] = &[
    Rule { id: "AITE-NET-UNDECLARED-PORT", title: "open TCP port not declared by the manufacturer", severity: Severity::Medium, clauses: SURFACE, help: "close the port or declare the service it carries in the technical documentation", subject: "TCP ports scanned" },
    Rule { id: "AITE-NET-TELNET", title: "telnet service reachable", severity: Severity::High, clauses: &["ETSI EN 303 645 5.6-1", "ETSI EN 303 645 5.5-1", "EN 18031-1 GEC-2"], help: "remove telnetd; use SSH with keys if remote administration is needed", subject: "open ports identified" },
    Rule { id: "AITE-NET-TELNET-DEFAULT-CREDENTIAL", title: "telnet login accepts a well-known default credential", severity: Severity::Critical, clauses: PW, help: "remove telnetd; ship unique per-device passwords (EN 303 645 5.1-1)", subject: "telnet services with a login prompt" },
    Rule { id: "AITE-NET-TLS-LEGACY-VERSION", title: "TLS service offers SSLv2, SSLv3, TLS 1.0 or TLS 1.1", severity: Severity::High, clauses: COMMS, help: "offer TLS 1.2 and 1.3 only (RFC 8996 deprecates TLS 1.0 and 1.1; RFC 7568 SSLv3; RFC 6176 prohibits SSLv2)", subject: "TLS services" },
    Rule { id: "AITE-NET-TLS-WEAK-CIPHER", title: "TLS service accepts a NULL, anonymous, EXPORT, RC4, DES or 3DES cipher suite", severity: Severity::High, clauses: COMMS, help: "accept only AEAD suites with ECDHE (and TLS 1.3's)", subject: "TLS services" },
    Rule { id: "AITE-NET-TLS-CBC-SHA1", title: "TLS service accepts CBC cipher suites with HMAC-SHA1", severity: Severity::Low, clauses: COMMS, help: "prefer AEAD suites (AES-GCM, ChaCha20-Poly1305); CBC-SHA1 suites are legacy", subject: "TLS services" },
    Rule { id: "AITE-NET-TLS-KEY-WEAK", title: "TLS certificate key below 112-bit security strength", severity: Severity::High, clauses: &["EN 18031-1 CCK-1", "EN 18031-1 CRY-1", "ETSI EN 303 645 5.5-1"], help: "use RSA >= 2048 bits, ECDSA P-256 or Ed25519 (SP 800-57)", subject: "TLS certificates" },
    Rule { id: "AITE-NET-TLS-CERT-WEAK-SIGNATURE", title: "TLS certificate signed with MD2, MD5 or SHA-1", severity: Severity::Medium, clauses: &["EN 18031-1 CRY-1", "ETSI EN 303 645 5.5-1"], help: "reissue the certificate with a SHA-256 (or stronger) signature; SHA-1 certificate signatures are forgeable (SHAttered, chosen-prefix collisions)", subject: "TLS certificates" },
    Rule { id: "AITE-NET-TLS-CERT-EXPIRED", title: "TLS certificate expired or not yet valid", severity: Severity::Medium, clauses: &["ETSI EN 303 645 5.5-1", "EN 18031-1 SCM-1"], help: "renew the certificate and plan how devices receive renewed certificates in the field", subject: "TLS certificates" },
    Rule { id: "AITE-NET-TLS-CERT-SELF-SIGNED", title: "TLS certificate is self-signed", severity: Severity::Low, clauses: &["ETSI EN 303 645 5.5-1", "EN 18031-1 SCM-1"], help: "clients cannot authenticate a self-signed certificate; issue it from a CA the clients trust", subject: "TLS certificates" },
    Rule { id: "AITE-NET-SSH-PASSWORD-DEFAULT-CREDENTIAL", title: "SSH password or keyboard-interactive login accepts a well-known default credential", severity: Severity::Critical, clauses: PW, help: "disable password logins (keys only) or ship unique per-device passwords (EN 303 645 5.1-1)", subject: "SSH services whose auth methods were read" },
    Rule { id: "AITE-NET-SSH-WEAK-ALGORITHM", title: "SSH server offers a deprecated key exchange, cipher, MAC or host key algorithm", severity: Severity::Medium, clauses: COMMS, help: "drop the algorithms RFC 9142 and RFC 8758 deprecate (diffie-hellman-group1/14-sha1, arcfour, 3des-cbc, hmac-md5, ssh-dss)", subject: "SSH services" },
    Rule { id: "AITE-NET-HTTP-DEFAULT-CREDENTIAL", title: "HTTP Basic or Digest authentication accepts a well-known default credential", severity: Severity::Critical, clauses: PW, help: "ship unique per-device passwords or force the user to set one (EN 303 645 5.1-1)", subject: "HTTP services asking for Basic or Digest authentication" },
    Rule { id: "AITE-NET-HTTP-UNAUTHENTICATED", title: "HTTP service serves its page (GET /) without authentication", severity: Severity::Medium, clauses: &["ETSI EN 303 645 5.5-5", "EN 18031-1 ACM-1", "EN 18031-1 AUM-1-1"], help: "ask for credentials (Digest, or a login over HTTPS) before serving the device's web interface; a 401 or 403 to an anonymous GET / shows it does", subject: "HTTP services asked GET /" },
    Rule { id: "AITE-NET-HTTP-SERVER-BANNER", title: "HTTP Server header names the server's version", severity: Severity::Low, clauses: &["ETSI EN 303 645 5.6-2"], help: "send no Server header, or one without a version (lighttpd: server.tag; nginx: server_tokens off; Apache: ServerTokens Prod); a version tells an attacker which published vulnerabilities apply", subject: "HTTP services asked GET /" },
    Rule { id: "AITE-NET-RTSP-UNAUTHENTICATED", title: "camera stream (RTSP) served without authentication", severity: Severity::High, clauses: &["ETSI EN 303 645 5.5-1", "EN 18031-1 ACM-1", "EN 18031-1 AUM-1-1"], help: "require RTSP authentication (Digest) on every stream route", subject: "RTSP services" },
    Rule { id: "AITE-NET-RTSP-DEFAULT-CREDENTIAL", title: "RTSP Basic or Digest authentication accepts a well-known default credential", severity: Severity::Critical, clauses: PW, help: "ship unique per-device passwords or force the user to set one (EN 303 645 5.1-1); prefer Digest", subject: "RTSP services asking for Basic or Digest authentication" },
    Rule { id: "AITE-NET-OIP-UNAUTHENTICATED", title: "inference API (Open Inference Protocol) answers without authentication", severity: Severity::High, clauses: &["ETSI EN 303 645 5.5-1", "EN 18031-1 ACM-1", "EU AI Act Art. 15(5)"], help: "require authentication on the inference server, or bind it to loopback behind an authenticating proxy", subject: "HTTP services asked GET /v2" },
    Rule { id: "AITE-NET-OIP-REPOSITORY-UNAUTHENTICATED", title: "model repository API (index, load, unload) of the inference server answers without authentication", severity: Severity::High, clauses: &["ETSI EN 303 645 5.5-1", "EN 18031-1 ACM-1", "EU AI Act Art. 15(5)"], help: "require authentication on the model repository API or disable it (Triton: --model-control-mode=none); anyone reaching it can swap or unload the models", subject: "HTTP services asked POST /v2/repository/index" },
    Rule { id: "AITE-NET-OIP-MALFORMED-INPUT", title: "inference server does not reject malformed or oversized tensors with a 4xx", severity: Severity::Medium, clauses: &["ETSI EN 303 645 5.13-1", "EU AI Act Art. 15(4)"], help: "validate each request (JSON, datatype, shape against the data and the model, size limits) and answer 400/413; a 5xx, a dropped connection or no answer shows unvalidated input reaching the runtime", subject: "inference servers whose infer route is reachable without authentication" },
    Rule { id: "AITE-NET-ONVIF-UNAUTHENTICATED", title: "camera control (ONVIF device service) answers GetDeviceInformation or GetUsers without authentication", severity: Severity::High, clauses: &["ETSI EN 303 645 5.5-1", "EN 18031-1 ACM-1", "EN 18031-1 AUM-1-1"], help: "require WS-UsernameToken (or HTTP Digest) on every ONVIF operation except GetSystemDateAndTime and the capability queries", subject: "ONVIF device services" },
    Rule { id: "AITE-NET-ONVIF-DEFAULT-CREDENTIAL", title: "ONVIF WS-UsernameToken accepts a well-known default credential", severity: Severity::Critical, clauses: PW, help: "ship unique per-device passwords or force the user to set one (EN 303 645 5.1-1)", subject: "ONVIF device services asking for a UsernameToken" },
];

pub fn rule(id: &str) -> &'static Rule {
    RULES.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("unknown network rule {id}"))
}

/// A failing finding of network rule `rule_id` on `subject` (`127.0.0.1:443/tcp`). Where one
/// endpoint can carry several findings of the rule, the caller names each with
/// [`Finding::about`]: the TLS version or suite, the SSH algorithm, the RTSP route, the account
/// tried, the OIP model; never a timing, a date or a count, so a release diff follows it.
pub fn fail(rule_id: &str, subject: &str, message: impl Into<String>) -> Finding {
    let r = rule(rule_id);
    Finding { rule: r.id.into(), severity: r.severity, status: RuleStatus::Fail, message: message.into(), path: subject.into(), line: None, offset: None, excerpt: None, clauses: r.clauses.iter().map(|c| c.to_string()).collect(), key: None }
}

/// Why a rule does not apply to one subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum NotApplicableCause {
    /// The port speaks RTSP and its only HTTP is the RTSP-over-HTTP tunnel, which answered
    /// `GET /` with this 5xx (GStreamer's rtsp-server: 503, every POST held as the tunnel's
    /// client half): nothing is served over HTTP there.
    RtspOverHttpTunnel { get_status: u16 },
}

impl std::fmt::Display for NotApplicableCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotApplicableCause::RtspOverHttpTunnel { get_status } => write!(f, "port identified as RTSP (its RTSP-over-HTTP tunnel answered GET / with HTTP {get_status}); the RTSP checks cover it"),
        }
    }
}

/// A subject a rule reached and does not apply to, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubjectNotApplicable {
    pub subject: String,
    pub cause: NotApplicableCause,
    /// The cause in one sentence.
    pub why: String,
}

/// A network rule's outcome: the static scan's [`RuleOutcome`] and the subjects it does not
/// apply to (the first [`SUBJECT_LIST_MAX`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkRuleOutcome {
    #[serde(flatten)]
    pub outcome: RuleOutcome,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_applicable: Vec<SubjectNotApplicable>,
}

impl std::ops::Deref for NetworkRuleOutcome {
    type Target = RuleOutcome;
    fn deref(&self) -> &RuleOutcome {
        &self.outcome
    }
}

/// The network catalogue for the static scan's ledger: the same verdicts, worded for a probe.
pub const CATALOGUE: Catalogue = Catalogue { rules: RULES, scan: "probe", rest: "", met: "reached", place: "on the target", complete_regardless: &[] };

/// What each network rule examined during one probe: the static scan's [`examined::Ledger`]
/// over [`CATALOGUE`], and the subjects each rule does not apply to.
#[derive(Debug, Clone)]
pub struct Ledger {
    examined: examined::Ledger,
    not_applicable_on: BTreeMap<&'static str, Vec<SubjectNotApplicable>>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger { examined: examined::Ledger::new(CATALOGUE), not_applicable_on: BTreeMap::new() }
    }
}

impl Ledger {
    pub fn examined(&mut self, rules: &[&str], subject: &str) {
        self.examined.examined(rules, subject);
    }

    pub fn not_examined(&mut self, rules: &[&str], subject: &str, cause: impl Into<String>) {
        self.examined.not_examined(rules, subject, cause);
    }

    /// `rules` do not apply to `subject` (reached, deliberately not run there): listed, not examined.
    pub fn not_applicable_on(&mut self, rules: &[&str], subject: &str, cause: NotApplicableCause) {
        for r in rules {
            let list = self.not_applicable_on.entry(rule(r).id).or_default();
            if list.len() < SUBJECT_LIST_MAX {
                list.push(SubjectNotApplicable { subject: subject.to_string(), cause, why: cause.to_string() });
            }
        }
    }

    /// Add what `other` recorded (another port's examination) after what this one holds.
    pub fn merge(&mut self, other: Ledger) {
        self.examined.merge(other.examined);
        for (id, o) in other.not_applicable_on {
            let list = self.not_applicable_on.entry(id).or_default();
            list.extend(o);
            list.truncate(SUBJECT_LIST_MAX);
        }
    }

    /// `rule` could not run at all (e.g. no declared ports given).
    pub fn not_checked(&mut self, rule: &str, why: impl Into<String>) {
        self.examined.not_checked(rule, why);
    }

    pub fn not_applicable_because(&mut self, rule: &str, why: impl Into<String>) {
        self.examined.not_applicable_because(rule, why);
    }

    /// Decide every rule. `incomplete`: why the probe did not cover all it was
    /// asked to (total budget spent); then no rule passes. A rule not applicable names the
    /// subjects it was not applicable on.
    pub fn outcomes(&self, findings: &[Finding], incomplete: Option<&str>) -> Vec<NetworkRuleOutcome> {
        self.examined
            .outcomes(findings, incomplete)
            .into_iter()
            .map(|mut outcome| {
                let not_applicable = RULES.iter().find(|r| r.id == outcome.rule).and_then(|r| self.not_applicable_on.get(r.id)).cloned().unwrap_or_default();
                if let (RuleStatus::NotApplicable, Some(n)) = (outcome.status, not_applicable.first()) {
                    outcome.reason.push_str(&format!("; not applicable on {} subject(s) (first: {}: {})", not_applicable.len(), n.subject, n.why));
                }
                NetworkRuleOutcome { outcome, not_applicable }
            })
            .collect()
    }
}

/// SARIF 2.1.0 for network findings: the static scan's writer, with this catalogue as the driver's rules.
pub fn sarif(findings: &[Finding], tool_version: &str, properties: serde_json::Value) -> serde_json::Value {
    let mut log = aite_security::sarif::sarif(findings, tool_version, properties);
    let run = &mut log["runs"][0];
    run["tool"]["driver"]["rules"] = serde_json::Value::Array(
        RULES
            .iter()
            .map(|r| {
                let level = match r.severity {
                    Severity::Critical | Severity::High => "error",
                    Severity::Medium => "warning",
                    Severity::Low | Severity::Info => "note",
                };
                serde_json::json!({ "id": r.id, "name": r.title, "shortDescription": { "text": r.title }, "help": { "text": r.help }, "defaultConfiguration": { "level": level }, "properties": { "severity": r.severity, "clauses": r.clauses } })
            })
            .collect(),
    );
    if let Some(results) = run["results"].as_array_mut() {
        for res in results {
            match RULES.iter().position(|r| Some(r.id) == res["ruleId"].as_str()) {
                Some(i) => res["ruleIndex"] = serde_json::json!(i),
                None => {
                    if let Some(o) = res.as_object_mut() {
                        o.remove("ruleIndex");
                    }
                }
            }
        }
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_needs_an_examined_subject() {
        let mut l = Ledger::default();
        l.examined(&["AITE-NET-TELNET"], "127.0.0.1:22/tcp");
        l.examined(&["AITE-NET-TLS-LEGACY-VERSION"], "127.0.0.1:443/tcp");
        l.not_examined(&["AITE-NET-TLS-LEGACY-VERSION"], "127.0.0.1:8443/tcp", "no answer to the TLS 1.0 ClientHello within 2 s");
        l.not_checked("AITE-NET-UNDECLARED-PORT", "no declared ports given (--declared)");
        let f = vec![fail("AITE-NET-SSH-WEAK-ALGORITHM", "127.0.0.1:22/tcp", "kex diffie-hellman-group1-sha1")];
        let o = l.outcomes(&f, None);
        let s = |id: &str| o.iter().find(|x| x.rule == id).unwrap().status;
        assert_eq!(s("AITE-NET-TELNET"), RuleStatus::Pass);
        assert_eq!(s("AITE-NET-TLS-LEGACY-VERSION"), RuleStatus::NotChecked);
        assert_eq!(s("AITE-NET-UNDECLARED-PORT"), RuleStatus::NotChecked);
        assert_eq!(s("AITE-NET-SSH-WEAK-ALGORITHM"), RuleStatus::Fail);
        assert_eq!(s("AITE-NET-HTTP-DEFAULT-CREDENTIAL"), RuleStatus::NotApplicable);
        // The static scan's ledger, worded for a probe (the reasons as before the two were one).
        let reason = |o: &[NetworkRuleOutcome], id: &str| o.iter().find(|x| x.rule == id).unwrap().reason.clone();
        assert_eq!(reason(&o, "AITE-NET-TLS-LEGACY-VERSION"), "1 TLS services reached but not examined (first: 127.0.0.1:8443/tcp: no answer to the TLS 1.0 ClientHello within 2 s); 1 TLS services examined without a failure");
        assert_eq!(reason(&o, "AITE-NET-HTTP-DEFAULT-CREDENTIAL"), "no HTTP services asking for Basic or Digest authentication on the target");
        let o = l.outcomes(&f, Some("total budget of 1 s spent"));
        assert!(o.iter().all(|x| x.status != RuleStatus::Pass));
        assert_eq!(reason(&o, "AITE-NET-TELNET"), "the probe is incomplete (total budget of 1 s spent): 1 open ports identified examined without a failure");
        // Two ports examined apart, merged: counts add up, subjects keep their order, the first reason stays.
        let (mut a, mut b) = (Ledger::default(), Ledger::default());
        a.examined(&["AITE-NET-TELNET"], "p1");
        b.examined(&["AITE-NET-TELNET"], "p2");
        b.not_examined(&["AITE-NET-SSH-WEAK-ALGORITHM"], "p2", "no KEXINIT read");
        a.merge(b);
        let m = a.outcomes(&[], None);
        let t = m.iter().find(|x| x.rule == "AITE-NET-TELNET").unwrap();
        assert_eq!((t.examined, t.subjects.clone(), t.status), (2, vec!["p1".to_string(), "p2".to_string()], RuleStatus::Pass));
        assert_eq!(m.iter().find(|x| x.rule == "AITE-NET-SSH-WEAK-ALGORITHM").unwrap().status, RuleStatus::NotChecked);
        // Not applicable on a subject: never a pass on its own; beside an examination, that examination's verdict.
        let mut l = Ledger::default();
        let tunnel = NotApplicableCause::RtspOverHttpTunnel { get_status: 503 };
        l.not_applicable_on(&["AITE-NET-HTTP-DEFAULT-CREDENTIAL", "AITE-NET-OIP-UNAUTHENTICATED"], "127.0.0.1:554/tcp", tunnel);
        let mut other = Ledger::default();
        other.examined(&["AITE-NET-OIP-UNAUTHENTICATED"], "127.0.0.1:8080/tcp");
        l.merge(other);
        let o = l.outcomes(&[], None);
        let get = |id: &str| o.iter().find(|x| x.rule == id).unwrap().clone();
        let http = get("AITE-NET-HTTP-DEFAULT-CREDENTIAL");
        assert_eq!((http.status, http.examined), (RuleStatus::NotApplicable, 0), "{http:?}");
        assert!(http.reason.contains("127.0.0.1:554/tcp: port identified as RTSP (its RTSP-over-HTTP tunnel answered GET / with HTTP 503)"), "{}", http.reason);
        let oip = get("AITE-NET-OIP-UNAUTHENTICATED");
        assert_eq!((oip.status, oip.examined, oip.subjects.clone()), (RuleStatus::Pass, 1, vec!["127.0.0.1:8080/tcp".to_string()]), "{oip:?}");
        assert_eq!(oip.not_applicable, vec![SubjectNotApplicable { subject: "127.0.0.1:554/tcp".into(), cause: tunnel, why: tunnel.to_string() }]);
        let json = serde_json::to_value(&oip).unwrap();
        assert_eq!((json["status"].as_str(), json["not_applicable"][0]["cause"]["kind"].as_str(), json["not_applicable"][0]["cause"]["get_status"].as_u64()), (Some("pass"), Some("rtsp-over-http-tunnel"), Some(503)), "{json}");
        assert!(serde_json::to_value(get("AITE-NET-TELNET")).unwrap().get("not_applicable").is_none(), "no empty list in the evidence");
        let log = sarif(&f, "0", serde_json::json!({}));
        let i = log["runs"][0]["results"][0]["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(log["runs"][0]["tool"]["driver"]["rules"][i]["id"], "AITE-NET-SSH-WEAK-ALGORITHM");
    }
}
