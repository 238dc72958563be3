//! LZ4 block decompression, as squashfs 4.0 stores it (raw blocks, no frame):
//! aite's own decoder from the LZ4 block format description; every read and copy
//! is bounds-checked and the output bounded.

/// Decompress one LZ4 block into at most `max` bytes.
pub(crate) fn block(src: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(max.min(1 << 20));
    let mut ip = 0usize;
    let length = |ip: &mut usize, base: usize| -> Result<usize, String> {
        let mut n = base;
        if base == 15 {
            loop {
                let b = *src.get(*ip).ok_or("LZ4 length runs past the input")?;
                *ip += 1;
                n += b as usize;
                if n > max {
                    return Err("LZ4 length larger than the block".into());
                }
                if b != 255 {
                    break;
                }
            }
        }
        Ok(n)
    };
    loop {
        let token = *src.get(ip).ok_or("LZ4 block ends without its last literals")?;
        ip += 1;
        let lit = length(&mut ip, (token >> 4) as usize)?;
        let s = src.get(ip..ip + lit).ok_or("LZ4 literals run past the input")?;
        if out.len() + lit > max {
            return Err(format!("LZ4 block decompresses to more than {max} bytes"));
        }
        out.extend_from_slice(s);
        ip += lit;
        if ip == src.len() {
            return Ok(out);
        }
        let d = src.get(ip..ip + 2).ok_or("LZ4 match offset runs past the input")?;
        let dist = u16::from_le_bytes([d[0], d[1]]) as usize;
        ip += 2;
        let n = length(&mut ip, (token & 15) as usize)? + 4;
        if dist == 0 || dist > out.len() {
            return Err("LZ4 match points before the output".into());
        }
        if out.len() + n > max {
            return Err(format!("LZ4 block decompresses to more than {max} bytes"));
        }
        let from = out.len() - dist;
        for i in 0..n {
            let b = out[from + i];
            out.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn literals_overlapping_matches_and_damage() {
        // "abc" then a match of 9 at distance 3 (overlapping), then the last literals "xyz".
        let block = [0x35, b'a', b'b', b'c', 3, 0, 0x30, b'x', b'y', b'z'];
        assert_eq!(block_ok(&block), b"abcabcabcabcxyz");
        assert!(super::block(&[0x35, b'a', b'b', b'c', 9, 0, 0x30, b'x', b'y', b'z'], 100).is_err(), "distance before the output");
        assert!(super::block(&block, 10).is_err(), "bounded");
        assert!(super::block(&[0xf0, 0xff, 0xff], 1 << 20).is_err(), "truncated");
        assert!(super::block(&[], 10).is_err());
    }

    fn block_ok(b: &[u8]) -> Vec<u8> {
        super::block(b, 1 << 16).unwrap()
    }
}
