//! Golden files pin every template's output (payload and derived
//! expectations) for fixed intents. A change to a template shows up as a diff
//! here; `ONRAMP_UPDATE_GOLDEN=1 cargo test -p onramp-router-templates`
//! rewrites the files, to be reviewed like code.

use std::path::{Path, PathBuf};

use onramp_router_templates::{
    AttachmentIntent, NeighborIntent, Operation, Platform, Rendered, VrfIntent,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden_dir() -> PathBuf {
    root().join("tests/golden")
}

fn intent() -> AttachmentIntent {
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
        policer: Some(onramp_router_templates::Policer::for_mbps(50)),
    }
}

fn qinq_intent() -> AttachmentIntent {
    AttachmentIntent {
        connector_id: "conn-0002".into(),
        vlan: 200,
        inner_vlan: Some(3001),
        local_address: "169.254.20.1/30".into(),
        neighbor: NeighborIntent {
            address: "169.254.20.2".into(),
            description: "customer site, QinQ".into(),
            ..intent().neighbor
        },
        ..intent()
    }
}

/// A live attachment changed: BFD on, another prefix limit, the
/// customer's label, a higher rate (the same merge as a create).
fn changed_intent() -> AttachmentIntent {
    AttachmentIntent {
        neighbor: NeighborIntent {
            prefix_limit: 250,
            bfd: true,
            description: "onramp conn-0001 aws 123456789012 (prod eu-west-1)".into(),
            ..intent().neighbor
        },
        policer: Some(onramp_router_templates::Policer::for_mbps(500)),
        ..intent()
    }
}

/// (golden file stem, operation, intent)
fn cases() -> Vec<(&'static str, Operation, AttachmentIntent)> {
    vec![
        ("attachment-create", Operation::Create, intent()),
        ("attachment-delete", Operation::Delete, intent()),
        ("attachment-detach", Operation::Detach, intent()),
        ("attachment-create-qinq", Operation::Create, qinq_intent()),
        ("attachment-change-bfd", Operation::Create, changed_intent()),
    ]
}

fn expectations_text(r: &Rendered) -> String {
    let mut out = format!("# default-operation: {}\n", r.default_operation.as_str());
    for e in &r.expectations {
        out.push_str(&e.to_string());
        out.push('\n');
    }
    out
}

fn check(path: &Path, actual: &str, update: bool, failures: &mut Vec<String>) {
    if update {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    if expected != actual {
        let diff = similar::TextDiff::from_lines(&expected, actual)
            .unified_diff()
            .header(&format!("{} (golden)", path.display()), "rendered")
            .to_string();
        failures.push(diff);
    }
}

#[test]
fn every_platform_matches_its_golden_files() {
    let update = std::env::var_os("ONRAMP_UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let platforms = Platform::available(&root()).unwrap();
    assert!(
        platforms.iter().any(|p| p == "reference-pe")
            && platforms.iter().any(|p| p == "openconfig"),
        "platforms found: {platforms:?}"
    );
    let mut failures = Vec::new();
    for name in &platforms {
        let platform = Platform::load(&root(), name).unwrap();
        for (stem, op, intent) in cases() {
            let rendered = platform.render(op, &intent).unwrap();
            let dir = golden_dir().join(name);
            check(
                &dir.join(format!("{stem}.xml")),
                &rendered.config_xml,
                update,
                &mut failures,
            );
            check(
                &dir.join(format!("{stem}.expect.txt")),
                &expectations_text(&rendered),
                update,
                &mut failures,
            );
        }
        // A link's VRF, removed from a PE none of its units uses any more.
        let rendered = platform.render_vrf_delete(&intent().vrf).unwrap();
        let dir = golden_dir().join(name);
        check(
            &dir.join("vrf-delete.xml"),
            &rendered.config_xml,
            update,
            &mut failures,
        );
        check(
            &dir.join("vrf-delete.expect.txt"),
            &expectations_text(&rendered),
            update,
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "rendered output differs from the golden files \
         (ONRAMP_UPDATE_GOLDEN=1 regenerates them):\n{}",
        failures.join("\n")
    );
}

#[test]
fn no_golden_folder_without_a_platform() {
    let platforms = Platform::available(&root()).unwrap();
    for entry in std::fs::read_dir(golden_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            platforms.contains(&name),
            "tests/golden/{name} has no platform folder"
        );
    }
}
