//! The lab agents, read the way production reads real PEs: by Debian's
//! prometheus-snmp-exporter with onramp's module (`telemetry/snmp.yml`),
//! over SNMPv2c. Two netconfd PEs carry one attachment each in the same
//! link VRF; the exporter must turn what the agents answer into the series
//! onramp's queries use, and the knobs must show in them.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use onramp_devstack::pe::{PeLab, PeLabConfig};
use onramp_devstack::telemetry::SnmpExporter;
use onramp_lab_agent::{Lab, LabConfig};
use onramp_pe_netconf::PeTarget;
use onramp_router_templates::{
    AttachmentIntent, NeighborIntent, Operation, Platform, Policer, VrfIntent,
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn target(lab: &PeLab, name: &str) -> PeTarget {
    let e = lab.endpoint(name).expect("PE exists");
    PeTarget {
        name: e.name.clone(),
        host: e.host.clone(),
        port: e.port,
        username: e.username.clone(),
        password: e.password.clone(),
        host_key_fingerprint: Some(e.host_key_fingerprint.clone()),
    }
}

fn attachment(vlan: u16, local: &str, neighbor: &str) -> AttachmentIntent {
    AttachmentIntent {
        connector_id: format!("conn-{vlan}"),
        interface: "ge-0/0/1".into(),
        vlan,
        inner_vlan: None,
        local_address: local.into(),
        vrf: VrfIntent {
            name: "lnk-0001".into(),
            route_distinguisher: "65000:1".into(),
            route_target: "target:65000:1".into(),
        },
        neighbor: NeighborIntent {
            address: neighbor.into(),
            peer_as: 64512,
            local_as: 65000,
            auth_key: "lab-key".into(),
            prefix_limit: 100,
            bfd: false,
            description: format!("onramp conn-{vlan}"),
        },
        policer: Some(Policer::for_mbps(200)),
    }
}

/// The exporter's answer for one agent, as Prometheus text.
async fn scrape(exporter: &SnmpExporter, agent: std::net::SocketAddr) -> Result<String> {
    let url = format!(
        "http://{}/snmp?module=onramp_pe&target={agent}",
        exporter.address()
    );
    let r = reqwest::get(&url).await?;
    let status = r.status();
    let body = r.text().await?;
    if !status.is_success() {
        bail!("{url}: {status}: {body}");
    }
    Ok(body)
}

/// The value of the first sample of `metric` whose labels contain every
/// `label="value"` pair given.
fn sample(text: &str, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Scrapes until `pred` holds for the text, or fails with the last one.
async fn until(
    exporter: &SnmpExporter,
    agent: std::net::SocketAddr,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = scrape(exporter, agent).await?;
        if pred(&text) {
            return Ok(text);
        }
        if Instant::now() > deadline {
            bail!("{what}: not seen within 30 s; last scrape:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_exporter_reads_counters_sessions_and_probes_and_the_knobs_show() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let templates = repo().join("router-templates");
    let pes = PeLab::start(PeLabConfig::new(
        &["pe1", "pe2"],
        templates.join("reference-pe").join("yang"),
        dir.path().join("pes"),
    ))?;
    let platform = Platform::load(&templates, "reference-pe")?;
    let quirks = platform.quirks().clone();
    for (pe, intent) in [
        ("pe1", attachment(200, "169.254.20.1/30", "169.254.20.2")),
        ("pe2", attachment(300, "169.254.30.1/30", "169.254.30.2")),
    ] {
        let change = platform.render(Operation::Create, &intent)?;
        onramp_pe_netconf::apply(&target(&pes, pe), &quirks, &change)
            .await
            .with_context(|| format!("configuring {pe}"))?;
    }
    let lab = Lab::start(
        vec![target(&pes, "pe1"), target(&pes, "pe2")],
        LabConfig {
            refresh: Duration::from_millis(300),
            probe_interval: Duration::from_millis(500),
            ..LabConfig::default()
        },
    )
    .await?;
    let exporter = SnmpExporter::start(dir.path(), &repo().join("telemetry").join("snmp.yml"))?;
    let pe1 = lab.agent("pe1").expect("agent").clone();

    // The unit's counters grow, its session is established with a few
    // routes, and pe1 measures its probes to pe2 on the link's VRF.
    let unit = [("ifName", "ge-0/0/1.200"), ("ifAlias", "onramp conn-200")];
    let session = [("bgpPeerRemoteAddr", "169.254.20.2")];
    let probe = [
        ("pingCtlOwnerIndex", "pe2"),
        ("pingCtlTestName", "lnk-0001"),
    ];
    let first = until(&exporter, pe1.snmp_addr, "a live unit and session", |t| {
        sample(t, "ifHCInOctets", &unit).is_some_and(|v| v > 0.0)
            && sample(t, "bgpPeerState", &session) == Some(6.0)
            && sample(t, "pingResultsSentProbes", &probe) == Some(10.0)
    })
    .await?;
    assert_eq!(
        sample(&first, "ifHighSpeed", &[("ifName", "ge-0/0/1.200")]),
        Some(200.0)
    );
    let accepted = sample(&first, "cbgpPeerAcceptedPrefixes", &session).unwrap_or(0.0);
    assert!((1.0..=100.0).contains(&accepted), "{first}");
    let rtt = sample(&first, "pingResultsAverageRtt", &probe).unwrap_or(0.0);
    assert!(rtt >= 4.0, "two 2 ms path delays at least: {rtt}\n{first}");
    let before = sample(&first, "ifHCInOctets", &unit).unwrap();
    until(&exporter, pe1.snmp_addr, "the counter moving", |t| {
        sample(t, "ifHCInOctets", &unit).is_some_and(|v| v > before)
    })
    .await?;

    // Knobs: loss and delay at pe2 show on pe1's probes; a session held
    // down is down, and its unit's counters stop.
    let pe2 = lab.agent("pe2").expect("agent");
    pe2.knobs.set_loss_percent(100.0);
    until(&exporter, pe1.snmp_addr, "all probes lost", |t| {
        sample(t, "pingResultsProbeResponses", &probe) == Some(0.0)
    })
    .await?;
    pe2.knobs.set_loss_percent(0.0);
    pe2.knobs.set_added_latency(Duration::from_millis(40));
    until(&exporter, pe1.snmp_addr, "the added delay", |t| {
        sample(t, "pingResultsAverageRtt", &probe).is_some_and(|v| v >= 40.0)
            && sample(t, "pingResultsProbeResponses", &probe) == Some(10.0)
    })
    .await?;
    pe1.knobs.set_session_down("169.254.20.2".parse()?, true);
    let down = until(&exporter, pe1.snmp_addr, "the session down", |t| {
        sample(t, "bgpPeerState", &session) == Some(3.0)
    })
    .await?;
    assert_eq!(
        sample(&down, "cbgpPeerAcceptedPrefixes", &session),
        Some(0.0)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn another_community_gets_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let lab = Lab::start(Vec::new(), LabConfig::default()).await?;
    assert!(lab.agents().is_empty());
    // An agent for a PE that is not there still answers its system group.
    let pes = PeLab::start(PeLabConfig::new(
        &["pe1"],
        repo()
            .join("router-templates")
            .join("reference-pe")
            .join("yang"),
        dir.path().join("pes"),
    ))?;
    let lab = Lab::start(
        vec![target(&pes, "pe1")],
        LabConfig {
            community: "not-the-module-s".into(),
            ..LabConfig::default()
        },
    )
    .await?;
    let exporter = SnmpExporter::start(dir.path(), &repo().join("telemetry").join("snmp.yml"))?;
    let url = format!(
        "http://{}/snmp?module=onramp_pe&target={}",
        exporter.address(),
        lab.agents()[0].snmp_addr
    );
    let r = reqwest::get(&url).await?;
    assert!(!r.status().is_success(), "answered to the wrong community");
    Ok(())
}
