//! The parts of a zip archive the scan reads, as Python's `zipfile` (and so picklescan) reads
//! them: the end of central directory record found from the tail (its zip64 form when the
//! locator precedes it: torch writes zip64 for big checkpoints), the central directory (one
//! entry per member, sizes and offsets widened by the zip64 extra field) and a member's local
//! header, whose name and extra lengths say where its data starts. Offsets are checked against
//! the file size here; sizes are only ever limits.

/// The end record is 22 bytes and may be followed by a comment: Python looks for it in the
/// last 65,536 + 22 bytes.
pub(crate) const END_SEARCH: u64 = 22 + 65_536;
/// Bytes of the zip64 locator (20) and record (56) that precede the end record.
pub(crate) const ZIP64_BEFORE: u64 = 20 + 56;
/// Fixed part of a local header.
pub(crate) const LOCAL_HEADER: u64 = 30;

/// Where the central directory is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct End {
    /// File offset of the directory.
    pub(crate) start: u64,
    pub(crate) size: u64,
    /// What to add to the offsets the archive records (bytes prepended to it), as Python does.
    pub(crate) shift: i128,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) flags: u16,
    pub(crate) method: u16,
    pub(crate) compressed: u64,
    pub(crate) size: u64,
    /// File offset of the local header (shift applied; may be out of the file: checked later).
    pub(crate) offset: i128,
    /// Name and extra lengths in the directory: the local header usually repeats them.
    pub(crate) name_len: u64,
    pub(crate) extra_len: u64,
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

/// Finds the end record in `tail`, the last bytes of a file of `size` bytes (at least
/// `END_SEARCH + ZIP64_BEFORE` of them, or the whole file). `Ok(None)`: not a zip archive.
pub(crate) fn find_end(tail: &[u8], size: u64) -> Result<Option<End>, String> {
    let tail_start = size.saturating_sub(tail.len() as u64);
    let search_from =
        usize::try_from(size.saturating_sub(END_SEARCH).saturating_sub(tail_start)).unwrap_or(0);
    // Without a comment the record is the last 22 bytes (its fields may hold the signature).
    let last = tail
        .len()
        .checked_sub(22)
        .filter(|at| tail[*at..].starts_with(b"PK\x05\x06") && tail.ends_with(b"\0\0"));
    let found = last.or_else(|| {
        let region = tail.get(search_from..)?;
        region.windows(4).rposition(|w| w == b"PK\x05\x06").map(|at| search_from + at)
    });
    let Some(at) = found else { return Ok(None) };
    let Some(record) = tail.get(at..at + 22) else { return Ok(None) };
    let mut size_cd = u64::from(u32_at(record, 12).unwrap_or(0));
    let mut offset_cd = u64::from(u32_at(record, 16).unwrap_or(0));
    let mut location = tail_start + at as u64;
    if let Some(locator) = at.checked_sub(20).and_then(|l| tail.get(l..at))
        && locator.starts_with(b"PK\x06\x07")
    {
        if u32_at(locator, 4) != Some(0) || u32_at(locator, 16).is_some_and(|disks| disks > 1) {
            return Err("zip archives spanning several disks are not read".into());
        }
        // Python assumes the zip64 record sits right before its locator; so does torch.
        if let Some(record64) = at.checked_sub(76).and_then(|r| tail.get(r..r + 56))
            && record64.starts_with(b"PK\x06\x06")
        {
            size_cd = u64_at(record64, 40).unwrap_or(0);
            offset_cd = u64_at(record64, 48).unwrap_or(0);
            location -= 76;
        }
    }
    let start = location.checked_sub(size_cd).ok_or("the central directory is larger than the file")?;
    let shift = i128::from(start) - i128::from(offset_cd);
    Ok(Some(End { start, size: size_cd, shift }))
}

/// The members listed by the central directory `data`, at most `max` of them; an error
/// (with the members read before it) when it is malformed or lists more.
pub(crate) fn directory(data: &[u8], shift: i128, max: usize) -> (Vec<Member>, Option<String>) {
    let mut members = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        if members.len() == max {
            return (members, Some(format!("more than {max} members in the zip archive")));
        }
        match entry(data, at, shift) {
            Ok((member, next)) => {
                members.push(member);
                at = next;
            }
            Err(why) => return (members, Some(format!("central directory entry at {at}: {why}"))),
        }
    }
    (members, None)
}

/// One central directory entry at `at`, and where the next one starts.
fn entry(data: &[u8], at: usize, shift: i128) -> Result<(Member, usize), String> {
    let fixed = data.get(at..at.saturating_add(46)).ok_or("truncated")?;
    if !fixed.starts_with(b"PK\x01\x02") {
        return Err("bad signature".into());
    }
    let field = |o| u16_at(fixed, o).map(usize::from).unwrap_or(0);
    let (name_len, extra_len, comment_len) = (field(28), field(30), field(32));
    let name_at = at + 46;
    let extra_at = name_at + name_len;
    let next = extra_at + extra_len + comment_len;
    let name = data.get(name_at..extra_at).ok_or("truncated name")?;
    let extra = data.get(extra_at..extra_at + extra_len).ok_or("truncated extra field")?;
    data.get(..next).ok_or("truncated comment")?;
    let mut member = Member {
        name: String::from_utf8_lossy(name).into_owned(),
        flags: u16_at(fixed, 8).unwrap_or(0),
        method: u16_at(fixed, 10).unwrap_or(0),
        compressed: u64::from(u32_at(fixed, 20).unwrap_or(0)),
        size: u64::from(u32_at(fixed, 24).unwrap_or(0)),
        offset: 0,
        name_len: name_len as u64,
        extra_len: extra_len as u64,
    };
    let mut offset = u64::from(u32_at(fixed, 42).unwrap_or(0));
    widen(extra, &mut member, &mut offset)?;
    member.offset = i128::from(offset) + shift;
    Ok((member, next))
}

/// Applies the zip64 extra field (id 1): the 64-bit size, compressed size and offset, in that
/// order, each present only when its 32-bit field is all ones.
fn widen(mut extra: &[u8], member: &mut Member, offset: &mut u64) -> Result<(), String> {
    while extra.len() >= 4 {
        let (id, len) = (u16_at(extra, 0).unwrap_or(0), usize::from(u16_at(extra, 2).unwrap_or(0)));
        let body = extra.get(4..4 + len).ok_or("corrupt extra field")?;
        if id == 1 {
            let mut values = body.chunks_exact(8).map(|c| u64_at(c, 0).unwrap_or(0));
            for slot in [&mut member.size, &mut member.compressed, offset] {
                if *slot == u64::from(u32::MAX) {
                    *slot = values.next().ok_or("corrupt zip64 extra field")?;
                }
            }
        }
        extra = &extra[4 + len..];
    }
    Ok(())
}

/// Where a member's data starts, from its local header (`header` holds its first bytes);
/// `Err(None)` when more of the header is needed, `Err(Some(why))` when it is malformed.
pub(crate) fn data_start(header: &[u8], offset: u64) -> Result<u64, Option<String>> {
    let fixed = header.get(..30).ok_or(None)?;
    if !fixed.starts_with(b"PK\x03\x04") {
        return Err(Some("bad local header signature".into()));
    }
    let name_len = u64::from(u16_at(fixed, 26).unwrap_or(0));
    let extra_len = u64::from(u16_at(fixed, 28).unwrap_or(0));
    let at = LOCAL_HEADER + name_len + extra_len;
    Ok(offset + at)
}

/// The file extension as Python's `os.path.splitext` finds it (leading dots of the last
/// component do not start one), lower-cased.
pub(crate) fn extension(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.trim_start_matches('.');
    match stem.rfind('.') {
        Some(dot) => stem[dot..].to_ascii_lowercase(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end_record(cd_size: u32, cd_offset: u32, comment: &[u8]) -> Vec<u8> {
        let mut out = b"PK\x05\x06\0\0\0\0\x01\0\x01\0".to_vec();
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
        out.extend_from_slice(comment);
        out
    }

    #[test]
    fn the_end_record_is_found_as_python_finds_it() {
        let mut file = vec![0u8; 100];
        file.extend_from_slice(&end_record(40, 60, b""));
        let end = find_end(&file, file.len() as u64).unwrap().unwrap();
        assert_eq!((end.start, end.size, end.shift), (60, 40, 0));
        // A comment after it, and bytes prepended to the archive (offsets shift).
        let mut commented = vec![0u8; 110];
        commented.extend_from_slice(&end_record(40, 60, b"a comment"));
        let end = find_end(&commented, commented.len() as u64).unwrap().unwrap();
        assert_eq!((end.start, end.shift), (70, 10));
        // The offset field holds the signature's bytes: the record is still the last 22.
        let mut tail = vec![0u8; 178];
        tail.extend_from_slice(&end_record(64, 0x0605_4b50, b""));
        let size = 0x0605_4b50 + 64 + 22;
        assert_eq!(find_end(&tail, size).unwrap().unwrap().shift, 0);
        assert_eq!(find_end(b"no archive here", 15), Ok(None));
        assert!(find_end(&end_record(500, 0, b""), 22).is_err(), "a directory larger than the file");
    }

    #[test]
    fn extensions_follow_splitext() {
        assert_eq!(extension("archive/data.pkl"), ".pkl");
        assert_eq!(extension("dir.d/MODEL.BIN"), ".bin");
        assert_eq!(extension("archive/.data/serialization_id"), "");
        assert_eq!(extension("..pkl"), "");
        assert_eq!(extension("a.tar.gz"), ".gz");
    }
}
