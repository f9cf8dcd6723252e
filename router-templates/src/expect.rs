//! What the running datastore must (or must no longer) hold after a change.
//!
//! Expectations are derived from the rendered payload itself, so a template
//! author cannot forget to declare them: every leaf merged must read back with
//! its value, every list entry made of keys only must exist, every element
//! carrying `operation="remove"`/`"delete"` must be gone. The platform's
//! `list_keys` turn list entries into keyed path steps, so
//! `unit[id="100"]/vlan-id = "100"` is checked on that unit, not on any unit.

use std::collections::BTreeMap;
use std::fmt;

use roxmltree::Node;

use crate::xml::escape;

pub(crate) const NETCONF_BASE_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";

const EXCERPT_MAX_LINES: usize = 60;

/// One element on a path from the top of the datastore: its namespace, name
/// and, for a list entry, the key leaves that select it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Step {
    pub namespace: String,
    pub name: String,
    pub keys: Vec<(String, String)>,
}

impl Step {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            keys: Vec::new(),
        }
    }

    /// Adds a key leaf that selects one list entry.
    pub fn key(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.keys.push((name.into(), value.into()));
        self
    }

    fn matches(&self, node: &Node<'_, '_>) -> bool {
        node.is_element()
            && node.tag_name().name() == self.name
            && node.tag_name().namespace().unwrap_or("") == self.namespace
            && self.keys.iter().all(|(k, v)| {
                node.children()
                    .any(|c| c.is_element() && c.tag_name().name() == k && text(&c) == v)
            })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (k, v) in &self.keys {
            write!(f, "[{k}=\"{v}\"]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A fact about the running datastore, checked by reading it back after the
/// commit.
#[derive(Clone, PartialEq, Eq)]
pub enum Expectation {
    /// The leaf at `path` holds `value` (for a leaf-list: one entry does).
    /// `secret` values are never printed.
    Leaf {
        path: Vec<Step>,
        value: String,
        secret: bool,
    },
    /// Something exists at `path`: a list entry made of its keys only, an
    /// empty leaf or container.
    Present { path: Vec<Step> },
    /// Nothing exists at `path`.
    Absent { path: Vec<Step> },
}

impl Expectation {
    pub fn path(&self) -> &[Step] {
        match self {
            Expectation::Leaf { path, .. }
            | Expectation::Present { path }
            | Expectation::Absent { path } => path,
        }
    }

    fn holds(&self, root: Node<'_, '_>) -> bool {
        let found = resolve(root, self.path());
        match self {
            Expectation::Leaf { value, .. } => found.iter().any(|n| text(n) == value),
            Expectation::Present { .. } => !found.is_empty(),
            Expectation::Absent { .. } => found.is_empty(),
        }
    }
}

struct PathDisplay<'a>(&'a [Step]);

impl fmt::Display for PathDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in self.0 {
            write!(f, "/{step}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Leaf {
                path, secret: true, ..
            } => write!(f, "{} = <secret>", PathDisplay(path)),
            Expectation::Leaf { path, value, .. } => {
                write!(f, "{} = \"{value}\"", PathDisplay(path))
            }
            Expectation::Present { path } => write!(f, "present {}", PathDisplay(path)),
            Expectation::Absent { path } => write!(f, "absent {}", PathDisplay(path)),
        }
    }
}

impl fmt::Debug for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The first expectation running did not meet, and the part of running around
/// it (secrets redacted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyFailure {
    pub expectation: String,
    pub running_excerpt: String,
}

/// One fact of a change against what the PE carries now: the plan of a
/// change to a live attachment lists these, so a person sees exactly
/// which values are replaced, added or removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FactChange {
    /// The path, as in [`Expectation`]'s display.
    pub path: String,
    /// `replaced`, `added`, `removed` or `unchanged`.
    pub change: &'static str,
    /// The value now and after; secret values show as `<secret>`, and a
    /// container that exists without a value as the empty string.
    pub before: Option<String>,
    pub after: Option<String>,
}

pub(crate) fn changes_against(
    expectations: &[Expectation],
    running_xml: &str,
) -> Result<Vec<FactChange>, String> {
    let wrapped = format!("<data>{}</data>", strip_xml_decl(running_xml));
    let doc = roxmltree::Document::parse(&wrapped).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    let mut out = Vec::new();
    for exp in expectations {
        let found = resolve(root, exp.path());
        let path = PathDisplay(exp.path()).to_string();
        let (before, after) = match exp {
            Expectation::Leaf { value, .. } => {
                let before = if found.iter().any(|n| text(n) == value) {
                    Some(value.clone())
                } else {
                    found.first().map(|n| text(n).to_string())
                };
                (before, Some(value.clone()))
            }
            Expectation::Present { .. } => {
                ((!found.is_empty()).then(String::new), Some(String::new()))
            }
            Expectation::Absent { .. } => ((!found.is_empty()).then(String::new), None),
        };
        let change = match (&before, &after) {
            (None, None) => "unchanged",
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (Some(b), Some(a)) if b == a => "unchanged",
            (Some(_), Some(_)) => "replaced",
        };
        let secret = matches!(exp, Expectation::Leaf { secret: true, .. });
        let mask = |v: Option<String>| {
            if secret {
                v.map(|_| "<secret>".to_string())
            } else {
                v
            }
        };
        let (before, after) = (mask(before), mask(after));
        out.push(FactChange {
            path,
            change,
            before,
            after,
        });
    }
    Ok(out)
}

// ===== derivation =====

pub(crate) fn derive(
    config_root: Node<'_, '_>,
    list_keys: &BTreeMap<String, Vec<String>>,
    secret_leaves: &[String],
) -> Vec<Expectation> {
    let mut out = Vec::new();
    for child in config_root.children().filter(Node::is_element) {
        walk(child, &[], "", list_keys, secret_leaves, &mut out);
    }
    out
}

fn walk(
    node: Node<'_, '_>,
    parent: &[Step],
    parent_names: &str,
    list_keys: &BTreeMap<String, Vec<String>>,
    secret_leaves: &[String],
    out: &mut Vec<Expectation>,
) {
    let name = node.tag_name().name();
    let names = format!("{parent_names}/{name}");
    let key_names = list_keys.get(&names).map(Vec::as_slice).unwrap_or(&[]);
    let children: Vec<Node<'_, '_>> = node.children().filter(Node::is_element).collect();
    let is_key = |c: &Node<'_, '_>| {
        key_names.iter().any(|k| k == c.tag_name().name()) && !c.has_children_elements()
    };

    let mut step = Step::new(node.tag_name().namespace().unwrap_or(""), name);
    for k in key_names {
        if let Some(c) = children.iter().find(|c| c.tag_name().name() == k) {
            step.keys.push((k.clone(), text(c).to_string()));
        }
    }
    let mut path = parent.to_vec();
    path.push(step);

    if matches!(
        node.attribute((NETCONF_BASE_NS, "operation")),
        Some("remove" | "delete")
    ) {
        out.push(Expectation::Absent { path });
        return;
    }
    if children.is_empty() {
        let value = text(&node);
        out.push(if value.is_empty() {
            Expectation::Present { path }
        } else {
            Expectation::Leaf {
                path,
                value: value.to_string(),
                secret: secret_leaves.iter().any(|s| s == name),
            }
        });
        return;
    }
    let rest: Vec<_> = children.into_iter().filter(|c| !is_key(c)).collect();
    if rest.is_empty() {
        out.push(Expectation::Present { path });
        return;
    }
    for child in rest {
        walk(child, &path, &names, list_keys, secret_leaves, out);
    }
}

trait NodeExt {
    fn has_children_elements(&self) -> bool;
}

impl NodeExt for Node<'_, '_> {
    fn has_children_elements(&self) -> bool {
        self.children().any(|c| c.is_element())
    }
}

// ===== verification =====

/// Checks every expectation against a running datastore (the content of a
/// `<get-config>` reply's `<data>`: zero or more top-level elements).
pub(crate) fn verify(
    expectations: &[Expectation],
    running_xml: &str,
    secret_leaves: &[String],
) -> Result<(), VerifyFailure> {
    let wrapped = format!("<data>{}</data>", strip_xml_decl(running_xml));
    let doc = match roxmltree::Document::parse(&wrapped) {
        Ok(doc) => doc,
        Err(e) => {
            return Err(VerifyFailure {
                expectation: "running configuration parses as XML".into(),
                running_excerpt: format!("{e}; starts with: {}", head(running_xml, 400)),
            });
        }
    };
    let root = doc.root_element();
    for exp in expectations {
        if !exp.holds(root) {
            return Err(VerifyFailure {
                expectation: exp.to_string(),
                running_excerpt: excerpt(root, exp, secret_leaves),
            });
        }
    }
    Ok(())
}

fn strip_xml_decl(xml: &str) -> &str {
    let t = xml.trim_start();
    if t.starts_with("<?xml")
        && let Some(end) = t.find("?>")
    {
        return &t[end + 2..];
    }
    xml
}

fn head(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn text<'a>(node: &Node<'a, '_>) -> &'a str {
    node.text().unwrap_or("").trim()
}

fn resolve<'a, 'i>(root: Node<'a, 'i>, path: &[Step]) -> Vec<Node<'a, 'i>> {
    let mut level = vec![root];
    for step in path {
        level = level
            .iter()
            .flat_map(|n| n.children().filter(|c| step.matches(c)))
            .collect();
        if level.is_empty() {
            break;
        }
    }
    level
}

fn excerpt(root: Node<'_, '_>, exp: &Expectation, secret_leaves: &[String]) -> String {
    let path = exp.path();
    if let Expectation::Absent { .. } = exp
        && let Some(n) = resolve(root, path).first()
    {
        return serialize(*n, secret_leaves);
    }
    for depth in (1..=path.len()).rev() {
        if let Some(n) = resolve(root, &path[..depth]).first() {
            // A leaf with another value: show the element holding it.
            let shown = if depth == path.len() && depth > 1 {
                n.parent_element().unwrap_or(*n)
            } else {
                *n
            };
            return serialize(shown, secret_leaves);
        }
    }
    let tops: Vec<String> = root
        .children()
        .filter(Node::is_element)
        .map(|n| format!("<{}>", n.tag_name().name()))
        .collect();
    format!(
        "running holds no <{}> in namespace {}; its top-level elements: {}",
        path.first().map(|s| s.name.as_str()).unwrap_or(""),
        path.first().map(|s| s.namespace.as_str()).unwrap_or(""),
        if tops.is_empty() {
            "none".to_string()
        } else {
            tops.join(" ")
        }
    )
}

/// Pretty-prints an element for an error message; the values of secret
/// leaves are replaced, long subtrees are cut.
fn serialize(node: Node<'_, '_>, secret_leaves: &[String]) -> String {
    let mut lines = Vec::new();
    write_node(node, 0, true, secret_leaves, &mut lines);
    if lines.len() > EXCERPT_MAX_LINES {
        let cut = lines.len() - EXCERPT_MAX_LINES;
        lines.truncate(EXCERPT_MAX_LINES);
        lines.push(format!("... ({cut} more lines)"));
    }
    lines.join("\n")
}

fn write_node(
    node: Node<'_, '_>,
    depth: usize,
    top: bool,
    secret_leaves: &[String],
    lines: &mut Vec<String>,
) {
    let indent = "  ".repeat(depth);
    let name = node.tag_name().name();
    let xmlns = match node.tag_name().namespace() {
        Some(ns) if top => format!(" xmlns=\"{}\"", escape(ns).unwrap_or_default()),
        _ => String::new(),
    };
    if !node.has_children_elements() {
        let value = text(&node);
        if value.is_empty() {
            lines.push(format!("{indent}<{name}{xmlns}/>"));
        } else if secret_leaves.iter().any(|s| s == name) {
            lines.push(format!("{indent}<{name}{xmlns}>(redacted)</{name}>"));
        } else {
            let value = escape(value).unwrap_or_else(|_| "(unprintable)".into());
            lines.push(format!("{indent}<{name}{xmlns}>{value}</{name}>"));
        }
        return;
    }
    lines.push(format!("{indent}<{name}{xmlns}>"));
    for child in node.children().filter(Node::is_element) {
        write_node(child, depth + 1, false, secret_leaves, lines);
    }
    lines.push(format!("{indent}</{name}>"));
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "urn:example:pe";

    fn keys() -> BTreeMap<String, Vec<String>> {
        BTreeMap::from([
            ("/ifs/if".to_string(), vec!["name".to_string()]),
            ("/ifs/if/unit".to_string(), vec!["id".to_string()]),
        ])
    }

    fn derived(xml: &str) -> Vec<Expectation> {
        let doc = roxmltree::Document::parse(xml).unwrap();
        derive(doc.root_element(), &keys(), &["key".to_string()])
    }

    fn running(units: &str) -> String {
        format!(r#"<ifs xmlns="{NS}"><if><name>ge-0/0/1</name>{units}</if></ifs>"#)
    }

    #[test]
    fn a_change_names_what_it_replaces_adds_removes_and_keeps() {
        let exps = derived(&format!(
            r#"<config xmlns:nc="{NETCONF_BASE_NS}"><ifs xmlns="{NS}"><if><name>ge-0/0/1</name>
                 <unit><id>100</id><vlan>100</vlan><rate>200</rate><mtu>9000</mtu>
                 <key>n3w</key><bfd nc:operation="remove"/></unit></if></ifs></config>"#
        ));
        let now =
            running("<unit><id>100</id><vlan>100</vlan><rate>50</rate><key>0ld</key><bfd/></unit>");
        let changes = changes_against(&exps, &now).unwrap();
        let by = |leaf: &str| {
            changes
                .iter()
                .find(|c| c.path.ends_with(leaf))
                .unwrap_or_else(|| panic!("{leaf} in {changes:?}"))
        };
        assert_eq!(by("/vlan").change, "unchanged");
        let rate = by("/rate");
        assert_eq!(
            (rate.change, rate.before.as_deref(), rate.after.as_deref()),
            ("replaced", Some("50"), Some("200"))
        );
        assert_eq!(by("/mtu").change, "added");
        assert_eq!(by("/bfd").change, "removed");
        // Secrets never show, not even in a plan.
        let key = by("/key");
        assert_eq!(key.change, "replaced");
        assert_eq!(key.before.as_deref(), Some("<secret>"));
        assert_eq!(key.after.as_deref(), Some("<secret>"));
        assert!(!format!("{changes:?}").contains("0ld") && !format!("{changes:?}").contains("n3w"));
    }

    #[test]
    fn derives_keyed_leaves_presence_and_absence() {
        let exps = derived(&format!(
            r#"<config xmlns:nc="{NETCONF_BASE_NS}"><ifs xmlns="{NS}"><if><name>ge-0/0/1</name>
                 <unit><id>100</id><vlan>100</vlan><key>s3cret</key></unit>
                 <unit><id>7</id></unit>
                 <unit nc:operation="remove"><id>200</id></unit>
               </if></ifs></config>"#
        ));
        let shown: Vec<String> = exps.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                r#"/ifs/if[name="ge-0/0/1"]/unit[id="100"]/vlan = "100""#,
                r#"/ifs/if[name="ge-0/0/1"]/unit[id="100"]/key = <secret>"#,
                r#"present /ifs/if[name="ge-0/0/1"]/unit[id="7"]"#,
                r#"absent /ifs/if[name="ge-0/0/1"]/unit[id="200"]"#,
            ]
        );
        assert!(!format!("{exps:?}").contains("s3cret"));
    }

    #[test]
    fn verify_checks_the_keyed_entry_not_any_entry() {
        let exps = derived(&format!(
            r#"<config><ifs xmlns="{NS}"><if><name>ge-0/0/1</name>
                 <unit><id>100</id><vlan>100</vlan></unit></if></ifs></config>"#
        ));
        let ok = running("<unit><id>100</id><vlan>100</vlan></unit>");
        assert_eq!(verify(&exps, &ok, &[]), Ok(()));

        // vlan 100 exists, but on another unit.
        let elsewhere = running(
            "<unit><id>100</id><vlan>101</vlan></unit><unit><id>5</id><vlan>100</vlan></unit>",
        );
        let fail = verify(&exps, &elsewhere, &[]).unwrap_err();
        assert_eq!(
            fail.expectation,
            r#"/ifs/if[name="ge-0/0/1"]/unit[id="100"]/vlan = "100""#
        );
        assert!(
            fail.running_excerpt.contains("<vlan>101</vlan>"),
            "{}",
            fail.running_excerpt
        );

        // Same names in another namespace do not count.
        let other_ns = ok.replace(NS, "urn:example:other");
        let fail = verify(&exps, &other_ns, &[]).unwrap_err();
        assert!(
            fail.running_excerpt.contains("running holds no <ifs>"),
            "{}",
            fail.running_excerpt
        );
    }

    #[test]
    fn absent_fails_while_the_entry_is_still_there_and_redacts_secrets() {
        let exps = vec![Expectation::Absent {
            path: vec![
                Step::new(NS, "ifs"),
                Step::new(NS, "if").key("name", "ge-0/0/1"),
                Step::new(NS, "unit").key("id", "200"),
            ],
        }];
        let still = running("<unit><id>200</id><key>s3cret</key></unit>");
        let fail = verify(&exps, &still, &["key".to_string()]).unwrap_err();
        assert!(fail.running_excerpt.contains("<key>(redacted)</key>"));
        assert!(!fail.running_excerpt.contains("s3cret"));
        assert_eq!(verify(&exps, &running(""), &[]), Ok(()));
    }

    #[test]
    fn unparsable_running_fails_closed() {
        let exps = vec![Expectation::Present {
            path: vec![Step::new(NS, "ifs")],
        }];
        assert!(verify(&exps, "<ifs", &[]).is_err());
        assert!(
            verify(
                &exps,
                "<?xml version=\"1.0\"?><ifs xmlns=\"urn:example:pe\"/>",
                &[]
            )
            .is_ok()
        );
    }
}
