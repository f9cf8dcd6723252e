//! The customer KPIs as PromQL over what `telemetry/snmp.yml` makes of a
//! PE's agent (every series also carries the `pe` label onramp's scrape
//! targets give). A connector's KPIs are per attachment (its unit and BGP
//! session on one PE); a link's are per direction between two of its PEs.

use std::time::Duration;

/// Where one attachment of a connector lives on its PE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub pe: String,
    /// IF-MIB `ifName` of its unit: `<port>.<unit>`.
    pub if_name: String,
    /// The CSP's (or the customer's) BGP address.
    pub neighbor: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorKpi {
    /// 1 while the session is established, 0 otherwise.
    BgpEstablished,
    BgpUptimeSeconds,
    PrefixesReceived,
    InBps,
    OutBps,
}

impl ConnectorKpi {
    pub const ALL: [ConnectorKpi; 5] = [
        ConnectorKpi::BgpEstablished,
        ConnectorKpi::BgpUptimeSeconds,
        ConnectorKpi::PrefixesReceived,
        ConnectorKpi::InBps,
        ConnectorKpi::OutBps,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConnectorKpi::BgpEstablished => "bgp_established",
            ConnectorKpi::BgpUptimeSeconds => "bgp_uptime_seconds",
            ConnectorKpi::PrefixesReceived => "prefixes_received",
            ConnectorKpi::InBps => "in_bps",
            ConnectorKpi::OutBps => "out_bps",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            ConnectorKpi::BgpEstablished => "boolean",
            ConnectorKpi::BgpUptimeSeconds => "s",
            ConnectorKpi::PrefixesReceived => "prefixes",
            ConnectorKpi::InBps | ConnectorKpi::OutBps => "bit/s",
        }
    }

    /// The query for `a`; rates are taken over `rate_window` (at least four
    /// scrapes, so a missed scrape leaves no gap).
    pub fn promql(self, a: &Attachment, rate_window: Duration) -> String {
        let session = format!(
            "{{pe=\"{}\",bgpPeerRemoteAddr=\"{}\"}}",
            escape(&a.pe),
            escape(&a.neighbor)
        );
        let unit = format!(
            "{{pe=\"{}\",ifName=\"{}\"}}",
            escape(&a.pe),
            escape(&a.if_name)
        );
        let w = rate_window.as_secs().max(1);
        match self {
            ConnectorKpi::BgpEstablished => format!("bgpPeerState{session} == bool 6"),
            ConnectorKpi::BgpUptimeSeconds => format!(
                "bgpPeerFsmEstablishedTime{session} * on(pe, bgpPeerRemoteAddr) \
                 (bgpPeerState{session} == bool 6)"
            ),
            ConnectorKpi::PrefixesReceived => {
                format!("sum by (pe, bgpPeerRemoteAddr) (cbgpPeerAcceptedPrefixes{session})")
            }
            ConnectorKpi::InBps => {
                format!("sum by (pe, ifName) (rate(ifHCInOctets{unit}[{w}s])) * 8")
            }
            ConnectorKpi::OutBps => {
                format!("sum by (pe, ifName) (rate(ifHCOutOctets{unit}[{w}s])) * 8")
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKpi {
    LatencyMs,
    /// The standard deviation of the round trips of each test.
    JitterMs,
    LossPercent,
}

impl LinkKpi {
    pub const ALL: [LinkKpi; 3] = [LinkKpi::LatencyMs, LinkKpi::JitterMs, LinkKpi::LossPercent];

    pub fn name(self) -> &'static str {
        match self {
            LinkKpi::LatencyMs => "latency_ms",
            LinkKpi::JitterMs => "jitter_ms",
            LinkKpi::LossPercent => "loss_percent",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            LinkKpi::LatencyMs | LinkKpi::JitterMs => "ms",
            LinkKpi::LossPercent => "%",
        }
    }

    /// The query over the probes of the link whose VRF is `vrf`: one series
    /// per direction, labelled `pe` (from) and `pingCtlOwnerIndex` (to).
    pub fn promql(self, vrf: &str) -> String {
        let test = format!("{{pingCtlTestName=\"{}\"}}", escape(vrf));
        let by = "on(pe, pingCtlOwnerIndex, pingCtlTestName)";
        match self {
            LinkKpi::LatencyMs => format!(
                "max by (pe, pingCtlOwnerIndex, pingCtlTestName) (pingResultsAverageRtt{test})"
            ),
            LinkKpi::JitterMs => format!(
                "sqrt(clamp_min(pingResultsRttSumOfSquares{test} / {by} \
                 pingResultsProbeResponses{test} - {by} pingResultsAverageRtt{test} ^ 2, 0))"
            ),
            LinkKpi::LossPercent => format!(
                "100 * (1 - pingResultsProbeResponses{test} / {by} pingResultsSentProbes{test})"
            ),
        }
    }
}

/// A PromQL label value's escapes (the Go string literal rules).
pub fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        let a = Attachment {
            pe: "pe\"1".into(),
            if_name: "ge-0/0/1.200".into(),
            neighbor: "169.254.0.1".into(),
        };
        let q = ConnectorKpi::InBps.promql(&a, Duration::from_secs(60));
        assert_eq!(
            q,
            r#"sum by (pe, ifName) (rate(ifHCInOctets{pe="pe\"1",ifName="ge-0/0/1.200"}[60s])) * 8"#
        );
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = ConnectorKpi::ALL.iter().map(|k| k.name()).collect();
        names.extend(LinkKpi::ALL.iter().map(|k| k.name()));
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
