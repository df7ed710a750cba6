//! Builds the desk and its loops from settings, and runs the daemon until a
//! shutdown signal. The only place besides `main` that uses `anyhow`.

use anyhow::{Context, Result};
use std::sync::Arc;
use std::time::Duration;
use teloxide::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::configuration::Settings;
use crate::desk::Desk;
use crate::domain::templates::Templates;
use crate::domain::{Classifier, Clock, SystemClock};
use crate::storage::Store;
use crate::telegram::{self, TelegramTransport};
use crate::worker::{self, OutboxConfig, OutboxWorker};

/// How often the clock loop looks for due reminders.
const CLOCK_EVERY: Duration = Duration::from_secs(15);

/// Load rules, templates and the database; bind the configured buildings.
pub async fn build_desk(
    settings: Settings,
    clock: Arc<dyn Clock>,
    bot_username: String,
) -> Result<Desk> {
    let rules = settings.desk.rules_dir.clone();
    let classifier = Classifier::load(&rules)
        .with_context(|| format!("loading rules from {}", rules.display()))?;
    let mut templates = Templates::load(&rules.join("templates.toml"))?;
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
    Ok(desk)
}

/// A database URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub fn outbox_config(settings: &Settings) -> OutboxConfig {
    OutboxConfig::new(
        settings.telegram.per_second(),
        settings.telegram.per_chat_per_minute(),
    )
}

/// `guanjia run`: long-poll Telegram until SIGINT or SIGTERM.
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
    let username = me.username.clone().unwrap_or_else(|| "guanjia_bot".into());
    tracing::info!(bot = %username, "connected to the Bot API");
    if settings.desk.staff_chat.is_none() {
        tracing::warn!("[desk] staff_chat is not set: tickets will not be posted to staff");
    }
    let poll_timeout =
        Duration::from_secs(u64::from(settings.telegram.poll_timeout_secs.unwrap_or(10)));
    let outbox_cfg = outbox_config(&settings);
    let desk = build_desk(settings, Arc::new(SystemClock), username).await?;
    // The owners' command menu; staff see theirs with /help.
    if let Err(e) = bot
        .set_my_commands(
            <telegram::OwnerCommand as teloxide::utils::command::BotCommands>::bot_commands(),
        )
        .await
    {
        tracing::warn!(error = %e, "could not set the command menu");
    }

    let shutdown = CancellationToken::new();
    let sender = OutboxWorker::new(
        desk.clone(),
        Arc::new(TelegramTransport::new(bot.clone())),
        outbox_cfg,
    );
    let sender = tokio::spawn(sender.run(shutdown.clone()));
    let clock = tokio::spawn(worker::clock::run(
        desk.clone(),
        CLOCK_EVERY,
        shutdown.clone(),
    ));

    let signals = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing the work in hand");
        signals.cancel();
    });
    telegram::intake::run(bot, desk.clone(), me, poll_timeout, shutdown.clone()).await;
    shutdown.cancel();
    let _ = tokio::join!(sender, clock);
    let backlog = desk.store().outbox_backlog().await.unwrap_or(-1);
    desk.store().close().await;
    tracing::info!(backlog, "stopped; queued messages resume on the next start");
    Ok(())
}

/// `guanjia fees import FILE.csv`: check every row, then store all of them or none.
/// Each period in the file replaces that period's rows.
pub async fn import_fees(settings: &Settings, file: &std::path::Path) -> Result<String> {
    use crate::domain::fees;
    let bytes = std::fs::read(file).with_context(|| format!("opening {}", file.display()))?;
    let mut parsed =
        fees::parse_csv(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let store = Store::connect(&settings.database.url)
        .await
        .with_context(|| format!("opening the database {}", redact(&settings.database.url)))?;
    let mut known: Vec<String> = settings.building.iter().map(|b| b.name.clone()).collect();
    known.extend(store.buildings().await?.into_iter().map(|g| g.name));
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
    let report = store.import_fees(&parsed.rows, SystemClock.now()).await?;
    let latest = store.latest_fee_period().await?;
    store.close().await;
    let mut out = format!(
        "已导入 {} 行缴费记录({}),账期 {}",
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

/// `guanjia fees paid BUILDING UNIT ROOM PERIOD [--unpaid]`: mark one room's row
/// so no reminder goes for it (or undo that). `UNIT` is `-` for buildings
/// without units.
pub async fn mark_fee_paid(
    settings: &Settings,
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
    let shown = crate::domain::Location::new(Some(b.clone()), u.clone(), Some(r.clone()))
        .map(|l| l.to_string())
        .unwrap_or_default();
    let store = Store::connect(&settings.database.url)
        .await
        .with_context(|| format!("opening the database {}", redact(&settings.database.url)))?;
    let found = store
        .mark_fee_paid(
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
