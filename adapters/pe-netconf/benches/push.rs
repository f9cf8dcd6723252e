//! End-to-end push throughput against a real router: netconfd 2.13 behind
//! OpenSSH (`onramp_devstack::pe`, one PE, the reference-pe platform).
//!
//! `cargo bench -p onramp-pe-netconf --bench push` (bench profile = release;
//! needs root and what `scripts/install-deps.sh` installs). Prints:
//!
//! - the cost of opening a session, and of one NETCONF round trip on it;
//! - one change on a (nearly) empty PE: create + delete of one attachment,
//!   20 times, over the pooled session;
//! - mode (a): N attachments, one `apply` (one transaction, one confirmed
//!   commit) each, over the pooled session: changes/s and per-change latency
//!   (mean, p50, p99; first and last 50, since the router's cost grows with
//!   its configuration);
//! - mode (b): the same N in `apply_batch`es of B; and (c) all N in one;
//! - the CPU time netconfd and this process spent in each mode.
//!
//! Running is read back after each mode and must hold all N attachments
//! (checked against every change's expectations), and none once they are
//! deleted again (in batches) between modes.
//!
//! Takes about 20 minutes at N = 500 on a 2-core machine, nearly all of it
//! mode (a): netconfd re-validates its whole configuration on every commit,
//! two per transaction, at a cost that grows faster than linearly with the
//! configuration (seconds per commit at 500 attachments).
//!
//! Environment: `PUSH_BENCH_CHANGES` (N, default 500), `PUSH_BENCH_BATCH`
//! (B, default 50), `PUSH_BENCH_DIR` (where the PE keeps its files; default
//! a temp dir in /dev/shm when it exists, so the router's per-commit file
//! writes measure the router, not this VM's disk), `PUSH_BENCH_YANG` (the
//! device model's folder; default the platform's).
//!
//! `PUSH_BENCH_SIZES=100,1000,2000` runs the sizes mode instead: it fills
//! the PE to each size in turn (one port, one VRF: the worst case for the
//! router's datastore checks), then times one change alone and one batch
//! of B on top of it, which prints the amortized cost per change at that
//! size: what the PE writer pays per change once its PE is that large.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use onramp_devstack::pe::{PeEndpoint, PeLab, PeLabConfig};
use onramp_pe_netconf::{
    ApplyOptions, PeTarget, Rendered, apply, apply_batch, apply_batch_with, apply_with,
    get_running, session_stats,
};
use onramp_router_templates::{
    AttachmentIntent, NeighborIntent, Operation, Platform, VrfIntent, default_templates_root,
};

fn main() {
    // `cargo bench` passes `--bench`; nothing else is understood.
    let n: u16 = env_or("PUSH_BENCH_CHANGES", 500);
    let batch: usize = env_or("PUSH_BENCH_BATCH", 50);
    assert!(
        (1..=3900).contains(&n),
        "PUSH_BENCH_CHANGES must be 1..=3900"
    );
    assert!(batch >= 1, "PUSH_BENCH_BATCH must be at least 1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match std::env::var("PUSH_BENCH_SIZES") {
        Ok(sizes) => {
            let sizes: Vec<u16> = sizes
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse()
                        .expect("PUSH_BENCH_SIZES: sizes like 100,1000,2000")
                })
                .collect();
            assert!(
                sizes.windows(2).all(|w| w[0] < w[1])
                    && sizes.last().is_some_and(|&l| usize::from(l) + batch < 3900),
                "PUSH_BENCH_SIZES must grow, and the last size plus B stay under 3900"
            );
            rt.block_on(run_sizes(&sizes, batch));
        }
        Err(_) => rt.block_on(run(n, batch)),
    }
}

/// The model the PE lab loads: `PUSH_BENCH_YANG`, or the platform's own.
fn yang_dir(platform: &Platform) -> PathBuf {
    std::env::var_os("PUSH_BENCH_YANG")
        .map(PathBuf::from)
        .unwrap_or_else(|| platform.yang_dir().unwrap().to_path_buf())
}

/// One PE (netconfd behind sshd) with the device model in `yang`, its
/// files in `PUSH_BENCH_DIR`, or /dev/shm when it exists (so the router's
/// per-commit file writes measure the router, not this VM's disk).
fn start_lab(yang: &Path) -> (tempfile::TempDir, PeLab) {
    let base = std::env::var_os("PUSH_BENCH_DIR")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
        .unwrap_or_else(std::env::temp_dir);
    let work = tempfile::Builder::new()
        .prefix("onramp-push-bench.")
        .tempdir_in(&base)
        .unwrap();
    let lab = PeLab::start(PeLabConfig::new(&["pe1"], yang, work.path()))
        .unwrap_or_else(|e| panic!("PE lab did not start: {e}"));
    (work, lab)
}

/// Fills the PE to each size, and at each times one change and one batch of
/// `batch` on top (both taken off again before the next fill).
async fn run_sizes(sizes: &[u16], batch: usize) {
    let platform = Platform::load(&default_templates_root(), "reference-pe").unwrap();
    let yang = yang_dir(&platform);
    let (_work, lab) = start_lab(&yang);
    let target = target(lab.endpoint("pe1").unwrap());
    let quirks = platform.quirks();
    // The old model's commits take minutes past 1,000 attachments: wait
    // for them rather than time out, so their cost can be printed.
    let opts = ApplyOptions {
        rpc_timeout: Duration::from_secs(1800),
        confirm_timeout_secs: 3600,
        ..ApplyOptions::default()
    };
    let render = |op, i| platform.render(op, &intent(i)).unwrap();
    println!("push bench, sizes mode: netconfd 2.13 + OpenSSH on loopback, reference-pe platform");
    println!(
        "  device model {}; one port, one VRF; batches of {batch}; {} cores",
        yang.display(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!(
        "  {:>6}  {:>12}  {:>14}  {:>16}",
        "PE size", "one change", "batch of B", "per change in B"
    );
    let mut held: u16 = 0;
    for &size in sizes {
        // Fill in steps of 500, the way a PE grows, each one commit.
        let t = Instant::now();
        while held < size {
            let upto = (held + 500).min(size);
            let fill: Vec<Rendered> = (held + 1..=upto)
                .map(|i| render(Operation::Create, i))
                .collect();
            apply_batch_with(&target, quirks, &fill, &opts)
                .await
                .unwrap();
            held = upto;
        }
        eprintln!("  filled to {size} in {:.1} s", t.elapsed().as_secs_f64());
        let one = render(Operation::Create, size + 1);
        let t = Instant::now();
        apply_with(&target, quirks, &one, &opts).await.unwrap();
        let single = t.elapsed();
        apply_with(&target, quirks, &render(Operation::Delete, size + 1), &opts)
            .await
            .unwrap();
        let on_top: Vec<Rendered> = (size + 1..=size + batch as u16)
            .map(|i| render(Operation::Create, i))
            .collect();
        let t = Instant::now();
        apply_batch_with(&target, quirks, &on_top, &opts)
            .await
            .unwrap();
        let whole = t.elapsed();
        let off: Vec<Rendered> = (size + 1..=size + batch as u16)
            .map(|i| render(Operation::Delete, i))
            .collect();
        apply_batch_with(&target, quirks, &off, &opts)
            .await
            .unwrap();
        println!(
            "  {size:>6}  {:>12}  {:>14}  {:>16}",
            ms(single),
            ms(whole),
            ms(whole / batch as u32)
        );
    }
    drop(lab);
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Bench {
    lab: PeLab,
    work: PathBuf,
    target: PeTarget,
    platform: Platform,
}

async fn run(n: u16, batch: usize) {
    let platform = Platform::load(&default_templates_root(), "reference-pe").unwrap();
    let (work, lab) = start_lab(&yang_dir(&platform));
    let b = Bench {
        target: target(lab.endpoint("pe1").unwrap()),
        lab,
        work: work.path().to_path_buf(),
        platform,
    };
    let fs = filesystem(&b.work);
    println!("push bench: netconfd 2.13 + OpenSSH on loopback, reference-pe platform");
    println!(
        "  N = {n} attachments, batches of {batch}, PE files in {} ({fs}), {} cores",
        b.work.display(),
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    println!("  load average at start: {}", loadavg());

    let creates: Vec<Rendered> = (1..=n)
        .map(|i| b.platform.render(Operation::Create, &intent(i)).unwrap())
        .collect();
    let deletes: Vec<Rendered> = (1..=n)
        .map(|i| b.platform.render(Operation::Delete, &intent(i)).unwrap())
        .collect();
    let quirks = b.platform.quirks();

    // ----- session -----
    let t = Instant::now();
    get_running(&b.target).await.unwrap();
    let open = t.elapsed();
    let mut rtt = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        get_running(&b.target).await.unwrap();
        rtt.push(t.elapsed());
    }
    println!();
    println!("session");
    println!(
        "  open (TCP, SSH, password, netconf subsystem, hello, warm-up probe) + 1st read: {}",
        ms(open)
    );
    println!(
        "  one <get-config> round trip on the open session (empty PE): p50 {}",
        ms(percentile(&mut rtt, 50.0))
    );

    // ----- one change on an empty PE -----
    let mut create_t = Vec::new();
    let mut delete_t = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        apply(&b.target, quirks, &creates[0]).await.unwrap();
        create_t.push(t.elapsed());
        let t = Instant::now();
        apply(&b.target, quirks, &deletes[0]).await.unwrap();
        delete_t.push(t.elapsed());
    }
    // What deletes leave behind (the port entry, the VRF): the baseline.
    let baseline = get_running(&b.target).await.unwrap();
    b.expect_all_absent(&deletes).await;
    println!();
    println!("one change on an empty PE (pooled session; lock, discard, edit, commit confirmed,");
    println!("get-config, confirming commit, unlock), 20 each:");
    println!(
        "  create: p50 {}, min {}   delete: p50 {}, min {}",
        ms(percentile(&mut create_t, 50.0)),
        ms(create_t[0]),
        ms(percentile(&mut delete_t, 50.0)),
        ms(delete_t[0])
    );

    // ----- the same RPCs, raw -----
    let floor = raw_floor(&b, &creates[0], &deletes[0]).await;
    println!();
    println!("the same 7 RPCs for one create, sent by plain rustnetconf on its own session");
    println!("(no verification, no pool), p50 of 20 each:");
    let mut sum = Duration::ZERO;
    for (name, mut v) in floor {
        let p = percentile(&mut v, 50.0);
        sum += p;
        println!("  {name:<18} {}", ms(p));
    }
    println!("  {:<18} {}", "sum", ms(sum));

    // ----- (a) one apply each -----
    let cpu0 = b.cpu();
    let t = Instant::now();
    let mut lat = Vec::with_capacity(creates.len());
    for (i, c) in creates.iter().enumerate() {
        let s = Instant::now();
        apply(&b.target, quirks, c).await.unwrap();
        lat.push(s.elapsed());
        if (i + 1) % 50 == 0 {
            eprintln!("  (a) {}/{n} applied, last one took {}", i + 1, ms(lat[i]));
        }
    }
    let a_total = t.elapsed();
    let a_cpu = b.cpu() - cpu0;
    b.expect_all(&creates).await;
    let a_rate = f64::from(n) / a_total.as_secs_f64();
    let first: Vec<Duration> = lat.iter().take(50).copied().collect();
    let last: Vec<Duration> = lat.iter().rev().take(50).copied().collect();
    let mean = lat.iter().sum::<Duration>() / lat.len() as u32;
    println!();
    println!("(a) {n} changes, one apply (one transaction, one confirmed commit) each");
    println!(
        "  total {:.1} s = {a_rate:.2} changes/s",
        a_total.as_secs_f64()
    );
    println!(
        "  latency per change: mean {}, p50 {}, p99 {}, max {}",
        ms(mean),
        ms(percentile(&mut lat.clone(), 50.0)),
        ms(percentile(&mut lat.clone(), 99.0)),
        ms(percentile(&mut lat.clone(), 100.0))
    );
    println!(
        "  first {} changes: mean {}; last {}: mean {} (the router's cost grows with its config)",
        first.len(),
        ms(first.iter().sum::<Duration>() / first.len() as u32),
        last.len(),
        ms(last.iter().sum::<Duration>() / last.len() as u32)
    );
    a_cpu.print(n);

    b.delete_all(&deletes, batch).await;

    // ----- (b) batches -----
    let cpu0 = b.cpu();
    let t = Instant::now();
    let mut batch_t = Vec::new();
    for chunk in creates.chunks(batch) {
        let s = Instant::now();
        apply_batch(&b.target, quirks, chunk).await.unwrap();
        batch_t.push(s.elapsed());
    }
    let b_total = t.elapsed();
    let b_cpu = b.cpu() - cpu0;
    b.expect_all(&creates).await;
    let b_rate = f64::from(n) / b_total.as_secs_f64();
    println!();
    println!(
        "(b) {n} changes in {} apply_batch calls of {batch}",
        batch_t.len()
    );
    println!(
        "  total {:.2} s = {b_rate:.1} changes/s; per batch: first {}, last {}",
        b_total.as_secs_f64(),
        ms(batch_t[0]),
        ms(*batch_t.last().unwrap())
    );
    b_cpu.print(n);

    b.delete_all(&deletes, batch).await;

    // ----- (c) one batch -----
    let cpu0 = b.cpu();
    let t = Instant::now();
    apply_batch(&b.target, quirks, &creates).await.unwrap();
    let c_total = t.elapsed();
    let c_cpu = b.cpu() - cpu0;
    b.expect_all(&creates).await;
    let c_rate = f64::from(n) / c_total.as_secs_f64();
    println!();
    println!("(c) {n} changes in one apply_batch");
    println!(
        "  total {:.2} s = {c_rate:.1} changes/s",
        c_total.as_secs_f64()
    );
    c_cpu.print(n);

    b.delete_all(&deletes, batch).await;
    assert_eq!(get_running(&b.target).await.unwrap(), baseline);

    let stats = session_stats(&b.target);
    println!();
    println!(
        "ratio: batched (b) / one each (a) = {:.1}x; one batch (c) / (a) = {:.1}x",
        b_rate / a_rate,
        c_rate / a_rate
    );
    println!(
        "sessions: {} opened for the whole run ({} reconnects, {} pushes/reads on the open one)",
        stats.connects, stats.reconnects, stats.reuses
    );
    println!("  load average at end: {}", loadavg());
}

/// Per-RPC latencies of a create (and the delete, untimed, to undo it) sent
/// with rustnetconf directly, as the adapter sends them.
async fn raw_floor(
    b: &Bench,
    create: &Rendered,
    delete: &Rendered,
) -> Vec<(&'static str, Vec<Duration>)> {
    use rustnetconf::transport::ssh::HostKeyVerification;
    use rustnetconf::{Client, Datastore};
    let t = &b.target;
    let mut c = Client::connect(&format!("{}:{}", t.host, t.port))
        .username(&t.username)
        .password(&t.password)
        .host_key_verification(HostKeyVerification::Fingerprint(
            t.host_key_fingerprint.clone().unwrap(),
        ))
        .gather_facts(false)
        .rpc_timeout(Duration::from_secs(30))
        .connect()
        .await
        .unwrap();
    for _ in 0..20 {
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(300), c.get(Some(""))).await {
            break;
        }
    }
    let names = [
        "lock",
        "discard-changes",
        "edit-config",
        "commit confirmed",
        "get-config",
        "commit",
        "unlock",
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); names.len()];
    let filter = create.running_filter().unwrap();
    for _ in 0..20 {
        let mut step = 0;
        let mut timed = |d: Duration| {
            times[step].push(d);
            step += 1;
        };
        let s = Instant::now();
        c.lock(Datastore::Candidate).await.unwrap();
        timed(s.elapsed());
        let s = Instant::now();
        c.discard_changes().await.unwrap();
        timed(s.elapsed());
        let s = Instant::now();
        c.edit_config(Datastore::Candidate)
            .config(&create.config_xml)
            .default_operation(rustnetconf::DefaultOperation::Merge)
            .send()
            .await
            .unwrap();
        timed(s.elapsed());
        let s = Instant::now();
        c.confirmed_commit(120).await.unwrap();
        timed(s.elapsed());
        let s = Instant::now();
        c.get_config_filtered(Datastore::Running, &filter)
            .await
            .unwrap();
        timed(s.elapsed());
        let s = Instant::now();
        c.confirming_commit().await.unwrap();
        timed(s.elapsed());
        let s = Instant::now();
        c.unlock(Datastore::Candidate).await.unwrap();
        timed(s.elapsed());
        c.lock(Datastore::Candidate).await.unwrap();
        c.edit_config(Datastore::Candidate)
            .config(&delete.config_xml)
            .default_operation(rustnetconf::DefaultOperation::None)
            .send()
            .await
            .unwrap();
        c.commit().await.unwrap();
        c.unlock(Datastore::Candidate).await.unwrap();
    }
    let _ = c.close_session().await;
    names.into_iter().zip(times).collect()
}

impl Bench {
    /// Running must meet every expectation of `changes` (one parse).
    async fn expect_all(&self, changes: &[Rendered]) {
        let running = get_running(&self.target).await.unwrap();
        let all = Rendered {
            expectations: changes
                .iter()
                .flat_map(|c| c.expectations.iter().cloned())
                .collect(),
            secret_leaves: changes[0].secret_leaves.clone(),
            ..Rendered::default()
        };
        if let Err(f) = all.verify(&running) {
            panic!(
                "running does not hold what was pushed: {}\n{}",
                f.expectation, f.running_excerpt
            );
        }
        let units = running.matches("<vlan-id>").count();
        assert_eq!(units, changes.len(), "units in running");
    }

    async fn delete_all(&self, deletes: &[Rendered], batch: usize) {
        for chunk in deletes.chunks(batch) {
            apply_batch(&self.target, self.platform.quirks(), chunk)
                .await
                .unwrap();
        }
        self.expect_all_absent(deletes).await;
    }

    async fn expect_all_absent(&self, deletes: &[Rendered]) {
        let running = get_running(&self.target).await.unwrap();
        for d in deletes {
            d.verify(&running).unwrap();
        }
        assert_eq!(running.matches("<vlan-id>").count(), 0);
    }

    fn cpu(&self) -> Cpu {
        Cpu {
            netconfd: netconfd_pid(&self.work.join("pe1"))
                .map(cpu_of)
                .unwrap_or_default(),
            sshd: self.sshd_cpu(),
            client: cpu_of(std::process::id()),
        }
    }

    /// sshd and the netconf subsystem serving the session (children of the
    /// PE's sshd).
    fn sshd_cpu(&self) -> Duration {
        let Some(main) = std::fs::read_to_string(self.lab.log_dir("pe1").join("sshd.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
        else {
            return Duration::ZERO;
        };
        let mut total = Duration::ZERO;
        let mut frontier = vec![main];
        let all = processes();
        while let Some(p) = frontier.pop() {
            for (pid, ppid) in &all {
                if *ppid == p {
                    total += cpu_of(*pid);
                    frontier.push(*pid);
                }
            }
        }
        total
    }
}

#[derive(Clone, Copy, Default)]
struct Cpu {
    netconfd: Duration,
    sshd: Duration,
    client: Duration,
}

impl std::ops::Sub for Cpu {
    type Output = Cpu;
    fn sub(self, o: Cpu) -> Cpu {
        Cpu {
            netconfd: self.netconfd.saturating_sub(o.netconfd),
            sshd: self.sshd.saturating_sub(o.sshd),
            client: self.client.saturating_sub(o.client),
        }
    }
}

impl Cpu {
    fn print(&self, n: u16) {
        let per = |d: Duration| ms(d / u32::from(n));
        println!(
            "  CPU: netconfd {:.2} s ({} per change), sshd+subsystem {:.2} s ({}), this process {:.2} s ({})",
            self.netconfd.as_secs_f64(),
            per(self.netconfd),
            self.sshd.as_secs_f64(),
            per(self.sshd),
            self.client.as_secs_f64(),
            per(self.client)
        );
    }
}

fn target(ep: &PeEndpoint) -> PeTarget {
    PeTarget {
        name: ep.name.clone(),
        host: ep.host.clone(),
        port: ep.port,
        username: ep.username.clone(),
        password: ep.password.clone(),
        host_key_fingerprint: Some(ep.host_key_fingerprint.clone()),
    }
}

/// Attachment `n` (1..=3900): VLAN/unit 100+n on ge-0/0/1, VRF CUST-ACME, a
/// /31 in 169.254.(20 + n/128).0/24.
fn intent(n: u16) -> AttachmentIntent {
    let (hi, lo) = (20 + n / 128, 2 * (n % 128));
    AttachmentIntent {
        connector_id: format!("conn-{n:04}"),
        interface: "ge-0/0/1".into(),
        vlan: 100 + n,
        inner_vlan: None,
        local_address: format!("169.254.{hi}.{}/31", lo + 1),
        vrf: VrfIntent {
            name: "CUST-ACME".into(),
            route_distinguisher: "65000:1001".into(),
            route_target: "target:65000:1001".into(),
        },
        neighbor: NeighborIntent {
            address: format!("169.254.{hi}.{lo}"),
            peer_as: 64512 + u32::from(n),
            local_as: 65000,
            auth_key: format!("md5-key-{n}"),
            prefix_limit: 100,
            bfd: false,
            description: format!("cloud side of conn-{n:04}"),
        },
        policer: Some(onramp_router_templates::Policer::for_mbps(100)),
    }
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn filesystem(dir: &Path) -> String {
    // The longest mount point that contains `dir`, from /proc/mounts.
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && dir.starts_with(f[1])).then(|| (f[1].len(), f[2].to_string()))
        })
        .max()
        .map(|(_, fs)| fs)
        .unwrap_or_else(|| "unknown fs".into())
}

/// (pid, ppid) of every process.
fn processes() -> Vec<(u32, u32)> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| {
                let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
                let after = &stat[stat.rfind(')')? + 2..];
                Some((pid, after.split_whitespace().nth(1)?.parse().ok()?))
            })
            .collect()
        })
        .unwrap_or_default()
}

/// The netconfd whose working directory is `dir` (the lab runs each PE's
/// netconfd there).
fn netconfd_pid(dir: &Path) -> Option<u32> {
    processes().into_iter().map(|(p, _)| p).find(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "netconfd")
            && std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|c| c == dir)
    })
}

/// User + system CPU time of a process.
fn cpu_of(pid: u32) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    let Some(close) = stat.rfind(')') else {
        return Duration::ZERO;
    };
    let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}
