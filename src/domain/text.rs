//! Text normalisation shared by the rule matcher and the location extractor.
//!
//! Owners type the same words in many shapes: full-width digits (`３栋`),
//! Traditional characters (`電梯壞了`), upper-case English, emoji between
//! words. Keyword rules are written once, in Simplified Chinese and lower-case
//! ASCII, so every message is folded into that one shape before matching.
//!
//! The fold is, per character:
//! - NFKC compatibility folding (full-width → half-width, ideographic space →
//!   space, compatibility ideographs → unified ones);
//! - Traditional → Simplified via a dense table built once from `fast2s`
//!   (single-character mapping is enough for keyword matching and is an
//!   order of magnitude faster than context-aware conversion);
//! - ASCII lower-casing;
//! - punctuation, symbols and emoji become a single space, except the few
//!   marks that carry meaning for the rules and the location parser
//!   (`? ! # - : .`: questions, urgency, `12#1102`, `3-2-501`, times);
//! - runs of whitespace collapse to one space; leading/trailing space is trimmed.
//!
//! Hot path: ASCII and the common CJK block never touch the Unicode
//! normalisation tables; only rare characters go through `nfkc()`.

use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

/// First and last code points covered by the dense Traditional→Simplified table
/// (CJK Extension A through the end of the Unified Ideographs block).
const CJK_START: u32 = 0x3400;
const CJK_END: u32 = 0x9FFF;

/// Conversions `fast2s` leaves alone in isolation but that matter to owners'
/// messages (`開著` → `开着`).
const T2S_OVERRIDES: &[(char, char)] = &[('著', '着'), ('喫', '吃'), ('啟', '启')];

/// Traditional → Simplified table, kept small so it stays in cache next to
/// the keyword automaton: a bitmap says which characters change (3.4 KB;
/// Simplified text only ever touches this), and a sorted list gives the
/// replacement for the few thousand that do.
struct T2s {
    changes: Vec<u64>,
    /// Number of set bits in `changes` before each word: with it, the rank
    /// of a set bit is the index of its pair, so a lookup is O(1) instead of
    /// a binary search (Traditional text hits this on most characters).
    rank: Vec<u16>,
    pairs: Vec<(char, char)>,
}

fn t2s_table() -> &'static T2s {
    static TABLE: OnceLock<T2s> = OnceLock::new();
    TABLE.get_or_init(|| {
        let len = (CJK_END - CJK_START + 1) as usize;
        let mut table = T2s {
            changes: vec![0; len.div_ceil(64)],
            rank: Vec::new(),
            pairs: Vec::new(),
        };
        let mut buf = [0u8; 4];
        for cp in CJK_START..=CJK_END {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let converted = fast2s::convert(c.encode_utf8(&mut buf));
            let mut it = converted.chars();
            let mapped = T2S_OVERRIDES
                .iter()
                .find(|(from, _)| *from == c)
                .map(|&(_, to)| to)
                .or(match (it.next(), it.next()) {
                    (Some(s), None) if s != c => Some(s),
                    _ => None,
                });
            if let Some(to) = mapped {
                let i = (cp - CJK_START) as usize;
                table.changes[i / 64] |= 1 << (i % 64);
                table.pairs.push((c, to));
            }
        }
        let mut seen = 0u32;
        for w in &table.changes {
            table.rank.push(seen as u16);
            seen += w.count_ones();
        }
        debug_assert_eq!(seen as usize, table.pairs.len());
        table
    })
}

/// Traditional → Simplified for one character (identity for anything else).
#[inline]
pub fn to_simplified(c: char) -> char {
    t2s_table().simplify(c)
}

impl T2s {
    #[inline]
    fn simplify(&self, c: char) -> char {
        let cp = c as u32;
        if !(CJK_START..=CJK_END).contains(&cp) {
            return c;
        }
        let i = (cp - CJK_START) as usize;
        let word = self.changes[i / 64];
        let bit = 1u64 << (i % 64);
        if word & bit == 0 {
            return c;
        }
        // Pairs are pushed in code-point order, one per set bit.
        let k = self.rank[i / 64] as usize + (word & (bit - 1)).count_ones() as usize;
        self.pairs[k].1
    }
}

/// What a character becomes in normalised text.
enum Fold {
    Keep(char),
    Space,
}

#[inline]
fn fold_ascii(c: char) -> Fold {
    match c {
        'A'..='Z' => Fold::Keep(c.to_ascii_lowercase()),
        'a'..='z' | '0'..='9' | '?' | '!' | '#' | '-' | ':' | '.' => Fold::Keep(c),
        _ => Fold::Space,
    }
}

/// Fold for a character outside the two hot ranges (ASCII, CJK), which
/// `normalize_into` handles inline.
fn fold_other(c: char) -> Fold {
    if c.is_ascii() {
        return fold_ascii(c);
    }
    let cp = c as u32;
    if (CJK_START..=CJK_END).contains(&cp) {
        return Fold::Keep(to_simplified(c));
    }
    match cp {
        // Full-width ASCII variants: NFKC maps them to ASCII by a fixed offset.
        0xFF01..=0xFF5E => fold_ascii(char::from_u32(cp - 0xFEE0).unwrap_or(' ')),
        // Chinese numeral zero used in room numbers (`九〇二`).
        0x3007 => Fold::Keep('〇'),
        _ if c.is_alphabetic() => Fold::Keep(c),
        _ => Fold::Space,
    }
}

/// Folds a message into the canonical form the rules are written in.
///
/// ```
/// use guanjia::domain::text::normalize;
/// assert_eq!(normalize("３棟 電梯壞了！！😡"), "3栋 电梯坏了!!");
/// ```
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let _ = normalize_into(s, &mut out);
    out
}

/// [`normalize`] into a caller's buffer (cleared first), so the classifier
/// can reuse one buffer per thread instead of allocating per message.
///
/// Returns `false` only when the output surely holds no address marker as
/// [`location::extract`](crate::domain::location::extract) looks for one
/// (`-`, `#`, 栋/幢/座/单/号/室, a letter that may start `block`/`flat`…, or a
/// run of three ASCII digits); the
/// classifier then skips the location pass. Learnt here for free while the
/// characters go by, instead of in a second pass over the text. `true` means
/// "maybe" (rare characters always say maybe).
pub fn normalize_into(s: &str, out: &mut String) -> bool {
    out.clear();
    out.reserve(s.len());
    let t2s = t2s_table();
    // Start as if a space was just written so leading separators are dropped.
    let mut last_space = true;
    let mut push = |fold: Fold, out: &mut String| match fold {
        Fold::Keep(c) => {
            out.push(c);
            last_space = false;
        }
        Fold::Space => {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
        }
    };
    let mut marker = false;
    // Length of the current run of ASCII digits in the output.
    let mut digits = 0u32;
    for c in s.chars() {
        let cp = c as u32;
        // The two ranges nearly every character of a message falls in are
        // folded inline; everything else goes through `fold_other`.
        if cp < 0x80 {
            let fold = fold_ascii(c);
            match fold {
                Fold::Keep('0'..='9') => {
                    digits += 1;
                    marker |= digits >= 3;
                }
                Fold::Keep('-' | '#') => marker = true,
                // The first letters of block / building / tower / flat.
                Fold::Keep('b' | 't' | 'f') => {
                    marker = true;
                    digits = 0;
                }
                _ => digits = 0,
            }
            push(fold, out);
        } else if (CJK_START..=CJK_END).contains(&cp) {
            let c = t2s.simplify(c);
            marker |= matches!(c, '栋' | '幢' | '座' | '单' | '号' | '室');
            digits = 0;
            push(Fold::Keep(c), out);
        } else if (0xFF01..=0xFF5E).contains(&cp) {
            marker = true;
            push(fold_other(c), out);
        } else {
            marker = true;
            // Rare characters (compatibility ideographs, circled digits,
            // ligatures...) take the full NFKC route; the result may be
            // several characters, each folded again. Emoji and most
            // punctuation are their own NFKC form: skip the (costly)
            // normaliser for them when the fold makes them a space anyway.
            if unicode_normalization::is_nfkc_quick(std::iter::once(c))
                == unicode_normalization::IsNormalized::Yes
            {
                push(fold_other(c), out);
            } else {
                for n in std::iter::once(c).nfkc() {
                    push(fold_other(n), out);
                }
            }
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    marker
}

/// Byte ranges of the clauses of a normalised message, in order.
///
/// A clause is a run of text between sentence marks. Normalisation has
/// already turned `。,;、…` and their ASCII forms, newlines and runs of
/// spaces into one space, and kept `!` and `?`; so the marks here are the
/// space, `!`, `?`, and a `.` that is not inside a number (`9.30`). The
/// marks themselves belong to no clause.
///
/// ```
/// use guanjia::domain::text::{clauses, normalize};
/// let norm = normalize("哈哈今天团购的水果真好吃。3栋电梯困人了!快来人");
/// let parts: Vec<&str> = clauses(&norm).into_iter().map(|(s, e)| &norm[s..e]).collect();
/// assert_eq!(parts, ["哈哈今天团购的水果真好吃", "3栋电梯困人了", "快来人"]);
/// ```
pub fn clauses(norm: &str) -> Vec<(usize, usize)> {
    let bytes = norm.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let mark = match b {
            b' ' | b'!' | b'?' => true,
            b'.' => {
                let digit = |j: Option<&u8>| j.is_some_and(u8::is_ascii_digit);
                !(i > 0 && digit(bytes.get(i - 1)) && digit(bytes.get(i + 1)))
            }
            _ => false,
        };
        if mark {
            if start < i {
                out.push((start, i));
            }
            start = i + 1;
        }
    }
    if start < bytes.len() {
        out.push((start, bytes.len()));
    }
    out
}

/// Byte ranges of the phone numbers in a normalised message, each with the
/// label in front of it (`电话`, `手机`, `tel`…) when there is one.
///
/// Recognised: mainland mobiles (`13912345678`, `139-1234-5678`,
/// `139 1234 5678`, `+86 139…`, `138xxxx5678`), landlines with an area code
/// (`021-62345678`, `(0755)88886666`), `400` service numbers, and a bare
/// 7–8 digit local number right after a label (`电话 62345678`). A number
/// glued to more digits is not a phone number (a ticket number, an amount).
///
/// The classifier uses this so that a phone number is never evidence
/// against a report: an owner who adds a callback number to "电梯困人了" is
/// not advertising.
pub fn phone_spans(norm: &str) -> Vec<(usize, usize)> {
    static PHONE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    if norm.bytes().filter(u8::is_ascii_digit).count() < 7 {
        return Vec::new();
    }
    let re = PHONE.get_or_init(|| {
        let label = "(?:联系电话|联系方式|电话号码|手机号码|手机号|电话|手机|座机|热线|tel|phone|call|mobile)";
        let number = "(?:(?:86[ -]?)?1[3-9][0-9](?:[ -]?[0-9x]){8}|0[0-9]{2,3}[ -]?[0-9]{7,8}|400[ -]?[0-9]{3}[ -]?[0-9]{4})";
        let pattern =
            format!("(?:{label}[: ]{{0,2}})?{number}|{label}[: ]{{0,2}}[0-9]{{7,8}}");
        // A fixed pattern, exercised by the unit test below; should it
        // ever fail to build, phone numbers are simply not recognised.
        regex::Regex::new(&pattern).ok()
    });
    let Some(re) = re else {
        return Vec::new();
    };
    let digit_at = |i: Option<usize>| {
        i.and_then(|i| norm.as_bytes().get(i))
            .is_some_and(u8::is_ascii_digit)
    };
    re.find_iter(norm)
        .filter(|m| !digit_at(m.start().checked_sub(1)) && !digit_at(Some(m.end())))
        .map(|m| (m.start(), m.end()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_width_script_case_and_symbols() {
        assert_eq!(normalize("Ａ座 ６号楼３单元７０２"), "a座 6号楼3单元702");
        assert_eq!(
            normalize("電梯壞了，冷氣不涼，樓道燈不亮"),
            "电梯坏了 冷气不凉 楼道灯不亮"
        );
        assert_eq!(normalize("  着火了🔥🔥  快来 "), "着火了 快来");
        assert_eq!(normalize("開著"), "开着");
        assert_eq!(normalize("WiFi　断了"), "wifi 断了");
        assert_eq!(normalize("12#1102 3-2-501 9:00"), "12#1102 3-2-501 9:00");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("🙏🙏"), "");
    }

    #[test]
    fn rank_lookup_agrees_with_pair_list() {
        let t = t2s_table();
        for cp in CJK_START..=CJK_END {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            let expected = t
                .pairs
                .binary_search_by_key(&c, |&(from, _)| from)
                .map_or(c, |k| t.pairs[k].1);
            assert_eq!(t.simplify(c), expected, "U+{cp:04X}");
        }
    }

    #[test]
    fn address_hint_never_misses_a_marker() {
        for s in [
            "3栋", "3棟", "12#1102", "3-2-501", "501", "a座", "2单元", "5号楼", "３栋", "Ⅲ",
        ] {
            let mut out = String::new();
            assert!(normalize_into(s, &mut out), "{s}");
        }
        let mut out = String::new();
        assert!(!normalize_into("电梯坏了 12楼", &mut out));
    }

    #[test]
    fn clauses_split_at_sentence_marks_but_not_inside_numbers() {
        let parts = |s: &str| {
            let norm = normalize(s);
            clauses(&norm)
                .into_iter()
                .map(|(a, b)| norm[a..b].to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            parts("电梯困人了 快来人\n电话13912345678"),
            ["电梯困人了", "快来人", "电话13912345678"]
        );
        assert_eq!(parts("水费3.5元一吨?太贵了!!"), ["水费3.5元一吨", "太贵了"]);
        assert_eq!(
            parts("好的。谢谢;再见,拜拜"),
            ["好的", "谢谢", "再见", "拜拜"]
        );
        assert_eq!(parts("等等...来了"), ["等等", "来了"]);
        assert!(parts("").is_empty());
        assert!(parts("!!").is_empty());
    }

    #[test]
    fn phone_numbers_in_their_usual_forms_are_found_with_their_label() {
        let found = |s: &str| {
            let norm = normalize(s);
            phone_spans(&norm)
                .into_iter()
                .map(|(a, b)| norm[a..b].to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(found("电梯困人了 电话13912345678"), ["电话13912345678"]);
        assert_eq!(
            found("联系电话:139-1234-5678 谢谢"),
            ["联系电话:139-1234-5678"]
        );
        assert_eq!(found("手机 139 1234 5678"), ["手机 139 1234 5678"]);
        assert_eq!(found("+86 13912345678"), ["86 13912345678"]);
        assert_eq!(found("１３９１２３４５６７８"), ["13912345678"]);
        assert_eq!(found("打021-62345678找王师傅"), ["021-62345678"]);
        assert_eq!(found("(0755)88886666"), ["0755 88886666"]);
        assert_eq!(found("热线400-820-8820"), ["热线400-820-8820"]);
        assert_eq!(found("电话 62345678"), ["电话 62345678"]);
        assert_eq!(found("138xxxx5678"), ["138xxxx5678"]);
        // Not phone numbers: too long, a date, a room, a bare local number.
        assert!(found("订单号139123456789012").is_empty());
        assert!(found("2024-01-15 3-2-501").is_empty());
        assert!(found("62345678").is_empty());
        assert!(found("电梯坏了").is_empty());
    }
}
