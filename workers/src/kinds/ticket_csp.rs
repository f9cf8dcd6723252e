//! Runs the actions of `ticket-csp` connectors: opening the ops task of
//! each manual step, then the PE with what the provider assigned.
//!
//! No provider API is called: a person talks to the provider, and the
//! values they record (store::tasks::complete) are already in the
//! connector's resources when `push_pe` runs.

use std::sync::Arc;

use onramp_router_templates::Operation;
use onramp_state_machines::ticket_csp::{Action, Event, TicketCsp};
use onramp_store::entity::connector;
use onramp_store::model::{Resources, TicketCspParams};
use onramp_store::{DatabaseConnection, inventory, tasks};

use crate::pe_writer::PeWriter;
use crate::router_push;
use crate::step::{Step, done};

pub(crate) struct Executor {
    db: DatabaseConnection,
    writer: Arc<PeWriter>,
}

impl Executor {
    pub(crate) fn new(db: DatabaseConnection, writer: Arc<PeWriter>) -> Self {
        Self { db, writer }
    }

    pub(crate) async fn execute(
        &self,
        action: Action,
        row: &connector::Model,
    ) -> Result<Step<Event>, onramp_store::Error> {
        let res = Resources::from_json(&row.resources)?;
        Ok(match action {
            // The task's result is a person's: completing or rejecting it
            // commits the machine's event (store::tasks). Opening is
            // idempotent, so a redelivered job finds the task it opened.
            Action::OpenTask { step_index } => {
                let task = tasks::open(&self.db, row, step_index).await?;
                tracing::info!(connector = %row.id, task = %task.id, step = step_index, "ops task open");
                Step::Parked
            }
            Action::PushPe => self.push(action, row, &res, Operation::Create).await?,
            Action::RemovePe => {
                // A teardown during a manual step: nobody should keep
                // working on the provider's order.
                let n = tasks::cancel_active(&self.db, row.id, "the connector is being torn down")
                    .await?;
                if n > 0 {
                    tracing::info!(connector = %row.id, cancelled = n, "ops tasks cancelled");
                }
                self.push(action, row, &res, Operation::Delete).await?
            }
            Action::CheckBgp => self.check_bgp(&res).await?,
            // Runs inside the commit transaction (Transition::release_resources).
            Action::Release => done(Event::ResourcesReleased, "onramp"),
        })
    }

    async fn push(
        &self,
        action: Action,
        row: &connector::Model,
        res: &Resources,
        op: Operation,
    ) -> Result<Step<Event>, onramp_store::Error> {
        let vrf = crate::links::vrf_of(&self.db, row).await?;
        let params = TicketCspParams::from_json(&row.params)?;
        let intent = onramp_kinds::ticket_csp::attachment(row, res, &params, &vrf)?;
        let pushed = router_push::push(&self.writer, &self.db, row, res.pe_id, &intent, op).await?;
        Ok(router_push::step::<TicketCsp>(action, pushed))
    }

    /// The provider has no API to ask, so the PE is the only witness. The
    /// reference platform's YANG model is config only (no operational BGP
    /// state), so what is checked is that running carries the session to
    /// the provider's address and ASN; a platform with session state would
    /// read it here instead.
    async fn check_bgp(&self, res: &Resources) -> Result<Step<Event>, onramp_store::Error> {
        let pe = inventory::pe(&self.db, res.pe_id).await?;
        let address = res.csp_address.split('/').next().unwrap_or_default();
        Ok(
            match self
                .writer
                .neighbor_configured(&pe, address, res.csp_asn)
                .await
            {
                Ok(up) => done(Event::BgpObserved { up }, "router"),
                Err(e) => Step::Retry(e.0),
            },
        )
    }
}

crate::kinds::worker_kind!(TicketCsp, ticket_csp);
