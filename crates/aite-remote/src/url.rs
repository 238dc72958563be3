//! Target URLs: `oip+http://HOST:PORT/models/NAME[/versions/VERSION]`.

use crate::RemoteError;
use std::fmt;

/// A parsed Open Inference Protocol endpoint: where the server is and which model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OipUrl {
    pub host: String,
    pub port: u16,
    /// Path prefix before `/v2` (a reverse proxy's mount point), without a trailing `/`.
    pub prefix: String,
    pub model: String,
    pub version: Option<String>,
}

impl OipUrl {
    /// Parse `oip+http://HOST[:PORT][/PREFIX]/models/NAME[/versions/V]` (port 80 by default).
    pub fn parse(text: &str) -> Result<OipUrl, RemoteError> {
        let bad = |why: &str| RemoteError::Url { url: text.to_string(), reason: why.to_string() };
        let rest = match text.split_once("://") {
            Some(("oip+http", rest)) => rest,
            Some(("oip+https", _)) => return Err(bad("TLS is not built in yet; use oip+http:// (a TLS-terminating proxy on the bench, or a later release)")),
            Some(("oip+grpc", _)) => return Err(bad("this is the REST target; gRPC endpoints are oip+grpc:// targets of an aite built with --features grpc")),
            _ => return Err(bad("expected oip+http://HOST:PORT/models/NAME[/versions/VERSION]")),
        };
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        if authority.contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed [ in an IPv6 host"))?;
                (h.to_string(), after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            },
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p.parse::<u16>().map_err(|_| bad(&format!("port `{p}` is not a number from 1 to 65535")))?,
            None => 80,
        };
        if port == 0 {
            return Err(bad("port 0"));
        }
        let path = path.split(['?', '#']).next().unwrap_or("");
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let at = segments.iter().rposition(|s| *s == "models").ok_or_else(|| bad("no /models/NAME in the path"))?;
        let (model, version) = match &segments[at + 1..] {
            [m] => (m.to_string(), None),
            [m, "versions", v] => (m.to_string(), Some(v.to_string())),
            [] => return Err(bad("no model name after /models/")),
            _ => return Err(bad("expected /models/NAME or /models/NAME/versions/VERSION at the end of the path")),
        };
        let mut prefix: String = segments[..at].iter().map(|s| format!("/{s}")).collect();
        if prefix.ends_with("/v2") {
            prefix.truncate(prefix.len() - 3);
        }
        Ok(OipUrl { host, port, prefix, model, version })
    }

    /// `HOST:PORT` as the `Host` header and socket address take it.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `/v2/models/NAME[/versions/V]`, the base of the model's endpoints.
    pub fn model_path(&self) -> String {
        match &self.version {
            Some(v) => format!("{}/v2/models/{}/versions/{}", self.prefix, self.model, v),
            None => format!("{}/v2/models/{}", self.prefix, self.model),
        }
    }

    /// A server-level path, e.g. `/v2/health/ready`.
    pub fn server_path(&self, tail: &str) -> String {
        format!("{}/v2{}", self.prefix, tail)
    }
}

impl fmt::Display for OipUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oip+http://{}{}/models/{}", self.authority(), self.prefix, self.model)?;
        if let Some(v) = &self.version {
            write!(f, "/versions/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_model_and_version() {
        let u = OipUrl::parse("oip+http://127.0.0.1:8000/models/resnet8/versions/2").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.model.as_str(), u.version.as_deref()), ("127.0.0.1", 8000, "resnet8", Some("2")));
        assert_eq!(u.model_path(), "/v2/models/resnet8/versions/2");
        assert_eq!(u.to_string(), "oip+http://127.0.0.1:8000/models/resnet8/versions/2");
        let u = OipUrl::parse("oip+http://cam.local/proxy/v2/models/det").unwrap();
        assert_eq!((u.port, u.prefix.as_str(), u.model_path()), (80, "/proxy", "/proxy/v2/models/det".to_string()));
        let u = OipUrl::parse("oip+http://[::1]:9000/models/m").unwrap();
        assert_eq!(u.authority(), "[::1]:9000");
    }

    #[test]
    fn rejects_what_it_cannot_reach() {
        for (url, says) in [
            ("http://h:1/models/m", "expected oip+http://"),
            ("oip+https://h:1/models/m", "TLS"),
            ("oip+grpc://h:1/models/m", "gRPC"),
            ("oip+http://h:99999/models/m", "port `99999`"),
            ("oip+http://h:1/m", "no /models/NAME"),
            ("oip+http://h:1/models/", "no model name"),
            ("oip+http://h:1/models/m/extra", "at the end of the path"),
            ("oip+http://:1/models/m", "no host"),
        ] {
            let e = OipUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(url), "{url}: {e}");
        }
    }
}
