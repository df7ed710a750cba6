//! Numbers as addresses write them: ASCII digits, Chinese numerals (十二,
//! 九零二), lettered buildings (A2), and the characters around a number that
//! make it a count, a floor, a time or a determiner instead. Kept apart from
//! the forms because every form and every canonical spelling reads numbers
//! the same way, so what a number is changes in one place.

pub(super) fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

/// Chinese numeral digits as used digit-by-digit in room numbers (九零二).
pub(super) fn cn_digit(c: char) -> Option<u32> {
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
pub(super) fn parse_number(cs: &[char], i: usize) -> Option<(String, usize)> {
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
pub(super) fn parse_room(cs: &[char], i: usize) -> Option<(String, usize)> {
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

/// Digits-only number for the dash and hash forms.
pub(super) fn ascii_run(cs: &[char], i: usize) -> Option<(String, usize)> {
    let mut j = i;
    while j < cs.len() && is_digit(cs[j]) {
        j += 1;
    }
    (j > i).then(|| (cs[i..j].iter().collect(), j))
}
