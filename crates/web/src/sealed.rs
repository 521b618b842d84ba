//! Documents encrypted in chunks, so that neither an upload nor a download ever holds a whole
//! document in memory. The format:
//!
//! `CPD2` · a random 7-byte nonce prefix · records, each a little-endian `u32` length and
//! AES-256-GCM of up to 64 KiB of the document under the nonce `prefix · index (u32, big
//! endian) · last (1 on the final record, else 0)`.
//!
//! Each record is authenticated on its own, the index binds its place and the last flag the
//! end, so records cannot be reordered, dropped or the document cut short unnoticed. Every
//! record but the last holds exactly [`CHUNK`] bytes, so any offset can be read by
//! decrypting one record (the ZIP inspection reads the central directory that way).

use std::io::{Read, Seek, SeekFrom, Write};

use aes_gcm::aead::Aead;
use aes_gcm::{Aes256Gcm, Nonce};

pub const MAGIC: &[u8; 4] = b"CPD2";
/// Plain bytes per record.
pub const CHUNK: usize = 64 * 1024;
const HEADER: u64 = 4 + 7;
const TAG: usize = 16;

fn nonce(prefix: &[u8; 7], index: u32, last: bool) -> Nonce<aes_gcm::aes::cipher::consts::U12> {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&index.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::from(n)
}

/// Writes a document chunk by chunk as it arrives.
pub struct Writer<W: Write> {
    out: W,
    cipher: Aes256Gcm,
    prefix: [u8; 7],
    index: u32,
    pending: Vec<u8>,
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W, cipher: Aes256Gcm) -> std::io::Result<Self> {
        let mut prefix = [0u8; 7];
        getrandom::fill(&mut prefix).map_err(std::io::Error::other)?;
        out.write_all(MAGIC)?;
        out.write_all(&prefix)?;
        Ok(Self {
            out,
            cipher,
            prefix,
            index: 0,
            pending: Vec::with_capacity(CHUNK * 2),
        })
    }

    fn seal(&mut self, plain: &[u8], last: bool) -> std::io::Result<()> {
        let sealed = self
            .cipher
            .encrypt(&nonce(&self.prefix, self.index, last), plain)
            .map_err(|_| std::io::Error::other("encryption failed"))?;
        let len = u32::try_from(sealed.len()).map_err(std::io::Error::other)?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&sealed)?;
        self.index = self
            .index
            .checked_add(1)
            .ok_or_else(|| std::io::Error::other("document too long"))?;
        Ok(())
    }

    /// Takes more of the document; seals every full chunk but the latest (which may be last).
    pub fn push(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.pending.extend_from_slice(bytes);
        while self.pending.len() > CHUNK {
            let rest = self.pending.split_off(CHUNK);
            let chunk = std::mem::replace(&mut self.pending, rest);
            self.seal(&chunk, false)?;
        }
        Ok(())
    }

    /// Seals the final record and returns the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        let last = std::mem::take(&mut self.pending);
        self.seal(&last, true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads a sealed document record by record, in order.
pub struct Reader<R: Read> {
    input: R,
    cipher: Aes256Gcm,
    prefix: [u8; 7],
    index: u32,
    done: bool,
}

impl<R: Read> Reader<R> {
    /// Checks the header; `Ok(None)` when the input is not in this format (an older document).
    pub fn new(mut input: R, cipher: Aes256Gcm) -> std::io::Result<Self> {
        let mut magic = [0u8; 4];
        input.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(std::io::Error::other("not a chunked document"));
        }
        let mut prefix = [0u8; 7];
        input.read_exact(&mut prefix)?;
        Ok(Self {
            input,
            cipher,
            prefix,
            index: 0,
            done: false,
        })
    }

    /// The next plain chunk, or None after the last. A missing last record is an error.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut len = [0u8; 4];
        self.input
            .read_exact(&mut len)
            .map_err(|_| std::io::Error::other("the document is cut short (no final record)"))?;
        let len = u32::from_le_bytes(len) as usize;
        if !(TAG..=CHUNK + TAG).contains(&len) {
            return Err(std::io::Error::other("a record of impossible length"));
        }
        let mut sealed = vec![0u8; len];
        self.input.read_exact(&mut sealed)?;
        for last in [false, true] {
            if let Ok(plain) = self
                .cipher
                .decrypt(&nonce(&self.prefix, self.index, last), sealed.as_slice())
            {
                self.index += 1;
                self.done = last;
                return Ok(Some(plain));
            }
        }
        Err(std::io::Error::other(
            "cannot decrypt: a wrong key, or altered, reordered or cut bytes",
        ))
    }

    /// The whole document (for offline tools; the server streams).
    pub fn read_all(mut self) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(c) = self.next_chunk()? {
            out.extend_from_slice(&c);
        }
        Ok(out)
    }
}

/// Whether stored bytes start in this format.
pub fn is_chunked(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Random access to the plain bytes of a sealed file, one record decrypted at a time.
pub struct RandomAccess<F: Read + Seek> {
    file: F,
    cipher: Aes256Gcm,
    prefix: [u8; 7],
    records: u64,
    len: u64,
    cached: Option<(u64, Vec<u8>)>,
}

impl<F: Read + Seek> RandomAccess<F> {
    /// Opens a sealed file of `file_len` bytes holding `plain_len` plain bytes.
    pub fn new(mut file: F, cipher: Aes256Gcm, plain_len: u64) -> std::io::Result<Self> {
        file.seek(SeekFrom::Start(0))?;
        let mut head = [0u8; 11];
        file.read_exact(&mut head)?;
        if !is_chunked(&head) {
            return Err(std::io::Error::other("not a chunked document"));
        }
        let mut prefix = [0u8; 7];
        prefix.copy_from_slice(&head[4..]);
        // Every record but the last is full; an empty document has one, empty, record.
        let records = plain_len.div_ceil(CHUNK as u64).max(1);
        Ok(Self {
            file,
            cipher,
            prefix,
            records,
            len: plain_len,
            cached: None,
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn record(&mut self, i: u64) -> std::io::Result<&[u8]> {
        if self.cached.as_ref().is_none_or(|(at, _)| *at != i) {
            let at = HEADER + i * (4 + CHUNK as u64 + TAG as u64);
            self.file.seek(SeekFrom::Start(at))?;
            let mut len = [0u8; 4];
            self.file.read_exact(&mut len)?;
            let len = u32::from_le_bytes(len) as usize;
            if !(TAG..=CHUNK + TAG).contains(&len) {
                return Err(std::io::Error::other("a record of impossible length"));
            }
            let mut sealed = vec![0u8; len];
            self.file.read_exact(&mut sealed)?;
            let last = i + 1 == self.records;
            let index = u32::try_from(i).map_err(std::io::Error::other)?;
            let plain = self
                .cipher
                .decrypt(&nonce(&self.prefix, index, last), sealed.as_slice())
                .map_err(|_| std::io::Error::other("cannot decrypt a record"))?;
            self.cached = Some((i, plain));
        }
        Ok(self
            .cached
            .as_ref()
            .map(|(_, p)| p.as_slice())
            .unwrap_or_default())
    }

    /// `len` plain bytes from `at` (fewer at the end), decrypting only what they touch.
    pub fn read(&mut self, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let end = (at + len as u64).min(self.len);
        let mut out = Vec::with_capacity(end.saturating_sub(at) as usize);
        let mut pos = at;
        while pos < end {
            let i = pos / CHUNK as u64;
            let from = (pos % CHUNK as u64) as usize;
            let rec = self.record(i)?;
            let take = ((end - pos) as usize).min(rec.len().saturating_sub(from));
            if take == 0 {
                break;
            }
            out.extend_from_slice(&rec[from..from + take]);
            pos += take as u64;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::KeyInit;

    fn cipher() -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&[7u8; 32]).expect("key")
    }

    #[test]
    fn round_trips_in_chunks_and_reads_anywhere() {
        for size in [0usize, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let plain: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut w = Writer::new(Vec::new(), cipher()).expect("writer");
            for piece in plain.chunks(1000) {
                w.push(piece).expect("push");
            }
            let sealed = w.finish().expect("finish");
            let back = Reader::new(sealed.as_slice(), cipher())
                .expect("reader")
                .read_all()
                .expect("read");
            assert_eq!(back, plain, "{size}");
            let mut ra = RandomAccess::new(std::io::Cursor::new(&sealed), cipher(), size as u64)
                .expect("random");
            for at in [0u64, 5, CHUNK as u64 - 3, (size as u64).saturating_sub(9)] {
                let got = ra.read(at, 20).expect("read");
                let want: Vec<u8> = plain.iter().skip(at as usize).take(20).copied().collect();
                assert_eq!(got, want, "{size} at {at}");
            }
        }
    }

    #[test]
    fn a_cut_or_altered_document_is_refused() {
        let plain = vec![1u8; 3 * CHUNK];
        let mut w = Writer::new(Vec::new(), cipher()).expect("writer");
        w.push(&plain).expect("push");
        let sealed = w.finish().expect("finish");
        // Cut after the first record: no final record.
        let cut = &sealed[..(HEADER as usize + 4 + CHUNK + TAG)];
        assert!(
            Reader::new(cut, cipher())
                .expect("reader")
                .read_all()
                .is_err()
        );
        let mut altered = sealed.clone();
        altered[HEADER as usize + 10] ^= 1;
        assert!(
            Reader::new(altered.as_slice(), cipher())
                .expect("reader")
                .read_all()
                .is_err()
        );
        let other = Aes256Gcm::new_from_slice(&[8u8; 32]).expect("key");
        assert!(
            Reader::new(sealed.as_slice(), other)
                .expect("reader")
                .read_all()
                .is_err()
        );
    }
}
