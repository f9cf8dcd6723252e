//! Delivers connector state changes to tenants' webhooks (issue 8).
