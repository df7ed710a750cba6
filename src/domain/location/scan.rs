//! The scanner: finding an address in free text, one form at a time
//! (`3栋2单元501`, `3-2-501`, `12#1102`, `东单元502`, `第3座15樓C室`, `Block 7`,
//! a lone room where the words around it say it is a home). Each form parser
//! starts at a character index and returns the location and the index after
//! it, so the scanner can try the forms in order at each position and
//! `Location::from_str` can require one to cover the whole input. What counts
//! as a number is in `numerals`.

use super::Location;
use super::canonical::canonical_room;
use super::numerals::{ascii_run, cn_digit, is_digit, parse_number, parse_room};

/// Room names with a letter (`3-2-A01`, `B座a01`, `3栋2单元501A`): only when the
/// whole input is one address (`/room`, a ledger), never in free text, where
/// a letter next to digits is more often a plate, a model or a unit of measure.
pub(super) fn parse_lettered_room(cs: &[char]) -> Option<(Location, usize)> {
    let (building, mut i) = parse_number(cs, 0)?;
    i = match cs.get(i)? {
        '-' | '#' => i + 1,
        _ => parse_building_marker(cs, i)?,
    };
    i = skip_space(cs, i);
    let mut unit = None;
    if let Some((u, after)) = parse_number(cs, i)
        && !u.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        let end = parse_unit_marker(cs, after)
            .or_else(|| (cs.get(after) == Some(&'-')).then_some(after + 1));
        if let Some(end) = end {
            unit = Some(u);
            i = skip_space(cs, end);
        }
    }
    let start = i;
    while cs.get(i).is_some_and(|c| c.is_ascii_alphanumeric()) {
        i += 1;
    }
    let room: String = cs[start..i].iter().collect();
    if !room.chars().any(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let room = canonical_room(&room)?;
    if matches!(cs.get(i), Some('室' | '房')) {
        i += 1;
    }
    Some((Location::new(Some(building), unit, Some(room))?, i))
}

/// Finds the first address named in already-normalised text.
///
/// ```
/// use guanjia::domain::location::extract;
/// let loc = extract("3栋2单元501 厨房漏水了").unwrap();
/// assert_eq!(loc.to_string(), "3栋2单元501");
/// assert!(extract("明天9:00停水 3次了").is_none());
/// ```
pub fn extract(normalized: &str) -> Option<Location> {
    if !has_marker(normalized) {
        return None;
    }
    // The scanner wants random access by character; reuse one buffer per
    // thread instead of allocating for every message.
    thread_local! {
        static CHARS: std::cell::RefCell<Vec<char>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    CHARS.with(|buf| match buf.try_borrow_mut() {
        Ok(mut cs) => {
            cs.clear();
            cs.extend(normalized.chars());
            scan_chars(&cs)
        }
        Err(_) => scan_chars(&normalized.chars().collect::<Vec<_>>()),
    })
}

fn scan_chars(cs: &[char]) -> Option<Location> {
    let mut found: Option<Location> = None;
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        // Every form starts with a digit, a letter or a Chinese numeral.
        if !(c.is_ascii_alphanumeric() || c == '十' || cn_digit(c).is_some() || is_side(c)) {
            i += 1;
            continue;
        }
        let Some((loc, end)) = parse_dash(cs, i)
            .or_else(|| parse_hash(cs, i))
            .or_else(|| parse_address(cs, i))
            .or_else(|| {
                let (room, end) = parse_floor_flat(cs, i, true)?;
                Some((Location::new(None, None, Some(room))?, end))
            })
            .or_else(|| parse_side_unit(cs, i))
            .or_else(|| parse_english(cs, i))
            .or_else(|| parse_lone_room(cs, i))
        else {
            i += 1;
            continue;
        };
        match found {
            None => {
                let complete = loc.building.is_some() && loc.room.is_some();
                found = Some(loc);
                if complete {
                    break;
                }
            }
            // "apartment 1203, 8栋": two halves of one address. Merge only
            // parts that do not contradict; otherwise the first one stands.
            Some(first) => {
                let disjoint = (first.building.is_none() || loc.building.is_none())
                    && (first.unit.is_none() || loc.unit.is_none())
                    && (first.room.is_none() || loc.room.is_none());
                found = Some(if disjoint {
                    Location {
                        building: first.building.or(loc.building),
                        unit: first.unit.or(loc.unit),
                        room: first.room.or(loc.room),
                    }
                } else {
                    first
                });
                break;
            }
        }
        i = end.max(i + 1);
    }
    found
}

/// Cheap pre-check so the common message without any address is rejected
/// in one pass: every form needs an address marker (栋, 单元, `-`, `#`...),
/// except a lone room, which needs a run of 3-4 ASCII digits.
///
/// Works on bytes, not chars: the markers are ASCII or three-byte UTF-8
/// sequences whose lead byte is 0xE5/0xE6, so most bytes need one compare
/// and no decoding. (A multi-byte character ends a digit run, as it should:
/// none of its bytes is an ASCII digit.)
fn has_marker(s: &str) -> bool {
    const MARKERS: [&str; 6] = ["栋", "幢", "座", "单", "号", "室"];
    const WORDS: [&str; 5] = ["block", "blk", "building", "tower", "flat"];
    let b = s.as_bytes();
    if b.iter().any(|&x| matches!(x, b'b' | b'f' | b't')) && WORDS.iter().any(|w| s.contains(w)) {
        return true;
    }
    let mut digits = 0;
    for (i, &x) in b.iter().enumerate() {
        match x {
            b'0'..=b'9' => {
                digits += 1;
                if digits >= 3 {
                    return true;
                }
                continue;
            }
            b'-' | b'#' => return true,
            0xE5 | 0xE6 if MARKERS.iter().any(|m| b[i..].starts_with(m.as_bytes())) => {
                return true;
            }
            _ => {}
        }
        digits = 0;
    }
    false
}

/// Building marker at `i` (栋, 幢, 座, 号楼, 号栋, #楼...), returning the
/// index after it.
fn parse_building_marker(cs: &[char], i: usize) -> Option<usize> {
    match cs.get(i)? {
        '栋' | '幢' => Some(i + 1),
        '座' if cs.get(i + 1) != Some(&'位') => Some(i + 1),
        '号' => match cs.get(i + 1)? {
            '楼' | '栋' | '幢' | '座' => Some(i + 2),
            _ => None,
        },
        _ => None,
    }
}

fn parse_unit_marker(cs: &[char], i: usize) -> Option<usize> {
    (cs.get(i) == Some(&'单') && cs.get(i + 1) == Some(&'元')).then_some(i + 2)
}

/// Skips one optional space (owners write `3栋 501`).
fn skip_space(cs: &[char], i: usize) -> usize {
    if cs.get(i) == Some(&' ') { i + 1 } else { i }
}

/// Room after a building or unit, with an optional trailing 室/号/房.
fn parse_trailing_room(cs: &[char], i: usize) -> Option<(String, usize)> {
    let (room, end) = parse_room(cs, skip_space(cs, i))?;
    let end = if matches!(cs.get(end), Some('室' | '房')) {
        end + 1
    } else {
        end
    };
    Some((room, end))
}

/// `3栋2单元501`, `3号楼501室`, `B座1203`, `2单元`, `十二栋二单元九零二`.
pub(super) fn parse_address(cs: &[char], i: usize) -> Option<(Location, usize)> {
    let (num, after) = parse_number(cs, i)?;
    if let Some(mut end) = parse_building_marker(cs, after) {
        let building = Some(num);
        let mut unit = None;
        let unit_start = skip_space(cs, end);
        if let Some((u, after_u)) = parse_number(cs, unit_start)
            && !u.starts_with(|c: char| c.is_ascii_alphabetic())
            && let Some(e) = parse_unit_marker(cs, after_u)
        {
            unit = Some(u);
            end = e;
        } else if let Some((u, e)) = side_unit(cs, unit_start) {
            unit = Some(u);
            end = e;
        }
        let mut room = None;
        if let Some((r, e)) = parse_trailing_room(cs, end) {
            room = Some(r);
            end = e;
        } else if let Some((r, e)) = parse_floor_flat(cs, skip_space(cs, end), false) {
            room = Some(r);
            end = e;
        }
        return Some((Location::new(building, unit, room)?, end));
    }
    if num.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let end = parse_unit_marker(cs, after)?;
    let (room, end) = match parse_trailing_room(cs, end) {
        Some((r, e)) => (Some(r), e),
        None => (None, end),
    };
    Some((Location::new(None, Some(num), room)?, end))
}

/// `3-2-501`: building 1-3 digits, unit 1-2 digits, room 3-4 digits, and
/// nothing numeric glued on either side (so dates and phone numbers fail).
pub(super) fn parse_dash(cs: &[char], i: usize) -> Option<(Location, usize)> {
    if i > 0
        && cs
            .get(i - 1)
            .is_some_and(|p| p.is_ascii_alphanumeric() || matches!(p, '-' | '.' | ':' | '/'))
    {
        return None;
    }
    let (b, j) = ascii_run(cs, i)?;
    if b.len() > 3 || cs.get(j) != Some(&'-') {
        return None;
    }
    let (u, k) = ascii_run(cs, j + 1)?;
    if u.len() > 2 || cs.get(k) != Some(&'-') {
        return None;
    }
    let (r, end) = ascii_run(cs, k + 1)?;
    if !(3..=4).contains(&r.len())
        || cs
            .get(end)
            .is_some_and(|&c| c == '-' || c.is_ascii_alphanumeric())
    {
        return None;
    }
    let strip = |s: &str| s.trim_start_matches('0').to_string();
    let (b, u) = (strip(&b), strip(&u));
    if b.is_empty() || u.is_empty() || r.starts_with('0') {
        return None;
    }
    let end = if cs.get(end) == Some(&'室') {
        end + 1
    } else {
        end
    };
    Some((Location::new(Some(b), Some(u), Some(r))?, end))
}

/// `12#1102` (building 12, room 1102) and `12#楼`.
pub(super) fn parse_hash(cs: &[char], i: usize) -> Option<(Location, usize)> {
    if i > 0
        && cs
            .get(i - 1)
            .is_some_and(|p| p.is_ascii_alphanumeric() || *p == '#')
    {
        return None;
    }
    let (b, j) = ascii_run(cs, i)?;
    if b.len() > 3 || cs.get(j) != Some(&'#') {
        return None;
    }
    let b = b.trim_start_matches('0').to_string();
    if b.is_empty() {
        return None;
    }
    if let Some((r, end)) = parse_trailing_room(cs, j + 1) {
        return Some((Location::new(Some(b), None, Some(r))?, end));
    }
    // "8#2单元301", "8#东单元": a unit (and room) may follow as in 8栋2单元301.
    let unit = parse_number(cs, j + 1)
        .filter(|(u, _)| !u.starts_with(|c: char| c.is_ascii_alphabetic()))
        .and_then(|(u, after_u)| Some((u, parse_unit_marker(cs, after_u)?)))
        .or_else(|| side_unit(cs, j + 1));
    if let Some((u, end)) = unit {
        let (room, end) = match parse_trailing_room(cs, end) {
            Some((r, e)) => (Some(r), e),
            None => (None, end),
        };
        return Some((Location::new(Some(b), Some(u), room)?, end));
    }
    match cs.get(j + 1) {
        Some('楼' | '栋') => Some((Location::new(Some(b), None, None)?, j + 2)),
        // "12#" on its own (end of message or before a separator).
        None | Some(' ' | '?' | '!') => Some((Location::new(Some(b), None, None)?, j + 1)),
        _ => None,
    }
}

/// East / west / south / north / middle: a unit named by its side (东单元).
fn is_side(c: char) -> bool {
    matches!(c, '东' | '西' | '南' | '北' | '中')
}

/// `东单元` at `i`: the unit `东` and the index after it.
fn side_unit(cs: &[char], i: usize) -> Option<(String, usize)> {
    let c = *cs.get(i)?;
    let end = parse_unit_marker(cs, i + 1).filter(|_| is_side(c))?;
    Some((c.to_string(), end))
}

/// `西单元3楼`, `东单元502`: a side unit with no building before it.
fn parse_side_unit(cs: &[char], i: usize) -> Option<(Location, usize)> {
    let (unit, end) = side_unit(cs, i)?;
    let (room, end) = match parse_trailing_room(cs, end) {
        Some((r, e)) => (Some(r), e),
        None => (None, end),
    };
    Some((Location::new(None, Some(unit), room)?, end))
}

/// `15楼c室`, `9楼d室` (Hong Kong / Taiwan: floor 15, flat C): the room
/// `15C`. A floor alone stays no location. `need_room_mark`: on its own in
/// a message the flat needs its 室 (`9楼d室`); after a building (`第3座15楼c`)
/// the letter is enough.
fn parse_floor_flat(cs: &[char], i: usize, need_room_mark: bool) -> Option<(String, usize)> {
    if i > 0 && cs[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    let mut j = i;
    while cs.get(j).is_some_and(|c| is_digit(*c)) {
        j += 1;
    }
    if !(1..=3).contains(&(j - i)) || !matches!(cs.get(j), Some('楼' | '层')) {
        return None;
    }
    let flat = *cs.get(j + 1)?;
    if !flat.is_ascii_lowercase() {
        return None;
    }
    let after = cs.get(j + 2).copied();
    let end = match after {
        Some('室' | '房') => j + 3,
        Some(c) if need_room_mark || c.is_ascii_alphanumeric() => return None,
        None if need_room_mark => return None,
        _ => j + 2,
    };
    let floor: String = cs[i..j].iter().collect();
    let floor = floor.trim_start_matches('0');
    if floor.is_empty() {
        return None;
    }
    Some((format!("{floor}{}", flat.to_ascii_uppercase()), end))
}

/// `block 7`, `blk 7`, `building 2`, `tower 3` (a building) and `flat 12a`
/// (a room), as estates write them in English.
fn parse_english(cs: &[char], i: usize) -> Option<(Location, usize)> {
    if i > 0 && cs[i - 1].is_ascii_alphanumeric() {
        return None;
    }
    let word = |w: &str| {
        w.chars()
            .enumerate()
            .all(|(k, c)| cs.get(i + k) == Some(&c))
            .then(|| skip_space(cs, i + w.chars().count()))
    };
    for w in ["building", "block", "blk", "tower"] {
        if let Some(at) = word(w) {
            let (num, end) = parse_number(cs, at)?;
            if cs.get(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
                return None;
            }
            return Some((Location::new(Some(num), None, None)?, end));
        }
    }
    let at = word("flat")?;
    let mut end = at;
    while cs.get(end).is_some_and(|c| is_digit(*c)) {
        end += 1;
    }
    if !(1..=4).contains(&(end - at)) {
        return None;
    }
    if cs.get(end).is_some_and(|c| c.is_ascii_lowercase()) {
        end += 1;
    }
    if cs.get(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let room = canonical_room(&cs[at..end].iter().collect::<String>())?;
    Some((Location::new(None, None, Some(room))?, end))
}

/// A room number on its own, only where the words around it say it is a
/// home: `1502在装修`, `1203室`, `房号1203`, `1203的业主`.
fn parse_lone_room(cs: &[char], i: usize) -> Option<(Location, usize)> {
    if !is_digit(*cs.get(i)?) {
        return None;
    }
    let (room, end) = parse_room(cs, i)?;
    // `w` ends right before the number, or one space before it.
    let before = |w: &str| {
        let ends_at = |end: usize| {
            let mut k = end;
            for c in w.chars().rev() {
                if k == 0 || cs[k - 1] != c {
                    return false;
                }
                k -= 1;
            }
            true
        };
        ends_at(i) || (i > 0 && cs[i - 1] == ' ' && ends_at(i - 1))
    };
    let after = |w: &str| {
        w.chars()
            .enumerate()
            .all(|(k, c)| cs.get(end + k) == Some(&c))
    };
    let home_after = [
        "室",
        "房",
        "在装修",
        "在",
        "的业主",
        "业主",
        "的住户",
        "住户",
        "的邻居",
        "的门",
        "家",
    ]
    .iter()
    .any(|w| after(w));
    let home_before = [
        "apartment",
        "apt",
        "room",
        "房间",
        "房号",
        "门牌",
        "门牌号",
        "房间号",
        "住在",
        "我家是",
        "我住",
    ]
    .iter()
    .any(|w| before(w));
    if home_after || home_before {
        let end = if matches!(cs.get(end), Some('室')) {
            end + 1
        } else {
            end
        };
        Some((Location::new(None, None, Some(room))?, end))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::location::tests::loc;

    #[test]
    fn forms() {
        let cases = [
            (
                "3栋2单元501 厨房漏水了",
                loc(Some("3"), Some("2"), Some("501")),
            ),
            ("3号楼2单元501室", loc(Some("3"), Some("2"), Some("501"))),
            ("3幢501", loc(Some("3"), None, Some("501"))),
            ("b座1203", loc(Some("B"), None, Some("1203"))),
            ("房号3-1-602", loc(Some("3"), Some("1"), Some("602"))),
            ("12#1102", loc(Some("12"), None, Some("1102"))),
            ("电梯坏了 12#", loc(Some("12"), None, None)),
            ("8#2单元301漏水", loc(Some("8"), Some("2"), Some("301"))),
            (
                "smoke from apartment 1203, 8栋",
                loc(Some("8"), None, Some("1203")),
            ),
            ("3栋的水漏到5栋了", loc(Some("3"), None, None)),
            ("十二栋二单元", loc(Some("12"), Some("2"), None)),
            (
                "十三栋二单元九零二 洗手盆",
                loc(Some("13"), Some("2"), Some("902")),
            ),
            (
                "二十三栋2单元1705",
                loc(Some("23"), Some("2"), Some("1705")),
            ),
            ("8栋12楼", loc(Some("8"), None, None)),
            ("2单元3楼", loc(None, Some("2"), None)),
            ("我住第九栋", loc(Some("9"), None, None)),
            ("a2栋的电梯", loc(Some("A2"), None, None)),
            ("1502在装修", loc(None, None, Some("1502"))),
            ("4栋1单元一楼的配电箱", loc(Some("4"), Some("1"), None)),
        ];
        for (text, want) in cases {
            assert_eq!(extract(text), want, "{text}");
        }
    }

    /// Hong Kong / Taiwan forms and mainland shorthands (issue 11), through
    /// normalisation as the classifier sees them.
    #[test]
    fn hong_kong_taiwan_and_shorthand_forms() {
        let cases = [
            ("第3座15樓C室廚房漏水", loc(Some("3"), None, Some("15C"))),
            ("9樓D室門口盞燈壞咗", loc(None, None, Some("9D"))),
            ("第3座15樓C", loc(Some("3"), None, Some("15C"))),
            ("7座大堂嘅門鐘壞咗", loc(Some("7"), None, None)),
            ("Block 7 lift is broken", loc(Some("7"), None, None)),
            ("blk 12 water leak", loc(Some("12"), None, None)),
            (
                "Flat 12A, the toilet keeps running",
                loc(None, None, Some("12A")),
            ),
            ("Flat 12A, Block 7", loc(Some("7"), None, Some("12A"))),
            ("Building 2 的门禁坏了", loc(Some("2"), None, None)),
            ("Tower B lobby", loc(Some("B"), None, None)),
            ("8#楼道灯不亮", loc(Some("8"), None, None)),
            ("8#东单元的楼道灯不亮", loc(Some("8"), Some("东"), None)),
            ("3栋西单元502漏水", loc(Some("3"), Some("西"), Some("502"))),
            ("西单元三楼的窗户关不上", loc(None, Some("西"), None)),
            ("東單元1203", loc(None, Some("东"), Some("1203"))),
        ];
        for (text, want) in cases {
            let norm = crate::domain::text::normalize(text);
            assert_eq!(extract(&norm), want, "{text} ({norm})");
        }
        for text in [
            "8栋12楼",
            "我住15楼",
            "flatten the box",
            "a tall building",
            "东门的灯不亮",
            "中单元测试",
            "12楼a区",
        ] {
            let norm = crate::domain::text::normalize(text);
            let got = extract(&norm);
            assert!(
                got.as_ref().is_none_or(|l| l.room.is_none()),
                "{text}: {got:?}"
            );
        }
    }

    #[test]
    fn not_locations() {
        for text in [
            "明天9:00至下午3:00停水",
            "11月25日",
            "13800138000",
            "5号来修",
            "修了3次",
            "等了2个小时",
            "月租一个月500 结果",
            "同一栋楼",
            "地下车库 东门",
            "2026-11-25",
            "粤b开头那辆",
        ] {
            assert_eq!(extract(text), None, "{text}");
        }
    }
}
