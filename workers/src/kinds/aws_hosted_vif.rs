//! `aws-hosted-vif`: allocating the hosted VIF at AWS, waiting for the
//! customer and for BGP, and the PE changes.

use onramp_aws_dx::{DxClient, VifListings};
use onramp_router_templates::Operation;
use onramp_state_machines::aws_hosted_vif::{Action, AwsHostedVif, Event, VifStatus};
use onramp_store::DatabaseConnection;
use onramp_store::entity::connector;
use onramp_store::inventory;
use onramp_store::model::{AwsHostedVifParams, Resources};
use onramp_store::secrets::SecretBox;

use crate::WorkerConfig;
use crate::pe_writer::PeWriter;
use crate::router_push;
use crate::step::{Step, done};

/// Runs the actions of `aws-hosted-vif` connectors.
pub(crate) struct Executor {
    db: DatabaseConnection,
    dx: DxClient,
    /// Polls of waiting VIFs share one listing per interconnect.
    listings: VifListings,
    secrets: SecretBox,
    writer: std::sync::Arc<PeWriter>,
}

impl Executor {
    pub(crate) fn new(
        db: DatabaseConnection,
        cfg: &WorkerConfig,
        writer: std::sync::Arc<PeWriter>,
    ) -> Self {
        let dx = DxClient::new(&cfg.dx);
        Self {
            db,
            // Half a poll interval: every poll sees AWS as of at most half an
            // interval ago, and a burst of waiting connectors costs one
            // describe per interconnect per half interval, not one each.
            listings: VifListings::new(dx.clone(), cfg.poll_interval / 2),
            dx,
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
        Ok(match action {
            Action::PushPeConfig => self.push_pe(action, row, &res, Operation::Create).await?,
            Action::RemovePeConfig => self.push_pe(action, row, &res, Operation::Delete).await?,
            Action::AllocateVif => self.allocate_vif(row, &res).await?,
            Action::PollVif => self.poll_vif(row, &res).await,
            Action::DeleteVif => self.delete_vif(row, &res).await?,
            // Runs inside the commit transaction (Transition::release_resources).
            Action::ReleaseResources => done(Event::ResourcesReleased, "onramp"),
        })
    }

    async fn push_pe(
        &self,
        action: Action,
        row: &connector::Model,
        res: &Resources,
        op: Operation,
    ) -> Result<Step<Event>, onramp_store::Error> {
        let vrf = crate::links::vrf_of(&self.db, row).await?;
        let params = AwsHostedVifParams::from_json(&row.params)?;
        let auth_key = match self.secrets.open(&res.auth_key_sealed) {
            Ok(k) => k,
            // The operator can fix a wrongly configured key; keep the step
            // retrying, visibly, rather than failing the connector.
            Err(e) => return Ok(Step::Retry(format!("BGP key of {}: {e}", row.id))),
        };
        let intent = onramp_kinds::aws_hosted_vif::attachment(row, res, &params, &vrf, &auth_key)?;
        let pushed = router_push::push(&self.writer, &self.db, row, res.pe_id, &intent, op).await?;
        Ok(router_push::step::<AwsHostedVif>(action, pushed))
    }

    async fn allocate_vif(
        &self,
        row: &connector::Model,
        res: &Resources,
    ) -> Result<Step<Event>, onramp_store::Error> {
        let nni = inventory::nni(&self.db, row.nni_id).await?;
        let params = AwsHostedVifParams::from_json(&row.params)?;
        let auth_key = match self.secrets.open(&res.auth_key_sealed) {
            Ok(k) => k,
            Err(e) => return Ok(Step::Retry(format!("BGP key of {}: {e}", row.id))),
        };
        let req = onramp_kinds::aws_hosted_vif::vif_request(&nni, res, &params, &auth_key);
        Ok(match self.dx.ensure_private_vif(&req).await {
            Ok(v) => Step::Done {
                event: Event::VifAllocated {
                    vif_id: v.id.clone(),
                },
                actor: "aws",
                csp_ref: Some(Some(v.id)),
            },
            Err(e) if e.is_retryable() => Step::Retry(e.to_string()),
            Err(e) => done(
                Event::VifAllocationRejected {
                    reason: e.to_string(),
                },
                "aws",
            ),
        })
    }

    async fn poll_vif(&self, row: &connector::Model, res: &Resources) -> Step<Event> {
        let nni = match inventory::nni(&self.db, row.nni_id).await {
            Ok(n) => n,
            Err(e) => return Step::Retry(e.to_string()),
        };
        let found = match &row.csp_ref {
            Some(id) => self.listings.vif(&nni.csp_ref, id).await,
            None => {
                self.dx
                    .find_vif_by_name(&nni.csp_ref, &res.csp_object_name)
                    .await
            }
        };
        match found {
            Ok(Some(v)) => done(
                Event::VifObserved {
                    vif_state: VifStatus::parse(&v.state),
                    bgp_up: v.bgp_up,
                },
                "aws",
            ),
            Ok(None) => done(
                Event::VifObserved {
                    vif_state: VifStatus::Deleted,
                    bgp_up: false,
                },
                "aws",
            ),
            Err(e) => Step::Retry(e.to_string()),
        }
    }

    async fn delete_vif(
        &self,
        row: &connector::Model,
        res: &Resources,
    ) -> Result<Step<Event>, onramp_store::Error> {
        let nni = inventory::nni(&self.db, row.nni_id).await?;
        let by_name = self
            .dx
            .find_vif_by_name(&nni.csp_ref, &res.csp_object_name)
            .await
            .map(|v| v.map(|v| v.id));
        let deleted =
            super::delete_recorded_and_named(row.csp_ref.as_ref(), by_name, |id| async move {
                self.dx.delete_vif(&id).await
            })
            .await;
        Ok(match deleted {
            Ok(()) => done(Event::VifDeleted, "aws"),
            Err(e) => Step::Retry(e),
        })
    }
}

crate::kinds::worker_kind!(AwsHostedVif, aws_hosted_vif);
