//! Layer (b): rendered payloads against the reference PE's YANG module,
//! through the real libyang (Debian's libyang2 2.1.30).

mod common;

use std::sync::Arc;

use common::*;
use onramp_router_templates::{Operation, Platform};
use onramp_router_validate::{Error, YangError, YangValidator};

fn validator() -> YangValidator {
    YangValidator::for_platform(&reference_pe()).unwrap()
}

fn refused(v: &YangValidator, op: Operation, xml: &str) -> Vec<YangError> {
    v.validate(op, xml)
        .expect_err("the payload should be refused")
}

const UNIT: &str = "/onramp-pe:interfaces/interface[name='ge-0/0/1']/unit[id='100']";
const NEIGHBOR: &str = "/onramp-pe:routing-instances/instance[name='CUST-ACME']/protocols/bgp/neighbor[address='169.254.10.0']";

#[test]
fn loads_the_reference_pe_module() {
    let v = validator();
    assert_eq!(v.platform(), Some("reference-pe"));
    assert_eq!(v.modules(), ["onramp-pe@2026-12-07"]);
}

#[test]
fn every_golden_payload_of_reference_pe_validates() {
    let v = validator();
    let mut seen = 0;
    for entry in std::fs::read_dir(golden_dir("reference-pe")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "xml") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let op = if name.contains("delete") {
            Operation::Delete
        } else {
            Operation::Create
        };
        let xml = std::fs::read_to_string(&path).unwrap();
        assert_eq!(v.validate(op, &xml), Ok(()), "{name}");
        seen += 1;
    }
    assert!(seen >= 3, "golden payloads found: {seen}");
}

#[test]
fn freshly_rendered_payloads_validate() {
    let v = validator();
    let platform = reference_pe();
    let mut qinq = intent();
    qinq.inner_vlan = Some(4094);
    qinq.vlan = 1;
    for i in [intent(), qinq] {
        for op in Operation::ALL {
            let rendered = platform.render(op, &i).unwrap();
            assert_eq!(v.validate_rendered(op, &rendered), Ok(()), "{op} {i:?}");
        }
    }
}

#[test]
fn a_vlan_out_of_range_is_caught_with_its_path() {
    let xml = golden("attachment-create.xml")
        .replace("<vlan-id>100</vlan-id>", "<vlan-id>5000</vlan-id>");
    let errors = refused(&validator(), Operation::Create, &xml);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("5000") && errors[0].message.contains("range"),
        "{errors:?}"
    );
    assert_eq!(
        errors[0].path.as_deref(),
        Some(format!("{UNIT}/vlan-id").as_str())
    );
}

#[test]
fn a_policer_rate_below_what_a_pe_can_police_is_caught_with_its_path() {
    let xml = golden("attachment-create.xml").replace(
        "<bandwidth-limit>50000000</bandwidth-limit>",
        "<bandwidth-limit>1000</bandwidth-limit>",
    );
    let errors = refused(&validator(), Operation::Create, &xml);
    assert_eq!(
        errors.iter().map(|e| e.path.as_deref()).collect::<Vec<_>>(),
        [Some(format!("{UNIT}/policer/bandwidth-limit").as_str())],
        "{errors:?}"
    );
    assert!(errors[0].message.contains("range"), "{errors:?}");
}

#[test]
fn an_unknown_element_is_caught_with_its_parent_path() {
    // A template that spells a leaf the way another vendor does.
    let xml = golden("attachment-create.xml").replace("<vlan-id>100</vlan-id>", "<vlan>100</vlan>");
    let errors = refused(&validator(), Operation::Create, &xml);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("\"vlan\""), "{errors:?}");
    assert_eq!(errors[0].path.as_deref(), Some(UNIT));
}

#[test]
fn a_malformed_address_is_caught() {
    for bad in ["169.254.10.1", "169.254.10.256/31", "169.254.10.1/33"] {
        let xml = golden("attachment-create.xml").replace("169.254.10.1/31", bad);
        let errors = refused(&validator(), Operation::Create, &xml);
        assert_eq!(
            errors.iter().map(|e| e.path.as_deref()).collect::<Vec<_>>(),
            [Some(format!("{UNIT}/family/inet/address").as_str())],
            "{bad}: {errors:?}"
        );
        assert!(errors[0].message.contains("pattern"), "{errors:?}");
    }
}

#[test]
fn every_bad_leaf_is_reported_not_only_the_first() {
    let xml = golden("attachment-create.xml")
        .replace("<vlan-id>100</vlan-id>", "<vlan-id>5000</vlan-id>")
        .replace("169.254.10.1/31", "169.254.10.1/33")
        .replace(
            "<peer-as>64512</peer-as>",
            "<peer-as>0</peer-as><colour>blue</colour>",
        );
    let errors = refused(&validator(), Operation::Create, &xml);
    let paths: Vec<String> = errors
        .iter()
        .map(|e| e.path.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        paths,
        [
            format!("{UNIT}/vlan-id"),
            format!("{UNIT}/family/inet/address"),
            format!("{NEIGHBOR}/peer-as"),
            NEIGHBOR.to_string(),
        ],
        "{errors:#?}"
    );
    assert!(errors[3].message.contains("colour"), "{errors:?}");
}

#[test]
fn a_bad_key_is_reported_once() {
    let xml = golden("attachment-create.xml").replace("<name>ge-0/0/1</name>", "<name>eth0</name>");
    let errors = refused(&validator(), Operation::Create, &xml);
    // The port name is a key in interfaces and a leafref in the VRF: one
    // error for each place, not one per leaf under them.
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors.iter().all(|e| e.message.contains("eth0")),
        "{errors:?}"
    );
}

#[test]
fn a_missing_key_is_caught() {
    let xml = golden("attachment-create.xml").replace("<id>100</id>", "");
    let errors = refused(&validator(), Operation::Create, &xml);
    assert!(errors[0].message.contains("key \"id\""), "{errors:?}");
}

#[test]
fn a_template_bug_is_caught_before_the_device_sees_it() {
    // A hand-written template of a new platform version: `prefix-limit`
    // moved under a container the device does not know, the unit id
    // printed from the wrong variable.
    let dir = tempfile::tempdir().unwrap();
    let buggy =
        std::fs::read_to_string(templates_root().join("reference-pe/attachment-create.xml.j2"))
            .unwrap()
            .replace(
                "<prefix-limit>{{ neighbor.prefix_limit }}</prefix-limit>",
                "<limits><prefix-limit>{{ neighbor.prefix_limit }}</prefix-limit></limits>",
            )
            .replace("<id>{{ vlan }}</id>", "<id>{{ neighbor.peer_as }}</id>");
    let root = copy_platform(dir.path(), "buggy-pe", Some(&buggy));
    let platform = Platform::load(&root, "buggy-pe").unwrap();
    let v = YangValidator::for_platform(&platform).unwrap();
    let rendered = platform.render(Operation::Create, &intent()).unwrap();
    let errors = v
        .validate_rendered(Operation::Create, &rendered)
        .unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{shown:#?}");
    assert!(
        shown[0].contains("64512") && shown[0].contains("unit"),
        "{shown:#?}"
    );
    assert!(
        shown[1].contains("limits") && shown[1].starts_with(NEIGHBOR),
        "{shown:#?}"
    );
}

#[test]
fn two_documents_back_to_back() {
    // libyang reads up to a NUL byte; without one it ran into the next
    // string in memory and reported that string's errors. Alternate good and
    // bad documents of different lengths and check each verdict is its own.
    let v = validator();
    let good = golden("attachment-create.xml");
    let qinq = golden("attachment-create-qinq.xml");
    let delete = golden("attachment-delete.xml");
    let short_bad = r#"<interfaces xmlns="urn:onramp:yang:onramp-pe"><interface><name>ge-0/0/1</name><unit><id>7</id><vlan-id>4095</vlan-id></unit></interface></interfaces>"#;
    let long_bad = qinq.replace(
        "<inner-vlan-id>3001</inner-vlan-id>",
        "<inner-vlan-id>0</inner-vlan-id>",
    );
    for round in 0..50 {
        assert_eq!(
            v.validate(Operation::Create, &good),
            Ok(()),
            "round {round}"
        );
        let e = refused(&v, Operation::Create, short_bad);
        assert!(
            e.len() == 1 && e[0].message.contains("\"4095\""),
            "round {round}: {e:?}"
        );
        assert_eq!(
            v.validate(Operation::Create, &qinq),
            Ok(()),
            "round {round}"
        );
        let e = refused(&v, Operation::Create, &long_bad);
        assert!(
            e.len() == 1 && e[0].message.contains("\"0\""),
            "round {round}: {e:?}"
        );
        assert!(
            e[0].path.as_deref().unwrap().ends_with("/inner-vlan-id"),
            "{e:?}"
        );
        assert_eq!(
            v.validate(Operation::Delete, &delete),
            Ok(()),
            "round {round}"
        );
        // A document that is a prefix of the next one in the source text.
        let head = &good[..good.find("<routing-instances").unwrap()];
        assert_eq!(v.validate(Operation::Create, head), Ok(()), "round {round}");
    }
}

#[test]
fn one_validator_serves_many_threads() {
    // Each thread validates its own bad VLAN: libyang keeps the last error
    // per thread, so every thread must see its own value, never another's.
    let v = Arc::new(validator());
    let good = Arc::new(golden("attachment-create.xml"));
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let v = Arc::clone(&v);
            let good = Arc::clone(&good);
            std::thread::spawn(move || {
                let bad = good.replace(
                    "<vlan-id>100</vlan-id>",
                    &format!("<vlan-id>{}</vlan-id>", 5000 + t),
                );
                for _ in 0..100 {
                    assert_eq!(v.validate(Operation::Create, &good), Ok(()));
                    let e = v.validate(Operation::Create, &bad).unwrap_err();
                    assert_eq!(e.len(), 1, "{e:?}");
                    assert!(
                        e[0].message.contains(&format!("\"{}\"", 5000 + t)),
                        "thread {t}: {e:?}"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn secrets_stay_out_of_the_errors() {
    let platform = reference_pe();
    let mut i = intent();
    i.neighbor.auth_key = format!("TOPSECRET{}", "x".repeat(90)); // longer than the model's 80
    let rendered = platform.render(Operation::Create, &i).unwrap();
    let errors = validator()
        .validate_rendered(Operation::Create, &rendered)
        .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .path
            .as_deref()
            .unwrap()
            .ends_with("/authentication-key"),
        "{errors:?}"
    );
    assert!(!format!("{errors:?}").contains("TOPSECRET"), "{errors:?}");
    assert!(errors[0].message.contains("<redacted>"), "{errors:?}");
}

#[test]
fn edit_operations_are_checked() {
    let v = validator();
    // A delete whose template lost its operation attributes removes nothing.
    let no_ops = golden("attachment-delete.xml").replace(" nc:operation=\"remove\"", "");
    let e = refused(&v, Operation::Delete, &no_ops);
    assert!(
        e.len() == 1 && e[0].message.contains("remove nothing"),
        "{e:?}"
    );
    // An operation that NETCONF does not define.
    let bad_op = golden("attachment-delete.xml").replacen(
        "nc:operation=\"remove\"",
        "nc:operation=\"erase\"",
        1,
    );
    let e = refused(&v, Operation::Delete, &bad_op);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].message.contains("erase"), "{e:?}");
    assert_eq!(e[0].path.as_deref(), Some("/interfaces/interface/unit"));
    // Keys of a removed entry are still typed.
    let bad_key = golden("attachment-delete.xml").replace("<id>100</id>", "<id>20000</id>");
    let e = refused(&v, Operation::Delete, &bad_key);
    assert!(e[0].message.contains("20000"), "{e:?}");
}

#[test]
fn not_a_payload_at_all() {
    let v = validator();
    let e = refused(
        &v,
        Operation::Create,
        "<interfaces xmlns=\"urn:onramp:yang:onramp-pe\">",
    );
    assert!(e[0].message.contains("not well-formed"), "{e:?}");
    let e = refused(&v, Operation::Create, "   ");
    assert!(e[0].message.contains("holds no element"), "{e:?}");
    let e = refused(
        &v,
        Operation::Create,
        "<pe xmlns=\"urn:acme:pe\"><x>1</x></pe>",
    );
    assert!(e[0].message.contains("urn:acme:pe"), "{e:?}");
    // An element without a namespace is not in any module.
    let e = refused(&v, Operation::Create, "<interfaces/>");
    assert_eq!(e.len(), 1, "{e:?}");
}

#[test]
fn platforms_without_yang_say_so() {
    let oc = Platform::load(&templates_root(), "openconfig").unwrap();
    let err = YangValidator::for_platform(&oc).unwrap_err();
    assert!(
        matches!(err, Error::NoYangModules { ref platform } if platform == "openconfig"),
        "{err}"
    );
    assert!(err.to_string().contains("not schema-validated"), "{err}");
}

#[test]
fn from_dir_errors_name_the_folder_and_module() {
    let dir = tempfile::tempdir().unwrap();
    let err = YangValidator::from_dir(dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::YangLoad { .. }) && err.to_string().contains("no *.yang"),
        "{err}"
    );

    std::fs::write(
        dir.path().join("broken@2026-01-01.yang"),
        "module broken { namespace",
    )
    .unwrap();
    let err = YangValidator::from_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("broken@2026-01-01"), "{err}");

    let err = YangValidator::from_dir(&dir.path().join("absent")).unwrap_err();
    assert!(matches!(err, Error::YangDir { .. }), "{err}");

    let v = YangValidator::from_dir(&yang_dir()).unwrap();
    assert_eq!(v.platform(), None);
    assert_eq!(
        v.validate(Operation::Create, &golden("attachment-create.xml")),
        Ok(())
    );
}
