//! RTSP (camera streams): DESCRIBE on a random route first (a server that
//! answers 200 to any path makes route results meaningless, cameradar #438),
//! then a short list of common camera routes; a stream counts as served only
//! on 200 with an SDP body. A 401 with a Basic challenge gets the default list.

use crate::http::{self, Attempt, AttemptOutcome, Endpoint, Response};
use crate::scan::Budget;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;

/// Routes tried, from cameradar's dictionary (the most common vendor paths).
pub const ROUTES: &[&str] = &["", "live", "live.sdp", "stream1", "h264", "Streaming/Channels/1", "cam/realmonitor", "videoMain", "ch0_0.h264", "media.amp"];

/// What DESCRIBE showed on one route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteResult {
    pub route: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// 200 with `Content-Type: application/sdp` and an SDP body (`v=0`).
    pub stream: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything found on one RTSP service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RtspReport {
    /// The random route's result: a stream or 200 there means any path is accepted.
    pub random_route: RouteResult,
    pub routes: Vec<RouteResult>,
}

impl RtspReport {
    pub fn any_path(&self) -> bool {
        self.random_route.status == Some(200)
    }
}

pub fn describe(addr: SocketAddr, route: &str, authorization: Option<&str>, cseq: u32, timeout: Duration) -> Result<Response, String> {
    let auth = authorization.map(|a| format!("Authorization: {a}\r\n")).unwrap_or_default();
    http::request(Endpoint::plain(addr), format!("DESCRIBE rtsp://{addr}/{route} RTSP/1.0\r\nCSeq: {cseq}\r\nAccept: application/sdp\r\nUser-Agent: aite-probe\r\n{auth}\r\n").as_bytes(), timeout)
}

/// A DESCRIBE answer that carries a stream description.
pub fn is_stream(r: &Response) -> bool {
    r.status == 200 && r.header("content-type").is_some_and(|c| c.to_ascii_lowercase().starts_with("application/sdp")) && r.body.starts_with(b"v=0")
}

fn route_result(route: &str, r: Result<Response, String>) -> RouteResult {
    match r {
        Ok(r) => RouteResult { route: route.to_string(), status: Some(r.status), stream: is_stream(&r), challenge: r.header("www-authenticate").map(str::to_string), error: None },
        Err(e) => RouteResult { route: route.to_string(), status: None, stream: false, challenge: None, error: Some(e) },
    }
}

/// DESCRIBE the random route and the common routes.
pub fn examine(addr: SocketAddr, step: Duration, budget: &Budget) -> RtspReport {
    let random = format!("aite-{:08x}", rand::random::<u32>());
    let mut cseq = 1;
    let mut run = |route: &str| {
        cseq += 1;
        route_result(route, budget.step(step).ok_or_else(|| "the probe's total budget was spent".to_string()).and_then(|t| describe(addr, route, None, cseq, t)))
    };
    let random_route = run(&random);
    let routes = ROUTES.iter().map(|r| run(r)).collect();
    RtspReport { random_route, routes }
}

/// Try the default list with DESCRIBE on `route` (which answered 401 with a Basic challenge).
pub fn try_basic(addr: SocketAddr, route: &str, step: Duration, pause: Duration, reveal: bool, budget: &Budget) -> Vec<Attempt> {
    let pacing = crate::creds::Pacing { step, pause, reveal };
    crate::creds::try_credentials(&format!("{addr}/tcp rtsp-basic DESCRIBE /{route}"), pacing, budget, |i, user, password, t| match describe(addr, route, Some(&http::basic(user, password)), 10 + i as u32, t) {
        Ok(r) if is_stream(&r) => AttemptOutcome::Accepted { status: r.status },
        Ok(r) if r.status == 401 || r.status == 403 => AttemptOutcome::Rejected { status: r.status },
        Ok(r) => AttemptOutcome::Unknown { why: format!("status {} without a stream description", r.status) },
        Err(why) => AttemptOutcome::Unknown { why },
    })
}
