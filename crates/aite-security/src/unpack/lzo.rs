//! LZO1X decompression, as JFFS2 and UBIFS store it (raw blocks, no lzop
//! container): aite's own decoder, written from the kernel's
//! `lib/lzo/lzo1x_decompress_safe.c`; every read and copy bounds-checked, the
//! output bounded by the size the node declares.

/// LZO1X decompression (the kernel's `lzo1x_decompress_safe`), at most `max` bytes out.
pub(crate) fn lzo1x(src: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(max);
    let mut ip = 0usize;
    let byte = |ip: &mut usize| -> Result<usize, String> {
        let b = *src.get(*ip).ok_or("LZO input ends early")?;
        *ip += 1;
        Ok(b as usize)
    };
    // The run length of a zero-extended count: 255 per zero byte, then the next byte.
    let extended = |ip: &mut usize, base: usize| -> Result<usize, String> {
        let mut t = 0usize;
        while src.get(*ip) == Some(&0) {
            t += 255;
            *ip += 1;
            if t > 1 << 30 {
                return Err("LZO run too long".into());
            }
        }
        Ok(t + base + byte(ip)?)
    };
    fn literals(out: &mut Vec<u8>, src: &[u8], ip: &mut usize, n: usize, max: usize) -> Result<(), String> {
        let s = src.get(*ip..*ip + n).ok_or("LZO literals run past the input")?;
        if out.len() + n > max {
            return Err("LZO output larger than declared".into());
        }
        out.extend_from_slice(s);
        *ip += n;
        Ok(())
    }
    fn copy_match(out: &mut Vec<u8>, dist: usize, n: usize, max: usize) -> Result<(), String> {
        if dist == 0 || dist > out.len() {
            return Err("LZO match points before the output".into());
        }
        if out.len() + n > max {
            return Err("LZO output larger than declared".into());
        }
        let from = out.len() - dist;
        for i in 0..n {
            let b = out[from + i];
            out.push(b);
        }
        Ok(())
    }
    let mut state;
    let first = *src.first().ok_or("empty LZO input")? as usize;
    if first > 17 {
        ip = 1;
        let t = first - 17;
        literals(&mut out, src, &mut ip, t, max)?;
        state = if t < 4 { t } else { 4 };
    } else {
        state = 0;
    }
    loop {
        let mut t = byte(&mut ip)?;
        let (dist, len, next);
        if t < 16 {
            if state == 0 {
                if t == 0 {
                    t = extended(&mut ip, 15)?;
                }
                literals(&mut out, src, &mut ip, t + 3, max)?;
                state = 4;
                continue;
            } else if state != 4 {
                next = t & 3;
                dist = 1 + (t >> 2) + (byte(&mut ip)? << 2);
                len = 2;
            } else {
                next = t & 3;
                dist = 1 + 0x800 + (t >> 2) + (byte(&mut ip)? << 2);
                len = 3;
            }
        } else if t >= 64 {
            next = t & 3;
            dist = 1 + ((t >> 2) & 7) + (byte(&mut ip)? << 3);
            len = (t >> 5) + 1;
        } else if t >= 32 {
            let mut l = t & 31;
            if l == 0 {
                l = extended(&mut ip, 31)?;
            }
            let v = byte(&mut ip)? | byte(&mut ip)? << 8;
            dist = 1 + (v >> 2);
            next = v & 3;
            len = l + 2;
        } else {
            let mut l = t & 7;
            if l == 0 {
                l = extended(&mut ip, 7)?;
            }
            let v = byte(&mut ip)? | byte(&mut ip)? << 8;
            let d = ((t & 8) << 11) + (v >> 2);
            if d == 0 {
                // End of stream.
                return Ok(out);
            }
            dist = d + 0x4000;
            next = v & 3;
            len = l + 2;
        }
        copy_match(&mut out, dist, len, max)?;
        literals(&mut out, src, &mut ip, next, max)?;
        state = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lzo1x_literals_a_match_and_the_end_marker() {
        // Hand-assembled from the LZO1X format: first byte 17 + 3 literals "abc"; an M2
        // match (0b101_010_00: length 5 + 1, distance 2 + 1, no trailing literals) and
        // its distance high byte 0; the end marker 0x11 0x00 0x00.
        let src = [20, b'a', b'b', b'c', 0xa8, 0x00, 0x11, 0x00, 0x00];
        assert_eq!(lzo1x(&src, 64).unwrap(), b"abcabcabc");
        // Cut, or a match reaching before the output, or longer than declared: errors.
        assert!(lzo1x(&src[..5], 64).is_err());
        assert!(lzo1x(&[20, b'a', b'b', b'c', 0xbc, 0x00, 0x11, 0, 0], 64).is_err());
        assert!(lzo1x(&src, 8).is_err());
    }
}
