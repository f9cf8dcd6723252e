//! Orders of kind `ticket-csp` (issue 6): a provider from the inventory
//! (`ticket_providers`), one of its NNIs, a bandwidth. The provider's
//! runbook is snapshotted into the connector, and the machine starts at its
//! first manual step (an ops task) or, for a runbook without any, at the
//! PE push.

use axum::Json;
use axum::response::{IntoResponse, Response};
use onramp_state_machines::Machine;
use onramp_state_machines::ticket_csp::{self as tc, TicketCsp};
use onramp_store::connectors::{self as store, Mode};
use onramp_store::entity::{connector, nni};
use onramp_store::model::{Resources, TicketCspParams};
use onramp_store::{inventory, ticket_providers};

use super::aws_hosted_vif::AWS_BANDWIDTHS;
use super::order_checks::OrderChecks;
use super::{ApiKind, accepted, initial};
use crate::AppState;
use crate::auth::Tenant;
use crate::problem::{FieldError, Problem};
use crate::views::{Connector, Peering, Plan, TicketCspOrder, TicketDetails, WaitingStep};

pub(crate) async fn check(
    state: &AppState,
    o: &TicketCspOrder,
) -> Result<(nni::Model, TicketCspParams), Problem> {
    let mut checks = OrderChecks::default();
    let provider = ticket_providers::by_key(&state.db, &o.provider).await?;
    let mut nni = None;
    match &provider {
        None => {
            let known: Vec<String> = ticket_providers::list(&state.db)
                .await?
                .into_iter()
                .map(|p| p.key)
                .collect();
            checks.add(
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
            nni = checks
                .location(state, &p.key, &o.location, |known| {
                    format!(
                        "{} is not reachable at `{}`; its locations: {known}",
                        p.name, o.location
                    )
                })
                .await?;
        }
    }
    checks.bandwidth(
        &o.bandwidth,
        AWS_BANDWIDTHS,
        "a bandwidth onramp sells",
        &AWS_BANDWIDTHS
            .iter()
            .map(|b| b.0)
            .collect::<Vec<_>>()
            .join(", "),
        nni.as_ref(),
        "NNI",
    );
    checks.customer_asn(
        "customer_asn",
        o.customer_asn,
        nni.as_ref(),
        "the provider's side at this NNI",
    );
    checks.finish()?;
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

pub(crate) async fn plan(
    state: &AppState,
    tenant: &Tenant,
    nni: &nni::Model,
    params: &TicketCspParams,
) -> Result<Plan, Problem> {
    let mut init = initial::<TicketCsp>(&tc::start(params.runbook.steps.len()), String::new());
    init.first_action = None;
    let row =
        store::create_ticket_csp(&state.db, tenant.id, nni, params, &init, Mode::DryRun).await?;
    let res = Resources::from_json(&row.resources)?;
    let pe = inventory::pe(&state.db, res.pe_id).await?;
    let tenant_row = inventory::tenant(&state.db, tenant.id).await?;
    let intent = onramp_kinds::ticket_csp::attachment(
        &row,
        &res,
        params,
        &onramp_kinds::tenant_vrf(&tenant_row),
    )?;
    let change = super::planned_change(state, &pe, &intent, None)?;
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
        kind: TicketCsp::KIND.as_str().into(),
        location: nni.location_code.clone(),
        router_changes: vec![change],
        // No provider API: people do the provider's part.
        csp_calls: Vec::new(),
        steps,
        peering: Some(Peering::from_resources(res)),
        azure: None,
    })
}

impl ApiKind for TicketCsp {
    type Order = TicketCspOrder;
    const CSP: Option<&'static str> = None;

    async fn order(
        state: &AppState,
        tenant: &Tenant,
        dry_run: bool,
        order: TicketCspOrder,
    ) -> Result<Response, Problem> {
        let order = &order;
        let (nni, params) = check(state, order).await?;
        if dry_run {
            return Ok(Json(plan(state, tenant, &nni, &params).await?).into_response());
        }
        let initial = initial::<TicketCsp>(
            &tc::start(params.runbook.steps.len()),
            format!(
                "Ordered {} from {} at {}",
                params.bandwidth, params.provider_name, nni.location_code
            ),
        );
        let row =
            store::create_ticket_csp(&state.db, tenant.id, &nni, &params, &initial, Mode::Commit)
                .await?;
        tracing::info!(connector = %row.id, kind = %order.kind, tenant = %tenant.name, provider = %params.provider, location = %nni.location_code, "connector ordered");
        Ok(accepted(Connector::from_row(&row, &nni)?))
    }

    fn with_bandwidth(
        row: &connector::Model,
        _at: &nni::Model,
        _given: &str,
    ) -> Result<Result<String, crate::problem::FieldError>, onramp_store::Error> {
        Ok(Err(super::bandwidth_fixed(format!(
            "the provider's capacity for connector {} was ordered from the provider by ticket, \
             and so is a change of it: ask the operator's ops team",
            row.id
        ))))
    }

    /// A ticket connector fails when the provider refuses a step; the
    /// runbook's tasks are closed, so it is ordered again instead.
    fn with_new_key(
        _row: &connector::Model,
        _sealed: &str,
    ) -> Result<
        Result<(String, onramp_state_machines::ticket_csp::Event), FieldError>,
        onramp_store::Error,
    > {
        Ok(Err(super::key_fixed(
            "this provider's side is changed by its staff from a ticket, like the order itself: ask the operator's ops team for a new key",
        )))
    }

    fn retry_event(
        _row: &connector::Model,
    ) -> Result<Option<onramp_state_machines::ticket_csp::Event>, Problem> {
        Ok(None)
    }

    fn describe(
        row: &connector::Model,
        _location: &nni::Model,
        machine: &tc::State,
        view: &mut Connector,
    ) -> Result<(), onramp_store::Error> {
        let params = TicketCspParams::from_json(&row.params)?;
        let res = Resources::from_json(&row.resources)?;
        view.bandwidth = params.bandwidth.clone();
        let waiting_on_step = tc::open_step(machine).map(|(step, _)| WaitingStep {
            number: step + 1,
            title: params
                .runbook
                .steps
                .get(step)
                .map(|s| s.title.clone())
                .unwrap_or_default(),
        });
        view.ticket = Some(TicketDetails {
            provider: params.provider,
            provider_name: params.provider_name,
            manual_steps: params.runbook.steps.len(),
            waiting_on_step,
        });
        view.peering = Some(Peering::from_resources(res));
        Ok(())
    }
}
