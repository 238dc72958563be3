//! ONVIF (the camera control protocol, SOAP 1.2 over HTTP): the device service
//! at `/onvif/device_service` asked `GetDeviceInformation` and `GetUsers`
//! without credentials, then, where it refuses, the default list as a
//! WS-Security UsernameToken with PasswordDigest (ONVIF Core 5.12.2.1:
//! Base64(SHA-1(nonce + created + password))). Only read operations are sent.
//!
//! Only HTTP 401/403 and an authentication fault (ONVIF Core's `ter:NotAuthorized`;
//! WS-Security 1.1 section 12 `wsse:FailedAuthentication`, `wsse:InvalidSecurity`) count as
//! "credentials required" or "rejected"; any other fault (`ter:ActionNotSupported`,
//! `ter:InvalidArgVal`, `wsse:MessageExpired`...) is no conclusion. The token's `Created` is
//! taken from the device's clock (`GetSystemDateAndTime`, in ONVIF Core's pre-authentication
//! access class, served without credentials) when it answers: cameras refuse tokens off their own clock.

use crate::http::{self, Attempt, AttemptOutcome, Endpoint, Response};
use crate::scan::Budget;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The device service's path (ONVIF Core 5.1.1: the entry point every device serves).
pub const DEVICE_SERVICE: &str = "/onvif/device_service";

/// The read operations asked, in order.
pub const OPERATIONS: &[&str] = &["GetDeviceInformation", "GetUsers"];

/// How one operation was answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "answer")]
pub enum OperationAnswer {
    /// The operation's response element (`GetUsersResponse`...).
    Answered { status: u16 },
    /// An authentication fault or an HTTP 401/403: credentials required.
    Refused { status: u16, fault: String },
    /// Neither (another status, not SOAP, no answer).
    Unknown { why: String },
}

/// One operation asked without credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub operation: String,
    #[serde(flatten)]
    pub answer: OperationAnswer,
}

/// What the ONVIF device service showed on one HTTP service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnvifReport {
    pub path: String,
    pub operations: Vec<Operation>,
    /// The clock the UsernameTokens' `Created` came from (when tokens were tried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_clock: Option<TokenClock>,
}

/// Where a UsernameToken's `Created` time came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "source")]
pub enum TokenClock {
    /// The device's `GetSystemDateAndTime` UTC time; `offset_seconds` = device minus aite.
    Device { device_utc: String, offset_seconds: i64 },
    /// aite's own clock, because the device's was not read.
    Local { why: String },
}

impl TokenClock {
    pub fn offset_seconds(&self) -> i64 {
        match self {
            TokenClock::Device { offset_seconds, .. } => *offset_seconds,
            TokenClock::Local { .. } => 0,
        }
    }
}

/// Fault codes meaning the credentials are missing or wrong (local names).
const AUTH_FAULTS: &[&str] = &["NotAuthorized", "NotAuthorised", "FailedAuthentication", "InvalidSecurity"];

/// The text of a fault's code elements: SOAP 1.2 `Value` (code and nested subcodes), SOAP 1.1 `faultcode`.
pub fn fault_codes(body: &str) -> Vec<String> {
    let Some(start) = body.find("Fault") else { return vec![] };
    let mut out = Vec::new();
    let mut rest = &body[start..];
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        let name_end = rest.find(|c: char| c == '>' || c.is_whitespace()).unwrap_or(rest.len());
        let name = &rest[..name_end];
        let local = name.rsplit(':').next().unwrap_or(name);
        if !name.starts_with('/') && (local == "Value" || local == "faultcode") {
            if let Some(gt) = rest.find('>') {
                let text = &rest[gt + 1..];
                out.push(text[..text.find('<').unwrap_or(text.len())].trim().to_string());
            }
        }
    }
    out
}

fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t).ok().and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default()
}

/// The `UTCDateTime` of a `GetSystemDateAndTimeResponse`, Unix seconds.
pub fn system_date_and_time(body: &str) -> Option<i64> {
    let at = body.find("GetSystemDateAndTimeResponse")?;
    let utc = &body[at..][body[at..].find("UTCDateTime")?..];
    let field = |name: &str| -> Option<i64> {
        let open = utc.find(&format!(":{name}>")).map(|i| i + name.len() + 2).or_else(|| utc.find(&format!("<{name}>")).map(|i| i + name.len() + 2))?;
        let text = &utc[open..];
        text[..text.find('<')?].trim().parse().ok()
    };
    let month = time::Month::try_from(u8::try_from(field("Month")?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(i32::try_from(field("Year")?).ok()?, month, u8::try_from(field("Day")?).ok()?).ok()?;
    let t = time::Time::from_hms(u8::try_from(field("Hour")?).ok()?, u8::try_from(field("Minute")?).ok()?, u8::try_from(field("Second")?).ok()?).ok()?;
    Some(time::PrimitiveDateTime::new(date, t).assume_utc().unix_timestamp())
}

/// Read the device's clock (`GetSystemDateAndTime` without credentials) for the tokens' `Created`.
pub fn device_clock(ep: Endpoint, step: Duration, budget: &Budget) -> TokenClock {
    let r = match budget.step(step).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| post(ep, "GetSystemDateAndTime", None, t)) {
        Ok(r) => r,
        Err(why) => return TokenClock::Local { why: format!("GetSystemDateAndTime: {why}") },
    };
    let asked = unix_now();
    match system_date_and_time(&String::from_utf8_lossy(&r.body)) {
        Some(device) if (200..300).contains(&r.status) => TokenClock::Device { device_utc: rfc3339(device), offset_seconds: device - asked },
        _ => TokenClock::Local { why: format!("GetSystemDateAndTime: status {} without a UTCDateTime{}", r.status, Some(fault_codes(&String::from_utf8_lossy(&r.body))).filter(|c| !c.is_empty()).map(|c| format!(" (fault {})", c.join(", "))).unwrap_or_default()) },
    }
}

/// The `wsse:Security` header of a UsernameToken with PasswordDigest.
pub fn username_token(user: &str, password: &str, nonce: &[u8], created: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut input = nonce.to_vec();
    input.extend_from_slice(created.as_bytes());
    input.extend_from_slice(password.as_bytes());
    let digest = b64.encode(sha1_smol::Sha1::from(&input).digest().bytes());
    format!(
        "<wsse:Security xmlns:wsse=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd\" xmlns:wsu=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd\"><wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest\">{digest}</wsse:Password><wsse:Nonce EncodingType=\"http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary\">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>",
        b64.encode(nonce)
    )
}

/// A SOAP 1.2 request for a device-service operation, with an optional security header.
pub fn envelope(operation: &str, security: Option<&str>) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header>{}</s:Header><s:Body xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\"><tds:{operation}/></s:Body></s:Envelope>",
        security.unwrap_or("")
    )
}

fn post(ep: Endpoint, operation: &str, security: Option<&str>, timeout: Duration) -> Result<Response, String> {
    let body = envelope(operation, security);
    let addr = ep.addr;
    http::request(ep, format!("POST {DEVICE_SERVICE} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: aite-probe\r\nContent-Type: application/soap+xml; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes(), timeout)
}

/// A SOAP envelope in the body (the response is the device service's, not a web page).
pub fn is_soap(r: &Response) -> bool {
    let body = String::from_utf8_lossy(&r.body);
    body.contains("Envelope") && body.contains("http://www.w3.org/2003/05/soap-envelope")
}

/// Classify the answer to `operation`.
pub fn answer(operation: &str, r: &Response) -> OperationAnswer {
    let body = String::from_utf8_lossy(&r.body);
    let response_element = format!("{operation}Response");
    if (200..300).contains(&r.status) && is_soap(r) && body.contains(&response_element) {
        return OperationAnswer::Answered { status: r.status };
    }
    if is_soap(r) && body.contains("Fault") {
        let codes = fault_codes(&body);
        if let Some(c) = codes.iter().find(|c| AUTH_FAULTS.contains(&c.rsplit(':').next().unwrap_or(c))) {
            return OperationAnswer::Refused { status: r.status, fault: c.clone() };
        }
        if r.status == 401 || r.status == 403 {
            return OperationAnswer::Refused { status: r.status, fault: format!("HTTP {} (fault {})", r.status, codes.join(", ")) };
        }
        return OperationAnswer::Unknown { why: format!("status {} with SOAP fault {}: not an authentication fault", r.status, if codes.is_empty() { "without a code".to_string() } else { codes.join(" / ") }) };
    }
    if r.status == 401 || r.status == 403 {
        return OperationAnswer::Refused { status: r.status, fault: format!("HTTP {}", r.status) };
    }
    OperationAnswer::Unknown { why: format!("status {} without a {response_element} or a SOAP fault", r.status) }
}

/// Ask each read operation without credentials. `Ok(None)`: no ONVIF device service here
/// (the answer to the first request is no SOAP); `Err`: no answer.
pub fn examine(ep: Endpoint, step: Duration, budget: &Budget) -> Result<Option<OnvifReport>, String> {
    let mut operations = Vec::new();
    for (i, op) in OPERATIONS.iter().enumerate() {
        let t = budget.step(step).ok_or("the probe's total budget was spent")?;
        let answer = match post(ep, op, None, t) {
            Ok(r) if i == 0 && !is_soap(&r) => return Ok(None),
            Ok(r) => answer(op, &r),
            Err(why) if i == 0 => return Err(format!("POST {DEVICE_SERVICE} {op}: {why}")),
            Err(why) => OperationAnswer::Unknown { why },
        };
        operations.push(Operation { operation: op.to_string(), answer });
    }
    Ok(Some(OnvifReport { path: DEVICE_SERVICE.into(), operations, token_clock: None }))
}

/// Try the default list as UsernameTokens on `operation` (which refused without credentials),
/// each `Created` on `clock`.
pub fn try_tokens(ep: Endpoint, operation: &str, clock: &TokenClock, step: Duration, pause: Duration, reveal: bool, budget: &Budget) -> Vec<Attempt> {
    let pacing = crate::creds::Pacing { step, pause, reveal };
    crate::creds::try_credentials(&format!("{} onvif-usernametoken {operation}", ep.label()), pacing, budget, |_, user, password, t| {
        let created = rfc3339(unix_now() + clock.offset_seconds());
        let nonce: [u8; 16] = rand::random();
        match post(ep, operation, Some(&username_token(user, password, &nonce, &created)), t) {
            Ok(r) => match answer(operation, &r) {
                OperationAnswer::Answered { status } => AttemptOutcome::Accepted { status },
                OperationAnswer::Refused { status, .. } => AttemptOutcome::Rejected { status },
                OperationAnswer::Unknown { why } => AttemptOutcome::Unknown { why },
            },
            Err(why) => AttemptOutcome::Unknown { why },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_digest_matches_the_onvif_programmers_guide() {
        // ONVIF Application Programmer's Guide 6.1.1.3: nonce, created and password give this digest.
        let nonce = base64::engine::general_purpose::STANDARD.decode("LKqI6G/AikKCQrN0zqZFlg==").unwrap();
        let h = username_token("user", "userpassword", &nonce, "2010-09-16T07:50:45Z");
        assert!(h.contains(">tuOSpGlFlIXsozq4HFNeeGeFLEI=</wsse:Password>"), "{h}");
        assert!(h.contains(">LKqI6G/AikKCQrN0zqZFlg==</wsse:Nonce>"));
    }

    #[test]
    fn answers_are_classified_by_their_content() {
        let soap = |status: u16, body: &str| http::parse(format!("HTTP/1.1 {status} X\r\nContent-Type: application/soap+xml\r\n\r\n<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\"><env:Body>{body}</env:Body></env:Envelope>").as_bytes()).unwrap();
        assert_eq!(answer("GetUsers", &soap(200, "<tds:GetUsersResponse/>")), OperationAnswer::Answered { status: 200 });
        assert!(matches!(answer("GetUsers", &soap(400, "<env:Fault><env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Fault>")), OperationAnswer::Refused { status: 400, ref fault } if fault == "ter:NotAuthorized"));
        // A 200 web page is no answer, and the response of another operation is not this one's.
        assert!(matches!(answer("GetUsers", &http::parse(b"HTTP/1.1 200 OK\r\n\r\n<html>GetUsersResponse</html>").unwrap()), OperationAnswer::Unknown { .. }));
        assert!(matches!(answer("GetUsers", &soap(200, "<tds:GetDeviceInformationResponse/>")), OperationAnswer::Unknown { .. }));
        // Faults that say nothing about credentials are no refusal; SOAP 1.1 faultcodes count too.
        let fault = |sub: &str| format!("<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>{sub}</env:Value></env:Subcode></env:Code></env:Fault>");
        for sub in ["ter:ActionNotSupported", "ter:InvalidArgVal", "wsse:MessageExpired"] {
            assert!(matches!(answer("GetUsers", &soap(400, &fault(sub))), OperationAnswer::Unknown { ref why } if why.contains(sub)), "{sub}");
        }
        assert!(matches!(answer("GetUsers", &soap(500, "<env:Fault><faultcode>wsse:FailedAuthentication</faultcode></env:Fault>")), OperationAnswer::Refused { ref fault, .. } if fault == "wsse:FailedAuthentication"));
        assert!(matches!(answer("GetUsers", &soap(401, &fault("ter:ActionNotSupported"))), OperationAnswer::Refused { status: 401, .. }));
        assert!(matches!(answer("GetUsers", &soap(400, "<env:Fault><env:Reason><env:Text>NotAuthorized</env:Text></env:Reason></env:Fault>")), OperationAnswer::Unknown { .. }), "a reason text is no fault code");
    }

    #[test]
    fn the_devices_clock_is_read_from_get_system_date_and_time() {
        // ONVIF Core SystemDateAndTime, its UTCDateTime read (not LocalDateTime); 2001-09-09T01:46:40Z is Unix 1e9.
        let body = "<env:Body><tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:DateTimeType>Manual</tt:DateTimeType><tt:LocalDateTime><tt:Time><tt:Hour>9</tt:Hour><tt:Minute>0</tt:Minute><tt:Second>0</tt:Second></tt:Time><tt:Date><tt:Year>2030</tt:Year><tt:Month>1</tt:Month><tt:Day>1</tt:Day></tt:Date></tt:LocalDateTime><tt:UTCDateTime><tt:Time><tt:Hour>1</tt:Hour><tt:Minute>46</tt:Minute><tt:Second>40</tt:Second></tt:Time><tt:Date><tt:Year>2001</tt:Year><tt:Month>9</tt:Month><tt:Day>9</tt:Day></tt:Date></tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></env:Body>";
        assert_eq!(system_date_and_time(body), Some(1_000_000_000));
        assert_eq!(rfc3339(1_000_000_000), "2001-09-09T01:46:40Z");
        assert_eq!(system_date_and_time("<tds:GetSystemDateAndTimeResponse/>"), None);
    }
}
