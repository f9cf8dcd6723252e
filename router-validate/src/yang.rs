//! Layer (b) of DESIGN.md rule 5: the rendered payload checked against the
//! device's YANG modules with libyang (through `yang2`).
//!
//! What is checked: every element exists in the modules (unknown elements
//! and attributes are errors), every value fits its type (ranges, patterns,
//! lengths, enumerations), list entries carry their keys, no state data.
//! What is not: `mandatory`, `must`, `when`, leafref targets, `unique` and
//! element counts. Those are properties of a whole datastore, and a payload
//! is a fragment merged into one: a neighbor added to a VRF that already
//! exists on the box carries no route-distinguisher, a VRF membership points
//! at a unit that exists on the box, not in the payload. The device checks
//! them at commit (rule 5c).

use std::path::{Path, PathBuf};

use onramp_router_templates::{Operation, Platform, Rendered};
use yang2::context::{Context, ContextFlags};
use yang2::data::{DataFormat, DataParserFlags, DataTree, DataValidationFlags};
use yang2::schema::SchemaNodeKind;

use crate::Error;
use crate::payload::{self, Elem, Payload};

/// One thing libyang (or the edit-config envelope check) refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct YangError {
    /// libyang's message, e.g. `Unsatisfied range - value "5000" is out of
    /// type range.`; secrets are replaced by `<redacted>`.
    pub message: String,
    /// libyang's data path of the offending node, e.g.
    /// `/onramp-pe:interfaces/interface[name='ge-0/0/1']/unit[id='100']/vlan-id`.
    pub path: Option<String>,
}

impl std::fmt::Display for YangError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A libyang context with one platform's modules loaded.
///
/// `Send + Sync`: the modules are loaded once in the constructor and never
/// changed afterwards, validation takes `&self`, and libyang keeps its
/// last-error record per thread and per context, so one validator per
/// platform can be built at worker start and shared (`Arc<YangValidator>`)
/// by every task and thread. Building one costs milliseconds (the modules
/// are parsed and compiled); validating costs microseconds.
pub struct YangValidator {
    ctx: Context,
    platform: Option<String>,
    dir: PathBuf,
    modules: Vec<String>,
}

// The sharing promise above, checked by the compiler.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<YangValidator>();
};

impl std::fmt::Debug for YangValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YangValidator")
            .field("platform", &self.platform)
            .field("dir", &self.dir)
            .field("modules", &self.modules)
            .finish_non_exhaustive()
    }
}

impl YangValidator {
    /// Loads the modules of the platform's `yang_dir`. A platform without
    /// one (e.g. `openconfig`, whose current models libyang-based tooling on
    /// this stack cannot load as a set) gets [`Error::NoYangModules`]: the
    /// caller decides to push without layer (b), and says so.
    pub fn for_platform(platform: &Platform) -> Result<Self, Error> {
        let dir = platform.yang_dir().ok_or_else(|| Error::NoYangModules {
            platform: platform.name().to_string(),
        })?;
        let mut v = Self::from_dir(dir)?;
        v.platform = Some(platform.name().to_string());
        Ok(v)
    }

    /// Loads every `*.yang` / `*.yin` file of `dir` as an implemented module
    /// with all its features enabled (the folder holds what the device runs;
    /// which features it enables is the device's business, so nothing it
    /// could carry is refused here). Imports resolve from the same folder
    /// and libyang's built-in modules (ietf-inet-types, ietf-yang-types...).
    pub fn from_dir(dir: &Path) -> Result<Self, Error> {
        let load_err = |detail: String| Error::YangLoad {
            dir: dir.to_path_buf(),
            detail,
        };
        let mut files: Vec<(String, Option<String>)> = std::fs::read_dir(dir)
            .map_err(|source| Error::YangDir {
                dir: dir.to_path_buf(),
                source,
            })?
            .filter_map(std::result::Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|f| {
                let stem = f.strip_suffix(".yang").or_else(|| f.strip_suffix(".yin"))?;
                Some(match stem.split_once('@') {
                    Some((name, rev)) => (name.to_string(), Some(rev.to_string())),
                    None => (stem.to_string(), None),
                })
            })
            .collect();
        files.sort();
        files.dedup();
        if files.is_empty() {
            return Err(load_err("no *.yang or *.yin file".into()));
        }

        // No search in the working directory: only the platform's folder
        // decides which modules (and revisions) the payload is judged by.
        let mut ctx =
            Context::new(ContextFlags::NO_YANGLIBRARY | ContextFlags::DISABLE_SEARCHDIR_CWD)
                .map_err(|e| load_err(format!("cannot create a libyang context: {e}")))?;
        ctx.set_searchdir(dir)
            .map_err(|e| load_err(format!("cannot search the folder: {e}")))?;
        let mut modules = Vec::new();
        for (name, rev) in &files {
            let module = ctx.load_module(name, rev.as_deref(), &["*"]).map_err(|e| {
                load_err(format!(
                    "module {name}{}: {}",
                    rev.as_deref().map(|r| format!("@{r}")).unwrap_or_default(),
                    describe(&e)
                ))
            })?;
            modules.push(match module.revision() {
                Some(r) => format!("{}@{r}", module.name()),
                None => module.name().to_string(),
            });
        }
        Ok(YangValidator {
            ctx,
            platform: None,
            dir: dir.to_path_buf(),
            modules,
        })
    }

    /// The platform this validator was built for (`None` from
    /// [`YangValidator::from_dir`]).
    pub fn platform(&self) -> Option<&str> {
        self.platform.as_deref()
    }

    /// The loaded modules, `name@revision`.
    pub fn modules(&self) -> &[String] {
        &self.modules
    }

    /// Validates a rendered edit-config payload (the children of
    /// `<config>`, possibly carrying `nc:operation` attributes) against the
    /// modules. Every refused leaf is reported with libyang's message and
    /// data path. A payload that carries secrets should go through
    /// [`YangValidator::validate_rendered`], which keeps them out of the
    /// messages.
    pub fn validate(&self, op: Operation, config_xml: &str) -> Result<(), Vec<YangError>> {
        self.validate_redacting(op, config_xml, &[])
    }

    /// [`YangValidator::validate`] for a rendered change: values of the
    /// platform's secret leaves (BGP keys) never appear in the errors, even
    /// when the key itself is what libyang refused (DESIGN.md rule 8).
    pub fn validate_rendered(
        &self,
        op: Operation,
        rendered: &Rendered,
    ) -> Result<(), Vec<YangError>> {
        self.validate_redacting(op, &rendered.config_xml, &rendered.secret_leaves)
    }

    fn validate_redacting(
        &self,
        op: Operation,
        config_xml: &str,
        secret_leaves: &[String],
    ) -> Result<(), Vec<YangError>> {
        let payload = Payload::parse(config_xml).map_err(|detail| {
            vec![YangError {
                message: format!("the payload is not well-formed XML: {detail}"),
                path: None,
            }]
        })?;

        let mut errors = envelope_errors(op, &payload);
        if let Err(first) = self.parse(&payload.to_c_xml()) {
            // libyang stops at its first error: judge each leaf on its own
            // to find the others. Only refused payloads pay for this.
            errors.extend(self.every_error(&payload, first));
        }
        if errors.is_empty() {
            return Ok(());
        }
        let secrets = payload.secret_values(secret_leaves);
        for e in &mut errors {
            for s in &secrets {
                e.message = e.message.replace(s.as_str(), "<redacted>");
                if let Some(p) = &mut e.path {
                    *p = p.replace(s.as_str(), "<redacted>");
                }
            }
        }
        Err(errors)
    }

    /// Parses without datastore-level validation (see the module comment),
    /// strictly (unknown nodes are errors), refusing state data.
    /// `c_xml` ends with NUL: `lyd_parse_data_mem` reads up to a NUL byte,
    /// not up to a length, and would otherwise run into whatever follows
    /// the buffer in memory.
    fn parse(&self, c_xml: &[u8]) -> Result<(), YangError> {
        debug_assert_eq!(c_xml.last(), Some(&0), "libyang input must end with NUL");
        DataTree::parse_string(
            &self.ctx,
            c_xml,
            DataFormat::XML,
            DataParserFlags::NO_VALIDATION | DataParserFlags::STRICT | DataParserFlags::NO_STATE,
            DataValidationFlags::empty(),
        )
        .map(drop)
        .map_err(|e| YangError {
            message: describe(&e),
            path: e.path.as_deref().and_then(data_path),
        })
    }

    fn every_error(&self, payload: &Payload, first: YangError) -> Vec<YangError> {
        let mut found: Vec<YangError> = Vec::new();
        for chain in payload.leaf_chains() {
            let schema_paths = self.schema_paths(&chain);
            let doc = payload::isolate(&chain, |depth| {
                schema_paths[depth]
                    .as_deref()
                    .map(|p| self.list_keys(p))
                    .unwrap_or_default()
            });
            if let Err(e) = self.parse(&payload::to_c_xml(&[doc]))
                && !found.contains(&e)
            {
                found.push(e);
            }
        }
        // An error no single leaf shows (e.g. a list entry given twice) is
        // still reported.
        if !found.contains(&first) {
            found.insert(0, first);
        }
        found
    }

    /// The schema path (`/module:name/name...`) of each element of `chain`,
    /// `None` from the first element the modules do not know.
    fn schema_paths(&self, chain: &[&Elem]) -> Vec<Option<String>> {
        let mut out = Vec::with_capacity(chain.len());
        let mut path = Some(String::new());
        let mut parent_ns: Option<&str> = None;
        for e in chain {
            path = path.and_then(|p| {
                if parent_ns == Some(e.ns.as_str()) {
                    Some(format!("{p}/{}", e.name))
                } else {
                    let module = self.ctx.get_module_latest_ns(&e.ns)?;
                    Some(format!("{p}/{}:{}", module.name(), e.name))
                }
            });
            parent_ns = Some(e.ns.as_str());
            out.push(path.clone());
        }
        out
    }

    fn list_keys(&self, schema_path: &str) -> Vec<String> {
        match self.ctx.find_path(schema_path) {
            Ok(node) if node.kind() == SchemaNodeKind::List => {
                node.list_keys().map(|k| k.name().to_string()).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The edit-config envelope, checked here because libyang is given the
/// payload without its `operation` attributes.
fn envelope_errors(op: Operation, payload: &Payload) -> Vec<YangError> {
    let mut errors: Vec<YangError> = payload
        .bad_ops()
        .map(|bad| YangError {
            message: format!(
                "operation=\"{}\" is not a NETCONF edit operation \
                 (merge, replace, create, delete, remove)",
                bad.value
            ),
            path: Some(bad.path.clone()),
        })
        .collect();
    if payload.top.is_empty() {
        errors.push(YangError {
            message: format!("the {op} payload holds no element: it would change nothing"),
            path: None,
        });
    } else if matches!(
        op,
        Operation::Delete | Operation::Detach | Operation::VrfDelete
    ) && !payload.removes_something()
    {
        // A delete template that forgot its operation attributes would
        // merge (or, with default-operation none, do nothing) and report
        // success.
        errors.push(YangError {
            message: "the delete payload carries no operation=\"remove\" or \"delete\": \
                      it would remove nothing"
                .into(),
            path: None,
        });
    }
    errors
}

/// The data path out of libyang's location text. libyang 2.1 writes
/// `Data location "/mod:a/b[k='v']", line number 1.`; later releases give the
/// bare path. A line number alone is dropped: it counts lines of the
/// re-serialised document, not of the template output.
fn data_path(location: &str) -> Option<String> {
    const MARK: &str = "Data location \"";
    if let Some(start) = location.find(MARK) {
        let rest = &location[start + MARK.len()..];
        return rest.find('"').map(|end| rest[..end].to_string());
    }
    location
        .starts_with('/')
        .then(|| location.trim_end_matches('.').to_string())
}

/// libyang's message, or its error code when it gave none. Only `msg` and
/// `path` of `yang2::Error` are read: yang2 0.18's pre-generated bindings
/// describe a newer libyang's `ly_err_item`, which matches Debian's 2.1.30
/// up to the path and differs after it, so `apptag` is not meaningful here.
fn describe(e: &yang2::Error) -> String {
    match &e.msg {
        Some(m) => m.clone(),
        None => format!("libyang error code {}", e.errcode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_path_from_either_libyang_form() {
        assert_eq!(
            data_path("Data location \"/m:a/b[k='v']/c\", line number 1.").as_deref(),
            Some("/m:a/b[k='v']/c")
        );
        assert_eq!(data_path("/m:a/c").as_deref(), Some("/m:a/c"));
        assert_eq!(data_path("Line number 1."), None);
    }
}
