//! Fee reminders: a general one in the building groups (no rooms, no amounts)
//! and each confirmed owner's amount in private, on a schedule or by
//! `/remind_fees`.

use super::broadcast::Plan;
use super::{Incoming, Notices, Result};
use crate::domain::fees::{current_period, format_cents};
use crate::domain::notice::{BroadcastKind, Targets};
use crate::domain::outgoing::{Lane, Outgoing};

/// Which fee reminder a scheduled run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeRun {
    /// The general reminder in every building group: no rooms, no amounts.
    Groups,
    /// Amounts, in private, to owners whose room staff confirmed.
    Private,
}

impl FeeRun {
    pub fn job(self) -> &'static str {
        match self {
            FeeRun::Groups => "fees_group",
            FeeRun::Private => "fees_private",
        }
    }
}

impl Notices {
    /// `/remind_fees [targets]`: the reminder, now; `[targets]` may name the
    /// estate (`翠湖苑:3栋`, or `翠湖苑` for all of it).
    pub async fn remind_fees(&self, msg: &Incoming, args: &str) -> Result<()> {
        let (estate, args) = match self.estate_targets(msg, args.trim()) {
            Ok(scoped) => scoped,
            Err(text) => return self.reply(msg, text).await,
        };
        let targets = if args.trim().is_empty() {
            Targets::All
        } else {
            match Targets::parse(args) {
                Ok(t) => t,
                Err(e) => {
                    return self
                        .reply(msg, format!("⚠️ {}", self.notice_error(&e)))
                        .await;
                }
            }
        };
        let key = format!("cmd:{}:{}", msg.chat_id, msg.message_id);
        match self
            .send_fee_reminders(
                FeeRun::Groups,
                &estate,
                &targets,
                &key,
                Some((msg.from.id, msg.chat_id)),
            )
            .await?
        {
            None => Ok(()),
            Some(groups) => {
                let owners = self
                    .send_fee_reminders(
                        FeeRun::Private,
                        &estate,
                        &targets,
                        &format!("{key}:private"),
                        None,
                    )
                    .await?;
                self.reply(
                    msg,
                    self.t().staff(
                        "fees_queued",
                        &[
                            ("groups", &groups.to_string()),
                            ("owners", &owners.unwrap_or(0).to_string()),
                        ],
                    ),
                )
                .await
            }
        }
    }

    /// Queue fee reminders. Group posts are general; amounts only go in private to
    /// owners whose room in `estate` staff confirmed, from `estate`'s ledger.
    /// Returns how many were queued, or `None` if `key` already ran. Only
    /// `estate`'s groups and owners are reached.
    pub async fn send_fee_reminders(
        &self,
        run: FeeRun,
        estate: &str,
        targets: &Targets,
        key: &str,
        by: Option<(i64, i64)>,
    ) -> Result<Option<usize>> {
        let now = self.now();
        let current = self.current_fee_period(estate).await?;
        let period = current.clone().unwrap_or_else(|| self.fees.period.clone());
        let (groups, _) = self.resolve(Some(estate), targets).await?;
        let fees = match (run, &current) {
            (FeeRun::Private, Some(p)) => self.store().fees_for_confirmed_owners(estate, p).await?,
            _ => Vec::new(),
        };
        let mut tx = self.store().begin().await?;
        match run {
            FeeRun::Groups => {
                let plan = Plan {
                    kind: BroadcastKind::Fee,
                    text: self.t().render("fee_group", &[("period", &period)]),
                    targets,
                    dedupe_key: key.to_string(),
                    sender: by.map(|b| b.0),
                    report_chat: by.map(|b| b.1),
                    outage_id: None,
                    pin: false,
                    estate,
                };
                if self
                    .queue_broadcast(&mut tx, plan, &groups)
                    .await?
                    .is_none()
                {
                    return Ok(None);
                }
                self.commit(tx).await?;
                Ok(Some(groups.len()))
            }
            FeeRun::Private => {
                let mut count = 0;
                for (user, fee) in fees {
                    if !targets.includes(&fee.building) {
                        continue;
                    }
                    let location = self.fee_location(&fee);
                    let text = self.t().render(
                        "fee_private",
                        &[
                            ("location", &location),
                            ("period", &fee.period),
                            ("amount", &format_cents(fee.amount_cents)),
                            ("due_date", &fee.due_date.format("%Y-%m-%d").to_string()),
                        ],
                    );
                    if tx
                        .enqueue(
                            &Outgoing::send(user, text)
                                .tag(format!("{key}:{user}:{}", fee.period))
                                .lane(Lane::Broadcast),
                            now,
                        )
                        .await?
                    {
                        count += 1;
                    }
                }
                self.commit(tx).await?;
                Ok(Some(count))
            }
        }
    }

    /// The period fee reminders are about: `[fees] period` when staff set it to
    /// something other than the default, else the period of the latest ledger
    /// import. `None` when neither: private reminders then have nothing to say.
    pub async fn current_fee_period(&self, estate: &str) -> Result<Option<String>> {
        let latest = self.store().latest_fee_period(estate).await?;
        Ok(current_period(&self.fees.period, latest))
    }
}
