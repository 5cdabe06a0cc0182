//! A private `rabbitmq-server` for the outage test: its own node name, AMQP, distribution and
//! epmd ports on 127.0.0.1, and a temporary directory owned by the `rabbitmq` user (as root the
//! server drops to that user and must be able to write its logs and database there). The test
//! stops and starts it; dropping it stops the node and ends the epmd it started. The shared
//! broker on 5672 is never touched.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = "/usr/sbin/rabbitmq-server";
const CTL: &str = "/usr/sbin/rabbitmqctl";

pub struct PrivateBroker {
    dir: tempfile::TempDir,
    node: String,
    amqp_port: u16,
    dist_port: u16,
    epmd_port: u16,
    server: Option<Child>,
}

/// A port free now (the kernel's choice; released before the broker binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PrivateBroker {
    /// `Ok(None)` when rabbitmq-server is not installed (or we are not root): the caller
    /// decides whether that is a failure (under CI) or a skip.
    pub fn prepare() -> Result<Option<PrivateBroker>, String> {
        if !std::path::Path::new(SERVER).exists() {
            return Ok(None);
        }
        let uid = id("-u")?;
        let gid = id("-g")?;
        let dir = tempfile::Builder::new()
            .prefix("gauntlet-rabbitmq-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let mut broker = PrivateBroker {
            node: format!("gauntlet-{}@localhost", uuid::Uuid::new_v4().simple()),
            amqp_port: free_port(),
            dist_port: free_port(),
            epmd_port: free_port(),
            dir,
            server: None,
        };
        // the server writes nothing but logs and its database; loopback_users = none lets guest
        // connect (it does anyway on loopback, but the tests may use 127.0.0.1 or localhost)
        std::fs::write(
            broker.path("rabbitmq.conf"),
            format!(
                "listeners.tcp.1 = 127.0.0.1:{}\nloopback_users = none\n",
                broker.amqp_port
            ),
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(broker.path("enabled_plugins"), "[].\n").map_err(|e| e.to_string())?;
        for p in [
            broker.dir.path().to_path_buf(),
            broker.path("rabbitmq.conf"),
            broker.path("enabled_plugins"),
        ] {
            std::os::unix::fs::chown(&p, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e} (needs root)", p.display()))?;
        }
        broker.server = None;
        Ok(Some(broker))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.amqp_port)
    }

    fn command(&self, program: &str) -> Command {
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

    /// Starts the node and waits until its AMQP port answers.
    pub fn start(&mut self) -> Result<Duration, String> {
        let started = Instant::now();
        let log = std::fs::File::create(self.path("server.out")).map_err(|e| e.to_string())?;
        let child = self
            .command(SERVER)
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{SERVER}: {e}"))?;
        self.server = Some(child);
        while started.elapsed() < Duration::from_secs(90) {
            if std::net::TcpStream::connect(("127.0.0.1", self.amqp_port)).is_ok() {
                return Ok(started.elapsed());
            }
            if let Some(child) = self.server.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let out = std::fs::read_to_string(self.path("server.out")).unwrap_or_default();
                return Err(format!("rabbitmq-server exited ({status}): {}", tail(&out)));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err("rabbitmq-server did not listen within 90 s".into())
    }

    /// Stops the node (`rabbitmqctl stop`: the broker closes its connections, as in a real
    /// outage of a broker being restarted) and reaps the server process.
    pub fn stop(&mut self) -> Result<(), String> {
        let out = self
            .command(CTL)
            .args(["-n", &self.node, "stop"])
            .output()
            .map_err(|e| format!("{CTL}: {e}"))?;
        let mut result = if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "rabbitmqctl stop: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        };
        if let Some(mut child) = self.server.take() {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    _ if Instant::now() > deadline => {
                        // ours, by PID
                        let _ = child.kill();
                        let _ = child.wait();
                        result = result.and(Err("rabbitmq-server did not exit after stop; killed".into()));
                        break;
                    }
                    _ => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        }
        result
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if self.server.is_some() {
            let _ = self.stop();
        }
        // the epmd this node started on its own port (not the system's on 4369)
        let _ = Command::new("epmd")
            .args(["-port", &self.epmd_port.to_string(), "-kill"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn id(flag: &str) -> Result<u32, String> {
    let out = Command::new("id")
        .args([flag, "rabbitmq"])
        .output()
        .map_err(|e| format!("id: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| "no rabbitmq user (is rabbitmq-server installed?)".to_string())
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}
