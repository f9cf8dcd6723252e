//! `onramp-dev gcp-customer`: what a customer does in the Google Cloud
//! console, done against the Compute simulator.

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Args)]
pub(crate) struct GcpCustomerArgs {
    #[command(subcommand)]
    action: GcpCustomerAction,
    /// The Compute simulator's URL.
    #[arg(
        long,
        env = "ONRAMP_GCP_COMPUTE_URL",
        global = true,
        default_value = "http://127.0.0.1:4568"
    )]
    endpoint: String,
}

#[derive(Subcommand)]
enum GcpCustomerAction {
    /// Create a PARTNER attachment; prints its pairing key.
    CreatePairingKey {
        #[arg(long, default_value = "us-west1")]
        region: String,
        #[arg(long, default_value_t = 1)]
        domain: u8,
    },
    /// Activate the attachment once the partner has provisioned it.
    Activate { pairing_key: String },
}

pub(crate) async fn run(a: GcpCustomerArgs) -> anyhow::Result<()> {
    let base = a.endpoint.trim_end_matches('/').to_string();
    let http = reqwest::Client::new();
    let (url, req) = match &a.action {
        GcpCustomerAction::CreatePairingKey { region, domain } => {
            let url = format!("{base}/_sim/pairing-keys");
            let req = http.post(&url).json(&serde_json::json!({
                "region": region,
                "edgeAvailabilityDomain": domain,
            }));
            (url, req)
        }
        GcpCustomerAction::Activate { pairing_key } => {
            let url = format!(
                "{base}/_sim/customer-attachments/{}/activate",
                pairing_key.split('/').next().unwrap_or(pairing_key)
            );
            (url.clone(), http.post(&url))
        }
    };
    let res = req.send().await.with_context(|| format!("calling {url}"))?;
    let status = res.status();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("the simulator refused ({status}): {body}");
    }
    match a.action {
        GcpCustomerAction::CreatePairingKey { .. } => println!(
            "{}",
            body.get("pairingKey")
                .and_then(|k| k.as_str())
                .context("the simulator's answer has no pairingKey")?
        ),
        GcpCustomerAction::Activate { .. } => println!("{body}"),
    }
    Ok(())
}
