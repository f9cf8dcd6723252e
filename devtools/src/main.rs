//! `onramp-dev`: onramp on one machine for a demo or a try-out, and the cloud
//! customer's side of the CSP simulators. A binary of its own so that the
//! `onramp` binary operators deploy links no simulator.

mod aws_customer;
mod azure_customer;
mod gcp_customer;
mod up;

use clap::{Parser, Subcommand};
use onramp_signals::install::LogFormat;

#[derive(Parser)]
#[command(
    name = "onramp-dev",
    version,
    about = "The whole onramp stack on this machine, and the cloud customer's side of its simulators",
    // `onramp-dev --listen ...` is `onramp-dev up --listen ...`.
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    up: up::UpArgs,
    /// Log lines for people (`text`) or one JSON object per line (`json`).
    #[arg(long, global = true, env = "ONRAMP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole stack (the default): SQLite, nats-server, the AWS, Azure
    /// and Google simulators, two netconfd PEs, the API and a worker, with a
    /// demo tenant. Prints where to look; Ctrl-C stops it.
    Up(up::UpArgs),
    /// Act as an AWS customer against the Direct Connect simulator.
    AwsCustomer(aws_customer::AwsCustomerArgs),
    /// Act as an Azure customer against the ExpressRoute simulator.
    AzureCustomer(azure_customer::AzureCustomerArgs),
    /// Act as a Google Cloud customer against the Compute simulator.
    GcpCustomer(gcp_customer::GcpCustomerArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    onramp_signals::install::logs(cli.log_format, None)?;
    match cli.command.unwrap_or(Command::Up(cli.up)) {
        Command::Up(a) => up::run(a).await,
        Command::AwsCustomer(a) => aws_customer::run(a).await,
        Command::AzureCustomer(a) => azure_customer::run(a).await,
        Command::GcpCustomer(a) => gcp_customer::run(a).await,
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command};

    #[test]
    fn bare_options_start_the_stack_as_up_does() {
        let bare = Cli::try_parse_from(["onramp-dev", "--listen", "127.0.0.1:9"]).unwrap();
        assert!(bare.command.is_none());
        let up = Cli::try_parse_from(["onramp-dev", "up", "--listen", "127.0.0.1:9"]).unwrap();
        assert!(matches!(up.command, Some(Command::Up(_))));
    }

    #[test]
    fn the_customer_commands_parse() {
        for args in [
            &[
                "aws-customer",
                "--account",
                "123456789012",
                "accept",
                "dxvif-1",
            ][..],
            &["azure-customer", "create-circuit"][..],
            &["gcp-customer", "activate", "pk/us-west1/1"][..],
        ] {
            let argv = std::iter::once("onramp-dev").chain(args.iter().copied());
            assert!(Cli::try_parse_from(argv).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn the_cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
