//! Attack surface a device opens at boot: what its init scripts, inittab,
//! systemd units and inetd configuration start (telnet, debuggers, adb, shells
//! on serial consoles, listening shells), and how sshd lets root in.

use crate::examined::Ledger;
use crate::finding::Finding;
use crate::tree::Tree;

/// Files that decide what runs at boot.
fn is_boot_config(path: &str) -> bool {
    path == "etc/inittab"
        || path == "etc/rc.local"
        || path == "etc/inetd.conf"
        || path.starts_with("etc/init.d/")
        || path.starts_with("etc/rc.d/")
        || path.starts_with("etc/xinetd.d/")
        || path.starts_with("etc/profile")
        || (path.ends_with(".service") && (path.starts_with("etc/systemd/") || path.starts_with("lib/systemd/") || path.starts_with("usr/lib/systemd/")))
}

/// A word of `line`, as a whole token (so `telnetd` does not match `mytelnetdoc`).
fn has_word(line: &str, word: &str) -> bool {
    line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')).any(|t| t == word || t.ends_with(&format!("/{word}")))
}

const BOOT_RULES: &[&str] = &["AITE-SURFACE-BACKDOOR", "AITE-SURFACE-TELNET", "AITE-SURFACE-DEBUG"];
const CONSOLE_RULES: &[&str] = &["AITE-SURFACE-UART-SHELL", "AITE-SURFACE-UART-LOGIN"];
const SSH_RULE: &str = "AITE-SURFACE-SSH-ROOT-PASSWORD";

/// The command-line words of `line` after the program `word` (`None` if it does not start it).
fn args_after<'a>(line: &'a str, word: &str) -> Option<Vec<&'a str>> {
    let mut tokens = line.split_whitespace();
    tokens.by_ref().find(|t| has_word(t, word))?;
    Some(tokens.take_while(|t| !matches!(*t, "&" | "&&" | "||" | ";" | "|")).collect())
}

/// The options of a command line that starts dropbear itself (`dropbear -R -p 22`,
/// `exec /usr/sbin/dropbear ...`, `dropbearmulti dropbear ...`), or of one that passes
/// Debian's `$DROPBEAR_EXTRA_ARGS` to it. Mentions (`[ -x /usr/sbin/dropbear ]`,
/// `NAME=dropbear`, `echo`) are not starts.
fn starts_dropbear(line: &str) -> Option<Vec<&str>> {
    if (line.contains("$DROPBEAR_EXTRA_ARGS") || line.contains("${DROPBEAR_EXTRA_ARGS}")) && !line.contains("DROPBEAR_EXTRA_ARGS=") {
        return Some(vec![]);
    }
    let mut t = line.split_whitespace().peekable();
    while t.peek().is_some_and(|w| matches!(w.rsplit('/').next(), Some("exec" | "nohup" | "busybox" | "setsid"))) {
        t.next();
    }
    match t.next()?.rsplit('/').next()? {
        "dropbear" => {}
        "dropbearmulti" if t.peek() == Some(&"dropbear") => {
            t.next();
        }
        _ => return None,
    }
    Some(t.take_while(|w| !matches!(*w, "&" | "&&" | "||" | ";" | "|")).collect())
}

/// A getty line that gives a shell without asking for a password: `-n`/`--skip-login`,
/// `-l`/`--login-program` pointing at a shell, `-a`/`--autologin USER`.
fn getty_without_login(line: &str) -> bool {
    let Some(args) = ["getty", "agetty", "mingetty"].iter().find_map(|g| args_after(line, g)) else { return false };
    let shell = |p: &str| ["sh", "ash", "bash", "dash", "zsh"].iter().any(|s| p.rsplit('/').next() == Some(s));
    args.iter().enumerate().any(|(i, a)| {
        let next = args.get(i + 1).copied().unwrap_or("");
        match *a {
            "-n" | "--skip-login" => true,
            "-l" | "--login-program" => shell(next),
            "-a" | "--autologin" => !next.is_empty(),
            _ => a.starts_with("--login-program=") && shell(&a["--login-program=".len()..]) || a.starts_with("--autologin="),
        }
    })
}

/// Every attack-surface finding over the tree.
pub fn check(tree: &Tree, ledger: &mut Ledger) -> Vec<Finding> {
    let mut out = Vec::new();
    let configs: Vec<String> = tree.entries.keys().filter(|p| is_boot_config(p)).cloned().collect();
    let mut dropbear_started = false;
    for path in configs {
        let Some(text) = tree.read(&path).map(|b| String::from_utf8_lossy(&b).into_owned()) else {
            if tree.get(&path).is_some_and(|e| !matches!(e.kind, crate::tree::EntryKind::Dir)) {
                ledger.not_examined(BOOT_RULES, &path, "boot configuration could not be read (dangling symlink or no content)");
            }
            continue;
        };
        ledger.examined(BOOT_RULES, &path);
        if path == "etc/inittab" {
            ledger.examined(CONSOLE_RULES, &path);
        }
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let ex = |f: Finding| f.at_line(i + 1, raw.trim().to_string());
            let words = |w: &[&str]| w.iter().any(|x| has_word(line, x));
            if words(&["telnetd", "in.telnetd", "utelnetd"]) || (has_word(line, "telnet") && path == "etc/inetd.conf") {
                out.push(ex(Finding::fail("AITE-SURFACE-TELNET", &path, format!("{path} starts a telnet server (clear-text login)"))));
            }
            if words(&["gdbserver", "adbd"]) {
                let daemon = if has_word(line, "adbd") { "adbd" } else { "gdbserver" };
                out.push(ex(Finding::fail("AITE-SURFACE-DEBUG", &path, format!("{path} starts a debug service ({daemon})")).about(daemon)));
            }
            let listening_shell = (words(&["nc", "netcat", "ncat", "busybox"]) && line.contains(" -l") && (line.contains("-e") || line.contains("/bin/sh"))) || (words(&["socat"]) && line.contains("EXEC:") && line.contains("sh"));
            if listening_shell {
                out.push(ex(Finding::fail("AITE-SURFACE-BACKDOOR", &path, format!("{path} opens a shell on a listening socket"))));
            }
            // dropbear lets root log in with a password unless -w (no root), -g (no root
            // password) or -s (no passwords at all) is given.
            let procd = path == "etc/init.d/dropbear" && line.starts_with("procd_set_param command");
            if let Some(args) = starts_dropbear(line).or(procd.then(Vec::new)) {
                dropbear_started = true;
                ledger.examined(&[SSH_RULE], &format!("{path}:{}", i + 1));
                let extra = dropbear_extra_args(tree);
                let all: Vec<&str> = args.iter().copied().chain(extra.split_whitespace()).collect();
                let denies = all.iter().any(|a| a.starts_with('-') && !a.starts_with("--") && a[1..].chars().any(|c| matches!(c, 'w' | 'g' | 's')));
                if !denies {
                    out.push(ex(Finding::fail(SSH_RULE, &path, format!("{path} starts dropbear without -w, -g or -s: root can log in with a password")).about("dropbear")));
                }
            }
            if path == "etc/inittab" {
                let serial = ["ttyS", "ttyAMA", "ttyUSB", "ttymxc", "ttySAC", "console"].iter().any(|t| line.contains(t));
                let shell_without_login = (line.contains(":respawn:") || line.contains(":askfirst:")) && (line.contains("/bin/sh") || line.contains("/bin/ash") || line.contains("-/bin/sh"));
                let getty = ["getty", "agetty", "mingetty"].iter().any(|g| has_word(line, g));
                if shell_without_login || (serial && getty_without_login(line)) {
                    out.push(ex(Finding::fail("AITE-SURFACE-UART-SHELL", &path, format!("{path} gives a shell on a console without login"))));
                } else if serial && getty {
                    out.push(ex(Finding::fail("AITE-SURFACE-UART-LOGIN", &path, format!("{path} offers a login prompt on a serial console"))));
                }
            }
        }
    }
    if tree.get("etc/inittab").is_none() && tree.entries.keys().any(|p| p.contains("systemd/system/") && p.contains("getty")) {
        ledger.not_examined(CONSOLE_RULES, "systemd getty units", "consoles configured by systemd units are not examined by aite (only /etc/inittab)");
    }
    ledger.not_applicable_because(BOOT_RULES[0], "no boot configuration (inittab, rc scripts, init.d, systemd units, inetd) in the image");
    ledger.not_applicable_because(BOOT_RULES[1], "no boot configuration (inittab, rc scripts, init.d, systemd units, inetd) in the image");
    ledger.not_applicable_because(BOOT_RULES[2], "no boot configuration (inittab, rc scripts, init.d, systemd units, inetd) in the image");
    ledger.not_applicable_because(CONSOLE_RULES[0], "no /etc/inittab in the image");
    ledger.not_applicable_because(CONSOLE_RULES[1], "no /etc/inittab in the image");
    out.extend(sshd(tree, ledger));
    if !dropbear_started && tree.files().any(|e| e.path.ends_with("sbin/dropbear") || e.path.ends_with("bin/dropbearmulti")) {
        ledger.not_examined(&[SSH_RULE], "dropbear", "the dropbear binary is in the image but no boot script that starts it was found: its options are unknown");
    }
    ledger.not_applicable_because(SSH_RULE, "no SSH server (sshd_config, dropbear) in the image");
    out
}

/// Options for dropbear from `/etc/default/dropbear` (DROPBEAR_EXTRA_ARGS) and
/// OpenWrt's `/etc/config/dropbear` (`option RootPasswordAuth 'off'` is `-g`,
/// `option PasswordAuth 'off'` is `-s`).
fn dropbear_extra_args(tree: &Tree) -> String {
    let mut args = String::new();
    if let Some(t) = tree.read("etc/default/dropbear").map(|b| String::from_utf8_lossy(&b).into_owned()) {
        for l in t.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
            if let Some(v) = l.strip_prefix("DROPBEAR_EXTRA_ARGS=") {
                args.push_str(v.trim_matches(['"', '\'']));
                args.push(' ');
            }
        }
    }
    if let Some(t) = tree.read("etc/config/dropbear").map(|b| String::from_utf8_lossy(&b).into_owned()) {
        for l in t.lines().map(str::trim) {
            let off = l.ends_with("'off'") || l.ends_with("'0'") || l.ends_with(" off") || l.ends_with(" 0");
            if l.starts_with("option RootPasswordAuth") && off {
                args.push_str(" -g");
            }
            if l.starts_with("option PasswordAuth") && off {
                args.push_str(" -s");
            }
        }
    }
    args
}

/// sshd_config with its `Include`d files, in the order sshd reads them, up to
/// the first `Match` block (global settings only); the first value wins.
fn sshd_lines(tree: &Tree, path: &str, depth: usize, out: &mut Vec<(String, usize, String)>, ledger: &mut Ledger) {
    let Some(text) = tree.read(path).map(|b| String::from_utf8_lossy(&b).into_owned()) else {
        ledger.not_examined(&[SSH_RULE], path, "sshd configuration could not be read (dangling symlink or no content)");
        return;
    };
    ledger.examined(&[SSH_RULE], path);
    for (i, raw) in text.lines().enumerate() {
        let l = raw.split('#').next().unwrap_or("").trim();
        let mut words = l.split_whitespace();
        match words.next() {
            Some(k) if k.eq_ignore_ascii_case("Match") => {
                out.push((path.to_string(), i, "Match".into()));
                return;
            }
            Some(k) if k.eq_ignore_ascii_case("Include") && depth < 8 => {
                for pattern in words {
                    let full = if pattern.starts_with('/') { pattern.trim_start_matches('/').to_string() } else { format!("etc/ssh/{pattern}") };
                    let mut matched: Vec<String> = tree.entries.keys().filter(|p| glob_match(&full, p)).cloned().collect();
                    matched.sort();
                    for m in matched {
                        sshd_lines(tree, &m, depth + 1, out, ledger);
                    }
                }
            }
            Some(_) => out.push((path.to_string(), i, l.to_string())),
            None => {}
        }
    }
}

/// A shell glob with `*` and `?` over one path (as sshd's Include uses glob(3)).
fn glob_match(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && go(p, &s[1..])),
            (Some(b'?'), Some(&c)) if c != b'/' => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}

/// sshd: root login with a password, empty passwords.
fn sshd(tree: &Tree, ledger: &mut Ledger) -> Vec<Finding> {
    let mut out = Vec::new();
    if tree.get("etc/ssh/sshd_config").is_none() {
        return out;
    }
    let mut lines = Vec::new();
    sshd_lines(tree, "etc/ssh/sshd_config", 0, &mut lines, ledger);
    let setting = |key: &str| {
        lines
            .iter()
            .take_while(|(_, _, l)| l != "Match")
            .find(|(_, _, l)| l.split_whitespace().next().is_some_and(|k| k.eq_ignore_ascii_case(key)))
            .map(|(p, i, l)| (p.clone(), *i, l.split_whitespace().nth(1).unwrap_or("").to_ascii_lowercase(), l.clone()))
    };
    let password = setting("PasswordAuthentication").map(|(_, _, v, _)| v).unwrap_or_else(|| "yes".into());
    if let Some((p, i, v, l)) = setting("PermitRootLogin").filter(|(_, _, v, _)| v == "yes") {
        if password != "no" {
            out.push(Finding::fail(SSH_RULE, &p, format!("sshd lets root log in with a password (PermitRootLogin {v})")).at_line(i + 1, l).about("PermitRootLogin"));
        }
    }
    if let Some((p, i, _, l)) = setting("PermitEmptyPasswords").filter(|(_, _, v, _)| v == "yes") {
        out.push(Finding::fail(SSH_RULE, &p, "sshd accepts empty passwords").at_line(i + 1, l).about("PermitEmptyPasswords"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::{Entry, EntryKind};

    fn tree(files: &[(&str, &str)]) -> (Tree, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Tree::default();
        for (i, (p, body)) in files.iter().enumerate() {
            let c = dir.path().join(i.to_string());
            std::fs::write(&c, body).unwrap();
            t.insert(Entry { path: p.to_string(), kind: EntryKind::File, mode: 0o755, uid: 0, gid: 0, size: body.len() as u64, content: Some(c) });
        }
        (t, dir)
    }

    #[test]
    fn boot_services_and_sshd_are_read() {
        let (t, _d) = tree(&[
            ("etc/rc.local", "# telnetd is disabled here\n/usr/sbin/telnetd -l /bin/login -p 65534 &\nnc -l -p 5515 -e /bin/sh &\n"),
            ("etc/init.d/S50debug", "start() { gdbserver :2345 /usr/bin/app & }\n"),
            ("etc/inittab", "::sysinit:/etc/init.d/rcS\nttyS0::respawn:/bin/sh\n"),
            ("etc/ssh/sshd_config", "Port 22\nPermitRootLogin yes\n"),
            ("etc/init.d/S10notes", "echo 'mytelnetdoc is a file name'\n"),
        ]);
        let f = check(&t, &mut Ledger::default());
        let rules: Vec<&str> = f.iter().map(|x| x.rule.as_str()).collect();
        assert_eq!(rules.iter().filter(|r| **r == "AITE-SURFACE-TELNET").count(), 1, "{rules:?}");
        for r in ["AITE-SURFACE-BACKDOOR", "AITE-SURFACE-DEBUG", "AITE-SURFACE-UART-SHELL", "AITE-SURFACE-SSH-ROOT-PASSWORD"] {
            assert!(rules.contains(&r), "{r} missing: {rules:?}");
        }
        let telnet = f.iter().find(|x| x.rule == "AITE-SURFACE-TELNET").unwrap();
        assert_eq!(telnet.line, Some(2), "line number of the evidence");
    }

    #[test]
    fn a_login_prompt_and_key_only_ssh_are_not_shells() {
        let (t, _d) = tree(&[("etc/inittab", "ttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n"), ("etc/ssh/sshd_config", "PermitRootLogin yes\nPasswordAuthentication no\n")]);
        let rules: Vec<String> = check(&t, &mut Ledger::default()).into_iter().map(|x| x.rule).collect();
        assert_eq!(rules, vec!["AITE-SURFACE-UART-LOGIN"]);
    }

    #[test]
    fn agetty_noclear_is_a_login_and_autologin_is_a_shell() {
        let (t, _d) = tree(&[("etc/inittab", "ttyS0::respawn:/sbin/agetty --noclear -L ttyS0 115200 vt100\nttyS1::respawn:/sbin/agetty -a root ttyS1 115200\n")]);
        let f = check(&t, &mut Ledger::default());
        let rules: Vec<(&str, Option<u64>)> = f.iter().map(|x| (x.rule.as_str(), x.line)).collect();
        assert_eq!(rules, [("AITE-SURFACE-UART-LOGIN", Some(1)), ("AITE-SURFACE-UART-SHELL", Some(2))]);
    }

    #[test]
    fn dropbear_root_password_login_is_read_from_its_start_line() {
        let cases: &[(&str, &str, bool)] = &[
            ("etc/init.d/S50dropbear", "[ -x /usr/sbin/dropbear ] || exit 0\necho starting dropbear\n/usr/sbin/dropbear -R -p 22 &\n", true),
            ("etc/init.d/S50dropbear", "/usr/sbin/dropbear -R -w -p 22 &\n", false),
            ("etc/init.d/S50dropbear", "exec dropbearmulti dropbear -sg\n", false),
        ];
        for (path, body, fails) in cases {
            let (t, _d) = tree(&[(path, body), ("usr/sbin/dropbear", "ELF")]);
            let mut l = Ledger::default();
            let f = check(&t, &mut l);
            let hit: Vec<Option<u64>> = f.iter().filter(|x| x.rule == SSH_RULE).map(|x| x.line).collect();
            assert_eq!(hit, if *fails { vec![Some(3)] } else { vec![] }, "{body}");
            assert_eq!(l.count(SSH_RULE), 1, "{body}: the start line is the examined subject");
        }
        // The binary without a start line found: not examined, never a pass.
        let (t, _d) = tree(&[("usr/sbin/dropbear", "ELF")]);
        let mut l = Ledger::default();
        check(&t, &mut l);
        let o = l.outcomes(&[], None);
        assert_eq!(o.iter().find(|o| o.rule == SSH_RULE).unwrap().status, crate::finding::RuleStatus::NotChecked);
    }

    #[test]
    fn sshd_included_files_are_read_and_the_first_value_wins() {
        let (t, _d) = tree(&[
            ("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n"),
            ("etc/ssh/sshd_config.d/10-vendor.conf", "PermitRootLogin yes\n"),
        ]);
        let mut l = Ledger::default();
        let f = check(&t, &mut l);
        let hit: Vec<(&str, Option<u64>)> = f.iter().filter(|x| x.rule == SSH_RULE).map(|x| (x.path.as_str(), x.line)).collect();
        assert_eq!(hit, [("etc/ssh/sshd_config.d/10-vendor.conf", Some(1))]);
        assert_eq!(l.count(SSH_RULE), 2);
    }
}
