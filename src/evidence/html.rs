//! report.html: the same content as report.md as one self-contained,
//! printable page (inline style, no script, no external resource).

use crate::policy::{label, Outcome, RuleResult};

use super::report::{outcome_with_reason, waiver_flags, waiver_status};
use super::{families, evidence_lines, family_name, Context};

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#111;font-size:11pt}\
h1{font-size:18pt}h2{font-size:14pt;border-bottom:1px solid #999;margin-top:1.6em}h3{font-size:12pt}\
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top;text-align:left}\
th{background:#eee}code{font-size:9pt;word-break:break-all}\
.pass{background:#e6f4e6}.waived{background:#fff4d6}.fail{background:#fbe0e0}.advisory{background:#e6eefb}.na{color:#666}\
.flag{color:#a00;font-weight:bold}\
@media print{body{margin:0}h2{page-break-after:avoid}tr{page-break-inside:avoid}}";

fn class(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Waived => "waived",
        Outcome::Advisory => "advisory",
        Outcome::NotApplicable => "na",
        Outcome::Fail | Outcome::IneffectiveWithoutLicence => "fail",
    }
}

pub fn render(ctx: &Context) -> String {
    let d = ctx.deployment;
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    // No resource may be fetched, whatever a value contains.
    o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    o.push_str(&format!("<title>Security assessment evidence: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n", esc(&d.domain)));
    o.push_str(&format!("<h1>Security assessment evidence: {}</h1>\n", esc(&d.domain)));
    o.push_str("<h2 id=\"deployment\">Deployment</h2>\n<table class=\"summary\">\n");
    for (k, v) in super::summary_rows(ctx) {
        o.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), esc(&v)));
    }
    o.push_str("</table>\n");
    o.push_str(&format!("<p id=\"outcome\"><strong>Outcome:</strong> {}</p>\n", esc(&super::outcome_sentence(ctx))));

    o.push_str("<h2 id=\"controls\">Controls</h2>\n");
    for (fam, controls) in families() {
        o.push_str(&format!(
            "<section class=\"family\" id=\"family-{fam}\">\n<h3>{} — {}</h3>\n<table>\n<thead><tr><th>Control</th><th>Rule</th><th>Outcome</th><th>Evidence</th></tr></thead>\n<tbody>\n",
            esc(&fam.to_uppercase()),
            esc(family_name(&fam))
        ));
        for (control, rules) in controls {
            for rule in rules {
                let Some(r) = ctx.report.results.iter().find(|x| x.id == rule.id) else { continue };
                row(&mut o, &control, r);
            }
        }
        o.push_str("</tbody>\n</table>\n</section>\n");
    }

    o.push_str("<h2 id=\"waivers\">Waiver register</h2>\n");
    let waivers: Vec<&RuleResult> = ctx.waivers().collect();
    if waivers.is_empty() {
        o.push_str("<p>No justification is recorded.</p>\n");
    } else {
        o.push_str("<table class=\"waivers\">\n<thead><tr><th>Rule</th><th>Key</th><th>Status</th><th>Reason</th><th>Approver</th><th>Expires</th><th>Ticket</th><th>Flags</th></tr></thead>\n<tbody>\n");
        for r in waivers {
            let Some(j) = &r.justification else { continue };
            o.push_str(&format!(
                "<tr data-waiver=\"{}\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"flag\">{}</td></tr>\n",
                esc(&r.id),
                esc(&r.id),
                esc(&j.key),
                waiver_status(r),
                esc(&j.reason),
                esc(j.approved_by.as_deref().unwrap_or("—")),
                esc(j.expires.as_deref().unwrap_or("—")),
                esc(j.ticket.as_deref().unwrap_or("—")),
                esc(&waiver_flags(r))
            ));
        }
        o.push_str("</tbody>\n</table>\n");
    }
    super::vulns::html_section(ctx.scan, &mut o);
    o.push_str("</body>\n</html>\n");
    o
}

fn row(o: &mut String, control: &str, r: &RuleResult) {
    let evidence: Vec<String> = evidence_lines(r).iter().map(|l| format!("<code>{}</code>", esc(l))).collect();
    o.push_str(&format!(
        "<tr class=\"{}\" data-rule=\"{}\" data-control=\"{}\"><td>{}</td><td><code>{}</code> {}</td><td>{}</td><td>{}</td></tr>\n",
        class(r.outcome),
        esc(&r.id),
        esc(control),
        esc(&label(control)),
        esc(&r.id),
        esc(&r.title),
        esc(&outcome_with_reason(r)),
        evidence.join("<br>")
    ));
}
