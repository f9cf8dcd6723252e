//! The rendered payload as a small owned element tree.
//!
//! libyang is handed a re-serialised copy of the payload rather than the
//! template output itself, for two reasons:
//! - the NETCONF `operation` attributes are checked here and removed, so the
//!   context does not need the `ietf-netconf` module (which libyang does not
//!   ship) just to accept an edit-config annotation;
//! - when the payload is refused, it is cut into one small document per leaf
//!   (see [`isolate`]) so that libyang, which stops at its first error,
//!   reports every bad leaf, not just the first one.

use std::fmt::Write as _;

/// `urn:ietf:params:xml:ns:netconf:base:1.0`: where `operation` lives.
pub(crate) const NETCONF_BASE_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";

/// The edit operations RFC 6241 §7.2 defines.
const EDIT_OPERATIONS: [&str; 5] = ["merge", "replace", "create", "delete", "remove"];

#[derive(Clone, Debug)]
pub(crate) struct Elem {
    pub ns: String,
    pub name: String,
    /// Attributes other than the NETCONF `operation`: (namespace, name, value).
    pub attrs: Vec<(Option<String>, String, String)>,
    /// The element's text when it has no child elements (a leaf value).
    /// Whitespace between child elements is dropped; other text beside child
    /// elements is kept so that libyang refuses it.
    pub text: String,
    pub children: Vec<Elem>,
}

impl Elem {
    pub(crate) fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }
}

/// An `operation` attribute seen on the way.
#[derive(Clone, Debug)]
pub(crate) struct EditOp {
    /// Element names from the top, e.g. `/interfaces/interface/unit`.
    pub path: String,
    pub value: String,
}

pub(crate) struct Payload {
    pub top: Vec<Elem>,
    pub ops: Vec<EditOp>,
}

impl Payload {
    /// Parses the children of `<config>`. The payload must declare every
    /// prefix it uses (the templates crate requires the same).
    pub(crate) fn parse(config_xml: &str) -> Result<Payload, String> {
        let wrapped = format!("<config>{config_xml}</config>");
        let doc = roxmltree::Document::parse(&wrapped).map_err(|e| e.to_string())?;
        let mut ops = Vec::new();
        let top = doc
            .root_element()
            .children()
            .filter(roxmltree::Node::is_element)
            .map(|n| convert(n, "", &mut ops))
            .collect();
        Ok(Payload { top, ops })
    }

    /// Operations whose value is not a NETCONF edit operation.
    pub(crate) fn bad_ops(&self) -> impl Iterator<Item = &EditOp> {
        self.ops
            .iter()
            .filter(|op| !EDIT_OPERATIONS.contains(&op.value.as_str()))
    }

    pub(crate) fn removes_something(&self) -> bool {
        self.ops
            .iter()
            .any(|op| matches!(op.value.as_str(), "delete" | "remove"))
    }

    /// NUL-terminated XML for libyang, which reads up to the NUL
    /// (`lyd_parse_data_mem`), not up to a length.
    pub(crate) fn to_c_xml(&self) -> Vec<u8> {
        to_c_xml(&self.top)
    }

    /// The values of every leaf named in `secret_leaves`.
    pub(crate) fn secret_values(&self, secret_leaves: &[String]) -> Vec<String> {
        fn walk(e: &Elem, names: &[String], out: &mut Vec<String>) {
            if e.is_leaf() && !e.text.is_empty() && names.contains(&e.name) {
                out.push(e.text.clone());
            }
            for c in &e.children {
                walk(c, names, out);
            }
        }
        let mut out = Vec::new();
        for e in &self.top {
            walk(e, secret_leaves, &mut out);
        }
        // Longest first, so a secret containing another is replaced whole.
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out
    }

    /// Every leaf (an element without child elements), as the chain of
    /// elements from the top down to it.
    pub(crate) fn leaf_chains(&self) -> Vec<Vec<&Elem>> {
        fn walk<'a>(e: &'a Elem, chain: &mut Vec<&'a Elem>, out: &mut Vec<Vec<&'a Elem>>) {
            chain.push(e);
            if e.is_leaf() {
                out.push(chain.clone());
            } else {
                for c in &e.children {
                    walk(c, chain, out);
                }
            }
            chain.pop();
        }
        let mut out = Vec::new();
        for e in &self.top {
            walk(e, &mut Vec::new(), &mut out);
        }
        out
    }
}

pub(crate) fn to_c_xml(top: &[Elem]) -> Vec<u8> {
    let mut s = String::new();
    for e in top {
        write_elem(&mut s, e, None);
    }
    let mut bytes = s.into_bytes();
    bytes.push(0);
    bytes
}

fn convert(node: roxmltree::Node<'_, '_>, parent_path: &str, ops: &mut Vec<EditOp>) -> Elem {
    let name = node.tag_name().name().to_string();
    let path = format!("{parent_path}/{name}");
    let mut attrs = Vec::new();
    for a in node.attributes() {
        if a.namespace() == Some(NETCONF_BASE_NS) && a.name() == "operation" {
            ops.push(EditOp {
                path: path.clone(),
                value: a.value().to_string(),
            });
        } else {
            attrs.push((
                a.namespace().map(str::to_string),
                a.name().to_string(),
                a.value().to_string(),
            ));
        }
    }
    let children: Vec<Elem> = node
        .children()
        .filter(roxmltree::Node::is_element)
        .map(|c| convert(c, &path, ops))
        .collect();
    let text: String = node
        .children()
        .filter(roxmltree::Node::is_text)
        .filter_map(|t| t.text())
        .collect();
    let text = if children.is_empty() || !text.trim().is_empty() {
        text
    } else {
        String::new()
    };
    Elem {
        ns: node.tag_name().namespace().unwrap_or("").to_string(),
        name,
        attrs,
        text,
        children,
    }
}

fn write_elem(out: &mut String, e: &Elem, parent_ns: Option<&str>) {
    out.push('<');
    out.push_str(&e.name);
    if parent_ns != Some(e.ns.as_str()) {
        let _ = write!(out, " xmlns=\"{}\"", escape(&e.ns));
    }
    for (i, (ns, name, value)) in e.attrs.iter().enumerate() {
        match ns {
            Some(ns) => {
                let _ = write!(
                    out,
                    " xmlns:a{i}=\"{}\" a{i}:{name}=\"{}\"",
                    escape(ns),
                    escape(value)
                );
            }
            None => {
                let _ = write!(out, " {name}=\"{}\"", escape(value));
            }
        }
    }
    out.push('>');
    out.push_str(&escape(&e.text));
    for c in &e.children {
        write_elem(out, c, Some(&e.ns));
    }
    out.push_str("</");
    out.push_str(&e.name);
    out.push('>');
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// A copy of the top element of `chain` that holds only the path down to
/// the last element of `chain`, plus, on every ancestor that is a list
/// entry, its key leaves (`keys_at(depth)` names them): the smallest
/// document in which libyang can judge that one leaf.
pub(crate) fn isolate(chain: &[&Elem], keys_at: impl Fn(usize) -> Vec<String>) -> Elem {
    let last = chain.len() - 1;
    let mut cur = chain[last].clone();
    for depth in (0..last).rev() {
        let ancestor = chain[depth];
        let along = chain[depth + 1];
        let keys = keys_at(depth);
        let children = ancestor
            .children
            .iter()
            .filter_map(|c| {
                if std::ptr::eq(c, along) {
                    Some(cur.clone())
                } else if c.is_leaf() && keys.contains(&c.name) {
                    Some(c.clone())
                } else {
                    None
                }
            })
            .collect();
        cur = Elem {
            ns: ancestor.ns.clone(),
            name: ancestor.name.clone(),
            attrs: ancestor.attrs.clone(),
            text: String::new(),
            children,
        };
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<a xmlns="urn:x" xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">
      <l><k>1</k><v>x &amp; y</v><w nc:operation="remove"><k2>z</k2></w></l>
    </a>"#;

    #[test]
    fn strips_operations_and_reserialises() {
        let p = Payload::parse(XML).unwrap();
        assert_eq!(p.ops.len(), 1);
        assert_eq!(p.ops[0].path, "/a/l/w");
        assert!(p.removes_something());
        let xml = p.to_c_xml();
        assert_eq!(xml.last(), Some(&0));
        let s = std::str::from_utf8(&xml[..xml.len() - 1]).unwrap();
        assert_eq!(
            s,
            r#"<a xmlns="urn:x"><l><k>1</k><v>x &amp; y</v><w><k2>z</k2></w></l></a>"#
        );
    }

    #[test]
    fn isolates_one_leaf_with_its_keys() {
        let p = Payload::parse(XML).unwrap();
        let chains = p.leaf_chains();
        let names: Vec<&str> = chains
            .iter()
            .map(|c| c.last().unwrap().name.as_str())
            .collect();
        assert_eq!(names, ["k", "v", "k2"]);
        let v = isolate(
            &chains[1],
            |d| if d == 1 { vec!["k".into()] } else { vec![] },
        );
        let xml = to_c_xml(&[v]);
        assert_eq!(
            std::str::from_utf8(&xml[..xml.len() - 1]).unwrap(),
            r#"<a xmlns="urn:x"><l><k>1</k><v>x &amp; y</v></l></a>"#
        );
    }
}
