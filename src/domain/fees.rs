//! The fee ledger as finance exports it: one CSV row per room and period.
//!
//! Columns are found by their header, in any order, in English or Chinese
//! (`building,unit,room,amount,period,due_date[,paid]`, or 楼栋/单元/房号/金额/
//! 账期/截止日期/缴费状态 and the variants finance software writes, see
//! [`Field::from_header`]). Other columns (序号, 业主姓名, 电话...) are skipped and
//! never stored. The file may be UTF-8 (with or without a BOM) or GBK, which is
//! what Excel in mainland China saves.
//!
//! Buildings, units and rooms are stored in their canonical spelling
//! ([`canonical_building`] and friends), the same one `/room` produces, so a
//! ledger's `b座` meets an owner's `B座1203`. Every row is checked before anything
//! is stored, so a file with a bad row imports nothing and the report names each
//! bad row and why.

use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};

use super::location::{Location, canonical_building, canonical_room, canonical_unit};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeRow {
    /// Canonical ([`canonical_building`]): `3`, `B`.
    pub building: String,
    /// Canonical ([`canonical_unit`]); `None` for buildings without units.
    pub unit: Option<String>,
    /// Canonical ([`canonical_room`]): `501`, `A01`.
    pub room: String,
    pub amount_cents: i64,
    pub period: String,
    pub due_date: NaiveDate,
    /// What the ledger says: `None` when it has no paid column (a mark made
    /// with `guanjia fees paid` then stays).
    pub paid: Option<bool>,
}

impl FeeRow {
    /// `1280.50` (yuan) for owners.
    pub fn amount_yuan(&self) -> String {
        format_cents(self.amount_cents)
    }

    /// `3栋2单元501`, as owners write it.
    pub fn location(&self) -> String {
        Location::new(
            Some(self.building.clone()),
            self.unit.clone(),
            Some(self.room.clone()),
        )
        .map(|l| l.to_string())
        .unwrap_or_default()
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
    /// The file line of each of `rows`, for refusing a row after parsing.
    lines: Vec<u64>,
}

impl Parsed {
    /// Move rows whose building the desk does not know to `bad`. `known` are
    /// building names in any spelling (`3栋`, `B座`): `[[building]]` names and
    /// bound groups. A ledger row for an unknown building would never reach
    /// anyone, and usually means a typo or another estate's file.
    pub fn refuse_unknown_buildings(&mut self, known: &[String]) {
        let keys: HashSet<String> = known.iter().filter_map(|n| canonical_building(n)).collect();
        let mut shown: Vec<&str> = known.iter().map(String::as_str).collect();
        shown.sort_unstable();
        shown.dedup();
        let shown = if shown.is_empty() {
            "还没有任何楼栋".to_string()
        } else {
            format!("已知楼栋:{}", shown.join("、"))
        };
        let rows = std::mem::take(&mut self.rows);
        let lines = std::mem::take(&mut self.lines);
        for (row, line) in rows.into_iter().zip(lines) {
            if keys.contains(&row.building) {
                self.rows.push(row);
                self.lines.push(line);
            } else {
                let name = Location::new(Some(row.building.clone()), None, None)
                    .map(|l| l.to_string())
                    .unwrap_or_default();
                self.bad.push(BadRow {
                    line,
                    reason: format!(
                        "楼栋「{name}」不是本服务台的楼栋({shown});请核对,或先在配置 [[building]] 中添加、在该楼业主群发送 /bind"
                    ),
                });
            }
        }
        self.bad.sort_by_key(|b| b.line);
    }

    /// The periods in the file, in the order they first appear.
    pub fn periods(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in &self.rows {
            if !out.contains(&r.period) {
                out.push(r.period.clone());
            }
        }
        out
    }
}

/// Why a whole file was refused (a bad row is a [`BadRow`] instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error(
        "文件编码无法识别(不是 UTF-8,也不是 GBK);请在 Excel 中另存为「CSV UTF-8(逗号分隔)」或「CSV(逗号分隔)」"
    )]
    Encoding,
    #[error("文件是空的;第一行应是表头,例如 楼栋,单元,房号,金额,账期,截止日期")]
    Empty,
    #[error("缺少「{field}」列;表头可以写 {accepted}")]
    MissingColumn {
        field: &'static str,
        accepted: String,
    },
    #[error("「{first}」和「{second}」两列都表示{field};请只保留一列")]
    DuplicateColumn {
        field: &'static str,
        first: String,
        second: String,
    },
    #[error("无法读取 CSV:{0}")]
    Csv(String),
}

/// A column the desk reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Building,
    Unit,
    Room,
    Amount,
    Period,
    DueDate,
    Paid,
}

impl Field {
    const ALL: [Field; 7] = [
        Field::Building,
        Field::Unit,
        Field::Room,
        Field::Amount,
        Field::Period,
        Field::DueDate,
        Field::Paid,
    ];

    /// Header spellings, compared after [`header_key`]: English, the Chinese
    /// words staff use, and what finance exports write.
    fn headers(self) -> &'static [&'static str] {
        match self {
            Field::Building => &[
                "building",
                "楼栋",
                "楼号",
                "栋号",
                "楼栋号",
                "楼栋名称",
                "楼宇",
                "楼座",
                "栋",
                "幢",
                "幢号",
                "座",
            ],
            Field::Unit => &["unit", "单元", "单元号"],
            Field::Room => &[
                "room",
                "房号",
                "房间号",
                "房间",
                "室号",
                "门牌号",
                "户号",
                "房屋号",
            ],
            Field::Amount => &[
                "amount",
                "金额",
                "应缴金额",
                "欠费金额",
                "应收金额",
                "待缴金额",
                "未缴金额",
                "费用金额",
                "应缴",
                "欠费",
                "应收",
                "欠费合计",
                "应缴合计",
            ],
            Field::Period => &[
                "period",
                "账期",
                "费用期间",
                "缴费期间",
                "计费期间",
                "账单期间",
                "所属期间",
                "期间",
                "所属期",
                "费用所属期",
                "账单月份",
            ],
            Field::DueDate => &[
                "duedate",
                "截止日期",
                "到期日",
                "到期日期",
                "缴费截止日期",
                "缴费截止日",
                "截止日",
                "最后缴费日",
                "缴费期限",
            ],
            Field::Paid => &[
                "paid",
                "已缴",
                "缴费状态",
                "是否已缴",
                "是否缴费",
                "是否已缴费",
                "已缴费",
                "支付状态",
            ],
        }
    }

    /// The name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Field::Building => "楼栋",
            Field::Unit => "单元",
            Field::Room => "房号",
            Field::Amount => "金额",
            Field::Period => "账期",
            Field::DueDate => "截止日期",
            Field::Paid => "缴费状态",
        }
    }

    fn required(self) -> bool {
        !matches!(self, Field::Unit | Field::Paid)
    }

    /// Which column a header names, if any: `应缴金额(元)` is the amount,
    /// `Due Date` the due date, `序号` nothing.
    pub fn from_header(header: &str) -> Option<Field> {
        let key = header_key(header);
        Field::ALL
            .into_iter()
            .find(|f| f.headers().contains(&key.as_str()))
    }
}

/// A header reduced for comparison: no BOM, no bracketed unit (`(元)`), no
/// spaces, `_` or `-`, lower case.
fn header_key(header: &str) -> String {
    let h = header.trim_start_matches('\u{feff}');
    let h = h.split(['(', '(', '[', '【']).next().unwrap_or(h);
    h.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The file's text: UTF-8 (a BOM is dropped) when the bytes are valid UTF-8,
/// otherwise GBK, as Excel in mainland China saves "CSV (逗号分隔)".
pub fn decode(bytes: &[u8]) -> Result<String, LedgerError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    // encoding_rs's GBK decoder reads the whole of GB18030, a superset.
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(LedgerError::Encoding);
    }
    Ok(text.into_owned())
}

/// Read a ledger file's bytes. A file-level problem (encoding, a missing
/// column) is an error; a problem in a row is a [`BadRow`].
pub fn parse_csv(bytes: &[u8]) -> Result<Parsed, LedgerError> {
    let text = decode(bytes)?;
    let first_line = text.lines().next().unwrap_or("");
    // Excel's "Unicode text" and some exports use tabs.
    let delimiter = if first_line.contains('\t') && !first_line.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| LedgerError::Csv(e.to_string()))?
        .clone();
    if headers.iter().all(|h| header_key(h).is_empty()) {
        return Err(LedgerError::Empty);
    }
    let mut columns: HashMap<Field, (usize, String)> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let Some(field) = Field::from_header(h) else {
            continue;
        };
        if let Some((_, first)) = columns.get(&field) {
            return Err(LedgerError::DuplicateColumn {
                field: field.label(),
                first: first.clone(),
                second: h.to_string(),
            });
        }
        columns.insert(field, (i, h.to_string()));
    }
    for field in Field::ALL {
        if field.required() && !columns.contains_key(&field) {
            return Err(LedgerError::MissingColumn {
                field: field.label(),
                accepted: field.headers().join("、"),
            });
        }
    }
    let column = |f: Field| columns.get(&f).map(|(i, _)| *i);

    let mut parsed = Parsed::default();
    let mut seen = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let fallback_line = i as u64 + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                parsed.bad.push(BadRow {
                    line: e.position().map(|p| p.line()).unwrap_or(fallback_line),
                    reason: format!("无法读取这一行:{e}"),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(fallback_line);
        // Excel leaves rows of empty cells after the data.
        if record.iter().all(str::is_empty) {
            continue;
        }
        let get = |f: Field| column(f).map(|i| record.get(i));
        let row = read_row(get, record.len(), headers.len());
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
                    parsed.lines.push(line);
                } else {
                    parsed.bad.push(BadRow {
                        line,
                        reason: format!("{} 在账期 {} 重复出现", row.location(), row.period),
                    });
                }
            }
            Err(reason) => parsed.bad.push(BadRow { line, reason }),
        }
    }
    Ok(parsed)
}

/// One data row. `get(field)` is `None` when the file has no such column and
/// `Some(None)` when this row is too short to reach it.
fn read_row<'a>(
    get: impl Fn(Field) -> Option<Option<&'a str>>,
    len: usize,
    header_len: usize,
) -> Result<FeeRow, String> {
    let value = |f: Field| -> Result<&'a str, String> {
        match get(f) {
            None => Ok(""),
            Some(Some(v)) => Ok(v),
            Some(None) => Err(format!(
                "这一行只有 {len} 列,表头有 {header_len} 列,缺少「{}」",
                f.label()
            )),
        }
    };
    let raw_building = value(Field::Building)?;
    let building = canonical_building(raw_building).ok_or("楼栋为空")?;
    let raw_room = value(Field::Room)?;
    let room = canonical_room(raw_room).ok_or_else(|| {
        if raw_room.is_empty() {
            "房号为空".to_string()
        } else {
            format!("房号 '{raw_room}' 无效,应是 501、1203、A01 这样的房号")
        }
    })?;
    let unit = canonical_unit(value(Field::Unit)?);
    let amount_cents = parse_amount(value(Field::Amount)?)?;
    let period = value(Field::Period)?;
    if period.is_empty() {
        return Err("账期为空".into());
    }
    let due_date = parse_date(value(Field::DueDate)?)?;
    let paid = match get(Field::Paid) {
        None => None,
        Some(_) => Some(parse_paid(value(Field::Paid)?)?),
    };
    Ok(FeeRow {
        building,
        unit,
        room,
        amount_cents,
        period: period.to_string(),
        due_date,
        paid,
    })
}

fn parse_amount(s: &str) -> Result<i64, String> {
    let bad = || format!("金额 '{s}' 无效,请写成 1280.50 这样的数字");
    let t: String = s
        .trim()
        .trim_start_matches(['¥', '¥'])
        .trim_end_matches('元')
        .chars()
        .filter(|&c| c != ',')
        .collect();
    if t.starts_with('-') {
        return Err(format!("金额 '{s}' 是负数;预存款请不要放进欠费账单"));
    }
    let (yuan, fen) = t.split_once('.').unwrap_or((&t, "0"));
    if yuan.is_empty()
        || !yuan.bytes().all(|b| b.is_ascii_digit())
        || fen.len() > 2
        || !fen.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let yuan: i64 = yuan.parse().map_err(|_| bad())?;
    let fen: i64 = format!("{fen:0<2}").parse().map_err(|_| bad())?;
    yuan.checked_mul(100)
        .and_then(|c| c.checked_add(fen))
        .ok_or_else(bad)
}

/// `2026-12-31`, and what Excel writes in China: `2026/12/31`, `2026/12/31 0:00`,
/// `2026年12月31日`, `2026.12.31`.
fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let day = s.split_whitespace().next().unwrap_or("");
    ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y.%m.%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(day, f).ok())
        .ok_or_else(|| format!("截止日期 '{s}' 无效,请写成 2026-12-31"))
}

fn parse_paid(s: &str) -> Result<bool, String> {
    match s.trim().to_lowercase().as_str() {
        "是" | "已缴" | "已缴费" | "已交" | "已付" | "已支付" | "已结清" | "1" | "yes" | "y"
        | "true" | "paid" => Ok(true),
        "" | "否" | "未缴" | "未缴费" | "未交" | "未付" | "未支付" | "欠费" | "0" | "no" | "n"
        | "false" | "unpaid" => Ok(false),
        _ => Err(format!(
            "缴费状态 '{s}' 无法识别,请写 是/否、已缴/未缴 或 1/0"
        )),
    }
}

/// `[fees] period` left at this default means "the latest imported period".
pub const LATEST_PERIOD: &str = "本期";

/// The period reminders are about: the configured one when staff set one,
/// else the latest imported. `None` when neither (no ledger yet).
pub fn current_period(configured: &str, latest_imported: Option<String>) -> Option<String> {
    let configured = configured.trim();
    if configured.is_empty() || configured == LATEST_PERIOD {
        latest_imported
    } else {
        Some(configured.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        ["3栋", "5号楼", "B座"].map(String::from).to_vec()
    }

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
        assert!(p.bad[0].reason.contains("金额"), "{}", p.bad[0].reason);
    }

    #[test]
    fn reordered_columns_are_read_by_their_header() {
        let csv = "amount,period,room,due_date,building,unit\n\
                   1280.50,2026-11,501,2026-12-31,3,2\n";
        let p = parse_csv(csv.as_bytes()).unwrap();
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        let r = &p.rows[0];
        assert_eq!(
            (r.building.as_str(), r.unit.as_deref(), r.room.as_str()),
            ("3", Some("2"), "501")
        );
        assert_eq!((r.amount_cents, r.period.as_str()), (128050, "2026-11"));
    }

    #[test]
    fn chinese_headers_and_a_leading_serial_column_are_understood_and_extras_dropped() {
        let csv = "序号,业主姓名,电话,楼号,单元,房间号,应缴金额(元),费用期间,缴费截止日期,缴费状态\n\
                   1,张三,13800138000,3栋,2单元,501室,\"1,280.50\",2026年11月,2026/12/31,未缴\n\
                   2,李四,13900139000,3栋,2单元,502室,999,2026年11月,2026年12月31日,已缴\n";
        let p = parse_csv(csv.as_bytes()).unwrap();
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        assert_eq!(p.rows.len(), 2);
        let r = &p.rows[0];
        assert_eq!(r.location(), "3栋2单元501");
        assert_eq!(r.amount_cents, 128050);
        assert_eq!(r.due_date, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert_eq!(r.paid, Some(false));
        assert_eq!(p.rows[1].paid, Some(true));
        let debug = format!("{:?}", p.rows);
        for private in ["张三", "13800138000", "李四"] {
            assert!(!debug.contains(private), "{private} was kept");
        }
    }

    #[test]
    fn other_finance_headers_are_understood() {
        for header in [
            "栋号,单元,房号,欠费金额,缴费期间,到期日",
            "楼栋,单元,房号,金额,账期,截止日期",
            "Building,Unit,Room,Amount,Period,Due Date",
        ] {
            let csv = format!("{header}\n3,2,501,10,2026-11,2026-12-31\n");
            let p = parse_csv(csv.as_bytes()).unwrap();
            assert_eq!(p.rows.len(), 1, "{header}: {:?}", p.bad);
            assert_eq!(
                p.rows[0].paid, None,
                "no paid column: the ledger says nothing"
            );
        }
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let csv = "楼栋,单元,房号,账期,截止日期\n3,2,501,2026-11,2026-12-31\n";
        let err = parse_csv(csv.as_bytes()).unwrap_err();
        assert!(
            matches!(
                &err,
                LedgerError::MissingColumn {
                    field: "金额", ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("应缴金额"), "{err}");
    }

    #[test]
    fn two_columns_for_one_field_are_refused_rather_than_guessed() {
        let csv = "楼栋,房号,应缴金额,欠费金额,账期,截止日期\n3,501,1,2,Q4,2026-12-31\n";
        let err = parse_csv(csv.as_bytes()).unwrap_err().to_string();
        assert!(
            err.contains("应缴金额") && err.contains("欠费金额"),
            "{err}"
        );
    }

    #[test]
    fn a_gbk_file_from_excel_is_read() {
        let text = "楼栋,单元,房号,金额,账期,截止日期\r\nB座,1单元,1203,2100,2026年第四季度,2026-12-31\r\n";
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&gbk).is_err(), "really not UTF-8");
        let p = parse_csv(&gbk).unwrap();
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        assert_eq!(p.rows[0].location(), "B座1单元1203");
        assert_eq!(p.rows[0].period, "2026年第四季度");
    }

    #[test]
    fn a_utf8_file_with_a_bom_is_read() {
        let text = "\u{feff}楼栋,房号,金额,账期,截止日期\n3,501,1,Q4,2026-12-31\n";
        let p = parse_csv(text.as_bytes()).unwrap();
        assert_eq!(p.rows.len(), 1, "{:?}", p.bad);
    }

    #[test]
    fn bytes_that_are_neither_utf8_nor_gbk_are_refused_as_a_whole() {
        let err = parse_csv(b"\xff\xfe\xff\xfe,\x80\n").unwrap_err();
        assert_eq!(err, LedgerError::Encoding);
    }

    #[test]
    fn buildings_and_rooms_take_the_spelling_room_uses() {
        let csv = "楼栋,单元,房号,金额,账期,截止日期\n\
                   b座,,a01,1,Q4,2026-12-31\n\
                   三栋,02单元,501室,1,Q4,2026-12-31\n\
                   Ｂ座,,１２０３,1,Q4,2026-12-31\n";
        let p = parse_csv(csv.as_bytes()).unwrap();
        assert!(p.bad.is_empty(), "{:?}", p.bad);
        let keys: Vec<(String, Option<String>, String)> = p
            .rows
            .iter()
            .map(|r| (r.building.clone(), r.unit.clone(), r.room.clone()))
            .collect();
        for (row, room_arg) in keys.iter().zip(["B座A01", "3-2-501", "b座1203"]) {
            let loc: Location = room_arg.parse().unwrap();
            assert_eq!(
                (loc.building.unwrap(), loc.unit, loc.room.unwrap()),
                row.clone(),
                "/room {room_arg}"
            );
        }
    }

    #[test]
    fn rows_of_unknown_buildings_are_refused_by_line() {
        let csv = "楼栋,房号,金额,账期,截止日期\n\
                   3栋,501,1,Q4,2026-12-31\n\
                   9栋,501,1,Q4,2026-12-31\n\
                   5,101,1,Q4,bad\n\
                   b,1203,1,Q4,2026-12-31\n";
        let mut p = parse_csv(csv.as_bytes()).unwrap();
        p.refuse_unknown_buildings(&known());
        assert_eq!(p.rows.len(), 2);
        let lines: Vec<u64> = p.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![3, 4]);
        assert!(p.bad[0].reason.contains("9栋"), "{}", p.bad[0].reason);
    }

    #[test]
    fn paid_cells_read_yes_and_no_in_any_common_spelling() {
        for (cell, want) in [
            ("是", true),
            ("已缴", true),
            ("1", true),
            ("YES", true),
            ("true", true),
            ("否", false),
            ("未缴", false),
            ("0", false),
            ("no", false),
            ("", false),
        ] {
            let csv = format!("楼栋,房号,金额,账期,截止日期,paid\n3,501,1,Q4,2026-12-31,{cell}\n");
            let p = parse_csv(csv.as_bytes()).unwrap();
            assert_eq!(p.rows[0].paid, Some(want), "{cell:?}");
        }
        let csv = "楼栋,房号,金额,账期,截止日期,已缴\n3,501,1,Q4,2026-12-31,大概\n";
        let p = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(p.bad[0].line, 2);
        assert!(p.bad[0].reason.contains("大概"));
    }

    #[test]
    fn the_current_period_is_the_configured_one_else_the_latest_imported() {
        let latest = || Some("2026年11月".to_string());
        assert_eq!(
            current_period("2026Q4", latest()).as_deref(),
            Some("2026Q4")
        );
        assert_eq!(current_period(LATEST_PERIOD, latest()), latest());
        assert_eq!(current_period("", latest()), latest());
        assert_eq!(current_period(LATEST_PERIOD, None), None);
    }

    #[test]
    fn blank_rows_excel_leaves_at_the_end_are_skipped() {
        let csv = "楼栋,房号,金额,账期,截止日期\n3,501,1,Q4,2026-12-31\n,,,,\n,,,,\n";
        let p = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!((p.rows.len(), p.bad.len()), (1, 0));
    }
}
