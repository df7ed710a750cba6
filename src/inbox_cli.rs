//! `guanjia inbox`: the updates that failed every attempt, for a person to look at,
//! and `guanjia inbox retry ID` to hand one back to the daemon once the cause is fixed.

use chrono_tz::Tz;

use crate::domain::notice::show_time;
use crate::storage::{DeadLetter, StorageError, Store};

/// One line per dead letter, newest first.
pub async fn list(store: &Store, tz: Tz) -> Result<String, StorageError> {
    let letters = store.dead_letters().await?;
    if letters.is_empty() {
        return Ok("没有处理失败的消息。".into());
    }
    let mut out = format!(
        "{} 条消息处理失败,待人工处理(guanjia inbox retry 编号 可在修复后重新处理):\n",
        letters.len()
    );
    for d in &letters {
        out.push_str(&line(d, tz));
        out.push('\n');
    }
    Ok(out.trim_end().to_string())
}

fn line(d: &DeadLetter, tz: Tz) -> String {
    let chat = d
        .chat_id
        .map(|c| format!("chat {c}"))
        .unwrap_or_else(|| "chat —".into());
    format!(
        "#{} · {} · {} · 重试 {} 次 · {} · {}",
        d.update_id,
        show_time(d.failed_at, tz),
        chat,
        d.attempts,
        crate::desk::excerpt(&d.error, 120),
        crate::desk::excerpt(&message_text(&d.payload), 60),
    )
}

/// The words of a stored Telegram update, if it has any.
fn message_text(payload: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(payload).unwrap_or_default();
    ["message", "edited_message", "callback_query"]
        .iter()
        .find_map(|k| {
            let m = v.get(k)?;
            m.get("text")
                .or_else(|| m.get("caption"))
                .or_else(|| m.get("data"))
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "(无文字)".into())
}

/// Hand dead letter `id` back to the inbox.
pub async fn retry(store: &Store, id: i64) -> Result<String, StorageError> {
    Ok(if store.retry_dead_letter(id, chrono::Utc::now()).await? {
        format!("消息 #{id} 已放回待处理队列,守护进程下次启动时会重新处理。")
    } else {
        format!("没有编号为 #{id} 的失败消息(用 guanjia inbox 查看)。")
    })
}
