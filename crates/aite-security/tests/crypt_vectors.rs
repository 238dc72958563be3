//! Password verification against hashes made by other implementations: the
//! published SHA-crypt vectors (Drepper's specification, carried in
//! libxcrypt's test/crypt-sha256.c and test/crypt-sha512.c), libxcrypt's
//! bcrypt known answers (test/crypt-kat.inc), OpenSSL's `openssl passwd`
//! (3.0.19) and Python's `crypt` module over the system libxcrypt, each
//! generated once and pasted with its command; and the real IoTGoat shadow in
//! ../shared. None of these hashes is made by the library that checks them.
//!
//! `crack(user, hash)` tries the account name first, then the default list, so
//! a vector whose password is not a default is checked with the password as
//! the account name.

mod common;

use aite_security::credentials::{crack, md5_crypt_with_magic, scheme};

/// (password, hash, scheme) published with Drepper's SHA-crypt specification
/// (https://www.akkadia.org/drepper/SHA-crypt.txt) and libxcrypt's tests.
const SHA_CRYPT_SPEC: &[(&str, &str, &str)] = &[
    ("Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "sha256-crypt"),
    ("Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA", "sha256-crypt"),
    ("This is just a test", "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5", "sha256-crypt"),
    ("a very much longer text to encrypt.  This one even stretches over morethan one line.", "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1", "sha256-crypt"),
    ("Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "sha512-crypt"),
    ("Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.", "sha512-crypt"),
    ("This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0", "sha512-crypt"),
    ("a very much longer text to encrypt.  This one even stretches over morethan one line.", "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1", "sha512-crypt"),
    ("we have a short salt string but not a short password", "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0", "sha512-crypt"),
];

/// (password, hash) from libxcrypt's bcrypt known answers (test/crypt-kat.inc).
const BCRYPT_KAT: &[(&str, &str)] = &[
    ("dragon", "$2b$04$abcdefghijklmnopqrstuujzhP54E3nDKxLTbGbyrFiW3EkV.7ERC"),
    ("U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
];

/// (command, password, hash): `openssl passwd` (OpenSSL 3.0.19); every password is on aite's default list.
const OPENSSL: &[(&str, &str, &str)] = &[
    ("openssl passwd -1 -salt abcdefgh admin", "admin", "$1$abcdefgh$l/LAqC8oJERu7Cmx6trtY/"),
    ("openssl passwd -1 -salt Jl7H1VOG xc3511", "xc3511", "$1$Jl7H1VOG$ajVRPxf2wkUmYB7j1DbXP."),
    ("openssl passwd -apr1 -salt abcdefgh admin", "admin", "$apr1$abcdefgh$mMZnMi5KMcUTRCidnJ3Px0"),
    ("openssl passwd -apr1 -salt rAnd0m camera", "camera", "$apr1$rAnd0m$dz1jQIvNe.zEpnKohdAXW0"),
    ("openssl passwd -5 -salt abcdefgh admin", "admin", "$5$abcdefgh$eKmO8qqatxyseBbtE4o3nrolLfuFP7p82NOMAwOerUC"),
    ("openssl passwd -5 -salt saltsaltsalt 7ujMko0vizxv", "7ujMko0vizxv", "$5$saltsaltsalt$CjtmieDVi2B6dGO7T0HghUFDDWKmDG1k0foNhobpYAB"),
    ("openssl passwd -6 -salt abcdefgh admin", "admin", "$6$abcdefgh$Jofd.FZRLVyYwt/zWLWzi7cPbdUfgEgHrcdJLmkXy8uHwCGSf90RMkKTVTj0nhlkfJpZY94qtrpFrWz1mwRvH1"),
    ("openssl passwd -6 -salt 0123456789abcdef vizxv", "vizxv", "$6$0123456789abcdef$2DvlpTbtOAyWAa3heYM258olqnh2CfTlH4VdA14ShxvFxawceMhdtKQ2YhOG1ru7alJsZNJgNiaio090vlWlQ."),
];

/// (call, password, hash): Python 3.11's `crypt.crypt` over Debian's libxcrypt
/// (`openssl passwd` no longer offers DES-crypt); every password is on aite's default list.
const PYTHON_CRYPT: &[(&str, &str, &str)] = &[
    ("crypt.crypt('admin', 'ab')", "admin", "abOV.DfJmdnYw"),
    ("crypt.crypt('xc3511', 'xy')", "xc3511", "xy3XChQIlhmVE"),
    ("crypt.crypt('admin', '$1$camera12')", "admin", "$1$camera12$9uYHUZd/UihYMwDaed5/i."),
    ("crypt.crypt('1234', '$1$$')", "1234", "$1$$iC.dUsGpxNNJGeOm1dFio/"),
    ("crypt.crypt('hikvision', '$5$rounds=1000$aitepeer')", "hikvision", "$5$rounds=1000$aitepeer$aGXM8jUQQAUTd9J9yPLidKs/8PEj4hbNStuCtnWrME4"),
    ("crypt.crypt('root', '$6$aite.peer$')", "root", "$6$aite.peer$Sm8lp8lY5osokLhFWJ0Hr.VeHLJIX97X2WoumuSpPdXKxb3dvUcelmpAeuGZt9Q.6gZrGQay4SAwXXA3TCy2x1"),
    ("crypt.crypt('default', '$2b$05$abcdefghijklmnopqrstuu')", "default", "$2b$05$abcdefghijklmnopqrstuu5PsWXHq3hz0bkBTj/Uu0B8fm2OzFmpe"),
    ("crypt.crypt('admin', '$y$j9T$aiteaiteaiteaiteaite')", "admin", "$y$j9T$aiteaiteaiteaiteaite$kl9cROMmOgGhA0dyLp7JlvGbzK8PDoXMTUpybnEUNx0"),
];

/// The hash with its last character changed: no password matches it.
fn damaged(hash: &str) -> String {
    let mut h = hash.to_string();
    let last = h.pop().unwrap();
    h.push(if last == 'A' { 'B' } else { 'A' });
    h
}

#[test]
fn published_sha_crypt_vectors_verify() {
    for (password, hash, s) in SHA_CRYPT_SPEC {
        assert_eq!(scheme(hash), *s, "{hash}");
        assert_eq!(crack(password, hash), Ok(Some(password.to_string())), "{hash}");
    }
    // A wrong password and a damaged hash do not verify (every default is tried: keep to 5000 rounds).
    assert_eq!(crack("Hello world?", SHA_CRYPT_SPEC[0].1), Ok(None));
    assert_eq!(crack("Hello world!", &damaged(SHA_CRYPT_SPEC[4].1)), Ok(None));
}

#[test]
fn libxcrypt_bcrypt_known_answers_verify() {
    for (password, hash) in BCRYPT_KAT {
        assert_eq!(scheme(hash), "bcrypt", "{hash}");
        assert_eq!(crack(password, hash), Ok(Some(password.to_string())), "{hash}");
        assert_eq!(crack(password, &damaged(hash)), Ok(None), "{hash}");
    }
}

#[test]
fn openssl_passwd_hashes_reveal_their_default_password() {
    for (cmd, password, hash) in OPENSSL {
        // Found from the default list, not from the account name.
        assert_eq!(crack("camera-user", hash), Ok(Some(password.to_string())), "{cmd}");
        assert_eq!(crack("camera-user", &damaged(hash)), Ok(None), "{cmd}");
        // MD5-crypt and Apache's apr1 are computed by aite itself: the digest matches byte for byte.
        for magic in ["$1$", "$apr1$"] {
            if let Some(rest) = hash.strip_prefix(magic) {
                let salt = rest.split('$').next().unwrap();
                assert_eq!(md5_crypt_with_magic(password.as_bytes(), salt.as_bytes(), magic), *hash, "{cmd}");
            }
        }
    }
}

#[test]
fn python_crypt_hashes_reveal_their_default_password() {
    for (call, password, hash) in PYTHON_CRYPT {
        assert_ne!(scheme(hash), "unknown", "{call}");
        assert_eq!(crack("camera-user", hash), Ok(Some(password.to_string())), "{call}");
    }
    assert_eq!(scheme(PYTHON_CRYPT[0].2), "des-crypt");
    assert_eq!(crack("camera-user", &damaged(PYTHON_CRYPT[0].2)), Ok(None));
    assert_eq!(crack("camera-user", &damaged(PYTHON_CRYPT[2].2)), Ok(None));
}

/// OWASP IoTGoat's real /etc/shadow: iotgoatuser's password is 7ujMko0vizxv
/// (a Mirai default); root's is not on any default list (checked with Python's
/// crypt over every entry of the list).
#[test]
fn the_real_iotgoat_shadow_gives_iotgoatusers_password_and_not_roots() {
    let Some(shadow) = common::shared("firmware/iotgoat-overlay/etc/shadow") else { return };
    let text = std::fs::read_to_string(&shadow).unwrap();
    let mut verdicts = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f[1].starts_with('$') {
            verdicts.push((f[0].to_string(), scheme(f[1]), crack(f[0], f[1])));
        }
    }
    assert_eq!(
        verdicts,
        [("root".to_string(), "md5-crypt", Ok(None)), ("iotgoatuser".to_string(), "md5-crypt", Ok(Some("7ujMko0vizxv".to_string())))],
        "{text}"
    );
}
