//! Loading platforms, escaping, and the shape of what the templates render.

use std::path::{Path, PathBuf};

use onramp_router_templates::{
    AttachmentIntent, DefaultOperation, Error, Expectation, NeighborIntent, Operation, Platform,
    VrfIntent, default_templates_root,
};

const NETCONF_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
            auth_key: "k3y".into(),
            prefix_limit: 100,
            bfd: false,
            description: "aws".into(),
        },
        policer: Some(onramp_router_templates::Policer::for_mbps(50)),
    }
}

fn all_platforms() -> Vec<Platform> {
    Platform::available(&root())
        .unwrap()
        .iter()
        .map(|name| Platform::load(&root(), name).unwrap())
        .collect()
}

/// A platform folder in a temp dir, from (file, content) pairs.
fn fixture(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("acme");
    std::fs::create_dir_all(&p).unwrap();
    for (name, content) in files {
        std::fs::write(p.join(name), content).unwrap();
    }
    dir
}

const MINIMAL_JSON: &str = r#"{
  "name": "acme",
  "operations": {
    "create": { "template": "c.xml.j2" },
    "delete": { "template": "d.xml.j2", "default_operation": "none" }
  }
}"#;

#[test]
fn default_root_is_this_folder() {
    if std::env::var_os("ONRAMP_TEMPLATES_DIR").is_none() {
        assert_eq!(default_templates_root(), root());
    }
}

#[test]
fn reference_pe_quirks_and_yang_come_from_its_folder() {
    let p = Platform::load(&root(), "reference-pe").unwrap();
    assert_eq!(p.name(), "reference-pe");
    assert!(p.quirks().skip_explicit_validate);
    let yang = p.yang_dir().unwrap();
    assert!(
        std::fs::read_dir(yang).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("onramp-pe@")),
        "no onramp-pe module in {}",
        yang.display()
    );
    let oc = Platform::load(&root(), "openconfig").unwrap();
    assert!(!oc.quirks().skip_explicit_validate);
}

#[test]
fn missing_platform_names_platform_and_file() {
    let err = Platform::load(&root(), "no-such-vendor").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Read { .. }), "{err:?}");
    assert!(
        msg.contains("no-such-vendor") && msg.contains("platform.json"),
        "{msg}"
    );
}

#[test]
fn broken_template_names_the_file() {
    let dir = fixture(&[
        ("platform.json", MINIMAL_JSON),
        ("c.xml.j2", "<a>{{ interface </a>"),
        ("d.xml.j2", "<a/>"),
    ]);
    let err = Platform::load(dir.path(), "acme").unwrap_err();
    assert!(matches!(err, Error::TemplateSyntax { .. }), "{err:?}");
    assert!(err.to_string().contains("c.xml.j2"), "{err}");
}

#[test]
fn missing_template_file_and_bad_definitions_are_reported() {
    let dir = fixture(&[("platform.json", MINIMAL_JSON), ("c.xml.j2", "<a/>")]);
    let err = Platform::load(dir.path(), "acme").unwrap_err();
    assert!(err.to_string().contains("d.xml.j2"), "{err}");

    let dir = fixture(&[(
        "platform.json",
        r#"{"name": "acme", "operations": {"create": {"template": "c.xml.j2"}}}"#,
    )]);
    let err = Platform::load(dir.path(), "acme").unwrap_err();
    assert!(err.to_string().contains("delete"), "{err}");

    let dir = fixture(&[("platform.json", r#"{"name": "acme", "quirk": {}}"#)]);
    let err = Platform::load(dir.path(), "acme").unwrap_err();
    assert!(matches!(err, Error::Definition { .. }), "{err:?}");

    let dir = fixture(&[(
        "platform.json",
        &MINIMAL_JSON.replace("\"acme\"", "\"other\""),
    )]);
    let err = Platform::load(dir.path(), "acme").unwrap_err();
    assert!(err.to_string().contains("folder"), "{err}");
}

#[test]
fn template_bugs_fail_at_render_not_on_the_router() {
    // An undefined variable.
    let dir = fixture(&[
        ("platform.json", MINIMAL_JSON),
        ("c.xml.j2", "<a>{{ vlan_id }}</a>"),
        ("d.xml.j2", "<a>{{ inner_vlan }}</a>"),
    ]);
    let p = Platform::load(dir.path(), "acme").unwrap();
    let err = p.render(Operation::Create, &intent()).unwrap_err();
    assert!(
        matches!(err, Error::Render { .. }) && err.to_string().contains("c.xml.j2"),
        "{err}"
    );
    // An optional value printed without a guard.
    let err = p.render(Operation::Delete, &intent()).unwrap_err();
    assert!(err.to_string().contains("none"), "{err}");

    // Markup that does not parse, and an undeclared prefix.
    let dir = fixture(&[
        ("platform.json", MINIMAL_JSON),
        ("c.xml.j2", "<a><b></a>"),
        ("d.xml.j2", "<a nc:operation=\"remove\"/>"),
    ]);
    let p = Platform::load(dir.path(), "acme").unwrap();
    for op in Operation::ALL {
        let err = p.render(op, &intent()).unwrap_err();
        assert!(matches!(err, Error::MalformedXml { .. }), "{op}: {err:?}");
    }
}

#[test]
fn values_are_xml_escaped_on_every_platform() {
    let mut hostile = intent();
    hostile.connector_id = r#"c<&"'>"#.into();
    hostile.neighbor.description = r#"</description><evil/>&amp; "q""#.into();
    for p in all_platforms() {
        let r = p.render(Operation::Create, &hostile).unwrap();
        let (descriptions, evil) = with_doc(&r.config_xml, |doc| {
            let descriptions: Vec<String> = doc
                .descendants()
                .filter(|n| n.has_tag_name("description"))
                .map(|n| n.text().unwrap_or("").to_string())
                .collect();
            (
                descriptions,
                doc.descendants().any(|n| n.has_tag_name("evil")),
            )
        });
        assert!(
            descriptions.contains(&format!(
                "onramp {}: {}",
                hostile.connector_id, hostile.neighbor.description
            )),
            "{}: {descriptions:?}",
            p.name()
        );
        assert!(!evil, "{}", p.name());
    }
}

#[test]
fn unrepresentable_characters_are_refused() {
    let mut bad = intent();
    bad.neighbor.description = "bell\u{7}".into();
    for p in all_platforms() {
        let err = p.render(Operation::Create, &bad).unwrap_err();
        assert!(err.to_string().contains("U+0007"), "{}: {err}", p.name());
    }
}

#[test]
fn delete_removes_only_the_attachment_and_never_the_vrf() {
    for p in all_platforms() {
        // The unit, its VRF membership and its BGP neighbor; OpenConfig's
        // policer is two objects of its own (the policy and its binding to
        // the subinterface), where the reference PE's lives in the unit.
        let parts = match p.name() {
            "openconfig" => 5,
            _ => 3,
        };
        let r = p.render(Operation::Delete, &intent()).unwrap();
        assert_eq!(r.default_operation, DefaultOperation::None, "{}", p.name());
        let absent: Vec<String> = r
            .expectations
            .iter()
            .filter(|e| matches!(e, Expectation::Absent { .. }))
            .map(ToString::to_string)
            .collect();
        assert_eq!(absent.len(), parts, "{}: {absent:?}", p.name());
        assert!(
            r.expectations
                .iter()
                .all(|e| matches!(e, Expectation::Absent { .. })),
            "{}: a delete only asserts absence: {:?}",
            p.name(),
            r.expectations
        );
        let removed: Vec<String> = with_doc(&r.config_xml, |doc| {
            doc.descendants()
                .filter(|n| n.attribute((NETCONF_NS, "operation")).is_some())
                .map(|n| n.tag_name().name().to_string())
                .collect()
        });
        assert_eq!(removed.len(), parts, "{}: {removed:?}", p.name());
        assert!(
            !removed
                .iter()
                .any(|n| n == "instance" || n == "network-instance"),
            "{}: delete touches the VRF itself: {removed:?}",
            p.name()
        );
    }
}

#[test]
fn create_expectations_cover_the_attachment_and_hide_the_key() {
    let p = Platform::load(&root(), "reference-pe").unwrap();
    let r = p.render(Operation::Create, &intent()).unwrap();
    let shown: Vec<String> = r.expectations.iter().map(ToString::to_string).collect();
    for needle in [
        r#"unit[id="100"]/vlan-id = "100""#,
        r#"unit[id="100"]/family/inet/address = "169.254.10.1/31""#,
        r#"present /routing-instances/instance[name="CUST-ACME"]/interface[name="ge-0/0/1"][unit="100"]"#,
        r#"neighbor[address="169.254.10.0"]/peer-as = "64512""#,
        r#"neighbor[address="169.254.10.0"]/authentication-key = <secret>"#,
    ] {
        assert!(
            shown.iter().any(|s| s.contains(needle)),
            "{needle} not in {shown:#?}"
        );
    }
    assert!(!format!("{r:?}").contains("k3y"));
    assert!(!format!("{:?}", intent()).contains("k3y"));
    assert_eq!(
        r.running_filter().unwrap(),
        r#"<interfaces xmlns="urn:onramp:yang:onramp-pe"/><routing-instances xmlns="urn:onramp:yang:onramp-pe"/>"#
    );
}

#[test]
fn the_yang_module_is_in_the_platform_folder() {
    let p = Platform::load(&root(), "reference-pe").unwrap();
    assert_eq!(
        p.yang_dir().unwrap(),
        Path::new(&root()).join("reference-pe/yang")
    );
}

/// Parses a rendered payload (several top-level elements) and hands the
/// document to `f`.
fn with_doc<R>(xml: &str, f: impl FnOnce(&roxmltree::Document<'_>) -> R) -> R {
    let wrapped = format!("<config>{xml}</config>");
    let doc = roxmltree::Document::parse(&wrapped).unwrap();
    f(&doc)
}

/// A change queued before the PE enforced bandwidth carries no policer: it
/// renders as it did then, on every platform.
#[test]
fn an_intent_without_a_policer_renders_none() {
    let old = AttachmentIntent {
        policer: None,
        ..intent()
    };
    for p in all_platforms() {
        let xml = p.render(Operation::Create, &old).unwrap().config_xml;
        assert!(
            !xml.contains("policer") && !xml.contains("<qos"),
            "{}: {xml}",
            p.name()
        );
        let with = p.render(Operation::Create, &intent()).unwrap().config_xml;
        assert!(with.contains("50000000"), "{}: {with}", p.name());
    }
}
