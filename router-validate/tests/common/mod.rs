//! Shared fixtures: the reference PE platform, the golden intents of
//! router-templates, and running configurations shaped like the one
//! `onramp_pe_netconf::get_running` returns (the children of `<data>`).

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};

use onramp_router_templates::{AttachmentIntent, NeighborIntent, Platform, VrfIntent};

pub(crate) fn templates_root() -> PathBuf {
    onramp_router_templates::default_templates_root()
}

pub(crate) fn reference_pe() -> Platform {
    Platform::load(&templates_root(), "reference-pe").unwrap()
}

pub(crate) fn golden_dir(platform: &str) -> PathBuf {
    templates_root().join("tests/golden").join(platform)
}

pub(crate) fn golden(name: &str) -> String {
    std::fs::read_to_string(golden_dir("reference-pe").join(name)).unwrap()
}

/// The intent the golden `attachment-create.xml` was rendered from.
pub(crate) fn intent() -> AttachmentIntent {
    AttachmentIntent {
        connector_id: "conn-0001".into(),
        interface: "ge-0/0/1".into(),
        vlan: 100,
        inner_vlan: None,
        local_address: "169.254.10.1/31".into(),
        vrf: VrfIntent {
            name: "CUST-ACME".into(),
            route_distinguisher: "65000:1001".into(),
            route_target: "target:65000:1001".into(),
        },
        neighbor: NeighborIntent {
            address: "169.254.10.0".into(),
            peer_as: 64512,
            local_as: 65000,
            auth_key: "golden-md5-key".into(),
            prefix_limit: 100,
            bfd: false,
            description: "aws dxvif-0001".into(),
        },
        policer: Some(onramp_router_templates::Policer::for_mbps(100)),
    }
}

/// A reference-pe unit, as running shows it.
pub(crate) fn unit_xml(
    interface: &str,
    id: u32,
    vlan: u16,
    inner: Option<u16>,
    address: &str,
    description: &str,
) -> String {
    let inner = inner
        .map(|i| format!("<inner-vlan-id>{i}</inner-vlan-id>"))
        .unwrap_or_default();
    format!(
        "<interface><name>{interface}</name><unit><id>{id}</id>\
         <description>{description}</description><vlan-id>{vlan}</vlan-id>{inner}\
         <family><inet><address>{address}</address></inet></family></unit></interface>"
    )
}

/// A reference-pe VRF with neighbors (address, description), as running
/// shows it.
pub(crate) fn vrf_xml(name: &str, rd: &str, rt: &str, neighbors: &[(&str, &str)]) -> String {
    let neighbors: String = neighbors
        .iter()
        .map(|(addr, desc)| {
            format!(
                "<neighbor><address>{addr}</address><description>{desc}</description>\
                 <peer-as>64512</peer-as><local-as>65000</local-as>\
                 <authentication-key>k</authentication-key><prefix-limit>100</prefix-limit>\
                 </neighbor>"
            )
        })
        .collect();
    format!(
        "<instance><name>{name}</name><route-distinguisher>{rd}</route-distinguisher>\
         <vrf-target><import>{rt}</import><export>{rt}</export></vrf-target>\
         <protocols><bgp>{neighbors}</bgp></protocols></instance>"
    )
}

/// The content of running's `<data>`: the reference-pe containers.
pub(crate) fn running(interfaces: &[String], vrfs: &[String]) -> String {
    format!(
        "<interfaces xmlns=\"urn:onramp:yang:onramp-pe\">{}</interfaces>\
         <routing-instances xmlns=\"urn:onramp:yang:onramp-pe\">{}</routing-instances>",
        interfaces.concat(),
        vrfs.concat()
    )
}

pub(crate) fn yang_dir() -> PathBuf {
    reference_pe().yang_dir().unwrap().to_path_buf()
}

/// A copy of the reference-pe platform folder under `dir/name`, with its
/// create template replaced by `create_template` when given: how a template
/// bug reaches the validator.
pub(crate) fn copy_platform(dir: &Path, name: &str, create_template: Option<&str>) -> PathBuf {
    let src = templates_root().join("reference-pe");
    let dst = dir.join(name);
    std::fs::create_dir_all(dst.join("yang")).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
        }
    }
    for entry in std::fs::read_dir(src.join("yang")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join("yang").join(entry.file_name())).unwrap();
    }
    let def = std::fs::read_to_string(dst.join("platform.json"))
        .unwrap()
        .replace(
            "\"name\": \"reference-pe\"",
            &format!("\"name\": \"{name}\""),
        );
    std::fs::write(dst.join("platform.json"), def).unwrap();
    if let Some(t) = create_template {
        std::fs::write(dst.join("attachment-create.xml.j2"), t).unwrap();
    }
    dir.to_path_buf()
}
