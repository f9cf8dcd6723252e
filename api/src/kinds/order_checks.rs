//! The checks orders of several kinds share (where, how fast, which ASN and
//! VLAN), collected so that one answer names every field at fault. The
//! values' own rules (an ASN, a VLAN id) are `onramp_checks`'; these add
//! what only the inventory knows (the NNI's capacity, its peer's ASN, the
//! port's VLAN range).

use onramp_store::entity::nni;
use onramp_store::inventory;

use crate::AppState;
use crate::problem::{FieldError, FieldErrors, Problem};

/// The field errors of one order, with the checks orders share.
#[derive(Default)]
pub(crate) struct OrderChecks {
    errors: FieldErrors,
}

impl OrderChecks {
    pub(crate) fn add(&mut self, field: &str, code: &str, detail: String) {
        self.errors.add(field, code, detail);
    }

    pub(crate) fn refuse(&mut self, field: &str, e: &impl onramp_checks::Coded) {
        self.errors.refuse(field, e);
    }

    /// 422 naming every field at fault, if any.
    pub(crate) fn finish(self) -> Result<(), Problem> {
        self.errors.finish()
    }

    /// A 12-digit AWS account id.
    fn aws_account_id(&mut self, id: &str) {
        if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
            self.add(
                "aws_account_id",
                "invalid_format",
                format!("`{id}` is not a 12-digit AWS account id"),
            );
        }
    }

    /// The AWS account and the Direct Connect interconnect at `location`,
    /// as both AWS kinds take them.
    pub(crate) async fn aws_account_at(
        &mut self,
        state: &AppState,
        account: &str,
        location: &str,
    ) -> Result<Option<nni::Model>, Problem> {
        self.aws_account_id(account);
        self.location(state, "aws", location, |known| {
            format!("onramp has no Direct Connect interconnect at `{location}`; available: {known}")
        })
        .await
    }

    /// `csp`'s NNI at `location`; when there is none, `unknown_location`
    /// with `missing(known locations)` as the detail.
    pub(crate) async fn location(
        &mut self,
        state: &AppState,
        csp: &str,
        location: &str,
        missing: impl FnOnce(&str) -> String,
    ) -> Result<Option<nni::Model>, Problem> {
        let nni = inventory::nni_at(&state.db, csp, location).await?;
        if nni.is_none() {
            let known: Vec<String> = inventory::nnis(&state.db, csp)
                .await?
                .into_iter()
                .map(|n| n.location_code)
                .collect();
            let known = if known.is_empty() {
                "none yet".to_string()
            } else {
                known.join(", ")
            };
            self.add("location", "unknown_location", missing(&known));
        }
        Ok(nni)
    }

    /// `given` is one of `offered` (name, Mbps), which the answer calls
    /// `what` (`a hosted bandwidth`) and lists as `choices`, and fits the
    /// NNI (`an interconnect`).
    pub(crate) fn bandwidth(
        &mut self,
        given: &str,
        offered: &[(&str, i32)],
        what: &str,
        choices: &str,
        nni: Option<&nni::Model>,
        nni_word: &str,
    ) {
        if let Err(e) = bandwidth_within(given, offered, what, choices, nni, nni_word) {
            self.errors.add(&e.field, &e.code, e.detail);
        }
    }

    /// The customer's own ASN, if they name one: usable, and not the one
    /// on the NNI's other side (`whose`, as in "Amazon's side of this
    /// interconnect").
    pub(crate) fn customer_asn(
        &mut self,
        field: &str,
        asn: Option<i64>,
        nni: Option<&nni::Model>,
        whose: &str,
    ) {
        let Some(asn) = asn else { return };
        if let Err(e) = onramp_checks::asn::usable(asn) {
            self.refuse(field, &e);
        } else if let Some(n) = nni
            && asn == n.csp_asn
        {
            self.add(
                field,
                "same_as_peer",
                format!("ASN {asn} is {whose}; the two sides need different ASNs"),
            );
        }
    }

    /// A VLAN the customer asks for: an id, and in the range onramp uses on
    /// the NNI's port.
    pub(crate) async fn vlan(
        &mut self,
        state: &AppState,
        vlan: Option<i64>,
        nni: Option<&nni::Model>,
    ) -> Result<(), Problem> {
        let Some(vlan) = vlan else { return Ok(()) };
        if let Err(e) = onramp_checks::vlan::id(vlan) {
            self.refuse("vlan", &e);
        } else if let Some(n) = nni {
            let port = inventory::port(&state.db, n.port_id).await?;
            if vlan < i64::from(port.vlan_min) || vlan > i64::from(port.vlan_max) {
                self.add(
                    "vlan",
                    "out_of_range",
                    format!(
                        "VLAN {vlan} is outside the range {}-{} onramp uses at {}",
                        port.vlan_min, port.vlan_max, n.location_code
                    ),
                );
            }
        }
        Ok(())
    }
}

/// `given` is one of `offered` (name, Mbps), called `what` and listed as
/// `choices` when it is not, and fits `nni` (the `nni_word`) when one is
/// known: the check of an order's bandwidth and of a change of it.
pub(crate) fn bandwidth_within(
    given: &str,
    offered: &[(&str, i32)],
    what: &str,
    choices: &str,
    nni: Option<&nni::Model>,
    nni_word: &str,
) -> Result<(), FieldError> {
    let refused = |code: &str, detail: String| FieldError {
        field: "bandwidth".into(),
        code: code.into(),
        detail,
    };
    let Some((_, mbps)) = offered.iter().find(|(b, _)| *b == given) else {
        return Err(refused(
            "unsupported_bandwidth",
            format!("`{given}` is not {what}; use one of {choices}"),
        ));
    };
    match nni {
        Some(n) if *mbps > n.capacity_mbps => Err(refused(
            "exceeds_capacity",
            format!(
                "{given} exceeds the {} Mbps {nni_word} at {}",
                n.capacity_mbps, n.location_code
            ),
        )),
        _ => Ok(()),
    }
}
