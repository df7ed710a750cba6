//! The staff side: claiming, finishing, handing over and reviewing tickets.
//!
//! Every change goes through [`Desk::change_ticket`]: read, apply the domain
//! transition, store it only if nobody changed the ticket meanwhile (else read again
//! and re-decide), and queue what the change tells owners and staff, all in one
//! transaction. Two staff pressing 认领 at once: one wins, the other is told who.

use super::render::{ack_tag, staff_tag};
use super::{CallbackAnswer, Desk, Incoming, Result};
use crate::domain::Intent;
use crate::domain::action::{Action, StaleButton};
use crate::domain::command::{ArgError, TicketListKind};
use crate::domain::outgoing::{Lane, Outgoing};
use crate::domain::ticket::{Actor, EventKind, EventType, Ticket, TicketError, TicketId};
use crate::storage::{MediaRole, RoomDecision, TicketFilter};

const CHANGE_RETRIES: usize = 8;

/// `/ticket N` shows at most this many of a ticket's photos again.
const MEDIA_SHOWN: usize = 10;

impl Desk {
    /// Apply `apply` to ticket `id` and store it with its events and messages.
    /// The outer `Result` is for failures of the desk; the inner one is the
    /// domain's answer (e.g. already claimed by someone else), for the user.
    pub(crate) async fn change_ticket<F>(
        &self,
        id: TicketId,
        actor: &Actor,
        apply: F,
    ) -> Result<std::result::Result<Ticket, TicketError>>
    where
        F: Fn(&mut Ticket) -> std::result::Result<Vec<EventKind>, TicketError>,
    {
        for _ in 0..CHANGE_RETRIES {
            let Some(before) = self.store().ticket(id).await? else {
                return Ok(Err(TicketError::NotFound(id)));
            };
            let mut after = before.clone();
            let events = match apply(&mut after) {
                Ok(events) => events,
                Err(e) => return Ok(Err(e)),
            };
            let now = self.now();
            let chat_name = self.store().building_of(after.source_chat).await?;
            let reporter_private =
                after.source_chat > 0 || self.store().has_private_chat(after.reporter.id).await?;
            // Finished work is news for everyone who reported it.
            let others = if events.iter().any(|e| matches!(e, EventKind::Done { .. })) {
                self.store().co_reporters(id).await?
            } else {
                Vec::new()
            };
            // No store reads past this point until commit: SQLite has one connection.
            let mut tx = self.store().begin().await?;
            if !tx.save_ticket(&after, now).await? {
                // Someone changed it between our read and write: decide again.
                continue;
            }
            after.version += 1;
            for event in &events {
                tx.add_event(id, Some(actor), event, now).await?;
                if matches!(event, EventKind::Done { .. }) {
                    // A new round of work: its follow-up starts afresh.
                    tx.reset_revisit(id).await?;
                }
            }
            self.queue_ticket_news(
                &mut tx,
                &after,
                &events,
                chat_name.as_deref(),
                reporter_private,
            )
            .await?;
            self.tell_co_reporters_done(&mut tx, &after, &others)
                .await?;
            self.commit(tx).await?;
            return Ok(Ok(after));
        }
        Ok(Err(TicketError::Busy(id)))
    }

    /// What a change tells people: the staff post and the owner's acknowledgement
    /// show the new state; the owner hears of a claim and of finished work. What
    /// goes to a group names no one and carries no summary (it may hold a room or a
    /// phone number); the summary reaches the reporter in private, if they have a
    /// private chat with the bot (`reporter_private`).
    async fn queue_ticket_news(
        &self,
        tx: &mut crate::storage::Tx,
        t: &Ticket,
        events: &[EventKind],
        chat_name: Option<&str>,
        reporter_private: bool,
    ) -> Result<()> {
        let now = self.now();
        let private = t.source_chat > 0;
        if let Some(staff_chat) = self.staff_chat() {
            tx.enqueue(
                &Outgoing::edit(staff_chat, staff_tag(t), self.staff_text(t, chat_name))
                    .keyboard(self.staff_keyboard(t)),
                now,
            )
            .await?;
        }
        tx.enqueue(
            &Outgoing::edit(t.source_chat, ack_tag(t), self.ack_text(t, private))
                .keyboard(self.ack_keyboard(t)),
            now,
        )
        .await?;
        let n = t.id.get();
        let v = t.version;
        let to_owner =
            |text: String| Outgoing::send(t.source_chat, text).reply_to(t.source_message);
        for event in events {
            match event {
                EventKind::Claimed | EventKind::Transferred { .. } => {
                    let text = if private {
                        let assignee = t
                            .assignee
                            .as_ref()
                            .map(|a| a.name.as_str())
                            .unwrap_or("工作人员");
                        self.t().render(
                            "owner_claimed",
                            &[("ticket", &t.id.to_string()), ("assignee", assignee)],
                        )
                    } else {
                        self.t()
                            .render("owner_claimed_group", &[("ticket", &t.id.to_string())])
                    };
                    tx.enqueue(&to_owner(text).tag(format!("t{n}:claimed:v{v}")), now)
                        .await?;
                }
                EventKind::Done { summary } => {
                    let in_place = match summary {
                        Some(s) if private => format!("({s})"),
                        _ => String::new(),
                    };
                    let text = self.t().render(
                        "owner_done",
                        &[("ticket", &t.id.to_string()), ("summary", &in_place)],
                    );
                    tx.enqueue(
                        &to_owner(text)
                            .keyboard(Self::rating_keyboard(t))
                            .tag(format!("t{n}:rate:v{v}")),
                        now,
                    )
                    .await?;
                    if let Some(summary) = summary.as_ref().filter(|_| !private && reporter_private)
                    {
                        // A private chat's id is the user's id.
                        tx.enqueue(
                            &Outgoing::send(
                                t.reporter.id,
                                self.t().render(
                                    "owner_done_summary",
                                    &[("ticket", &t.id.to_string()), ("summary", summary)],
                                ),
                            )
                            .tag(format!("t{n}:summary:v{v}")),
                            now,
                        )
                        .await?;
                    }
                }
                EventKind::Rated { stars } => {
                    let stars = stars.to_string();
                    let hours = self.settings().service.follow_up_hours.to_string();
                    let args = [
                        ("ticket", t.id.to_string()),
                        ("stars", stars.clone()),
                        ("follow_up_hours", hours.clone()),
                    ];
                    let args: Vec<(&str, &str)> =
                        args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    let key = if t.follow_up && t.status.is_active() {
                        "rate_sorry"
                    } else {
                        "rate_thanks"
                    };
                    tx.enqueue(
                        &to_owner(self.t().render(key, &args)).tag(format!("t{n}:rated:v{v}")),
                        now,
                    )
                    .await?;
                    if key == "rate_sorry" {
                        let who = t.assignee.as_ref().map(|a| a.name.as_str()).unwrap_or("无");
                        let text = format!(
                            "⚠️ 工单 {} 业主只给了 {stars} 星,已重新打开(负责人:{who})。请主管在 {hours} 小时内回访业主。",
                            t.id
                        );
                        for out in self.to_staff(&format!("t{n}:followup:v{v}"), &text) {
                            tx.enqueue(&out.lane(Lane::Interactive), now).await?;
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn reply_outcome(
        &self,
        msg: &Incoming,
        outcome: std::result::Result<Ticket, TicketError>,
        ok: impl FnOnce(&Ticket) -> String,
    ) -> Result<()> {
        match outcome {
            Ok(t) => self.reply(msg, ok(&t)).await,
            Err(e) => self.reply(msg, format!("⚠️ {e}")).await,
        }
    }

    /// A staff command's arguments could not be used: say what to write instead.
    pub async fn refuse_arguments(&self, msg: &Incoming, e: &ArgError) -> Result<()> {
        self.reply(msg, format!("⚠️ {e}")).await
    }

    /// Does ticket `id` exist? If not, the sender is told.
    async fn exists(&self, msg: &Incoming, id: TicketId) -> Result<bool> {
        if self.store().ticket(id).await?.is_none() {
            self.reply(msg, format!("⚠️ 没有工单 {id}")).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// `/claim N`
    pub async fn claim(&self, msg: &Incoming, id: TicketId) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let outcome = self
            .change_ticket(id, &msg.from, |t| Ok(vec![t.claim(&msg.from)?]))
            .await?;
        self.reply_outcome(msg, outcome, |t| {
            format!(
                "✅ 工单 {} 由您负责,请在 {} 前完成。",
                t.id,
                self.show(t.resolve_by)
            )
        })
        .await
    }

    /// `/done N [what was done]`
    pub async fn finish(
        &self,
        msg: &Incoming,
        id: TicketId,
        summary: Option<String>,
    ) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let admin = self.is_admin(msg.from.id);
        let outcome = self
            .change_ticket(id, &msg.from, |t| {
                Ok(vec![t.finish(&msg.from, admin, summary.clone())?])
            })
            .await?;
        self.reply_outcome(msg, outcome, |t| {
            format!("✅ 工单 {} 已完成,已请业主评价。", t.id)
        })
        .await
    }

    /// `/transfer N <user id or @name>`
    pub async fn transfer(&self, msg: &Incoming, id: TicketId, to: Option<&str>) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let Some(who) = to else {
            return self
                .reply(
                    msg,
                    "⚠️ 转交给谁?例如 /transfer 12 @wangshifu 或 /transfer 12 10002",
                )
                .await;
        };
        // Owners are told who is responsible by name, so a colleague nobody knows
        // a name for is named first (never shown as a number).
        let Some(to) = self.store().person(who).await? else {
            let hint = match who.parse::<i64>() {
                Ok(uid) => format!(
                    "⚠️ 还不知道 {uid} 的名字:请对方先私聊我或在员工群说一句话,或由管理员发 /staff_add {uid} 名字 登记,然后再转交。"
                ),
                Err(_) => {
                    format!("⚠️ 不认识 {who}:请对方先私聊我或在员工群说一句话,或用数字 user id。")
                }
            };
            return self.reply(msg, hint).await;
        };
        if !self.is_staff(to.id).await? {
            return self
                .reply(msg, format!("⚠️ {} 不是物业工作人员,不能转交给他", to.name))
                .await;
        }
        let admin = self.is_admin(msg.from.id);
        let outcome = self
            .change_ticket(id, &msg.from, |t| {
                Ok(vec![t.transfer(&msg.from, to.clone(), admin)?])
            })
            .await?;
        self.reply_outcome(msg, outcome, |t| {
            format!("✅ 工单 {} 已转交给{},由其负责。", t.id, to.name)
        })
        .await
    }

    /// `/reclassify N <intent> [category]`: staff correct what the desk understood.
    /// The ticket follows (an emergency becomes urgent; a question, suggestion or
    /// chatter is no ticket and is closed), and the correction is kept with the
    /// message text as a labelled example (`guanjia intents export`).
    pub async fn reclassify(&self, msg: &Incoming, id: TicketId, words: &[String]) -> Result<()> {
        let usage = "用法:/reclassify 12 投诉 装修(意图:报修 投诉 紧急 咨询 建议 其他;类别可省略)";
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let mut words = words.iter().map(String::as_str);
        let intent = match words.next().map(str::parse::<Intent>) {
            Some(Ok(i)) => i,
            Some(Err(e)) => return self.reply(msg, format!("⚠️ {e}\n{usage}")).await,
            None => return self.reply(msg, format!("⚠️ {usage}")).await,
        };
        let category = match words.next() {
            None => None,
            Some(_) if !intent.has_category() => None,
            Some(word) => match self.category_id(word) {
                Some(c) => Some(c),
                None => {
                    let known: Vec<&str> = self
                        .classifier()
                        .categories()
                        .filter_map(|c| self.classifier().category_label(c))
                        .collect();
                    return self
                        .reply(
                            msg,
                            format!("⚠️ 没有「{word}」这个类别。可用:{}", known.join("、")),
                        )
                        .await;
                }
            },
        };
        let Some(before) = self.store().ticket(id).await? else {
            return self.reply(msg, format!("⚠️ 没有工单 {id}")).await;
        };
        let show = |i: Intent, c: Option<&str>| match c {
            Some(c) if i.has_category() => {
                format!("{}·{}", Self::intent_label(i), self.category_label(Some(c)))
            }
            _ => Self::intent_label(i).to_string(),
        };
        let outcome = self
            .change_ticket(id, &msg.from, |t| {
                Ok(vec![t.reclassify(intent, category.clone(), show)?])
            })
            .await?;
        if outcome.is_ok() {
            let now = self.now();
            let mut tx = self.store().begin().await?;
            tx.add_correction(
                &before.text,
                intent,
                category.as_deref(),
                Some((before.intent, before.category.as_deref())),
                &format!("ticket:{}", id.get()),
                msg.from.id,
                now,
            )
            .await?;
            self.commit(tx).await?;
        }
        self.reply_outcome(msg, outcome, |t| {
            if t.status.is_active() || intent.has_category() {
                format!(
                    "✅ 工单 {} 已改为 {},已记下这次改正。",
                    t.id,
                    show(intent, category.as_deref())
                )
            } else {
                format!(
                    "✅ 工单 {} 不是工单({}),已关闭,已记下这次改正。如需答复业主,请直接回复。",
                    t.id,
                    show(intent, None)
                )
            }
        })
        .await
    }

    /// A category by id (`renovation`) or by its label (装修).
    fn category_id(&self, word: &str) -> Option<String> {
        let c = self.classifier();
        c.categories()
            .find(|id| {
                id.eq_ignore_ascii_case(word)
                    || c.category_label(id)
                        .is_some_and(|l| l == word || l.split('/').any(|p| p == word))
            })
            .map(str::to_string)
    }

    /// `/note N text`: kept in the ticket's history for staff.
    pub async fn note(&self, msg: &Incoming, id: TicketId, text: Option<&str>) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            return self
                .reply(msg, "⚠️ 备注内容为空,例如 /note 12 已联系业主,明早上门")
                .await;
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.add_event(
            id,
            Some(&msg.from),
            &EventKind::Note {
                text: text.trim().to_string(),
            },
            now,
        )
        .await?;
        tx.enqueue(
            &Outgoing::send(msg.chat_id, format!("📝 已记录到工单 {id}"))
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            now,
        )
        .await?;
        self.commit(tx).await
    }

    /// `/reopen N`
    pub async fn reopen(&self, msg: &Incoming, id: TicketId) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let reason = format!("{} 重新打开", msg.from.name);
        let outcome = self
            .change_ticket(id, &msg.from, |t| Ok(vec![t.reopen(reason.clone())?]))
            .await?;
        self.reply_outcome(msg, outcome, |t| {
            format!("✅ 工单 {} 已重新打开,状态:{}", t.id, t.status.label())
        })
        .await
    }

    /// `/ticket N`: the ticket and its whole history.
    pub async fn show_ticket(&self, msg: &Incoming, id: TicketId) -> Result<()> {
        if !self.exists(msg, id).await? {
            return Ok(());
        }
        let Some(t) = self.store().ticket(id).await? else {
            return Ok(());
        };
        let chat_name = self.store().building_of(t.source_chat).await?;
        let mut text = self.staff_text(&t, chat_name.as_deref());
        text.push_str("\n\n记录:");
        let events = self.store().events(id).await?;
        // A flood of identical repeats is one line with a count, so the history
        // stays readable and within one message.
        let mut i = 0;
        while i < events.len() {
            let e = &events[i];
            let same = events[i..]
                .iter()
                .take_while(|o| {
                    o.kind == e.kind && o.actor_id == e.actor_id && o.detail == e.detail
                })
                .count();
            let times = if e.kind == EventType::Repeated && same > 1 {
                format!("(共 {same} 次)")
            } else {
                String::new()
            };
            text.push_str(&format!(
                "\n{} {} {}{}{times}",
                self.show(e.at),
                e.actor_name.as_deref().unwrap_or("系统"),
                e.kind.label(),
                e.detail
                    .as_deref()
                    .map(|d| format!(":{}", super::render::excerpt(d, 200)))
                    .unwrap_or_default()
            ));
            i += if e.kind == EventType::Repeated {
                same
            } else {
                1
            };
        }
        // The photos and voice messages come after the history, in order.
        let media = self.store().ticket_media(id).await?;
        if media.is_empty() {
            return self.reply(msg, text).await;
        }
        text.push_str(&format!("\n\n附件 {} 个(见下方)", media.len()));
        let now = self.now();
        let mut tx = self.store().begin().await?;
        tx.enqueue(
            &Outgoing::send(msg.chat_id, text)
                .reply_to(msg.message_id)
                .tag(msg.reply_tag()),
            now,
        )
        .await?;
        for (n, m) in media.iter().enumerate().take(MEDIA_SHOWN) {
            let whose = match m.role {
                MediaRole::Report => "业主",
                MediaRole::Finished => "完工",
            };
            tx.enqueue(
                &Outgoing::send_media(
                    msg.chat_id,
                    m.media.clone(),
                    format!(
                        "工单 {id} 附件 {}/{} · {whose}{}",
                        n + 1,
                        media.len(),
                        m.media.kind.label()
                    ),
                )
                .tag(format!("{}:media:{}", msg.reply_tag(), m.id)),
                now,
            )
            .await?;
        }
        self.commit(tx).await
    }

    /// `/tickets [open|mine|overdue|followup]`
    pub async fn list_tickets(&self, msg: &Incoming, kind: TicketListKind) -> Result<()> {
        let filter = match kind {
            TicketListKind::Followup => return self.list_to_call(msg).await,
            TicketListKind::Open => TicketFilter::Active,
            TicketListKind::Mine => TicketFilter::AssignedTo(msg.from.id),
            TicketListKind::Overdue => TicketFilter::Overdue,
        };
        let tickets = self.store().tickets(filter, self.now(), 30).await?;
        let title = match kind {
            TicketListKind::Open => "未完成的工单",
            TicketListKind::Mine => "我负责的工单",
            TicketListKind::Overdue => "超时的工单",
            TicketListKind::Followup => "待回访的工单",
        };
        if tickets.is_empty() {
            return self.reply(msg, format!("{title}:无 👍")).await;
        }
        let lines: Vec<String> = tickets.iter().map(|t| self.list_line(t)).collect();
        self.reply(
            msg,
            format!("{title}({} 条):\n{}", tickets.len(), lines.join("\n")),
        )
        .await
    }

    /// `/staff_add ID [名字]` (admins only). The name is what owners and
    /// colleagues read (负责人:客服小王) until then and after.
    pub async fn staff_add(
        &self,
        msg: &Incoming,
        user: Option<i64>,
        name: Option<&str>,
    ) -> Result<()> {
        if !self.is_admin(msg.from.id) {
            return self.reply(msg, "⚠️ 只有管理员可以添加工作人员。").await;
        }
        let Some(user) = user.filter(|u| *u > 0) else {
            return self
                .reply(
                    msg,
                    "⚠️ 用法:/staff_add 123456789 客服小王(对方的 Telegram user id 和称呼;对方私聊我发 /id 可以看到 id)",
                )
                .await;
        };
        let name = name
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(32).collect::<String>());
        self.store()
            .add_staff(user, name.as_deref(), msg.from.id, self.now())
            .await?;
        let text = if self.is_staff(user).await? {
            match self.store().display_name(user).await? {
                Some(n) => format!("✅ {n}({user})现在是工作人员"),
                None => format!(
                    "✅ {user} 现在是工作人员。还不知道对方的名字:对方说过话后会显示名字,也可以发 /staff_add {user} 名字 登记"
                ),
            }
        } else {
            format!("⚠️ 未能添加 {user}")
        };
        self.reply(msg, text).await
    }

    /// `/staff_remove ID` (admins only)
    pub async fn staff_remove(&self, msg: &Incoming, user: Option<i64>) -> Result<()> {
        if !self.is_admin(msg.from.id) {
            return self.reply(msg, "⚠️ 只有管理员可以移除工作人员。").await;
        }
        let Some(user) = user else {
            return self.reply(msg, "⚠️ 用法:/staff_remove 123456789").await;
        };
        let removed = self.store().remove_staff(user).await?;
        let text = if removed {
            format!("✅ 已移除工作人员 {user}")
        } else if self.settings().desk.staff.contains(&user) || self.is_admin(user) {
            format!("⚠️ {user} 写在配置文件里,请在配置中移除")
        } else {
            format!("⚠️ {user} 不是工作人员")
        };
        self.reply(msg, text).await
    }

    /// A pressed button. Who may press it is checked by the caller (see
    /// `router::press`); a star button checks that its presser is the reporter.
    pub async fn press(&self, from: &Actor, action: Action) -> Result<CallbackAnswer> {
        match action {
            Action::Rate {
                ticket,
                round,
                stars,
            } => self.rate(ticket, round, stars, from).await,
            Action::Sort { unsorted, choice } => self.sort_unsorted(from, unsorted, choice).await,
            Action::MeToo(id) => self.me_too(from, id).await,
            Action::Claim(id) => {
                let outcome = self
                    .change_ticket(id, from, |t| Ok(vec![t.claim(from)?]))
                    .await?;
                Ok(match outcome {
                    Ok(t) => CallbackAnswer::toast(format!("工单 {} 由您负责", t.id)),
                    Err(e) => CallbackAnswer::alert(e.to_string()),
                })
            }
            Action::Done(id) => {
                let admin = self.is_admin(from.id);
                let outcome = self
                    .change_ticket(id, from, |t| Ok(vec![t.finish(from, admin, None)?]))
                    .await?;
                Ok(match outcome {
                    Ok(t) => CallbackAnswer::toast(format!("工单 {} 已完成", t.id)),
                    Err(e) => CallbackAnswer::alert(e.to_string()),
                })
            }
            // Room buttons name the request they were shown with.
            Action::Room { request, confirm } => self.decide_room(from, request, confirm).await,
        }
    }

    async fn decide_room(
        &self,
        from: &Actor,
        request: i64,
        confirm: bool,
    ) -> Result<CallbackAnswer> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let decided = match tx.decide_room(request, confirm, from.id, now).await? {
            RoomDecision::Decided(r) => r,
            RoomDecision::Superseded(_) => {
                return Ok(CallbackAnswer::alert(
                    "业主之后又提交了新的房号申请,这条旧申请已作废,未做更改。请处理最新的申请。",
                ));
            }
            RoomDecision::AlreadyDecided(_) => {
                return Ok(CallbackAnswer::toast("这条申请已经处理过了"));
            }
            RoomDecision::NotFound => return Ok(CallbackAnswer::alert("按钮已失效")),
        };
        let shown = decided
            .location
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let key = if confirm {
            "room_confirmed"
        } else {
            "room_rejected"
        };
        // A private chat's id is the user's id.
        tx.enqueue(
            &Outgoing::send(
                decided.user_id,
                self.t().render(key, &[("location", &shown)]),
            )
            .tag(format!("roomdecision:{request}")),
            now,
        )
        .await?;
        let verdict = if confirm { "已确认" } else { "已驳回" };
        for target in self.staff_targets() {
            tx.enqueue(
                &Outgoing::send(
                    target,
                    format!(
                        "🏠 {} 的房号 {shown}(申请 {request}){verdict}(经办:{})",
                        decided.name, from.name
                    ),
                )
                .tag(format!("roomdecided:{request}:{target}")),
                now,
            )
            .await?;
        }
        self.commit(tx).await?;
        Ok(CallbackAnswer::toast(if confirm {
            "已确认房号"
        } else {
            "已驳回"
        }))
    }
}

/// What the presser of a button the desk cannot act on is told.
pub fn stale_answer(stale: StaleButton) -> CallbackAnswer {
    match stale {
        // Buttons from before requests had numbers named only the owner:
        // they cannot say which room they were shown with.
        StaleButton::OldRoom => CallbackAnswer::alert(
            "这个按钮来自旧版本,无法确定对应哪次申请,未做更改。请业主重新发送 /room。",
        ),
        StaleButton::Unreadable | StaleButton::UnreadableRating => {
            CallbackAnswer::alert("按钮已失效")
        }
    }
}
