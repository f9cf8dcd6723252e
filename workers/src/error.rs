/// Failures that stop a worker or relay from running at all. Failures of a
/// single job are handled in place (retried, or fed to the state machine).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach NATS at {url}: {message}")]
    Nats { url: String, message: String },
    #[error("JetStream setup failed: {0}")]
    JetStream(String),
    #[error(transparent)]
    Store(#[from] onramp_store::Error),
}
