//! `onramp ctl`: what operators do with onramp, from a shell, through the
//! public REST API (an admin or ops API key; the CLI has no other access).
//! Text for people by default, `--output json` for scripts: the API's own
//! JSON, so a script reads the same fields the API documents.
//!
//! Exit codes: 0 done, 1 the API refused or could not be reached (the
//! API's problem is printed, with the fields at fault), 2 bad usage.

mod client;
mod render;

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::{Value, json};

use client::Api;
pub use client::CtlError;

#[derive(Args)]
pub struct CtlArgs {
    /// The onramp API's base URL.
    #[arg(
        long,
        env = "ONRAMP_API_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub api: String,
    /// An API key of the operator's tenant (role admin or ops).
    #[arg(long, env = "ONRAMP_API_KEY", hide_env_values = true, global = true)]
    pub key: Option<String>,
    /// `text` for people, `json` for scripts (the API's JSON).
    #[arg(long, value_enum, default_value_t = Output::Text, global = true)]
    pub output: Output,
    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum CtlCommand {
    /// Connectors of every tenant.
    #[command(subcommand)]
    Connectors(ConnectorCommand),
    /// The PE routers onramp configures.
    #[command(subcommand)]
    Pes(PeCommand),
    /// Router changes a PE refused too often, handed to ops.
    #[command(subcommand)]
    Stuck(StuckCommand),
    /// The ops tasks of ticket-based connectors, soonest due first.
    #[command(subcommand)]
    Tasks(TaskCommand),
    /// Print a shell completion script, e.g. `onramp ctl completions bash
    /// > /etc/bash_completion.d/onramp`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
pub enum ConnectorCommand {
    /// List connectors, optionally by state, kind or who they wait on.
    List {
        /// Comma-separated states, e.g. `failed,configuring_pe`.
        #[arg(long)]
        state: Option<String>,
        /// e.g. `aws-hosted-vif`.
        #[arg(long)]
        kind: Option<String>,
        /// `customer`, `csp`, `ops`, `onramp`, `router` or `nobody`.
        #[arg(long)]
        waiting_on: Option<String>,
    },
    /// One connector and its timeline.
    Show { id: String },
    /// Start a failed connector again from its first step, with the
    /// resources it still holds.
    Retry { id: String },
    /// Cancel (delete) a connector: torn down at the cloud and on the PEs,
    /// its resources released.
    Cancel { id: String },
    /// Change a live connector's settings; `--dry-run` shows the plan.
    Change {
        id: String,
        /// e.g. `500Mbps` (hosted VIFs).
        #[arg(long)]
        bandwidth: Option<String>,
        #[arg(long)]
        prefix_limit: Option<u32>,
        /// `on` or `off`.
        #[arg(long, value_parser = ["on", "off"])]
        bfd: Option<String>,
        #[arg(long)]
        description: Option<String>,
        /// A new BGP MD5 key on both sides of the session(s), where onramp
        /// runs both (ExpressRoute with onramp's private peering).
        #[arg(long)]
        rotate_bgp_key: bool,
        /// Show what would change on each PE, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub enum StuckCommand {
    /// Changes waiting for a decision, and those given up.
    List,
    /// The cause is fixed: push it again.
    Retry { change: i64 },
    /// You made the PE right by hand: the connector goes on.
    Done {
        change: i64,
        #[arg(long)]
        reason: String,
    },
    /// Stop here: the connector keeps its resources until marked done.
    GiveUp {
        change: i64,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum TaskCommand {
    /// Open tasks, overdue first.
    List,
}

#[derive(Subcommand)]
pub enum PeCommand {
    /// List the PEs, with any maintenance under way.
    List,
    /// A PE's maintenance: while it lasts onramp pushes nothing to the PE.
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// The changes queued for a PE and not yet pushed, oldest first.
    Changes { pe: String },
    /// A PE's last commits, newest first.
    Commits {
        pe: String,
        /// How many (1-200).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

#[derive(Subcommand)]
pub enum MaintenanceCommand {
    /// Put a PE in maintenance (or change the reason of the one under way).
    Start {
        /// The PE's name (or id).
        pe: String,
        /// Why, for operators; customers see only "planned maintenance".
        #[arg(long)]
        reason: String,
    },
    /// The maintenance under way and the changes it holds.
    Show { pe: String },
    /// End it: what waited is pushed.
    End { pe: String },
}

/// Runs one command and prints its outcome; `root` is the whole command
/// line (for completions).
pub async fn run(args: CtlArgs, mut root: clap::Command) -> ExitCode {
    if let CtlCommand::Completions { shell } = args.command {
        let name = root.get_name().to_string();
        clap_complete::generate(shell, &mut root, name, &mut std::io::stdout());
        return ExitCode::SUCCESS;
    }
    let Some(key) = args.key.as_deref() else {
        eprintln!("error: no API key: pass --key or set ONRAMP_API_KEY (an admin or ops key)");
        return ExitCode::from(2);
    };
    let result = match Api::new(&args.api, key) {
        Ok(api) => execute(&api, &args.command).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(value) => {
            match args.output {
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&value).unwrap_or_default()
                ),
                Output::Text => print!("{}", render::text(&args.command, &value)),
            }
            ExitCode::SUCCESS
        }
        Err(CtlError::Usage(msg)) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
        Err(e) => {
            if let (Output::Json, CtlError::Refused { problem, .. }) = (args.output, &e) {
                println!(
                    "{}",
                    serde_json::to_string_pretty(problem).unwrap_or_default()
                );
            }
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn execute(api: &Api, command: &CtlCommand) -> Result<Value, CtlError> {
    match command {
        CtlCommand::Completions { .. } => Ok(Value::Null),
        CtlCommand::Connectors(ConnectorCommand::List {
            state,
            kind,
            waiting_on,
        }) => {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (k, v) in [("state", state), ("kind", kind), ("waiting_on", waiting_on)] {
                if let Some(v) = v {
                    query.append_pair(k, v);
                }
            }
            let query = query.finish();
            let path = if query.is_empty() {
                "/v1/connectors".to_string()
            } else {
                format!("/v1/connectors?{query}")
            };
            Ok(json!({ "items": api.all(&path).await? }))
        }
        CtlCommand::Connectors(ConnectorCommand::Show { id }) => {
            let id = connector_id(id)?;
            let mut c = api.get(&format!("/v1/connectors/{id}")).await?;
            let events = api.all(&format!("/v1/connectors/{id}/events")).await?;
            c["timeline"] = Value::Array(events);
            Ok(c)
        }
        CtlCommand::Connectors(ConnectorCommand::Retry { id }) => {
            let id = connector_id(id)?;
            api.call(Method::POST, &format!("/v1/connectors/{id}/retry"), None)
                .await
        }
        CtlCommand::Connectors(ConnectorCommand::Cancel { id }) => {
            let id = connector_id(id)?;
            api.call(Method::DELETE, &format!("/v1/connectors/{id}"), None)
                .await
        }
        CtlCommand::Connectors(ConnectorCommand::Change {
            id,
            bandwidth,
            prefix_limit,
            bfd,
            description,
            rotate_bgp_key,
            dry_run,
        }) => {
            let id = connector_id(id)?;
            let mut body = serde_json::Map::new();
            if let Some(b) = bandwidth {
                body.insert("bandwidth".into(), json!(b));
            }
            if let Some(p) = prefix_limit {
                body.insert("prefix_limit".into(), json!(p));
            }
            if let Some(b) = bfd {
                body.insert("bfd".into(), json!(b == "on"));
            }
            if let Some(d) = description {
                body.insert("description".into(), json!(d));
            }
            if *rotate_bgp_key {
                body.insert("rotate_bgp_key".into(), json!(true));
            }
            if body.is_empty() {
                return Err(CtlError::Usage(
                    "name at least one of --bandwidth, --prefix-limit, --bfd, --description, \
                     --rotate-bgp-key"
                        .into(),
                ));
            }
            let path = if *dry_run {
                format!("/v1/connectors/{id}?dry_run=true")
            } else {
                format!("/v1/connectors/{id}")
            };
            api.call(Method::PATCH, &path, Some(&Value::Object(body)))
                .await
        }
        CtlCommand::Stuck(StuckCommand::List) => api.get("/v1/admin/stuck-changes").await,
        CtlCommand::Stuck(StuckCommand::Retry { change }) => {
            api.call(
                Method::POST,
                &format!("/v1/admin/stuck-changes/{change}/retry"),
                None,
            )
            .await
        }
        CtlCommand::Stuck(StuckCommand::Done { change, reason }) => {
            api.call(
                Method::POST,
                &format!("/v1/admin/stuck-changes/{change}/done"),
                Some(&json!({ "reason": reason })),
            )
            .await
        }
        CtlCommand::Stuck(StuckCommand::GiveUp { change, reason }) => {
            api.call(
                Method::POST,
                &format!("/v1/admin/stuck-changes/{change}/give-up"),
                Some(&json!({ "reason": reason })),
            )
            .await
        }
        CtlCommand::Tasks(TaskCommand::List) => Ok(json!({ "items": api.all("/v1/tasks").await? })),
        CtlCommand::Pes(PeCommand::List) => Ok(json!({ "items": api.all("/v1/admin/pes").await? })),
        CtlCommand::Pes(PeCommand::Changes { pe }) => {
            let id = pe_id(api, pe).await?;
            let items = api.all(&format!("/v1/admin/pes/{id}/changes")).await?;
            Ok(json!({ "items": items }))
        }
        CtlCommand::Pes(PeCommand::Commits { pe, limit }) => {
            let id = pe_id(api, pe).await?;
            api.get(&format!("/v1/admin/pes/{id}/commits?limit={limit}"))
                .await
        }
        CtlCommand::Pes(PeCommand::Maintenance(m)) => {
            let (method, pe, body) = match m {
                MaintenanceCommand::Start { pe, reason } => {
                    (Method::PUT, pe, Some(json!({ "reason": reason })))
                }
                MaintenanceCommand::Show { pe } => (Method::GET, pe, None),
                MaintenanceCommand::End { pe } => (Method::DELETE, pe, None),
            };
            let id = pe_id(api, pe).await?;
            api.call(
                method,
                &format!("/v1/admin/pes/{id}/maintenance"),
                body.as_ref(),
            )
            .await
        }
    }
}

/// A connector id as typed, checked before anything is asked of the API.
fn connector_id(id: &str) -> Result<uuid::Uuid, CtlError> {
    uuid::Uuid::parse_str(id.trim()).map_err(|_| {
        CtlError::Usage(format!(
            "`{id}` is not a connector id (a UUID, as `connectors list` shows)"
        ))
    })
}

/// A PE named by its name or its id.
async fn pe_id(api: &Api, pe: &str) -> Result<String, CtlError> {
    let pes = api.all("/v1/admin/pes").await?;
    pes.iter()
        .find(|p| p["name"] == pe || p["id"] == pe)
        .and_then(|p| p["id"].as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            let names: Vec<&str> = pes.iter().filter_map(|p| p["name"].as_str()).collect();
            CtlError::Usage(format!(
                "no PE called {pe}; the PEs are: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })
}
