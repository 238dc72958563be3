//! ONVIF (the camera control protocol, SOAP 1.2 over HTTP): the device service
//! at `/onvif/device_service` asked `GetDeviceInformation` and `GetUsers`
//! without credentials, then, where it refuses, the default list as a
//! WS-Security UsernameToken with PasswordDigest (ONVIF Core 5.12.2.1:
//! Base64(SHA-1(nonce + created + password))). Only read operations are sent.

use crate::http::{self, Attempt, AttemptOutcome, Endpoint, Response, DEFAULT_CREDENTIALS};
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
    /// A SOAP fault or an HTTP 401/403: credentials required.
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
        let fault = ["NotAuthorized", "FailedAuthentication", "InvalidSecurity", "NotAuthorised"].iter().find(|f| body.contains(*f)).map(|f| f.to_string()).unwrap_or_else(|| "SOAP fault".into());
        return OperationAnswer::Refused { status: r.status, fault };
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
    Ok(Some(OnvifReport { path: DEVICE_SERVICE.into(), operations }))
}

/// Try the default list as UsernameTokens on `operation` (which refused without credentials).
pub fn try_tokens(ep: Endpoint, operation: &str, step: Duration, pause: Duration, reveal: bool, budget: &Budget) -> Vec<Attempt> {
    let mut out = Vec::new();
    for (i, (user, password)) in DEFAULT_CREDENTIALS.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(pause);
        }
        let created = time::OffsetDateTime::now_utc().replace_nanosecond(0).ok().and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default();
        let nonce: [u8; 16] = rand::random();
        let outcome = match budget.step(step).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| post(ep, operation, Some(&username_token(user, password, &nonce, &created)), t)) {
            Ok(r) => match answer(operation, &r) {
                OperationAnswer::Answered { status } => AttemptOutcome::Accepted { status },
                OperationAnswer::Refused { status, .. } => AttemptOutcome::Rejected { status },
                OperationAnswer::Unknown { why } => AttemptOutcome::Unknown { why },
            },
            Err(why) => AttemptOutcome::Unknown { why },
        };
        let accepted = matches!(outcome, AttemptOutcome::Accepted { .. });
        out.push(Attempt { service: format!("{} onvif-usernametoken {operation}", ep.label()), user: user.to_string(), list_entry: i + 1, password: reveal.then(|| password.to_string()), outcome });
        if accepted {
            break;
        }
    }
    out
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
        assert!(matches!(answer("GetUsers", &soap(400, "<env:Fault><env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Fault>")), OperationAnswer::Refused { status: 400, ref fault } if fault == "NotAuthorized"));
        // A 200 web page is no answer, and the response of another operation is not this one's.
        assert!(matches!(answer("GetUsers", &http::parse(b"HTTP/1.1 200 OK\r\n\r\n<html>GetUsersResponse</html>").unwrap()), OperationAnswer::Unknown { .. }));
        assert!(matches!(answer("GetUsers", &soap(200, "<tds:GetDeviceInformationResponse/>")), OperationAnswer::Unknown { .. }));
    }
}
