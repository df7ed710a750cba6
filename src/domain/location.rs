//! Where in the estate a message is about: building (栋/幢/号楼/座), unit
//! (单元) and room.
//!
//! Owners write addresses in a handful of shapes (`3栋2单元501`,
//! `3号楼2单元501室`, `3-2-501`, `12#1102`, `B座1203`, `十二栋二单元九零二`;
//! Hong Kong and Taiwan estates: `第3座15樓C室`, `9樓D室` (floor and flat make
//! the room `15C`), `Block 7`, `Flat 12A`, `Building 2`; mainland shorthands
//! `8#` and `东单元`/`西单元`),
//! but messages are also full of numbers that are *not* addresses: floors
//! (`8栋12楼` names building 8 only), times (`9:00`), dates (`5号`, `11月25日`),
//! counts (`3次`), money and phone numbers. A regex over the whole message
//! either misses the Chinese numerals or over-matches those, so this is a small
//! hand-written scanner that only accepts a number when the marker after it
//! (栋, 单元, 室, `-`, `#`...) says what it is. It works on
//! [`normalize`](crate::domain::text::normalize)d text, so digits are ASCII
//! and letters lower-case; letters are upper-cased on output.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A place an owner names. At least one of the three parts is present;
/// build it with [`Location::new`] to keep that true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub building: Option<String>,
    pub unit: Option<String>,
    pub room: Option<String>,
}

impl Location {
    /// `None` when all three parts are missing: "no location" is
    /// `Option<Location>::None`, never an empty `Location`.
    pub fn new(
        building: Option<String>,
        unit: Option<String>,
        room: Option<String>,
    ) -> Option<Self> {
        if building.is_none() && unit.is_none() && room.is_none() {
            None
        } else {
            Some(Location {
                building,
                unit,
                room,
            })
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(b) = &self.building {
            let marker = if b.starts_with(|c: char| c.is_ascii_alphabetic()) {
                "座"
            } else {
                "栋"
            };
            write!(f, "{b}{marker}")?;
        }
        if let Some(u) = &self.unit {
            write!(f, "{u}单元")?;
        }
        if let Some(r) = &self.room {
            if self.building.is_none() && self.unit.is_none() {
                write!(f, "{r}室")?;
            } else {
                f.write_str(r)?;
            }
        }
        Ok(())
    }
}

/// Why a `/room` argument was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a room address: {input:?} (expected e.g. 3栋2单元501, 3-2-501, B座1203)")]
pub struct ParseLocationError {
    pub input: String,
}

impl FromStr for Location {
    type Err = ParseLocationError;

    /// Strict: the whole input must be one address, nothing else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseLocationError {
            input: s.to_string(),
        };
        let norm = crate::domain::text::normalize(s);
        let cs: Vec<char> = norm.chars().collect();
        if cs.is_empty() {
            return Err(err());
        }
        // Each form must cover the whole input; the first that does wins.
        let whole = |p: Option<(Location, usize)>| p.filter(|(_, end)| *end == cs.len());
        let parsed = whole(parse_address(&cs, 0))
            .or_else(|| whole(parse_dash(&cs, 0)))
            .or_else(|| whole(parse_hash(&cs, 0)))
            .or_else(|| {
                // A bare room number ("501", "501室") is fine when it is all
                // the owner typed.
                let (room, end) = parse_room(&cs, 0)?;
                let end = if cs.get(end) == Some(&'室') {
                    end + 1
                } else {
                    end
                };
                whole(Some((Location::new(None, None, Some(room))?, end)))
            })
            .or_else(|| whole(parse_lettered_room(&cs)));
        parsed.map(|(loc, _)| loc).ok_or_else(err)
    }
}

/// Room names with a letter (`3-2-A01`, `B座a01`, `3栋2单元501A`): only when the
/// whole input is one address (`/room`, a ledger), never in free text, where
/// a letter next to digits is more often a plate, a model or a unit of measure.
fn parse_lettered_room(cs: &[char]) -> Option<(Location, usize)> {
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

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

/// Chinese numeral digits as used digit-by-digit in room numbers (九零二).
fn cn_digit(c: char) -> Option<u32> {
    Some(match c {
        '〇' | '零' | '0' => 0,
        '一' | '幺' => 1,
        '二' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// Words that make a following numeral a determiner ("同一栋楼", "哪一单元"),
/// not an address.
fn blocks_numeral(c: char) -> bool {
    matches!(
        c,
        '同' | '哪'
            | '那'
            | '这'
            | '每'
            | '隔'
            | '整'
            | '几'
            | '某'
            | '另'
            | '第'
            | '万'
            | '千'
            | '百'
    )
}

/// A building or unit number at `i`: ASCII digits (1-3), a Chinese numeral
/// up to 99 (十二, 二十一), or a letter optionally followed by digits (A, A2).
/// Returns the canonical string and the index after it.
fn parse_number(cs: &[char], i: usize) -> Option<(String, usize)> {
    let prev = if i > 0 { cs.get(i - 1).copied() } else { None };
    let c = *cs.get(i)?;
    if is_digit(c) {
        if prev.is_some_and(|p| is_digit(p) || p.is_ascii_alphabetic() || p == '.') {
            return None;
        }
        let mut j = i;
        while j < cs.len() && is_digit(cs[j]) {
            j += 1;
        }
        if j - i > 3 {
            return None;
        }
        let digits: String = cs[i..j].iter().collect();
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return None;
        }
        return Some((trimmed.to_string(), j));
    }
    if c.is_ascii_lowercase() {
        if prev.is_some_and(|p| p.is_ascii_alphanumeric()) {
            return None;
        }
        let mut j = i + 1;
        while j < cs.len() && is_digit(cs[j]) && j - i <= 3 {
            j += 1;
        }
        if cs.get(j).is_some_and(|n| n.is_ascii_alphanumeric()) {
            return None;
        }
        let mut s: String = cs[i..j].iter().collect();
        s.make_ascii_uppercase();
        return Some((s, j));
    }
    // Chinese numeral 1..=99.
    if prev.is_some_and(blocks_numeral) {
        // "第九栋" is an address; the others are determiners.
        if prev != Some('第') {
            return None;
        }
    }
    let mut j = i;
    let mut value: u32 = 0;
    let mut pending: Option<u32> = None;
    let mut saw_ten = false;
    while let Some(&d) = cs.get(j) {
        if d == '十' {
            if saw_ten {
                return None;
            }
            saw_ten = true;
            value = pending.take().unwrap_or(1) * 10;
        } else if let Some(v) = cn_digit(d).filter(|&v| v > 0 || d != '0') {
            if d == '0' || pending.is_some() {
                return None;
            }
            pending = Some(v);
        } else {
            break;
        }
        j += 1;
    }
    if j == i {
        return None;
    }
    let total = value + pending.unwrap_or(0);
    (total > 0).then(|| (total.to_string(), j))
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

/// Characters after a number that make it a quantity, floor or time rather
/// than a room.
fn is_quantity_suffix(c: char) -> bool {
    matches!(
        c,
        '楼' | '层'
            | 'f'
            | '元'
            | '块'
            | '次'
            | '个'
            | '米'
            | '平'
            | '点'
            | ':'
            | '.'
            | '年'
            | '月'
            | '日'
            | '天'
            | '号'
            | '分'
            | '秒'
            | '公'
            | '斤'
            | '人'
            | '户'
            | '栋'
            | '幢'
            | '座'
            | '单'
            | '%'
            | '-'
            | '#'
            | '岁'
            | '件'
            | '台'
            | '辆'
            | '只'
            | '条'
            | '张'
            | '把'
            | '部'
            | 'w'
            | 'k'
            | 'm'
            | '万'
            | '千'
            | '百'
            | '多'
            | '余'
    )
}

/// A room number at `i`: 3-4 ASCII digits, or 3-4 Chinese digits (九零二).
fn parse_room(cs: &[char], i: usize) -> Option<(String, usize)> {
    let first = *cs.get(i)?;
    let mut j = i;
    let mut room = String::new();
    if is_digit(first) {
        if i > 0
            && cs
                .get(i - 1)
                .is_some_and(|p| is_digit(*p) || *p == ':' || *p == '.' || *p == '-')
        {
            return None;
        }
        while j < cs.len() && is_digit(cs[j]) {
            j += 1;
        }
        room.extend(&cs[i..j]);
    } else {
        while let Some(v) = cs
            .get(j)
            .and_then(|&c| if is_digit(c) { None } else { cn_digit(c) })
        {
            room.push(char::from_digit(v, 10).unwrap_or('0'));
            j += 1;
        }
        // "一二" style numerals followed by 十 are a count, not a room.
        if cs.get(j) == Some(&'十') {
            return None;
        }
    }
    if !(3..=4).contains(&(j - i)) || room.starts_with('0') {
        return None;
    }
    if cs
        .get(j)
        .is_some_and(|&c| is_quantity_suffix(c) || c.is_ascii_alphanumeric())
    {
        return None;
    }
    Some((room, j))
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
fn parse_address(cs: &[char], i: usize) -> Option<(Location, usize)> {
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

/// Digits-only number for the dash and hash forms.
fn ascii_run(cs: &[char], i: usize) -> Option<(String, usize)> {
    let mut j = i;
    while j < cs.len() && is_digit(cs[j]) {
        j += 1;
    }
    (j > i).then(|| (cs[i..j].iter().collect(), j))
}

/// `3-2-501`: building 1-3 digits, unit 1-2 digits, room 3-4 digits, and
/// nothing numeric glued on either side (so dates and phone numbers fail).
fn parse_dash(cs: &[char], i: usize) -> Option<(Location, usize)> {
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
fn parse_hash(cs: &[char], i: usize) -> Option<(Location, usize)> {
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

    fn loc(b: Option<&str>, u: Option<&str>, r: Option<&str>) -> Option<Location> {
        Location::new(
            b.map(String::from),
            u.map(String::from),
            r.map(String::from),
        )
    }

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

    #[test]
    fn room_accepts_lettered_rooms_and_any_letter_case() {
        for (arg, want) in [
            ("3-2-A01", loc(Some("3"), Some("2"), Some("A01"))),
            ("3-2-a01", loc(Some("3"), Some("2"), Some("A01"))),
            ("3栋2单元a01室", loc(Some("3"), Some("2"), Some("A01"))),
            ("B座a01", loc(Some("B"), None, Some("A01"))),
            ("b座1203", loc(Some("B"), None, Some("1203"))),
            ("B座1203", loc(Some("B"), None, Some("1203"))),
            ("3-2-501A", loc(Some("3"), Some("2"), Some("501A"))),
        ] {
            assert_eq!(arg.parse::<Location>().ok(), want, "/room {arg}");
        }
        for arg in ["3-2-A01 漏水", "3-2-AB", "3-2-A01-5", "3栋2单元"] {
            let parsed = arg.parse::<Location>();
            assert!(
                parsed.as_ref().map_or(true, |l| l.room.is_none()),
                "{arg}: {parsed:?}"
            );
        }
    }

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

    #[test]
    fn from_str_is_strict() {
        assert_eq!(
            "3-2-501".parse::<Location>().ok(),
            loc(Some("3"), Some("2"), Some("501"))
        );
        assert_eq!(
            "B座1203".parse::<Location>().ok(),
            loc(Some("B"), None, Some("1203"))
        );
        assert_eq!(
            "３栋２单元５０１".parse::<Location>().ok(),
            loc(Some("3"), Some("2"), Some("501"))
        );
        assert!("3栋2单元501 漏水".parse::<Location>().is_err());
        assert!("hello".parse::<Location>().is_err());
        assert!("".parse::<Location>().is_err());
        for l in [
            loc(Some("3"), Some("2"), Some("501")),
            loc(None, None, Some("501")),
            loc(Some("B"), None, None),
        ] {
            let l = l.unwrap();
            assert_eq!(l.to_string().parse::<Location>().ok(), Some(l));
        }
    }
}
