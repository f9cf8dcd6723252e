//! What the runner needs from a connector kind beyond its pure machine: the
//! executor of its actions. One module per kind; the runner's job loop
//! (stale check, lease, commit, ack) and the PE writer's settling are
//! written once, over [`WorkerKind`], and reach a kind through
//! `onramp_state_machines::with_kind!`.

pub(crate) mod aws_hosted_connection;
pub(crate) mod aws_hosted_vif;
pub(crate) mod azure_expressroute;
pub(crate) mod gcp_partner_interconnect;
pub(crate) mod ticket_csp;

use std::sync::Arc;

use onramp_kinds::Kind;
use onramp_store::DatabaseConnection;
use onramp_store::entity::connector;

use crate::WorkerConfig;
use crate::pe_writer::PeWriter;
use crate::step::Step;

/// A connector kind, as the workers run it.
pub(crate) trait WorkerKind: Kind {
    /// Runs this kind's actions against its CSP, the PEs (through the
    /// writer) or the ops console.
    type Executor: Send + Sync;

    fn executor(all: &Executors) -> &Self::Executor;

    fn execute(
        executor: &Self::Executor,
        action: Self::Action,
        row: &connector::Model,
    ) -> impl Future<Output = Result<Step<Self::Event>, onramp_store::Error>> + Send;

    /// New resources to store with the transition `event` causes, for
    /// kinds that learn values on the way (Google's addresses).
    fn resources_after(
        _row: &connector::Model,
        _event: &Self::Event,
    ) -> Result<Option<String>, onramp_store::Error> {
        Ok(None)
    }

    /// New params, and what to restore if the PEs refuse them, when
    /// `event` is a change the CSP side made (an ExpressRoute circuit's
    /// bandwidth changed by its owner).
    fn change_after(
        _row: &connector::Model,
        _event: &Self::Event,
    ) -> Result<Option<(String, onramp_store::model::PendingChange)>, onramp_store::Error> {
        Ok(None)
    }
}

/// One executor per kind, built once per worker process.
pub(crate) struct Executors {
    aws_hosted_vif: aws_hosted_vif::Executor,
    aws_hosted_connection: aws_hosted_connection::Executor,
    azure_expressroute: azure_expressroute::Executor,
    gcp_partner_interconnect: gcp_partner_interconnect::Executor,
    ticket_csp: ticket_csp::Executor,
}

impl Executors {
    pub(crate) fn new(db: &DatabaseConnection, cfg: &WorkerConfig, writer: &Arc<PeWriter>) -> Self {
        Executors {
            aws_hosted_vif: aws_hosted_vif::Executor::new(db.clone(), cfg, writer.clone()),
            aws_hosted_connection: aws_hosted_connection::Executor::new(
                db.clone(),
                cfg,
                writer.clone(),
            ),
            azure_expressroute: azure_expressroute::Executor::new(db.clone(), cfg, writer.clone()),
            gcp_partner_interconnect: gcp_partner_interconnect::Executor::new(
                db.clone(),
                cfg,
                writer.clone(),
            ),
            ticket_csp: ticket_csp::Executor::new(db.clone(), writer.clone()),
        }
    }
}

/// The [`WorkerKind`] impl of kind `$machine`, whose executor is the
/// module's `Executor` and sits in [`Executors`] as `$field`.
macro_rules! worker_kind {
    ($machine:path, $field:ident $(, resources = $resources:path)? $(, change = $change:path)?) => {
        impl crate::kinds::WorkerKind for $machine {
            type Executor = Executor;

            fn executor(all: &crate::kinds::Executors) -> &Executor {
                &all.$field
            }

            fn execute(
                executor: &Executor,
                action: Action,
                row: &onramp_store::entity::connector::Model,
            ) -> impl Future<Output = Result<crate::step::Step<Event>, onramp_store::Error>> + Send
            {
                executor.execute(action, row)
            }

            $(
                fn resources_after(
                    row: &onramp_store::entity::connector::Model,
                    event: &Event,
                ) -> Result<Option<String>, onramp_store::Error> {
                    $resources(row, event)
                }
            )?

            $(
                fn change_after(
                    row: &onramp_store::entity::connector::Model,
                    event: &Event,
                ) -> Result<
                    Option<(String, onramp_store::model::PendingChange)>,
                    onramp_store::Error,
                > {
                    $change(row, event)
                }
            )?
        }
    };
}
pub(crate) use worker_kind;

/// Deletes a CSP object by its recorded id and by the id found under its
/// name: a worker may have died after the CSP created it but before its id
/// was recorded. `Err` is the CSP's answer, for a retry.
pub(crate) async fn delete_recorded_and_named<E, Fut>(
    recorded: Option<&String>,
    by_name: Result<Option<String>, E>,
    delete: impl Fn(String) -> Fut,
) -> Result<(), String>
where
    E: std::fmt::Display,
    Fut: Future<Output = Result<(), E>>,
{
    let mut ids: Vec<String> = recorded.into_iter().cloned().collect();
    match by_name {
        Ok(Some(id)) if !ids.contains(&id) => ids.push(id),
        Ok(_) => {}
        Err(e) => return Err(e.to_string()),
    }
    for id in ids {
        delete(id).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
