//! Layer (a): the intent against itself and against facts read from a
//! running configuration shaped like the reference PE's.

mod common;

use common::*;
use onramp_router_templates::{Operation, Platform};
use onramp_router_validate::{
    Error, PeFacts, Unit, Violation, Vrf, check, check_references, validate_change,
};

fn facts(running_xml: &str) -> PeFacts {
    PeFacts::from_running(&reference_pe(), running_xml).unwrap()
}

fn codes(violations: &[Violation]) -> Vec<(&'static str, &'static str)> {
    violations.iter().map(|v| (v.field, v.code)).collect()
}

fn refused(
    op: Operation,
    intent: &onramp_router_templates::AttachmentIntent,
    facts: &PeFacts,
) -> Vec<Violation> {
    check(op, intent, facts).expect_err("the change should be refused")
}

// ===== references the device model no longer checks =====

#[test]
fn a_vrf_member_must_be_a_unit_of_the_pe_or_of_the_change() {
    let rendered = facts(&golden("attachment-create.xml"));
    // The change creates the unit it lists: fine on an empty PE.
    assert_eq!(check_references(&rendered, &PeFacts::default()), Ok(()));

    // A change that lists a unit it does not create, on a PE without it.
    let mut dangling = rendered.clone();
    dangling.units.clear();
    let v = check_references(&dangling, &PeFacts::default()).unwrap_err();
    assert_eq!(codes(&v), [("vrf.interface", "unit_missing")]);
    assert!(v[0].message.contains("CUST-ACME"), "{}", v[0].message);

    // The same, once the PE (or an earlier change of the batch) has it.
    let mut pe = PeFacts::default();
    pe.apply(Operation::Create, &intent());
    assert_eq!(check_references(&dangling, &pe), Ok(()));
}

#[test]
fn validate_change_runs_the_reference_check_on_what_was_rendered() {
    let platform = reference_pe();
    let mut rendered = platform.render(Operation::Create, &intent()).unwrap();
    rendered.config_xml = rendered
        .config_xml
        .replace("<unit>100</unit>", "<unit>101</unit>");
    let err = validate_change(
        &platform,
        None,
        Operation::Create,
        &intent(),
        &rendered,
        &PeFacts::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("unit_missing"), "{err}");
    assert!(err.contains("unit 101 on ge-0/0/1"), "{err}");
}

// ===== folding a batch's changes into the facts =====

#[test]
fn a_folded_create_reads_like_running_after_its_commit() {
    // The golden payload is what running holds after that create.
    let mut folded = PeFacts::default();
    folded.apply(Operation::Create, &intent());
    assert_eq!(folded, facts(&golden("attachment-create.xml")));
    // Applying it again changes nothing (a merge), and passes the checks.
    let again = folded.clone();
    folded.apply(Operation::Create, &intent());
    assert_eq!(folded, again);
    assert_eq!(check(Operation::Create, &intent(), &folded), Ok(()));
}

#[test]
fn a_change_that_clashes_only_with_an_earlier_one_of_its_batch_is_refused() {
    let first = intent();
    // Another connector, another unit, the same /31 and neighbor in the
    // same VRF: alone, each passes against an empty PE.
    let mut second = intent();
    second.connector_id = "conn-0002".into();
    second.vlan = 101;
    let empty = PeFacts::default();
    assert_eq!(check(Operation::Create, &second, &empty), Ok(()));

    let mut batch = empty.clone();
    batch.apply(Operation::Create, &first);
    let v = refused(Operation::Create, &second, &batch);
    assert_eq!(
        codes(&v),
        [
            ("local_address", "subnet_overlap"),
            ("neighbor.address", "neighbor_in_use")
        ],
        "{v:#?}"
    );
    assert!(v[0].message.contains("conn-0001"), "{}", v[0].message);

    // Once the first is deleted in the same batch, the second fits.
    batch.apply(Operation::Delete, &first);
    assert_eq!(check(Operation::Create, &second, &batch), Ok(()));
    assert!(batch.units.is_empty() && batch.neighbors.is_empty());
    assert_eq!(batch.vrfs[0].members, Vec::<(String, u32)>::new());
}

#[test]
fn a_folded_detach_keeps_the_unit_and_a_vrf_delete_drops_the_vrf() {
    let mut f = PeFacts::default();
    f.apply(Operation::Create, &intent());
    f.apply(Operation::Detach, &intent());
    assert_eq!(f.units.len(), 1, "the unit stays");
    assert!(f.neighbors.is_empty());
    assert!(f.vrfs[0].members.is_empty());
    f.apply_vrf_delete(&intent().vrf);
    assert!(f.vrfs.is_empty());
}

// ===== facts from running =====

#[test]
fn facts_from_the_golden_create_as_netconfd_returns_running() {
    // get_running returns the children of <data>; the golden payload is what
    // running holds after that create was committed.
    let running = golden("attachment-create.xml");
    let f = facts(&running);
    assert_eq!(
        f.units,
        [Unit {
            interface: "ge-0/0/1".into(),
            unit: 100,
            vlan: Some(100),
            inner_vlan: None,
            address: Some("169.254.10.1/31".into()),
            description: Some("onramp conn-0001".into()),
        }]
    );
    assert_eq!(
        f.vrfs,
        [Vrf {
            name: "CUST-ACME".into(),
            route_distinguisher: Some("65000:1001".into()),
            route_targets: vec!["target:65000:1001".into()],
            members: vec![("ge-0/0/1".into(), 100)],
        }]
    );
    assert_eq!(f.neighbors.len(), 1);
    let n = &f.neighbors[0];
    assert_eq!(
        (n.vrf.as_str(), n.address.as_str(), n.peer_as, n.local_as),
        ("CUST-ACME", "169.254.10.0", Some(64512), Some(65000))
    );
    assert_eq!(
        n.description.as_deref(),
        Some("onramp conn-0001: aws dxvif-0001")
    );

    // The same with the envelope around it, an XML declaration and another
    // module's container beside it: the same facts.
    let enveloped = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <rpc-reply xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\" message-id=\"3\"><data>\
         <nacm xmlns=\"urn:ietf:params:xml:ns:yang:ietf-netconf-acm\"><enable-nacm>true</enable-nacm></nacm>\
         {running}</data></rpc-reply>"
    );
    assert_eq!(facts(&enveloped), f);
}

#[test]
fn facts_gather_qinq_units_and_several_vrfs() {
    let running = running(
        &[
            unit_xml(
                "ge-0/0/1",
                100,
                100,
                None,
                "169.254.10.1/31",
                "onramp conn-0001",
            ),
            unit_xml(
                "ge-0/0/1",
                200,
                200,
                Some(3001),
                "169.254.20.1/30",
                "onramp conn-0002",
            ),
            unit_xml("xe-1/0/0", 7, 7, None, "10.0.0.1/30", "core link"),
        ],
        &[
            vrf_xml(
                "CUST-ACME",
                "65000:1001",
                "target:65000:1001",
                &[("169.254.10.0", "onramp conn-0001: aws")],
            ),
            vrf_xml("CUST-OTHER", "65000:2002", "target:65000:2002", &[]),
        ],
    );
    let f = facts(&running);
    assert_eq!(f.units.len(), 3);
    assert_eq!(f.units[1].inner_vlan, Some(3001));
    assert_eq!(f.units[2].description.as_deref(), Some("core link"));
    assert_eq!(
        f.vrfs.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["CUST-ACME", "CUST-OTHER"]
    );
    assert_eq!(f.neighbors.len(), 1);
    assert!(facts("").units.is_empty(), "an empty running holds nothing");
}

#[test]
fn facts_refuse_other_platforms_and_broken_running() {
    let oc = Platform::load(&templates_root(), "openconfig").unwrap();
    let err = PeFacts::from_running(&oc, "").unwrap_err();
    assert!(matches!(err, Error::Unsupported { ref platform, .. } if platform == "openconfig"));
    assert!(err.to_string().contains("reference-pe"), "{err}");

    let err = PeFacts::from_running(&reference_pe(), "<interfaces").unwrap_err();
    assert!(matches!(err, Error::RunningXml { .. }), "{err}");

    let bad = golden("attachment-create.xml").replace("<id>100</id>", "<id>lots</id>");
    let err = PeFacts::from_running(&reference_pe(), &bad).unwrap_err();
    assert!(
        matches!(err, Error::RunningValue { ref value, .. } if value == "lots"),
        "{err}"
    );
}

// ===== create =====

#[test]
fn a_clean_create_passes_and_so_does_its_re_apply() {
    assert_eq!(
        check(Operation::Create, &intent(), &PeFacts::default()),
        Ok(())
    );
    // Running already holds this very attachment (a redelivered job).
    let f = facts(&golden("attachment-create.xml"));
    assert_eq!(check(Operation::Create, &intent(), &f), Ok(()));
}

#[test]
fn a_vlan_carried_by_another_connector_is_refused_and_named() {
    let running = running(
        &[unit_xml(
            "ge-0/0/1",
            100,
            100,
            None,
            "169.254.99.1/31",
            "onramp conn-0042",
        )],
        &[],
    );
    let v = refused(Operation::Create, &intent(), &facts(&running));
    assert_eq!(codes(&v), [("vlan", "vlan_in_use")]);
    assert_eq!(
        v[0].message,
        "VLAN 100 on ge-0/0/1 is already carried by unit 100 (onramp conn-0042)"
    );

    // Same VLAN on another port: no clash.
    let elsewhere = running_with_unit(
        "ge-0/0/2",
        100,
        100,
        None,
        "169.254.99.1/31",
        "onramp conn-0042",
    );
    assert_eq!(check(Operation::Create, &intent(), &elsewhere), Ok(()));
}

fn running_with_unit(
    interface: &str,
    id: u32,
    vlan: u16,
    inner: Option<u16>,
    addr: &str,
    desc: &str,
) -> PeFacts {
    facts(&running(
        &[unit_xml(interface, id, vlan, inner, addr, desc)],
        &[],
    ))
}

#[test]
fn a_similar_connector_id_is_not_the_same_attachment() {
    // "conn-00010" contains "conn-0001" as text, not as the same id.
    let f = running_with_unit(
        "ge-0/0/1",
        100,
        100,
        None,
        "169.254.99.1/31",
        "onramp conn-00010",
    );
    assert_eq!(
        codes(&refused(Operation::Create, &intent(), &f)),
        [("vlan", "vlan_in_use")]
    );
}

#[test]
fn a_hand_made_unit_is_a_clash_too() {
    let running = running(
        &[
            "<interface><name>ge-0/0/1</name><unit><id>100</id><vlan-id>100</vlan-id></unit></interface>"
                .to_string(),
        ],
        &[],
    );
    let v = refused(Operation::Create, &intent(), &facts(&running));
    assert_eq!(codes(&v), [("vlan", "vlan_in_use")]);
    assert!(
        v[0].message.contains("not configured by onramp"),
        "{}",
        v[0].message
    );
}

#[test]
fn qinq_pairs_and_unit_numbers() {
    let mut qinq = intent();
    qinq.vlan = 200;
    qinq.inner_vlan = Some(3001);
    qinq.local_address = "169.254.20.1/30".into();
    qinq.neighbor.address = "169.254.20.2".into();

    // The same S-tag/C-tag pair on another unit.
    let f = running_with_unit(
        "ge-0/0/1",
        210,
        200,
        Some(3001),
        "169.254.99.1/31",
        "onramp conn-0009",
    );
    let v = refused(Operation::Create, &qinq, &f);
    assert_eq!(codes(&v), [("vlan", "vlan_in_use")]);
    assert_eq!(
        v[0].message,
        "VLAN pair 200/3001 (S-tag/C-tag) on ge-0/0/1 is already carried by unit 210 (onramp conn-0009)"
    );

    // Another C-tag under the same S-tag: the unit number (the S-tag) is
    // taken, and the merge would rewrite that unit.
    let f = running_with_unit(
        "ge-0/0/1",
        200,
        200,
        Some(3002),
        "169.254.99.1/31",
        "onramp conn-0009",
    );
    let v = refused(Operation::Create, &qinq, &f);
    assert_eq!(codes(&v), [("vlan", "unit_in_use")]);
    assert!(
        v[0].message.contains("unit 200 on ge-0/0/1"),
        "{}",
        v[0].message
    );
    assert!(v[0].message.contains("conn-0009"), "{}", v[0].message);

    // A single-tagged unit on another unit number with the same outer VLAN
    // classifies other frames: no clash.
    let f = running_with_unit(
        "ge-0/0/1",
        201,
        200,
        None,
        "169.254.99.1/31",
        "onramp conn-0009",
    );
    assert_eq!(check(Operation::Create, &qinq, &f), Ok(()));
}

#[test]
fn vlans_out_of_range() {
    for (vlan, inner, field) in [
        (0, None, "vlan"),
        (4095, None, "vlan"),
        (100, Some(5000), "inner_vlan"),
    ] {
        let mut i = intent();
        i.vlan = vlan;
        i.inner_vlan = inner;
        let v = refused(Operation::Create, &i, &PeFacts::default());
        assert!(
            codes(&v).contains(&(field, "vlan_out_of_range")),
            "{vlan}/{inner:?}: {v:?}"
        );
    }
}

#[test]
fn an_overlapping_subnet_on_any_unit_is_refused_and_named() {
    let f = running_with_unit(
        "ge-0/0/2",
        300,
        300,
        None,
        "169.254.10.2/30",
        "onramp conn-0042",
    );
    let v = refused(Operation::Create, &intent(), &f);
    assert_eq!(codes(&v), [("local_address", "subnet_overlap")]);
    assert_eq!(
        v[0].message,
        "169.254.10.0/31 overlaps 169.254.10.2/30 on ge-0/0/2 unit 300 (onramp conn-0042)"
    );

    // The next /31 does not overlap.
    let f = running_with_unit(
        "ge-0/0/2",
        300,
        300,
        None,
        "169.254.10.3/31",
        "onramp conn-0042",
    );
    assert_eq!(check(Operation::Create, &intent(), &f), Ok(()));
}

#[test]
fn local_address_shape() {
    let cases = [
        ("169.254.10.1", "invalid_cidr"),
        ("169.254.10.1/33", "invalid_cidr"),
        ("169.254.10.1/28", "prefix_length"),
        ("169.254.10.1/32", "prefix_length"),
    ];
    for (addr, code) in cases {
        let mut i = intent();
        i.local_address = addr.into();
        let v = refused(Operation::Create, &i, &PeFacts::default());
        assert!(
            codes(&v).contains(&("local_address", code)),
            "{addr}: {v:?}"
        );
    }
    // /30 and /29 have network and broadcast addresses.
    let mut i = intent();
    i.local_address = "169.254.10.3/30".into();
    i.neighbor.address = "169.254.10.1".into();
    let v = refused(Operation::Create, &i, &PeFacts::default());
    assert_eq!(codes(&v), [("local_address", "network_or_broadcast")]);
}

#[test]
fn the_neighbor_must_be_the_other_end_of_the_subnet() {
    let cases = [
        ("169.254.10.1/31", "169.254.11.0", "outside_subnet"),
        ("169.254.10.1/31", "169.254.10.1", "same_as_local"),
        ("169.254.10.1/30", "169.254.10.0", "network_or_broadcast"),
        ("169.254.10.1/30", "169.254.10.3", "network_or_broadcast"),
        ("169.254.10.1/29", "169.254.10.7", "network_or_broadcast"),
        ("169.254.10.1/31", "2001:db8::1", "address_family"),
        ("169.254.10.1/31", "169.254.10.0/31", "invalid_address"),
    ];
    for (local, neighbor, code) in cases {
        let mut i = intent();
        i.local_address = local.into();
        i.neighbor.address = neighbor.into();
        let v = refused(Operation::Create, &i, &PeFacts::default());
        assert_eq!(
            codes(&v),
            [("neighbor.address", code)],
            "{local} {neighbor}"
        );
    }
    let v = {
        let mut i = intent();
        i.neighbor.address = "169.254.11.0".into();
        refused(Operation::Create, &i, &PeFacts::default())
    };
    assert_eq!(
        v[0].message,
        "neighbor 169.254.11.0 is outside the local subnet 169.254.10.0/31"
    );

    // The usable addresses of a /30 and a /29 pass.
    for (local, neighbor) in [
        ("169.254.10.1/30", "169.254.10.2"),
        ("169.254.10.1/29", "169.254.10.6"),
    ] {
        let mut i = intent();
        i.local_address = local.into();
        i.neighbor.address = neighbor.into();
        assert_eq!(
            check(Operation::Create, &i, &PeFacts::default()),
            Ok(()),
            "{local} {neighbor}"
        );
    }
}

#[test]
fn asns() {
    let mut i = intent();
    i.neighbor.peer_as = 65000;
    let v = refused(Operation::Create, &i, &PeFacts::default());
    assert_eq!(codes(&v), [("neighbor.peer_as", "same_as_local_as")]);
    assert!(v[0].message.contains("65000"), "{}", v[0].message);

    let mut i = intent();
    i.neighbor.peer_as = 0;
    i.neighbor.local_as = u32::MAX;
    let v = refused(Operation::Create, &i, &PeFacts::default());
    assert_eq!(
        codes(&v),
        [
            ("neighbor.peer_as", "asn_out_of_range"),
            ("neighbor.local_as", "asn_out_of_range")
        ]
    );

    let mut i = intent();
    i.neighbor.peer_as = 4_294_967_294;
    assert_eq!(check(Operation::Create, &i, &PeFacts::default()), Ok(()));
}

#[test]
fn a_shared_vrf_must_keep_its_rd_and_rt() {
    let f = facts(&running(
        &[],
        &[vrf_xml("CUST-ACME", "65000:1002", "target:65000:1001", &[])],
    ));
    let v = refused(Operation::Create, &intent(), &f);
    assert_eq!(codes(&v), [("vrf.route_distinguisher", "rd_mismatch")]);
    assert_eq!(
        v[0].message,
        "VRF CUST-ACME on the PE has route distinguisher 65000:1002, the attachment says \
         65000:1001: a shared VRF must agree"
    );

    let f = facts(&running(
        &[],
        &[vrf_xml("CUST-ACME", "65000:1001", "target:65000:9999", &[])],
    ));
    assert_eq!(
        codes(&refused(Operation::Create, &intent(), &f)),
        [("vrf.route_target", "rt_mismatch")]
    );

    // Another VRF with this RD.
    let f = facts(&running(
        &[],
        &[vrf_xml(
            "CUST-OTHER",
            "65000:1001",
            "target:65000:1001",
            &[],
        )],
    ));
    let v = refused(Operation::Create, &intent(), &f);
    assert_eq!(codes(&v), [("vrf.route_distinguisher", "rd_in_use")]);
    assert!(v[0].message.contains("CUST-OTHER"), "{}", v[0].message);

    // The same VRF, shared with another attachment: fine.
    let f = facts(&running(
        &[],
        &[vrf_xml(
            "CUST-ACME",
            "65000:1001",
            "target:65000:1001",
            &[("169.254.20.2", "onramp conn-0002: x")],
        )],
    ));
    assert_eq!(check(Operation::Create, &intent(), &f), Ok(()));
}

#[test]
fn a_neighbor_of_another_attachment_in_the_vrf_is_refused() {
    let f = facts(&running(
        &[],
        &[vrf_xml(
            "CUST-ACME",
            "65000:1001",
            "target:65000:1001",
            &[("169.254.10.0", "onramp conn-0042: azure")],
        )],
    ));
    let v = refused(Operation::Create, &intent(), &f);
    assert_eq!(codes(&v), [("neighbor.address", "neighbor_in_use")]);
    assert_eq!(
        v[0].message,
        "169.254.10.0 is already a BGP neighbor in VRF CUST-ACME (onramp conn-0042: azure)"
    );
    // In another VRF the same address is another session.
    let f = facts(&running(
        &[],
        &[vrf_xml(
            "CUST-OTHER",
            "65000:2002",
            "target:65000:2002",
            &[("169.254.10.0", "onramp conn-0042: azure")],
        )],
    ));
    assert_eq!(check(Operation::Create, &intent(), &f), Ok(()));
}

#[test]
fn every_violation_is_reported_at_once() {
    let mut i = intent();
    i.vlan = 0;
    i.neighbor.peer_as = 65000;
    i.local_address = "169.254.10.1/27".into();
    let v = refused(Operation::Create, &i, &PeFacts::default());
    assert_eq!(
        codes(&v),
        [
            ("vlan", "vlan_out_of_range"),
            ("local_address", "prefix_length"),
            // .0 is the network address of the /27
            ("neighbor.address", "network_or_broadcast"),
            ("neighbor.peer_as", "same_as_local_as"),
        ]
    );
    assert_eq!(
        serde_json::to_value(&v[0]).unwrap(),
        serde_json::json!({"field": "vlan", "code": "vlan_out_of_range",
                           "message": "VLAN 0 is outside 1..4094 (0 and 4095 are reserved)"})
    );
}

// ===== delete =====

#[test]
fn delete_needs_only_a_well_formed_intent() {
    // Absent on the PE: fine (a repeated delete).
    assert_eq!(
        check(Operation::Delete, &intent(), &PeFacts::default()),
        Ok(())
    );
    // Present and ours: fine.
    let f = facts(&golden("attachment-create.xml"));
    assert_eq!(check(Operation::Delete, &intent(), &f), Ok(()));
    // Create-only rules do not apply (an attachment created before a rule
    // existed can still be deleted).
    let mut i = intent();
    i.neighbor.peer_as = 65000;
    i.local_address = "169.254.10.1/28".into();
    assert_eq!(check(Operation::Delete, &i, &PeFacts::default()), Ok(()));

    let mut i = intent();
    i.vlan = 4095;
    i.neighbor.address = "not-an-ip".into();
    let v = refused(Operation::Delete, &i, &PeFacts::default());
    assert_eq!(
        codes(&v),
        [
            ("vlan", "vlan_out_of_range"),
            ("neighbor.address", "invalid_address")
        ]
    );
}

#[test]
fn delete_refuses_to_remove_another_attachments_unit_or_session() {
    let f = facts(&running(
        &[unit_xml(
            "ge-0/0/1",
            100,
            100,
            None,
            "169.254.99.1/31",
            "onramp conn-0042",
        )],
        &[vrf_xml(
            "CUST-ACME",
            "65000:1001",
            "target:65000:1001",
            &[("169.254.10.0", "onramp conn-0042: x")],
        )],
    ));
    let v = refused(Operation::Delete, &intent(), &f);
    assert_eq!(
        codes(&v),
        [("vlan", "not_owned"), ("neighbor.address", "not_owned")]
    );
    assert!(
        v[0].message.contains("unit 100 on ge-0/0/1") && v[0].message.contains("conn-0042"),
        "{}",
        v[0].message
    );
}

// ===== VRF removal (links) =====

#[test]
fn a_vrf_is_removed_only_once_nothing_uses_it() {
    let vrf = onramp_router_templates::VrfIntent {
        name: "CUST-ACME".into(),
        route_distinguisher: "65000:1001".into(),
        route_target: "target:65000:1001".into(),
    };
    // The golden create: the VRF holds a unit and a neighbor.
    let used = facts(&golden("attachment-create.xml"));
    let refused = onramp_router_validate::check_vrf_delete(&vrf, &used).unwrap_err();
    assert_eq!(
        codes(&refused),
        [("vrf.name", "vrf_in_use"), ("vrf.name", "vrf_in_use")]
    );
    assert!(
        refused[0].message.contains("unit 100 of ge-0/0/1"),
        "{refused:?}"
    );
    // Absent, or present but empty: fine.
    onramp_router_validate::check_vrf_delete(&vrf, &PeFacts::default()).unwrap();
    let empty = PeFacts {
        vrfs: vec![Vrf {
            name: "CUST-ACME".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    onramp_router_validate::check_vrf_delete(&vrf, &empty).unwrap();
}
