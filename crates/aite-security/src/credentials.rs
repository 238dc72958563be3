//! Accounts and passwords: `/etc/passwd`, `/etc/shadow` and htpasswd-style
//! `user:hash` files. Hashes are verified against a short list of well-known
//! default passwords with real crypt implementations (DES, MD5-crypt,
//! SHA-256/512-crypt, bcrypt); nothing is brute-forced.

use crate::examined::Ledger;
use crate::finding::Finding;
use crate::tree::Tree;

/// Default passwords seen on cameras and IoT devices (the Mirai botnet's list
/// and vendor defaults), plus the account name itself.
pub const DEFAULT_PASSWORDS: &[&str] = &[
    "", "root", "admin", "password", "pass", "1234", "12345", "123456", "12345678", "123456789", "54321", "666666", "888888", "1111", "111111",
    "0000", "00000000", "default", "guest", "user", "support", "service", "system", "tech", "ubnt", "xc3511", "vizxv", "7ujMko0admin",
    "7ujMko0vizxv", "juantech", "anko", "zlxx.", "klv123", "klv1234", "jvbzd", "hi3518", "ikwb", "dreambox", "realtek", "Zte521", "smcadmin",
    "meinsm", "admin1234", "changeme", "letmein", "toor", "raspberry", "camera", "ipcam", "hikvision", "12345admin", "admin123",
];

/// Whether `hash` is `$<id>$[rounds=N$]salt$digest` with crypt(3)'s alphabet
/// and a digest of `digest_len` characters (22 for MD5, 43 for SHA-256, 86 for
/// SHA-512). mosquitto's `$6$<base64>$<base64>` and truncated hashes share the
/// prefix but are not crypt(3): they are not verified as if they were.
fn crypt_shaped(hash: &str, id: &str, digest_len: usize) -> bool {
    let Some(rest) = hash.strip_prefix(id) else { return false };
    let rest = rest.strip_prefix("rounds=").map_or(Some(rest), |r| r.split_once('$').filter(|(n, _)| n.parse::<u32>().is_ok()).map(|(_, r)| r));
    let Some((salt, digest)) = rest.and_then(|r| r.split_once('$')) else { return false };
    let alphabet = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/');
    salt.len() <= 16 && alphabet(salt) && digest.len() == digest_len && alphabet(digest)
}

/// Which scheme a crypt(3) hash uses; `unknown` when it only looks like one.
pub fn scheme(hash: &str) -> &'static str {
    match hash {
        h if h.starts_with("$1$") => if crypt_shaped(h, "$1$", 22) { "md5-crypt" } else { "unknown" },
        h if h.starts_with("$apr1$") => if crypt_shaped(h, "$apr1$", 22) { "apr1" } else { "unknown" },
        h if h.starts_with("$5$") => if crypt_shaped(h, "$5$", 43) { "sha256-crypt" } else { "unknown" },
        h if h.starts_with("$6$") => if crypt_shaped(h, "$6$", 86) { "sha512-crypt" } else { "unknown" },
        h if h.starts_with("{SHA}") => "htpasswd-sha1",
        h if h.starts_with("$2") => "bcrypt",
        h if h.starts_with("$y$") => "yescrypt",
        h if h.starts_with("$gy$") => "gost-yescrypt",
        h if h.len() == 13 && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '/') => "des-crypt",
        _ => "unknown",
    }
}

/// A default password that matches `hash`, if any; `Err` when the scheme cannot be verified.
pub fn crack(user: &str, hash: &str) -> Result<Option<String>, &'static str> {
    let s = scheme(hash);
    if matches!(s, "gost-yescrypt" | "htpasswd-sha1" | "unknown") {
        return Err(s);
    }
    // A yescrypt hash the crate cannot parse (unusual parameters) is not verifiable.
    if s == "yescrypt" && yescrypt_verify("", hash).is_err() {
        return Err(s);
    }
    let mut candidates: Vec<&str> = vec![user];
    candidates.extend(DEFAULT_PASSWORDS);
    let verify = |p: &str| match s {
        "apr1" => apr1_verify(p, hash),
        "yescrypt" => yescrypt_verify(p, hash) == Ok(true),
        _ => pwhash::unix::verify(p, hash),
    };
    Ok(candidates.into_iter().find(|p| verify(p)).map(str::to_string))
}

/// yescrypt (`$y$`, Debian 12's default): `Ok(matches)`, `Err` when the hash cannot be read.
fn yescrypt_verify(password: &str, hash: &str) -> Result<bool, ()> {
    use yescrypt::{password_hash::Error, PasswordVerifier};
    match yescrypt::Yescrypt::default().verify_password(password.as_bytes(), hash) {
        Ok(()) => Ok(true),
        Err(Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(()),
    }
}

/// MD5-crypt with a given magic (`$1$` for crypt(3), `$apr1$` for Apache's
/// htpasswd, which pwhash does not cover): Poul-Henning Kamp's algorithm.
pub fn md5_crypt_with_magic(password: &[u8], salt: &[u8], magic: &str) -> String {
    use md5::{Digest, Md5};
    let salt = &salt[..salt.len().min(8)];
    let alt = Md5::new().chain_update(password).chain_update(salt).chain_update(password).finalize();
    let mut ctx = Md5::new().chain_update(password).chain_update(magic.as_bytes()).chain_update(salt);
    let mut left = password.len();
    while left > 0 {
        ctx.update(&alt[..left.min(16)]);
        left = left.saturating_sub(16);
    }
    let mut i = password.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut digest = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 { c.update(password) } else { c.update(digest) }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(password);
        }
        if round & 1 == 1 { c.update(digest) } else { c.update(password) }
        digest = c.finalize();
    }
    const ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = format!("{magic}{}$", String::from_utf8_lossy(salt));
    let mut push = |v: u32, n: usize| {
        let mut v = v;
        for _ in 0..n {
            out.push(ALPHABET[(v & 0x3f) as usize] as char);
            v >>= 6;
        }
    };
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        push(((digest[a] as u32) << 16) | ((digest[b] as u32) << 8) | digest[c] as u32, 4);
    }
    push(digest[11] as u32, 2);
    out
}

fn apr1_verify(password: &str, hash: &str) -> bool {
    let Some(rest) = hash.strip_prefix("$apr1$") else { return false };
    let salt = rest.split('$').next().unwrap_or("");
    md5_crypt_with_magic(password.as_bytes(), salt.as_bytes(), "$apr1$") == hash
}

fn locked(hash: &str) -> bool {
    hash.starts_with('!') || hash.starts_with('*') || hash == "x"
}

/// The rules that judge a password field.
const PASSWORD_RULES: &[&str] = &["AITE-CRED-EMPTY", "AITE-CRED-DEFAULT", "AITE-CRED-WEAK-HASH"];
/// Every account rule.
const ACCOUNT_RULES: &[&str] = &["AITE-CRED-EMPTY", "AITE-CRED-DEFAULT", "AITE-CRED-WEAK-HASH", "AITE-CRED-UID0", "AITE-CRED-HASH-IN-PASSWD"];

/// Check one account's password field.
fn check_hash(findings: &mut Vec<Finding>, ledger: &mut Ledger, file: &str, line_no: usize, user: &str, hash: &str) {
    let subject = format!("{file}:{user}");
    let excerpt = format!("{user}:{}…", hash.chars().take(12).collect::<String>());
    ledger.examined(&["AITE-CRED-EMPTY"], &subject);
    if hash.is_empty() {
        ledger.examined(&["AITE-CRED-DEFAULT", "AITE-CRED-WEAK-HASH"], &subject);
        findings.push(Finding::fail("AITE-CRED-EMPTY", file, format!("account `{user}` has an empty password field: anyone can log in")).at_line(line_no, format!("{user}::")).about(user));
        return;
    }
    if locked(hash) {
        // No password can log in: examined, nothing to find.
        ledger.examined(&["AITE-CRED-DEFAULT", "AITE-CRED-WEAK-HASH"], &subject);
        return;
    }
    let s = scheme(hash);
    ledger.examined(&["AITE-CRED-WEAK-HASH"], &subject);
    match crack(user, hash) {
        Ok(found) => {
            ledger.examined(&["AITE-CRED-DEFAULT"], &subject);
            if let Some(pw) = found {
                findings.push(Finding::fail("AITE-CRED-DEFAULT", file, format!("account `{user}` uses the well-known password `{pw}` ({s})")).at_line(line_no, excerpt.clone()).about(user));
            }
        }
        Err(s) => ledger.not_examined(&["AITE-CRED-DEFAULT"], &subject, format!("{s} hashes are not verified by aite")),
    }
    if matches!(s, "des-crypt" | "md5-crypt") {
        findings.push(Finding::fail("AITE-CRED-WEAK-HASH", file, format!("account `{user}` is hashed with {s}")).at_line(line_no, excerpt).about(user));
    }
}

/// The account database at `path`: its text, or why it cannot be read
/// (cameras often link /etc/passwd and /etc/shadow into /var or /tmp, which
/// are filled at run time and are not in the image).
fn account_file(tree: &Tree, path: &str) -> Option<Result<String, String>> {
    let entry = tree.get(path)?;
    Some(match tree.read(path) {
        Some(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        None => Err(match &entry.kind {
            crate::tree::EntryKind::Symlink { target } => format!("/{path} is a symlink to {target}, which is not in the image (created at run time?): the account database is outside the image"),
            _ => format!("/{path} could not be read"),
        }),
    })
}

/// Every credential check over the tree.
pub fn check(tree: &Tree, ledger: &mut Ledger) -> Vec<Finding> {
    let mut findings = Vec::new();
    let shadow = account_file(tree, "etc/shadow");
    match account_file(tree, "etc/passwd") {
        Some(Ok(text)) => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                let f: Vec<&str> = line.split(':').collect();
                // name:password:UID:GID[:GECOS:home:shell]; anything else may be an account aite cannot read.
                if f.len() < 4 || f[0].is_empty() || f[2].parse::<u32>().is_err() {
                    let subject = format!("etc/passwd:line {}", i + 1);
                    ledger.not_examined(ACCOUNT_RULES, &subject, format!("cannot parse /etc/passwd line {}: expected name:password:UID:GID:…, found {} field(s){}", i + 1, f.len(), if f.len() >= 3 { format!(" with UID `{}`", f[2].chars().take(12).collect::<String>()) } else { String::new() }));
                    continue;
                }
                let (user, pw, uid) = (f[0], f[1], f[2]);
                let subject = format!("etc/passwd:{user}");
                ledger.examined(&["AITE-CRED-UID0", "AITE-CRED-HASH-IN-PASSWD"], &subject);
                if uid == "0" && user != "root" {
                    findings.push(Finding::fail("AITE-CRED-UID0", "etc/passwd", format!("account `{user}` has UID 0 (root privileges)")).at_line(i + 1, line.to_string()).about(user));
                }
                if !pw.is_empty() && !locked(pw) {
                    findings.push(Finding::fail("AITE-CRED-HASH-IN-PASSWD", "etc/passwd", format!("account `{user}` keeps its hash in /etc/passwd")).at_line(i + 1, format!("{user}:{}…", pw.chars().take(12).collect::<String>())).about(user));
                    check_hash(&mut findings, ledger, "etc/passwd", i + 1, user, pw);
                } else if pw.is_empty() && shadow.is_none() {
                    check_hash(&mut findings, ledger, "etc/passwd", i + 1, user, pw);
                } else if pw == "x" && shadow.is_none() {
                    ledger.not_examined(PASSWORD_RULES, &subject, "its password is in /etc/shadow, which is not in the image");
                }
            }
            if text.lines().all(|l| l.trim().is_empty() || l.starts_with('#')) {
                ledger.not_examined(ACCOUNT_RULES, "etc/passwd", "cannot parse /etc/passwd: it holds no account line (an image's passwd lists at least root)");
            }
        }
        Some(Err(why)) => ledger.not_examined(ACCOUNT_RULES, "etc/passwd", why),
        None => {}
    }
    match shadow {
        Some(Ok(text)) => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                let f: Vec<&str> = line.split(':').collect();
                if f.len() < 2 || f[0].is_empty() {
                    ledger.not_examined(PASSWORD_RULES, &format!("etc/shadow:line {}", i + 1), format!("cannot parse /etc/shadow line {}: expected name:password:…, found no `name:` field", i + 1));
                    continue;
                }
                check_hash(&mut findings, ledger, "etc/shadow", i + 1, f[0], f[1]);
            }
            if text.lines().all(|l| l.trim().is_empty() || l.starts_with('#')) {
                ledger.not_examined(PASSWORD_RULES, "etc/shadow", "cannot parse /etc/shadow: it holds no account line");
            }
        }
        Some(Err(why)) => ledger.not_examined(PASSWORD_RULES, "etc/shadow", why),
        None => {}
    }
    // htpasswd-style files (web UIs): user:hash or user:plaintext.
    let web: Vec<String> = tree
        .files()
        .map(|e| e.path.clone())
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            name.contains("htpasswd") || name.ends_with(".user") || name.ends_with(".passwd")
        })
        .collect();
    for path in web {
        let Some(text) = tree.read(&path).map(|b| String::from_utf8_lossy(&b).into_owned()) else {
            ledger.not_examined(&["AITE-CRED-DEFAULT"], &path, "could not be read");
            continue;
        };
        const WEB_LINES_MAX: usize = 1000;
        if text.lines().count() > WEB_LINES_MAX {
            ledger.not_examined(&["AITE-CRED-EMPTY", "AITE-CRED-DEFAULT", "AITE-CRED-HASH-IN-PASSWD"], &path, format!("lines after the first {WEB_LINES_MAX} were not read"));
        }
        for (i, line) in text.lines().enumerate().take(WEB_LINES_MAX) {
            let Some((user, secret)) = line.split_once(':') else { continue };
            if user.is_empty() || line.starts_with('#') {
                continue;
            }
            let secret = secret.split(':').next().unwrap_or(secret);
            if secret.is_empty() {
                ledger.examined(&["AITE-CRED-EMPTY", "AITE-CRED-DEFAULT", "AITE-CRED-HASH-IN-PASSWD"], &format!("{path}:{user}"));
                findings.push(Finding::fail("AITE-CRED-EMPTY", &path, format!("web account `{user}` has an empty password")).at_line(i + 1, format!("{user}:")).about(user));
            } else if scheme(secret) == "unknown" && !secret.starts_with('$') {
                // Plain text (lighttpd's htdigest/plain backends, many vendor UIs).
                let subject = format!("{path}:{user}");
                ledger.examined(&["AITE-CRED-EMPTY", "AITE-CRED-DEFAULT", "AITE-CRED-HASH-IN-PASSWD"], &subject);
                let known = DEFAULT_PASSWORDS.contains(&secret) || secret == user;
                let msg = if known { format!("web account `{user}` has the well-known password `{secret}`, stored in plain text") } else { format!("web account `{user}` has its password stored in plain text") };
                let rule = if known { "AITE-CRED-DEFAULT" } else { "AITE-CRED-HASH-IN-PASSWD" };
                findings.push(Finding::fail(rule, &path, msg).at_line(i + 1, format!("{user}:…")).about(user));
            } else {
                check_hash(&mut findings, ledger, &path, i + 1, user, secret);
            }
        }
    }
    ledger.not_applicable_because("AITE-CRED-EMPTY", "no account database (/etc/passwd, /etc/shadow) or web password file in the image");
    ledger.not_applicable_because("AITE-CRED-DEFAULT", "no account database (/etc/passwd, /etc/shadow) or web password file in the image");
    ledger.not_applicable_because("AITE-CRED-UID0", "no /etc/passwd in the image");
    findings
}

#[cfg(test)]
#[allow(deprecated)] // weak schemes are what devices ship; the tests must make them
mod tests {
    use super::*;

    #[test]
    fn real_crypt_schemes_are_verified() {
        // Hashes made with Python's crypt module / openssl passwd.
        let md5 = pwhash::md5_crypt::hash_with("$1$abcdefgh$", "xc3511").unwrap();
        assert_eq!(crack("root", &md5), Ok(Some("xc3511".into())));
        let des = pwhash::unix_crypt::hash_with("ab", "admin").unwrap();
        assert_eq!(scheme(&des), "des-crypt");
        assert_eq!(crack("admin", &des), Ok(Some("admin".into())));
        let sha = pwhash::sha512_crypt::hash_with("$6$saltsalt$", "a long unique passphrase").unwrap();
        assert_eq!(crack("root", &sha), Ok(None));
        assert_eq!(crack("root", "$y$j9T$abc$def"), Err("yescrypt"));
        // yescrypt as Debian 12 writes it (Python's crypt over libxcrypt, cost j9T).
        assert_eq!(crack("root", "$y$j9T$aiteaiteaiteaiteaite$kl9cROMmOgGhA0dyLp7JlvGbzK8PDoXMTUpybnEUNx0"), Ok(Some("admin".into())));
        let other = "$y$j9T$aiteaiteaiteaiteaite$kl9cROMmOgGhA0dyLp7JlvGbzK8PDoXMTUpybnEUNx1";
        assert_eq!(crack("root", other), Ok(None));
    }

    /// Fields that only look like crypt(3) are not verified as if they were (FACT_core's
    /// passwd_test: mosquitto's `$6$<base64>$<base64>`, htpasswd `{SHA}`).
    #[test]
    fn look_alike_hashes_are_not_verifiable() {
        assert_eq!(scheme("$6$AQIDBAUG$LJOy7+x1cwKlJ74yCwBak1Vn83DyaKE5NvpC7zMcxwNux1pl+BEs5RH/YIjJKm/hOE+9D3CpvHrEGqYQM4SqjA=="), "unknown");
        assert_eq!(scheme("{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc="), "htpasswd-sha1");
        assert_eq!(crack("admin", "{SHA}0DPiKuNIrrVmD8IUCuw1hQxNqZc="), Err("htpasswd-sha1"));
        assert_eq!(scheme("$1$12345678$hj0u"), "unknown", "truncated");
        // `openssl passwd -1 -salt '' root`, `-6 -salt HcGU0JUp 123456`, and with rounds (`mkpasswd -R 5000`-style setting).
        assert_eq!(scheme("$1$$oCLuEVgI1iAqOA8pwkzAg1"), "md5-crypt");
        assert_eq!(scheme("$6$HcGU0JUp$LbTjc1Ai4TcTwZRi5sRyObUUHsRHtEj6YXTgduYpESFRYMZrfzZCspg2flG78QGwaqe8GSf8NLfE7tTVOUpSc1"), "sha512-crypt");
        let rounds = pwhash::sha512_crypt::hash_with("$6$rounds=5000$saltsalt$", "x").unwrap();
        assert_eq!(scheme(&rounds), "sha512-crypt", "{rounds}");
    }

    #[test]
    fn apr1_matches_openssl() {
        // `openssl passwd -apr1 -salt abcdefgh admin` and `-1` for the crypt(3) magic.
        assert_eq!(md5_crypt_with_magic(b"admin", b"abcdefgh", "$apr1$"), "$apr1$abcdefgh$mMZnMi5KMcUTRCidnJ3Px0");
        assert_eq!(md5_crypt_with_magic(b"admin", b"abcdefgh", "$1$"), "$1$abcdefgh$l/LAqC8oJERu7Cmx6trtY/");
        assert_eq!(crack("admin", "$apr1$abcdefgh$mMZnMi5KMcUTRCidnJ3Px0"), Ok(Some("admin".into())));
    }

    #[test]
    fn iotgoat_style_shadow_is_cracked() {
        // 7ujMko0vizxv is in the Mirai list; the hash is MD5-crypt as in IoTGoat.
        let h = pwhash::md5_crypt::hash_with("$1$Jl7H1VOG$", "7ujMko0vizxv").unwrap();
        assert_eq!(crack("iotgoatuser", &h), Ok(Some("7ujMko0vizxv".into())));
    }
}
