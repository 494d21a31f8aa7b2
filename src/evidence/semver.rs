//! Semantic versions as the Go vulnerability database compares them:
//! `1.2.3`, pre-releases (Go pseudo-versions are pre-releases), build
//! metadata (`+incompatible`) ignored, an optional leading `v` or `go`.

use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// OSV's `introduced: "0"`: below every version, pre-releases included.
    min: bool,
    core: [u64; 3],
    pre: Vec<Ident>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ident {
    Num(u64),
    Text(String),
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        if s == "0" {
            return Some(Version { min: true, core: [0; 3], pre: vec![] });
        }
        let s = s.strip_prefix("go").or_else(|| s.strip_prefix('v')).unwrap_or(s);
        let s = s.split('+').next()?;
        let (core, pre) = match s.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (s, None),
        };
        let mut parts = core.split('.');
        let mut nums = [0u64; 3];
        for (i, slot) in nums.iter_mut().enumerate() {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => *slot = p.parse().ok()?,
                // "0" and Go's "1.21" style (no patch) are allowed short forms.
                None if i > 0 => {}
                _ => return None,
            }
        }
        if parts.next().is_some() {
            return None;
        }
        let pre = match pre {
            None => vec![],
            Some(p) => p
                .split('.')
                .map(|x| match x.parse::<u64>() {
                    Ok(n) if x.bytes().all(|b| b.is_ascii_digit()) => Ident::Num(n),
                    _ => Ident::Text(x.to_string()),
                })
                .collect(),
        };
        Some(Version { min: false, core: nums, pre })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        other.min.cmp(&self.min).then_with(|| self.core.cmp(&other.core)).then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => {
                for (a, b) in self.pre.iter().zip(&other.pre) {
                    let o = match (a, b) {
                        (Ident::Num(x), Ident::Num(y)) => x.cmp(y),
                        (Ident::Num(_), Ident::Text(_)) => Ordering::Less,
                        (Ident::Text(_), Ident::Num(_)) => Ordering::Greater,
                        (Ident::Text(x), Ident::Text(y)) => x.cmp(y),
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                self.pre.len().cmp(&other.pre.len())
            }
        })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One OSV range event.
#[derive(Debug, Clone)]
pub enum Event {
    Introduced(Version),
    Fixed(Version),
    LastAffected(Version),
}

/// Whether `v` is inside the range the events describe (OSV's algorithm:
/// events in version order, introduced opens, fixed closes at, last_affected
/// closes after).
pub fn affected(events: &[Event], v: &Version) -> bool {
    let key = |e: &Event| match e {
        Event::Introduced(x) | Event::Fixed(x) | Event::LastAffected(x) => x.clone(),
    };
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| key(e));
    let mut inside = false;
    for e in sorted {
        match e {
            Event::Introduced(x) if x <= v => inside = true,
            Event::Fixed(x) if x <= v => inside = false,
            Event::LastAffected(x) if x < v => inside = false,
            _ => {}
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn ordering_follows_semver_and_go() {
        assert!(v("v1.2.3") < v("1.10.0"));
        assert!(v("1.0.0-rc.1") < v("1.0.0"));
        assert!(v("8.0.0-20260130160320-3321db82c3e7") < v("v8.0.0-20260407102538-faa7d75b4ea0"));
        assert!(v("11.4.0+incompatible") == v("11.4.0"));
        assert!(v("go1.26.8") > v("1.26"));
        assert!(v("0") < v("0.0.1-pre"));
        assert!(v("0") < v("0.0.0-20200220183623-bac4c82f6975"), "introduced 0 is below every pseudo-version");
        assert!(Version::parse("x.y").is_none());
    }

    #[test]
    fn ranges() {
        let ev = vec![Event::Introduced(v("0")), Event::Fixed(v("1.5.0")), Event::Introduced(v("2.0.0")), Event::LastAffected(v("2.1.0"))];
        assert!(affected(&ev, &v("1.4.9")));
        assert!(!affected(&ev, &v("1.5.0")));
        assert!(!affected(&ev, &v("1.9.0")));
        assert!(affected(&ev, &v("2.1.0")));
        assert!(!affected(&ev, &v("2.1.1")));
        let pseudo = vec![Event::Introduced(v("0")), Event::Fixed(v("0.0.0-20200220183623-bac4c82f6975"))];
        assert!(!affected(&pseudo, &v("v0.45.0")));
        assert!(affected(&pseudo, &v("v0.0.0-20190101000000-abcdef")));
    }
}
