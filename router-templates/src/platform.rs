//! A platform folder: `platform.json` + one minijinja template per operation.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use serde::Deserialize;

use crate::expect::{self, Expectation, NETCONF_BASE_NS, VerifyFailure};
use crate::xml::{self, XML_ESCAPE, escape};
use crate::{AttachmentIntent, Error, Operation, VrfIntent};

const PLATFORM_FILE: &str = "platform.json";

/// Device behaviour the NETCONF push must work around, declared by the
/// platform (not sprinkled through the workers).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quirks {
    /// netconfd 2.13: after a `<validate>` the next `<commit>` answers `<ok/>`
    /// and applies nothing. Its commit validates anyway, so skip the explicit
    /// `<validate>`.
    #[serde(default)]
    pub skip_explicit_validate: bool,
}

/// The `<default-operation>` of the `<edit-config>` that carries a payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultOperation {
    /// Create what is missing, update what differs (attachment create).
    #[default]
    Merge,
    Replace,
    /// Touch only the elements that carry an `operation` attribute, and
    /// create no parent on the way (attachment delete: removing a unit must
    /// not recreate a VRF that is gone).
    None,
}

impl DefaultOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            DefaultOperation::Merge => "merge",
            DefaultOperation::Replace => "replace",
            DefaultOperation::None => "none",
        }
    }
}

/// A rendered change for one PE: the `<config>` content of an
/// `<edit-config>`, how to apply it, and what running must show afterwards.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The children of `<config>` (the NETCONF client adds `<config>`).
    /// Contains secrets (BGP keys): never log it.
    pub config_xml: String,
    pub default_operation: DefaultOperation,
    pub expectations: Vec<Expectation>,
    /// Leaf names whose values are never shown in errors (e.g.
    /// `authentication-key`).
    pub secret_leaves: Vec<String>,
}

impl Rendered {
    /// Checks every expectation against the running datastore (the content
    /// of a `<get-config>` reply's `<data>`).
    pub fn verify(&self, running_xml: &str) -> Result<(), VerifyFailure> {
        expect::verify(&self.expectations, running_xml, &self.secret_leaves)
    }

    /// Each fact this change sets or removes, against the running datastore
    /// (a `<get-config>` reply's `<data>` content): what it replaces, adds
    /// or removes. Err: running does not parse.
    pub fn changes_against(&self, running_xml: &str) -> Result<Vec<expect::FactChange>, String> {
        expect::changes_against(&self.expectations, running_xml)
    }

    /// A `<get-config>` subtree filter selecting the top-level containers this
    /// change touches, so the read-back does not fetch the whole router.
    /// `None` when there are no expectations to check.
    pub fn running_filter(&self) -> Option<String> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for exp in &self.expectations {
            if let Some(top) = exp.path().first() {
                let key = (top.namespace.as_str(), top.name.as_str());
                if !seen.contains(&key) {
                    seen.push(key);
                }
            }
        }
        if seen.is_empty() {
            return None;
        }
        let filter = seen
            .iter()
            .map(|(ns, name)| {
                let ns = escape(ns).unwrap_or_default();
                if ns.is_empty() {
                    format!("<{name}/>")
                } else {
                    format!("<{name} xmlns=\"{ns}\"/>")
                }
            })
            .collect();
        Some(filter)
    }
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field(
                "config_xml",
                &format_args!("<{} bytes>", self.config_xml.len()),
            )
            .field("default_operation", &self.default_operation)
            .field("expectations", &self.expectations)
            .finish()
    }
}

// ===== platform.json =====

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlatformFile {
    name: String,
    #[serde(default)]
    description: String,
    /// Folder of the device's YANG modules, relative to the platform folder.
    #[serde(default)]
    yang_dir: Option<String>,
    operations: BTreeMap<String, OperationFile>,
    /// Key leaves of each list, by path of element names from the top,
    /// e.g. `"/interfaces/interface/unit": ["id"]`.
    #[serde(default)]
    list_keys: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    secret_leaves: Vec<String>,
    #[serde(default)]
    quirks: Quirks,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationFile {
    template: String,
    #[serde(default)]
    default_operation: DefaultOperation,
}

#[derive(Debug)]
struct OperationDef {
    template: String,
    default_operation: DefaultOperation,
}

/// A loaded platform: its templates parsed, ready to render.
pub struct Platform {
    name: String,
    dir: PathBuf,
    description: String,
    yang_dir: Option<PathBuf>,
    env: Environment<'static>,
    operations: HashMap<Operation, OperationDef>,
    list_keys: BTreeMap<String, Vec<String>>,
    secret_leaves: Vec<String>,
    quirks: Quirks,
}

impl fmt::Debug for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Platform")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("operations", &self.operations)
            .field("quirks", &self.quirks)
            .finish_non_exhaustive()
    }
}

// ===== impl Platform =====

impl Platform {
    /// Loads `<templates_root>/<name>/platform.json` and parses every
    /// template it names.
    pub fn load(templates_root: &Path, name: &str) -> Result<Platform, Error> {
        let dir = templates_root.join(name);
        let def_path = dir.join(PLATFORM_FILE);
        let definition_err = |detail: String| Error::Definition {
            platform: name.to_string(),
            path: def_path.clone(),
            detail,
        };
        if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
            return Err(definition_err("a platform name is one folder name".into()));
        }
        let raw = std::fs::read_to_string(&def_path).map_err(|source| Error::Read {
            platform: name.to_string(),
            path: def_path.clone(),
            source,
        })?;
        let file: PlatformFile =
            serde_json::from_str(&raw).map_err(|e| definition_err(e.to_string()))?;
        if file.name != name {
            return Err(definition_err(format!(
                "\"name\" is {:?} but the folder is {name:?}",
                file.name
            )));
        }
        if let Some(unknown) = file.operations.keys().find(|k| {
            !Operation::ALL
                .iter()
                .chain(Operation::OPTIONAL.iter())
                .any(|op| op.as_str() == k.as_str())
        }) {
            return Err(definition_err(format!(
                "unknown operation {unknown:?} (known: create, delete, detach, vrf-delete)"
            )));
        }

        if let Some(op) = Operation::ALL
            .iter()
            .find(|op| !file.operations.contains_key(op.as_str()))
        {
            return Err(definition_err(format!(
                "no template for operation \"{op}\" (every platform needs create and delete)"
            )));
        }

        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|template| {
            if template.ends_with(".xml.j2") || template.ends_with(".xml") {
                AutoEscape::Custom(XML_ESCAPE.into())
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(xml::formatter);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("default delimiters are valid"),
        );
        env.add_filter("ip", xml::ip_filter);
        env.add_filter("prefix_length", xml::prefix_length_filter);

        let mut operations = HashMap::new();
        let present = Operation::OPTIONAL
            .into_iter()
            .filter(|op| file.operations.contains_key(op.as_str()));
        for op in Operation::ALL.into_iter().chain(present) {
            let op_file = &file.operations[op.as_str()];
            let path = dir.join(&op_file.template);
            let source = std::fs::read_to_string(&path).map_err(|source| Error::Read {
                platform: name.to_string(),
                path: path.clone(),
                source,
            })?;
            env.add_template_owned(op_file.template.clone(), source)
                .map_err(|e| Error::TemplateSyntax {
                    platform: name.to_string(),
                    path: path.clone(),
                    detail: describe(&e),
                })?;
            operations.insert(
                op,
                OperationDef {
                    template: op_file.template.clone(),
                    default_operation: op_file.default_operation,
                },
            );
        }

        let yang_dir = file.yang_dir.as_ref().map(|y| dir.join(y));
        if let Some(y) = &yang_dir
            && !y.is_dir()
        {
            return Err(definition_err(format!(
                "yang_dir {} is not a folder",
                y.display()
            )));
        }

        Ok(Platform {
            name: file.name,
            dir,
            description: file.description,
            yang_dir,
            env,
            operations,
            list_keys: file.list_keys,
            secret_leaves: file.secret_leaves,
            quirks: file.quirks,
        })
    }

    /// The platforms under `templates_root`: every folder holding a
    /// `platform.json`, sorted.
    pub fn available(templates_root: &Path) -> std::io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(templates_root)?
            .filter_map(std::result::Result::ok)
            .filter(|e| e.path().join(PLATFORM_FILE).is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    pub fn quirks(&self) -> &Quirks {
        &self.quirks
    }

    /// The folder of the device's YANG modules, if the platform ships them.
    pub fn yang_dir(&self) -> Option<&Path> {
        self.yang_dir.as_deref()
    }

    /// Renders the payload of `op` for `intent` and derives what running must
    /// show once it is committed.
    pub fn render(&self, op: Operation, intent: &AttachmentIntent) -> Result<Rendered, Error> {
        self.render_value(op, Value::from(Serde(intent)))
    }

    /// Renders the removal of a whole VRF (`vrf-delete`), for a link's VRF
    /// on a PE none of its units uses any more.
    pub fn render_vrf_delete(&self, vrf: &VrfIntent) -> Result<Rendered, Error> {
        self.render_value(Operation::VrfDelete, context! { vrf => Serde(vrf) })
    }

    /// Whether the platform has a template for `op`.
    pub fn supports(&self, op: Operation) -> bool {
        self.operations.contains_key(&op)
    }

    fn render_value(&self, op: Operation, values: Value) -> Result<Rendered, Error> {
        let Some(def) = self.operations.get(&op) else {
            return Err(Error::Render {
                platform: self.name.clone(),
                template: format!("({op})"),
                detail: format!("platform {} has no {op} template", self.name),
            });
        };
        let render_err = |detail: String| Error::Render {
            platform: self.name.clone(),
            template: def.template.clone(),
            detail,
        };
        let template = self
            .env
            .get_template(&def.template)
            .map_err(|e| render_err(describe(&e)))?;
        let ctx = context! {
            operation => op.as_str(),
            platform => self.name.as_str(),
            ..values
        };
        let config_xml = template.render(ctx).map_err(|e| render_err(describe(&e)))?;

        // Parsed under a root that declares nothing, so a payload that leans on
        // a prefix declared by the NETCONF envelope fails here, not on the box.
        let wrapped = format!("<config>{config_xml}</config>");
        let doc = roxmltree::Document::parse(&wrapped).map_err(|e| Error::MalformedXml {
            platform: self.name.clone(),
            template: def.template.clone(),
            detail: e.to_string(),
        })?;
        let bad_op = doc
            .descendants()
            .filter_map(|n| n.attribute((NETCONF_BASE_NS, "operation")))
            .find(|v| !matches!(*v, "merge" | "replace" | "create" | "delete" | "remove"));
        if let Some(v) = bad_op {
            return Err(Error::MalformedXml {
                platform: self.name.clone(),
                template: def.template.clone(),
                detail: format!("operation=\"{v}\" is not a NETCONF edit operation"),
            });
        }
        let expectations = expect::derive(doc.root_element(), &self.list_keys, &self.secret_leaves);

        Ok(Rendered {
            config_xml,
            default_operation: def.default_operation,
            expectations,
            secret_leaves: self.secret_leaves.clone(),
        })
    }
}

/// minijinja errors carry the useful part (line, cause) in their chain.
fn describe(e: &minijinja::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
