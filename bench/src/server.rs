//! The server under test: the release `hamlet` binary, built if needed,
//! started pinned to one core, and watched through `/proc`.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::http;

/// Builds the release server with the same cargo that runs the bench and
/// returns the binary's path. Cargo does nothing when it is up to date, so the
/// bench always measures the sources it sits in.
pub fn build(workspace: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    println!("building the release server: cargo build --release -p hamlet --bin hamlet");
    let status = Command::new(cargo)
        .args(["build", "--release", "-p", "hamlet", "--bin", "hamlet"])
        .current_dir(workspace)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p hamlet failed ({status})");
    }
    let binary = target_dir(workspace).join("release").join("hamlet");
    if !binary.is_file() {
        bail!("{} is missing after the build", binary.display());
    }
    Ok(binary)
}

fn target_dir(workspace: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    }
}

/// What the server needs to know besides its address.
#[derive(Clone)]
pub struct Setup {
    pub binary: PathBuf,
    pub database_url: String,
    /// Where it runs (so no `.env` of a developer's is read) and logs.
    pub dir: PathBuf,
    pub cpu: u32,
}

impl Setup {
    /// The environment every `hamlet` command of the bench gets. Nothing is
    /// inherited from ours but PATH, so a developer's `HAMLET_*` variables
    /// cannot change what is measured.
    fn configure(&self, command: &mut Command) {
        command
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HAMLET_DATABASE_URL", &self.database_url)
            .env("HAMLET_LOG", "warn")
            .env("HAMLET_LOG_FORMAT", "text");
    }

    /// Runs a `hamlet` subcommand to completion, feeding it `stdin`, and
    /// returns what it printed.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        let mut command = Command::new(&self.binary);
        command.args(args);
        self.output(command, args, stdin)
    }

    /// Runs `program` (e.g. `taskset`) with `args`, in hamlet's environment,
    /// and returns what it printed.
    pub fn run_via(&self, program: &str, args: &[&str]) -> anyhow::Result<String> {
        let mut command = Command::new(program);
        command.args(args);
        self.output(command, args, None)
    }

    fn output(
        &self,
        mut command: Command,
        args: &[&str],
        stdin: Option<&str>,
    ) -> anyhow::Result<String> {
        self.configure(&mut command);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting hamlet {}", args.join(" ")))?;
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(stdin.unwrap_or_default().as_bytes())?;
        }
        let output = child.wait_with_output()?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            bail!(
                "hamlet {} failed ({}): {}{}",
                args.join(" "),
                output.status,
                stdout,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(stdout)
    }
}

/// A running server.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// From spawning the process to `/readyz` answering 200.
    pub start_to_ready: Duration,
}

impl Server {
    /// Starts `hamlet serve` pinned to the setup's core and waits until it is
    /// ready.
    pub fn start(setup: &Setup) -> anyhow::Result<Self> {
        let addr = free_port()?;
        let mut command = Command::new("taskset");
        command
            .arg("-c")
            .arg(setup.cpu.to_string())
            .arg(&setup.binary)
            .arg("serve");
        setup.configure(&mut command);
        command
            .env("HAMLET_BIND", addr.to_string())
            // The limits protect a public service from one address; every
            // request here comes from one address on purpose.
            .env("HAMLET_SUBMIT_PER_MINUTE", "1000000000")
            .env("HAMLET_LOGIN_PER_MINUTE", "1000000");
        Self::spawn(command, addr, setup, "hamlet serve")
    }

    /// Starts the bench's bare reference server (`hamlet-bare`, beside this
    /// binary) on the setup's core, answering every request with `body`.
    pub fn start_bare(setup: &Setup, body: &Path) -> anyhow::Result<Self> {
        let addr = free_port()?;
        let binary = std::env::current_exe()?.with_file_name("hamlet-bare");
        let mut command = Command::new("taskset");
        command
            .arg("-c")
            .arg(setup.cpu.to_string())
            .arg(&binary)
            .arg(addr.to_string())
            .arg(body);
        Self::spawn(command, addr, setup, "hamlet-bare")
    }

    /// Spawns `command` (taskset, which sets the affinity and then execs the
    /// server, so this child's pid is the server's) with its output in the
    /// setup's server log, and waits until `/readyz` on `addr` answers 200.
    fn spawn(
        mut command: Command,
        addr: SocketAddr,
        setup: &Setup,
        what: &str,
    ) -> anyhow::Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(setup.dir.join("server.log"))?;
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let spawned = Instant::now();
        let child = command
            .spawn()
            .with_context(|| format!("starting taskset {what}"))?;
        let mut server = Self {
            child,
            addr,
            start_to_ready: Duration::ZERO,
        };
        loop {
            if let Ok(answer) = http::get(addr, "/readyz")
                && answer.status == 200
            {
                server.start_to_ready = spawned.elapsed();
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "{what} exited ({status}) before it was ready; see {}",
                    setup.dir.join("server.log").display()
                );
            }
            if spawned.elapsed() > Duration::from_secs(60) {
                bail!("{what} was not ready within 60 seconds");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now (VmRSS), in bytes.
    pub fn rss(&self) -> anyhow::Result<u64> {
        self.status_bytes("VmRSS:")
    }

    /// The most resident memory since start or since [`reset_peak`]
    /// (VmHWM), in bytes.
    pub fn peak_rss(&self) -> anyhow::Result<u64> {
        self.status_bytes("VmHWM:")
    }

    /// Resets the peak the kernel tracks to the current RSS. Needs the right
    /// to write the process's `clear_refs` (the bench started it, so usually
    /// so); `Ok(false)` when refused.
    pub fn reset_peak(&self) -> anyhow::Result<bool> {
        let path = format!("/proc/{}/clear_refs", self.pid());
        if std::fs::write(&path, "5").is_err() {
            return Ok(false);
        }
        // Some kernels accept the write and ignore it: check that it took.
        let (peak, now) = (self.peak_rss()?, self.rss()?);
        Ok(peak <= now + 256 * 1024)
    }

    fn status_bytes(&self, field: &str) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let line = status
            .lines()
            .find(|line| line.starts_with(field))
            .with_context(|| format!("no {field} in /proc/{}/status", self.pid()))?;
        let kib: u64 = line
            .trim_start_matches(field)
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .with_context(|| format!("reading {line:?}"))?;
        Ok(kib * 1024)
    }

    /// Asks the server to stop as an operator would (SIGTERM), and kills it
    /// if it has not stopped within five seconds.
    pub fn stop(mut self) -> anyhow::Result<()> {
        // std can only SIGKILL; kill(1) sends the SIGTERM a graceful stop needs.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // After stop() this finds the process gone; on an early return it
        // makes sure no server outlives the bench.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A loopback address with a port nobody is listening on.
fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}
