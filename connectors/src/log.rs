//! Reading a JSON Lines event log into engine chunks, on a thread of its own.
//!
//! The reader only splits lines; parsing happens inside the timely workers, in parallel.
//! Chunks are numbered 0, 1, 2, … (one timely epoch each) and carry the 1-based line number
//! of their first line, so malformed lines are reported by their number in the file.

use crossbeam_channel::{bounded, Receiver};
use eventflow_engine::input::{Chunk, ChunkBody};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Lines per chunk (one epoch).
pub const CHUNK_LINES: usize = 1024;

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
    let (tx, rx) = bounded::<Chunk>(64);
    let progress = Arc::new(Progress::default());
    let stop = Arc::new(AtomicBool::new(false));
    let (p, s) = (progress.clone(), stop.clone());
    let chunk_lines = chunk_lines.max(1);
    let thread = std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        let mut index = 0u64;
        let mut line_no = 1u64;
        let mut buf = String::new();
        let mut raw = Vec::new();
        loop {
            let first = line_no;
            buf.clear();
            let mut n = 0;
            while n < chunk_lines {
                raw.clear();
                let read = reader.read_until(b'\n', &mut raw)?;
                if read == 0 {
                    break;
                }
                p.bytes.fetch_add(read as u64, Ordering::Relaxed);
                // Invalid UTF-8 stays visible: the parser reports the line as malformed.
                buf.push_str(&String::from_utf8_lossy(&raw));
                if !buf.ends_with('\n') {
                    buf.push('\n');
                }
                n += 1;
                line_no += 1;
            }
            if n == 0 || s.load(Ordering::SeqCst) {
                break;
            }
            p.lines.fetch_add(n as u64, Ordering::Relaxed);
            let capacity = buf.len() + buf.len() / 8;
            let text = std::mem::replace(&mut buf, String::with_capacity(capacity));
            let chunk = Chunk {
                index,
                first_line: first,
                body: ChunkBody::Lines(text),
            };
            if tx.send(chunk).is_err() {
                break;
            }
            index += 1;
        }
        Ok(())
    });
    LogReader {
        chunks: rx,
        progress,
        total_bytes,
        stop,
        thread,
    }
}
