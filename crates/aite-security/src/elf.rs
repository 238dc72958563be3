//! ELF hardening, with Debian `checksec`'s exact rules (so verdicts can be
//! compared file by file), except FORTIFY's counts, which are taken against
//! the image's own libc rather than the host's.

use crate::tree::Tree;
use goblin::elf::{dynamic, header, program_header, Elf};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relro {
    None,
    Partial,
    Full,
}

/// checksec's PIE column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pie {
    /// ET_DYN with DT_DEBUG: a position-independent executable.
    Yes,
    /// ET_EXEC.
    No,
    /// ET_DYN without DT_DEBUG: a shared object.
    Dso,
    /// ET_REL: an object file or kernel module.
    Rel,
}

/// Hardening of one ELF file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElfHardening {
    pub path: String,
    pub machine: String,
    pub bits: u8,
    pub relro: Relro,
    pub canary: bool,
    pub nx: bool,
    pub pie: Pie,
    pub rpath: Vec<String>,
    pub runpath: Vec<String>,
    /// Not stripped: a `.symtab` section is present.
    pub symbols: bool,
    /// Imports at least one `*_chk` function (checksec's FORTIFY verdict).
    pub fortify: bool,
    /// `*_chk` functions imported.
    pub fortified: usize,
    /// Functions imported that the image's libc offers a `*_chk` variant of
    /// (fortified or not); `None` when no libc was found in the image.
    pub fortifiable: Option<usize>,
    /// Statically linked (no PT_INTERP and no dynamic section).
    pub static_binary: bool,
}

/// The `*_chk` functions of the image's C library (`None`: no libc found).
/// musl has none, so every glibc-style count against it is zero.
pub fn image_libc_chk(tree: &Tree) -> Option<(String, BTreeSet<String>)> {
    let candidates: Vec<&str> = tree
        .entries
        .keys()
        .map(String::as_str)
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap_or(p);
            (name == "libc.so.6" || name.starts_with("ld-musl-") || name.starts_with("libc.musl-")) && (p.starts_with("lib") || p.starts_with("usr/lib"))
        })
        .collect();
    for path in candidates {
        let Some(bytes) = tree.read(path) else { continue };
        let Ok(elf) = Elf::parse(&bytes) else { continue };
        let chk: BTreeSet<String> = elf
            .dynsyms
            .iter()
            .filter(|s| s.st_shndx != 0)
            .filter_map(|s| elf.dynstrtab.get_at(s.st_name))
            .filter(|n| n.ends_with("_chk"))
            .map(str::to_string)
            .collect();
        return Some((path.to_string(), chk));
    }
    None
}

/// `__memcpy_chk` -> `memcpy`.
fn base_of_chk(name: &str) -> &str {
    name.trim_start_matches("__").trim_end_matches("_chk")
}

/// Analyse one file; `None` when it is not an ELF file.
pub fn analyse(path: &str, bytes: &[u8], libc_chk: Option<&BTreeSet<String>>) -> Option<ElfHardening> {
    if !bytes.starts_with(b"\x7fELF") {
        return None;
    }
    let elf = Elf::parse(bytes).ok()?;
    let phdr = |t: u32| elf.program_headers.iter().find(|p| p.p_type == t);
    let dyns: Vec<(u64, u64)> = elf.dynamic.as_ref().map(|d| d.dyns.iter().map(|x| (x.d_tag, x.d_val)).collect()).unwrap_or_default();
    let has_tag = |t: u64| dyns.iter().any(|&(tag, _)| tag == t);
    let bind_now = has_tag(dynamic::DT_BIND_NOW) || dyns.iter().any(|&(tag, v)| tag == dynamic::DT_FLAGS && v & dynamic::DF_BIND_NOW != 0);
    let relro = match (phdr(program_header::PT_GNU_RELRO).is_some(), bind_now) {
        (true, true) => Relro::Full,
        (true, false) => Relro::Partial,
        _ => Relro::None,
    };
    let nx = phdr(program_header::PT_GNU_STACK).is_some_and(|p| p.p_flags & program_header::PF_X == 0);
    let pie = match elf.header.e_type {
        header::ET_DYN if has_tag(dynamic::DT_DEBUG) => Pie::Yes,
        header::ET_DYN => Pie::Dso,
        header::ET_REL => Pie::Rel,
        _ => Pie::No,
    };
    let dynsym_names: Vec<&str> = elf.dynsyms.iter().filter_map(|s| elf.dynstrtab.get_at(s.st_name)).collect();
    let symtab_names: Vec<&str> = elf.syms.iter().filter_map(|s| elf.strtab.get_at(s.st_name)).collect();
    let canary = dynsym_names.iter().chain(&symtab_names).any(|n| matches!(*n, "__stack_chk_fail" | "__stack_chk_guard" | "__intel_security_cookie"));
    let symbols = elf.section_headers.iter().any(|s| elf.shdr_strtab.get_at(s.sh_name) == Some(".symtab"));
    // Imports: undefined dynamic symbols.
    let imports: BTreeSet<&str> = elf.dynsyms.iter().filter(|s| s.st_shndx == 0).filter_map(|s| elf.dynstrtab.get_at(s.st_name)).filter(|n| !n.is_empty()).collect();
    let fortified_set: BTreeSet<&str> = dynsym_names.iter().copied().filter(|n| n.ends_with("_chk")).collect();
    let fortifiable = libc_chk.map(|chk| {
        let offered: BTreeSet<&str> = chk.iter().map(|c| base_of_chk(c)).collect();
        let mut bases: BTreeSet<&str> = imports.iter().copied().filter(|n| offered.contains(n)).collect();
        bases.extend(fortified_set.iter().map(|c| base_of_chk(c)));
        bases.len()
    });
    let machine = header::machine_to_str(elf.header.e_machine).trim_start_matches("EM_").to_string();
    Some(ElfHardening {
        path: path.to_string(),
        machine,
        bits: if elf.is_64 { 64 } else { 32 },
        relro,
        canary,
        nx,
        pie,
        rpath: elf.rpaths.iter().map(|s| s.to_string()).collect(),
        runpath: elf.runpaths.iter().map(|s| s.to_string()).collect(),
        symbols,
        fortify: !fortified_set.is_empty(),
        fortified: fortified_set.len(),
        fortifiable,
        static_binary: phdr(program_header::PT_INTERP).is_none() && elf.dynamic.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_binary_itself_is_analysed() {
        // Whatever the toolchain, this test executable is an ELF file with NX.
        let exe = std::env::current_exe().unwrap();
        let bytes = std::fs::read(&exe).unwrap();
        let h = analyse("self", &bytes, None).expect("an ELF file");
        assert!(h.nx);
        assert!(matches!(h.pie, Pie::Yes | Pie::No));
        assert!(analyse("text", b"#!/bin/sh\n", None).is_none());
        assert!(analyse("truncated", &bytes[..200], None).is_none(), "a truncated ELF is not analysed, and does not panic");
    }

    #[test]
    fn chk_names_map_to_their_base_functions() {
        assert_eq!(base_of_chk("__memcpy_chk"), "memcpy");
        assert_eq!(base_of_chk("__fprintf_chk"), "fprintf");
    }
}
