//! A throwaway PostgreSQL server for tests: initdb in a temp folder (as the `postgres`
//! user when run as root, since initdb refuses root), listening on 127.0.0.1 at a free
//! port and on a Unix socket in the same folder, trust authentication, stopped by PID
//! when dropped. [`PgServer::start`] returns `None` (after printing why) when the
//! PostgreSQL binaries are absent, and panics instead under AITE_REQUIRE_PEERS=1.
//! Shared by the aite-history tests and the CLI's (`#[path]`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct PgServer {
    bin: PathBuf,
    /// The temp folder: data/, the socket, pg.log.
    pub dir: String,
    data: String,
    pub port: u16,
    pid: Option<u32>,
    _tmp: tempfile::TempDir,
}

fn pg_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).filter(|b| b.join("initdb").exists()).collect();
    dirs.sort();
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Run a PostgreSQL tool, as the `postgres` user when we are root.
pub fn tool(bin: &Path, name: &str, args: &[&str]) -> Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(name));
        c
    } else {
        Command::new(bin.join(name))
    };
    cmd.args(args).output().unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl PgServer {
    pub fn start() -> Option<PgServer> {
        let Some(bin) = pg_bin() else {
            if std::env::var_os("AITE_REQUIRE_PEERS").is_some_and(|v| v == "1") {
                panic!("PostgreSQL is not installed (apt-get install -y postgresql) and AITE_REQUIRE_PEERS=1");
            }
            eprintln!("skipped: PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb); apt-get install -y postgresql");
            return None;
        };
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_str().unwrap().to_string();
        if is_root() {
            ok(Command::new("chown").args(["-R", "postgres:postgres", &dir]).output().unwrap(), "chown");
        }
        let data = format!("{dir}/data");
        ok(tool(&bin, "initdb", &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]), "initdb");
        // The free port is released before the postmaster binds it, so another test (or any
        // socket) may take it meanwhile: a start that could not bind tries another port.
        let mut server = PgServer { bin, dir: dir.clone(), data, port: 0, pid: None, _tmp: tmp };
        let log = format!("{dir}/pg.log");
        for attempt in 1.. {
            server.port = free_port();
            let opts = format!("-c listen_addresses=127.0.0.1 -p {} -k {dir} -c fsync=off", server.port);
            let out = tool(&server.bin, "pg_ctl", &["-D", &server.data, "-l", &log, "-w", "-t", "120", "-o", &opts, "start"]);
            let taken = std::fs::read_to_string(&log).unwrap_or_default().contains("could not bind");
            if out.status.success() || !taken || attempt == 5 {
                ok(out, "pg_ctl start");
                break;
            }
            let _ = std::fs::remove_file(&log);
        }
        // The postmaster's PID is the first line of postmaster.pid.
        server.pid = std::fs::read_to_string(format!("{}/postmaster.pid", server.data)).ok().and_then(|t| t.lines().next()?.trim().parse().ok());
        assert!(server.pid.is_some(), "no postmaster.pid in {}", server.data);
        Some(server)
    }

    /// `postgres://postgres@127.0.0.1:PORT/DB`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// psql over the Unix socket, stopping at the first error.
    pub fn psql(&self, db: &str, sql: &str) -> Output {
        tool(&self.bin, "psql", &["-h", &self.dir, "-p", &self.port.to_string(), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql])
    }

    pub fn create_database(&self, name: &str) {
        ok(self.psql("postgres", &format!("CREATE DATABASE {name}")), "create database");
    }
}

impl Drop for PgServer {
    /// Immediate shutdown of our postmaster by its PID (SIGQUIT), then SIGKILL if it lingers.
    fn drop(&mut self) {
        let Some(pid) = self.pid else { return };
        let pid = pid.to_string();
        let _ = Command::new("kill").args(["-QUIT", &pid]).status();
        for _ in 0..100 {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    }
}
