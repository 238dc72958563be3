//! Attack surface a device opens at boot: what its init scripts, inittab,
//! systemd units and inetd configuration start (telnet, debuggers, adb, shells
//! on serial consoles, listening shells), and how sshd lets root in.

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

/// Every attack-surface finding over the tree.
pub fn check(tree: &Tree) -> Vec<Finding> {
    let mut out = Vec::new();
    let configs: Vec<String> = tree.entries.keys().filter(|p| is_boot_config(p)).cloned().collect();
    for path in configs {
        let Some(text) = tree.read(&path).map(|b| String::from_utf8_lossy(&b).into_owned()) else { continue };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let ex = |f: Finding| f.with_excerpt(Some(i as u64 + 1), raw.trim().to_string());
            let words = |w: &[&str]| w.iter().any(|x| has_word(line, x));
            if words(&["telnetd", "in.telnetd", "utelnetd"]) || (has_word(line, "telnet") && path == "etc/inetd.conf") {
                out.push(ex(Finding::fail("AITE-SURFACE-TELNET", &path, format!("{path} starts a telnet server (clear-text login)"))));
            }
            if words(&["gdbserver", "adbd"]) {
                out.push(ex(Finding::fail("AITE-SURFACE-DEBUG", &path, format!("{path} starts a debug service ({})", if has_word(line, "adbd") { "adbd" } else { "gdbserver" }))));
            }
            let listening_shell = (words(&["nc", "netcat", "ncat", "busybox"]) && line.contains(" -l") && (line.contains("-e") || line.contains("/bin/sh"))) || (words(&["socat"]) && line.contains("EXEC:") && line.contains("sh"));
            if listening_shell {
                out.push(ex(Finding::fail("AITE-SURFACE-BACKDOOR", &path, format!("{path} opens a shell on a listening socket"))));
            }
            if path == "etc/inittab" {
                let serial = ["ttyS", "ttyAMA", "ttyUSB", "ttymxc", "ttySAC", "console"].iter().any(|t| line.contains(t));
                let shell_without_login = (line.contains(":respawn:") || line.contains(":askfirst:")) && (line.contains("/bin/sh") || line.contains("/bin/ash") || line.contains("-/bin/sh"));
                if shell_without_login || (serial && line.contains("getty") && (line.contains("-n") || line.contains("-l /bin/sh"))) {
                    out.push(ex(Finding::fail("AITE-SURFACE-UART-SHELL", &path, format!("{path} gives a shell on a console without login"))));
                } else if serial && line.contains("getty") {
                    out.push(ex(Finding::fail("AITE-SURFACE-UART-LOGIN", &path, format!("{path} offers a login prompt on a serial console"))));
                }
            }
        }
    }
    // sshd: root login with a password.
    if let Some(text) = tree.read("etc/ssh/sshd_config").map(|b| String::from_utf8_lossy(&b).into_owned()) {
        let setting = |key: &str| {
            text.lines()
                .enumerate()
                .map(|(i, l)| (i, l.split('#').next().unwrap_or("").trim()))
                .find(|(_, l)| l.split_whitespace().next().is_some_and(|k| k.eq_ignore_ascii_case(key)))
                .map(|(i, l)| (i, l.split_whitespace().nth(1).unwrap_or("").to_ascii_lowercase(), l.to_string()))
        };
        let root = setting("PermitRootLogin");
        let password = setting("PasswordAuthentication").map(|(_, v, _)| v).unwrap_or_else(|| "yes".into());
        if let Some((i, v, l)) = root.filter(|(_, v, _)| v == "yes") {
            if password != "no" {
                out.push(Finding::fail("AITE-SURFACE-SSH-ROOT-PASSWORD", "etc/ssh/sshd_config", format!("sshd lets root log in with a password (PermitRootLogin {v})")).with_excerpt(Some(i as u64 + 1), l));
            }
        }
        if let Some((i, _, l)) = setting("PermitEmptyPasswords").filter(|(_, v, _)| v == "yes") {
            out.push(Finding::fail("AITE-SURFACE-SSH-ROOT-PASSWORD", "etc/ssh/sshd_config", "sshd accepts empty passwords").with_excerpt(Some(i as u64 + 1), l));
        }
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
        let f = check(&t);
        let rules: Vec<&str> = f.iter().map(|x| x.rule.as_str()).collect();
        assert_eq!(rules.iter().filter(|r| **r == "AITE-SURFACE-TELNET").count(), 1, "{rules:?}");
        for r in ["AITE-SURFACE-BACKDOOR", "AITE-SURFACE-DEBUG", "AITE-SURFACE-UART-SHELL", "AITE-SURFACE-SSH-ROOT-PASSWORD"] {
            assert!(rules.contains(&r), "{r} missing: {rules:?}");
        }
        let telnet = f.iter().find(|x| x.rule == "AITE-SURFACE-TELNET").unwrap();
        assert_eq!(telnet.offset, Some(2), "line number of the evidence");
    }

    #[test]
    fn a_login_prompt_and_key_only_ssh_are_not_shells() {
        let (t, _d) = tree(&[("etc/inittab", "ttyS0::respawn:/sbin/getty -L ttyS0 115200 vt100\n"), ("etc/ssh/sshd_config", "PermitRootLogin yes\nPasswordAuthentication no\n")]);
        let rules: Vec<String> = check(&t).into_iter().map(|x| x.rule).collect();
        assert_eq!(rules, vec!["AITE-SURFACE-UART-LOGIN"]);
    }
}
