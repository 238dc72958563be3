//! SSH: the server's identification line and its plaintext KEXINIT (RFC 4253
//! 7.1), read after sending aite's own identification; the algorithm lists are
//! judged against RFC 9142 (key exchange) and RFC 8758 / RFC 4253 (ciphers, MACs).
//! Then, through a real key exchange (russh, ring; the host key is not verified:
//! the service is examined, not trusted), the auth methods offered to a random
//! user (a `none` request, RFC 4252 5.2, as nmap's ssh-auth-methods) and, when
//! `password` is among them, the default list, one connection per try; when
//! `keyboard-interactive` is (RFC 4256, how PAM asks), the same list as answers to its
//! password prompts.

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// What the SSH server said before any key exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshReport {
    /// The identification line (`SSH-2.0-dropbear_2022.83`).
    pub banner: String,
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers: Vec<String>,
    pub macs: Vec<String>,
    pub compression: Vec<String>,
    /// Offered algorithms on the deprecated lists, with the reason.
    pub weak: Vec<String>,
}

/// Deprecated algorithms and the document that deprecates them.
pub fn deprecated(kind: &str, name: &str) -> Option<&'static str> {
    match (kind, name) {
        ("kex", "diffie-hellman-group1-sha1") => Some("RFC 9142: MUST NOT"),
        ("kex", "diffie-hellman-group14-sha1" | "diffie-hellman-group-exchange-sha1") => Some("RFC 9142: SHOULD NOT (SHA-1)"),
        ("kex", n) if n.starts_with("gss-") && n.contains("sha1") => Some("RFC 9142: SHOULD NOT (SHA-1)"),
        ("host key", "ssh-dss") => Some("RFC 9142 / OpenSSH 7.0: DSA with SHA-1"),
        ("cipher", n) if n.starts_with("arcfour") => Some("RFC 8758: MUST NOT (RC4)"),
        ("cipher", "3des-cbc" | "blowfish-cbc" | "cast128-cbc" | "des-cbc" | "idea-cbc") => Some("64-bit block cipher (SWEET32)"),
        ("cipher", "none") | ("mac", "none") => Some("no protection"),
        ("mac", n) if n.starts_with("hmac-md5") => Some("MD5 MAC"),
        ("mac", "hmac-sha1-96" | "hmac-sha1-96-etm@openssh.com") => Some("truncated SHA-1 MAC"),
        _ => None,
    }
}

fn read_some(s: &mut TcpStream, buf: &mut Vec<u8>, until: Instant) -> Result<(), String> {
    let left = until.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()).ok_or("no complete answer in time")?;
    s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
    let mut chunk = [0u8; 4096];
    match s.read(&mut chunk) {
        Ok(0) => Err("connection closed".into()),
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => Err("no complete answer in time".into()),
        Err(e) => Err(format!("read failed: {e}")),
    }
}

/// Parse a binary packet holding SSH_MSG_KEXINIT into its ten name-lists.
pub fn parse_kexinit(packet: &[u8]) -> Result<Vec<Vec<String>>, String> {
    if packet.len() < 5 {
        return Err("packet shorter than its header".into());
    }
    let padding = packet[4] as usize;
    let len = u32::from_be_bytes([packet[0], packet[1], packet[2], packet[3]]) as usize;
    let payload = packet.get(5..4 + len).and_then(|p| p.get(..p.len().checked_sub(padding)?)).ok_or("packet length and padding do not fit")?;
    if payload.first() != Some(&20) {
        return Err(format!("first packet is message {}, not KEXINIT (20)", payload.first().copied().unwrap_or(0)));
    }
    let mut at = 17; // message number + 16-byte cookie
    let mut lists = Vec::new();
    for _ in 0..10 {
        let n = payload.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).ok_or("KEXINIT cut short")?;
        let text = payload.get(at + 4..at + 4 + n).ok_or("KEXINIT name-list cut short")?;
        let text = std::str::from_utf8(text).map_err(|_| "KEXINIT name-list is not ASCII")?;
        lists.push(text.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect());
        at += 4 + n;
    }
    Ok(lists)
}

/// Read the identification line and KEXINIT of the SSH server on `s` (already connected,
/// `already` the bytes read from it so far).
pub fn examine(s: &mut TcpStream, mut already: Vec<u8>, timeout: Duration) -> Result<SshReport, String> {
    let until = Instant::now() + timeout;
    // Lines before the identification are allowed (RFC 4253 4.2).
    let banner_end = loop {
        if let Some(i) = already.windows(4).position(|w| w == b"SSH-").and_then(|start| already[start..].iter().position(|&b| b == b'\n').map(|e| (start, start + e))) {
            break i;
        }
        if already.len() > 8192 {
            return Err("no SSH identification line in the first 8 KiB".into());
        }
        read_some(s, &mut already, until)?;
    };
    let banner = String::from_utf8_lossy(&already[banner_end.0..banner_end.1]).trim_end().to_string();
    let _ = s.write_all(b"SSH-2.0-aite_probe\r\n");
    let mut rest = already[banner_end.1 + 1..].to_vec();
    loop {
        if rest.len() >= 4 {
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if len > 256 * 1024 {
                return Err(format!("first binary packet claims {len} bytes"));
            }
            if rest.len() >= 4 + len {
                break;
            }
        }
        read_some(s, &mut rest, until).map_err(|e| format!("{e} while waiting for KEXINIT"))?;
    }
    let lists = parse_kexinit(&rest)?;
    let take = |i: usize| lists[i].clone();
    let (kex, host_key, ciphers, macs) = (take(0), take(1), take(2), take(4));
    let mut weak = Vec::new();
    for (kind, names) in [("kex", &kex), ("host key", &host_key), ("cipher", &ciphers), ("mac", &macs)] {
        for n in names {
            if let Some(why) = deprecated(kind, n) {
                weak.push(format!("{kind} {n} ({why})"));
            }
        }
    }
    let mut cipher_server = lists[3].clone();
    cipher_server.retain(|c| !ciphers.contains(c));
    for n in &cipher_server {
        if let Some(why) = deprecated("cipher", n) {
            weak.push(format!("cipher {n} ({why})"));
        }
    }
    Ok(SshReport { banner, kex, host_key, ciphers, macs, compression: take(6), weak })
}

/// Accepts any host key (the probe examines the server, it does not trust it).
struct AnyHostKey;

impl russh::client::Handler for AnyHostKey {
    type Error = russh::Error;

    async fn check_server_key(&mut self, _: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Run one SSH conversation (connect, key exchange, `f`) on its own runtime, within `timeout`.
fn converse<T>(addr: std::net::SocketAddr, timeout: Duration, f: impl AsyncFnOnce(&mut russh::client::Handle<AnyHostKey>) -> Result<T, String>) -> Result<T, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("no async runtime: {e}"))?;
    rt.block_on(async {
        tokio::time::timeout(timeout, async {
            let mut h = russh::client::connect(std::sync::Arc::new(russh::client::Config::default()), addr, AnyHostKey).await.map_err(|e| format!("SSH key exchange failed: {e}"))?;
            let out = f(&mut h).await;
            let _ = h.disconnect(russh::Disconnect::ByApplication, "", "en").await;
            out
        })
        .await
        .map_err(|_| format!("no complete SSH answer within {} ms", timeout.as_millis()))?
    })
}

/// The authentication methods offered to `user` after the key exchange; `["none"]` when
/// the server lets the user in without any.
pub fn auth_methods(addr: std::net::SocketAddr, user: &str, timeout: Duration) -> Result<Vec<String>, String> {
    converse(addr, timeout, async |h| match h.authenticate_none(user).await.map_err(|e| format!("auth request failed: {e}"))? {
        russh::client::AuthResult::Success => Ok(vec!["none".to_string()]),
        russh::client::AuthResult::Failure { remaining_methods, .. } => Ok(remaining_methods.iter().map(String::from).collect()),
    })
}

/// One password login: accepted, rejected, or no conclusion.
pub fn try_password(addr: std::net::SocketAddr, user: &str, password: &str, timeout: Duration) -> crate::http::AttemptOutcome {
    use crate::http::AttemptOutcome;
    match converse(addr, timeout, async |h| h.authenticate_password(user, password).await.map_err(|e| format!("password request failed: {e}"))) {
        Ok(russh::client::AuthResult::Success) => AttemptOutcome::Accepted { status: 0 },
        Ok(russh::client::AuthResult::Failure { .. }) => AttemptOutcome::Rejected { status: 0 },
        Err(why) => AttemptOutcome::Unknown { why },
    }
}

/// Prompts of a keyboard-interactive round that ask for the password (RFC 4256 3.2: PAM's `Password: `).
fn password_prompt(prompt: &str) -> bool {
    let p = prompt.to_ascii_lowercase();
    p.contains("password") || p.contains("passcode")
}

/// One keyboard-interactive login: each round's password prompts answered with `password`.
/// A prompt for anything else (an OTP, a question) is no conclusion, never a rejection.
pub fn try_keyboard_interactive(addr: std::net::SocketAddr, user: &str, password: &str, timeout: Duration) -> crate::http::AttemptOutcome {
    use crate::http::AttemptOutcome;
    use russh::client::KeyboardInteractiveAuthResponse as R;
    let outcome = converse(addr, timeout, async |h| {
        let e = |e: russh::Error| format!("keyboard-interactive request failed: {e}");
        let mut r = h.authenticate_keyboard_interactive_start(user, None::<String>).await.map_err(e)?;
        // A few rounds at most (PAM sends one prompt per round; an empty round is answered empty).
        for _ in 0..4 {
            r = match r {
                R::Success => return Ok(AttemptOutcome::Accepted { status: 0 }),
                R::Failure { .. } => return Ok(AttemptOutcome::Rejected { status: 0 }),
                R::InfoRequest { prompts, .. } => {
                    if let Some(other) = prompts.iter().find(|p| !password_prompt(&p.prompt)) {
                        return Ok(AttemptOutcome::Unknown { why: format!("keyboard-interactive asks {:?}, not a password", other.prompt) });
                    }
                    h.authenticate_keyboard_interactive_respond(vec![password.to_string(); prompts.len()]).await.map_err(e)?
                }
            };
        }
        Ok(AttemptOutcome::Unknown { why: "keyboard-interactive still asking after 4 rounds".into() })
    });
    outcome.unwrap_or_else(|why| AttemptOutcome::Unknown { why })
}

/// Try the default list as keyboard-interactive password answers, `pause` between tries;
/// stops at the first accepted.
pub fn try_keyboard_interactive_defaults(addr: std::net::SocketAddr, step: Duration, pause: Duration, reveal: bool, budget: &crate::scan::Budget) -> Vec<crate::http::Attempt> {
    let pacing = crate::creds::Pacing { step, pause, reveal };
    crate::creds::try_credentials(&format!("{addr}/tcp ssh-keyboard-interactive"), pacing, budget, |_, user, password, t| try_keyboard_interactive(addr, user, password, t))
}

/// Try the default list with password logins, `pause` between tries; stops at the first accepted.
pub fn try_defaults(addr: std::net::SocketAddr, step: Duration, pause: Duration, reveal: bool, budget: &crate::scan::Budget) -> Vec<crate::http::Attempt> {
    let pacing = crate::creds::Pacing { step, pause, reveal };
    crate::creds::try_credentials(&format!("{addr}/tcp ssh-password"), pacing, budget, |_, user, password, t| try_password(addr, user, password, t))
}

/// A KEXINIT packet with these lists (for tests and the reference device).
pub fn kexinit_packet(kex: &str, host_key: &str, cipher: &str, mac: &str) -> Vec<u8> {
    let mut payload = vec![20u8];
    payload.extend_from_slice(&[0x11; 16]);
    for l in [kex, host_key, cipher, cipher, mac, mac, "none", "none", "", ""] {
        payload.extend_from_slice(&(l.len() as u32).to_be_bytes());
        payload.extend_from_slice(l.as_bytes());
    }
    payload.extend_from_slice(&[0, 0, 0, 0, 0]); // first_kex_packet_follows, reserved
    let mut padding = 8 - (payload.len() + 5) % 8;
    if padding < 4 {
        padding += 8;
    }
    let mut p = ((payload.len() + padding + 1) as u32).to_be_bytes().to_vec();
    p.push(padding as u8);
    p.extend_from_slice(&payload);
    p.extend(std::iter::repeat_n(0u8, padding));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kexinit_round_trip_and_deprecations() {
        let p = kexinit_packet("curve25519-sha256,diffie-hellman-group1-sha1", "ssh-ed25519,ssh-dss", "aes128-ctr,3des-cbc", "hmac-sha2-256,hmac-md5");
        assert_eq!(p.len() % 8, 0, "RFC 4253 6: a multiple of the block size");
        let l = parse_kexinit(&p).unwrap();
        assert_eq!(l[0], ["curve25519-sha256", "diffie-hellman-group1-sha1"]);
        assert_eq!(l[1], ["ssh-ed25519", "ssh-dss"]);
        assert_eq!(l[8], Vec::<String>::new());
        assert_eq!(deprecated("kex", "curve25519-sha256"), None);
        assert!(deprecated("kex", "diffie-hellman-group14-sha1").is_some());
        assert!(deprecated("cipher", "arcfour256").is_some() && deprecated("cipher", "aes256-gcm@openssh.com").is_none());
        assert!(parse_kexinit(&p[..40]).is_err());
    }

    #[test]
    fn password_prompts() {
        assert!(password_prompt("Password: ") && password_prompt("admin@camera's password:") && password_prompt("Passcode:"));
        assert!(!password_prompt("Verification code: ") && !password_prompt("OTP:"));
    }
}
