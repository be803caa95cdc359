//! Ctrl-C and SIGTERM: the first asks the running subcommand to close its sockets
//! and exit 0; a second one exits at once with 130.

use tokio::sync::watch;

/// Resolves once Ctrl-C or SIGTERM has arrived. Clones watch the same signals.
#[derive(Clone, Debug)]
pub struct Shutdown {
    signalled: watch::Receiver<bool>,
}

impl Shutdown {
    /// Starts listening for the signals on the current runtime.
    pub fn listen() -> std::io::Result<Shutdown> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let (tell, signalled) = watch::channel(false);
        tokio::spawn(async move {
            for round in 0.. {
                let name = tokio::select! {
                    _ = interrupt.recv() => "interrupt",
                    _ = terminate.recv() => "terminate",
                };
                if round == 0 {
                    tracing::info!("{name} signal: closing sockets (again to exit at once)");
                    let _ = tell.send(true);
                } else {
                    tracing::warn!("{name} signal again: exiting without waiting for LINGER");
                    std::process::exit(130);
                }
            }
        });
        Ok(Shutdown { signalled })
    }

    /// Whether the signal has come.
    pub fn is_signalled(&self) -> bool {
        *self.signalled.borrow()
    }

    /// Waits for the signal (returns at once if it came already).
    pub async fn wait(&mut self) {
        let _ = self.signalled.wait_for(|signalled| *signalled).await;
    }
}
