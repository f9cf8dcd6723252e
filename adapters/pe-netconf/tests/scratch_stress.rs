use onramp_devstack::pe::{PeLab, PeLabConfig};
use onramp_pe_netconf::{ApplyOptions, PeTarget, get_running_with};
use std::time::{Duration, Instant};

async fn stress() {
    let work = tempfile::tempdir().unwrap();
    let lab = PeLab::start(PeLabConfig::new(&["pe1"], concat!(env!("CARGO_MANIFEST_DIR"), "/../../router-templates/reference-pe/yang"), work.path())).unwrap();
    let ep = &lab.endpoints()[0];
    let t = PeTarget { name: ep.name.clone(), host: ep.host.clone(), port: ep.port, username: ep.username.clone(), password: ep.password.clone(), host_key_fingerprint: Some(ep.host_key_fingerprint.clone()) };
    let opts = ApplyOptions { rpc_timeout: Duration::from_secs(3), ..Default::default() };
    let mut fails = 0;
    let mut max = Duration::ZERO;
    for i in 0..40 {
        let s = Instant::now();
        if let Err(e) = get_running_with(&t, &opts).await { fails += 1; println!("{i}: {e}"); }
        max = max.max(s.elapsed());
    }
    println!("fails: {fails}/40 max {max:?}");
    assert_eq!(fails, 0);
}
#[tokio::test]
async fn s0() { stress().await }
#[tokio::test]
async fn s1() { stress().await }
#[tokio::test]
async fn s2() { stress().await }
#[tokio::test]
async fn s3() { stress().await }
#[tokio::test]
async fn s4() { stress().await }
#[tokio::test]
async fn s5() { stress().await }
