//! FIT images (U-Boot's flattened-image-tree uImage) and plain device-tree blobs:
//! aite's own reader of the flattened device tree (the devicetree specification's
//! header, structure block and strings block). A FIT keeps its payloads (kernel,
//! ramdisk, device trees, file systems) as nodes under `/images`, either inside the
//! tree (`data`) or after it (`data-offset` from the tree's 4-byte-aligned end, or
//! `data-position` from its start, with `data-size`); each payload is returned with
//! its declared compression for the caller to scan. Every offset is checked and the
//! walk is bounded by the structure block's size and a node depth of 64.
//!
//! Hostile trees: external data that starts inside the tree (a payload that is the
//! FIT again, re-read at every nesting level) or overlaps another image's bytes is
//! refused, and at most [`MAX_IMAGES`] images are returned, so the payloads are
//! disjoint ranges of the blob: together never more bytes than the blob holds.

const MAGIC: u32 = 0xd00d_feed;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
const END: u32 = 9;
/// Images of one FIT returned for scanning; the ones beyond are refused.
pub(super) const MAX_IMAGES: usize = 256;

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// One payload of a FIT.
pub(super) struct Payload {
    pub name: String,
    /// Where its bytes are, from the start of the FIT.
    pub start: usize,
    pub len: usize,
    /// The `compression` property (`none` when absent).
    pub compression: String,
}

/// What a device-tree blob holds.
pub(super) struct Fit {
    /// Bytes the FIT spans: the tree and any external data after it.
    pub len: usize,
    pub payloads: Vec<Payload>,
    /// Why the first refused image was refused (it names the image), when one was.
    pub refused: Option<String>,
    /// Images refused: their data inside the tree, overlapping another's, or beyond [`MAX_IMAGES`].
    pub refused_count: usize,
}

/// A flattened-device-tree header whose blocks lie inside its total size.
pub(super) fn header_ok(b: &[u8]) -> bool {
    let f = |i: usize| be32(b, 4 * i);
    let (Some(MAGIC), Some(total), Some(off_struct), Some(off_strings), Some(version), Some(last_comp)) = (f(0), f(1), f(2), f(3), f(5), f(6)) else { return false };
    let (Some(size_strings), Some(size_struct)) = (f(8), f(9)) else { return false };
    (16..=17).contains(&version) && last_comp <= 17 && total >= 56 && off_struct.checked_add(size_struct).is_some_and(|e| e <= total) && off_strings.checked_add(size_strings).is_some_and(|e| e <= total) && total as usize <= b.len()
}

/// Read the tree at the start of `b` (its header already checked by [`header_ok`]).
pub(super) fn read(b: &[u8]) -> Result<Fit, String> {
    if !header_ok(b) {
        return Err(format!("device-tree header inconsistent or the blob ({} bytes present) is cut short", b.len()));
    }
    let f = |i: usize| be32(b, 4 * i).unwrap_or(0) as usize;
    let (total, off_struct, off_strings, size_strings, size_struct) = (f(1), f(2), f(3), f(8), f(9));
    let strings = &b[off_strings..off_strings + size_strings];
    let structure = &b[off_struct..off_struct + size_struct];
    let name_at = |off: usize| -> Result<String, String> {
        let s = strings.get(off..).ok_or("a property name outside the strings block")?;
        let end = s.iter().position(|&c| c == 0).ok_or("a property name without its terminating NUL")?;
        Ok(String::from_utf8_lossy(&s[..end]).into_owned())
    };
    let mut path: Vec<String> = Vec::new();
    let mut payloads: Vec<Payload> = Vec::new();
    let (mut refused, mut refused_count): (Option<String>, usize) = (None, 0);
    // Properties of the /images/<name> node being read.
    let mut data: Option<(usize, usize)> = None;
    let (mut ext_offset, mut ext_position, mut ext_size): (Option<usize>, Option<usize>, Option<usize>) = (None, None, None);
    let mut compression: Option<String> = None;
    let mut end = total;
    let mut at = 0usize;
    loop {
        let token = be32(structure, at).ok_or("the structure block ends without FDT_END")?;
        at += 4;
        match token {
            BEGIN_NODE => {
                let rest = structure.get(at..).unwrap_or(&[]);
                let n = rest.iter().position(|&c| c == 0).ok_or("a node name runs past the structure block")?;
                path.push(String::from_utf8_lossy(&rest[..n]).into_owned());
                if path.len() > 64 {
                    return Err("device-tree nodes nested more than 64 deep".into());
                }
                at += (n + 1).div_ceil(4) * 4;
                // A new /images/<name> node (its hash-1 / signature sub-nodes keep the image's properties).
                if path.len() == 3 && path[1] == "images" {
                    (data, ext_offset, ext_position, ext_size, compression) = (None, None, None, None, None);
                }
            }
            END_NODE => {
                let node = path.pop().ok_or("FDT_END_NODE without a node")?;
                if path.len() == 2 && path[1] == "images" {
                    let data_end = total.div_ceil(4) * 4;
                    // (start, length, external): `data` lies in the structure block; the others outside the tree.
                    let placed = match (data, ext_offset, ext_position, ext_size) {
                        (Some((s, l)), _, _, _) => Some((off_struct + s, l, false)),
                        (None, Some(o), _, Some(l)) => Some((data_end.checked_add(o).ok_or("data-offset overflows")?, l, true)),
                        (None, None, Some(p), Some(l)) => Some((p, l, true)),
                        _ => None,
                    };
                    if let Some((start, len, external)) = placed {
                        let stop = start.checked_add(len).filter(|&e| e <= b.len()).ok_or_else(|| format!("FIT image `{node}` declares {len} bytes at {start}, past the {} bytes present", b.len()))?;
                        let overlapped = payloads.iter().find(|p| len > 0 && p.len > 0 && start < p.start + p.len && p.start < stop);
                        let refusal = if payloads.len() >= MAX_IMAGES {
                            Some(format!("FIT image `{node}`: more than {MAX_IMAGES} images (limit), refused"))
                        } else if external && start < total {
                            Some(format!("FIT image `{node}` places its external data at {start}, inside the tree (bytes 0..{total}): refused"))
                        } else {
                            overlapped.map(|p| format!("FIT image `{node}` ({len} bytes at {start}) overlaps image `{}` ({} bytes at {}): refused", p.name, p.len, p.start))
                        };
                        match refusal {
                            Some(why) => {
                                refused_count += 1;
                                refused.get_or_insert(why);
                            }
                            None => {
                                end = end.max(stop);
                                payloads.push(Payload { name: node, start, len, compression: compression.take().unwrap_or_else(|| "none".into()) });
                            }
                        }
                    }
                }
            }
            PROP => {
                let (len, nameoff) = (be32(structure, at).ok_or("a property cut short")? as usize, be32(structure, at + 4).ok_or("a property cut short")? as usize);
                at += 8;
                let value = structure.get(at..at.checked_add(len).ok_or("property length")?).ok_or("a property value runs past the structure block")?;
                let in_image = path.len() == 3 && path[1] == "images";
                if in_image {
                    let u = || be32(value, 0).map(|v| v as usize);
                    match name_at(nameoff)?.as_str() {
                        "data" => data = Some((at, len)),
                        "data-offset" => ext_offset = u(),
                        "data-position" => ext_position = u(),
                        "data-size" => ext_size = u(),
                        "compression" => compression = Some(String::from_utf8_lossy(value).trim_end_matches('\0').to_string()),
                        _ => {}
                    }
                }
                at += len.div_ceil(4) * 4;
            }
            NOP => {}
            END => break,
            other => return Err(format!("unknown device-tree token {other:#x} at structure offset {}", at - 4)),
        }
    }
    Ok(Fit { len: end, payloads, refused, refused_count })
}
