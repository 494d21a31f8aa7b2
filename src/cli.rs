//! Command-line interface: argument parsing and the flow shared by
//! `check` and `render` (input → effective config → policy → artifacts).
//!
//! Exit codes, the same for every command: 0 pass, 1 findings or policy
//! failure, 2 bad input, usage or unreachable target, 3 I/O.

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;

use crate::catalog::Catalog;
use crate::dates::Date;
use crate::document::{self, Deployment, Document};
use crate::error::{exit, Error};
use crate::output;
use crate::policy::{self, Report};
use crate::render::{self, Binaries};
use crate::{effective, launch, report};

#[derive(Parser, Debug)]
#[command(
    name = "secure-mattermost",
    version,
    about = "Check a Mattermost deployment declaration against the NIST SP 800-53 control catalog and render its artifacts",
    after_help = "Exit codes (every command): 0 pass (warnings allowed), 1 findings or policy failure, 2 bad input, usage or unreachable target, 3 I/O error."
)]
pub struct Cli {
    /// Output format: a table for people, JSON for machines, SARIF 2.1.0 where findings are reported (check, render).
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Alias of `--format json`.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Sarif,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the policy check and print the outcomes; writes nothing.
    Check {
        #[command(flatten)]
        input: InputArgs,
    },
    /// Check, then write the artifacts for the mode and outcomes.json into DIR.
    Render {
        #[command(flatten)]
        input: InputArgs,
        /// Output directory; replaced as a whole, only if the check passes.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Mattermost server binary the systemd unit runs.
        #[arg(long, default_value = "/usr/local/bin/mattermost", value_name = "PATH")]
        mattermost_bin: String,
        /// This helper's path as the systemd unit should call it.
        #[arg(long, default_value = "/usr/local/bin/secure-mattermost", value_name = "PATH")]
        helper_bin: String,
        /// Where the files live on the host, if not baremetal.installDir (the NixOS module passes its store path).
        #[arg(long, value_name = "DIR")]
        install_dir: Option<String>,
        #[command(flatten)]
        evidence: crate::evidence::EvidenceArgs,
    },
    /// Evaluate a declaration (.nix) with the built-in evaluator and print the document (JSON in every format).
    Eval {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
    /// List the control catalog.
    Rules {
        /// As Markdown (docs/controls.md is generated this way).
        #[arg(long)]
        markdown: bool,
    },
    /// Start a process with the secrets named in a secret-env.json spec.
    Launch {
        #[arg(long, value_name = "FILE")]
        spec: PathBuf,
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// SBOM and offline vulnerability scan of the Mattermost server binary against a local OSV database.
    Scan(crate::commands::scan::ScanArgs),
    /// Verify a signed evidence bundle (render --sign-key): signature, checksums, no file added or removed.
    VerifyEvidence(crate::commands::verify::VerifyArgs),
    /// Verify a live deployment from outside: TLS versions, certificate, headers, redirect, WebSocket, ping, client config and (with an admin token) the server configuration against the catalog.
    Verify(crate::commands::verify_url::VerifyUrlArgs),
    /// Audit config.json, chart values or operator resources made elsewhere against the catalog.
    Audit(crate::commands::audit::AuditArgs),
    /// Find in .nix sources what would put a secret into the world-readable Nix store.
    Lint(crate::commands::lint::LintArgs),
    /// Put a bare-metal render's files in place on the host (or below --root), with their owners and modes.
    Install(crate::commands::install::InstallArgs),
    /// Ask the app listener's /api/v4/system/ping whether the server, its database and file store are healthy (mattermost-health.timer).
    Health(crate::commands::health::HealthArgs),
    /// After a database restore: take the password out of the configuration Mattermost keeps in the database (dry run unless --apply).
    RestoreConfig(crate::commands::restore::RestoreArgs),
    /// Encrypted backup (bare metal): pg_dump and a tar of the file store, each through age to baremetal.backups.ageRecipient, then retention.
    Backup(crate::commands::backup::BackupArgs),
    /// Restore a backup set into a fresh database and file store (bare metal), then scrub the stored configuration (restore-config --apply).
    Restore(crate::commands::backup::RestoreArgs),
    /// Resolve the host names a rendered nftables.conf lists and load their addresses, and resolv.conf's resolvers, into its egress sets (dry run unless --apply).
    FirewallSets(crate::commands::firewall::FirewallSetsArgs),
    /// Helm's --post-renderer for the official chart: the rendered manifests on stdin, hardened for Pod Security `restricted` on stdout.
    PostRender {
        #[command(flatten)]
        input: InputArgs,
    },
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("source").required(true).multiple(false)))]
pub struct InputArgs {
    /// Evaluated JSON document (from modules/standalone.nix), or - for stdin.
    #[arg(long, value_name = "FILE", group = "source")]
    input: Option<PathBuf>,
    /// A declaration in Nix, evaluated by the built-in evaluator.
    #[arg(long, value_name = "FILE", group = "source")]
    config: Option<PathBuf>,
    /// The policy date (YYYY-MM-DD): waiver expiry and the waiver window are judged on it. Default: today (UTC).
    #[arg(long, value_name = "DATE")]
    today: Option<String>,
}

pub fn run(cli: Cli) -> Result<i32, Error> {
    let format = if cli.json { Format::Json } else { cli.format };
    let no_sarif = |command: &str| -> Result<(), Error> {
        if format == Format::Sarif {
            return Err(Error::Usage { detail: format!("`{command}` reports no findings; --format sarif is for check and render") });
        }
        Ok(())
    };
    match cli.command {
        Command::Check { input } => {
            let Some(checked) = check(&input)? else {
                output::stdout(&disabled(format))?;
                return Ok(exit::OK);
            };
            output::stdout(&outcomes(&checked, format, &input))?;
            finish(&checked.report)
        }
        Command::Render { input, out, mattermost_bin, helper_bin, install_dir, mut evidence } => {
            evidence.out = Some(out.clone());
            // The deployable files need the effective configuration only: they
            // are built while the policy is judged, and dropped if it fails.
            let deployable = |d: &Deployment, config: &Value| {
                let artifact_dir = install_dir.unwrap_or_else(|| d.baremetal.install_dir.clone());
                render::artifacts(d, config, &Binaries { mattermost: mattermost_bin, helper: helper_bin, artifact_dir })
            };
            let Some((checked, artifacts)) = check_with(&input, Some(deployable))? else {
                output::stdout(&disabled(format))?;
                output::stderr(&format!("nothing written to {}", out.display()));
                return Ok(exit::OK);
            };
            output::stdout(&outcomes(&checked, format, &input))?;
            finish(&checked.report)?;
            let mut files = artifacts.unwrap_or_else(|| Ok(Vec::new()))?;
            let scan = crate::evidence::scan(&checked.doc, checked.today, &evidence)?;
            let ctx = crate::evidence::Context {
                report: &checked.report,
                deployment: &checked.doc.secure_mattermost,
                provenance: crate::evidence::provenance(&checked.doc, checked.today),
                scan: scan.as_ref(),
            };
            // Each evidence file is independent of the others: built side by
            // side, then joined in a fixed order after the deployable files.
            let mut jobs: Vec<crate::evidence::Job> = vec![
                Box::new(|| Ok(vec![("outcomes.json".into(), outcomes_json(&checked))])),
                Box::new(|| {
                    let d = &checked.doc.secure_mattermost;
                    Ok(vec![("assessment-results.oscal.json".into(), crate::oscal::assessment_results(&checked.report, mode(&checked.doc), &d.domain, &checked.today.to_string()))])
                }),
            ];
            jobs.extend(crate::evidence::jobs(&ctx));
            // Files go into the new tree as they are ready, while the workers
            // build the rest.
            let staged = crate::atomic_dir::stage(&out)?;
            let mut written = 0;
            let mut write_new = |files: &[(String, String)]| -> Result<(), Error> {
                for (name, text) in &files[written..] {
                    staged.write(name, text)?;
                }
                written = files.len();
                Ok(())
            };
            crate::parallel::ordered(&jobs, crate::parallel::workers(jobs.len()), jobs.len(), |job| job(), |part| {
                files.extend(part?);
                write_new(&files)
            })?;
            crate::evidence::sign(&mut files, &evidence)?;
            write_new(&files)?;
            staged.commit()?;
            output::stderr(&format!("wrote {} artifact(s) to {}", files.len(), out.display()));
            // The process ends next: freeing the output piece by piece first
            // would only cost time.
            std::mem::forget(files);
            Ok(exit::OK)
        }
        Command::Eval { config } => {
            no_sarif("eval")?;
            let doc = evaluate_nix(&config)?;
            // The same refusal as check/render: nothing secret reaches stdout either.
            crate::secrets::refuse_literals(&doc)?;
            if document::depth(&doc) > crate::limits::MAX_NESTING {
                return Err(Error::TooDeep { file: config.display().to_string(), limit: crate::limits::MAX_NESTING });
            }
            output::stdout(&(serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"))?;
            Ok(exit::OK)
        }
        Command::Rules { markdown } => {
            no_sarif("rules")?;
            let catalog = Catalog::load();
            let text = if markdown {
                crate::docs::controls_markdown(catalog)
            } else if format == Format::Json {
                serde_json::to_string_pretty(&catalog.rules).unwrap_or_default() + "\n"
            } else {
                catalog
                    .rules
                    .iter()
                    .map(|r| {
                        let controls: Vec<String> = r.controls.iter().map(|c| policy::label(c)).collect();
                        format!("{:<32} {:<7} {:<28} {}\n", r.id, format!("{:?}", r.severity).to_lowercase(), controls.join(","), r.title)
                    })
                    .collect()
            };
            output::stdout(&text)?;
            Ok(exit::OK)
        }
        Command::Launch { spec, command } => {
            no_sarif("launch")?;
            launch::exec(&spec, &command)?;
            Ok(exit::OK)
        }
        Command::Scan(args) => crate::commands::scan::run(args, format),
        Command::VerifyEvidence(args) => crate::commands::verify::run(args, format),
        Command::Verify(args) => crate::commands::verify_url::run(args, format),
        Command::Audit(args) => crate::commands::audit::run(args, format),
        Command::Lint(args) => crate::commands::lint::run(args, format),
        Command::RestoreConfig(args) => crate::commands::restore::run(args, format),
        Command::Backup(args) => crate::commands::backup::backup(args, format),
        Command::Restore(args) => crate::commands::backup::restore(args, format),
        Command::Install(args) => crate::commands::install::run(args, format),
        Command::Health(args) => crate::commands::health::run(args, format),
        Command::FirewallSets(args) => crate::commands::firewall::run(args, format),
        Command::PostRender { input } => {
            no_sarif("post-render")?;
            if input.input.as_deref() == Some(Path::new("-")) {
                return Err(Error::Usage { detail: "post-render reads the manifests on stdin: give the declaration as --input FILE or --config FILE.nix".into() });
            }
            let Some(checked) = check(&input)? else {
                return Err(Error::Usage { detail: "services.secureMattermost.enable is false: there is no deployment to post-render".into() });
            };
            finish(&checked.report)?;
            crate::commands::post_render::run(&checked.doc.secure_mattermost)
        }
    }
}

struct Checked {
    doc: Document,
    report: Report,
    today: Date,
}

fn outcomes_json(c: &Checked) -> String {
    report::outcomes_json(&c.report, mode(&c.doc), &c.doc.secure_mattermost.domain, &c.today.to_string())
}

fn outcomes(c: &Checked, format: Format, input: &InputArgs) -> String {
    match format {
        Format::Text => report::table(&c.report),
        Format::Json => outcomes_json(c),
        Format::Sarif => crate::sarif::report(Catalog::load(), &c.report, &input_name(input)),
    }
}

fn input_name(input: &InputArgs) -> String {
    match (&input.input, &input.config) {
        (Some(p), _) | (None, Some(p)) => p.display().to_string(),
        (None, None) => "<declaration>".into(),
    }
}

fn disabled(format: Format) -> String {
    let what = "services.secureMattermost.enable is false: nothing is deployed, so nothing was checked or rendered";
    output::stderr(what);
    match format {
        Format::Text => format!("{what}\n"),
        Format::Json => "{\n  \"enabled\": false,\n  \"rules\": []\n}\n".into(),
        Format::Sarif => crate::sarif::report(Catalog::load(), &Report { results: vec![] }, "<declaration>"),
    }
}

/// Reads and checks the declaration. `None` when it is disabled
/// (`enable = false`): then nothing is checked or written.
fn check(input: &InputArgs) -> Result<Option<Checked>, Error> {
    Ok(check_with(input, None::<fn(&Deployment, &Value)>)?.map(|(checked, _)| checked))
}

/// [`check`], running `side` on the deployment and its effective
/// configuration on another thread while the policy is judged.
fn check_with<T: Send>(input: &InputArgs, side: Option<impl FnOnce(&Deployment, &Value) -> T + Send>) -> Result<Option<(Checked, Option<T>)>, Error> {
    let today = match &input.today {
        Some(t) => Date::parse(t).ok_or_else(|| Error::Today { value: t.clone() })?,
        None => Date::today_utc(),
    };
    let (doc, raw) = match (&input.input, &input.config) {
        (Some(path), _) => {
            let (text, name) = read_input(path)?;
            document::parse(&text, &name)?
        }
        (None, Some(path)) => {
            // The evaluator runs on its own thread; meanwhile this one loads
            // what the check reads next (each is parsed once per process).
            let value = std::thread::scope(|s| {
                s.spawn(|| {
                    Catalog::load();
                    crate::secrets::Secrets::get();
                    crate::defaults::defaults_ref();
                    crate::options::all();
                });
                evaluate_nix(path)
            })?;
            document::from_value(value, &path.display().to_string())?
        }
        (None, None) => return Err(Error::Usage { detail: "give --input FILE or --config FILE.nix".into() }),
    };
    if !doc.secure_mattermost.enable {
        return Ok(None);
    }
    let catalog = Catalog::load();
    let eff = effective::build(&doc.secure_mattermost, catalog)?;
    let judge = || policy::evaluate(catalog, &doc.secure_mattermost, &raw["secureMattermost"], &eff.config, today);
    let (report, side) = match side {
        None => (judge()?, None),
        Some(side) => {
            let (report, side) = std::thread::scope(|s| {
                let other = s.spawn(|| side(&doc.secure_mattermost, &eff.config));
                let report = judge();
                (report, other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            });
            (report?, Some(side))
        }
    };
    for (r, w) in report.warnings() {
        output::stderr(&format!("warning[{}]: {w}", r.id));
    }
    for r in report.results.iter().filter(|r| r.outcome.is_failure()) {
        output::stderr(&format!("{:?}", miette::Report::new(policy::Finding(r.clone()))));
    }
    Ok(Some((Checked { doc, report, today }, side)))
}

pub(crate) fn evaluate_nix(path: &Path) -> Result<Value, Error> {
    crate::nixeval::evaluate_file(path).map_err(|e| {
        if e.is_io() {
            Error::EvalIo(Box::new(e))
        } else {
            Error::Eval(Box::new(e))
        }
    })
}

fn finish(report: &Report) -> Result<i32, Error> {
    match report.failed() {
        0 => Ok(exit::OK),
        n => Err(Error::PolicyFailed { failed: n }),
    }
}

fn mode(doc: &Document) -> &'static str {
    match doc.secure_mattermost.mode {
        document::Mode::Kubernetes => "kubernetes",
        document::Mode::Baremetal => "baremetal",
    }
}

/// The document's bytes as text. Unreadable is I/O (exit 3); bytes that are
/// not UTF-8 are bad input (exit 2), reported with their offset.
pub(crate) fn read_input(path: &Path) -> Result<(String, String), Error> {
    // Read at most one byte past the limit: `--input /dev/zero` or a huge
    // file is refused without exhausting memory.
    let limit = crate::limits::MAX_DECLARATION_BYTES;
    let mut bytes = Vec::new();
    let name = if path == Path::new("-") {
        std::io::Read::read_to_end(&mut std::io::Read::take(std::io::stdin(), limit + 1), &mut bytes).map_err(|e| Error::io("<stdin>", e))?;
        "<stdin>".to_string()
    } else {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        std::io::Read::read_to_end(&mut std::io::Read::take(file, limit + 1), &mut bytes).map_err(|e| Error::io(path, e))?;
        path.display().to_string()
    };
    if bytes.len() as u64 > limit {
        return Err(Error::MalformedJson { file: name, detail: format!("larger than {} MiB (the declaration size limit), not read further", limit >> 20) });
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok((s, name)),
        Err(e) => Err(Error::MalformedJson {
            file: name,
            detail: format!("not UTF-8 (invalid byte sequence at byte offset {})", e.utf8_error().valid_up_to()),
        }),
    }
}
