use std::path::PathBuf;

/// Why a platform could not be loaded or a change could not be rendered.
/// Every variant names the platform and the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("platform `{platform}`: cannot read {}: {source}", path.display())]
    Read {
        platform: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("platform `{platform}`: {} is not a valid platform definition: {detail}", path.display())]
    Definition {
        platform: String,
        path: PathBuf,
        detail: String,
    },
    #[error("platform `{platform}`: template {} does not parse: {detail}", path.display())]
    TemplateSyntax {
        platform: String,
        path: PathBuf,
        detail: String,
    },
    #[error("platform `{platform}`: rendering {template} failed: {detail}")]
    Render {
        platform: String,
        template: String,
        detail: String,
    },
    #[error("platform `{platform}`: {template} rendered XML that does not parse: {detail}")]
    MalformedXml {
        platform: String,
        template: String,
        detail: String,
    },
}
