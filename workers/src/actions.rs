//! Executes one state-machine action against the outside world and reports
//! the event it produced. Every action is idempotent: a redelivered job runs
//! it again and gets the same result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use onramp_aws_dx::DxClient;
use onramp_pe_netconf::PeTarget;
use onramp_router_templates::{Operation, Platform};
use onramp_state_machines::aws_hosted_vif::{Action, Event, VifStatus};
use onramp_store::DatabaseConnection;
use onramp_store::entity::connector;
use onramp_store::inventory;
use onramp_store::model::{AwsHostedVifParams, Resources};
use onramp_store::secrets::SecretBox;

use crate::{WorkerConfig, intent};

pub(crate) enum Step {
    /// The action finished; feed `event` to the machine.
    Done {
        event: Event,
        actor: &'static str,
        /// `Some(x)`: remember x as the connector's CSP object id.
        csp_ref: Option<Option<String>>,
    },
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
    templates_root: std::path::PathBuf,
    secrets: SecretBox,
    platforms: Mutex<HashMap<String, Arc<Platform>>>,
}

impl Actions {
    pub(crate) fn new(db: DatabaseConnection, cfg: &WorkerConfig) -> Self {
        Self {
            db,
            dx: DxClient::new(&cfg.dx),
            templates_root: cfg.templates_root.clone(),
            secrets: cfg.secrets.clone(),
            platforms: Mutex::new(HashMap::new()),
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

    fn platform(&self, name: &str) -> Result<Arc<Platform>, String> {
        let mut cache = self.platforms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cache.get(name) {
            return Ok(p.clone());
        }
        let p = Arc::new(Platform::load(&self.templates_root, name).map_err(|e| e.to_string())?);
        cache.insert(name.to_string(), p.clone());
        Ok(p)
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
            // A key we cannot open will not open on retry either.
            Err(e) => return Ok(Step::Retry(format!("BGP key of {}: {e}", row.id))),
        };
        let intent = intent::attachment(row, res, &params, &tenant, &auth_key);
        let failed = |reason: String| -> Step {
            match op {
                Operation::Create => done(Event::PeFailed { reason }, "router"),
                // Teardown has no failure exit: keep retrying, visibly.
                Operation::Delete => Step::Retry(reason),
            }
        };
        let platform = match self.platform(&pe.platform) {
            Ok(p) => p,
            Err(e) => return Ok(failed(format!("PE {}: {e}", pe.name))),
        };
        let rendered = match platform.render(op, &intent) {
            Ok(r) => r,
            Err(e) => return Ok(failed(format!("rendering for PE {}: {e}", pe.name))),
        };
        let target = PeTarget {
            name: pe.name.clone(),
            host: pe.host.clone(),
            port: pe.port as u16,
            username: pe.username.clone(),
            password: pe.password.clone(),
            host_key_fingerprint: pe.host_key_fingerprint.clone(),
        };
        Ok(
            match onramp_pe_netconf::apply(&target, platform.quirks(), &rendered).await {
                Ok(()) => match op {
                    Operation::Create => done(Event::PeConfigured, "router"),
                    Operation::Delete => done(Event::PeConfigRemoved, "router"),
                },
                Err(e) if e.is_retryable() => Step::Retry(format!("PE {}: {e}", pe.name)),
                Err(e) => failed(format!("PE {}: {e}", pe.name)),
            },
        )
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
