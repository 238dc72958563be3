//! `aite`: the command-line front of the pipeline
//! target + dataset -> suites -> measurements -> evidence -> renderers.
//!
//! This crate only wires the library crates together: it parses arguments,
//! builds targets and workloads, writes the run folder, renders the summary and
//! maps errors to documented exit codes. Domain logic lives in `crates/aite-*`.

mod cli;
mod commands;
mod common;
mod config;
mod exit;

use clap::Parser;

fn main() -> std::process::ExitCode {
    // `aite verify DIR | head -1`: a closed pipe ends the process quietly, as for
    // any Unix filter, instead of a panic inside println!.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = cli::Cli::parse();
    let cancel = aite_target::Cancel::new();
    {
        let cancel = cancel.clone();
        // A second Ctrl-C while results are being written is ignored; the first one
        // lets the running suite stop at the next query and save what it measured. The
        // line is printed once the cancel is set, so whoever reads it knows it is.
        let _ = ctrlc::set_handler(move || {
            let first = !cancel.is_cancelled();
            cancel.cancel();
            if first {
                eprintln!("\ninterrupt: finishing the current query and writing results (Ctrl-C again is ignored)");
            }
        });
    }
    match commands::dispatch(cli, &cancel) {
        Ok(code) => std::process::ExitCode::from(code as u8),
        Err(err) => {
            let code = exit::classify(&err);
            eprintln!("error: {}", render_chain(&err));
            std::process::ExitCode::from(code as u8)
        }
    }
}

/// The error and its causes, one per line, without repeating messages that
/// already contain their source.
fn render_chain(err: &anyhow::Error) -> String {
    let mut out = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !out.contains(&c) {
            out.push_str("\n  caused by: ");
            out.push_str(&c);
        }
    }
    out
}
