//! `ticket-csp`: the unit and session of what the provider assigned.

use onramp_router_templates::{AttachmentIntent, VrfIntent};
use onramp_state_machines::ticket_csp::{Event, TicketCsp};
use onramp_store::connectors::Transition;
use onramp_store::entity::connector;
use onramp_store::model::{Resources, TicketCspParams};
use onramp_store::tasks::TaskOutcome;
use uuid::Uuid;

use crate::{Kind, single_attachment};

impl Kind for TicketCsp {
    fn attachments(
        row: &connector::Model,
        vrf: &VrfIntent,
        _auth_key: &str,
    ) -> onramp_store::Result<Vec<(Uuid, AttachmentIntent)>> {
        let res = Resources::from_json(&row.resources)?;
        let params = TicketCspParams::from_json(&row.params)?;
        Ok(vec![(res.pe_id, attachment(row, &res, &params, vrf)?)])
    }
}

/// The PE attachment of a `ticket-csp` connector: its resources already
/// hold what the provider assigned (VLAN, peer address and ASN, stored when
/// ops completed the tasks), so this is a single attachment without MD5
/// (no provider's runbook asks for one yet), described with the provider's
/// circuit or ticket id when ops recorded one.
pub fn attachment(
    row: &connector::Model,
    res: &Resources,
    params: &TicketCspParams,
    vrf: &VrfIntent,
) -> onramp_store::Result<AttachmentIntent> {
    let reference = ["provider_circuit_id", "provider_ticket"]
        .iter()
        .find_map(|k| params.values.get(*k))
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    single_attachment(
        row,
        res,
        vrf,
        "",
        format!("onramp {} {}{reference}", row.id, params.provider),
        &params.bandwidth,
    )
}

/// The machine's answer to what ops did with a task: for
/// `onramp_store::tasks::{complete, reject}`.
pub fn task_transition(
    row: &connector::Model,
    outcome: TaskOutcome<'_>,
) -> onramp_store::Result<Option<Transition>> {
    let event = match outcome {
        TaskOutcome::Completed { step_index } => Event::TaskCompleted { step_index },
        TaskOutcome::Rejected { step_index, reason } => Event::TaskRejected {
            step_index,
            reason: reason.to_string(),
        },
    };
    crate::transition::on_event::<TicketCsp>(row, &event, "ops")
}
