//! One stop switch for the servers a test spawned: each server's graceful-shutdown future is
//! [`Stopper::signal`], and stopping flips the switch and waits for the tasks.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A stop switch and the server tasks it stops.
pub struct Stopper {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

impl Default for Stopper {
    fn default() -> Self {
        Self::new()
    }
}

impl Stopper {
    /// A switch not yet flipped, with no tasks.
    pub fn new() -> Self {
        Stopper {
            stop: watch::channel(false).0,
            tasks: Vec::new(),
        }
    }

    /// Completes once the switch is flipped: a server's graceful-shutdown future.
    pub fn signal(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    /// Spawns a server task that [`Stopper::stop`] waits for.
    pub fn spawn(&mut self, task: impl Future<Output = std::io::Result<()>> + Send + 'static) {
        self.tasks.push(tokio::spawn(task));
    }

    /// Flips the switch and waits (at most 20 s each) for every task, which must end cleanly:
    /// a server that hangs, panics or fails its shutdown fails the test.
    pub async fn stop(&mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("stops within 20 s")
                .expect("no panic")
                .expect("stops cleanly");
        }
    }

    /// Flips the switch and waits at most `each` for every task, however it ends: for tests
    /// whose subject is not the shutdown.
    pub async fn stop_within(&mut self, each: Duration) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(each, task).await;
        }
    }
}
