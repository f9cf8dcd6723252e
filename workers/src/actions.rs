//! Executes one state-machine action against the outside world and reports
//! the event it produced. Every action is idempotent: a redelivered job runs
//! it again and gets the same result.

use std::time::Duration;

use onramp_aws_dx::DxClient;
use onramp_router_templates::Operation;
use onramp_state_machines::aws_hosted_vif::{Action, Event, VifStatus};
use onramp_store::DatabaseConnection;
use onramp_store::entity::connector;
use onramp_store::model::{AwsHostedVifParams, Resources};
use onramp_store::secrets::SecretBox;
use onramp_store::{inventory, pe_changes};

use crate::pe_writer::{PeWriter, Transient, op_name};
use crate::{WorkerConfig, intent};

/// How soon to look again when another worker holds the PE's writer lease.
const WAIT_FOR_WRITER: Duration = Duration::from_millis(150);

pub(crate) enum Step {
    /// The action finished; feed `event` to the machine.
    Done {
        event: Event,
        actor: &'static str,
        /// `Some(x)`: remember x as the connector's CSP object id.
        csp_ref: Option<Option<String>>,
    },
    /// Not done yet through no fault (another worker holds the PE); look
    /// again after the delay.
    Wait(Duration),
    /// A transient failure (CSP or router unreachable, throttled, lock held):
    /// run the same action again later.
    Retry(String),
}

fn done(event: Event, actor: &'static str) -> Step {
    Step::Done {
        event,
        actor,
        csp_ref: None,
    }
}

pub(crate) struct Actions {
    db: DatabaseConnection,
    dx: DxClient,
    secrets: SecretBox,
    writer: PeWriter,
}

impl Actions {
    pub(crate) fn new(db: DatabaseConnection, cfg: &WorkerConfig) -> Self {
        Self {
            db: db.clone(),
            dx: DxClient::new(&cfg.dx),
            secrets: cfg.secrets.clone(),
            writer: PeWriter::new(
                db.clone(),
                cfg.secrets.clone(),
                cfg.templates_root.clone(),
                cfg.worker_id.clone(),
                cfg.lease,
            ),
        }
    }

    pub(crate) async fn execute(
        &self,
        action: Action,
        row: &connector::Model,
    ) -> Result<Step, onramp_store::Error> {
        let res = Resources::from_json(&row.resources)?;
        Ok(match action {
            Action::PushPeConfig => self.push_pe(row, &res, Operation::Create).await?,
            Action::RemovePeConfig => self.push_pe(row, &res, Operation::Delete).await?,
            Action::AllocateVif => self.allocate_vif(row, &res).await?,
            Action::PollVif => self.poll_vif(row, &res).await,
            Action::DeleteVif => self.delete_vif(row, &res).await?,
            // Runs inside the commit transaction (Transition::release_resources).
            Action::ReleaseResources => done(Event::ResourcesReleased, "onramp"),
        })
    }

    async fn push_pe(
        &self,
        row: &connector::Model,
        res: &Resources,
        op: Operation,
    ) -> Result<Step, onramp_store::Error> {
        let pe = inventory::pe(&self.db, res.pe_id).await?;
        let tenant = inventory::tenant(&self.db, row.tenant_id).await?;
        let params = AwsHostedVifParams::from_json(&row.params)?;
        let auth_key = match self.secrets.open(&res.auth_key_sealed) {
            Ok(k) => k,
            // The operator can fix a wrongly configured key; keep the step
            // retrying, visibly, rather than failing the connector.
            Err(e) => return Ok(Step::Retry(format!("BGP key of {}: {e}", row.id))),
        };
        let intent = intent::attachment(row, res, &params, &tenant, &auth_key);
        let mut change = pe_changes::enqueue(
            &self.db,
            pe.id,
            row.id,
            row.step,
            op_name(op),
            &self.writer.seal(&intent),
        )
        .await?;
        if change.status == pe_changes::PENDING {
            match self.writer.drain_if_free(&pe).await {
                Ok(true) => {
                    if let Some(c) =
                        pe_changes::find(&self.db, row.id, row.step, op_name(op)).await?
                    {
                        change = c;
                    }
                }
                // Another worker is pushing to this PE; our change rides in
                // its next batch, or we take the lease next time.
                Ok(false) => return Ok(Step::Wait(WAIT_FOR_WRITER)),
                Err(Transient(reason)) => return Ok(Step::Retry(reason)),
            }
        }
        let reason = change.error.clone().unwrap_or_default();
        Ok(match (change.status.as_str(), op) {
            (pe_changes::DONE, Operation::Create) => done(Event::PeConfigured, "router"),
            (pe_changes::DONE, Operation::Delete) => done(Event::PeConfigRemoved, "router"),
            (pe_changes::FAILED, Operation::Create) => done(Event::PeFailed { reason }, "router"),
            (pe_changes::FAILED, Operation::Delete) => {
                // Teardown has no failure exit: queue it again and retry, visibly.
                pe_changes::requeue(&self.db, change.id).await?;
                Step::Retry(reason)
            }
            _ => Step::Wait(WAIT_FOR_WRITER),
        })
    }

    async fn allocate_vif(
        &self,
        row: &connector::Model,
        res: &Resources,
    ) -> Result<Step, onramp_store::Error> {
        let nni = inventory::nni(&self.db, row.nni_id).await?;
        let params = AwsHostedVifParams::from_json(&row.params)?;
        let auth_key = match self.secrets.open(&res.auth_key_sealed) {
            Ok(k) => k,
            Err(e) => return Ok(Step::Retry(format!("BGP key of {}: {e}", row.id))),
        };
        let req = intent::vif_request(&nni, res, &params, &auth_key);
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

    async fn poll_vif(&self, row: &connector::Model, res: &Resources) -> Step {
        let found = match &row.csp_ref {
            Some(id) => self.dx.describe_vif(id).await,
            None => {
                let nni = match inventory::nni(&self.db, row.nni_id).await {
                    Ok(n) => n,
                    Err(e) => return Step::Retry(e.to_string()),
                };
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
    ) -> Result<Step, onramp_store::Error> {
        let nni = inventory::nni(&self.db, row.nni_id).await?;
        // Look the VIF up by name as well as by the recorded id: a worker may
        // have died after AWS created the VIF but before we recorded its id.
        let mut ids: Vec<String> = row.csp_ref.iter().cloned().collect();
        match self
            .dx
            .find_vif_by_name(&nni.csp_ref, &res.csp_object_name)
            .await
        {
            Ok(Some(v)) if !ids.contains(&v.id) => ids.push(v.id),
            Ok(_) => {}
            Err(e) => return Ok(Step::Retry(e.to_string())),
        }
        for id in &ids {
            if let Err(e) = self.dx.delete_vif(id).await {
                return Ok(Step::Retry(e.to_string()));
            }
        }
        Ok(done(Event::VifDeleted, "aws"))
    }
}
