//! The one spelling of a building, unit and room that everything compares:
//! the ledger, `/room`, owners' messages, `[[building]]` and `/bind` names.
//! Apart from the scanner because callers outside the domain use these on
//! names that never were in a message; they read numbers as the scanner does
//! (`numerals`), so a parsed location is already canonical (tested).

use super::numerals::parse_number;

/// The one spelling of a building that everything compares: the ledger, `/room`,
/// owners' messages, `[[building]]` names and `/bind` names. Markers go
/// (栋/幢/座/号楼/楼/号/#), numbers become ASCII without leading zeros (Chinese
/// numerals too), letters become upper case. A name that is not a number keeps
/// its words without the marker. `None` when nothing is left.
///
/// ```
/// use guanjia::domain::location::canonical_building;
/// for name in ["B座", "b座", "Ｂ座", "b"] {
///     assert_eq!(canonical_building(name).as_deref(), Some("B"));
/// }
/// for name in ["3栋", "3号楼", "03幢", "三栋", "3"] {
///     assert_eq!(canonical_building(name).as_deref(), Some("3"));
/// }
/// assert_eq!(canonical_building("紫荆苑").as_deref(), Some("紫荆苑"));
/// assert_eq!(canonical_building("栋"), None);
/// ```
pub fn canonical_building(name: &str) -> Option<String> {
    const MARKERS: [&str; 10] = [
        "号楼", "号栋", "号幢", "号座", "栋", "幢", "座", "楼", "号", "#",
    ];
    canonical_number(name, &MARKERS)
}

/// The one spelling of a unit: `2单元`, `02`, `二单元` → `2`. `None` when empty.
pub fn canonical_unit(unit: &str) -> Option<String> {
    canonical_number(unit, &["单元"])
}

/// The one spelling of a room: ASCII letters and digits, upper case, without a
/// trailing 室/房/号 (`a01室` → `A01`, `５０１` → `501`). `None` when that leaves
/// nothing, no digit, or other characters.
pub fn canonical_room(room: &str) -> Option<String> {
    let norm = crate::domain::text::normalize(room);
    let mut s = norm.trim();
    while let Some(rest) = ["室", "房", "号"].iter().find_map(|m| s.strip_suffix(m)) {
        s = rest.trim_end();
    }
    let ok = (1..=8).contains(&s.len())
        && s.chars().all(|c| c.is_ascii_alphanumeric())
        && s.chars().any(|c| c.is_ascii_digit());
    ok.then(|| s.to_ascii_uppercase())
}

fn canonical_number(name: &str, markers: &[&str]) -> Option<String> {
    let norm = crate::domain::text::normalize(name);
    let mut s = norm.trim();
    while let Some(rest) = markers.iter().find_map(|m| s.strip_suffix(m)) {
        s = rest.trim_end();
    }
    if s.is_empty() {
        return None;
    }
    let cs: Vec<char> = s.chars().collect();
    match parse_number(&cs, 0) {
        Some((n, end)) if end == cs.len() => Some(n),
        // Longer than the scanner's 3 digits (`0012`): still one number.
        _ if s.chars().all(|c| c.is_ascii_digit()) => {
            let trimmed = s.trim_start_matches('0');
            Some(if trimmed.is_empty() { "0" } else { trimmed }.to_string())
        }
        _ => Some(s.to_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::location::Location;

    #[test]
    fn parsed_locations_are_already_canonical() {
        for arg in [
            "十二栋二单元九零二",
            "b座1203",
            "03-02-0501",
            "3号楼2单元501室",
            "a2栋a01",
        ] {
            let Ok(l) = arg.parse::<Location>() else {
                continue;
            };
            let b = l.building.clone().unwrap();
            assert_eq!(canonical_building(&b), Some(b.clone()), "{arg}");
            if let Some(u) = &l.unit {
                assert_eq!(canonical_unit(u).as_ref(), Some(u), "{arg}");
            }
            if let Some(r) = &l.room {
                assert_eq!(canonical_room(r).as_ref(), Some(r), "{arg}");
            }
        }
    }

    #[test]
    fn canonical_spellings() {
        for (name, want) in [
            ("B座", Some("B")),
            ("b", Some("B")),
            ("3号楼", Some("3")),
            ("12#", Some("12")),
            ("十二栋", Some("12")),
            ("0012", Some("12")),
            ("A2栋", Some("A2")),
            ("东区", Some("东区")),
            ("", None),
        ] {
            assert_eq!(canonical_building(name).as_deref(), want, "{name}");
        }
        assert_eq!(canonical_unit("02单元").as_deref(), Some("2"));
        assert_eq!(canonical_unit(" ").as_deref(), None);
        assert_eq!(canonical_room("a01室").as_deref(), Some("A01"));
        assert_eq!(canonical_room("５０１").as_deref(), Some("501"));
        assert_eq!(canonical_room("五零一"), None);
        assert_eq!(canonical_room("3-501"), None);
    }
}
