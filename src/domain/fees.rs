//! The fee ledger as staff export it: one CSV row per room and period.
//!
//! Columns, with a header row: `building,unit,room,amount,period,due_date`
//! (`unit` may be empty; `amount` in yuan such as `1280.50`; `due_date` as
//! `2026-12-31`). Every row is checked before anything is stored, so a file with a
//! bad row imports nothing and the report names each bad row and why.

use chrono::NaiveDate;
use std::io::Read;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRow {
    pub building: String,
    pub unit: Option<String>,
    pub room: String,
    pub amount_cents: i64,
    pub period: String,
    pub due_date: NaiveDate,
}

impl FeeRow {
    /// `1280.50` (yuan) for owners.
    pub fn amount_yuan(&self) -> String {
        format_cents(self.amount_cents)
    }
}

pub fn format_cents(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The line in the file, counting the header as line 1.
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<FeeRow>,
    pub bad: Vec<BadRow>,
}

#[derive(serde::Deserialize)]
struct Raw {
    building: String,
    #[serde(default)]
    unit: Option<String>,
    room: String,
    amount: String,
    period: String,
    due_date: String,
}

/// Read a ledger. Header names are matched case-insensitively; extra columns are ignored.
pub fn parse_csv(input: impl Read) -> Result<Parsed, csv::Error> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(input);
    let headers = reader.headers()?.clone();
    let lowered: csv::StringRecord = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    reader.set_headers(lowered);
    let mut parsed = Parsed::default();
    let mut seen = std::collections::HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let line = record
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map(|p| p.line())
            .unwrap_or(i as u64 + 2);
        let row = record
            .map_err(|e| e.to_string())
            .and_then(|r| r.deserialize::<Raw>(None).map_err(|e| e.to_string()))
            .and_then(check);
        match row {
            Ok(row) => {
                let key = (
                    row.building.clone(),
                    row.unit.clone(),
                    row.room.clone(),
                    row.period.clone(),
                );
                if seen.insert(key) {
                    parsed.rows.push(row);
                } else {
                    parsed.bad.push(BadRow {
                        line,
                        reason: "同一房号同一账期重复出现".into(),
                    });
                }
            }
            Err(reason) => parsed.bad.push(BadRow { line, reason }),
        }
    }
    Ok(parsed)
}

fn check(raw: Raw) -> Result<FeeRow, String> {
    let building = raw
        .building
        .trim()
        .trim_end_matches(['栋', '幢'])
        .trim_end_matches("号楼")
        .to_uppercase();
    if building.is_empty() {
        return Err("楼栋为空".into());
    }
    let room = raw.room.trim().trim_end_matches('室').to_string();
    if room.is_empty() || !room.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("房号 '{}' 无效", raw.room));
    }
    let unit = raw
        .unit
        .map(|u| u.trim().trim_end_matches("单元").to_string())
        .filter(|u| !u.is_empty());
    let amount_cents = parse_amount(&raw.amount)?;
    if raw.period.trim().is_empty() {
        return Err("账期为空".into());
    }
    let due_date = NaiveDate::parse_from_str(raw.due_date.trim(), "%Y-%m-%d")
        .map_err(|_| format!("截止日期 '{}' 无效,请写成 2026-12-31", raw.due_date))?;
    Ok(FeeRow {
        building,
        unit,
        room,
        amount_cents,
        period: raw.period.trim().to_string(),
        due_date,
    })
}

fn parse_amount(s: &str) -> Result<i64, String> {
    let bad = || format!("金额 '{s}' 无效,请写成 1280.50 这样的数字");
    let s = s.trim().trim_start_matches(['¥', '¥']);
    let (yuan, fen) = s.split_once('.').unwrap_or((s, "0"));
    if yuan.is_empty()
        || !yuan.bytes().all(|b| b.is_ascii_digit())
        || fen.len() > 2
        || !fen.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let yuan: i64 = yuan.parse().map_err(|_| bad())?;
    let fen: i64 = format!("{fen:0<2}").parse().map_err(|_| bad())?;
    let cents = yuan
        .checked_mul(100)
        .and_then(|c| c.checked_add(fen))
        .ok_or_else(bad)?;
    if cents <= 0 {
        return Err(format!("金额 '{s}' 应大于 0"));
    }
    Ok(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_rows_are_read_and_bad_rows_are_named_by_line() {
        let csv = "building,unit,room,amount,period,due_date\n\
                   3,2,501,1280.5,2026年Q4,2026-12-31\n\
                   3栋,,502室,abc,2026年Q4,2026-12-31\n\
                   5,1,1101,300,2026年Q4,31/12/2026\n\
                   5,1,1102,300.00,2026年Q4,2026-12-31\n\
                   5,1,1102,300.00,2026年Q4,2026-12-31\n";
        let p = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(p.rows.len(), 2);
        assert_eq!(p.rows[0].amount_cents, 128050);
        assert_eq!(p.rows[0].amount_yuan(), "1280.50");
        let lines: Vec<u64> = p.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![3, 4, 6]);
        assert!(p.bad[0].reason.contains("abc"));
        assert!(p.bad[1].reason.contains("31/12/2026"));
    }

    #[test]
    fn a_row_with_missing_columns_is_a_bad_row_not_a_crash() {
        let csv = "building,unit,room,amount,period,due_date\n3,2,501\n";
        let p = parse_csv(csv.as_bytes()).unwrap();
        assert!(p.rows.is_empty());
        assert_eq!(p.bad.len(), 1);
        assert_eq!(p.bad[0].line, 2);
    }
}
