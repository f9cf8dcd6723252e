//! Both layers together, as a worker calls them before a push.

mod common;

use common::*;
use onramp_router_templates::{Operation, Platform};
use onramp_router_validate::{Layer, PeFacts, ValidationError, YangValidator, validate_change};

#[test]
fn a_good_change_passes_both_layers() {
    let platform = reference_pe();
    let yang = YangValidator::for_platform(&platform).unwrap();
    for op in Operation::ALL {
        let rendered = platform.render(op, &intent()).unwrap();
        let facts = PeFacts::default();
        assert_eq!(
            validate_change(&platform, Some(&yang), op, &intent(), &rendered, &facts),
            Ok(()),
            "{op}"
        );
    }
}

#[test]
fn a_clash_is_refused_by_the_semantic_layer() {
    let platform = reference_pe();
    let yang = YangValidator::for_platform(&platform).unwrap();
    let facts = PeFacts::from_running(
        &platform,
        &running(
            &[unit_xml(
                "ge-0/0/1",
                100,
                100,
                None,
                "169.254.99.1/31",
                "onramp conn-0042",
            )],
            &[],
        ),
    )
    .unwrap();
    let rendered = platform.render(Operation::Create, &intent()).unwrap();
    let err = validate_change(
        &platform,
        Some(&yang),
        Operation::Create,
        &intent(),
        &rendered,
        &facts,
    )
    .unwrap_err();
    assert_eq!(err.layer(), Layer::Semantic);
    assert_eq!(
        err.to_string(),
        "not pushed: the create of conn-0001 on reference-pe clashes with the PE or with itself \
         (1 problem):\n\
         - vlan: VLAN 100 on ge-0/0/1 is already carried by unit 100 (onramp conn-0042) [vlan_in_use]"
    );
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!(json["layer"], "semantic");
    assert_eq!(json["violations"][0]["code"], "vlan_in_use");
}

#[test]
fn a_payload_the_model_refuses_is_refused_by_the_yang_layer() {
    // Nothing in the semantic rules looks at port naming; the model does.
    let platform = reference_pe();
    let yang = YangValidator::for_platform(&platform).unwrap();
    let mut i = intent();
    i.interface = "eth0".into();
    let rendered = platform.render(Operation::Create, &i).unwrap();
    let err = validate_change(
        &platform,
        Some(&yang),
        Operation::Create,
        &i,
        &rendered,
        &PeFacts::default(),
    )
    .unwrap_err();
    assert_eq!(err.layer(), Layer::Yang);
    let text = err.to_string();
    assert!(
        text.starts_with(
            "not pushed: the create payload of conn-0001 does not fit the reference-pe YANG model"
        ),
        "{text}"
    );
    assert!(
        text.contains("\n- /onramp-pe:interfaces/interface/name: Unsatisfied pattern - \"eth0\""),
        "{text}"
    );
    assert_eq!(serde_json::to_value(&err).unwrap()["layer"], "yang");

    // Without a validator the same change goes through layer (a) only.
    assert_eq!(
        validate_change(
            &platform,
            None,
            Operation::Create,
            &i,
            &rendered,
            &PeFacts::default()
        ),
        Ok(())
    );
}

#[test]
fn the_semantic_layer_speaks_first() {
    let platform = reference_pe();
    let yang = YangValidator::for_platform(&platform).unwrap();
    let mut i = intent();
    i.vlan = 4095; // refused by both layers
    let rendered = platform.render(Operation::Create, &i).unwrap();
    let err = validate_change(
        &platform,
        Some(&yang),
        Operation::Create,
        &i,
        &rendered,
        &PeFacts::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ValidationError::Semantic { ref violations, .. } if violations.len() == 1),
        "{err}"
    );
}

#[test]
fn the_bgp_key_never_reaches_the_timeline() {
    let platform = reference_pe();
    let yang = YangValidator::for_platform(&platform).unwrap();
    let mut i = intent();
    i.neighbor.auth_key = format!("HUSH-{}", "k".repeat(100));
    let rendered = platform.render(Operation::Create, &i).unwrap();
    let err = validate_change(
        &platform,
        Some(&yang),
        Operation::Create,
        &i,
        &rendered,
        &PeFacts::default(),
    )
    .unwrap_err();
    assert_eq!(err.layer(), Layer::Yang);
    assert!(!err.to_string().contains("HUSH"), "{err}");
    assert!(!serde_json::to_string(&err).unwrap().contains("HUSH"));
}

#[test]
fn a_validator_of_another_platform_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = copy_platform(dir.path(), "other-pe", None);
    let other = YangValidator::for_platform(&Platform::load(&root, "other-pe").unwrap()).unwrap();
    let platform = reference_pe();
    let rendered = platform.render(Operation::Create, &intent()).unwrap();
    let err = validate_change(
        &platform,
        Some(&other),
        Operation::Create,
        &intent(),
        &rendered,
        &PeFacts::default(),
    )
    .unwrap_err();
    assert_eq!(err.layer(), Layer::Yang);
    assert!(err.to_string().contains("platform other-pe"), "{err}");
}
