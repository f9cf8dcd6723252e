//! The registry as a `/metrics` body, handed from the binary that installed
//! the exporter to the listeners that serve it.

use std::sync::Arc;

type Render = dyn Fn() -> String + Send + Sync;

/// Renders the process's metrics in the Prometheus text exposition format.
/// Cheap to clone; [`Scrape::none`] (no recorder installed, e.g. a test
/// serving the API in process) renders an empty page.
#[derive(Clone, Default)]
pub struct Scrape(Option<Arc<Render>>);

impl Scrape {
    pub fn new(render: impl Fn() -> String + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(render)))
    }

    pub fn none() -> Self {
        Self(None)
    }

    pub fn render(&self) -> String {
        self.0.as_ref().map(|r| r()).unwrap_or_default()
    }
}

impl std::fmt::Debug for Scrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Scrape")
            .field(&if self.0.is_some() {
                "installed"
            } else {
                "none"
            })
            .finish()
    }
}

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
