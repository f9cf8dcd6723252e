//! What validation adds to each attachment push on the reference PE:
//! render (Create) + semantic check against a PE that already carries ~500
//! units + YANG validation, per attachment. Prints mean and p99 in µs.
//!
//! `cargo bench -p onramp-router-validate` (a plain binary: no harness, so
//! the figures print as they are measured).

use std::hint::black_box;
use std::time::{Duration, Instant};

use onramp_router_templates::{AttachmentIntent, NeighborIntent, Operation, Platform, VrfIntent};
use onramp_router_validate::{PeFacts, YangValidator, check};

const EXISTING_UNITS: usize = 500;
const ATTACHMENTS: usize = 2000;
const WARMUP: usize = 200;

/// Running config of a busy PE: 500 units over 10 ports, 50 VRFs, one BGP
/// neighbor per unit, all in 169.254.0.0/22.
fn busy_running() -> String {
    let mut ifs = String::new();
    for port in 0..10 {
        ifs.push_str(&format!("<interface><name>ge-0/0/{port}</name>"));
        for k in 0..EXISTING_UNITS / 10 {
            let n = port * (EXISTING_UNITS / 10) + k;
            let vlan = 100 + k;
            ifs.push_str(&format!(
                "<unit><id>{vlan}</id><description>onramp conn-e{n:04}</description>\
                 <vlan-id>{vlan}</vlan-id><family><inet><address>169.254.{}.{}/31</address>\
                 </inet></family></unit>",
                n / 128,
                (n % 128) * 2 + 1
            ));
        }
        ifs.push_str("</interface>");
    }
    let mut vrfs = String::new();
    for v in 0..50 {
        vrfs.push_str(&format!(
            "<instance><name>CUST-{v:03}</name><route-distinguisher>65000:{}</route-distinguisher>\
             <vrf-target><import>target:65000:{0}</import><export>target:65000:{0}</export></vrf-target>",
            5000 + v
        ));
        let mut bgp = String::new();
        for n in (v..EXISTING_UNITS).step_by(50) {
            let (port, k) = (n / (EXISTING_UNITS / 10), n % (EXISTING_UNITS / 10));
            vrfs.push_str(&format!(
                "<interface><name>ge-0/0/{port}</name><unit>{}</unit></interface>",
                100 + k
            ));
            bgp.push_str(&format!(
                "<neighbor><address>169.254.{}.{}</address><description>onramp conn-e{n:04}: x</description>\
                 <peer-as>64512</peer-as><local-as>65000</local-as></neighbor>",
                n / 128,
                (n % 128) * 2
            ));
        }
        vrfs.push_str(&format!(
            "<protocols><bgp>{bgp}</bgp></protocols></instance>"
        ));
    }
    format!(
        "<interfaces xmlns=\"urn:onramp:yang:onramp-pe\">{ifs}</interfaces>\
         <routing-instances xmlns=\"urn:onramp:yang:onramp-pe\">{vrfs}</routing-instances>"
    )
}

/// New attachments that clash with nothing: their own port, VLANs and
/// subnets in 169.254.64.0/18.
fn intent(i: usize) -> AttachmentIntent {
    let vrf = i % 50;
    AttachmentIntent {
        connector_id: format!("conn-{i:05}"),
        interface: format!("xe-1/0/{}", i / 4000),
        vlan: 1 + (i % 4000) as u16,
        inner_vlan: i.is_multiple_of(3).then_some(2000 + (i % 1000) as u16),
        local_address: format!("169.254.{}.{}/31", 64 + i / 128, (i % 128) * 2 + 1),
        vrf: VrfIntent {
            name: format!("CUST-{vrf:03}"),
            route_distinguisher: format!("65000:{}", 5000 + vrf),
            route_target: format!("target:65000:{}", 5000 + vrf),
        },
        neighbor: NeighborIntent {
            address: format!("169.254.{}.{}", 64 + i / 128, (i % 128) * 2),
            peer_as: 64512 + (i % 400) as u32,
            local_as: 65000,
            auth_key: format!("bench-key-{i}"),
            prefix_limit: 100,
            bfd: false,
            description: "bench".into(),
        },
        policer: Some(onramp_router_templates::Policer::for_mbps(100)),
    }
}

struct Figures(Vec<Duration>);

impl Figures {
    fn line(&self, what: &str) -> String {
        let mut us: Vec<f64> = self.0.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let mean = us.iter().sum::<f64>() / us.len() as f64;
        let p50 = us[us.len() / 2];
        let p99 = us[(us.len() * 99 / 100).min(us.len() - 1)];
        format!("{what:<10} mean {mean:>8.1} µs   p50 {p50:>8.1} µs   p99 {p99:>8.1} µs")
    }
}

fn main() {
    let platform = Platform::load(
        &onramp_router_templates::default_templates_root(),
        "reference-pe",
    )
    .expect("reference-pe platform");

    let t = Instant::now();
    let yang = YangValidator::for_platform(&platform).expect("reference-pe YANG");
    let load = t.elapsed();

    let running = busy_running();
    let t = Instant::now();
    let facts = PeFacts::from_running(&platform, &running).expect("facts");
    let parse = t.elapsed();
    assert_eq!(facts.units.len(), EXISTING_UNITS);

    let (mut render, mut semantic, mut schema, mut total) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..WARMUP + ATTACHMENTS {
        let intent = intent(i);
        let t0 = Instant::now();
        let rendered = platform.render(Operation::Create, &intent).expect("render");
        let t1 = Instant::now();
        check(Operation::Create, &intent, &facts).expect("no clash by construction");
        let t2 = Instant::now();
        yang.validate_rendered(Operation::Create, black_box(&rendered))
            .expect("valid by construction");
        let t3 = Instant::now();
        if i >= WARMUP {
            render.push(t1 - t0);
            semantic.push(t2 - t1);
            schema.push(t3 - t2);
            total.push(t3 - t0);
        }
    }

    // The refused path: a template bug costs one parse per leaf.
    let bad = platform
        .render(Operation::Create, &intent(1))
        .expect("render")
        .config_xml
        .replace(
            "<prefix-limit>100</prefix-limit>",
            "<prefix-limit>0</prefix-limit>",
        );
    let mut refused = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        let errors = yang
            .validate(Operation::Create, black_box(&bad))
            .unwrap_err();
        refused.push(t.elapsed());
        assert_eq!(errors.len(), 1);
    }

    println!(
        "reference-pe, Create, {ATTACHMENTS} attachments against a PE carrying {} units, {} VRFs, {} BGP neighbors",
        facts.units.len(),
        facts.vrfs.len(),
        facts.neighbors.len()
    );
    println!(
        "one-off: YANG context load {:.1} ms, facts from running ({} KiB) {:.2} ms",
        load.as_secs_f64() * 1e3,
        running.len() / 1024,
        parse.as_secs_f64() * 1e3
    );
    println!("per attachment:");
    println!("  {}", Figures(render).line("render"));
    println!("  {}", Figures(semantic).line("semantic"));
    println!("  {}", Figures(schema).line("yang"));
    println!("  {}", Figures(total).line("total"));
    println!("refused payload (YANG, every leaf judged on its own):");
    println!("  {}", Figures(refused).line("yang"));
}
