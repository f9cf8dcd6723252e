use onramp_devstack::pe::{PeLab, PeLabConfig};
use rustnetconf::{Client, Datastore, DefaultOperation};
use rustnetconf::transport::ssh::HostKeyVerification;

const NS: &str = "urn:onramp:yang:onramp-pe";

async fn show(c: &mut Client, what: &str) {
    let r = c.get_config(Datastore::Running).await;
    println!("--- running after {what}: {r:?}");
}

#[tokio::test]
async fn scratch() {
    let work = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let lab = PeLab::start(PeLabConfig::new(&["pe1"], concat!(env!("CARGO_MANIFEST_DIR"), "/../../router-templates/reference-pe/yang"), work.path())).unwrap();
    println!("lab up in {:?}", t.elapsed());
    let ep = &lab.endpoints()[0];
    let mut c = Client::connect(&format!("{}:{}", ep.host, ep.port)).username(&ep.username).password(&ep.password)
        .host_key_verification(HostKeyVerification::Fingerprint(ep.host_key_fingerprint.clone())).gather_facts(false).connect().await.unwrap();
    println!("caps: {:?}", c.capabilities());
    c.lock(Datastore::Candidate).await.unwrap();
    let create = format!(r#"<interfaces xmlns="{NS}"><interface><name>ge-0/0/1</name><unit><id>100</id><vlan-id>100</vlan-id><family><inet><address>169.254.10.1/31</address></inet></family></unit></interface></interfaces>
<routing-instances xmlns="{NS}"><instance><name>CUST-A</name><route-distinguisher>65000:1</route-distinguisher><vrf-target><import>target:65000:1</import><export>target:65000:1</export></vrf-target><interface><name>ge-0/0/1</name><unit>100</unit></interface>
<protocols><bgp><neighbor><address>169.254.10.0</address><peer-as>64512</peer-as><local-as>65000</local-as><authentication-key>s3cr3t</authentication-key><prefix-limit>100</prefix-limit></neighbor></bgp></protocols></instance></routing-instances>"#);
    let r = c.edit_config(Datastore::Candidate).config(&create).default_operation(DefaultOperation::Merge).send().await;
    println!("edit: {r:?}");
    let r = c.confirmed_commit(60).await; println!("confirmed commit: {r:?}");
    show(&mut c, "confirmed").await;
    let r = c.commit().await; println!("confirming: {r:?}");
    // bad vlan
    let bad = format!(r#"<interfaces xmlns="{NS}"><interface><name>ge-0/0/1</name><unit><id>101</id><vlan-id>5000</vlan-id></unit></interface></interfaces>"#);
    let r = c.edit_config(Datastore::Candidate).config(&bad).default_operation(DefaultOperation::Merge).send().await;
    println!("bad edit: {r:#?}");
    c.discard_changes().await.unwrap();
    // membership leafref to missing unit
    let dangling = format!(r#"<routing-instances xmlns="{NS}"><instance><name>CUST-A</name><interface><name>ge-0/0/1</name><unit>999</unit></interface></instance></routing-instances>"#);
    let r = c.edit_config(Datastore::Candidate).config(&dangling).default_operation(DefaultOperation::Merge).send().await;
    println!("dangling edit: {r:?}");
    let r = c.commit().await; println!("dangling commit: {r:#?}");
    c.discard_changes().await.unwrap();
    // vrf without rd
    let nord = format!(r#"<routing-instances xmlns="{NS}"><instance><name>CUST-B</name></instance></routing-instances>"#);
    let r = c.edit_config(Datastore::Candidate).config(&nord).default_operation(DefaultOperation::Merge).send().await;
    println!("nord edit: {r:?}");
    let r = c.commit().await; println!("nord commit: {r:#?}");
    c.discard_changes().await.unwrap();
    // delete with default none, remove of missing + existing
    let del = format!(r#"<interfaces xmlns="{NS}" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><interface><name>ge-0/0/1</name><unit nc:operation="remove"><id>100</id></unit><unit nc:operation="remove"><id>555</id></unit></interface></interfaces>
<routing-instances xmlns="{NS}" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><instance><name>CUST-A</name><interface nc:operation="remove"><name>ge-0/0/1</name><unit>100</unit></interface><protocols><bgp><neighbor nc:operation="remove"><address>169.254.10.0</address></neighbor></bgp></protocols></instance></routing-instances>"#);
    let r = c.edit_config(Datastore::Candidate).config(&del).default_operation(DefaultOperation::None).send().await;
    println!("del none edit: {r:?}");
    let r = c.confirmed_commit(60).await; println!("del confirmed commit: {r:?}");
    show(&mut c, "del confirmed").await;
    let r = c.cancel_commit(None).await; println!("cancel: {r:?}");
    show(&mut c, "cancel").await;
    let r = c.get_config(Datastore::Candidate).await; println!("candidate after cancel: {r:?}");
    c.discard_changes().await.unwrap();
    // delete under missing parent with none
    let del2 = format!(r#"<interfaces xmlns="{NS}" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0"><interface><name>ge-0/0/7</name><unit nc:operation="remove"><id>100</id></unit></interface></interfaces>"#);
    let r = c.edit_config(Datastore::Candidate).config(&del2).default_operation(DefaultOperation::None).send().await;
    println!("del2 none edit missing parent: {r:?}");
    let r = c.get_config(Datastore::Candidate).await; println!("candidate after del2: {r:?}");
    c.discard_changes().await.unwrap();
    // lock from a second session
    let mut c2 = Client::connect(&format!("{}:{}", ep.host, ep.port)).username(&ep.username).password(&ep.password)
        .host_key_verification(HostKeyVerification::Fingerprint(ep.host_key_fingerprint.clone())).gather_facts(false).connect().await.unwrap();
    let r = c2.lock(Datastore::Candidate).await; println!("second lock: {r:#?}");
    let t = std::time::Instant::now();
    for _ in 0..20 { let _ = c.get_config(Datastore::Running).await.unwrap(); }
    println!("20 get-config: {:?}", t.elapsed());
    c.unlock(Datastore::Candidate).await.unwrap();
    let _ = c.close_session().await;
}
