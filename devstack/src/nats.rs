//! nats-server
