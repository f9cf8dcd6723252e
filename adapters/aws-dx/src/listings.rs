//! One `DescribeVirtualInterfaces` per interconnect serves every poller.
//!
//! AWS throttles Direct Connect calls per account and region, and a
//! connector waiting on its customer is polled every few seconds: describing
//! each VIF by id costs one call per connector per poll. [`VifListings`]
//! lists the interconnect's VIFs instead, at most once per `max_age`, and
//! answers every poller of that interconnect from the listing. Concurrent
//! pollers wait for the one call in flight rather than making their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::{DxClient, Error, Vif};

/// Listings of the VIFs on each interconnect, shared by clones.
#[derive(Clone, Debug)]
pub struct VifListings {
    dx: DxClient,
    max_age: Duration,
    slots: Arc<Mutex<HashMap<String, Slot>>>,
}

/// One interconnect's listing; the async lock makes the call single-flight.
type Slot = Arc<tokio::sync::Mutex<Option<Listing>>>;

#[derive(Debug)]
struct Listing {
    taken: Instant,
    by_id: Arc<HashMap<String, Vif>>,
}

impl VifListings {
    /// Listings through `dx`, each reused for `max_age` (half the poll
    /// interval keeps every answer fresher than one poll).
    pub fn new(dx: DxClient, max_age: Duration) -> Self {
        Self {
            dx,
            max_age,
            slots: Arc::default(),
        }
    }

    /// The VIF as AWS reports it, like [`DxClient::describe_vif`], from a
    /// listing of `interconnect` taken within `max_age`. A VIF missing from
    /// the listing (allocated after it was taken, or gone) is described on
    /// its own, so a stale listing never reports a VIF deleted.
    pub async fn vif(&self, interconnect: &str, vif_id: &str) -> Result<Option<Vif>, Error> {
        let listing = self.listing(interconnect).await?;
        match listing.get(vif_id) {
            Some(v) => Ok(Some(v.clone())),
            None => self.dx.describe_vif(vif_id).await,
        }
    }

    async fn listing(&self, interconnect: &str) -> Result<Arc<HashMap<String, Vif>>, Error> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots.entry(interconnect.to_owned()).or_default().clone()
        };
        let mut held = slot.lock().await;
        if let Some(l) = held.as_ref()
            && l.taken.elapsed() < self.max_age
        {
            return Ok(l.by_id.clone());
        }
        let taken = Instant::now();
        let by_id: Arc<HashMap<String, Vif>> = Arc::new(
            self.dx
                .vifs_on_connection(interconnect)
                .await?
                .into_iter()
                .map(|v| (v.id.clone(), v))
                .collect(),
        );
        *held = Some(Listing {
            taken,
            by_id: by_id.clone(),
        });
        Ok(by_id)
    }
}
