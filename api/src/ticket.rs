//! Orders of kind `ticket-csp` (issue 6): a provider from the inventory
//! (`ticket_providers`), one of its NNIs, a bandwidth. The provider's
//! runbook is snapshotted into the connector, and the machine starts at its
//! first manual step (an ops task) or, for a runbook without any, at the
//! PE push.

use axum::http::StatusCode;
use onramp_checks::Coded;
use onramp_router_templates::{Operation, Platform};
use onramp_state_machines::ticket_csp as tc;
use onramp_store::connectors::{self as store, Initial, Mode};
use onramp_store::entity::nni;
use onramp_store::model::{Resources, TicketCspParams};
use onramp_store::{inventory, ticket_providers};

use crate::AppState;
use crate::auth::Tenant;
use crate::connectors::AWS_BANDWIDTHS;
use crate::problem::{FieldError, Problem};
use crate::views::{Peering, Plan, RouterChange, TicketCspOrder};

pub(crate) async fn check(
    state: &AppState,
    o: &TicketCspOrder,
) -> Result<(nni::Model, TicketCspParams), Problem> {
    let mut errors = Vec::new();
    let mut err = |field: &str, code: &str, detail: String| {
        errors.push(FieldError {
            field: field.into(),
            code: code.into(),
            detail,
        })
    };
    let provider = ticket_providers::by_key(&state.db, &o.provider).await?;
    let mut nni = None;
    match &provider {
        None => {
            let known: Vec<String> = ticket_providers::list(&state.db)
                .await?
                .into_iter()
                .map(|p| p.key)
                .collect();
            err(
                "provider",
                "unknown_provider",
                format!(
                    "onramp has no ticket provider `{}`; available: {}",
                    o.provider,
                    if known.is_empty() {
                        "none yet".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            );
        }
        Some(p) => {
            nni = inventory::nni_at(&state.db, &p.key, &o.location).await?;
            if nni.is_none() {
                let known: Vec<String> = inventory::nnis(&state.db, &p.key)
                    .await?
                    .into_iter()
                    .map(|n| n.location_code)
                    .collect();
                err(
                    "location",
                    "unknown_location",
                    format!(
                        "{} is not reachable at `{}`; its locations: {}",
                        p.name,
                        o.location,
                        if known.is_empty() {
                            "none yet".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                );
            }
        }
    }
    match AWS_BANDWIDTHS.iter().find(|(b, _)| *b == o.bandwidth) {
        None => err(
            "bandwidth",
            "unsupported_bandwidth",
            format!(
                "`{}` is not a bandwidth onramp sells; use one of {}",
                o.bandwidth,
                AWS_BANDWIDTHS
                    .iter()
                    .map(|b| b.0)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        Some((_, mbps)) => {
            if let Some(n) = &nni
                && *mbps > n.capacity_mbps
            {
                err(
                    "bandwidth",
                    "exceeds_capacity",
                    format!(
                        "{} exceeds the {} Mbps NNI at {}",
                        o.bandwidth, n.capacity_mbps, n.location_code
                    ),
                );
            }
        }
    }
    if let Some(asn) = o.customer_asn {
        if let Err(e) = onramp_checks::asn::usable(asn) {
            err("customer_asn", e.code(), e.to_string());
        } else if let Some(n) = &nni
            && asn == n.csp_asn
        {
            err(
                "customer_asn",
                "same_as_peer",
                format!(
                    "ASN {asn} is the provider's side at this NNI; the two sides need different ASNs"
                ),
            );
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(errors));
    }
    let provider = provider.expect("checked above");
    let runbook = ticket_providers::runbook(&provider)?;
    Ok((
        nni.expect("checked above"),
        TicketCspParams {
            provider: provider.key,
            provider_name: provider.name,
            bandwidth: o.bandwidth.clone(),
            customer_asn: o.customer_asn.map(|a| a as u32),
            runbook,
            values: Default::default(),
        },
    ))
}

pub(crate) fn initial(params: &TicketCspParams, note: String) -> Initial {
    let start = tc::start(params.runbook.steps.len());
    Initial {
        state: tc::state_name(&start.state).into(),
        machine_state: serde_json::to_string(&start.state).expect("state serializes"),
        waiting_on: tc::waiting_on(&start.state).as_str().into(),
        first_action: start.actions.first().map(|a| a.as_str().to_string()),
        note: if note.is_empty() {
            start.note
        } else {
            format!("{note}; {}", start.note)
        },
    }
}

pub(crate) async fn plan(
    state: &AppState,
    tenant: &Tenant,
    nni: &nni::Model,
    params: &TicketCspParams,
) -> Result<Plan, Problem> {
    let mut init = initial(params, String::new());
    init.first_action = None;
    let row =
        store::create_ticket_csp(&state.db, tenant.id, nni, params, &init, Mode::DryRun).await?;
    let res = Resources::from_json(&row.resources)?;
    let pe = inventory::pe(&state.db, res.pe_id).await?;
    let tenant_row = inventory::tenant(&state.db, tenant.id).await?;
    let intent = onramp_workers::intent::ticket_attachment(
        &row,
        &res,
        params,
        &onramp_workers::intent::tenant_vrf(&tenant_row),
    );
    let platform = Platform::load(&state.templates_root, &pe.platform).map_err(|e| {
        tracing::error!(pe = %pe.name, error = %e, "platform unusable");
        Problem::internal()
    })?;
    let rendered = platform.render(Operation::Create, &intent).map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "render_failed",
            "Router configuration cannot be rendered",
            format!("PE {} ({}): {e}", pe.name, pe.platform),
        )
    })?;
    let n = params.runbook.steps.len();
    let mut steps = vec![format!(
        "{n} manual step{} by onramp's ops team with {} follow{}, each an ops task:",
        if n == 1 { "" } else { "s" },
        params.provider_name,
        if n == 1 { "s" } else { "" },
    )];
    steps.extend(params.runbook.steps.iter().enumerate().map(|(i, s)| {
        format!(
            "Ops step {} of {n}: {} (expected within {} h)",
            i + 1,
            s.title,
            s.sla_hours
        )
    }));
    steps.push(format!(
        "Configure {} on {} with the VLAN, peer address and ASN {} assigns (shown here with what onramp allocated)",
        res.port_name, pe.name, params.provider_name
    ));
    steps.push("Wait for the BGP session with the provider; the connector turns active".into());
    Ok(Plan {
        dry_run: true,
        kind: "ticket-csp".into(),
        location: nni.location_code.clone(),
        router_changes: vec![RouterChange {
            pe: pe.name.clone(),
            platform: pe.platform.clone(),
            operation: "create".into(),
            leg: None,
            config_xml: rendered.config_xml,
        }],
        // No provider API: people do the provider's part.
        csp_calls: Vec::new(),
        steps,
        peering: Some(Peering::from_resources(res)),
        azure: None,
    })
}
