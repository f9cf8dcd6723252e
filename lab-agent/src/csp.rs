//! What the far end of each BGP session does, as the lab's CSP simulators
//! say: a PE's session to AWS is up while the VIF is available with its
//! BGP peer up, to Microsoft while that leg is established, to Google while
//! the attachment is active. A session to no simulated CSP (a ticket
//! provider's) comes up once configured: the lab has no provider side.

use std::net::Ipv4Addr;

use onramp_simulators::aws_dx::AwsDxSim;
use onramp_simulators::azure_er::AzureErSim;
use onramp_simulators::gcp_pi::GcpPiSim;

use crate::pe_view::{parse_cidr, same_subnet};

/// The lab's CSP simulators the agents ask (those the lab runs).
#[derive(Clone, Debug, Default)]
pub struct Csps {
    pub aws: Option<AwsDxSim>,
    pub azure: Option<AzureErSim>,
    pub gcp: Option<GcpPiSim>,
}

impl Csps {
    /// Whether the CSP side of the session to `neighbor` is up.
    pub(crate) fn far_end_up(&self, neighbor: Ipv4Addr) -> bool {
        if let Some(aws) = &self.aws
            && let Some(vif) = aws
                .virtual_interfaces()
                .into_iter()
                .find(|v| address_of(&v.amazon_address) == Some(neighbor))
        {
            return vif.state == "available" && vif.bgp_status == "up";
        }
        if let Some(azure) = &self.azure {
            for xc in azure.cross_connections() {
                let Some(p) = &xc.private_peering else {
                    continue;
                };
                for (prefix, leg) in [
                    (&p.primary_peer_address_prefix, &xc.primary_bgp),
                    (&p.secondary_peer_address_prefix, &xc.secondary_bgp),
                ] {
                    // Microsoft takes the second address of each /30, the
                    // provider the first.
                    if let Some((net, len)) = parse_cidr(prefix)
                        && same_subnet(net, neighbor, len)
                        && u32::from(neighbor) == u32::from(net) + 2
                    {
                        return leg.established;
                    }
                }
            }
        }
        if let Some(gcp) = &self.gcp
            && let Some(a) = gcp
                .attachments()
                .partner
                .into_iter()
                .find(|a| address_of(&a.cloud_router_ip_address) == Some(neighbor))
        {
            return a.state == "ACTIVE";
        }
        true
    }
}

fn address_of(cidr: &str) -> Option<Ipv4Addr> {
    parse_cidr(cidr).map(|(a, _)| a)
}
