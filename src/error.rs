//! Every way the helper can refuse, with its exit code. Messages name the
//! option or file at fault and never contain a secret's value.

use miette::Diagnostic;
use thiserror::Error;

/// Documented exit codes (README, `--help`), one meaning each, for every
/// command: 0 pass, 1 findings or policy failure, 2 bad input, usage or an
/// unreachable target, 3 I/O (a file or directory that cannot be read or written).
pub mod exit {
    pub const OK: i32 = 0;
    pub const POLICY_FAILED: i32 = 1;
    pub const INVALID_INPUT: i32 = 2;
    pub const IO: i32 = 3;
}

#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    #[error("{file}: not a valid JSON document: {detail}")]
    #[diagnostic(
        code(sm::input::malformed_json),
        help("pass the output of `nix-instantiate --eval --strict --json` on modules/standalone.nix, or use --config FILE.nix")
    )]
    MalformedJson { file: String, detail: String },

    #[error("{file}: unsupported schemaVersion {found} (this helper reads version {expected})")]
    #[diagnostic(
        code(sm::input::schema_version),
        help("evaluate the declaration with the modules/ shipped with this helper")
    )]
    SchemaVersion { file: String, found: String, expected: u64 },

    #[error("{file}: option `{option}` is invalid: {detail}")]
    #[diagnostic(code(sm::input::invalid_option), help("see docs/options.md for the option's type"))]
    InvalidOption { file: String, option: String, detail: String },

    #[error("option `services.secureMattermost.settings.{key}` is not a setting of Mattermost {version}")]
    #[diagnostic(
        code(sm::input::unknown_setting),
        help("a misspelt key would leave the insecure default in force; check the spelling against catalog/mattermost-defaults.json")
    )]
    UnknownSetting { key: String, version: String },

    #[error("option `services.secureMattermost.settings.{key}` must be {expected}, found {found}")]
    #[diagnostic(code(sm::input::setting_type))]
    SettingType { key: String, expected: String, found: String },

    // The settings value is not shown: it may be a secret the patterns missed.
    #[error("option `services.secureMattermost.{option}` sets {key} to {option_value}, but `services.secureMattermost.settings.{key}` sets it differently")]
    #[diagnostic(
        code(sm::input::conflict),
        help("remove settings.{key} and use the option `{option}` alone")
    )]
    Conflict { option: String, key: String, option_value: String },

    #[error("option `services.secureMattermost.replicas` is {replicas}, but `services.secureMattermost.fileStorage.driver` is \"local\"")]
    #[diagnostic(
        code(sm::input::ha_local_storage),
        help("node-local storage cannot serve more than one node: set fileStorage.driver = \"s3\" or \"nfs\", or replicas = 1")
    )]
    HaLocalStorage { replicas: u32 },

    #[error("`services.secureMattermost.justification.{key}` names no catalog rule and no option tied to one")]
    #[diagnostic(
        code(sm::input::unknown_justification),
        help("key justifications by rule id (`secure-mattermost rules` lists them) or by the option name a rule names")
    )]
    UnknownJustification { key: String },

    #[error("option `services.secureMattermost.mattermost.version` is {found}; this helper knows only Mattermost {pinned}")]
    #[diagnostic(code(sm::input::version), help("the catalog and the known settings follow the pinned release"))]
    Version { found: String, pinned: String },

    #[error("literal secret refused: {}", .findings.join("; "))]
    #[diagnostic(
        code(sm::secret::literal),
        help("the Nix store and rendered artifacts are world-readable: give secrets as file paths (…File options, systemd credentials) or Kubernetes Secret references. The value is not shown.")
    )]
    LiteralSecret { findings: Vec<String> },

    #[error("--today {value}: expected YYYY-MM-DD")]
    #[diagnostic(code(sm::usage::today))]
    Today { value: String },

    #[error("{path}: {detail}")]
    #[diagnostic(code(sm::io))]
    Io { path: String, detail: String },

    #[error("policy check failed: {failed} rule(s) failed")]
    #[diagnostic(code(sm::policy::failed), help("fix each failing rule, or record a justification for a waivable one"))]
    PolicyFailed { failed: usize },

    #[error(transparent)]
    #[diagnostic(transparent)]
    Eval(Box<dyn Diagnostic + Send + Sync + 'static>),

    /// The evaluator could not read a declaration file (exit 3, like `--input`).
    #[error(transparent)]
    #[diagnostic(transparent)]
    EvalIo(Box<dyn Diagnostic + Send + Sync + 'static>),

    #[error("{file}: nested deeper than {limit} levels")]
    #[diagnostic(
        code(sm::input::too_deep),
        help("the document may nest objects and lists at most {limit} levels deep (src/limits.rs); no real declaration comes near it")
    )]
    TooDeep { file: String, limit: usize },

    #[error("usage: {detail}")]
    #[diagnostic(code(sm::usage))]
    Usage { detail: String },

    #[error("{file}: {detail}")]
    #[diagnostic(code(sm::launch))]
    Launch { file: String, detail: String },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::PolicyFailed { .. } => exit::POLICY_FAILED,
            Error::Io { .. } | Error::Launch { .. } | Error::EvalIo(_) => exit::IO,
            _ => exit::INVALID_INPUT,
        }
    }

    pub fn io(path: impl AsRef<std::path::Path>, err: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), detail: err.to_string() }
    }
}
