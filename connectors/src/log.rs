//! Reading a JSON Lines event log into engine chunks, on a thread of its own.
//!
//! The reader only splits lines; parsing happens inside the timely workers, in parallel.
//! Chunks are numbered 0, 1, 2, … (one timely epoch each) and carry the 1-based line number
//! of their first line, so malformed lines are reported by their number in the file.

use crossbeam_channel::{bounded, Receiver, Sender};
use eventflow_engine::input::{nth_newline, Chunk, ChunkBody};
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Lines per chunk (one epoch).
pub const CHUNK_LINES: usize = 1024;

/// Bytes read at a time (what is read past a chunk's last line is copied to the next chunk).
const READ_BLOCK: usize = 64 * 1024;

/// Progress shared with whoever draws a progress bar: bytes read so far.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read from the log.
    pub bytes: AtomicU64,
    /// Lines read from the log.
    pub lines: AtomicU64,
}

/// A running log reader.
pub struct LogReader {
    /// Chunks for the engine; closed at end of file.
    pub chunks: Receiver<Chunk>,
    /// Bytes and lines read so far.
    pub progress: Arc<Progress>,
    /// Total size of the log in bytes, when known.
    pub total_bytes: Option<u64>,
    /// Set it to stop reading early (e.g. `--strict` after a malformed line).
    pub stop: Arc<AtomicBool>,
    /// The reader thread; its result is the I/O error that stopped it, if any.
    pub thread: JoinHandle<Result<(), std::io::Error>>,
}

/// Why a log cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read event log {path}")]
pub struct LogError {
    /// The path given.
    pub path: String,
    /// The I/O error.
    pub source: std::io::Error,
}

/// Opens `path` (or `-` for standard input) and starts reading it in chunks of `chunk_lines`.
///
/// # Errors
/// [`LogError`] when the file cannot be opened.
pub fn read_log(path: &Path, chunk_lines: usize) -> Result<LogReader, LogError> {
    let (reader, total): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = File::open(path).map_err(|source| LogError {
            path: path.display().to_string(),
            source,
        })?;
        let total = f.metadata().ok().map(|m| m.len());
        (Box::new(f), total)
    };
    Ok(spawn_reader(reader, total, chunk_lines))
}

/// Reads lines from any reader (tests use in-memory logs).
pub fn spawn_reader(
    reader: Box<dyn Read + Send>,
    total_bytes: Option<u64>,
    chunk_lines: usize,
) -> LogReader {
    // Enough for the workers never to wait (each holds a few epochs in flight), few enough
    // that the reader does not run far ahead (each chunk is fresh memory).
    let (tx, rx) = bounded::<Chunk>(16);
    let progress = Arc::new(Progress::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (p, s) = (progress.clone(), stop.clone());
    let chunk_lines = chunk_lines.max(1);
    // A source of known size is a file (or memory): read straight into the chunk's buffer.
    let direct = total_bytes.is_some();
    let thread = std::thread::spawn(move || read_chunks(reader, direct, chunk_lines, &tx, &p, &s));
    LogReader {
        chunks: rx,
        progress,
        total_bytes,
        stop,
        thread,
    }
}

/// The reader thread: reads blocks into the next chunk's buffer (straight into it when `direct`,
/// for files; through a block buffer for pipes, whose reads may be short), cuts it after
/// `chunk_lines` newlines (64 bytes at a time), checks UTF-8 once per chunk and sends it: no
/// work per line (the workers split and parse the lines). Invalid UTF-8 is replaced
/// (U+FFFD) as `String::from_utf8_lossy` does line by line, so the parser reports such a line
/// as malformed; a last line without `\n` gets one.
fn read_chunks(
    mut reader: Box<dyn Read + Send>,
    direct: bool,
    chunk_lines: usize,
    tx: &Sender<Chunk>,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<(), std::io::Error> {
    let (mut index, mut line_no) = (0u64, 1u64);
    // The chunk being assembled: whole lines, then the start of the next one.
    let mut buf: Vec<u8> = Vec::with_capacity(4 * READ_BLOCK);
    // `buf[..scanned]` holds `lines` newlines (fewer than `chunk_lines`).
    let (mut scanned, mut lines) = (0usize, 0usize);
    let mut eof = false;
    let mut block = if direct {
        Vec::new()
    } else {
        vec![0u8; READ_BLOCK]
    };
    loop {
        let end = loop {
            match nth_newline(&buf[scanned..], chunk_lines - lines) {
                Ok(at) => break Some(scanned + at),
                Err(found) => (scanned, lines) = (buf.len(), lines + found),
            }
            if eof {
                break None;
            }
            let n = if direct {
                // Into the spare capacity, without zeroing it first; `take` bounds the read.
                (&mut reader)
                    .take(READ_BLOCK as u64)
                    .read_to_end(&mut buf)?
            } else {
                // A pipe: one `read`, whatever it gives now (a live producer may pause).
                let n = read_some(&mut reader, &mut block)?;
                buf.extend_from_slice(&block[..n]);
                n
            };
            progress.bytes.fetch_add(n as u64, Ordering::Relaxed);
            eof = n == 0;
        };
        let (text, n) = match end {
            Some(end) => {
                // The next chunk is likely as long as this one: room for it, plus a little
                // and the block that overshoots its end (no reallocation while reading).
                let mut next = Vec::with_capacity(end + end / 8 + READ_BLOCK);
                next.extend_from_slice(&buf[end..]);
                buf.truncate(end);
                (std::mem::replace(&mut buf, next), chunk_lines)
            }
            None if buf.is_empty() => break,
            None => {
                let mut rest = std::mem::take(&mut buf);
                if rest.last() != Some(&b'\n') {
                    rest.push(b'\n');
                    lines += 1;
                }
                (rest, lines)
            }
        };
        (scanned, lines) = (0, 0);
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let text = String::from_utf8(text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        progress.lines.fetch_add(n as u64, Ordering::Relaxed);
        let chunk = Chunk {
            index,
            first_line: line_no,
            body: ChunkBody::Lines(text),
        };
        if tx.send(chunk).is_err() {
            break;
        }
        index += 1;
        line_no += n as u64;
    }
    Ok(())
}

/// One `read` into `block` (retried when interrupted); 0 at end of input.
fn read_some(reader: &mut dyn Read, block: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match reader.read(block) {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Cursor};

    /// The chunks the reader made before it read blocks: line by line, each line decoded
    /// with `from_utf8_lossy`, a `\n` added to a last line without one.
    fn line_by_line(input: &[u8], chunk_lines: usize) -> Vec<Chunk> {
        let mut reader = BufReader::new(Cursor::new(input.to_vec()));
        let (mut out, mut line_no) = (Vec::new(), 1u64);
        loop {
            let (first, mut buf, mut n) = (line_no, String::new(), 0);
            while n < chunk_lines {
                let mut raw = Vec::new();
                if reader.read_until(b'\n', &mut raw).unwrap_or(0) == 0 {
                    break;
                }
                buf.push_str(&String::from_utf8_lossy(&raw));
                if !buf.ends_with('\n') {
                    buf.push('\n');
                }
                n += 1;
                line_no += 1;
            }
            if n == 0 {
                return out;
            }
            let index = out.len() as u64;
            out.push(Chunk {
                index,
                first_line: first,
                body: ChunkBody::Lines(buf),
            });
        }
    }

    /// A reader that hands out at most 7 bytes per call (pipes give partial reads).
    struct Trickle(Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(7);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn block_reader_cuts_chunks_like_the_line_reader() {
        let long = "y".repeat(READ_BLOCK + READ_BLOCK / 2);
        let mut inputs: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\n".to_vec(),
            b"{}".to_vec(),
            b"a\r\nb\n\n\nc".to_vec(),
            format!("{long}\n{long}").into_bytes(),
            b"ok\n\xff\xfe bad \xe2\x82\nend\xe2\x82".to_vec(),
        ];
        let many: String = (0..5000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        inputs.push(many.into_bytes());
        for input in &inputs {
            for chunk_lines in [1, 2, 3, 1024] {
                let want = line_by_line(input, chunk_lines);
                for trickle in [false, true] {
                    let r: Box<dyn Read + Send> = if trickle {
                        Box::new(Trickle(Cursor::new(input.clone())))
                    } else {
                        Box::new(Cursor::new(input.clone()))
                    };
                    // Trickle reads stand for a pipe (size unknown), the rest for a file.
                    let size = (!trickle).then_some(input.len() as u64);
                    let reader = spawn_reader(r, size, chunk_lines);
                    let got: Vec<Chunk> = reader.chunks.iter().collect();
                    assert!(matches!(reader.thread.join(), Ok(Ok(()))));
                    assert_eq!(got, want, "{chunk_lines} lines per chunk");
                    let bytes = reader.progress.bytes.load(Ordering::Relaxed);
                    assert_eq!(bytes, input.len() as u64);
                    let lines = reader.progress.lines.load(Ordering::Relaxed);
                    let last = want.last().map_or(0, |c| match &c.body {
                        ChunkBody::Lines(t) => c.first_line - 1 + t.matches('\n').count() as u64,
                        ChunkBody::Events(_) => 0,
                    });
                    assert_eq!(lines, last);
                }
            }
        }
    }
}
