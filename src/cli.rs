//! Command-line interface: argument parsing and the flow shared by
//! `check` and `render` (input → effective config → policy → artifacts).

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use crate::catalog::Catalog;
use crate::document::{self, Document};
use crate::error::{exit, Error};
use crate::policy::{self, Report};
use crate::render::{self, Binaries};
use crate::{effective, launch, report};

#[derive(Parser, Debug)]
#[command(
    name = "secure-mattermost",
    version,
    about = "Check a Mattermost deployment declaration against the NIST SP 800-53 control catalog and render its artifacts",
    after_help = "Exit codes: 0 compliant (warnings allowed), 1 policy failure, 2 invalid input or usage, 3 I/O error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the policy check and print the outcome table; writes nothing.
    Check {
        #[command(flatten)]
        input: InputArgs,
        /// Print outcomes as JSON instead of the table.
        #[arg(long)]
        json: bool,
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
    },
    /// Evaluate a declaration (.nix) with the built-in evaluator and print the document.
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
    /// Evaluate expiry dates as of this day (YYYY-MM-DD), for reproducible builds.
    #[arg(long, value_name = "DATE")]
    today: Option<String>,
}

pub fn run(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Check { input, json } => {
            let checked = check(&input)?;
            if json {
                print!("{}", report::outcomes_json(&checked.report, mode(&checked.doc), &checked.doc.secure_mattermost.domain, &checked.today));
            } else {
                print!("{}", report::table(&checked.report));
            }
            finish(&checked.report)
        }
        Command::Render { input, out, mattermost_bin, helper_bin } => {
            let checked = check(&input)?;
            print!("{}", report::table(&checked.report));
            finish(&checked.report)?;
            let out_abs = absolute(&out);
            let bins = Binaries { mattermost: mattermost_bin, helper: helper_bin, artifact_dir: out_abs.display().to_string() };
            let mut files = render::artifacts(&checked.doc.secure_mattermost, &checked.config, &bins);
            files.push((
                "outcomes.json".into(),
                report::outcomes_json(&checked.report, mode(&checked.doc), &checked.doc.secure_mattermost.domain, &checked.today),
            ));
            files.push((
                "assessment-results.oscal.json".into(),
                crate::oscal::assessment_results(&checked.report, mode(&checked.doc), &checked.doc.secure_mattermost.domain, &checked.today),
            ));
            render::write_atomically(&out, &files)?;
            eprintln!("wrote {} artifact(s) to {}", files.len(), out.display());
            Ok(exit::OK)
        }
        Command::Eval { config } => {
            let doc = evaluate_nix(&config)?;
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
            Ok(exit::OK)
        }
        Command::Rules { markdown } => {
            let catalog = Catalog::load();
            if markdown {
                print!("{}", crate::docs::controls_markdown(catalog));
            } else {
                for r in &catalog.rules {
                    let controls: Vec<String> = r.controls.iter().map(|c| policy::label(c)).collect();
                    println!("{:<32} {:<7} {:<28} {}", r.id, format!("{:?}", r.severity).to_lowercase(), controls.join(","), r.title);
                }
            }
            Ok(exit::OK)
        }
        Command::Launch { spec, command } => {
            launch::exec(&spec, &command)?;
            Ok(exit::OK)
        }
    }
}

struct Checked {
    doc: Document,
    config: Value,
    report: Report,
    today: String,
}

fn check(input: &InputArgs) -> Result<Checked, Error> {
    let today = match &input.today {
        Some(t) if report::valid_date(t) => t.clone(),
        Some(t) => return Err(Error::Today { value: t.clone() }),
        None => report::today_utc(),
    };
    let (doc, raw) = match (&input.input, &input.config) {
        (Some(path), _) => {
            let (text, name) = read_input(path)?;
            document::parse(&text, &name)?
        }
        (None, Some(path)) => document::from_value(evaluate_nix(path)?, &path.display().to_string())?,
        (None, None) => unreachable!("clap requires one input"),
    };
    let catalog = Catalog::load();
    let eff = effective::build(&doc.secure_mattermost, catalog)?;
    let report = policy::evaluate(catalog, &doc.secure_mattermost, &raw["secureMattermost"], &eff.config, &today)?;
    for (r, w) in report.warnings() {
        eprintln!("warning[{}]: {w}", r.id);
    }
    for r in report.results.iter().filter(|r| r.outcome.is_failure()) {
        eprintln!("{:?}", miette::Report::new(policy::Finding(r.clone())));
    }
    Ok(Checked { doc, config: eff.config, report, today })
}

fn evaluate_nix(path: &Path) -> Result<Value, Error> {
    crate::nixeval::evaluate_file(path).map_err(|e| Error::Eval(Box::new(e)))
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

fn read_input(path: &Path) -> Result<(String, String), Error> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| Error::io("<stdin>", e))?;
        Ok((s, "<stdin>".into()))
    } else {
        let s = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Ok((s, path.display().to_string()))
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    }
}
