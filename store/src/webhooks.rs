//! Webhook subscriptions and their deliveries (issue 8).
