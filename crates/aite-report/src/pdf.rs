//! PDF: the HTML report printed by headless Chromium when one is on PATH
//! (`chromium-headless-shell` or `chromium`), with "page n of N" in the footer
//! from the report's own print CSS. PDF bytes carry the browser's creation date,
//! so unlike the machine formats they differ between renders.

use crate::ReportError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A headless Chromium found on PATH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Browser {
    pub path: PathBuf,
    /// `chromium` needs `--headless`; `chromium-headless-shell` is headless already.
    pub needs_headless_flag: bool,
}

impl Browser {
    /// The command line every use shares: headless, no sandbox (CI runs as root), no GPU.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.path);
        if self.needs_headless_flag {
            c.arg("--headless");
        }
        c.args(["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions"]);
        c
    }
}

/// The first of `chromium-headless-shell`, `chromium`, `chromium-browser`, `google-chrome` on PATH.
pub fn find_browser() -> Option<Browser> {
    let path = std::env::var_os("PATH")?;
    for (name, flag) in [("chromium-headless-shell", false), ("chromium", true), ("chromium-browser", true), ("google-chrome", true)] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(Browser { path: candidate, needs_headless_flag: flag });
            }
        }
    }
    None
}

/// Print `html` to PDF with `browser`. The HTML is written to a private temporary folder first.
pub fn print_pdf(browser: &Browser, html: &str) -> Result<Vec<u8>, ReportError> {
    let fail = |reason: String| ReportError::Pdf { browser: browser.path.clone(), reason };
    let dir = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
    let page = dir.path().join("report.html");
    let pdf = dir.path().join("report.pdf");
    std::fs::write(&page, html).map_err(|e| fail(e.to_string()))?;
    let out = browser
        .command()
        .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(file_url(&page))
        .output()
        .map_err(|e| fail(e.to_string()))?;
    match std::fs::read(&pdf) {
        Ok(bytes) if bytes.starts_with(b"%PDF") => Ok(bytes),
        _ => Err(fail(format!("exit {:?}, no PDF written; stderr: {}", out.status.code(), String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("")))),
    }
}

/// `file://` URL of an absolute path.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}
