//! A zipped DICOM study is inspected before it is kept: a valid ZIP whose every file is a
//! DICOM file (`DICM` at offset 128), with a bounded number of entries and a bounded, honest
//! expanded size — so neither a ZIP bomb nor an HTML page behind a `PK` header is stored.
//! Only the central directory and the entries themselves are read; nothing is written.

/// Most entries in one study.
pub const MAX_ENTRIES: usize = 10_000;

/// Why a ZIP was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("not a readable ZIP archive ({0})")]
    Malformed(&'static str),
    #[error("{0} entries: at most {MAX_ENTRIES}")]
    TooManyEntries(usize),
    #[error("it would expand to more than {0} MB")]
    TooLarge(u64),
    #[error("entry `{0}` is not a DICOM file (a zipped study holds DICOM files only)")]
    NotDicom(String),
    #[error("entry `{0}` uses a compression other than stored or deflate")]
    Compression(String),
    #[error("entry `{0}` expands to another size than it declares")]
    SizeMismatch(String),
    #[error("entry `{0}` is encrypted")]
    Encrypted(String),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Checks a ZIP that must hold a DICOM study, expanding at most `max_expanded` bytes in all.
pub fn check_dicom_zip(zip: &[u8], max_expanded: u64) -> Result<usize, ZipError> {
    use ZipError::*;
    // The end-of-central-directory record: within the last 64 KiB + 22 bytes.
    let tail_from = zip.len().saturating_sub(65_535 + 22);
    let eocd = (tail_from..zip.len().saturating_sub(21))
        .rev()
        .find(|&i| zip[i..].starts_with(b"PK\x05\x06"))
        .ok_or(Malformed("no end of central directory"))?;
    let entries = usize::from(u16_at(zip, eocd + 10).ok_or(Malformed("short record"))?);
    let dir_size = u32_at(zip, eocd + 12).ok_or(Malformed("short record"))? as usize;
    let dir_at = u32_at(zip, eocd + 16).ok_or(Malformed("short record"))? as usize;
    if entries == 0xFFFF || dir_at == 0xFFFF_FFFF {
        return Err(Malformed("ZIP64 archives are not accepted"));
    }
    if entries > MAX_ENTRIES {
        return Err(TooManyEntries(entries));
    }
    if dir_at.checked_add(dir_size).is_none_or(|end| end > eocd) {
        return Err(Malformed("central directory out of bounds"));
    }
    let mut at = dir_at;
    let mut expanded: u64 = 0;
    let mut files = 0;
    for _ in 0..entries {
        if !zip.get(at..).is_some_and(|b| b.starts_with(b"PK\x01\x02")) {
            return Err(Malformed("bad central directory entry"));
        }
        let flags = u16_at(zip, at + 8).ok_or(Malformed("short entry"))?;
        let method = u16_at(zip, at + 10).ok_or(Malformed("short entry"))?;
        let packed = u32_at(zip, at + 20).ok_or(Malformed("short entry"))? as usize;
        let size = u64::from(u32_at(zip, at + 24).ok_or(Malformed("short entry"))?);
        let name_len = usize::from(u16_at(zip, at + 28).ok_or(Malformed("short entry"))?);
        let extra_len = usize::from(u16_at(zip, at + 30).ok_or(Malformed("short entry"))?);
        let comment_len = usize::from(u16_at(zip, at + 32).ok_or(Malformed("short entry"))?);
        let local = u32_at(zip, at + 42).ok_or(Malformed("short entry"))? as usize;
        let name_bytes = zip
            .get(at + 46..at + 46 + name_len)
            .ok_or(Malformed("short name"))?;
        let name: String = String::from_utf8_lossy(name_bytes)
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        at += 46 + name_len + extra_len + comment_len;
        if name.ends_with('/') {
            continue; // a folder
        }
        if flags & 1 != 0 {
            return Err(Encrypted(name));
        }
        expanded = expanded.saturating_add(size);
        if expanded > max_expanded {
            return Err(TooLarge(max_expanded / 1_000_000));
        }
        // The entry's data follows its local header.
        if !zip
            .get(local..)
            .is_some_and(|b| b.starts_with(b"PK\x03\x04"))
        {
            return Err(Malformed("bad local header"));
        }
        let lname = usize::from(u16_at(zip, local + 26).ok_or(Malformed("short header"))?);
        let lextra = usize::from(u16_at(zip, local + 28).ok_or(Malformed("short header"))?);
        let data_at = local + 30 + lname + lextra;
        let data = zip
            .get(data_at..data_at.saturating_add(packed))
            .ok_or(Malformed("entry data out of bounds"))?;
        let limit = usize::try_from(size).map_err(|_| TooLarge(max_expanded / 1_000_000))?;
        let content: std::borrow::Cow<[u8]> = match method {
            0 => {
                if data.len() as u64 != size {
                    return Err(SizeMismatch(name));
                }
                std::borrow::Cow::Borrowed(data)
            }
            8 => {
                // Expanded with the declared size as the limit: a lying entry fails here.
                let out = miniz_oxide::inflate::decompress_to_vec_with_limit(data, limit)
                    .map_err(|_| SizeMismatch(name.clone()))?;
                if out.len() as u64 != size {
                    return Err(SizeMismatch(name));
                }
                std::borrow::Cow::Owned(out)
            }
            _ => return Err(Compression(name)),
        };
        if content.get(128..132) != Some(b"DICM".as_slice()) {
            return Err(NotDicom(name));
        }
        files += 1;
    }
    if files == 0 {
        return Err(Malformed("no files"));
    }
    Ok(files)
}
