//! Builds the desk and its loops from settings, and runs the daemon until a
//! shutdown signal. The only place besides `main` that uses `anyhow`.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::configuration::{ConfigError, Settings};
use crate::desk::Desk;
use crate::domain::templates::Templates;
use crate::domain::{Classifier, Clock, SystemClock, builtin};
use crate::storage::Store;
use crate::telegram::{self, TelegramTransport};
use crate::worker::{self, OutboxConfig, OutboxWorker};

/// How often the clock loop looks for due reminders.
const CLOCK_EVERY: Duration = Duration::from_secs(15);

/// Where the rules, FAQ and templates came from, for people checking a setup.
pub fn rules_origin(settings: &Settings) -> String {
    match &settings.desk.rules_dir {
        Some(dir) => dir.display().to_string(),
        None => "内置规则(未配置 rules_dir,也没有 intents/ 目录)".into(),
    }
}

/// The classifier and templates: from `[desk] rules_dir` when set, else the
/// files built into the binary. A configured directory that is missing is an
/// error naming it, never a silent fallback to other rules.
pub fn load_rules(settings: &Settings) -> Result<(Classifier, Templates)> {
    let Some(dir) = &settings.desk.rules_dir else {
        let classifier =
            Classifier::from_files(&builtin::rule_files()).context("loading the built-in rules")?;
        let templates = Templates::builtin_for(&settings.desk.locale)?;
        check_faq(&classifier, &templates, "built-in faq.toml")?;
        return Ok((classifier, templates));
    };
    if !dir.is_dir() {
        return Err(ConfigError::Invalid {
            key: "desk.rules_dir",
            reason: format!(
                "目录 {} 不存在(相对路径以配置文件所在目录为准)。删掉这一行即可使用内置规则,或运行 guanjia init 生成一份可编辑的规则",
                dir.display()
            ),
        }
        .into());
    }
    let classifier =
        Classifier::load(dir).with_context(|| format!("loading rules from {}", dir.display()))?;
    let locale = settings.desk.locale.as_str();
    let file = dir.join(builtin::templates_path(locale));
    let builtin = Templates::builtin_for(locale)?;
    // A rules directory from before the Traditional catalogue shipped has none:
    // the built-in one is used, as with no rules directory.
    let (templates, added) = if locale != "zh-Hans" && !file.exists() {
        tracing::warn!(file = %file.display(), "no templates for this locale here; the built-in ones are used (`guanjia init` writes an editable copy)");
        (builtin, Vec::new())
    } else {
        Templates::load_over(&file, &builtin)?
    };
    if !added.is_empty() {
        // An edited copy from an earlier release: the desk still starts.
        tracing::warn!(
            file = %file.display(),
            keys = %added.join(", "),
            "these messages are not in your templates; the built-in wording is used (copy them from `guanjia init` into your file to edit them)"
        );
    }
    check_faq(
        &classifier,
        &templates,
        &dir.join("faq.toml").display().to_string(),
    )?;
    Ok((classifier, templates))
}

/// What an operator should know about the company details owners read. They live
/// in one place, the templates' `[vars]` (company, phone, desk hours, location,
/// payment channels): the config's older `[desk] company` still wins over
/// `{company}` but is reported, and so are details still at the shipped samples.
pub fn company_notes(settings: &Settings, templates: &Templates) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some((file, keys)) = templates.filled_in() {
        notes.push(format!(
            "话术文件 {file} 缺少 {} 条:{};这些用的是内置的说法。要修改它们,请从 guanjia init 生成的新文件里复制过来",
            keys.len(),
            keys.join("、")
        ));
    }
    if let Some(company) = &settings.desk.company {
        notes.push(format!(
            "配置里的 [desk] company = \"{company}\" 是旧写法:公司信息(公司名、电话、服务时间、地点、缴费方式)统一写在 templates.toml 的 [vars] 里,只改一处。现在仍以配置里的公司名为准;请把它移到 [vars] company 并删掉这一行"
        ));
    }
    let Ok(samples) = Templates::builtin_for(&settings.desk.locale) else {
        return notes;
    };
    let still: Vec<&str> = ["phone", "desk_location"]
        .into_iter()
        .filter(|k| templates.var(k).is_some() && templates.var(k) == samples.var(k))
        .collect();
    if !still.is_empty() {
        let hint = if settings.desk.rules_dir.is_some() {
            "请在 templates.toml 的 [vars] 里改成贵公司的"
        } else {
            "运行 guanjia init 生成可编辑的 intents/,在 templates.toml 的 [vars] 里改成贵公司的"
        };
        notes.push(format!(
            "话术 [vars] 的 {} 还是示例值(如电话 {}),业主会看到它:{hint}",
            still.join("、"),
            samples.var("phone").unwrap_or_default()
        ));
    }
    notes
}

/// FAQ answers may use the templates' `[vars]` and nothing else.
fn check_faq(classifier: &Classifier, templates: &Templates, file: &str) -> Result<()> {
    templates.check_vars_only(
        file,
        classifier
            .faq_entries()
            .map(|e| (e.id.as_str(), e.answer.as_str())),
    )?;
    Ok(())
}

/// Load rules, templates and the database; bind the configured buildings.
pub async fn build_desk(
    settings: Settings,
    clock: Arc<dyn Clock>,
    bot_username: String,
) -> Result<Desk> {
    let (classifier, mut templates) = load_rules(&settings)?;
    for note in company_notes(&settings, &templates) {
        tracing::warn!("{note}");
    }
    if let Some(company) = &settings.desk.company {
        templates.set_var("company", company);
    }
    let store = Store::connect(&settings.database.url)
        .await
        .with_context(|| format!("opening the database {}", redact(&settings.database.url)))?;
    let desk = Desk::new(
        store,
        Arc::new(classifier),
        templates,
        settings,
        clock,
        bot_username,
    );
    desk.bind_configured_buildings().await?;
    desk.load_remembered_state().await?;
    Ok(desk)
}

pub use crate::storage::redact;

pub fn outbox_config(settings: &Settings) -> OutboxConfig {
    OutboxConfig::new(
        settings.telegram.per_second(),
        settings.telegram.per_chat_per_minute(),
    )
}

/// `guanjia run`: long-poll Telegram (or, with `webhook_url`, take its posts)
/// until SIGINT or SIGTERM, serving `/healthz` and `/metrics` on `[http] listen`.
pub async fn run(settings: Settings) -> Result<()> {
    let token = settings
        .telegram
        .token
        .clone()
        .context("no bot token: set TELOXIDE_TOKEN or [telegram] token (try `guanjia console` to run without one)")?;
    let mut bot = Bot::new(token);
    if let Some(url) = &settings.telegram.api_url {
        bot = bot.set_api_url(
            url.parse()
                .with_context(|| format!("[telegram] api_url '{url}' is not a URL"))?,
        );
    }
    let me = bot
        .get_me()
        .await
        .context("asking Telegram who we are (getMe)")?;
    crate::metrics::metrics().bot_api_reached(true);
    let username = me.username.clone().unwrap_or_else(|| "guanjia_bot".into());
    tracing::info!(bot = %username, "connected to the Bot API");
    // Bound now, so a port in use stops the start before anything runs.
    let listener = match settings.http.listen_addr() {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("[http] listen: cannot listen on {addr}"))?,
        ),
        None => None,
    };
    let webhook = settings.telegram.webhook_url.clone().zip(
        settings
            .telegram
            .secret_token
            .clone()
            .zip(settings.telegram.webhook_path()),
    );
    let poll_timeout =
        Duration::from_secs(u64::from(settings.telegram.poll_timeout_secs.unwrap_or(10)));
    let outbox_cfg = outbox_config(&settings);
    let desk = build_desk(settings, Arc::new(SystemClock), username.clone()).await?;
    if desk.staff_chat().is_none() {
        tracing::warn!(
            "no staff group yet: an admin sends /set_staff_group in it (or set [desk] staff_chat)"
        );
    }
    if !me.can_read_all_group_messages {
        report_privacy_mode(&desk, &username).await;
    }
    let mut staff: Vec<i64> = desk
        .settings()
        .desk
        .admins
        .iter()
        .chain(&desk.settings().desk.staff)
        .copied()
        .collect();
    match desk.store().staff().await {
        Ok(added) => staff.extend(added.into_iter().map(|(id, _)| id)),
        Err(e) => tracing::warn!(error = %e, "could not list staff for their command menus"),
    }
    // Estates' own staff groups get the staff menu as the desk's group does.
    staff.extend(desk.settings().estate.iter().filter_map(|e| e.staff_chat));
    staff.sort_unstable();
    staff.dedup();
    telegram::set_command_menus(&bot, desk.t(), desk.staff_chat(), &staff).await;

    let shutdown = CancellationToken::new();
    // Several instances may share a PostgreSQL database: one sends and ticks the
    // clock at a time (worker::instance says why). Alone on SQLite, this one does.
    let (leading, presence) = match desk.store().backend() {
        crate::storage::Backend::Postgres => {
            // Alive before the first update is stored, so no other instance
            // takes this one's updates for a dead one's.
            worker::instance::announce(desk.store())
                .await
                .context("announcing this instance in the database")?;
            let (leading, task) = worker::instance::start(desk.store().clone(), shutdown.clone());
            (leading, Some(task))
        }
        crate::storage::Backend::Sqlite => (worker::instance::alone(), None),
    };
    let sender = OutboxWorker::new(
        desk.clone(),
        Arc::new(TelegramTransport::new(bot.clone())),
        outbox_cfg,
    )
    .with_leading(leading.clone());
    let sender = tokio::spawn(sender.run(shutdown.clone()));
    let clock = tokio::spawn(worker::clock::run(
        desk.clone(),
        CLOCK_EVERY,
        leading,
        shutdown.clone(),
    ));

    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing the work in hand");
        signals.cancel();
    });
    let (accept, router) =
        telegram::intake::start(bot.clone(), desk.clone(), me, shutdown.clone()).await;
    // Served before Telegram is told to post here, so its first post finds us.
    let server = match listener {
        Some(listener) => {
            let hook = webhook.as_ref().map(|(_, (secret, path))| {
                telegram::webhook::routes(path, secret.clone(), accept.clone())
            });
            let app = crate::http::router(desk.clone(), hook);
            let addr = listener.local_addr().ok();
            tracing::info!(
                ?addr,
                webhook = webhook.is_some(),
                "serving /healthz and /metrics"
            );
            Some(tokio::spawn(crate::http::serve(
                listener,
                app,
                shutdown.clone(),
            )))
        }
        None => None,
    };
    match &webhook {
        Some((url, (secret, _))) => {
            if let Err(e) = telegram::webhook::register(&bot, url, secret).await {
                shutdown.cancel();
                anyhow::bail!("setting the webhook (setWebhook {url}): {e}");
            }
            tracing::info!(%url, "webhook set: Telegram posts updates to us");
            drop(accept);
            shutdown.cancelled().await;
        }
        None => telegram::intake::poll(bot, accept, poll_timeout, shutdown.clone()).await,
    }
    shutdown.cancel();
    // The server holds the last way into the router: once it stopped, the
    // router lets each chat finish.
    if let Some(server) = server {
        let _ = server.await;
    }
    let _ = router.await;
    let _ = tokio::join!(sender, clock);
    if let Some(presence) = presence {
        let _ = presence.await;
        // Sending stopped: the next instance may take over at once, and the
        // updates this one handled are all done.
        if let Err(e) = desk.store().leave(worker::instance::SENDER_LEASE).await {
            tracing::warn!(error = %e, "could not give up the sender lease; it lapses in seconds");
        }
    }
    let backlog = desk.store().outbox_backlog().await.unwrap_or(-1);
    desk.store().close().await;
    tracing::info!(backlog, "stopped; queued messages resume on the next start");
    Ok(())
}

/// Privacy mode on: the bot sees only commands and replies in groups, so owners'
/// reports would go unseen. Said in the log and to staff at every start until fixed.
async fn report_privacy_mode(desk: &Desk, username: &str) {
    tracing::warn!(
        bot = %username,
        "privacy mode is on: in groups the bot sees only commands and replies, not owners' reports. \
         Fix: @BotFather → /setprivacy → @{username} → Disable, then remove and re-add the bot to each group (or make it admin there)"
    );
    if let Err(e) = desk.warn_privacy_mode(username).await {
        tracing::error!(error = %e, "could not tell staff about privacy mode");
    }
}

/// A starter config for `guanjia init`: enough to start with a token and one
/// admin id; everything else can be done from the chat.
const STARTER_CONFIG: &str = r#"# 管家 (Guanjia) 配置。完整说明见 README 的「从零开始配置一个真正的机器人」。
# 相对路径(数据库文件、rules_dir)以本文件所在目录为准。
# 环境变量优先:TELOXIDE_TOKEN、TELOXIDE_API_URL、DATABASE_URL。

[telegram]
# token = "123456:ABC..."              # 从 @BotFather 获得;更推荐用环境变量 TELOXIDE_TOKEN

[database]
url = "sqlite://guanjia.db"            # 或 postgres://user@host/guanjia

[desk]                                 # 公司名、电话等业主看到的信息写在 intents/templates.toml 的 [vars]
timezone = "Asia/Shanghai"
admins = []                            # 管理员的 Telegram user id:私聊机器人发 /id 查看,例如 [123456789]
staff = []                             # 其他工作人员的 user id(也可以由管理员用 /staff_add 添加)
# staff_chat = -1001234567890          # 不必填:管理员在员工群里发 /set_staff_group 即可
rules_dir = "intents"                  # 规则、FAQ 和话术,可以直接编辑

[service]                              # 服务标准(承诺给业主的时间)
respond_minutes = 15
emergency_respond_minutes = 5
resolve_hours = 24
complaint_answer_hours = 24
follow_up_hours = 24

# 业主群不必写在这里:把机器人拉进群后,在群里发 /bind 3栋 即可。
# [[building]]
# name = "3栋"
# chat = -1001000000003
"#;

/// `guanjia init [DIR]`: write a starter `guanjia.toml` and an editable copy of
/// the built-in rules into `dir`. Refuses, writing nothing, if any file exists.
pub fn init(dir: &Path) -> Result<Vec<PathBuf>> {
    let rules = dir.join("intents");
    let mut files: Vec<(PathBuf, &str)> = vec![(dir.join("guanjia.toml"), STARTER_CONFIG)];
    files.extend(
        builtin::FILES
            .iter()
            .map(|(name, text)| (rules.join(name), *text)),
    );
    // The Traditional Chinese wording, for a company that sets `locale = "zh-Hant"`.
    files.extend(
        builtin::ZH_HANT
            .iter()
            .map(|(name, text)| (rules.join("zh-Hant").join(name), *text)),
    );
    // The labelled examples the model learns from, for staff to add to.
    files.extend(
        builtin::EXAMPLES
            .iter()
            .map(|(name, text)| (rules.join("examples").join(name), *text)),
    );
    let existing: Vec<String> = files
        .iter()
        .filter(|(path, _)| path.exists())
        .map(|(path, _)| path.display().to_string())
        .collect();
    if !existing.is_empty() {
        anyhow::bail!(
            "这些文件已经存在,为免覆盖您的修改,什么都没有写:\n  {}\n请换一个目录,或先移走它们。",
            existing.join("\n  ")
        );
    }
    for sub in ["examples", "zh-Hant"] {
        let sub = rules.join(sub);
        std::fs::create_dir_all(&sub).with_context(|| format!("creating {}", sub.display()))?;
    }
    for (path, text) in &files {
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(files.into_iter().map(|(path, _)| path).collect())
}

/// The estate a ledger command is about: the one `--estate` names, else the only
/// one. With several estates the operator must say which: one estate's 3栋501
/// is not another's, and a ledger filed under the wrong estate would send an
/// owner a neighbour's amount.
fn ledger_estate(settings: &Settings, named: Option<&str>) -> Result<String> {
    let names: Vec<String> = settings
        .estate
        .iter()
        .map(|e| e.name.trim().to_string())
        .collect();
    match named.map(str::trim) {
        Some(n) if names.iter().any(|e| e == n) => Ok(n.to_string()),
        Some(n) if names.is_empty() => {
            anyhow::bail!("配置里没有 [[estate]],账单属于唯一的小区,不用 --estate(收到的是 '{n}')")
        }
        Some(n) => anyhow::bail!("小区 '{n}' 不在配置里;配置的小区:{}", names.join("、")),
        None if names.len() <= 1 => Ok(names.into_iter().next().unwrap_or_default()),
        None => anyhow::bail!(
            "配置了 {} 个小区,请用 --estate 指明是哪个小区的账单:{}",
            names.len(),
            names.join("、")
        ),
    }
}

/// `guanjia fees import FILE.csv [--estate NAME]`: check every row, then store all
/// of them or none. Each period in the file replaces that estate's rows of it.
pub async fn import_fees(
    settings: &Settings,
    file: &std::path::Path,
    estate: Option<&str>,
) -> Result<String> {
    use crate::domain::fees;
    let bytes = std::fs::read(file).with_context(|| format!("opening {}", file.display()))?;
    let mut parsed =
        fees::parse_csv(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let estate = ledger_estate(settings, estate)?;
    let store = Store::connect(&settings.database.url)
        .await
        .with_context(|| format!("opening the database {}", redact(&settings.database.url)))?;
    // The estate's buildings only: another estate's 5栋 is a typo here.
    let mut known: Vec<String> = settings
        .building
        .iter()
        .filter(|b| settings.estate_of(b) == estate)
        .map(|b| b.name.clone())
        .collect();
    known.extend(
        store
            .buildings()
            .await?
            .into_iter()
            .filter(|g| g.estate == estate)
            .map(|g| g.name),
    );
    parsed.refuse_unknown_buildings(&known);
    if !parsed.bad.is_empty() {
        store.close().await;
        let lines: Vec<String> = parsed
            .bad
            .iter()
            .map(|b| format!("  {}:{}: {}", file.display(), b.line, b.reason))
            .collect();
        anyhow::bail!(
            "{} 行有问题,本次没有导入任何数据(共 {} 行正确)。请改正后重新导入:\n{}",
            parsed.bad.len(),
            parsed.rows.len(),
            lines.join("\n")
        );
    }
    if parsed.rows.is_empty() {
        store.close().await;
        anyhow::bail!("{} 没有数据行", file.display());
    }
    let periods = parsed.periods();
    let report = store
        .import_fees(&estate, &parsed.rows, SystemClock.now())
        .await?;
    let latest = store.latest_fee_period(&estate).await?;
    store.close().await;
    let whose = if estate.is_empty() {
        String::new()
    } else {
        format!("{estate} ")
    };
    let mut out = format!(
        "已导入 {whose}{} 行缴费记录({}),账期 {}",
        report.stored,
        file.display(),
        periods.join("、")
    );
    if report.paid > 0 {
        out.push_str(&format!(",其中 {} 行已缴", report.paid));
    }
    out.push('。');
    if report.removed > 0 {
        out.push_str(&format!(
            "\n同账期中本文件没有的 {} 行旧记录已删除。",
            report.removed
        ));
    }
    match fees::current_period(&settings.fees.period, latest) {
        Some(p) if periods.contains(&p) => {
            out.push_str(&format!("\n私聊提醒只发账期 {p} 中未缴的记录。"))
        }
        Some(p) => out.push_str(&format!(
            "\n注意:私聊提醒只发账期 {p}(配置 [fees] period)中未缴的记录,本文件的账期不会提醒。"
        )),
        None => {}
    }
    Ok(out)
}

/// `guanjia fees paid BUILDING UNIT ROOM PERIOD [--unpaid] [--estate NAME]`: mark
/// one room's row so no reminder goes for it (or undo that). `UNIT` is `-` for
/// buildings without units.
pub async fn mark_fee_paid(
    settings: &Settings,
    estate: Option<&str>,
    building: &str,
    unit: &str,
    room: &str,
    period: &str,
    paid: bool,
) -> Result<String> {
    use crate::domain::location::{canonical_building, canonical_room, canonical_unit};
    let b = canonical_building(building)
        .with_context(|| format!("楼栋 '{building}' 无效,例如 3栋、B座"))?;
    let u = if unit.trim() == "-" {
        None
    } else {
        canonical_unit(unit)
    };
    let r = canonical_room(room).with_context(|| format!("房号 '{room}' 无效,例如 501、A01"))?;
    let estate = ledger_estate(settings, estate)?;
    let shown = crate::domain::Location::new(Some(b.clone()), u.clone(), Some(r.clone()))
        .map(|l| l.to_string())
        .unwrap_or_default();
    let store = Store::connect(&settings.database.url)
        .await
        .with_context(|| format!("opening the database {}", redact(&settings.database.url)))?;
    let found = store
        .mark_fee_paid(
            &estate,
            (&b, u.as_deref(), &r),
            period.trim(),
            paid,
            SystemClock.now(),
        )
        .await;
    store.close().await;
    if !found? {
        anyhow::bail!(
            "账期 {period} 没有 {shown} 的缴费记录;请核对楼栋、单元、房号和账期(没有单元时写 -)"
        );
    }
    Ok(if paid {
        format!("已标记 {shown} 账期 {period} 为已缴,不再提醒。")
    } else {
        format!("已标记 {shown} 账期 {period} 为未缴。")
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_not_logged() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db/guanjia"),
            "postgres://app:***@db/guanjia"
        );
        assert_eq!(super::redact("sqlite://guanjia.db"), "sqlite://guanjia.db");
    }
}
