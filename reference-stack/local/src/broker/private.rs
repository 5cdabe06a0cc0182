//! A private `rabbitmq-server` on loopback: what [`crate::start`] runs when no broker was named
//! and none answers at the default address, and what partner's outage test stops and starts.
//!
//! The node gets its own name, its own AMQP, distribution and epmd ports on 127.0.0.1, and a
//! temporary directory for its config, logs and database; nothing is shared with a broker the
//! machine runs (on 5672, with the system epmd on 4369), which is never touched. Debian's
//! `/usr/sbin/rabbitmq-server` run as root drops to the `rabbitmq` user, so the directory is
//! handed to that user when it exists (which needs root: without it the node cannot start and
//! [`PrivateBroker::prepare`] says so). Dropping a `PrivateBroker` stops the node, ends the epmd
//! it started and removes the directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian/Ubuntu's package installs the server; tried before `PATH` (which often lacks
/// `/usr/sbin` for non-root users).
const DEBIAN_SERVER: &str = "/usr/sbin/rabbitmq-server";

/// How long `rabbitmqctl stop`, and then the server's own exit, may take before the node is
/// killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a private broker could not be prepared, started or stopped cleanly.
#[derive(Debug, thiserror::Error)]
pub enum PrivateBrokerError {
    /// No `rabbitmq-server` at `/usr/sbin` or on `PATH`.
    #[error("rabbitmq-server is not installed")]
    NotInstalled,
    /// Its directory could not be set up (no root to hand it to the `rabbitmq` user, ...).
    #[error("cannot prepare its directory: {0}")]
    Prepare(String),
    /// The server could not be run at all.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server exited before it listened; `output` is the end of what it printed (one line).
    #[error("rabbitmq-server exited ({status}): {output}")]
    Exited {
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The last lines it printed, joined with ` | `.
        output: String,
    },
    /// The server did not listen in time (it was stopped again).
    #[error("rabbitmq-server did not listen within {0:?}")]
    StartTimeout(Duration),
    /// `rabbitmqctl stop` failed or the node outlived it and was killed.
    #[error("stopping the node: {0}")]
    Stop(String),
}

/// A private RabbitMQ node on 127.0.0.1 (see the module docs). [`prepare`](Self::prepare), then
/// [`start`](Self::start); [`stop`](Self::stop) and `start` again as often as needed.
pub struct PrivateBroker {
    dir: tempfile::TempDir,
    server_path: PathBuf,
    ctl_path: PathBuf,
    node: String,
    amqp_port: u16,
    dist_port: u16,
    epmd_port: u16,
    server: Option<Child>,
    /// The Erlang VM's PID (from the node's PID file): the wrapper scripts between it and
    /// `server` do not pass a kill on.
    vm_pid: Option<u32>,
}

impl std::fmt::Debug for PrivateBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateBroker")
            .field("node", &self.node)
            .field("amqp_port", &self.amqp_port)
            .field("dir", &self.dir.path())
            .field("vm_pid", &self.vm_pid)
            .finish_non_exhaustive()
    }
}

/// The installed server: Debian's path, else the first `rabbitmq-server` on `PATH`.
fn find_server() -> Option<PathBuf> {
    let debian = Path::new(DEBIAN_SERVER);
    if debian.is_file() {
        return Some(debian.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("rabbitmq-server"))
        .find(|p| p.is_file())
}

/// The first port of the kernel's ephemeral range, when it can be read and leaves room below it
/// (from 10000) for [`free_ports`] to pick from.
fn first_ephemeral_port() -> Option<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|low| *low > 20_000)
}

/// Three distinct ports free now (held together so none is picked twice; released before the
/// node binds them). Taken below the kernel's ephemeral range when it can be read: the node
/// needs seconds to start, and meanwhile any `bind(:0)` or outgoing connection on the machine
/// (another test's server, say) could be handed a port from that range and take it first.
fn free_ports() -> std::io::Result<[u16; 3]> {
    let mut listeners = Vec::with_capacity(3);
    if let Some(low) = first_ephemeral_port() {
        // Random candidates in [10000, low): two runs starting together rarely collide, and
        // a port in use is skipped.
        for _ in 0..200 {
            let mut bytes = [0u8; 2];
            if getrandom::fill(&mut bytes).is_err() {
                break;
            }
            let port = 10_000 + u16::from_le_bytes(bytes) % (low - 10_000);
            if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
                listeners.push(listener);
                if listeners.len() == 3 {
                    break;
                }
            }
        }
    }
    while listeners.len() < 3 {
        listeners.push(std::net::TcpListener::bind("127.0.0.1:0")?);
    }
    let mut ports = [0; 3];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr()?.port();
    }
    Ok(ports)
}

impl PrivateBroker {
    /// Whether a `rabbitmq-server` is installed (at `/usr/sbin` or on `PATH`).
    pub fn installed() -> bool {
        find_server().is_some()
    }

    /// Finds the server, picks free ports and writes the node's config into a fresh temporary
    /// directory; nothing runs yet.
    pub fn prepare() -> Result<PrivateBroker, PrivateBrokerError> {
        let server_path = find_server().ok_or(PrivateBrokerError::NotInstalled)?;
        let ctl_path = server_path.with_file_name("rabbitmqctl");
        let prepare = |e: std::io::Error| PrivateBrokerError::Prepare(e.to_string());
        let dir = tempfile::Builder::new()
            .prefix("gauntlet-rabbitmq-")
            .tempdir()
            .map_err(prepare)?;
        let [amqp_port, dist_port, epmd_port] = free_ports().map_err(prepare)?;
        let broker = PrivateBroker {
            node: format!("gauntlet-{}@localhost", uuid::Uuid::new_v4().simple()),
            server_path,
            ctl_path,
            amqp_port,
            dist_port,
            epmd_port,
            dir,
            server: None,
            vm_pid: None,
        };
        // the node needs no plugins; loopback_users = none lets guest connect through
        // 127.0.0.1 and localhost alike
        std::fs::write(
            broker.path("rabbitmq.conf"),
            format!("listeners.tcp.1 = 127.0.0.1:{amqp_port}\nloopback_users = none\n"),
        )
        .map_err(prepare)?;
        std::fs::write(broker.path("enabled_plugins"), "[].\n").map_err(prepare)?;
        if let Some((uid, gid)) = rabbitmq_user() {
            for p in [
                broker.dir.path().to_path_buf(),
                broker.path("rabbitmq.conf"),
                broker.path("enabled_plugins"),
            ] {
                chown(&p, uid, gid).map_err(|e| {
                    PrivateBrokerError::Prepare(format!(
                        "handing {} to the rabbitmq user: {e} (rabbitmq-server drops to that user; run as root)",
                        p.display()
                    ))
                })?;
            }
        }
        Ok(broker)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The node's AMQP URL (`guest:guest` on 127.0.0.1).
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.amqp_port)
    }

    /// The node's AMQP port on 127.0.0.1.
    pub fn amqp_port(&self) -> u16 {
        self.amqp_port
    }

    /// The port of the epmd the node starts (its own, not the system's 4369).
    pub fn epmd_port(&self) -> u16 {
        self.epmd_port
    }

    /// The node's temporary directory (removed when the broker is dropped).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The PID of the node's Erlang VM, once it has started.
    pub fn pid(&self) -> Option<u32> {
        self.vm_pid
    }

    fn command(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        let d = self.dir.path();
        c.env("RABBITMQ_NODENAME", &self.node)
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("ERL_EPMD_PORT", self.epmd_port.to_string())
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_MNESIA_BASE", d.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", d.join("log"))
            .env("RABBITMQ_CONFIG_FILE", d.join("rabbitmq"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", d.join("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", d.join("rabbitmq.pid"))
            .stdin(Stdio::null());
        c
    }

    /// Starts the node and waits (blocking) until its AMQP port answers, for at most `timeout`;
    /// returns how long that took. A node that does not answer in time is stopped again.
    pub fn start(&mut self, timeout: Duration) -> Result<Duration, PrivateBrokerError> {
        let started = Instant::now();
        // the previous run's VM (if any) is gone: never signal a PID the kernel may reuse
        self.vm_pid = None;
        let spawn = |source| PrivateBrokerError::Spawn {
            program: self.server_path.display().to_string(),
            source,
        };
        let log = std::fs::File::create(self.path("server.out")).map_err(spawn)?;
        let mut command = self.command(&self.server_path);
        command.stdout(log.try_clone().map_err(spawn)?).stderr(log);
        // its own process group: a Ctrl-C at the terminal reaches `stack up`, which then stops
        // the services before the broker, not the broker behind their backs
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = command.spawn().map_err(spawn)?;
        self.server = Some(child);
        while started.elapsed() < timeout {
            if std::net::TcpStream::connect(("127.0.0.1", self.amqp_port)).is_ok() {
                self.vm_pid = std::fs::read_to_string(self.path("rabbitmq.pid"))
                    .ok()
                    .and_then(|pid| pid.trim().parse().ok());
                return Ok(started.elapsed());
            }
            if let Some(child) = self.server.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.server = None;
                let out = std::fs::read_to_string(self.path("server.out")).unwrap_or_default();
                return Err(PrivateBrokerError::Exited {
                    status,
                    output: tail(&out, 5),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.stop();
        Err(PrivateBrokerError::StartTimeout(timeout))
    }

    /// Stops the node (blocking) with `rabbitmqctl stop` — the broker closes its connections, as
    /// in a real outage of a broker being restarted — and reaps the server; a node still running
    /// 30 s later is killed (ours, by PID), and that is reported as an error.
    pub fn stop(&mut self) -> Result<(), PrivateBrokerError> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        if self.vm_pid.is_none() {
            // stopped before it answered: the PID file may be there by now
            self.vm_pid = std::fs::read_to_string(self.path("rabbitmq.pid"))
                .ok()
                .and_then(|pid| pid.trim().parse().ok());
        }
        let mut problems = Vec::new();
        match self
            .command(&self.ctl_path)
            .args(["-n", &self.node, "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(mut ctl) => match wait_for(&mut ctl, STOP_TIMEOUT) {
                Some(status) if status.success() => {}
                Some(status) => problems.push(format!("rabbitmqctl stop exited with {status}")),
                None => {
                    let _ = ctl.kill();
                    let _ = ctl.wait();
                    problems.push(format!("rabbitmqctl stop took over {STOP_TIMEOUT:?}"));
                }
            },
            Err(e) => problems.push(format!("cannot run {}: {e}", self.ctl_path.display())),
        }
        if wait_for(&mut server, STOP_TIMEOUT).is_none() {
            // the VM is behind wrapper scripts (and `su`): kill it by its own PID
            if let Some(pid) = self.vm_pid {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
            let _ = server.kill();
            let _ = server.wait();
            problems.push("the node did not exit; killed".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(PrivateBrokerError::Stop(problems.join("; ")))
        }
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.stop();
        // the epmd this node started on its own port (never the system's on 4369); ends once
        // no node is registered with it
        let _ = Command::new("epmd")
            .args(["-port", &self.epmd_port.to_string(), "-kill"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // then `dir` (a field) is removed
    }
}

/// Waits for `child` to exit, for at most `timeout`.
fn wait_for(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            _ => return None,
        }
    }
}

#[cfg(unix)]
fn chown(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
}

#[cfg(not(unix))]
fn chown(_: &Path, _: u32, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// The `rabbitmq` user's uid and gid, when there is one (the Debian package creates it).
fn rabbitmq_user() -> Option<(u32, u32)> {
    let id = |flag: &str| {
        let out = Command::new("id")
            .args([flag, "rabbitmq"])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// The last `n` non-empty lines of `text`, on one line.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_is_one_line() {
        assert_eq!(tail("a\n\nb\nc\n", 2), "b | c");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn the_ports_are_distinct_and_below_the_ephemeral_range() {
        let [a, b, c] = free_ports().unwrap();
        assert!(a != b && b != c && a != c);
        if let Some(low) = first_ephemeral_port() {
            assert!(
                [a, b, c].iter().all(|p| *p < low),
                "{a} {b} {c} (ephemeral from {low})"
            );
        }
    }
}
