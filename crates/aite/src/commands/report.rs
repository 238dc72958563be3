//! `aite report DIR`: re-render an evidence package's reports from its files and
//! re-write its manifest. Reports are pure functions of the evidence, so a package
//! can be re-rendered years later and the machine formats come out byte-identical.

use crate::cli::ReportArgs;
use aite_evidence::RunFolder;
use aite_report::{find_browser, render_package, RenderOptions};
use anyhow::{Context, Result};

pub fn run(a: ReportArgs) -> Result<u8> {
    let opts = RenderOptions { pdf: a.pdf, template: a.template.clone() };
    let files = render_package(&a.dir, &opts).with_context(|| format!("cannot render the reports of {}", a.dir.display()))?;
    if a.pdf && find_browser().is_none() {
        eprintln!("note: no report.pdf: no headless Chromium on PATH (chromium-headless-shell or chromium)\n  hint: apt-get install chromium-headless-shell, then run `aite report {} --pdf` again", a.dir.display());
    }
    let folder = RunFolder::open(&a.dir)?;
    for f in &files {
        let path = folder.write_bytes(&f.name, &f.bytes)?;
        println!("{}", path.display());
    }
    folder.finish()?;
    println!("manifest: {}", a.dir.join("manifest.json").display());
    if a.dir.join(aite_evidence::ENVELOPE_NAME).exists() {
        eprintln!(
            "note: {} was signed before these reports were re-rendered: it does not cover the new files or manifest\n  hint: sign the package again to cover them",
            a.dir.join(aite_evidence::ENVELOPE_NAME).display()
        );
    }
    Ok(0)
}
