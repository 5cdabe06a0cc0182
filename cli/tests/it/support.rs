//! Runs `gauntlet stack up` as a child process and reads the URLs it prints.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A `gauntlet stack up` child process and the URLs it printed.
pub struct StackProcess {
    pub child: Child,
    pub iam: String,
    pub catalog: String,
    pub banner: String,
}

fn url_after(banner: &str, service: &str) -> Option<String> {
    banner.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next()? == service).then(|| words.next().map(str::to_string))?
    })
}

impl StackProcess {
    /// Starts the stack on free ports with `data_dir`, waiting (at most 60 s) for its banner.
    pub fn start(data_dir: &Path) -> StackProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gauntlet"))
            .args(["stack", "up", "--base-port", "0", "--data-dir"])
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn gauntlet");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut banner = String::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                banner.push_str(&line);
                banner.push('\n');
                if line.starts_with("Press Ctrl-C") {
                    let _ = tx.send(banner.clone());
                }
            }
        });
        let banner = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(banner) => banner,
            Err(_) => {
                let _ = child.kill();
                panic!("gauntlet stack up printed no banner within 60 s");
            }
        };
        let iam = url_after(&banner, "iam").expect("iam URL in banner");
        let catalog = url_after(&banner, "catalog").expect("catalog URL in banner");
        StackProcess {
            child,
            iam,
            catalog,
            banner,
        }
    }

    /// Sends SIGTERM, as `kill` or an orchestrator would.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (at most `limit`) for the process to exit; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("gauntlet did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for StackProcess {
    fn drop(&mut self) {
        // Never leave a stack running behind a failed test.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A reqwest client with a bounded timeout.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Registers `username` (password `username-password`) and returns a token for it.
pub async fn user_token(iam: &str, username: &str) -> String {
    let http = http();
    let password = format!("{username}-password");
    let r = http
        .post(format!("{iam}/v1/users"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 201 || r.status() == 409, "register: {}", r.status());
    token(iam, username, &password).await
}

/// A password-grant token.
pub async fn token(iam: &str, username: &str, password: &str) -> String {
    let r = http()
        .post(format!("{iam}/v1/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// Runs `command` to its end (killed, and a panic, past `limit`), reading its VmHWM (the
/// kernel's high-water mark of its resident set, which only grows) every 10 ms: its peak RSS
/// in KiB, and its output.
pub fn peak_rss_kib(mut command: Command, limit: Duration) -> (u64, std::process::Output) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gauntlet");
    let status_file = Path::new("/proc").join(child.id().to_string()).join("status");
    let deadline = std::time::Instant::now() + limit;
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Some(kib) = std::fs::read_to_string(&status_file)
            .ok()
            .and_then(|status| vm_hwm_kib(&status))
        {
            peak = peak.max(kib);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{command:?} did not end within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (peak, child.wait_with_output().unwrap())
}

/// `VmHWM:   12345 kB` in /proc/PID/status.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
