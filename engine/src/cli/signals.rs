//! Stopping cleanly on SIGINT, SIGTERM and SIGHUP.

use ringflow_engine::registry::{Handle, Registry};
use ringflow_engine::runtime;

use super::Failure;

/// SIGINT (Ctrl-C), SIGTERM (`kill`, `timeout`, a service manager) and SIGHUP (a closed
/// terminal), all handled alike. Once [`listen`](Self::listen) returns they no longer end the
/// process: they stop its tasks, which finish their files and report, and the command removes
/// what it created. A signal that comes before the tasks are handed over is kept until then.
/// SIGHUP stays ignored if the process started with it ignored (`nohup`'s whole point); SIGINT
/// is handled even in a shell's background job, which starts with it ignored, as it always was.
pub(crate) struct StopSignals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
    hangup: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    /// Installs the handlers now (not when a task first polls them), so no signal slips by.
    pub(crate) fn listen() -> Result<StopSignals, Failure> {
        use tokio::signal::unix::{signal, SignalKind};
        let _runtime = runtime::runtime().enter();
        let on = |kind: SignalKind| {
            if kind == SignalKind::hangup() && inherited_ignored(kind.as_raw_value()) {
                return Ok(None);
            }
            signal(kind)
                .map(Some)
                .map_err(|e| Failure::job(format!("cannot handle signals: {e}")))
        };
        Ok(StopSignals {
            interrupt: on(SignalKind::interrupt())?,
            terminate: on(SignalKind::terminate())?,
            hangup: on(SignalKind::hangup())?,
        })
    }

    /// Resolves at the first of them.
    pub(crate) async fn recv(mut self) {
        async fn one(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = one(&mut self.interrupt) => {}
            _ = one(&mut self.terminate) => {}
            _ = one(&mut self.hangup) => {}
        }
    }

    /// Stops the given tasks at the first signal (they end cleanly and report).
    pub(crate) fn stop_tasks(self, registry: &'static Registry, handles: Vec<Handle>) {
        runtime::runtime().spawn(async move {
            self.recv().await;
            for h in handles {
                let _ = registry.stop(h);
            }
        });
    }
}

/// Whether signal `sig` is ignored (`SIG_IGN`), as a process inherits SIGHUP from `nohup`. Asked
/// before any handler of ours replaces it.
pub(crate) fn inherited_ignored(sig: i32) -> bool {
    let mut old = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action makes `sigaction` only report the current one, into `old`,
    // which is valid and writable for a whole `sigaction`.
    let rc = unsafe { libc::sigaction(sig, std::ptr::null(), old.as_mut_ptr()) };
    // SAFETY: all zeroes is a valid `sigaction` (integers, a mask and a function address), and
    // `sigaction` overwrote it with another valid one if it returned 0.
    let old = unsafe { old.assume_init() };
    rc == 0 && old.sa_sigaction == libc::SIG_IGN
}

/// Stops the given tasks on SIGINT, SIGTERM or SIGHUP ([`StopSignals`]).
pub(crate) fn stop_on_signals(
    registry: &'static Registry,
    handles: Vec<Handle>,
) -> Result<(), Failure> {
    StopSignals::listen()?.stop_tasks(registry, handles);
    Ok(())
}
