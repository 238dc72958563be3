//! JUnit XML: one test suite per mandatory item, one test case per requirement.
//! PASS has no child; FAIL is a `<failure>`; INCONCLUSIVE and ERROR are an
//! `<error>` (measured but undecided, or unreadable: never a pass); NOT_APPLICABLE
//! and NOT_TESTED are `<skipped>` with their justification. The layout satisfies
//! both the strict Ant XSD (no attributes on `<testsuites>`, `id` and `package`
//! on each suite, `<properties>` first, `<system-out>`/`<system-err>` last) and
//! the lenient Jenkins one.

use crate::package::{Package, RequirementResult, Verdict};
use crate::ReportError;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

const ITEMS: [aite_assessment::Item; 3] = aite_assessment::Item::ALL;

/// The JUnit XML of the package's assessment.
pub fn junit(p: &Package) -> Result<Vec<u8>, ReportError> {
    let err = |e: std::io::Error| ReportError::Render { format: "JUnit XML", reason: e.to_string() };
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).map_err(err)?;
    w.write_event(Event::Start(BytesStart::new("testsuites"))).map_err(err)?;
    let a = &p.assessment;
    let package = token(&format!("aite.{}", a.profile));
    // The strict XSD wants `YYYY-MM-DDTHH:MM:SS` (no fraction, no zone); the run's dates are UTC.
    let timestamp: String = p.finished_at().chars().take(19).collect();
    let hostname = p.environment.as_ref().and_then(|e| e.get("hostname")).and_then(|h| h.as_str()).filter(|h| !h.trim().is_empty()).unwrap_or("unknown");
    for (id, item) in ITEMS.iter().enumerate() {
        let cases: Vec<&RequirementResult> = a.requirements.iter().filter(|r| r.item == *item).collect();
        let count = |f: fn(&Verdict) -> bool| cases.iter().filter(|r| f(&r.verdict)).count().to_string();
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", item.to_string().as_str()));
        suite.push_attribute(("package", package.as_str()));
        suite.push_attribute(("id", id.to_string().as_str()));
        suite.push_attribute(("timestamp", timestamp.as_str()));
        suite.push_attribute(("hostname", token(hostname).as_str()));
        suite.push_attribute(("tests", cases.len().to_string().as_str()));
        suite.push_attribute(("failures", count(|v| matches!(v, Verdict::Fail)).as_str()));
        suite.push_attribute(("errors", count(|v| matches!(v, Verdict::Inconclusive | Verdict::Error { .. })).as_str()));
        suite.push_attribute(("skipped", count(|v| matches!(v, Verdict::NotApplicable { .. } | Verdict::NotTested { .. })).as_str()));
        suite.push_attribute(("time", "0"));
        w.write_event(Event::Start(suite)).map_err(err)?;
        w.write_event(Event::Start(BytesStart::new("properties"))).map_err(err)?;
        let props = [
            ("report-id", p.report_id()),
            ("profile", a.profile.clone()),
            ("profile-version", a.profile_version.clone()),
            ("profile-source", a.profile_source.clone()),
            ("provisional-thresholds", a.provisional_thresholds.to_string()),
            ("overall", a.overall.to_string()),
            ("requirements-out-of-scope", a.out_of_scope.len().to_string()),
            ("results-sha256", p.files.get("results.json").cloned().unwrap_or_default()),
        ];
        for (name, value) in props {
            let mut prop = BytesStart::new("property");
            prop.push_attribute(("name", name));
            prop.push_attribute(("value", value.as_str()));
            w.write_event(Event::Empty(prop)).map_err(err)?;
        }
        w.write_event(Event::End(BytesEnd::new("properties"))).map_err(err)?;
        for r in cases {
            let mut case = BytesStart::new("testcase");
            case.push_attribute(("name", token(&format!("{} {}", r.id, r.title)).as_str()));
            case.push_attribute(("classname", token(&format!("{package}.{item}")).as_str()));
            case.push_attribute(("time", "0"));
            let child = match &r.verdict {
                Verdict::Pass => None,
                Verdict::Fail => Some(("failure", Some("FAIL"))),
                Verdict::Inconclusive => Some(("error", Some("INCONCLUSIVE"))),
                Verdict::Error { .. } => Some(("error", Some("ERROR"))),
                Verdict::NotApplicable { .. } | Verdict::NotTested { .. } => Some(("skipped", None)),
            };
            let Some((tag, kind)) = child else {
                w.write_event(Event::Empty(case)).map_err(err)?;
                continue;
            };
            w.write_event(Event::Start(case)).map_err(err)?;
            let mut el = BytesStart::new(tag);
            let message = match r.verdict.reason() {
                Some(why) => format!("{}: {why}", r.verdict.label()),
                None => format!("{}: {}", r.verdict.label(), r.note),
            };
            el.push_attribute(("message", message.as_str()));
            if let Some(kind) = kind {
                el.push_attribute(("type", kind));
            }
            w.write_event(Event::Start(el)).map_err(err)?;
            w.write_event(Event::Text(BytesText::new(&detail(r)))).map_err(err)?;
            w.write_event(Event::End(BytesEnd::new(tag))).map_err(err)?;
            w.write_event(Event::End(BytesEnd::new("testcase"))).map_err(err)?;
        }
        w.write_event(Event::Start(BytesStart::new("system-out"))).map_err(err)?;
        w.write_event(Event::Text(BytesText::new(&format!("report {}; profile {} {}; overall {}", p.report_id(), a.profile, a.profile_version, a.overall_stated())))).map_err(err)?;
        w.write_event(Event::End(BytesEnd::new("system-out"))).map_err(err)?;
        w.write_event(Event::Empty(BytesStart::new("system-err"))).map_err(err)?;
        w.write_event(Event::End(BytesEnd::new("testsuite"))).map_err(err)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites"))).map_err(err)?;
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

/// What a failing, erroring or skipped case stands on: value, threshold, rule, clauses, evidence.
fn detail(r: &RequirementResult) -> String {
    let value = r.value.map(|v| format!("{v} {}", r.unit)).unwrap_or_else(|| "no value".into());
    let threshold = match (&r.comparator, r.threshold) {
        (Some(c), Some(t)) => format!("{c} {t} {}", r.unit),
        _ => "no threshold".into(),
    };
    format!(
        "value {value}; threshold {threshold} ({} {}); decision rule {}; clauses {}; evidence {}; {}",
        r.provenance.status,
        r.provenance.source,
        r.decision,
        r.clauses.join(", "),
        r.evidence.join(" "),
        r.note
    )
}

/// An `xs:token`: no leading, trailing or repeated whitespace.
fn token(s: &str) -> String {
    let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        "-".into()
    } else {
        t
    }
}
