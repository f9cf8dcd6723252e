//! `onramp-dev aws-customer`: what a customer does in the AWS console, done
//! against the Direct Connect simulator with the official SDK.

use anyhow::Context;
use clap::{Args, Subcommand};
use onramp_workers::DxConfig;

#[derive(Args)]
pub(crate) struct AwsCustomerArgs {
    #[command(subcommand)]
    action: CustomerAction,
    /// The Direct Connect simulator's URL.
    #[arg(
        long,
        env = "ONRAMP_AWS_ENDPOINT",
        global = true,
        default_value = "http://127.0.0.1:4566"
    )]
    endpoint: String,
    /// The customer's 12-digit account id (the simulator authenticates by it).
    #[arg(long, global = true, default_value = "123456789012")]
    account: String,
}

#[derive(Subcommand)]
enum CustomerAction {
    /// Accept a hosted VIF (ConfirmPrivateVirtualInterface).
    Accept {
        vif_id: String,
        #[arg(long, default_value = "vgw-0demo0001")]
        virtual_gateway_id: String,
    },
    /// Decline a hosted VIF that is still confirming (DeleteVirtualInterface).
    Decline { vif_id: String },
    /// Accept a hosted connection (ConfirmConnection).
    ConfirmConnection { connection_id: String },
    /// Create the private VIF on an accepted hosted connection
    /// (CreatePrivateVirtualInterface); report it to onramp afterwards.
    CreateVif {
        connection_id: String,
        #[arg(long)]
        vlan: i32,
        #[arg(long, default_value_t = 65010)]
        asn: i32,
        #[arg(long, default_value = "169.254.10.2/30")]
        customer_address: String,
        #[arg(long, default_value = "169.254.10.1/30")]
        amazon_address: String,
        #[arg(long, default_value = "demo-bgp-key-0001")]
        auth_key: String,
        #[arg(long, default_value = "vgw-0demo0001")]
        virtual_gateway_id: String,
    },
}

pub(crate) async fn run(a: AwsCustomerArgs) -> anyhow::Result<()> {
    let client = onramp_aws_dx::DxClient::new(&DxConfig {
        endpoint_url: a.endpoint.clone(),
        region: "us-east-1".into(),
        access_key_id: a.account.clone(),
        secret_access_key: "customer-secret".into(),
    });
    let sdk = client.sdk();
    match a.action {
        CustomerAction::Accept {
            vif_id,
            virtual_gateway_id,
        } => {
            let out = sdk
                .confirm_private_virtual_interface()
                .virtual_interface_id(&vif_id)
                .virtual_gateway_id(virtual_gateway_id)
                .send()
                .await
                .map_err(sdk_error)?;
            println!("{vif_id}: {:?}", out.virtual_interface_state());
        }
        CustomerAction::ConfirmConnection { connection_id } => {
            let out = sdk
                .confirm_connection()
                .connection_id(&connection_id)
                .send()
                .await
                .map_err(sdk_error)?;
            println!("{connection_id}: {:?}", out.connection_state());
        }
        CustomerAction::CreateVif {
            connection_id,
            vlan,
            asn,
            customer_address,
            amazon_address,
            auth_key,
            virtual_gateway_id,
        } => {
            use aws_sdk_directconnect::types::NewPrivateVirtualInterface;
            let vif = NewPrivateVirtualInterface::builder()
                .virtual_interface_name("customer-vif")
                .vlan(vlan)
                .asn(asn)
                .auth_key(auth_key)
                .customer_address(customer_address)
                .amazon_address(amazon_address)
                .virtual_gateway_id(virtual_gateway_id)
                .build()
                .context("building the VIF request")?;
            let out = sdk
                .create_private_virtual_interface()
                .connection_id(&connection_id)
                .new_private_virtual_interface(vif)
                .send()
                .await
                .map_err(sdk_error)?;
            println!(
                "{}: {:?}",
                out.virtual_interface_id().unwrap_or_default(),
                out.virtual_interface_state()
            );
        }
        CustomerAction::Decline { vif_id } => {
            let out = sdk
                .delete_virtual_interface()
                .virtual_interface_id(&vif_id)
                .send()
                .await
                .map_err(sdk_error)?;
            println!("{vif_id}: {:?}", out.virtual_interface_state());
        }
    }
    Ok(())
}

/// The SDK's error with its causes: its own Display says only "service error".
fn sdk_error(e: impl std::error::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", aws_sdk_directconnect::error::DisplayErrorContext(e))
}
