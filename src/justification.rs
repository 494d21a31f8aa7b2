//! What makes a justification one an assessor would accept: real words (not a
//! placeholder, however it is disguised), and for a structured record a named
//! approver and a real expiry date within the site's waiver window. Every
//! problem is reported, not only the first.

use unicode_normalization::UnicodeNormalization;

use crate::catalog::Catalog;
use crate::dates::Date;
use crate::document::Justification;

/// Characters that render as nothing (zero-width, joiners, bidi controls,
/// soft hyphen, BOM): removed before anything is compared.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{E0000}'..='\u{E007F}')
}

/// A word reduced to what it looks like: NFKC, lower case, and the Unicode
/// confusable skeleton (UTS #39), so Cyrillic `ТОDО` compares equal to `todo`.
fn canonical(word: &str) -> String {
    let lower: String = word.nfkc().collect::<String>().to_lowercase();
    let skel: String = unicode_security::skeleton(&lower).collect();
    skel.to_lowercase()
}

/// The words of a text after NFKC and with invisible characters removed:
/// maximal runs of letters. Digits and punctuation separate words.
fn words(text: &str) -> Vec<String> {
    let clean: String = text.chars().filter(|c| !is_invisible(*c)).collect::<String>().nfkc().collect();
    clean
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// True when `text` carries no real content: after normalisation and with the
/// catalog's placeholder words removed, fewer than two words of two or more
/// letters remain. `"TBD?"`, `"TODO: write"`, `"---"`, `"x"`, `"…"` are placeholders.
pub fn is_placeholder(catalog: &Catalog, text: &str) -> bool {
    let placeholders: Vec<String> = catalog
        .placeholder_justifications
        .iter()
        .flat_map(|p| words(p))
        .map(|w| canonical(&w))
        .collect();
    let real = words(text)
        .iter()
        .filter(|w| w.chars().count() >= 2)
        .filter(|w| !placeholders.contains(&canonical(w)))
        .count();
    real < 2
}

/// True when a name is blank once invisible characters and punctuation are gone.
fn is_blank_name(catalog: &Catalog, name: &str) -> bool {
    let ws = words(name);
    ws.is_empty()
        || ws.iter().all(|w| {
            let c = canonical(w);
            catalog.placeholder_justifications.iter().any(|p| canonical(p) == c)
        })
}

/// Every reason `j` cannot be accepted as a waiver, judged on `policy_date`
/// with waivers allowed to run at most `max_days`. Expiry in the past is not
/// listed here (see [`expired`]): it only matters when the waiver is used.
pub fn problems(catalog: &Catalog, key: &str, j: &Justification, policy_date: Date, max_days: u32) -> Vec<String> {
    let mut out = Vec::new();
    if is_placeholder(catalog, j.reason()) {
        out.push(format!(
            "justification.{key}.reason is blank or a placeholder (it needs at least two real words saying why)"
        ));
    }
    if let Justification::Record(r) = j {
        match r.approved_by.as_deref() {
            None => out.push(format!("justification.{key}.approvedBy is missing: name who accepted the risk")),
            Some(a) if is_blank_name(catalog, a) => {
                out.push(format!("justification.{key}.approvedBy is blank or a placeholder"))
            }
            Some(_) => {}
        }
        match r.expires.as_deref() {
            None => out.push(format!("justification.{key}.expires is missing: a structured waiver must end on a date")),
            Some(e) => match Date::parse(e) {
                None => out.push(format!("justification.{key}.expires is not a real calendar date (YYYY-MM-DD)")),
                Some(d) if d > policy_date.plus_days(i64::from(max_days)) => out.push(format!(
                    "justification.{key}.expires {d} is more than policy.maxWaiverDays ({max_days}) days after the policy date {policy_date}"
                )),
                Some(_) => {}
            },
        }
    }
    out
}

/// The expiry date, when it is a real date before `policy_date`.
pub fn expired(j: &Justification, policy_date: Date) -> Option<Date> {
    j.expires().and_then(Date::parse).filter(|d| *d < policy_date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_disguise_are_recognised() {
        let c = Catalog::load();
        for p in [
            "", "  ", "TODO", "tbd.", "N/A", "-", "none", "TBD?", "TODO: write", "---", "x", "…", "\"TODO\"",
            "T\u{200B}O\u{200B}D\u{200B}O", "ТОDО", "ｔｏｄｏ ｔｂｄ", "(placeholder)", "n/a n/a", "reason: tbd",
            "ok", "a b c d",
        ] {
            assert!(is_placeholder(c, p), "{p:?}");
        }
        for real in ["Scoped exception", "Partner agencies collaborate under ISA-2031", "Pilot enclave only"] {
            assert!(!is_placeholder(c, real), "{real:?}");
        }
    }
}
