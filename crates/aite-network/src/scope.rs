//! What may be probed: the target address, the ports, and the safety scope.
//!
//! A probe sends packets only to loopback (127.0.0.0/8, ::1) unless the user
//! names a network with `--allow-network CIDR`; [`Scope::admit`] is the one
//! place that decides, before any socket is opened.

use crate::ProbeError;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A network the user explicitly allowed (`--allow-network 192.0.2.0/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cidr {
    pub network: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, ProbeError> {
        let bad = |why: &str| ProbeError::BadCidr { value: s.to_string(), why: why.to_string() };
        let (addr, prefix) = s.split_once('/').ok_or_else(|| bad("expected ADDRESS/PREFIX, e.g. 192.0.2.0/24"))?;
        let network: IpAddr = addr.trim().parse().map_err(|_| bad("not an IPv4 or IPv6 address"))?;
        let prefix: u8 = prefix.trim().parse().map_err(|_| bad("the prefix length is not a number"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(bad(&format!("the prefix length is above {max}")));
        }
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - self.prefix as u32) };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - self.prefix as u32) };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Where probes may go: loopback always, plus the networks the user allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub allowed: Vec<Cidr>,
}

impl Scope {
    /// Only loopback.
    pub fn loopback() -> Scope {
        Scope::default()
    }

    /// Whether `ip` may be probed; IPv4-mapped IPv6 addresses are judged as the IPv4 address.
    pub fn admits(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        let loopback = match ip {
            IpAddr::V4(a) => a.octets()[0] == 127,
            IpAddr::V6(a) => a == Ipv6Addr::LOCALHOST,
        };
        loopback || self.allowed.iter().any(|c| c.contains(ip))
    }

    /// `ip` if it may be probed, else the refusal naming the flag that would allow it.
    pub fn admit(&self, target: &str, ip: IpAddr) -> Result<IpAddr, ProbeError> {
        if self.admits(ip) {
            Ok(ip)
        } else {
            Err(ProbeError::OutOfScope { target: target.to_string(), address: ip, allowed: self.allowed.iter().map(Cidr::to_string).collect() })
        }
    }
}

/// Parse a target (an IP address, `localhost`, or a bracketed IPv6 address) and admit it.
/// Host names other than `localhost` are refused: resolving them could leave loopback.
pub fn parse_target(target: &str, scope: &Scope) -> Result<IpAddr, ProbeError> {
    let t = target.trim();
    let t = t.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(t);
    let ip = if t.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        t.parse::<IpAddr>().map_err(|_| ProbeError::BadTarget { target: target.to_string(), why: "expected an IPv4 or IPv6 address (or localhost); host names are not resolved".into() })?
    };
    scope.admit(target, ip)
}

/// Which TCP ports to probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortList(pub Vec<u16>);

impl PortList {
    /// `all` (1–65535) or a comma list of ports and ranges: `22,80,8000-8100`.
    pub fn parse(s: &str) -> Result<PortList, ProbeError> {
        let bad = |why: String| ProbeError::BadPorts { value: s.to_string(), why };
        if s.trim().eq_ignore_ascii_case("all") {
            return Ok(PortList((1..=65535).collect()));
        }
        let port = |p: &str| -> Result<u16, ProbeError> {
            match p.trim().parse::<u16>() {
                Ok(0) => Err(bad("port 0 is not a port".into())),
                Ok(n) => Ok(n),
                Err(_) => Err(bad(format!("`{}` is not a port number (1-65535)", p.trim()))),
            }
        };
        let mut v = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (port(a)?, port(b)?);
                    if a > b {
                        return Err(bad(format!("range {a}-{b} runs backwards")));
                    }
                    v.extend(a..=b);
                }
                None => v.push(port(part)?),
            }
        }
        if v.is_empty() {
            return Err(bad("no port given".into()));
        }
        v.sort_unstable();
        v.dedup();
        Ok(PortList(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_without_an_allowed_network() {
        let s = Scope::loopback();
        for ok in ["127.0.0.1", "127.255.0.9", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"] {
            assert!(parse_target(ok, &s).is_ok(), "{ok}");
        }
        for refused in ["10.0.0.1", "192.168.1.10", "172.16.0.1", "8.8.8.8", "0.0.0.0", "::", "fe80::1", "::ffff:10.0.0.1", "128.0.0.1", "126.255.255.255"] {
            match parse_target(refused, &s) {
                Err(ProbeError::OutOfScope { address, .. }) => assert_eq!(address, refused.trim_matches(['[', ']']).parse::<IpAddr>().unwrap()),
                other => panic!("{refused}: {other:?}"),
            }
        }
        // A host name is never resolved (it could point anywhere).
        assert!(matches!(parse_target("camera.local", &s), Err(ProbeError::BadTarget { .. })));
        let msg = parse_target("10.0.0.1", &s).unwrap_err().to_string();
        assert!(msg.contains("--allow-network"), "{msg}");
    }

    #[test]
    fn an_allowed_network_admits_only_its_addresses() {
        let s = Scope { allowed: vec![Cidr::parse("192.0.2.0/24").unwrap()] };
        assert!(parse_target("192.0.2.77", &s).is_ok());
        assert!(parse_target("192.0.3.1", &s).is_err());
        assert!(parse_target("2001:db8::1", &s).is_err(), "an IPv4 network admits no IPv6 address");
        let s6 = Scope { allowed: vec![Cidr::parse("2001:db8::/32").unwrap()] };
        assert!(s6.admits("2001:db8:ffff::1".parse().unwrap()));
        assert!(!s6.admits("2001:db9::1".parse().unwrap()));
        let host = Scope { allowed: vec![Cidr::parse("198.51.100.7/32").unwrap()] };
        assert!(host.admits("198.51.100.7".parse().unwrap()) && !host.admits("198.51.100.8".parse().unwrap()));
        for bad in ["192.0.2.0", "192.0.2.0/33", "10.0.0.0/40", "x/8", "::/129", "10.0.0.0/a"] {
            assert!(matches!(Cidr::parse(bad), Err(ProbeError::BadCidr { .. })), "{bad}");
        }
        // The error names the value and the flag (what `aite probe` prints before exiting 2).
        let e = Cidr::parse("10.0.0.0/40").unwrap_err().to_string();
        assert!(e.contains("\"10.0.0.0/40\"") && e.contains("--allow-network"), "{e}");
    }

    #[test]
    fn port_lists() {
        assert_eq!(PortList::parse("80,22,8000-8002,22").unwrap().0, [22, 80, 8000, 8001, 8002]);
        assert_eq!(PortList::parse("all").unwrap().0.len(), 65535);
        for bad in ["0", "70000", "9-3", "ssh", ""] {
            assert!(matches!(PortList::parse(bad), Err(ProbeError::BadPorts { .. })), "{bad}");
        }
    }
}
