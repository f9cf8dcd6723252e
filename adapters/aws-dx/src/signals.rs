//! Every Direct Connect call, timed and classified where all of them go
//! out: an interceptor on the SDK client, so a call added later is counted
//! without anyone remembering to. One observation per SDK operation (its
//! retries included), labelled with AWS's operation name.

use std::time::Instant;

use aws_sdk_directconnect::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_directconnect::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata, OrchestratorError};
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use onramp_signals::series::{self, Csp, CspError};

use crate::error::THROTTLING_CODES;

#[derive(Debug)]
pub(crate) struct CallSignals;

/// When the operation started, kept in the operation's own config bag.
#[derive(Clone, Debug)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallSignals {
    fn name(&self) -> &'static str {
        "onramp-call-signals"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Started(at)) = cfg.load::<Started>().cloned() else {
            return Ok(());
        };
        let operation = cfg.load::<Metadata>().map_or("unknown", Metadata::name);
        let error = match context.output_or_error() {
            Some(Err(e)) => Some(classify(context.response(), e)),
            Some(Ok(_)) | None => None,
        };
        series::csp_call(Csp::Aws, operation, at.elapsed(), error);
        Ok(())
    }
}

/// What went wrong, from AWS's answer when there is one. A throttling code
/// (`x-amzn-ErrorType`) counts as throttled whatever the status: AWS
/// throttles some APIs with a 400.
fn classify<E>(response: Option<&HttpResponse>, e: &OrchestratorError<E>) -> CspError {
    if let Some(r) = response {
        let code = r
            .headers()
            .get("x-amzn-errortype")
            .and_then(|t| t.split(':').next())
            .unwrap_or_default();
        if THROTTLING_CODES.contains(&code) {
            return CspError::Throttled;
        }
        if let Some(kind) = CspError::from_status(r.status().as_u16()) {
            return kind;
        }
    }
    match e.as_connector_error() {
        Some(c) if c.is_timeout() => CspError::Timeout,
        Some(_) => CspError::Transport,
        None if e.is_timeout_error() => CspError::Timeout,
        None => CspError::Other,
    }
}
