//! `onramp-dev azure-customer`: what a customer does in the Azure portal, done
//! against the ExpressRoute simulator.

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Args)]
pub(crate) struct AzureCustomerArgs {
    #[command(subcommand)]
    action: AzureCustomerAction,
    /// The ExpressRoute simulator's URL.
    #[arg(
        long,
        env = "ONRAMP_AZURE_ARM_URL",
        global = true,
        default_value = "http://127.0.0.1:4567"
    )]
    endpoint: String,
}

#[derive(Subcommand)]
enum AzureCustomerAction {
    /// Create an ExpressRoute circuit with onramp as provider; prints its
    /// service key, which is what the customer orders with.
    CreateCircuit {
        #[arg(long, default_value = "Silicon Valley")]
        peering_location: String,
        #[arg(long, default_value_t = 1000)]
        bandwidth_mbps: u32,
    },
}

pub(crate) async fn run(a: AzureCustomerArgs) -> anyhow::Result<()> {
    match a.action {
        AzureCustomerAction::CreateCircuit {
            peering_location,
            bandwidth_mbps,
        } => {
            let url = format!("{}/_sim/circuits", a.endpoint.trim_end_matches('/'));
            let res = reqwest::Client::new()
                .post(&url)
                .json(&serde_json::json!({
                    "peeringLocation": peering_location,
                    "bandwidthInMbps": bandwidth_mbps,
                }))
                .send()
                .await
                .with_context(|| format!("calling {url}"))?;
            let status = res.status();
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            if !status.is_success() {
                anyhow::bail!("the simulator refused the circuit ({status}): {body}");
            }
            println!(
                "{}",
                body.get("serviceKey")
                    .and_then(|k| k.as_str())
                    .context("the simulator's answer has no serviceKey")?
            );
        }
    }
    Ok(())
}
