use std::path::PathBuf;

/// Why a validator could not be set up, or the PE's running configuration
/// could not be read into facts. (A change that fails validation is not an
/// `Error`: see [`crate::ValidationError`].)
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The platform has no parser for its running configuration.
    #[error(
        "platform `{platform}`: reading what the PE carries from its running configuration \
         is not supported (supported platforms: {supported}); semantic checks cannot run"
    )]
    Unsupported { platform: String, supported: String },
    /// The running configuration is not XML.
    #[error("running configuration of the PE does not parse as XML: {detail}")]
    RunningXml { detail: String },
    /// A value in the running configuration is not what the device model
    /// allows (the device validated it, so this means the wrong platform or
    /// a foreign reply).
    #[error("running configuration of the PE: {path} holds {value:?}: {detail}")]
    RunningValue {
        path: String,
        value: String,
        detail: String,
    },
    /// The platform ships no YANG modules, so its payloads are not
    /// schema-validated in process.
    #[error(
        "platform `{platform}` ships no YANG modules (no \"yang_dir\" in its platform.json): \
         its payloads are not schema-validated before the push; the device still validates \
         them at commit"
    )]
    NoYangModules { platform: String },
    /// The YANG folder cannot be listed.
    #[error("YANG modules in {}: {source}", dir.display())]
    YangDir {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// libyang refused a module (or the folder holds none).
    #[error("YANG modules in {}: {detail}", dir.display())]
    YangLoad { dir: PathBuf, detail: String },
}
