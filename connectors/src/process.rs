//! Child processes started by eventflow (exec co-processes, ContainerSource processes): a
//! shell command in a process group of its own, stopped as a group, restarted with backoff.
//!
//! Each child runs `sh -c COMMAND` as the leader of a new process group, so Ctrl-C in the
//! terminal reaches eventflow only (which then stops its children in order), and stopping a
//! child also stops whatever its shell started (`kill(-pgid, …)`).

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// First wait before restarting a process that died.
pub const RESTART_MIN: Duration = Duration::from_millis(100);
/// Longest wait between restarts.
pub const RESTART_MAX: Duration = Duration::from_secs(5);

/// `sh -c COMMAND` with `args` appended as positional arguments (`"$@"`, each one quoted as
/// given), in a process group of its own. Standard streams are the caller's to set.
pub fn shell(command: &str, args: &[String]) -> Command {
    let mut cmd = Command::new("sh");
    if args.is_empty() {
        cmd.arg("-c").arg(command);
    } else {
        // `$0` names the process in `ps` and in shell error messages.
        cmd.arg("-c")
            .arg(format!("{command} \"$@\""))
            .arg("eventflow")
            .args(args);
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd
}

/// Sends `signal` to the process group led by `child` (ignores a group already gone).
fn signal_group(child: &Child, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names a group.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

/// Stops `child` and its process group: SIGTERM, up to `grace` for the leader to exit, then
/// SIGKILL; reaps the leader. Returns how it ended (`None` if it could not be reaped).
pub fn stop(child: &mut Child, grace: Duration) -> Option<std::process::ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        signal_group(child, libc::SIGKILL); // stragglers of an exited leader
        return Some(status);
    }
    signal_group(child, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => {
                signal_group(child, libc::SIGKILL);
                return Some(status);
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(_) => break,
        }
    }
    signal_group(child, libc::SIGKILL);
    let _ = child.kill();
    child.wait().ok()
}

/// Exponential restart backoff: [`RESTART_MIN`] doubling up to [`RESTART_MAX`].
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { next: RESTART_MIN }
    }
}

impl Backoff {
    /// The wait before the next restart; doubles the one after (up to the cap).
    pub fn step(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(RESTART_MAX);
        wait
    }

    /// After a healthy run: the next restart waits [`RESTART_MIN`] again.
    pub fn reset(&mut self) {
        self.next = RESTART_MIN;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    /// True while `pid` exists and is not a zombie (Linux `/proc/PID/stat`).
    fn running(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
        })
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let waits: Vec<u128> = (0..8).map(|_| b.step().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.step(), RESTART_MIN);
    }

    #[test]
    fn args_are_appended_quoted() {
        let out = shell("printf '%s|'", &["a b".into(), "$HOME".into()])
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a b|$HOME|");
    }

    #[test]
    fn stop_ends_the_whole_group() {
        // The shell forks a child that would outlive a kill of the shell alone.
        let mut child = shell("sleep 30 & echo $!; wait", &[])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let grandchild: i32 = line.trim().parse().unwrap();
        let status = stop(&mut child, Duration::from_secs(2));
        assert!(status.is_some());
        // Give the signal a moment to land (a killed orphan may stay a zombie: not running).
        let mut alive = true;
        for _ in 0..200 {
            alive = running(grandchild);
            if !alive {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!alive, "the shell's child {grandchild} survived");
    }
}
