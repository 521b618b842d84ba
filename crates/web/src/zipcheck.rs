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

/// Where the ZIP's bytes are read from: memory, or a sealed file read one record at a time.
pub trait Source {
    /// Bytes in all.
    fn size(&self) -> u64;
    /// Up to `len` bytes from `at`.
    fn read(&mut self, at: u64, len: usize) -> Result<Vec<u8>, ZipError>;
}

impl Source for &[u8] {
    fn size(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read(&mut self, at: u64, len: usize) -> Result<Vec<u8>, ZipError> {
        let at = usize::try_from(at).map_err(|_| ZipError::Malformed("offset"))?;
        Ok(self
            .get(at..at.saturating_add(len).min(<[u8]>::len(self)))
            .unwrap_or_default()
            .to_vec())
    }
}

impl<F: std::io::Read + std::io::Seek> Source for crate::sealed::RandomAccess<F> {
    fn size(&self) -> u64 {
        crate::sealed::RandomAccess::len(self)
    }
    fn read(&mut self, at: u64, len: usize) -> Result<Vec<u8>, ZipError> {
        crate::sealed::RandomAccess::read(self, at, len)
            .map_err(|_| ZipError::Malformed("unreadable bytes"))
    }
}

/// Largest central directory read.
const MAX_DIRECTORY: usize = 16 * 1024 * 1024;
/// Compressed bytes read at a time while expanding an entry.
const PIECE: usize = 64 * 1024;

/// Checks a ZIP that must hold a DICOM study, expanding at most `max_expanded` bytes in all,
/// holding at most a piece of it in memory at a time; returns the number of files.
pub fn check_dicom_zip<S: Source>(src: &mut S, max_expanded: u64) -> Result<usize, ZipError> {
    use ZipError::*;
    let total = src.size();
    // The end-of-central-directory record: within the last 64 KiB + 22 bytes.
    let tail_at = total.saturating_sub(65_535 + 22);
    let tail = src.read(tail_at, (total - tail_at) as usize)?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..].starts_with(b"PK\x05\x06"))
        .ok_or(Malformed("no end of central directory"))?;
    let entries = usize::from(u16_at(&tail, eocd + 10).ok_or(Malformed("short record"))?);
    let dir_size = u32_at(&tail, eocd + 12).ok_or(Malformed("short record"))? as usize;
    let dir_at = u64::from(u32_at(&tail, eocd + 16).ok_or(Malformed("short record"))?);
    if entries == 0xFFFF || dir_at == 0xFFFF_FFFF {
        return Err(Malformed("ZIP64 archives are not accepted"));
    }
    if entries > MAX_ENTRIES {
        return Err(TooManyEntries(entries));
    }
    if dir_size > MAX_DIRECTORY || dir_at + dir_size as u64 > tail_at + eocd as u64 {
        return Err(Malformed("central directory out of bounds"));
    }
    let dir = src.read(dir_at, dir_size)?;
    let mut at = 0usize;
    let mut expanded: u64 = 0;
    let mut files = 0;
    for _ in 0..entries {
        if !dir.get(at..).is_some_and(|b| b.starts_with(b"PK\x01\x02")) {
            return Err(Malformed("bad central directory entry"));
        }
        let field16 = |o: usize| u16_at(&dir, at + o).ok_or(Malformed("short entry"));
        let field32 = |o: usize| u32_at(&dir, at + o).ok_or(Malformed("short entry"));
        let flags = field16(8)?;
        let method = field16(10)?;
        let packed = u64::from(field32(20)?);
        let size = u64::from(field32(24)?);
        let name_len = usize::from(field16(28)?);
        let extra_len = usize::from(field16(30)?);
        let comment_len = usize::from(field16(32)?);
        let local = u64::from(field32(42)?);
        let name_bytes = dir
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
        let head = src.read(local, 30)?;
        if !head.starts_with(b"PK\x03\x04") {
            return Err(Malformed("bad local header"));
        }
        let lname = u64::from(u16_at(&head, 26).ok_or(Malformed("short header"))?);
        let lextra = u64::from(u16_at(&head, 28).ok_or(Malformed("short header"))?);
        let data_at = local + 30 + lname + lextra;
        if data_at + packed > total {
            return Err(Malformed("entry data out of bounds"));
        }
        let first = match method {
            0 => {
                if packed != size {
                    return Err(SizeMismatch(name));
                }
                src.read(data_at, 132)?
            }
            8 => expand(src, data_at, packed, size).map_err(|_| SizeMismatch(name.clone()))?,
            _ => return Err(Compression(name)),
        };
        if first.get(128..132) != Some(b"DICM".as_slice()) {
            return Err(NotDicom(name));
        }
        files += 1;
    }
    if files == 0 {
        return Err(Malformed("no files"));
    }
    Ok(files)
}

/// Expands a deflated entry piece by piece, checking that it yields exactly `size` bytes;
/// returns its first 132 bytes.
fn expand<S: Source>(src: &mut S, at: u64, packed: u64, size: u64) -> Result<Vec<u8>, ()> {
    use miniz_oxide::inflate::stream::{InflateState, inflate};
    use miniz_oxide::{DataFormat, MZFlush, MZStatus};
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let mut out = vec![0u8; PIECE];
    let mut first = Vec::with_capacity(132);
    let mut produced: u64 = 0;
    let mut read: u64 = 0;
    let mut input: Vec<u8> = Vec::new();
    let mut used = 0usize;
    loop {
        if used == input.len() && read < packed {
            input = src
                .read(at + read, PIECE.min((packed - read) as usize))
                .map_err(|_| ())?;
            read += input.len() as u64;
            used = 0;
            if input.is_empty() {
                return Err(());
            }
        }
        let flush = if read == packed {
            MZFlush::Finish
        } else {
            MZFlush::None
        };
        let r = inflate(&mut state, &input[used..], &mut out, flush);
        used += r.bytes_consumed;
        if first.len() < 132 {
            let take = (132 - first.len()).min(r.bytes_written);
            first.extend_from_slice(&out[..take]);
        }
        produced += r.bytes_written as u64;
        if produced > size {
            return Err(());
        }
        match r.status {
            Ok(MZStatus::StreamEnd) => break,
            Ok(_) => {
                if r.bytes_consumed == 0
                    && r.bytes_written == 0
                    && read == packed
                    && used == input.len()
                {
                    return Err(());
                }
            }
            Err(_) => return Err(()),
        }
    }
    if produced == size { Ok(first) } else { Err(()) }
}
