use super::*;

fn m(c: &str, state: MemberState, pes: &[&str]) -> Member {
    Member {
        connector: c.into(),
        state,
        pes: pes.iter().map(std::string::ToString::to_string).collect(),
    }
}

#[test]
fn a_new_link_moves_each_joining_member_then_settles_active() {
    let members = [
        m("a", MemberState::Joined, &["pe1"]),
        m("b", MemberState::Joining, &["pe2"]),
    ];
    assert_eq!(
        next(LinkState::Configuring, &members),
        Some(Step::Move {
            connector: "b".into(),
            to: Vrf::Link
        })
    );
    let done = [
        m("a", MemberState::Joined, &["pe1"]),
        m("b", MemberState::Joined, &["pe2"]),
    ];
    assert_eq!(
        next(LinkState::Configuring, &done),
        Some(Step::Settle {
            state: LinkState::Active
        })
    );
    assert_eq!(next(LinkState::Active, &done), None);
}

#[test]
fn the_vrf_stays_on_a_pe_another_live_member_uses() {
    let members = [
        m("a", MemberState::Left, &["pe1"]),
        m("b", MemberState::Joined, &["pe1"]),
        m("c", MemberState::Joined, &["pe2"]),
    ];
    assert_eq!(
        next(LinkState::Active, &members),
        Some(Step::Forget {
            connector: "a".into()
        })
    );
}

#[test]
fn the_vrf_goes_from_pes_no_live_member_uses() {
    // An Azure member on two PEs, one of which another member still uses.
    let members = [
        m("az", MemberState::Left, &["pe1", "pe2"]),
        m("b", MemberState::Joined, &["pe1"]),
    ];
    assert_eq!(
        next(LinkState::Active, &members),
        Some(Step::RemoveVrf {
            connector: "az".into(),
            pes: vec!["pe2".into()]
        })
    );
}

#[test]
fn a_deleted_link_sends_members_back_before_anything_else_and_never_joins() {
    let members = [
        m("a", MemberState::Joining, &["pe1"]),
        m("b", MemberState::Leaving, &["pe2"]),
    ];
    assert_eq!(
        next(LinkState::Deleting, &members),
        Some(Step::Move {
            connector: "b".into(),
            to: Vrf::Tenant
        })
    );
    let rest = [m("a", MemberState::Joining, &["pe1"])];
    // A joining member of a deleting link was made leaving by the delete
    // request; if one is left over, the link does not settle around it.
    assert_eq!(
        next(LinkState::Deleting, &rest),
        Some(Step::Settle {
            state: LinkState::Deleted
        })
    );
}

#[test]
fn a_refused_join_is_undone_and_other_refusals_retry() {
    let join = Step::Move {
        connector: "a".into(),
        to: Vrf::Link,
    };
    assert_eq!(
        join.on_refused().and_then(|o| o.member),
        Some(("a".into(), MemberState::Leaving))
    );
    let leave = Step::Move {
        connector: "a".into(),
        to: Vrf::Tenant,
    };
    assert_eq!(leave.on_refused(), None);
}

#[test]
fn states_round_trip_through_their_names() {
    for s in MemberState::ALL {
        assert_eq!(MemberState::parse(s.as_str()), Some(s));
    }
    for s in [
        LinkState::Configuring,
        LinkState::Active,
        LinkState::Deleting,
        LinkState::Deleted,
    ] {
        assert_eq!(LinkState::parse(s.as_str()), Some(s));
    }
}
