//! The lab PEs' telemetry: for each netconfd PE of the dev stack and the
//! tests, an SNMPv2c agent answering what a real PE's agent answers (IF-MIB
//! unit counters, BGP4-MIB session state, accepted prefixes, DISMAN-PING-MIB
//! probe results), and a probe reflector. netconfd has no operational data,
//! so the agent makes it up the way the network would:
//!
//! - units and sessions are the ones in the PE's running configuration,
//!   read over NETCONF every `refresh`;
//! - a session is established while the CSP simulator says its far end is
//!   up (a VIF down at AWS is a session down on the PE);
//! - a unit's octet counters grow at a share (`load_percent`) of its
//!   policer's rate while its session is up;
//! - the PEs that carry a link (a `lnk-` VRF on each) probe each other over
//!   loopback once per `probe_interval`, and the round trips are measured.
//!
//! [`Knobs`] inject what a test needs: loss and delay at a PE, a session
//! drop, the traffic load.

mod csp;
mod mib;
mod pe_view;
mod probes;
mod snmp;

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use onramp_pe_netconf::PeTarget;
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use csp::Csps;

use crate::pe_view::PeView;
use crate::probes::{Results, TestResult};
use crate::snmp::{Mib, Value};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("lab agent socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("running configuration unreadable: {0}")]
    RunningConfig(String),
}

/// What a test can change at one PE's agent.
#[derive(Clone, Debug)]
pub struct KnobValues {
    /// Share of the probes reaching this PE that are lost, 0-100.
    pub loss_percent: f64,
    /// Delay added to the probes this PE reflects.
    pub added_latency: Duration,
    /// Sessions held down whatever the CSP says, by neighbor address.
    pub sessions_down: HashSet<Ipv4Addr>,
    /// Traffic on each live unit as a share of its policer's rate (in;
    /// out is half of it).
    pub load_percent: u8,
}

impl Default for KnobValues {
    fn default() -> Self {
        Self {
            loss_percent: 0.0,
            added_latency: Duration::ZERO,
            sessions_down: HashSet::new(),
            load_percent: 30,
        }
    }
}

/// One agent's knobs; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Knobs(Arc<Mutex<KnobValues>>);

impl Knobs {
    pub(crate) fn lock(&self) -> MutexGuard<'_, KnobValues> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn set_loss_percent(&self, percent: f64) {
        self.lock().loss_percent = percent;
    }

    pub fn set_added_latency(&self, delay: Duration) {
        self.lock().added_latency = delay;
    }

    /// Holds the session to `neighbor` down (`true`) or lets it follow the
    /// CSP again.
    pub fn set_session_down(&self, neighbor: Ipv4Addr, down: bool) {
        let mut k = self.lock();
        if down {
            k.sessions_down.insert(neighbor);
        } else {
            k.sessions_down.remove(&neighbor);
        }
    }

    pub fn set_load_percent(&self, percent: u8) {
        self.lock().load_percent = percent.min(100);
    }

    pub fn values(&self) -> KnobValues {
        self.lock().clone()
    }
}

/// How the lab's agents run.
#[derive(Clone, Debug)]
pub struct LabConfig {
    /// The SNMPv2c community every agent answers to.
    pub community: String,
    pub csps: Csps,
    /// How often an agent reads its PE and moves its counters.
    pub refresh: Duration,
    /// How often the PEs of a link probe each other.
    pub probe_interval: Duration,
    /// The lab's one-way path delay between PEs (each reflector waits it).
    pub path_delay: Duration,
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            community: "onramp-lab".into(),
            csps: Csps::default(),
            refresh: Duration::from_secs(1),
            probe_interval: Duration::from_secs(2),
            path_delay: Duration::from_millis(2),
        }
    }
}

/// One running agent.
#[derive(Clone, Debug)]
pub struct Agent {
    pub pe: String,
    /// Where its SNMP agent listens (UDP).
    pub snmp_addr: SocketAddr,
    /// Where it reflects probes (UDP).
    pub probe_addr: SocketAddr,
    pub knobs: Knobs,
}

/// What every agent knows of the others: where they reflect, which VRFs
/// they carry.
#[derive(Clone, Debug, Default)]
struct Peer {
    probe_addr: Option<SocketAddr>,
    vrfs: Vec<String>,
}

type Mesh = Arc<Mutex<HashMap<String, Peer>>>;

/// The agents of one lab; dropping it stops them.
pub struct Lab {
    agents: Vec<Agent>,
    tasks: Vec<JoinHandle<()>>,
}

impl Lab {
    /// One agent per PE in `pes`, each on its own loopback ports.
    pub async fn start(pes: Vec<PeTarget>, cfg: LabConfig) -> Result<Lab, Error> {
        let mesh: Mesh = Arc::default();
        let community: Arc<str> = cfg.community.clone().into();
        let mut agents = Vec::new();
        let mut tasks = Vec::new();
        for target in pes {
            let snmp = UdpSocket::bind("127.0.0.1:0").await?;
            let reflector = Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
            let agent = Agent {
                pe: target.name.clone(),
                snmp_addr: snmp.local_addr()?,
                probe_addr: reflector.local_addr()?,
                knobs: Knobs::default(),
            };
            mesh.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(
                    agent.pe.clone(),
                    Peer {
                        probe_addr: Some(agent.probe_addr),
                        vrfs: Vec::new(),
                    },
                );
            let (mib_tx, mib_rx) = watch::channel(Arc::new(Mib::new()));
            let results: Results = Arc::default();
            tasks.push(tokio::spawn(snmp::serve(snmp, community.clone(), mib_rx)));
            tasks.push(tokio::spawn(probes::reflect(
                reflector,
                agent.knobs.clone(),
                cfg.path_delay,
            )));
            tasks.push(tokio::spawn(refresh_loop(
                target,
                cfg.clone(),
                agent.knobs.clone(),
                mesh.clone(),
                results.clone(),
                mib_tx,
            )));
            tasks.push(tokio::spawn(probe_loop(
                agent.pe.clone(),
                cfg.probe_interval,
                mesh.clone(),
                results,
            )));
            tracing::info!(pe = %agent.pe, snmp = %agent.snmp_addr, probes = %agent.probe_addr, "lab PE agent started");
            agents.push(agent);
        }
        Ok(Lab { agents, tasks })
    }

    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    pub fn agent(&self, pe: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.pe == pe)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The counters and session clocks an agent keeps between reads.
struct Tracker {
    started: Instant,
    last: Instant,
    view: PeView,
    if_index: HashMap<String, u32>,
    octets: HashMap<String, (f64, f64)>,
    established: HashMap<Ipv4Addr, Instant>,
}

impl Tracker {
    fn if_index(&mut self, name: &str) -> u32 {
        let next = self.if_index.len() as u32 + 1;
        *self.if_index.entry(name.to_string()).or_insert(next)
    }
}

async fn refresh_loop(
    target: PeTarget,
    cfg: LabConfig,
    knobs: Knobs,
    mesh: Mesh,
    results: Results,
    mib: watch::Sender<Arc<Mib>>,
) {
    let now = Instant::now();
    let mut t = Tracker {
        started: now,
        last: now,
        view: PeView::default(),
        if_index: HashMap::new(),
        octets: HashMap::new(),
        established: HashMap::new(),
    };
    let mut tick = tokio::time::interval(cfg.refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // A PE that does not answer keeps its last view, as an agent keeps
        // answering while its management plane is busy.
        match onramp_pe_netconf::get_running(&target).await {
            Ok(running) => match PeView::parse(&running) {
                Ok(v) => t.view = v,
                Err(e) => tracing::warn!(pe = %target.name, error = %e, "lab agent"),
            },
            Err(e) => tracing::debug!(pe = %target.name, error = %e, "lab agent: PE not read"),
        }
        if let Some(me) = mesh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get_mut(&target.name)
        {
            me.vrfs.clone_from(&t.view.vrfs);
        }
        let built = step(&mut t, &target.name, &cfg.csps, &knobs.values(), &results);
        mib.send_replace(Arc::new(built));
    }
}

/// Moves the counters and session clocks to now and builds the MIB.
fn step(t: &mut Tracker, pe: &str, csps: &Csps, knobs: &KnobValues, results: &Results) -> Mib {
    let now = Instant::now();
    let elapsed = now.duration_since(t.last).as_secs_f64();
    t.last = now;
    let mut up = HashSet::new();
    for n in &t.view.neighbors {
        if !knobs.sessions_down.contains(&n.address) && csps.far_end_up(n.address) {
            up.insert(n.address);
            t.established.entry(n.address).or_insert(now);
        } else {
            t.established.remove(&n.address);
        }
    }
    let mut mib = Mib::new();
    mib.insert(
        mib::SYS_DESCR.to_vec(),
        Value::String("onramp lab PE (reference-pe on netconfd)".into()),
    );
    mib.insert(
        mib::SYS_UPTIME.to_vec(),
        Value::TimeTicks(
            u32::try_from(now.duration_since(t.started).as_millis() / 10).unwrap_or(u32::MAX),
        ),
    );
    mib.insert(mib::SYS_NAME.to_vec(), Value::String(pe.to_string()));
    let units = t.view.units.clone();
    for u in &units {
        let live = t
            .view
            .neighbors
            .iter()
            .filter(|n| up.contains(&n.address))
            .any(|n| t.view.unit_towards(n.address).map(|x| &x.if_name) == Some(&u.if_name));
        let bps = u.bandwidth_bps.unwrap_or(100_000_000) as f64;
        let share = f64::from(knobs.load_percent) / 100.0;
        let c = t.octets.entry(u.if_name.clone()).or_default();
        if live {
            c.0 += bps * share * elapsed / 8.0;
            c.1 += bps * share / 2.0 * elapsed / 8.0;
        }
        let (in_octets, out_octets) = (c.0 as u64, c.1 as u64);
        let if_index = t.if_index(&u.if_name);
        mib::interface(
            &mut mib,
            &mib::IfRow {
                if_index,
                name: &u.if_name,
                alias: &u.description,
                in_octets,
                out_octets,
                speed_mbps: u32::try_from(bps as u64 / 1_000_000).unwrap_or(u32::MAX),
            },
        );
    }
    for n in &t.view.neighbors {
        let since = t.established.get(&n.address);
        mib::bgp_peer(
            &mut mib,
            &mib::PeerRow {
                address: n.address,
                state: if since.is_some() {
                    mib::BGP_ESTABLISHED
                } else {
                    mib::BGP_ACTIVE
                },
                remote_as: n.peer_as,
                established_secs: since.map_or(0, |s| {
                    u32::try_from(now.duration_since(*s).as_secs()).unwrap_or(u32::MAX)
                }),
                // A few routes from the cloud, within the session's limit.
                accepted_prefixes: if since.is_some() {
                    (2 + u32::from(n.address.octets()[3]) % 5)
                        .min(n.prefix_limit.unwrap_or(u32::MAX))
                } else {
                    0
                },
            },
        );
    }
    let results = results
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    for ((far, vrf), r) in &results {
        mib::ping_results(
            &mut mib,
            &mib::PingRow {
                owner: far,
                test: vrf,
                min_rtt_ms: r.min_ms(),
                max_rtt_ms: r.max_ms(),
                average_rtt_ms: r.average_ms(),
                responses: r.rtts.len() as u32,
                sent: r.sent,
                rtt_sum_of_squares: r.sum_of_squares(),
            },
        );
    }
    mib
}

/// Link VRFs, the ones whose PEs probe each other.
fn is_link_vrf(vrf: &str) -> bool {
    vrf.starts_with("lnk-")
}

async fn probe_loop(pe: String, interval: Duration, mesh: Mesh, results: Results) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let peers = mesh
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let Some(mine) = peers.get(&pe) else {
            continue;
        };
        let mut tests = Vec::new();
        for (far, peer) in &peers {
            if *far == pe {
                continue;
            }
            let Some(addr) = peer.probe_addr else {
                continue;
            };
            for vrf in mine.vrfs.iter().filter(|v| is_link_vrf(v)) {
                if peer.vrfs.contains(vrf) {
                    tests.push((far.clone(), vrf.clone(), addr));
                }
            }
        }
        let mut done: HashMap<(String, String), TestResult> = HashMap::new();
        for (far, vrf, addr) in tests {
            match probes::run_test(addr).await {
                Ok(r) => {
                    done.insert((far, vrf), r);
                }
                Err(e) => tracing::debug!(%pe, %far, error = %e, "probe test"),
            }
        }
        // Tests of links that are gone disappear with them.
        *results
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = done;
    }
}
