use std::time::{Duration, Instant};
use onramp_devstack::pe::{PeLab, PeLabConfig};
use onramp_router_templates::{Platform, default_templates_root, AttachmentIntent, NeighborIntent, VrfIntent, Operation};
use rustnetconf::transport::ssh::HostKeyVerification;
use rustnetconf::{Client, Datastore};

fn intent(n: u16) -> AttachmentIntent {
    AttachmentIntent {
        connector_id: format!("conn-{n:04}"),
        interface: "ge-0/0/1".into(),
        vlan: 100 + n,
        inner_vlan: None,
        local_address: format!("169.254.10.{}/31", 2 * n + 1),
        vrf: VrfIntent { name: "CUST-ACME".into(), route_distinguisher: "65000:1001".into(), route_target: "target:65000:1001".into() },
        neighbor: NeighborIntent { address: format!("169.254.10.{}", 2 * n), peer_as: 64512 + u32::from(n), local_as: 65000, auth_key: format!("md5-key-{n}"), prefix_limit: 100, description: format!("c{n}") },
    }
}

#[tokio::test]
async fn probe_rpc_latency() {
    let platform = Platform::load(&default_templates_root(), "reference-pe").unwrap();
    let work = tempfile::tempdir().unwrap();
    let lab = PeLab::start(PeLabConfig::new(&["pe1"], platform.yang_dir().unwrap(), work.path())).unwrap();
    let ep = lab.endpoint("pe1").unwrap();
    let mut c = Client::connect(&format!("{}:{}", ep.host, ep.port)).username(&ep.username).password(&ep.password)
        .host_key_verification(HostKeyVerification::Fingerprint(ep.host_key_fingerprint.clone()))
        .gather_facts(false).rpc_timeout(Duration::from_secs(5)).connect().await.unwrap();
    loop { if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(200), c.get(Some(""))).await { break; } }
    let cpu0 = cpu();
    let wall0 = Instant::now();
    let mut t = [Duration::ZERO; 8];
    let n = 100u16;
    for i in 1..=n {
        let r = platform.render(Operation::Create, &intent(i)).unwrap();
        let s = Instant::now(); c.lock(Datastore::Candidate).await.unwrap(); t[0] += s.elapsed();
        let s = Instant::now(); c.discard_changes().await.unwrap(); t[1] += s.elapsed();
        let s = Instant::now(); c.edit_config(Datastore::Candidate).config(&r.config_xml).send().await.unwrap(); t[2] += s.elapsed();
        let s = Instant::now(); c.confirmed_commit(120).await.unwrap(); t[3] += s.elapsed();
        let s = Instant::now(); let run = c.get_config_filtered(Datastore::Running, &r.running_filter().unwrap()).await.unwrap(); t[4] += s.elapsed();
        r.verify(&run).unwrap();
        let s = Instant::now(); c.confirming_commit().await.unwrap(); t[5] += s.elapsed();
        let s = Instant::now(); c.unlock(Datastore::Candidate).await.unwrap(); t[6] += s.elapsed();
        let s = Instant::now(); c.get(Some("")).await.unwrap(); t[7] += s.elapsed();
        if i % 20 == 0 || i <= 3 { println!("{i}: {:?}", t.iter().map(|d| *d / u32::from(i)).collect::<Vec<_>>()); }
    }
    let cpu1 = cpu();
    println!("wall {:?}", wall0.elapsed());
    for (k, v) in &cpu1 { println!("cpu {k}: {} ticks", v - cpu0.get(k).copied().unwrap_or(0)); }
    let names = ["lock","discard","edit","commit-confirmed","get-config","confirming","unlock","get-empty"];
    for (k, d) in names.iter().zip(t) { println!("{k}: {:?}", d / u32::from(n)); }
    let _ = c.close_session().await;
    let nc = std::fs::read_dir(work.path().join("pe1/yuma/data")).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    println!("{nc:?}");
}

fn cpu() -> std::collections::BTreeMap<String, u64> {
    let mut m = std::collections::BTreeMap::new();
    for e in std::fs::read_dir("/proc").unwrap() {
        let e = e.unwrap();
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        let l = stat.find('(').unwrap(); let r = stat.rfind(')').unwrap();
        let comm = stat[l+1..r].to_string();
        let f: Vec<&str> = stat[r+2..].split_whitespace().collect();
        let t: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
        *m.entry(comm).or_insert(0) += t;
    }
    m
}
