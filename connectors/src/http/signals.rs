//! Ctrl-C / SIGTERM handling for `eventflow run`: wait for a signal, or for the engine to
//! stop on its own.

use std::time::Duration;

/// Ctrl-C (SIGINT) and SIGTERM handlers, installed before anything is announced so that a
/// signal sent right after start-up is not lost.
pub struct ShutdownSignals {
    rt: tokio::runtime::Runtime,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    /// Installs the handlers (from then on these signals no longer end the process).
    ///
    /// # Errors
    /// The I/O error when the runtime or the handlers cannot be set up.
    pub fn install() -> std::io::Result<ShutdownSignals> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let _guard = rt.enter();
            let int = signal(SignalKind::interrupt())?;
            let term = signal(SignalKind::terminate())?;
            drop(_guard);
            Ok(ShutdownSignals { rt, int, term })
        }
        #[cfg(not(unix))]
        {
            Ok(ShutdownSignals { rt })
        }
    }

    /// Blocks until one of the signals arrives; returns its name (`SIGINT`, `SIGTERM`).
    ///
    /// # Errors
    /// The I/O error when waiting fails (non-Unix only).
    pub fn wait(self) -> std::io::Result<&'static str> {
        #[cfg(unix)]
        {
            let ShutdownSignals {
                rt,
                mut int,
                mut term,
            } = self;
            Ok(rt.block_on(async {
                tokio::select! {
                    _ = int.recv() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                }
            }))
        }
        #[cfg(not(unix))]
        {
            self.rt.block_on(tokio::signal::ctrl_c()).map(|()| "Ctrl-C")
        }
    }
}

impl ShutdownSignals {
    /// Blocks until a signal arrives (`Some(name)`) or `stopped()` turns true (`None`; polled
    /// every 100 ms), e.g. when the engine ended on its own because a cluster peer was lost.
    ///
    /// # Errors
    /// The I/O error when waiting fails (non-Unix only).
    pub fn wait_or(self, stopped: impl Fn() -> bool) -> std::io::Result<Option<&'static str>> {
        #[cfg(unix)]
        {
            let ShutdownSignals {
                rt,
                mut int,
                mut term,
            } = self;
            Ok(rt.block_on(async {
                let mut tick = tokio::time::interval(Duration::from_millis(100));
                loop {
                    tokio::select! {
                        _ = int.recv() => return Some("SIGINT"),
                        _ = term.recv() => return Some("SIGTERM"),
                        _ = tick.tick() => {
                            if stopped() {
                                return None;
                            }
                        }
                    }
                }
            }))
        }
        #[cfg(not(unix))]
        {
            let _ = stopped;
            self.wait().map(Some)
        }
    }
}

/// Installs the handlers and blocks until Ctrl-C (SIGINT) or SIGTERM arrives; returns the
/// signal's name. See [`ShutdownSignals`] to install them earlier.
///
/// # Errors
/// The I/O error when the signal handlers cannot be installed.
pub fn wait_for_signal() -> std::io::Result<&'static str> {
    ShutdownSignals::install()?.wait()
}
