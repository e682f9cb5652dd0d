//! `exec:COMMAND` bindings (DESIGN.md §5): a subscriber that is a long-lived co-process
//! speaking JSON Lines.
//!
//! Protocol, per delivery: eventflow writes the event as one line of structured CloudEvents
//! JSON (JSON format §2–3, as `eventflow_planner::event::json::write_event` writes it) to the
//! process's stdin, then reads one line from its stdout:
//!
//! | line | answer |
//! |---|---|
//! | a CloudEvent in JSON format | delivered; the event is the reply (as a 200 with a CloudEvent) |
//! | `null` or an empty line | delivered, no reply (as a 202) |
//! | anything else (not JSON, not a valid CloudEvent), or a line over 4 MiB | 502, body `dispatch error: exec: …` (retried) |
//! | end of output (the process exited), stdin closed, or no line within the per-attempt `delivery.timeout` | 500, body `dispatch error: exec: …` (retried, as HTTP transport errors are) |
//!
//! The co-process sees only the event (nothing of `Prefer: reply` or `Kn-Namespace`).
//! One request at a time per co-process (a mutex; the engine's delivery pool may call from
//! several threads). The process's stderr is passed through to ours. When the process has
//! died (or was stopped after a time-out or an over-long line, since its next line would
//! answer the wrong event), the failing call reports the failure and the next call starts a new
//! one, waiting 100 ms first, doubling for each restart up to 5 s until a call succeeds again.
//! The process runs `sh -c COMMAND` in a process group of its own, started on the first call;
//! dropping the subscriber closes its stdin, gives the process 1 s to exit, then kills its group.

use crate::process::{self, Backoff};
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender};
use eventflow_engine::service::{CallContext, Reply, Subscriber};
use eventflow_planner::event::json::{parse_event, write_event};
use eventflow_planner::event::Event;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Longest line read back from a co-process, in bytes (as `MAX_RESPONSE` for HTTP).
pub const MAX_LINE: u64 = 4 << 20;

/// How long a co-process gets to exit by itself (stdin closed, or its stdout ended) before it
/// is killed.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// Counts for one exec binding.
#[derive(Debug, Default)]
pub struct ExecStats {
    /// Calls made (attempts, retries included).
    pub calls: AtomicU64,
    /// Calls that ended in a failure status (500 or 502).
    pub failures: AtomicU64,
    /// Processes started (the first start included).
    pub starts: AtomicU64,
}

/// A subscriber that is a co-process speaking JSON Lines (see the module docs).
pub struct ExecSubscriber {
    command: String,
    state: Mutex<State>,
    stats: ExecStats,
}

#[derive(Default)]
struct State {
    running: Option<CoProcess>,
    /// The previous process died: wait before starting the next one.
    restarting: bool,
    backoff: Backoff,
}

/// What the reader thread hands back.
enum Line {
    Text(String),
    TooLong,
    Failed(String),
}

struct CoProcess {
    child: Child,
    /// To the writer thread (which owns the child's stdin); dropping it closes stdin.
    input: Option<Sender<Vec<u8>>>,
    /// From the reader thread; disconnected at end of output.
    output: Receiver<Line>,
}

impl ExecSubscriber {
    /// A subscriber running `command` with `sh -c` (started on the first call).
    pub fn new(command: &str) -> ExecSubscriber {
        ExecSubscriber {
            command: command.to_string(),
            state: Mutex::new(State::default()),
            stats: ExecStats::default(),
        }
    }

    /// The command, as given.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Calls, failures and process starts so far.
    pub fn stats(&self) -> &ExecStats {
        &self.stats
    }

    fn failure(&self, code: u16, why: &str) -> Reply {
        self.stats.failures.fetch_add(1, Ordering::Relaxed);
        let body = format!("dispatch error: exec: {why}");
        tracing::warn!(command = %self.command, "{body}");
        Reply::Status(code, body.into_bytes())
    }

    /// Stops the current process (it is out of step or gone), after letting it exit by itself
    /// for up to `linger`; the next call restarts it. Returns how it ended.
    fn discard(state: &mut State, linger: Duration) -> Option<std::process::ExitStatus> {
        state.restarting = true;
        let mut p = state.running.take()?;
        p.input.take();
        let deadline = std::time::Instant::now() + linger;
        while std::time::Instant::now() < deadline {
            match p.child.try_wait() {
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Ok(Some(status)) => {
                    process::stop(&mut p.child, Duration::ZERO);
                    return Some(status);
                }
                Err(_) => break,
            }
        }
        process::stop(&mut p.child, Duration::ZERO)
    }

    fn exchange(&self, state: &mut State, event: &Event, timeout: Option<Duration>) -> Reply {
        if state.running.is_none() {
            if state.restarting {
                std::thread::sleep(state.backoff.step());
            }
            match spawn(&self.command) {
                Ok(p) => {
                    self.stats.starts.fetch_add(1, Ordering::Relaxed);
                    state.running = Some(p);
                }
                Err(e) => {
                    state.restarting = true;
                    return self.failure(500, &format!("cannot start `{}`: {e}", self.command));
                }
            }
        }
        let Some(p) = state.running.as_mut() else {
            return self.failure(500, "no process");
        };
        // A line no request asked for (two lines for one event): drop it, or every later
        // answer would go to the wrong event.
        while let Ok(Line::Text(extra)) = p.output.try_recv() {
            tracing::warn!(command = %self.command, "dropping an unrequested line: {:.80}", extra.trim());
        }
        let mut line = String::with_capacity(256);
        write_event(event, &mut line);
        line.push('\n');
        let sent = p
            .input
            .as_ref()
            .is_some_and(|tx| tx.send(line.into_bytes()).is_ok());
        let answer = if sent {
            match timeout {
                Some(t) => p.output.recv_timeout(t),
                None => p.output.recv().map_err(|_| RecvTimeoutError::Disconnected),
            }
        } else {
            Err(RecvTimeoutError::Disconnected)
        };
        match answer {
            Ok(Line::Text(text)) => {
                state.backoff.reset();
                state.restarting = false;
                let text = text.trim();
                if text.is_empty() || text == "null" {
                    return Reply::None;
                }
                match parse_event(text) {
                    Ok(reply) => Reply::Event(reply),
                    Err(e) => self.failure(
                        502,
                        &format!("the answer is neither a CloudEvent nor null: {e}"),
                    ),
                }
            }
            Ok(Line::TooLong) => {
                Self::discard(state, Duration::ZERO);
                self.failure(
                    502,
                    &format!("answer line longer than {MAX_LINE} bytes; process restarted"),
                )
            }
            Err(RecvTimeoutError::Timeout) => {
                Self::discard(state, Duration::ZERO);
                let ms = timeout.map_or(0, |t| t.as_millis());
                self.failure(
                    500,
                    &format!("no answer within {ms} ms (delivery timeout); process restarted"),
                )
            }
            Ok(Line::Failed(e)) => {
                Self::discard(state, Duration::ZERO);
                self.failure(500, &format!("reading the answer: {e}"))
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = Self::discard(state, EXIT_GRACE);
                let how = status.map_or_else(|| "ended".to_string(), |s| format!("exited ({s})"));
                self.failure(
                    500,
                    &format!(
                        "`{}` {how} without answering; restarting it on the next call",
                        self.command
                    ),
                )
            }
        }
    }
}

impl Subscriber for ExecSubscriber {
    fn call(&self, event: &Event) -> Reply {
        let ctx = CallContext {
            timeout_ms: None,
            namespace: "",
            prefer_reply: true,
        };
        self.call_with(event, &ctx)
    }

    fn call_with(&self, event: &Event, ctx: &CallContext<'_>) -> Reply {
        self.stats.calls.fetch_add(1, Ordering::Relaxed);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let timeout = ctx.timeout_ms.map(Duration::from_millis);
        self.exchange(&mut state, event, timeout)
    }

    fn blocking(&self) -> bool {
        true
    }
}

impl Drop for ExecSubscriber {
    fn drop(&mut self) {
        // EOF on stdin first: a JSON Lines filter ends by itself; then SIGTERM, SIGKILL.
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        Self::discard(state, EXIT_GRACE);
    }
}

/// Starts `sh -c command` with a writer thread on its stdin and a reader thread on its stdout.
fn spawn(command: &str) -> std::io::Result<CoProcess> {
    let mut child = process::shell(command, &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        process::stop(&mut child, Duration::ZERO);
        return Err(std::io::Error::other("no pipes to the process"));
    };
    let (in_tx, in_rx) = unbounded::<Vec<u8>>();
    let (out_tx, out_rx) = unbounded::<Line>();
    let named = |role: &str| std::thread::Builder::new().name(format!("exec {role}"));
    let writer = named("stdin").spawn(move || {
        for line in in_rx {
            if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
                return; // the process closed its stdin: the pending call sees end of output
            }
        }
    });
    let reader = named("stdout").spawn(move || read_lines(stdout, &out_tx));
    if let Err(e) = writer.and(reader) {
        process::stop(&mut child, Duration::ZERO);
        return Err(e);
    }
    Ok(CoProcess {
        child,
        input: Some(in_tx),
        output: out_rx,
    })
}

/// Reads lines until end of output (then the sender drops: disconnected).
fn read_lines(stdout: ChildStdout, out: &Sender<Line>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut buf = Vec::new();
        let read = (&mut reader).take(MAX_LINE + 1).read_until(b'\n', &mut buf);
        let line = match read {
            Ok(0) => return,
            Ok(_) if buf.last() != Some(&b'\n') && buf.len() as u64 > MAX_LINE => Line::TooLong,
            Ok(_) => Line::Text(String::from_utf8_lossy(&buf).into_owned()),
            Err(e) => Line::Failed(e.to_string()),
        };
        let stop = matches!(line, Line::TooLong | Line::Failed(_));
        if out.send(line).is_err() || stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
