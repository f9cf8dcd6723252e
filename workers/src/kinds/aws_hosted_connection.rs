//! Runs the actions of `aws-hosted-connection` connectors: the hosted
//! connection at AWS, the customer's VIF on it (watched, not created: the
//! customer creates it), and the PE with what the customer reported.

use std::sync::Arc;

use onramp_aws_dx::{DxClient, HostedConnectionRequest};
use onramp_router_templates::Operation;
use onramp_state_machines::aws_hosted_connection::{
    Action, AwsHostedConnection, ConnectionStatus, Event,
};
use onramp_state_machines::aws_hosted_vif::VifStatus;
use onramp_store::DatabaseConnection;
use onramp_store::entity::connector;
use onramp_store::inventory;
use onramp_store::model::{AwsHostedConnectionParams, Resources};
use onramp_store::secrets::SecretBox;

use crate::WorkerConfig;
use crate::pe_writer::PeWriter;
use crate::router_push;
use crate::step::{Step, done};

pub(crate) struct Executor {
    db: DatabaseConnection,
    dx: DxClient,
    secrets: SecretBox,
    writer: Arc<PeWriter>,
}

impl Executor {
    pub(crate) fn new(db: DatabaseConnection, cfg: &WorkerConfig, writer: Arc<PeWriter>) -> Self {
        Self {
            db,
            dx: DxClient::new(&cfg.dx),
            secrets: cfg.secrets.clone(),
            writer,
        }
    }

    pub(crate) async fn execute(
        &self,
        action: Action,
        row: &connector::Model,
    ) -> Result<Step<Event>, onramp_store::Error> {
        let res = Resources::from_json(&row.resources)?;
        let params = AwsHostedConnectionParams::from_json(&row.params)?;
        Ok(match action {
            Action::AllocateConnection => {
                let nni = inventory::nni(&self.db, row.nni_id).await?;
                let req = HostedConnectionRequest {
                    interconnect_id: nni.csp_ref.clone(),
                    owner_account: params.aws_account_id.clone(),
                    bandwidth: params.bandwidth.clone(),
                    name: res.csp_object_name.clone(),
                    vlan: res.vlan,
                };
                match self.dx.ensure_hosted_connection(&req).await {
                    Ok(c) => Step::Done {
                        event: Event::ConnectionAllocated {
                            connection_id: c.id.clone(),
                        },
                        actor: "aws",
                        csp_ref: Some(Some(c.id)),
                    },
                    Err(e) if e.is_retryable() => Step::Retry(e.to_string()),
                    Err(e) => done(
                        Event::ConnectionAllocationRejected {
                            reason: e.to_string(),
                        },
                        "aws",
                    ),
                }
            }
            Action::PollConnection => match self.connection(row, &res).await {
                Ok(status) => done(Event::ConnectionObserved { status }, "aws"),
                Err(reason) => Step::Retry(reason),
            },
            Action::PushPeConfig => self.push(action, row, &res, Operation::Create).await?,
            Action::RemovePeConfig => self.push(action, row, &res, Operation::Delete).await?,
            Action::PollVif => {
                let Some(conn) = &row.csp_ref else {
                    return Ok(Step::Retry(
                        "the hosted connection's id is not known".into(),
                    ));
                };
                match self.dx.vifs_on_connection(conn).await {
                    Ok(vifs) => {
                        // The customer may have replaced a VIF: the live one
                        // counts, a deleted one only when nothing else is left.
                        let vif = vifs.iter().find(|v| v.is_live()).or_else(|| vifs.first());
                        let (vif_state, bgp_up) = vif
                            .map(|v| (VifStatus::parse(&v.state), v.bgp_up))
                            .unwrap_or((VifStatus::Deleted, false));
                        done(Event::VifObserved { vif_state, bgp_up }, "aws")
                    }
                    Err(e) => Step::Retry(e.to_string()),
                }
            }
            Action::DeleteConnection => {
                let nni = inventory::nni(&self.db, row.nni_id).await?;
                let by_name = self
                    .dx
                    .find_hosted_connection_by_name(&nni.csp_ref, &res.csp_object_name)
                    .await
                    .map(|c| c.map(|c| c.id));
                let deleted = super::delete_recorded_and_named(
                    row.csp_ref.as_ref(),
                    by_name,
                    |id| async move { self.dx.delete_connection(&id).await },
                )
                .await;
                match deleted {
                    Ok(()) => done(Event::ConnectionDeleted, "aws"),
                    Err(e) => Step::Retry(e),
                }
            }
            Action::ReleaseResources => done(Event::ResourcesReleased, "onramp"),
        })
    }

    async fn connection(
        &self,
        row: &connector::Model,
        res: &Resources,
    ) -> Result<ConnectionStatus, String> {
        let nni = inventory::nni(&self.db, row.nni_id)
            .await
            .map_err(|e| e.to_string())?;
        let found = match &row.csp_ref {
            Some(id) => self.dx.describe_hosted_connection(&nni.csp_ref, id).await,
            None => {
                self.dx
                    .find_hosted_connection_by_name(&nni.csp_ref, &res.csp_object_name)
                    .await
            }
        }
        .map_err(|e| e.to_string())?;
        Ok(found
            .map(|c| ConnectionStatus::parse(&c.state))
            .unwrap_or(ConnectionStatus::Deleted))
    }

    async fn push(
        &self,
        action: Action,
        row: &connector::Model,
        res: &Resources,
        op: Operation,
    ) -> Result<Step<Event>, onramp_store::Error> {
        if op == Operation::Delete && !res.has_peering() {
            // The customer never reported a VIF, so nothing was pushed.
            return Ok(done(Event::PeConfigRemoved, "router"));
        }
        let auth_key = if res.auth_key_sealed.is_empty() {
            String::new()
        } else {
            match self.secrets.open(&res.auth_key_sealed) {
                Ok(k) => k,
                Err(e) => return Ok(Step::Retry(format!("BGP key of {}: {e}", row.id))),
            }
        };
        let vrf = crate::links::vrf_of(&self.db, row).await?;
        let params = AwsHostedConnectionParams::from_json(&row.params)?;
        let intent =
            onramp_kinds::aws_hosted_connection::attachment(row, res, &params, &vrf, &auth_key)?;
        let pushed = router_push::push(&self.writer, &self.db, row, res.pe_id, &intent, op).await?;
        Ok(router_push::step::<AwsHostedConnection>(action, pushed))
    }
}

crate::kinds::worker_kind!(AwsHostedConnection, aws_hosted_connection);
