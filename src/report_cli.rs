//! `guanjia report`: the manager's figures as Markdown, CSV, JSON or one
//! self-contained HTML file (inline SVG charts, no scripts, no downloads), to read
//! offline and print for the weekly meeting.

use std::fmt::Write as _;

use crate::domain::stats::{Report, Share};

/// How a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Csv,
    Json,
    Html,
    /// Every ticket with its history, one CSV row per event.
    Events,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "md" | "markdown" => Ok(Format::Markdown),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "html" => Ok(Format::Html),
            "events" => Ok(Format::Events),
            other => Err(format!(
                "unknown format '{other}': md, csv, json, html or events"
            )),
        }
    }
}

/// The word staff use for an intent.
pub fn intent_label(i: crate::domain::Intent) -> &'static str {
    use crate::domain::Intent;
    match i {
        Intent::Emergency => "紧急",
        Intent::Complaint => "投诉",
        Intent::Repair => "报修",
        Intent::Inquiry => "咨询",
        Intent::Suggestion => "建议",
        Intent::Other => "其他",
    }
}

/// Names for ids: categories (`plumbing` → 水管/漏水) and intents (`repair` → 报修).
pub struct Labels<'a> {
    pub category: &'a dyn Fn(&str) -> String,
    pub intent: &'a dyn Fn(&str) -> String,
    /// An event kind as stored (`claimed`) → what staff call it.
    pub event: &'a dyn Fn(&str) -> String,
}

pub fn render(r: &Report, title: &str, format: Format, labels: &Labels) -> String {
    match format {
        Format::Markdown => markdown(r, title, labels),
        Format::Csv => csv(r, labels),
        Format::Json => serde_json::to_string_pretty(r).expect("a report serialises"),
        Format::Html => html(r, title, labels),
        // Written row by row by `write_events`, not from the figures.
        Format::Events => csv(r, labels),
    }
}

/// The CSV export of tickets with their events, written as they are read.
pub struct EventsCsv<W: std::io::Write> {
    w: csv::Writer<W>,
    tz: chrono_tz::Tz,
}

impl<W: std::io::Write> EventsCsv<W> {
    pub fn new(out: W, tz: chrono_tz::Tz) -> std::io::Result<Self> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "工单",
            "提交时间",
            "类型",
            "类别",
            "楼栋",
            "优先级",
            "当前状态",
            "评价",
            "时间",
            "事件",
            "操作人",
            "说明",
        ])?;
        Ok(Self { w, tz })
    }

    pub fn write(&mut self, e: &crate::storage::EventLine, labels: &Labels) -> std::io::Result<()> {
        let time = |t: chrono::DateTime<chrono::Utc>| {
            t.with_timezone(&self.tz)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        };
        let kind = (labels.event)(&e.kind);
        let status = e
            .status
            .parse::<crate::domain::Status>()
            .map(|s| s.label())
            .unwrap_or(e.status.as_str());
        let priority = e
            .priority
            .parse::<crate::domain::Priority>()
            .map(|p| p.label())
            .unwrap_or(e.priority.as_str());
        self.w.write_record([
            format!("#{}", e.ticket),
            time(e.opened_at),
            (labels.intent)(&e.intent),
            e.category
                .as_deref()
                .map(|c| (labels.category)(c))
                .unwrap_or_default(),
            e.building.as_deref().map(building).unwrap_or_default(),
            priority.to_string(),
            status.to_string(),
            e.rating.map(|r| r.to_string()).unwrap_or_default(),
            time(e.at),
            kind.to_string(),
            e.actor.clone().unwrap_or_default(),
            e.detail.clone().unwrap_or_default(),
        ])?;
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

fn minutes(m: Option<i64>) -> String {
    match m {
        None => "—".into(),
        Some(m) if m < 120 => format!("{m} 分钟"),
        Some(m) => format!("{:.1} 小时", m as f64 / 60.0),
    }
}

fn share(s: Share) -> String {
    match s.ratio() {
        None => "—".into(),
        Some(r) => format!("{:.0}%({}/{})", r * 100.0, s.part, s.whole),
    }
}

/// The headline figures, as (label, value) rows.
fn headline(r: &Report) -> Vec<(&'static str, String)> {
    vec![
        ("工单总数", r.tickets.to_string()),
        ("认领用时 中位数", minutes(r.claim_median_minutes)),
        ("认领用时 P90", minutes(r.claim_p90_minutes)),
        ("按时认领", share(r.claimed_in_time)),
        ("完成用时 中位数", minutes(r.finish_median_minutes)),
        ("完成用时 P90", minutes(r.finish_p90_minutes)),
        ("按时完成", share(r.finished_in_time)),
        (
            "业主评价",
            match r.rating_average {
                Some(a) => format!("{a:.2} 星({} 条,其中不满意 {})", r.rated, r.unhappy),
                None => "—".into(),
            },
        ),
        ("重新打开", share(r.reopened)),
        ("升级提醒(超时)", r.escalated.to_string()),
        ("业主情绪", r.upset.to_string()),
        ("分类纠正", r.corrections.to_string()),
    ]
}

fn markdown(r: &Report, title: &str, l: &Labels) -> String {
    let mut s = format!("# {title}\n\n| 指标 | 数值 |\n|---|---|\n");
    for (k, v) in headline(r) {
        let _ = writeln!(s, "| {k} | {v} |");
    }
    for (name, map, label) in [
        ("按类型", &r.by_intent, l.intent),
        ("按类别", &r.by_category, l.category),
    ] {
        let _ = write!(s, "\n## {name}\n\n| | 工单 |\n|---|---|\n");
        for (k, v) in sorted(map) {
            let _ = writeln!(s, "| {} | {v} |", label(k));
        }
    }
    let _ = write!(s, "\n## 按楼栋\n\n| | 工单 |\n|---|---|\n");
    for (k, v) in sorted(&r.by_building) {
        let _ = writeln!(s, "| {} | {v} |", building(k));
    }
    let _ = write!(
        s,
        "\n## 反复出现的问题(同一楼栋、同一类别、同一周)\n\n| 周 | 楼栋 | 类别 | 工单 |\n|---|---|---|---|\n"
    );
    for p in &r.recurring {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            p.week,
            building(&p.building),
            (l.category)(&p.category),
            p.tickets
        );
    }
    let _ = write!(
        s,
        "\n## 工作量\n\n| 负责人 | 工单 | 已完成 |\n|---|---|---|\n"
    );
    for w in &r.staff {
        let _ = writeln!(s, "| {} | {} | {} |", w.name, w.tickets, w.finished);
    }
    if !r.surveys.is_empty() {
        let _ = write!(
            s,
            "\n## 满意度调查(匿名,1–5 分)\n\n| 调查 | 楼栋 | 票数 | 平均分 |\n|---|---|---|---|\n"
        );
        for (survey, place, votes) in survey_rows(r) {
            let _ = writeln!(
                s,
                "| {survey} | {place} | {} | {} |",
                votes.total(),
                score(votes.average())
            );
        }
    }
    s
}

/// One row per survey and building, then the survey as a whole.
fn survey_rows(r: &Report) -> Vec<(String, String, crate::domain::survey::Votes)> {
    let mut rows = Vec::new();
    for sv in &r.surveys {
        let name = format!("#{} {} {}", sv.id, sv.sent_on, sv.question);
        for (b, v) in &sv.buildings {
            rows.push((name.clone(), building(b), *v));
        }
        rows.push((name, "全部".into(), sv.overall()));
    }
    rows
}

fn score(a: Option<f64>) -> String {
    a.map(|a| format!("{a:.2}")).unwrap_or_else(|| "—".into())
}

fn csv(r: &Report, l: &Labels) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["section", "key", "value"]);
    for (k, v) in headline(r) {
        let _ = w.write_record(["headline", k, &v]);
    }
    for (k, v) in &r.by_intent {
        let _ = w.write_record(["intent", &(l.intent)(k), &v.to_string()]);
    }
    for (k, v) in &r.by_category {
        let _ = w.write_record(["category", &(l.category)(k), &v.to_string()]);
    }
    for (k, v) in &r.by_building {
        let _ = w.write_record(["building", &building(k), &v.to_string()]);
    }
    for p in &r.recurring {
        let key = format!(
            "{} {} {}",
            p.week,
            building(&p.building),
            (l.category)(&p.category)
        );
        let _ = w.write_record(["recurring", &key, &p.tickets.to_string()]);
    }
    for s in &r.staff {
        let _ = w.write_record(["staff", &s.name, &s.tickets.to_string()]);
    }
    for (survey, place, votes) in survey_rows(r) {
        let key = format!("{survey} {place}");
        let _ = w.write_record(["survey", &key, &score(votes.average())]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn sorted(map: &std::collections::BTreeMap<String, u64>) -> Vec<(&String, &u64)> {
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    v
}

fn building(b: &str) -> String {
    if b.chars().all(|c| c.is_ascii_digit()) {
        format!("{b}栋")
    } else {
        b.to_string()
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Colours for categories, in turn.
const PALETTE: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#9c755f",
];

fn html(r: &Report, title: &str, l: &Labels) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}\
         h2{{margin-top:2em}}svg text{{font-size:11px}}@media print{{h2{{break-before:auto}}}}</style></head><body>\
         <h1>{t}</h1><table>",
        t = escape(title)
    );
    for (k, v) in headline(r) {
        let _ = write!(s, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v));
    }
    s.push_str("</table>");

    // Tickets per day, stacked by category.
    s.push_str("<h2>每天的工单(按类别)</h2>");
    let mut categories: Vec<&String> = r.by_category.keys().collect();
    categories.sort_by_key(|c| std::cmp::Reverse(r.by_category[*c]));
    let colour = |c: &str| {
        let i = categories.iter().position(|x| *x == c).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };
    let days: Vec<(&String, u64)> = r
        .per_day
        .iter()
        .map(|(d, m)| (d, m.values().sum()))
        .collect();
    let max = days.iter().map(|d| d.1).max().unwrap_or(1).max(1);
    let (w, h) = (720.0, 220.0);
    let bar = (w - 40.0) / days.len().max(1) as f64;
    let _ = write!(
        s,
        "<svg width=\"{w}\" height=\"{}\" role=\"img\">",
        h + 30.0
    );
    for (i, (day, _)) in days.iter().enumerate() {
        let mut y = h;
        for c in &categories {
            let n = r.per_day[*day].get(*c).copied().unwrap_or(0);
            if n == 0 {
                continue;
            }
            let bh = n as f64 / max as f64 * (h - 10.0);
            y -= bh;
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} {}:{n}</title></rect>",
                30.0 + i as f64 * bar,
                (bar - 2.0).max(1.0),
                colour(c),
                escape(day),
                escape(&(l.category)(c))
            );
        }
        if days.len() <= 31 || i % (days.len() / 15).max(1) == 0 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\">{}</text>",
                30.0 + i as f64 * bar,
                h + 14.0,
                escape(day.get(5..).unwrap_or(day))
            );
        }
    }
    let _ = write!(s, "<text x=\"0\" y=\"12\">{max}</text></svg><p>");
    for c in &categories {
        let _ = write!(
            s,
            "<span style=\"color:{}\">■</span> {} ",
            colour(c),
            escape(&(l.category)(c))
        );
    }
    s.push_str("</p>");

    // Clock compliance.
    s.push_str("<h2>服务时限达成</h2>");
    hbars(
        &mut s,
        &[
            ("按时认领", r.claimed_in_time.ratio().unwrap_or(0.0) * 100.0),
            (
                "按时完成",
                r.finished_in_time.ratio().unwrap_or(0.0) * 100.0,
            ),
        ],
        100.0,
        "%",
    );

    // Recurring problems.
    s.push_str("<h2>反复出现的问题</h2>");
    let rows: Vec<(String, f64)> = r
        .recurring
        .iter()
        .map(|p| {
            (
                format!(
                    "{} {} {}",
                    p.week,
                    building(&p.building),
                    (l.category)(&p.category)
                ),
                p.tickets as f64,
            )
        })
        .collect();
    let max = rows.iter().map(|r| r.1).fold(1.0, f64::max);
    let refs: Vec<(&str, f64)> = rows.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    hbars(&mut s, &refs, max, "");

    s.push_str("<h2>按楼栋</h2><table>");
    for (k, v) in sorted(&r.by_building) {
        let _ = write!(s, "<tr><th>{}</th><td>{v}</td></tr>", escape(&building(k)));
    }
    s.push_str(
        "</table><h2>工作量</h2><table><tr><th>负责人</th><th>工单</th><th>已完成</th></tr>",
    );
    for w in &r.staff {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&w.name),
            w.tickets,
            w.finished
        );
    }
    s.push_str("</table>");
    if !r.surveys.is_empty() {
        s.push_str("<h2>满意度调查(匿名,1–5 分)</h2><table><tr><th>调查</th><th>楼栋</th><th>票数</th><th>平均分</th></tr>");
        for (survey, place, votes) in survey_rows(r) {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&survey),
                escape(&place),
                votes.total(),
                score(votes.average())
            );
        }
        s.push_str("</table>");
    }
    s.push_str("</body></html>\n");
    s
}

/// Horizontal bars with their value at the end.
fn hbars(s: &mut String, rows: &[(&str, f64)], max: f64, unit: &str) {
    let height = rows.len() as f64 * 22.0 + 4.0;
    let _ = write!(s, "<svg width=\"720\" height=\"{height}\" role=\"img\">");
    for (i, (label, v)) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * 22.0;
        let len = if max > 0.0 { v / max * 400.0 } else { 0.0 };
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{:.1}\">{}</text><rect x=\"260\" y=\"{y:.1}\" width=\"{len:.1}\" height=\"16\" fill=\"#4e79a7\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{v:.0}{unit}</text>",
            y + 12.0,
            escape(label),
            265.0 + len,
            y + 12.0
        );
    }
    s.push_str("</svg>");
}
