//! Folds the payloads of consecutive changes of a batch into as few
//! `<edit-config>`s as possible, without changing what the batch does.
//!
//! Why: a router may validate the whole candidate on every `<edit-config>`
//! (netconfd does, and its cost grows with the size of the configuration),
//! so fifty edits cost fifty validations where one merged edit costs one.
//!
//! The merge is structural, never a blind concatenation: the result is valid
//! instance data, with each list entry once. List entries are matched by
//! their keys, which the changes' own expectations carry (the platform's
//! `list_keys`); a change without expectations is never merged. Anything the
//! merge cannot prove equivalent to applying the changes one after the other
//! goes into an edit of its own:
//!
//! - different `default-operation`s, or `replace` (replacing A then B is not
//!   replacing A and B);
//! - the same leaf with two values, a leaf-list growing across changes, or an
//!   element carrying an `operation` attribute whose subtree differs from the
//!   one it meets (`remove` meeting `remove` of the same entry is fine);
//! - payloads that do not parse, declare namespace prefixes other than the
//!   NETCONF base one (a prefix inside a value, e.g. an identityref, would
//!   lose its declaration) or mix text and elements.
//!
//! If the router refuses a merged edit anyway, the adapter discards the
//! candidate and replays the batch one change per edit, which names the
//! change at fault.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use onramp_router_templates::{DefaultOperation, Rendered};

const NETCONF_BASE_NS: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// One `<edit-config>` of a batch.
#[derive(Debug)]
pub(crate) struct Edit<'a> {
    /// The changes it carries, by index in the batch, ascending.
    pub indices: Vec<usize>,
    /// The children of `<config>`.
    pub xml: Cow<'a, str>,
    pub default_operation: DefaultOperation,
}

/// The edits that apply `changes` in order: one per change when nothing can
/// be merged, one in all when everything can.
pub(crate) fn plan(changes: &[Rendered]) -> Vec<Edit<'_>> {
    if let [change] = changes {
        return vec![single(0, change)];
    }
    let mut edits = Vec::new();
    let mut group: Option<Group> = None;
    for (index, change) in changes.iter().enumerate() {
        let parsed = if change.default_operation == DefaultOperation::Replace {
            None
        } else {
            Payload::parse(change)
        };
        let Some(parsed) = parsed else {
            flush(&mut group, changes, &mut edits);
            edits.push(single(index, change));
            continue;
        };
        if let Some(g) = group.as_mut()
            && g.default_operation == change.default_operation
            && g.absorb(index, &parsed)
        {
            continue;
        }
        flush(&mut group, changes, &mut edits);
        group = Some(Group::start(index, change.default_operation, parsed));
    }
    flush(&mut group, changes, &mut edits);
    edits
}

fn single(index: usize, change: &Rendered) -> Edit<'_> {
    Edit {
        indices: vec![index],
        xml: Cow::Borrowed(&change.config_xml),
        default_operation: change.default_operation,
    }
}

fn flush<'a>(group: &mut Option<Group>, changes: &'a [Rendered], edits: &mut Vec<Edit<'a>>) {
    let Some(g) = group.take() else { return };
    if let [index] = g.indices[..] {
        // Alone: send exactly what the template rendered.
        edits.push(single(index, &changes[index]));
        return;
    }
    let mut xml = String::new();
    for el in &g.roots {
        write_element(el, "", &mut xml);
    }
    edits.push(Edit {
        indices: g.indices,
        xml: Cow::Owned(xml),
        default_operation: g.default_operation,
    });
}

// ===== tree =====

#[derive(Clone, Debug, PartialEq, Eq)]
struct Attr {
    ns: String,
    name: String,
    value: String,
}

#[derive(Clone, Debug)]
struct Element {
    ns: String,
    name: String,
    attrs: Vec<Attr>,
    /// A leaf's value (children is empty); ignored otherwise.
    text: String,
    children: Vec<Element>,
    /// The change that brought this element into the merged tree.
    origin: usize,
}

impl Element {
    fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    fn same_name(&self, other: &Element) -> bool {
        self.name == other.name && self.ns == other.ns
    }

    fn has_operation(&self) -> bool {
        self.attrs
            .iter()
            .any(|a| a.ns == NETCONF_BASE_NS && a.name == "operation")
    }

    /// Same subtree, origins aside.
    fn same_tree(&self, other: &Element) -> bool {
        self.same_name(other)
            && self.attrs == other.attrs
            && (if self.is_leaf() {
                other.is_leaf() && self.text == other.text
            } else {
                self.children.len() == other.children.len()
                    && self
                        .children
                        .iter()
                        .zip(&other.children)
                        .all(|(a, b)| a.same_tree(b))
            })
    }

    fn key_text(&self, key: &str) -> Option<&str> {
        self.children
            .iter()
            .find(|c| c.name == key && c.is_leaf())
            .map(|c| c.text.as_str())
    }

    fn set_origin(&mut self, origin: usize) {
        self.origin = origin;
        for c in &mut self.children {
            c.set_origin(origin);
        }
    }
}

/// Key leaf names of each list, by path of element names from the top
/// (`/interfaces/interface/unit` -> `["id"]`), as the expectations show them.
type KeyMap = HashMap<String, Vec<String>>;

struct Payload {
    roots: Vec<Element>,
    keys: KeyMap,
}

impl Payload {
    /// `None` when the change must go alone (see the module docs).
    fn parse(change: &Rendered) -> Option<Payload> {
        if change.expectations.is_empty() {
            return None;
        }
        let wrapped = format!("<batch-root>{}</batch-root>", change.config_xml);
        let doc = roxmltree::Document::parse(&wrapped).ok()?;
        let mut roots = Vec::new();
        for node in doc.root_element().children() {
            if node.is_element() {
                roots.push(convert(node)?);
            } else if node.is_text() && !node.text().unwrap_or("").trim().is_empty() {
                return None;
            }
        }
        if roots.is_empty() {
            return None;
        }
        let mut keys = KeyMap::new();
        for exp in &change.expectations {
            let mut names = String::new();
            for step in exp.path() {
                names.push('/');
                names.push_str(&step.name);
                if !step.keys.is_empty() {
                    keys.entry(names.clone())
                        .or_insert_with(|| step.keys.iter().map(|(k, _)| k.clone()).collect());
                }
            }
        }
        Some(Payload { roots, keys })
    }
}

fn convert(node: roxmltree::Node<'_, '_>) -> Option<Element> {
    // Prefixes are re-declared on output only for attributes; a prefix used
    // in a value would be lost, so refuse any but the NETCONF base one.
    for ns in node.namespaces() {
        if ns.name().is_some() && ns.uri() != NETCONF_BASE_NS && ns.uri() != XML_NS {
            return None;
        }
    }
    let mut el = Element {
        ns: node.tag_name().namespace().unwrap_or("").to_string(),
        name: node.tag_name().name().to_string(),
        attrs: node
            .attributes()
            .map(|a| Attr {
                ns: a.namespace().unwrap_or("").to_string(),
                name: a.name().to_string(),
                value: a.value().to_string(),
            })
            .collect(),
        text: String::new(),
        children: Vec::new(),
        origin: 0,
    };
    let mut text = String::new();
    for child in node.children() {
        if child.is_element() {
            el.children.push(convert(child)?);
        } else if child.is_text() {
            text.push_str(child.text().unwrap_or(""));
        }
    }
    if el.children.is_empty() {
        el.text = text;
    } else if !text.trim().is_empty() {
        return None;
    }
    Some(el)
}

// ===== merging =====

struct Group {
    default_operation: DefaultOperation,
    indices: Vec<usize>,
    roots: Vec<Element>,
    keys: KeyMap,
}

struct Conflict;

impl Group {
    fn start(index: usize, default_operation: DefaultOperation, p: Payload) -> Group {
        let mut roots = p.roots;
        for r in &mut roots {
            r.set_origin(index);
        }
        Group {
            default_operation,
            indices: vec![index],
            roots,
            keys: p.keys,
        }
    }

    /// Merges the change in, or leaves the group untouched and says no.
    fn absorb(&mut self, index: usize, p: &Payload) -> bool {
        for (path, names) in &p.keys {
            if self.keys.get(path).is_some_and(|known| known != names) {
                return false;
            }
        }
        let mut keys = self.keys.clone();
        for (path, names) in &p.keys {
            keys.entry(path.clone()).or_insert_with(|| names.clone());
        }
        // Check first, then merge: the group stays as it was on a conflict,
        // without copying the whole tree for every change.
        if check_children(&self.roots, &p.roots, "", &keys, index).is_err() {
            return false;
        }
        merge_children(&mut self.roots, &p.roots, "", &keys, index);
        self.keys = keys;
        self.indices.push(index);
        true
    }
}

/// What merging `src` into the siblings `into` meets.
enum Meets {
    /// Nothing of its name: appended.
    Nothing,
    /// The same leaf with the same value, or the same operation on the same
    /// subtree: nothing to add.
    Same,
    /// The same container or list entry: merge the children.
    Entry(usize),
}

fn meets(
    into: &[Element],
    src: &Element,
    key_names: &[String],
    origin: usize,
) -> Result<Meets, Conflict> {
    if src.is_leaf() {
        let mut seen_from_other_change = false;
        for t in into.iter().filter(|t| t.same_name(src)) {
            if !t.is_leaf() {
                return Err(Conflict);
            }
            if t.text == src.text && t.attrs == src.attrs {
                return Ok(Meets::Same); // the same leaf (or leaf-list entry)
            }
            seen_from_other_change |= t.origin != origin;
        }
        // Another value for a leaf an earlier change set: applied in order
        // the later one wins, merged it would be a duplicate. (For a
        // leaf-list it would be one more entry; without the schema we cannot
        // tell, so keep the edits apart.)
        return if seen_from_other_change {
            Err(Conflict)
        } else {
            Ok(Meets::Nothing)
        };
    }
    let found = into.iter().position(|t| {
        if !t.same_name(src) || t.is_leaf() {
            return false;
        }
        if key_names.is_empty() {
            // A container. Twice in one change it would be a list entry
            // whose keys nobody declared: keep them apart.
            t.origin != origin
        } else {
            key_names.iter().all(|k| {
                let a = t.key_text(k);
                a.is_some() && a == src.key_text(k)
            })
        }
    });
    let Some(i) = found else {
        return Ok(Meets::Nothing);
    };
    let target = &into[i];
    if target.attrs != src.attrs {
        return Err(Conflict);
    }
    if target.has_operation() {
        // remove/create/replace... met again: only the very same operation
        // on the very same subtree folds into one.
        return if target.same_tree(src) {
            Ok(Meets::Same)
        } else {
            Err(Conflict)
        };
    }
    Ok(Meets::Entry(i))
}

fn check_children(
    into: &[Element],
    from: &[Element],
    parent_path: &str,
    keys: &KeyMap,
    origin: usize,
) -> Result<(), Conflict> {
    for src in from {
        let path = format!("{parent_path}/{}", src.name);
        let key_names = keys.get(&path).map(Vec::as_slice).unwrap_or(&[]);
        if let Meets::Entry(i) = meets(into, src, key_names, origin)? {
            check_children(&into[i].children, &src.children, &path, keys, origin)?;
        }
    }
    Ok(())
}

/// Only after [`check_children`] said yes (same decisions, now applied).
fn merge_children(
    into: &mut Vec<Element>,
    from: &[Element],
    parent_path: &str,
    keys: &KeyMap,
    origin: usize,
) {
    for src in from {
        let path = format!("{parent_path}/{}", src.name);
        let key_names = keys.get(&path).map(Vec::as_slice).unwrap_or(&[]);
        match meets(into, src, key_names, origin) {
            Ok(Meets::Same) => {}
            Ok(Meets::Entry(i)) => {
                merge_children(&mut into[i].children, &src.children, &path, keys, origin)
            }
            // Nothing met (or, for a payload repeating one list entry, what
            // the check could not see): add it as it is.
            Ok(Meets::Nothing) | Err(Conflict) => {
                let mut el = src.clone();
                el.set_origin(origin);
                into.push(el);
            }
        }
    }
}

// ===== output =====

fn write_element(el: &Element, parent_ns: &str, out: &mut String) {
    out.push('<');
    out.push_str(&el.name);
    if el.ns != parent_ns {
        let _ = write!(out, " xmlns=\"{}\"", escape(&el.ns));
    }
    for (i, a) in el.attrs.iter().enumerate() {
        if a.ns.is_empty() {
            let _ = write!(out, " {}=\"{}\"", a.name, escape(&a.value));
        } else {
            let prefix = if a.ns == NETCONF_BASE_NS {
                "nc".to_string()
            } else {
                format!("a{i}")
            };
            let _ = write!(
                out,
                " xmlns:{prefix}=\"{}\" {prefix}:{}=\"{}\"",
                escape(&a.ns),
                a.name,
                escape(&a.value)
            );
        }
    }
    if el.is_leaf() {
        if el.text.is_empty() {
            out.push_str("/>");
        } else {
            out.push('>');
            out.push_str(&escape(&el.text));
            let _ = write!(out, "</{}>", el.name);
        }
        return;
    }
    out.push('>');
    for c in &el.children {
        write_element(c, &el.ns, out);
    }
    let _ = write!(out, "</{}>", el.name);
}

fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onramp_router_templates::{Expectation, Step};

    const NS: &str = "urn:example:pe";

    /// A change on unit `id` of ge-0/0/1 plus a neighbor, shaped like the
    /// reference platform's create.
    fn create(id: u32, vlan: u32, rd: &str) -> Rendered {
        let xml = format!(
            r#"<ifs xmlns="{NS}"><if><name>ge-0/0/1</name><unit><id>{id}</id><vlan>{vlan}</vlan><descr>a &amp; b</descr></unit></if></ifs>
               <vrfs xmlns="{NS}"><vrf><name>V</name><rd>{rd}</rd><rt>target:1:1</rt><member><name>ge-0/0/1</name><unit>{id}</unit></member></vrf></vrfs>"#
        );
        Rendered {
            config_xml: xml,
            default_operation: DefaultOperation::Merge,
            expectations: vec![
                Expectation::Leaf {
                    path: vec![
                        Step::new(NS, "ifs"),
                        Step::new(NS, "if").key("name", "ge-0/0/1"),
                        Step::new(NS, "unit").key("id", id.to_string()),
                        Step::new(NS, "vlan"),
                    ],
                    value: vlan.to_string(),
                    secret: false,
                },
                Expectation::Present {
                    path: vec![
                        Step::new(NS, "vrfs"),
                        Step::new(NS, "vrf").key("name", "V"),
                        Step::new(NS, "member")
                            .key("name", "ge-0/0/1")
                            .key("unit", id.to_string()),
                    ],
                },
            ],
            secret_leaves: vec![],
        }
    }

    fn delete(id: u32) -> Rendered {
        Rendered {
            config_xml: format!(
                r#"<ifs xmlns="{NS}" xmlns:nc="{NETCONF_BASE_NS}"><if><name>ge-0/0/1</name><unit nc:operation="remove"><id>{id}</id></unit></if></ifs>"#
            ),
            default_operation: DefaultOperation::None,
            expectations: vec![Expectation::Absent {
                path: vec![
                    Step::new(NS, "ifs"),
                    Step::new(NS, "if").key("name", "ge-0/0/1"),
                    Step::new(NS, "unit").key("id", id.to_string()),
                ],
            }],
            secret_leaves: vec![],
        }
    }

    fn reparse(xml: &str) -> String {
        // Canonical form for comparisons: the merged output re-merged alone.
        let wrapped = format!("<r>{xml}</r>");
        let doc = roxmltree::Document::parse(&wrapped).unwrap();
        let mut out = String::new();
        for n in doc
            .root_element()
            .children()
            .filter(roxmltree::Node::is_element)
        {
            write_element(&convert(n).unwrap(), "", &mut out);
        }
        out
    }

    #[test]
    fn creates_on_one_port_and_vrf_fold_into_one_edit_with_each_entry_once() {
        let changes = vec![create(101, 101, "1:1"), create(102, 102, "1:1")];
        let edits = plan(&changes);
        assert_eq!(edits.len(), 1, "{edits:?}");
        assert_eq!(edits[0].indices, vec![0, 1]);
        assert_eq!(edits[0].default_operation, DefaultOperation::Merge);
        let xml = &edits[0].xml;
        assert_eq!(xml.matches("<name>ge-0/0/1</name>").count(), 3, "{xml}");
        assert_eq!(xml.matches("<if>").count(), 1, "{xml}");
        assert_eq!(xml.matches("<vrf>").count(), 1, "{xml}");
        assert_eq!(xml.matches("<rd>1:1</rd>").count(), 1, "{xml}");
        assert_eq!(xml.matches("<unit><id>").count(), 2, "{xml}");
        assert_eq!(xml.matches("<member>").count(), 2, "{xml}");
        assert!(xml.contains("<descr>a &amp; b</descr>"), "{xml}");
        assert_eq!(
            xml.matches(&format!("xmlns=\"{NS}\"")).count(),
            2,
            "namespace declared once per top element: {xml}"
        );
        assert_eq!(reparse(xml), xml.as_ref());
    }

    #[test]
    fn a_leaf_set_twice_to_different_values_splits_the_edit() {
        let changes = vec![
            create(101, 101, "1:1"),
            create(102, 102, "2:2"),
            create(103, 103, "2:2"),
        ];
        let edits = plan(&changes);
        let groups: Vec<_> = edits.iter().map(|e| e.indices.clone()).collect();
        assert_eq!(groups, vec![vec![0], vec![1, 2]]);
        // A group of one is sent exactly as rendered.
        assert_eq!(edits[0].xml, changes[0].config_xml);
    }

    #[test]
    fn default_operations_are_never_mixed_and_replace_goes_alone() {
        let mut replace = create(104, 104, "1:1");
        replace.default_operation = DefaultOperation::Replace;
        let changes = vec![
            create(101, 101, "1:1"),
            delete(101),
            delete(102),
            create(103, 103, "1:1"),
            replace.clone(),
            replace,
        ];
        let edits = plan(&changes);
        let groups: Vec<_> = edits
            .iter()
            .map(|e| (e.indices.clone(), e.default_operation))
            .collect();
        assert_eq!(
            groups,
            vec![
                (vec![0], DefaultOperation::Merge),
                (vec![1, 2], DefaultOperation::None),
                (vec![3], DefaultOperation::Merge),
                (vec![4], DefaultOperation::Replace),
                (vec![5], DefaultOperation::Replace),
            ]
        );
        let removes = &edits[1].xml;
        assert_eq!(
            removes
                .matches(&format!(
                    "<unit xmlns:nc=\"{NETCONF_BASE_NS}\" nc:operation=\"remove\">"
                ))
                .count(),
            2,
            "{removes}"
        );
    }

    #[test]
    fn the_same_removal_twice_folds_but_a_removal_meeting_content_does_not() {
        let twice = [delete(101), delete(101)];
        let edits = plan(&twice);
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].xml.matches("operation=\"remove\"").count(), 1);

        // default-operation none, a unit removed then re-created with an
        // explicit operation: applied in order it exists, merged it would be
        // ambiguous.
        let mut recreate = delete(101);
        recreate.config_xml = recreate.config_xml.replace(
            r#"nc:operation="remove"><id>101</id>"#,
            r#"nc:operation="create"><id>101</id><vlan>7</vlan>"#,
        );
        let changes = [delete(101), recreate];
        let edits = plan(&changes);
        assert_eq!(edits.len(), 2);
    }

    #[test]
    fn changes_the_merge_cannot_reason_about_go_alone() {
        let no_expectations = Rendered {
            config_xml: format!("<ifs xmlns=\"{NS}\"><if><name>x</name></if></ifs>"),
            ..Rendered::default()
        };
        let mut prefixed = create(102, 102, "1:1");
        prefixed.config_xml = prefixed
            .config_xml
            .replace("<vlan>102</vlan>", "<vlan xmlns:x=\"urn:x\">x:102</vlan>");
        let mut broken = create(103, 103, "1:1");
        broken.config_xml.push_str("<unclosed>");
        let changes = vec![
            create(100, 100, "1:1"),
            no_expectations,
            create(101, 101, "1:1"),
            prefixed,
            broken,
        ];
        let groups: Vec<_> = plan(&changes).iter().map(|e| e.indices.clone()).collect();
        assert_eq!(
            groups,
            vec![vec![0], vec![1], vec![2], vec![3], vec![4]],
            "each unmergeable change breaks the run"
        );
    }

    #[test]
    fn a_leaf_list_stays_within_one_change_and_splits_across_changes() {
        let mut a = create(101, 101, "1:1");
        a.config_xml = a.config_xml.replace(
            "<rt>target:1:1</rt>",
            "<rt>target:1:1</rt><rt>target:1:2</rt>",
        );
        let alone = [a.clone()];
        let edits = plan(&alone);
        assert_eq!(edits[0].xml.matches("<rt>").count(), 2);
        let mut b = create(102, 102, "1:1");
        b.config_xml = b.config_xml.replace("target:1:1", "target:1:3");
        let groups: Vec<_> = plan(&[a, b]).iter().map(|e| e.indices.clone()).collect();
        assert_eq!(groups, vec![vec![0], vec![1]]);
    }

    #[test]
    fn five_hundred_creates_make_one_edit() {
        let changes: Vec<_> = (1..=500).map(|n| create(n, n, "1:1")).collect();
        let edits = plan(&changes);
        assert_eq!(edits.len(), 1);
        assert_eq!(edits[0].indices.len(), 500);
        assert_eq!(edits[0].xml.matches("<unit><id>").count(), 500);
    }
}
