//! What software the image contains, and which of it has known vulnerabilities.
//!
//! Components come from the package databases (dpkg `var/lib/dpkg/status` and
//! `status.d/`, opkg `usr/lib/opkg/status`, apk `lib/apk/db/installed`), from
//! version strings of well-known binaries that firmware builds often add
//! outside any package manager (BusyBox, OpenSSL, Dropbear, lighttpd), and
//! from the kernel (`lib/modules/<release>`). [`cyclonedx`] writes them as a
//! CycloneDX 1.5 SBOM; [`match_osv`] matches them, offline, against an OSV
//! feed the user supplies (OSV JSON records, arrays, folders or osv.dev zip
//! exports), comparing versions the way each ecosystem does (dpkg rules for
//! Debian, a segment-wise comparison elsewhere). Each matched vulnerability's
//! CVSS base score is computed from its vectors ([`base_score`]: v2.0, v3.0,
//! v3.1 and v4.0's CVSS-B, with the RustSec `cvss` crate); one that has no
//! vector that scores is recorded unscored with why, never as 0.

use crate::finding::Finding;
use crate::tree::Tree;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::path::{Path, PathBuf};

/// One piece of software found in the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    pub version: String,
    /// `Debian`, `Alpine`, `OpenWrt` (opkg) or `generic` (version strings).
    pub ecosystem: String,
    /// Source package, when the database names one (Debian `Source:`, apk `o:`).
    pub source: Option<String>,
    pub arch: Option<String>,
    pub purl: String,
    /// Where it was found: the package database or the binary.
    pub evidence: String,
}

/// A known vulnerability of a component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: String,
    /// The component's purl.
    pub component: String,
    /// First fixed version, when the feed names one.
    pub fixed: Option<String>,
    /// CVSS vectors or severity words from the record.
    pub severity: Vec<String>,
    /// The CVSS base score of the record's highest-scoring vector (CVSS-B for
    /// v4.0); `None` when no vector scores (`cvss_unscored` says why).
    #[serde(default)]
    pub cvss_base: Option<f64>,
    /// The version of the vector `cvss_base` comes from.
    #[serde(default)]
    pub cvss_version: Option<CvssVersion>,
    /// The vector `cvss_base` comes from.
    #[serde(default)]
    pub cvss_vector: Option<String>,
    /// Why no base score was computed (only severity words, a vector that does not parse).
    #[serde(default)]
    pub cvss_unscored: Option<String>,
}

/// The CVSS version of a scored vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CvssVersion {
    #[serde(rename = "2.0")]
    V2_0,
    #[serde(rename = "3.0")]
    V3_0,
    #[serde(rename = "3.1")]
    V3_1,
    #[serde(rename = "4.0")]
    V4_0,
}

impl CvssVersion {
    /// CycloneDX's rating method for this version.
    pub fn cyclonedx_method(self) -> &'static str {
        match self {
            CvssVersion::V2_0 => "CVSSv2",
            CvssVersion::V3_0 => "CVSSv3",
            CvssVersion::V3_1 => "CVSSv31",
            CvssVersion::V4_0 => "CVSSv4",
        }
    }
}

impl std::fmt::Display for CvssVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CvssVersion::V2_0 => "2.0",
            CvssVersion::V3_0 => "3.0",
            CvssVersion::V3_1 => "3.1",
            CvssVersion::V4_0 => "4.0",
        })
    }
}

/// What the vulnerability match concluded, for a bound on CVSS base scores
/// (`suites.security.vulnerability_summary` in results.json).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilitySummary {
    /// An OSV feed was given; without one nothing was matched.
    pub feed_given: bool,
    /// Records in the feed (`None`: no feed).
    pub feed_records: Option<usize>,
    /// Components inventoried, each matched against the feed.
    pub components: usize,
    /// Vulnerabilities matched (one per advisory and component).
    pub matched: usize,
    /// The highest CVSS base score among them; `None` when none was scored.
    pub max_cvss_base: Option<f64>,
    /// Matched vulnerabilities without a computable base score.
    pub unscored: usize,
}

/// The summary of matching `components` components against `feed_records` records (`None`: no feed).
pub fn summary(components: usize, feed_records: Option<usize>, vulns: &[Vulnerability]) -> VulnerabilitySummary {
    VulnerabilitySummary {
        feed_given: feed_records.is_some(),
        feed_records,
        components,
        matched: vulns.len(),
        max_cvss_base: vulns.iter().filter_map(|v| v.cvss_base).reduce(f64::max),
        unscored: vulns.iter().filter(|v| v.cvss_base.is_none()).count(),
    }
}

/// v4.0's base metrics: the CVSS-B score reads these alone.
const V4_BASE: &[&str] = &["AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA"];

/// The CVSS base score of one vector (`CVSS:3.1/...`, `CVSS:4.0/...`, or a
/// v2.0 vector without prefix, as OSV's `CVSS_V2` gives it). Temporal,
/// threat, environmental and supplemental metrics do not enter a base score;
/// for v4.0 they are dropped before scoring, so the score is CVSS-B.
pub fn base_score(vector: &str) -> Result<(CvssVersion, f64), String> {
    let vector = vector.trim();
    let bad = |e: cvss::Error| format!("`{vector}` is not a CVSS vector that scores: {e}");
    if let Some(rest) = vector.strip_prefix("CVSS:4.0/") {
        let base: Vec<&str> = rest.split('/').filter(|m| m.split(':').next().is_some_and(|k| V4_BASE.contains(&k.to_ascii_uppercase().as_str()))).collect();
        let v: cvss::v4::Vector = format!("CVSS:4.0/{}", base.join("/")).parse().map_err(bad)?;
        return Ok((CvssVersion::V4_0, v.score().value()));
    }
    // The v3 parser leaves an absent base metric at 0 (a lower score): require them all.
    let keys: Vec<&str> = vector.split('/').filter_map(|m| m.split(':').next()).collect();
    let required: &[&str] = if vector.starts_with("CVSS:3.") { &["AV", "AC", "PR", "UI", "S", "C", "I", "A"] } else { &["AV", "AC", "Au", "C", "I", "A"] };
    if let Some(k) = required.iter().find(|k| !keys.contains(k)) {
        return Err(format!("`{vector}` lacks the base metric {k}: no base score"));
    }
    match vector.parse::<cvss::Cvss>().map_err(bad)? {
        cvss::Cvss::CvssV20(v) => Ok((CvssVersion::V2_0, v.score().value())),
        cvss::Cvss::CvssV30(v) => Ok((CvssVersion::V3_0, v.base_score().value())),
        cvss::Cvss::CvssV31(v) => Ok((CvssVersion::V3_1, v.base_score().value())),
        other => Err(format!("`{vector}`: CVSS version not scored ({other:?})")),
    }
}

/// Score a record's severity entries: the highest base score over its vectors
/// (the newest version on a tie), or why none scores.
fn score(severity: &[String]) -> Result<(CvssVersion, f64, String), String> {
    let is_vector = |s: &str| s.starts_with("CVSS:") || s.starts_with("AV:");
    let mut best: Option<(CvssVersion, f64, String)> = None;
    let mut why = Vec::new();
    for s in severity.iter().filter(|s| is_vector(s)) {
        match base_score(s) {
            Ok((ver, b)) => {
                if best.as_ref().is_none_or(|(bv, bb, _)| (b, ver) > (*bb, *bv)) {
                    best = Some((ver, b, s.clone()));
                }
            }
            Err(e) => why.push(e),
        }
    }
    if let Some(b) = best {
        return Ok(b);
    }
    let words: Vec<&str> = severity.iter().filter(|s| !is_vector(s)).map(String::as_str).collect();
    if !words.is_empty() {
        why.push(format!("only severity words ({}), no CVSS vector", words.join(", ")));
    }
    if why.is_empty() {
        why.push("the record gives no severity".into());
    }
    Err(format!("CVSS base score not computed: {}", why.join("; ")))
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("cannot read the OSV feed {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not an OSV record, array or zip of records: {reason}")]
    Format { path: PathBuf, reason: String },
}

/// Every component the tree reveals, sorted and de-duplicated.
pub fn inventory(tree: &Tree) -> Vec<Component> {
    let mut out = Vec::new();
    if let Some(text) = tree.read("var/lib/dpkg/status") {
        out.extend(control_paragraphs(&String::from_utf8_lossy(&text), "var/lib/dpkg/status", "Debian"));
    }
    for e in tree.files().filter(|e| e.path.starts_with("var/lib/dpkg/status.d/")) {
        if let Some(text) = tree.read(&e.path) {
            out.extend(control_paragraphs(&String::from_utf8_lossy(&text), &e.path, "Debian"));
        }
    }
    for db in ["usr/lib/opkg/status", "var/lib/opkg/status"] {
        if let Some(text) = tree.read(db) {
            out.extend(control_paragraphs(&String::from_utf8_lossy(&text), db, "OpenWrt"));
        }
    }
    if let Some(text) = tree.read("lib/apk/db/installed") {
        out.extend(apk_installed(&String::from_utf8_lossy(&text)));
    }
    out.extend(binaries(tree));
    out.sort_by(|a, b| (&a.name, &a.version, &a.evidence).cmp(&(&b.name, &b.version, &b.evidence)));
    out.dedup_by(|a, b| a.purl == b.purl);
    out
}

/// Characters left as they are in purl segments.
fn purl_encode(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._-~+".contains(c) { c.to_string() } else { format!("%{:02X}", c as u32) })
        .collect()
}

fn purl(kind: &str, namespace: &str, name: &str, version: &str, arch: Option<&str>) -> String {
    let mut p = format!("pkg:{kind}/");
    if !namespace.is_empty() {
        p.push_str(namespace);
        p.push('/');
    }
    p.push_str(&purl_encode(name));
    if !version.is_empty() {
        p.push('@');
        p.push_str(&purl_encode(version));
    }
    if let Some(a) = arch.filter(|a| !a.is_empty()) {
        p.push_str("?arch=");
        p.push_str(&purl_encode(a));
    }
    p
}

/// dpkg/opkg status files: RFC 822-style paragraphs.
fn control_paragraphs(text: &str, db: &str, ecosystem: &str) -> Vec<Component> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let field = |name: &str| para.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')).map(|v| v.trim().to_string()));
        let (Some(name), Some(version)) = (field("Package"), field("Version")) else { continue };
        // Only installed packages (dpkg keeps removed ones with config files).
        if field("Status").is_some_and(|s| !s.ends_with(" installed")) {
            continue;
        }
        let arch = field("Architecture");
        let source = field("Source").map(|s| s.split_whitespace().next().unwrap_or("").to_string()).filter(|s| !s.is_empty());
        let purl = if ecosystem == "Debian" { purl("deb", "debian", &name, &version, arch.as_deref()) } else { purl("generic", "openwrt", &name, &version, arch.as_deref()) };
        out.push(Component { name, version, ecosystem: ecosystem.into(), source, arch, purl, evidence: db.into() });
    }
    out
}

/// apk's installed database: `P:`, `V:`, `A:`, `o:` lines, blank-line separated.
fn apk_installed(text: &str) -> Vec<Component> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let field = |k: &str| para.lines().find_map(|l| l.strip_prefix(k).map(str::to_string));
        let (Some(name), Some(version)) = (field("P:"), field("V:")) else { continue };
        let arch = field("A:");
        let purl = purl("apk", "alpine", &name, &version, arch.as_deref());
        out.push(Component { name, version, ecosystem: "Alpine".into(), source: field("o:"), arch, purl, evidence: "lib/apk/db/installed".into() });
    }
    out
}

/// Version strings of programs commonly built into firmware outside packages.
fn binaries(tree: &Tree) -> Vec<Component> {
    // (component, file-name test, marker right before the version)
    type Probe = (&'static str, fn(&str) -> bool, &'static [u8]);
    const PROBES: &[Probe] = &[
        ("busybox", |f| f == "busybox", b"BusyBox v"),
        ("openssl", |f| f.starts_with("libcrypto.so") || f.starts_with("libssl.so") || f == "openssl", b"OpenSSL "),
        ("dropbear", |f| f.starts_with("dropbear") || f == "dbclient", b"dropbear_"),
        ("lighttpd", |f| f == "lighttpd", b"lighttpd/"),
    ];
    let mut out = Vec::new();
    for e in tree.files() {
        let file = e.path.rsplit('/').next().unwrap_or(&e.path);
        for (name, matches, marker) in PROBES {
            if !matches(file) {
                continue;
            }
            let Some(bytes) = tree.read(&e.path) else { continue };
            if let Some(version) = version_after(&bytes, marker) {
                out.push(Component { name: name.to_string(), version: version.clone(), ecosystem: "generic".into(), source: None, arch: None, purl: purl("generic", "", name, &version, None), evidence: e.path.clone() });
            }
        }
    }
    // The kernel release, from the module folder names.
    for e in tree.entries.values() {
        if let Some(release) = e.path.strip_prefix("lib/modules/").filter(|r| !r.contains('/') && r.chars().next().is_some_and(|c| c.is_ascii_digit())) {
            let version = release.split(['-', '+']).next().unwrap_or(release).to_string();
            out.push(Component { name: "linux".into(), version, ecosystem: "generic".into(), source: None, arch: None, purl: purl("generic", "", "linux", release, None), evidence: e.path.clone() });
        }
    }
    out
}

/// The first plausible version number right after `marker` (digits and dots,
/// optionally one letter suffix as OpenSSL 1.1.1w has).
fn version_after(bytes: &[u8], marker: &[u8]) -> Option<String> {
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&bytes[from..], marker) {
        let start = from + i + marker.len();
        let v: String = bytes[start..].iter().take(24).take_while(|b| b.is_ascii_alphanumeric() || **b == b'.').map(|&b| b as char).collect();
        let v = v.trim_end_matches('.').to_string();
        if v.starts_with(|c: char| c.is_ascii_digit()) && v.contains('.') {
            return Some(v);
        }
        from = start;
    }
    None
}

/// Compare two versions of `ecosystem`.
pub fn compare_versions(ecosystem: &str, a: &str, b: &str) -> Ordering {
    if ecosystem.starts_with("Debian") || ecosystem.starts_with("Ubuntu") {
        if let (Ok(x), Ok(y)) = (a.parse::<debversion::Version>(), b.parse::<debversion::Version>()) {
            return x.cmp(&y);
        }
    }
    segments_cmp(a, b)
}

/// Segment-wise comparison: runs of digits numerically, runs of letters
/// lexically, a letter suffix after a number later than the bare number
/// (1.1.1w > 1.1.1), and `-rN` package releases last (Alpine, OpenWrt).
fn segments_cmp(a: &str, b: &str) -> Ordering {
    fn split(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            if !c.is_ascii_alphanumeric() {
                out.push((false, String::new()));
                continue;
            }
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, seg)) if *d == digit && !seg.is_empty() => seg.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out.into_iter().filter(|(_, s)| !s.is_empty()).collect()
    }
    let (x, y) = (split(a), split(b));
    for (p, q) in x.iter().zip(&y) {
        let o = match (p.0, q.0) {
            (true, true) => {
                let (m, n) = (p.1.trim_start_matches('0'), q.1.trim_start_matches('0'));
                m.len().cmp(&n.len()).then_with(|| m.cmp(n))
            }
            (false, false) => p.1.cmp(&q.1),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    x.len().cmp(&y.len())
}

/// Read every OSV record under `path` (a .json record or array, a folder of
/// them, or a .zip export).
pub fn load_osv(path: &Path) -> Result<Vec<serde_json::Value>, FeedError> {
    let io = |source| FeedError::Io { path: path.into(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    let mut out = Vec::new();
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path).map_err(io)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() || p.extension().is_some_and(|x| x == "json" || x == "zip") {
                out.extend(load_osv(&p)?);
            }
        }
        return Ok(out);
    }
    let bytes = std::fs::read(path).map_err(io)?;
    if bytes.starts_with(b"PK\x03\x04") {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| FeedError::Format { path: path.into(), reason: e.to_string() })?;
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).map_err(|e| FeedError::Format { path: path.into(), reason: e.to_string() })?;
            if !f.name().ends_with(".json") {
                continue;
            }
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut buf).map_err(io)?;
            push_records(&mut out, &buf, &path.join(f.name()))?;
        }
        return Ok(out);
    }
    push_records(&mut out, &bytes, path)?;
    Ok(out)
}

fn push_records(out: &mut Vec<serde_json::Value>, bytes: &[u8], path: &Path) -> Result<(), FeedError> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| FeedError::Format { path: path.into(), reason: e.to_string() })?;
    match v {
        serde_json::Value::Array(items) => out.extend(items),
        serde_json::Value::Object(ref o) if o.contains_key("vulns") => out.extend(o["vulns"].as_array().cloned().unwrap_or_default()),
        serde_json::Value::Object(ref o) if o.contains_key("id") => out.push(v),
        _ => return Err(FeedError::Format { path: path.into(), reason: "expected an object with `id`, an array, or {\"vulns\": [...]}".into() }),
    }
    Ok(())
}

/// Which OSV ecosystems a component's versions are comparable with.
fn ecosystem_matches(component: &Component, osv_ecosystem: &str) -> bool {
    let base = osv_ecosystem.split(':').next().unwrap_or("");
    match component.ecosystem.as_str() {
        "Debian" => base == "Debian",
        "Alpine" => base == "Alpine",
        // opkg and version strings carry upstream versions: match feeds that do too.
        _ => !matches!(base, "Debian" | "Ubuntu" | "Alpine" | "Red Hat" | "Rocky Linux" | "AlmaLinux" | "SUSE" | "openSUSE" | "Mageia" | "Photon OS" | "Wolfi" | "Chainguard"),
    }
}

/// Whether `version` falls in one OSV `affected` entry.
fn affected_by(version: &str, ecosystem: &str, affected: &serde_json::Value) -> Option<Option<String>> {
    if affected["versions"].as_array().is_some_and(|vs| vs.iter().any(|v| v.as_str() == Some(version))) {
        return Some(None);
    }
    let mut hit = None;
    for range in affected["ranges"].as_array().into_iter().flatten() {
        let kind = range["type"].as_str().unwrap_or("");
        if kind != "ECOSYSTEM" && kind != "SEMVER" {
            continue; // GIT ranges name commits, not versions
        }
        let mut events: Vec<(&str, String)> = range["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                let o = e.as_object()?;
                let (k, v) = o.iter().next()?;
                Some((k.as_str(), v.as_str()?.to_string()))
            })
            .collect();
        // OSV's "0" is before every version.
        let cmp = |a: &str, b: &str| match (a == "0", b == "0") {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => compare_versions(ecosystem, a, b),
        };
        events.sort_by(|a, b| cmp(&a.1, &b.1));
        let mut inside = false;
        let mut fixed = None;
        for (kind, at) in &events {
            match *kind {
                "introduced" if cmp(at, version) != Ordering::Greater => inside = true,
                "fixed" if cmp(at, version) != Ordering::Greater => inside = false,
                "fixed" if inside && fixed.is_none() => fixed = Some(at.clone()),
                "last_affected" if cmp(version, at) == Ordering::Greater => inside = false,
                _ => {}
            }
        }
        if inside {
            hit = Some(fixed);
            break;
        }
    }
    hit
}

/// Match components against OSV records.
pub fn match_osv(components: &[Component], records: &[serde_json::Value]) -> Vec<Vulnerability> {
    let mut out = Vec::new();
    for rec in records {
        let id = rec["id"].as_str().unwrap_or("").to_string();
        if id.is_empty() || rec.get("withdrawn").is_some_and(|w| !w.is_null()) {
            continue;
        }
        for aff in rec["affected"].as_array().into_iter().flatten() {
            let eco = aff["package"]["ecosystem"].as_str().unwrap_or("");
            let pkg = aff["package"]["name"].as_str().unwrap_or("");
            for c in components {
                let names_match = pkg == c.name || c.source.as_deref() == Some(pkg);
                if !names_match || !ecosystem_matches(c, eco) {
                    continue;
                }
                if let Some(fixed) = affected_by(&c.version, eco, aff) {
                    if out.iter().any(|v: &Vulnerability| v.id == id && v.component == c.purl) {
                        continue;
                    }
                    let mut severity: Vec<String> = rec["severity"].as_array().into_iter().flatten().filter_map(|s| s["score"].as_str().map(str::to_string)).collect();
                    if let Some(s) = rec["database_specific"]["severity"].as_str() {
                        severity.push(s.to_string());
                    }
                    let (cvss_version, cvss_base, cvss_vector, cvss_unscored) = match score(&severity) {
                        Ok((ver, b, vec)) => (Some(ver), Some(b), Some(vec), None),
                        Err(why) => (None, None, None, Some(why)),
                    };
                    out.push(Vulnerability {
                        cvss_base,
                        cvss_version,
                        cvss_vector,
                        cvss_unscored,
                        id: id.clone(),
                        aliases: rec["aliases"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_string)).collect(),
                        summary: rec["summary"].as_str().or_else(|| rec["details"].as_str()).unwrap_or("").chars().take(200).collect(),
                        component: c.purl.clone(),
                        fixed,
                        severity,
                    });
                }
            }
        }
    }
    out
}

/// One finding per vulnerable component and advisory.
pub fn findings(components: &[Component], vulns: &[Vulnerability]) -> Vec<Finding> {
    vulns
        .iter()
        .map(|v| {
            let c = components.iter().find(|c| c.purl == v.component);
            let (name, version, at) = c.map(|c| (c.name.as_str(), c.version.as_str(), c.evidence.as_str())).unwrap_or(("?", "?", ""));
            let fix = v.fixed.as_deref().map(|f| format!("; fixed in {f}")).unwrap_or_default();
            let aliases = if v.aliases.is_empty() { String::new() } else { format!(" ({})", v.aliases.join(", ")) };
            let cvss = match (v.cvss_base, v.cvss_version) {
                (Some(b), Some(ver)) => format!("; CVSS {ver} base {b:.1}"),
                _ => "; CVSS base score not computed".into(),
            };
            // The component and the vulnerability identify it (not the version: still affected after an upgrade is the same finding).
            Finding::fail("AITE-VULN-KNOWN", at, format!("{name} {version} is affected by {}{aliases}{fix}{cvss}", v.id)).with_excerpt(format!("{} {}", v.summary, v.severity.join(" ")).trim().to_string()).about(format!("{name} {}", v.id))
        })
        .collect()
}

/// The inventory as a CycloneDX 1.5 JSON document, with model artifacts as
/// `machine-learning-model` components and matched vulnerabilities.
pub fn cyclonedx(input: &str, input_sha256: Option<&str>, components: &[Component], models: &[crate::models::ModelArtifact], vulns: &[Vulnerability], tool_version: &str) -> serde_json::Value {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(input.as_bytes());
    h.update(input_sha256.unwrap_or("").as_bytes());
    for c in components {
        h.update(c.purl.as_bytes());
    }
    let d = hex::encode(h.finalize());
    // A deterministic serial number: the same image gives the same SBOM.
    let serial = format!("urn:uuid:{}-{}-5{}-8{}-{}", &d[0..8], &d[8..12], &d[13..16], &d[17..20], &d[20..32]);
    let mut comps: Vec<serde_json::Value> = components
        .iter()
        .map(|c| {
            let mut props = vec![serde_json::json!({ "name": "aite:evidence", "value": c.evidence }), serde_json::json!({ "name": "aite:ecosystem", "value": c.ecosystem })];
            if let Some(s) = &c.source {
                props.push(serde_json::json!({ "name": "aite:source-package", "value": s }));
            }
            serde_json::json!({
                "type": if c.name == "linux" { "operating-system" } else if c.ecosystem == "generic" { "application" } else { "library" },
                "bom-ref": c.purl, "name": c.name, "version": c.version, "purl": c.purl, "properties": props,
            })
        })
        .collect();
    for m in models {
        comps.push(serde_json::json!({
            "type": "machine-learning-model", "bom-ref": format!("model:{}", m.path), "name": m.path,
            "hashes": [{ "alg": "SHA-256", "content": m.sha256 }],
            "properties": [{ "name": "aite:format", "value": m.format }, { "name": "aite:signature", "value": m.signature.as_ref().map(|s| serde_json::to_value(s.verification.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()).unwrap_or_else(|| "unsigned".into()) }],
        }));
    }
    let vulnerabilities: Vec<serde_json::Value> = vulns
        .iter()
        .map(|v| {
            serde_json::json!({
                "bom-ref": format!("{}@{}", v.id, v.component), "id": v.id, "source": { "name": "OSV" },
                "description": v.summary,
                "references": v.aliases.iter().map(|a| serde_json::json!({ "id": a, "source": { "name": if a.starts_with("CVE-") { "NVD" } else { "OSV" } } })).collect::<Vec<_>>(),
                "ratings": v.severity.iter().map(|s| match base_score(s) {
                    Ok((ver, b)) => serde_json::json!({ "method": ver.cyclonedx_method(), "vector": s, "score": b }),
                    Err(_) if s.starts_with("CVSS:") => serde_json::json!({ "method": if s.starts_with("CVSS:4") { "CVSSv4" } else if s.starts_with("CVSS:3.1") { "CVSSv31" } else { "CVSSv3" }, "vector": s }),
                    Err(_) => serde_json::json!({ "severity": s.to_lowercase(), "method": "other" }),
                }).collect::<Vec<_>>(),
                "recommendation": v.fixed.as_ref().map(|f| format!("upgrade to {f} or later")).unwrap_or_default(),
                "affects": [{ "ref": v.component }],
            })
        })
        .collect();
    let mut meta_component = serde_json::json!({ "type": "firmware", "bom-ref": "input", "name": input });
    if let Some(s) = input_sha256 {
        meta_component["hashes"] = serde_json::json!([{ "alg": "SHA-256", "content": s }]);
    }
    serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": serial, "version": 1,
        "metadata": {
            "timestamp": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "tools": { "components": [{ "type": "application", "name": "aite", "version": tool_version }] },
            "component": meta_component,
        },
        "components": comps,
        "vulnerabilities": vulnerabilities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> (tempfile::TempDir, Tree) {
        let dir = tempfile::tempdir().unwrap();
        let put = |rel: &str, bytes: &[u8]| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        };
        put(
            "var/lib/dpkg/status",
            b"Package: libssl3\nStatus: install ok installed\nArchitecture: arm64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\n\
Package: zlib1g\nStatus: install ok installed\nArchitecture: arm64\nSource: zlib (1:1.2.13.dfsg-1)\nVersion: 1:1.2.13.dfsg-1\n\n\
Package: telnetd\nStatus: deinstall ok config-files\nVersion: 0.17-44\n",
        );
        put("lib/apk/db/installed", b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:aarch64\no:musl\n\nP:busybox-binsh\nV:1.36.1-r5\nA:aarch64\no:busybox\n");
        put("usr/lib/opkg/status", b"Package: dropbear\nVersion: 2022.82-2\nStatus: install user installed\nArchitecture: mipsel_24kc\n");
        put("bin/busybox", b"\x7fELF....BusyBox v1.31.1 (2023-05-01 10:00:00 UTC) multi-call binary");
        put("usr/lib/libcrypto.so.1.1", b"\x7fELF..OpenSSL 1.1.1w  11 Sep 2023\x00");
        put("usr/sbin/lighttpd", b"\x7fELF..lighttpd/1.4.59 (ssl)");
        put("lib/modules/5.10.110-rt63/modules.dep", b"");
        let (tree, _) = crate::unpack::open(dir.path(), &dir.path().join("w"), crate::Limits::default()).unwrap();
        (dir, tree)
    }

    #[test]
    fn packages_and_binaries_are_inventoried_with_purls() {
        let (_d, tree) = image();
        let c = inventory(&tree);
        let got: Vec<(&str, &str, &str)> = c.iter().map(|c| (c.name.as_str(), c.version.as_str(), c.purl.as_str())).collect();
        assert_eq!(
            got,
            [
                ("busybox", "1.31.1", "pkg:generic/busybox@1.31.1"),
                ("busybox-binsh", "1.36.1-r5", "pkg:apk/alpine/busybox-binsh@1.36.1-r5?arch=aarch64"),
                ("dropbear", "2022.82-2", "pkg:generic/openwrt/dropbear@2022.82-2?arch=mipsel_24kc"),
                ("libssl3", "3.0.11-1~deb12u2", "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64"),
                ("lighttpd", "1.4.59", "pkg:generic/lighttpd@1.4.59"),
                ("linux", "5.10.110", "pkg:generic/linux@5.10.110-rt63"),
                ("musl", "1.2.4-r2", "pkg:apk/alpine/musl@1.2.4-r2?arch=aarch64"),
                ("openssl", "1.1.1w", "pkg:generic/openssl@1.1.1w"),
                ("zlib1g", "1:1.2.13.dfsg-1", "pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=arm64"),
            ]
        );
        assert_eq!(c.iter().find(|c| c.name == "libssl3").unwrap().source.as_deref(), Some("openssl"));
        assert_eq!(c.iter().find(|c| c.name == "zlib1g").unwrap().source.as_deref(), Some("zlib"), "Source: with a version in brackets");
    }

    #[test]
    fn versions_compare_per_ecosystem() {
        use Ordering::*;
        for (eco, a, b, want) in [
            ("Debian:12", "1:1.0", "2.0", Greater),
            ("Debian:12", "1.0~rc1", "1.0", Less),
            ("Debian:12", "3.0.11-1~deb12u2", "3.0.11-1", Less),
            ("Debian:12", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", Less),
            ("Alpine:v3.18", "1.36.1-r5", "1.36.1-r4", Greater),
            ("Alpine:v3.18", "1.36.1-r5", "1.36.1-r15", Less),
            ("OSS-Fuzz", "1.1.1w", "1.1.1", Greater),
            ("OSS-Fuzz", "1.1.1w", "1.1.1x", Less),
            ("OSS-Fuzz", "1.36.1", "1.9", Greater),
            ("OSS-Fuzz", "2022.82", "2022.83", Less),
            ("OSS-Fuzz", "1.4.59", "1.4.59", Equal),
        ] {
            assert_eq!(compare_versions(eco, a, b), want, "{eco}: {a} vs {b}");
        }
    }

    /// Feed records in OSV's schema (synthetic identifiers; the matching rules are what is tested).
    fn feed() -> Vec<serde_json::Value> {
        serde_json::from_str(
            r#"[
            {"id": "TEST-DEB-1", "aliases": ["CVE-0000-0001"], "summary": "openssl flaw fixed in a later Debian update",
             "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                           "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.13-1~deb12u1"}]}]}],
             "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]},
            {"id": "TEST-DEB-2", "summary": "already fixed",
             "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                           "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.9-1"}]}]}]},
            {"id": "TEST-UP-1", "summary": "busybox ash overflow",
             "affected": [{"package": {"ecosystem": "OSS-Fuzz", "name": "busybox"},
                           "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.20.0"}, {"fixed": "1.35.0"}]}]}],
             "database_specific": {"severity": "HIGH"}},
            {"id": "TEST-UP-2", "summary": "lighttpd, last affected",
             "affected": [{"package": {"ecosystem": "OSS-Fuzz", "name": "lighttpd"},
                           "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.4.50"}, {"last_affected": "1.4.58"}]}]}]},
            {"id": "TEST-UP-3", "summary": "openssl 1.1.1 listed versions",
             "affected": [{"package": {"ecosystem": "OSS-Fuzz", "name": "openssl"}, "versions": ["1.1.1v", "1.1.1w"]}]},
            {"id": "TEST-ALP-1", "summary": "musl in Alpine",
             "affected": [{"package": {"ecosystem": "Alpine:v3.18", "name": "musl"},
                           "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2.4-r3"}]}]}]},
            {"id": "TEST-GIT", "summary": "git ranges name commits",
             "affected": [{"package": {"ecosystem": "OSS-Fuzz", "name": "busybox"},
                           "ranges": [{"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "abc123"}]}]}]},
            {"id": "TEST-WITHDRAWN", "withdrawn": "2024-01-01T00:00:00Z",
             "affected": [{"package": {"ecosystem": "Debian:12", "name": "zlib"}, "versions": ["1:1.2.13.dfsg-1"]}]}
        ]"#,
        )
        .unwrap()
    }

    #[test]
    fn osv_ranges_versions_and_ecosystems_are_honoured() {
        let (_d, tree) = image();
        let c = inventory(&tree);
        let v = match_osv(&c, &feed());
        let mut hits: Vec<(&str, &str, Option<&str>)> = v.iter().map(|v| (v.id.as_str(), v.component.as_str(), v.fixed.as_deref())).collect();
        hits.sort();
        assert_eq!(
            hits,
            [
                ("TEST-ALP-1", "pkg:apk/alpine/musl@1.2.4-r2?arch=aarch64", Some("1.2.4-r3")),
                ("TEST-DEB-1", "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=arm64", Some("3.0.13-1~deb12u1")),
                ("TEST-UP-1", "pkg:generic/busybox@1.31.1", Some("1.35.0")),
                ("TEST-UP-3", "pkg:generic/openssl@1.1.1w", None),
            ],
            "lighttpd 1.4.59 is past last_affected 1.4.58; the Debian openssl fix 3.0.9 is older than 3.0.11; busybox-binsh 1.36.1 in Alpine is not an OSS-Fuzz busybox"
        );
        let f = findings(&c, &v);
        let deb = f.iter().find(|f| f.message.contains("TEST-DEB-1")).unwrap();
        assert_eq!(deb.path, "var/lib/dpkg/status");
        assert!(deb.message.contains("libssl3 3.0.11-1~deb12u2") && deb.message.contains("CVE-0000-0001") && deb.message.contains("fixed in 3.0.13-1~deb12u1"), "{}", deb.message);
        assert!(deb.excerpt.as_deref().unwrap().contains("CVSS:3.1/"));
        let bom = cyclonedx("fw.bin", Some("ab"), &c, &[], &v, "0.1.0");
        assert_eq!(bom["specVersion"], "1.5");
        assert_eq!(bom["components"].as_array().unwrap().len(), c.len());
        assert_eq!(bom["vulnerabilities"].as_array().unwrap().len(), 4);
        assert_eq!(bom["vulnerabilities"][0]["affects"][0]["ref"], bom["components"].as_array().unwrap().iter().find(|x| x["purl"] == v[0].component).unwrap()["bom-ref"]);
        assert_eq!(bom["serialNumber"], cyclonedx("fw.bin", Some("ab"), &c, &[], &v, "0.1.0")["serialNumber"], "deterministic");
    }

    /// Base scores against published and hand-computed values; each also agrees with
    /// Red Hat's Python `cvss` 3.6 (CVSS2/CVSS3/CVSS4 `.base_score`), except the last v4.0
    /// vector, where that peer reports CVSS-BT 8.1 and a base score is CVSS-B.
    #[test]
    fn cvss_base_scores_match_published_values() {
        for (vector, version, want, source) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CvssVersion::V3_1, 9.8, "NVD CVE-2022-22965 (Spring4Shell), 9.8 CRITICAL"),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", CvssVersion::V3_1, 5.5, "by hand: 6.42 x 0.56 + 8.22 x 0.55 x 0.77 x 0.62 x 0.85 = 5.43, rounded up 5.5 (NVD 5.5 MEDIUM)"),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", CvssVersion::V3_1, 5.9, "by hand: 3.595 + 8.22 x 0.85 x 0.44 x 0.85 x 0.85 = 5.82, rounded up 5.9"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", CvssVersion::V3_1, 7.5, "NVD CVE-2014-0160 (Heartbleed), 7.5 HIGH"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", CvssVersion::V3_1, 10.0, "NVD CVE-2021-44228 (Log4Shell), 10.0 CRITICAL"),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", CvssVersion::V3_0, 9.8, "v3.0 rounds as v3.1 here: 9.8"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:R", CvssVersion::V3_1, 9.8, "temporal metrics do not enter the base score"),
            ("AV:N/AC:L/Au:N/C:P/I:P/A:P", CvssVersion::V2_0, 7.5, "NVD v2 7.5 HIGH, the classic network C:P/I:P/A:P"),
            ("AV:N/AC:L/Au:N/C:N/I:N/A:C", CvssVersion::V2_0, 7.8, "CVSS v2.0 guide 3.3.1 example, CVE-2002-0392: base 7.8"),
            ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", CvssVersion::V4_0, 9.3, "FIRST v4.0 examples, CVSS-B 9.3 Critical"),
            ("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", CvssVersion::V4_0, 6.8, "CVSS-B 6.8 Medium"),
            ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U", CvssVersion::V4_0, 9.3, "threat metric dropped: CVSS-B, not CVSS-BT"),
        ] {
            let (v, b) = base_score(vector).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!((v, b), (version, want), "{vector} ({source})");
        }
        for bad in ["CVSS:3.1/AV:N/AC:L", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "AV:N/AC:L/Au:N", "CVSS:9.9/AV:N", "HIGH", "CVSS:4.0/AV:N/AC:L"] {
            assert!(base_score(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn matched_vulnerabilities_carry_their_score_or_why_not_and_the_summary_counts_them() {
        let (_d, tree) = image();
        let c = inventory(&tree);
        let mut records = feed();
        // busybox: a v4.0 vector and a v3.1 one: the higher base score counts.
        records[2]["severity"] = serde_json::json!([
            {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"},
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N"}
        ]);
        // openssl listed versions: a vector that does not parse.
        records[4]["severity"] = serde_json::json!([{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:Q"}]);
        let v = match_osv(&c, &records);
        let by = |id: &str| v.iter().find(|v| v.id == id).unwrap();
        let deb = by("TEST-DEB-1");
        assert_eq!((deb.cvss_base, deb.cvss_version, deb.cvss_unscored.as_deref()), (Some(9.8), Some(CvssVersion::V3_1), None));
        let bb = by("TEST-UP-1");
        assert_eq!((bb.cvss_base, bb.cvss_version), (Some(9.3), Some(CvssVersion::V4_0)), "v4 9.3 over v3.1 5.5");
        let alp = by("TEST-ALP-1");
        assert_eq!((alp.cvss_base, alp.cvss_version), (None, None), "no severity is no score, never 0");
        assert!(alp.cvss_unscored.as_deref().unwrap().contains("gives no severity"));
        let ossl = by("TEST-UP-3");
        assert!(ossl.cvss_base.is_none() && ossl.cvss_unscored.as_deref().unwrap().contains("CVSS:3.1/AV:N/AC:Q"), "{:?}", ossl.cvss_unscored);
        let json = serde_json::to_value(deb).unwrap();
        assert_eq!((json["cvss_base"].as_f64(), json["cvss_version"].as_str()), (Some(9.8), Some("3.1")));
        assert!(serde_json::to_value(alp).unwrap()["cvss_base"].is_null());

        let s = summary(c.len(), Some(records.len()), &v);
        assert_eq!(s, VulnerabilitySummary { feed_given: true, feed_records: Some(8), components: 9, matched: 4, max_cvss_base: Some(9.8), unscored: 2 });
        let none = summary(c.len(), None, &[]);
        assert_eq!((none.feed_given, none.matched, none.max_cvss_base), (false, 0, None));
        // Only a severity word: unscored, with the word named.
        let mut words = records.clone();
        words[2]["severity"] = serde_json::json!([]);
        let w = match_osv(&c, &words);
        assert!(w.iter().find(|v| v.id == "TEST-UP-1").unwrap().cvss_unscored.as_deref().unwrap().contains("only severity words (HIGH)"));
        let f = findings(&c, &v);
        assert!(f.iter().any(|f| f.message.contains("TEST-DEB-1") && f.message.ends_with("CVSS 3.1 base 9.8")), "{f:?}");
        let bom = cyclonedx("fw.bin", None, &c, &[], &v, "0.1.0");
        let ratings: Vec<&serde_json::Value> = bom["vulnerabilities"].as_array().unwrap().iter().flat_map(|x| x["ratings"].as_array().unwrap()).collect();
        assert!(ratings.iter().any(|r| r["method"] == "CVSSv4" && r["score"] == 9.3), "{ratings:?}");
    }

    #[test]
    fn feeds_load_from_files_folders_and_zips_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let records = feed();
        std::fs::create_dir_all(dir.path().join("osv")).unwrap();
        for r in &records[..3] {
            std::fs::write(dir.path().join("osv").join(format!("{}.json", r["id"].as_str().unwrap())), serde_json::to_vec(r).unwrap()).unwrap();
        }
        assert_eq!(load_osv(&dir.path().join("osv")).unwrap().len(), 3);
        let zip_path = dir.path().join("all.zip");
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        for r in &records {
            z.start_file(format!("{}.json", r["id"].as_str().unwrap()), zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut z, &serde_json::to_vec(r).unwrap()).unwrap();
        }
        z.finish().unwrap();
        assert_eq!(load_osv(&zip_path).unwrap().len(), records.len());
        std::fs::write(dir.path().join("bad.json"), b"{\"not\": \"osv\"}").unwrap();
        let e = load_osv(&dir.path().join("bad.json")).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("not an OSV record"), "{e}");
        assert!(load_osv(&dir.path().join("absent")).unwrap_err().to_string().contains("absent"));
    }
}
