// The connector kinds the portal knows, one entry per kind: the order
// form's fields, what the customer must do in each state, and the values
// the connector page shows. Adding a kind to the portal is adding an entry
// here; the rules themselves stay in the API (the form validates with
// `POST /v1/connectors?dry_run=true`).
//
// Field: {name, label, hint, type: "text" | "number" | "select" | "checkbox",
//   required, placeholder, inputmode, min, max, checked (checkbox default),
//   options: [[value, label], …] or optionsFrom: {path, value, label, filter},
//   default (a select's initial value)}
// `name` is the order body's member, so the API's `errors[].field` finds it.
//
// settings: what the connector page's "Edit settings" form may change
// (`PATCH /v1/connectors/{id}`). Either `bandwidths: [[value, label], …]`,
// the bandwidths the customer may pick, or `bandwidthFixed: "…"`, saying
// where the bandwidth is changed instead (the API refuses it, and says so).
// Prefix limit, BFD and description are every kind's. `rotateKey(c)`: whether
// onramp can give connector `c` a new BGP key (both sides are onramp's).
"use strict";

(() => {
  const AWS_BANDWIDTHS = ["50Mbps", "100Mbps", "200Mbps", "300Mbps", "400Mbps", "500Mbps",
    "1Gbps", "2Gbps", "5Gbps", "10Gbps", "25Gbps"].map((b) => [b, b]);
  const GCP_BANDWIDTHS = ["BPS_50M", "BPS_100M", "BPS_200M", "BPS_300M", "BPS_400M", "BPS_500M",
    "BPS_1G", "BPS_2G", "BPS_5G", "BPS_10G", "BPS_20G", "BPS_50G"]
    .map((b) => [b, b.replace("BPS_", "").replace("M", " Mbps").replace("G", " Gbps")]);

  // What PATCH takes for a live hosted VIF (within the interconnect's
  // capacity, which the API checks).
  const HOSTED_VIF_BANDWIDTHS = ["50Mbps", "100Mbps", "200Mbps", "300Mbps", "400Mbps", "500Mbps",
    "1Gbps", "2Gbps", "5Gbps", "10Gbps", "25Gbps"].map((b) => [b, b]);

  // Locations that serve `kind`, from GET /v1/locations.
  const locationsFor = (kind) => ({
    path: "/v1/locations",
    value: (l) => l.code,
    label: (l) => `${l.name} (${l.code}, ${l.region})`,
    filter: (l) => (l.kinds || []).includes(kind),
  });

  const awsAccount = {
    name: "aws_account_id", label: "AWS account id", type: "text", required: true,
    inputmode: "numeric", placeholder: "123456789012",
    hint: "The 12-digit account the connection is created for; you accept it there.",
  };
  const asn = (name, hint) => ({
    name, label: "BGP ASN (optional)", type: "number", min: 1, max: 4294967294, hint,
  });
  const vlan = (min) => ({
    name: "vlan", label: "VLAN (optional)", type: "number", min, max: 4094,
    hint: `${min}-4094 on onramp's side. Leave empty to have one allocated.`,
  });

  // The peering values a single-session connector carries.
  const peeringValues = (p, csp) => p ? [
    ["VLAN", p.vlan],
    ["Peering subnet", p.subnet],
    ["onramp's address", p.onramp_address],
    [`${csp}'s address`, p.csp_address],
    ["Your ASN (onramp's side)", `${p.customer_asn}${p.asn_source === "allocated" ? " (allocated by onramp)" : ""}`],
    [`${csp}'s ASN`, p.csp_asn],
  ] : [];

  window.portalKinds = [
    {
      kind: "aws-hosted-vif",
      label: "AWS Direct Connect hosted VIF",
      summary: "A private virtual interface in your AWS account, on onramp's interconnect.",
      bgpKey: () => true,
      settings: { bandwidths: HOSTED_VIF_BANDWIDTHS },
      fields: [
        awsAccount,
        { name: "location", label: "Location", type: "select", required: true, optionsFrom: locationsFor("aws-hosted-vif") },
        { name: "bandwidth", label: "Bandwidth", type: "select", required: true, options: AWS_BANDWIDTHS, default: "1Gbps" },
        asn("customer_asn", "Your router's ASN (not Amazon's). Leave empty to get a private ASN from onramp."),
        vlan(1),
      ],
      action: (c) => c.state === "waiting_customer_acceptance" && c.vif_id
        ? `Accept VIF ${c.vif_id} in your AWS console (account ${c.aws_account_id}): Direct Connect → Virtual interfaces → ${c.vif_id} → Accept, and attach it to a gateway.`
        : null,
      values: (c) => [
        ["AWS account", c.aws_account_id],
        ["VIF", c.vif_id || "not created yet"],
        ["Bandwidth", c.bandwidth],
        ...peeringValues(c.peering, "Amazon"),
      ],
    },
    {
      kind: "aws-hosted-connection",
      label: "AWS Direct Connect hosted connection",
      summary: "A dedicated hosted connection in your AWS account; you create the VIFs on it.",
      bgpKey: (c) => Boolean(c.hosted_connection && c.hosted_connection.vif_id) || Boolean(c.peering),
      settings: {
        bandwidthFixed: "Fixed by AWS when the hosted connection was allocated: to change it, order a hosted connection at the new bandwidth, move your VIF to it, then delete this one.",
      },
      fields: [
        awsAccount,
        { name: "location", label: "Location", type: "select", required: true, optionsFrom: locationsFor("aws-hosted-connection") },
        { name: "bandwidth", label: "Bandwidth", type: "select", required: true, options: AWS_BANDWIDTHS, default: "1Gbps" },
        vlan(1),
      ],
      action: (c) => {
        const hc = c.hosted_connection || {};
        if (c.state === "waiting_customer_confirmation" && hc.connection_id) {
          return `Accept hosted connection ${hc.connection_id} in your AWS console (account ${c.aws_account_id}): Direct Connect → Connections → ${hc.connection_id} → Accept.`;
        }
        if (c.state === "waiting_vif_details") {
          return `Create a private VIF on ${hc.connection_id || "the connection"} with VLAN ${hc.vlan}, then report its addresses, ASN and key with PUT ${c.links.self}/vif.`;
        }
        return null;
      },
      values: (c) => [
        ["AWS account", c.aws_account_id],
        ["Hosted connection", (c.hosted_connection || {}).connection_id || "not created yet"],
        ["VLAN", (c.hosted_connection || {}).vlan],
        ["Your VIF", (c.hosted_connection || {}).vif_id || "not reported yet"],
        ["Bandwidth", c.bandwidth],
        ...peeringValues(c.peering, "Amazon"),
      ],
    },
    {
      kind: "azure-expressroute",
      label: "Azure ExpressRoute",
      summary: "Your ExpressRoute circuit, provisioned on two legs by its service key.",
      bgpKey: () => true,
      settings: {
        bandwidthFixed: "Changed on the cloud side: change it on your circuit in Azure, and onramp follows it on both routers.",
        rotateKey: (c) => Boolean(c.azure && c.azure.configure_peering),
      },
      fields: [
        { name: "service_key", label: "Service key", type: "text", required: true,
          placeholder: "0d9c4b4e-6f2a-4b1e-9a8f-3c2d1e0f9a8b",
          hint: "From your circuit in the Azure portal; the circuit's provider must be this operator." },
        asn("peer_asn", "The ASN onramp peers with Microsoft as (not 12076 or 65515-65520). Leave empty to have one allocated."),
        { name: "vlan_id", label: "Private peering VLAN (optional)", type: "number", min: 1, max: 4094, hint: "The C-tag, 1-4094; default 100." },
        { name: "configure_peering", label: "onramp configures the Azure private peering", type: "checkbox", checked: true,
          hint: "Untick to configure it yourself with the values onramp shows; the shared key is then shown once." },
      ],
      action: (c) => c.state === "waiting_customer_peering"
        ? `Configure the private peering of circuit ${c.azure.service_key} in Azure with VLAN ${c.azure.vlan_id}, peer ASN ${c.azure.peer_asn}, primary subnet ${c.azure.primary.subnet} and secondary subnet ${c.azure.secondary.subnet}.`
        : null,
      values: (c) => {
        const a = c.azure;
        if (!a) return [];
        return [
          ["Service key", a.service_key],
          ["Peering location", a.peering_location],
          ["Bandwidth", c.bandwidth],
          ["S-tag / VLAN", `${a.s_tag} / ${a.vlan_id}`],
          ["Peer ASN", `${a.peer_asn}${a.asn_source === "allocated" ? " (allocated by onramp)" : ""}`],
          ["Microsoft's ASN", a.microsoft_asn],
          ["Primary leg", `${a.primary.subnet}: onramp ${a.primary.onramp_address}, Microsoft ${a.primary.microsoft_address}`],
          ["Secondary leg", `${a.secondary.subnet}: onramp ${a.secondary.onramp_address}, Microsoft ${a.secondary.microsoft_address}`],
        ].concat(a.degraded_leg ? [["Degraded leg", a.degraded_leg]] : []);
      },
    },
    {
      kind: "gcp-partner-interconnect",
      label: "Google Cloud Partner Interconnect",
      summary: "Your PARTNER VLAN attachment, connected by its pairing key.",
      bgpKey: () => false,
      // onramp changes the attachment's capacity at Google, then the router.
      settings: { bandwidths: GCP_BANDWIDTHS },
      fields: [
        { name: "pairing_key", label: "Pairing key", type: "text", required: true,
          placeholder: "2dfcdee7-b6f9-41d0-b98f-639151097693/us-west1/1",
          hint: "<uuid>/<region>/<1|2>, from your attachment in the Google Cloud console." },
        { name: "bandwidth", label: "Bandwidth", type: "select", required: true, options: GCP_BANDWIDTHS, default: "BPS_1G" },
        asn("peer_asn", "The ASN onramp peers with Cloud Router as (not 16550). Leave empty to have one allocated."),
        vlan(2),
      ],
      action: (c) => c.state === "waiting_customer_activation"
        ? `Activate attachment ${(c.gcp || {}).attachment || ""} in your Google Cloud console (Hybrid Connectivity → Interconnect → VLAN attachments), pairing key ${(c.gcp || {}).pairing_key}.`
        : null,
      values: (c) => [
        ["Pairing key", (c.gcp || {}).pairing_key],
        ["Attachment", (c.gcp || {}).attachment || "not created yet"],
        ["Bandwidth", c.bandwidth],
        ...peeringValues(c.peering, "Google"),
      ],
    },
    {
      kind: "ticket-csp",
      label: "Other clouds (provisioned by our engineers)",
      summary: "Providers without a partner API, such as Oracle FastConnect or IBM Direct Link: onramp's ops engineers order the circuit with the provider, then onramp configures the rest.",
      bgpKey: () => true,
      settings: {
        bandwidthFixed: "Ordered from the provider by ticket, and so is a change of it: ask the operator's ops team.",
      },
      fields: [
        { name: "provider", label: "Provider", type: "select", required: true,
          optionsFrom: { path: "/v1/ticket-providers", value: (p) => p.key,
            label: (p) => `${p.name} (usually within ${p.expected_hours} h)` },
          hint: "The provider's engineers and ours work the order by hand; each step has a deadline." },
        { name: "location", label: "Location", type: "select", required: true,
          optionsFrom: { path: "/v1/locations", value: (l) => l.code,
            label: (l) => `${l.name} (${l.code}, ${l.region}), ${l.csp}`,
            filter: (l) => (l.kinds || []).includes("ticket-csp") },
          hint: "One of the chosen provider's locations." },
        { name: "bandwidth", label: "Bandwidth", type: "select", required: true, options: AWS_BANDWIDTHS, default: "1Gbps" },
        asn("customer_asn", "The ASN onramp's router speaks for you. Leave empty to get a private ASN from onramp."),
      ],
      // Nothing for the customer to do: the wait is on ops, and the page
      // says which manual step they are on.
      action: () => null,
      values: (c) => {
        const t = c.ticket || {};
        const step = t.waiting_on_step;
        return [
          ["Provider", t.provider_name || t.provider],
          ["Manual steps", t.manual_steps],
          ["In progress", step ? `step ${step.number} of ${t.manual_steps}: ${step.title} (onramp's ops engineers)` : "no manual step"],
          ["Bandwidth", c.bandwidth],
          ...peeringValues(c.peering, t.provider_name || "The provider"),
        ];
      },
    },
  ];
})();
