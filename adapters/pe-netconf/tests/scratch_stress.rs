use rustnetconf::{Client, Datastore};
use rustnetconf::transport::ssh::HostKeyVerification;
use std::time::{Duration, Instant};

async fn stress() {
    let port: u16 = std::env::var("P").unwrap().parse().unwrap();
    let fp = std::env::var("FP").unwrap();
    let n: usize = std::env::var("N").unwrap_or("100".into()).parse().unwrap();
    let mut fails = 0;
    for i in 0..n {
        let s = Instant::now();
        let mut c = Client::connect(&format!("127.0.0.1:{port}")).username("onramp-pe").password("onramp-pe-lab")
            .host_key_verification(HostKeyVerification::Fingerprint(fp.clone())).gather_facts(false).rpc_timeout(Duration::from_secs(3)).connect().await.unwrap();
        let r = c.lock(Datastore::Candidate).await;
        if let Err(e) = &r { fails += 1; println!("{i}: lock {e} after {:?} caps-session {:?}", s.elapsed(), c.capabilities().and_then(|c| c.session_id())); }
        let _ = c.unlock(Datastore::Candidate).await;
        let _ = c.close_session().await;
    }
    println!("fails: {fails}/{n}");
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
