//! The commands people type, parsed once at the edge into typed values.
//!
//! Any chat edge hands the text of a message to [`Command::parse`]; what comes
//! back names the command and carries its arguments already read (a ticket
//! number is a [`TicketId`], `/tickets mine` a [`TicketListKind`]), so the desk
//! never parses a command string. Commands whose argument is free text (a
//! notice, an outage plan, a room) carry the parts a person wrote.
//!
//! The syntax is Telegram's, because that is what people know: `/name`, then a
//! space and the arguments; `/name@our_bot` is ours, `/name@other_bot` is not a
//! command for us at all. The list of commands with their one-line help ([`help`])
//! is the `/help` text and Telegram's "/" menus.

use std::fmt::Write as _;

use super::ticket::{TicketError, TicketId};

/// A command someone typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Anyone may use these.
    Owner(OwnerCommand),
    /// Staff only; `Err` when the arguments cannot be used (said to the sender
    /// only once they are known to be staff in a staff place).
    Staff(Result<StaffCommand, ArgError>),
}

/// Commands anyone may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnerCommand {
    /// `/start [payload]`: a deep link's payload (`t12` opens ticket 12's private channel).
    Start(String),
    Help,
    MyTickets,
    /// `/room 3-2-501`: the room as written, checked by the desk.
    Room(String),
    Id,
}

/// Commands for staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCommand {
    Claim(TicketId),
    /// `/done 12 [what was done]`
    Done {
        ticket: TicketId,
        summary: Option<String>,
    },
    /// `/transfer 12 <user id or @name>`
    Transfer {
        ticket: TicketId,
        to: Option<String>,
    },
    /// `/note 12 text`
    Note {
        ticket: TicketId,
        text: Option<String>,
    },
    Reopen(TicketId),
    /// `/reclassify 12 <intent> [category]`: the words after the number, read
    /// by the desk, which knows the categories.
    Reclassify {
        ticket: TicketId,
        words: Vec<String>,
    },
    Ticket(TicketId),
    Tickets(TicketListKind),
    /// `/followup 12 <outcome>`: a staff member called the owner back (回访).
    Followup {
        ticket: TicketId,
        outcome: Option<String>,
    },
    /// `/split 12 <user id, @name or name>`: take a wrongly merged reporter out.
    Split {
        ticket: TicketId,
        who: Option<String>,
    },
    /// `/staff_add ID [name]`. Admins only, which the desk checks before it
    /// says what is wrong with the arguments, so a missing or bad id is `None`.
    StaffAdd {
        user: Option<i64>,
        name: Option<String>,
    },
    /// `/staff_remove ID` (admins only; `None` as for `StaffAdd`).
    StaffRemove(Option<i64>),
    /// `/bind 3栋`: the building's name as written.
    Bind(String),
    Unbind,
    Groups,
    /// `/notice <targets> text`, read by the desk.
    Notice(String),
    /// `/outage <targets> <utility> <start> <end> <reason>`, read by the desk.
    Outage(String),
    Outages,
    OutageCancel(i64),
    /// `/remind_fees [targets]`
    RemindFees(String),
    Recall(i64),
    Broadcasts,
    SetStaffGroup,
    /// `/survey <targets> <question>`, read by the desk.
    Survey(String),
    /// `/stats [days] [estate]`, in either order: the service figures of the
    /// last days (default 7), of one estate or of those the chat serves.
    Stats(Option<i64>, Option<String>),
}

impl StaffCommand {
    /// The ticket the command acts on, if it names one.
    pub fn ticket(&self) -> Option<TicketId> {
        use StaffCommand as S;
        match self {
            S::Claim(id) | S::Reopen(id) | S::Ticket(id) => Some(*id),
            S::Done { ticket, .. }
            | S::Transfer { ticket, .. }
            | S::Note { ticket, .. }
            | S::Reclassify { ticket, .. }
            | S::Followup { ticket, .. }
            | S::Split { ticket, .. } => Some(*ticket),
            _ => None,
        }
    }

    /// Binding a group (a building's, or the staff group) happens inside the
    /// group itself; every other staff command shows or carries private details
    /// and runs only in the staff group or in private.
    pub fn belongs_in_the_group(&self) -> bool {
        matches!(
            self,
            StaffCommand::Bind(_) | StaffCommand::Unbind | StaffCommand::SetStaffGroup
        )
    }
}

/// `/tickets [open|mine|overdue|followup]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketListKind {
    Open,
    Mine,
    Overdue,
    /// Finished work waiting for a call (回访).
    Followup,
}

impl TicketListKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "" | "open" | "未完成" => Some(Self::Open),
            "mine" | "我的" => Some(Self::Mine),
            "overdue" | "超时" => Some(Self::Overdue),
            "followup" | "回访" => Some(Self::Followup),
            _ => None,
        }
    }
}

/// A staff command's arguments that cannot be used: the sender is told what to
/// write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("请写上工单号,例如 /claim 12")]
    NoTicket,
    #[error(transparent)]
    BadTicket(#[from] TicketError),
    #[error("用法:/tickets [open|mine|overdue|followup]")]
    TicketList,
    #[error("用法:/stats [天数],例如 /stats 30(1 到 366 天)")]
    StatsDays,
    #[error("用法:/outage_cancel 编号(见 /outages)")]
    OutageNumber,
    #[error("用法:/recall 编号(发送结果里的广播编号)")]
    BroadcastNumber,
}

impl Command {
    /// The command in `text`, or `None` for anything else (ordinary text, a
    /// command we do not have, one addressed to another bot).
    pub fn parse(text: &str, bot_username: &str) -> Option<Command> {
        // As Telegram clients write them: the command ends at the first space.
        let (head, args) = text.split_once(' ').unwrap_or((text, ""));
        let mut head = head.split('@');
        let name = head.next()?.strip_prefix('/')?;
        match head.next() {
            Some(bot) if !bot.eq_ignore_ascii_case(bot_username) => return None,
            _ => {}
        }
        let owner = match name {
            "start" => Some(OwnerCommand::Start(args.to_string())),
            "help" => Some(OwnerCommand::Help),
            "mytickets" => Some(OwnerCommand::MyTickets),
            "room" => Some(OwnerCommand::Room(args.to_string())),
            "id" => Some(OwnerCommand::Id),
            _ => None,
        };
        if let Some(owner) = owner {
            return Some(Command::Owner(owner));
        }
        parse_staff(name, args).map(Command::Staff)
    }
}

fn parse_staff(name: &str, args: &str) -> Option<Result<StaffCommand, ArgError>> {
    use StaffCommand as S;
    let ticket = || ticket_arg(args);
    let rest = || rest_after_first_word(args);
    Some(match name {
        "claim" => ticket().map(S::Claim),
        "done" => ticket().map(|ticket| S::Done {
            ticket,
            summary: rest(),
        }),
        "transfer" => ticket().map(|ticket| S::Transfer {
            ticket,
            to: args.split_whitespace().nth(1).map(str::to_string),
        }),
        "note" => ticket().map(|ticket| S::Note {
            ticket,
            text: rest(),
        }),
        "reopen" => ticket().map(S::Reopen),
        "reclassify" => ticket().map(|ticket| S::Reclassify {
            ticket,
            words: args
                .split_whitespace()
                .skip(1)
                .map(str::to_string)
                .collect(),
        }),
        "ticket" => ticket().map(S::Ticket),
        "followup" => ticket().map(|ticket| S::Followup {
            ticket,
            outcome: rest(),
        }),
        "split" => ticket().map(|ticket| S::Split {
            ticket,
            who: rest(),
        }),
        "tickets" => TicketListKind::parse(args)
            .map(S::Tickets)
            .ok_or(ArgError::TicketList),
        "staff_add" => {
            let mut words = args.split_whitespace();
            let user = words
                .next()
                .and_then(|w| w.parse::<i64>().ok())
                .filter(|u| *u > 0);
            let name = words.collect::<Vec<_>>().join(" ");
            Ok(S::StaffAdd {
                user,
                name: (!name.is_empty()).then_some(name),
            })
        }
        "staff_remove" => Ok(S::StaffRemove(args.trim().parse::<i64>().ok())),
        "bind" => Ok(S::Bind(args.to_string())),
        "unbind" => Ok(S::Unbind),
        "groups" => Ok(S::Groups),
        "notice" => Ok(S::Notice(args.to_string())),
        "outage" => Ok(S::Outage(args.to_string())),
        "outages" => Ok(S::Outages),
        "outage_cancel" => number_arg(args)
            .map(S::OutageCancel)
            .ok_or(ArgError::OutageNumber),
        "remind_fees" => Ok(S::RemindFees(args.to_string())),
        "recall" => number_arg(args)
            .map(S::Recall)
            .ok_or(ArgError::BroadcastNumber),
        "broadcasts" => Ok(S::Broadcasts),
        "survey" => Ok(S::Survey(args.to_string())),
        "stats" => {
            let (mut days, mut estate) = (None, None);
            let mut words = Ok(());
            for word in args.split_whitespace() {
                match word.parse::<i64>() {
                    Ok(d) if days.is_none() && (1..=366).contains(&d) => days = Some(d),
                    Err(_)
                        if estate.is_none() && !word.starts_with(|c: char| c.is_ascii_digit()) =>
                    {
                        estate = Some(word.to_string())
                    }
                    _ => words = Err(ArgError::StatsDays),
                }
            }
            words.map(|()| S::Stats(days, estate))
        }
        "set_staff_group" => Ok(S::SetStaffGroup),
        _ => return None,
    })
}

/// The ticket number a command starts with: `12`, `#12` or `＃12`.
fn ticket_arg(args: &str) -> Result<TicketId, ArgError> {
    let first = args.split_whitespace().next().ok_or(ArgError::NoTicket)?;
    Ok(first.parse::<TicketId>()?)
}

/// What follows the first word, if anything.
fn rest_after_first_word(args: &str) -> Option<String> {
    let args = args.trim_start();
    let (_, rest) = args.split_once(char::is_whitespace)?;
    let rest = rest.trim();
    (!rest.is_empty()).then(|| rest.to_string())
}

/// A broadcast's or an outage plan's number: `7` or `#7`.
fn number_arg(args: &str) -> Option<i64> {
    args.trim().trim_start_matches('#').parse().ok()
}

/// One line of `/help` and of the "/" menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandHelp {
    /// Without the `/`.
    pub name: &'static str,
    pub description: &'static str,
}

const fn c(name: &'static str, description: &'static str) -> CommandHelp {
    CommandHelp { name, description }
}

pub const OWNER_TITLE: &str = "业主可用的命令:";

/// Owners' commands, in menu order.
pub const OWNER_COMMANDS: &[CommandHelp] = &[
    c("start", "开始,或打开某个工单的私聊通道"),
    c("help", "显示帮助"),
    c("mytickets", "查看我的工单(私聊)"),
    c("room", "登记房号,如 /room 3-2-501(物业核实后生效)"),
    c("id", "查看本聊天的 id 和您的 user id(配置机器人时用)"),
];

pub const STAFF_TITLE: &str = "物业工作人员命令:";

/// Staff commands, in menu order.
pub const STAFF_COMMANDS: &[CommandHelp] = &[
    c("claim", "认领工单:/claim 12"),
    c("done", "完成工单:/done 12 [处理说明]"),
    c("transfer", "转交工单:/transfer 12 <user id 或 @用户名>"),
    c("note", "工单备注:/note 12 内容"),
    c("reopen", "重新打开工单:/reopen 12"),
    c(
        "reclassify",
        "改正分类:/reclassify 12 投诉 [装修](咨询/建议/其他 表示不是工单,会关闭)",
    ),
    c("ticket", "查看工单及记录:/ticket 12"),
    c("tickets", "工单列表:/tickets [open|mine|overdue|followup]"),
    c("followup", "记录回访:/followup 12 回访结果"),
    c(
        "split",
        "把误合并的业主拆成单独工单:/split 12 <user id、@用户名或称呼>",
    ),
    c("staff_add", "添加工作人员(管理员):/staff_add 用户id 称呼"),
    c("staff_remove", "移除工作人员(管理员):/staff_remove 用户id"),
    c("bind", "在业主群里绑定楼栋:/bind 3栋"),
    c("unbind", "在业主群里解除绑定:/unbind"),
    c("groups", "列出已绑定的业主群"),
    c("notice", "温馨提示:/notice <all|3栋,5栋> 内容"),
    c(
        "outage",
        "停水停电:/outage <all|3栋> <停水|停电|停气> <开始> <结束> <原因>",
    ),
    c("outages", "列出计划中的停水停电"),
    c("outage_cancel", "取消停水停电:/outage_cancel 编号"),
    c(
        "remind_fees",
        "缴费提醒(立即发送):/remind_fees [all|3栋,5栋]",
    ),
    c("recall", "撤回广播:/recall 编号"),
    c("broadcasts", "广播记录:谁、何时、发到哪、送达/失败"),
    c("stats", "服务统计:/stats [天数](默认 7 天)"),
    c(
        "survey",
        "满意度调查(匿名 1–5 分投票):/survey <all|3栋> 问题",
    ),
    c("set_staff_group", "把本群设为员工群(管理员,在员工群里发送)"),
];

/// The `/help` text: owners' commands, and staff ones for staff.
pub fn help(staff: bool) -> String {
    let mut text = help_section(OWNER_TITLE, OWNER_COMMANDS);
    if staff {
        text.push_str("\n\n");
        text.push_str(&help_section(STAFF_TITLE, STAFF_COMMANDS));
    }
    text
}

fn help_section(title: &str, commands: &[CommandHelp]) -> String {
    let mut text = format!("{title}\n\n");
    for (i, cmd) in commands.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        let _ = write!(text, "/{} — {}", cmd.name, cmd.description);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: &str = "guanjia_bot";

    fn id(n: i64) -> TicketId {
        TicketId::new(n).unwrap()
    }

    fn parse(text: &str) -> Option<Command> {
        Command::parse(text, BOT)
    }

    fn staff(text: &str) -> Result<StaffCommand, ArgError> {
        match parse(text) {
            Some(Command::Staff(s)) => s,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn commands_with_a_ticket_number_carry_the_ticket() {
        let cases = [
            ("/claim 12", StaffCommand::Claim(id(12))),
            ("/claim #12", StaffCommand::Claim(id(12))),
            ("/claim@guanjia_bot 12", StaffCommand::Claim(id(12))),
            ("/claim@GuanJia_Bot 12", StaffCommand::Claim(id(12))),
            ("/reopen 3", StaffCommand::Reopen(id(3))),
            ("/ticket ＃4", StaffCommand::Ticket(id(4))),
            (
                "/done 1 换了阀门",
                StaffCommand::Done {
                    ticket: id(1),
                    summary: Some("换了阀门".into()),
                },
            ),
            (
                "/done 1",
                StaffCommand::Done {
                    ticket: id(1),
                    summary: None,
                },
            ),
            (
                "/transfer 2 @wangshifu",
                StaffCommand::Transfer {
                    ticket: id(2),
                    to: Some("@wangshifu".into()),
                },
            ),
            (
                "/transfer 2",
                StaffCommand::Transfer {
                    ticket: id(2),
                    to: None,
                },
            ),
            (
                "/note 2 已联系业主, 明早上门 ",
                StaffCommand::Note {
                    ticket: id(2),
                    text: Some("已联系业主, 明早上门".into()),
                },
            ),
            (
                "/note 2  ",
                StaffCommand::Note {
                    ticket: id(2),
                    text: None,
                },
            ),
            (
                "/reclassify 1 投诉 装修",
                StaffCommand::Reclassify {
                    ticket: id(1),
                    words: vec!["投诉".into(), "装修".into()],
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(staff(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn a_missing_or_unreadable_number_is_an_argument_error_not_ordinary_text() {
        assert_eq!(staff("/claim"), Err(ArgError::NoTicket));
        assert_eq!(staff("/done  "), Err(ArgError::NoTicket));
        assert_eq!(
            staff("/claim abc"),
            Err(ArgError::BadTicket(TicketError::BadNumber("abc".into())))
        );
        assert_eq!(staff("/tickets all"), Err(ArgError::TicketList));
        assert_eq!(staff("/recall x"), Err(ArgError::BroadcastNumber));
        assert_eq!(staff("/outage_cancel"), Err(ArgError::OutageNumber));
        assert_eq!(
            ArgError::NoTicket.to_string(),
            "请写上工单号,例如 /claim 12"
        );
    }

    #[test]
    fn other_arguments_are_read_into_their_parts() {
        assert_eq!(
            staff("/tickets"),
            Ok(StaffCommand::Tickets(TicketListKind::Open))
        );
        assert_eq!(
            staff("/tickets 超时"),
            Ok(StaffCommand::Tickets(TicketListKind::Overdue))
        );
        assert_eq!(
            staff("/staff_add 10002  客服 小王"),
            Ok(StaffCommand::StaffAdd {
                user: Some(10002),
                name: Some("客服 小王".into())
            })
        );
        assert_eq!(
            staff("/staff_add -5"),
            Ok(StaffCommand::StaffAdd {
                user: None,
                name: None
            })
        );
        assert_eq!(
            staff("/staff_remove 10002"),
            Ok(StaffCommand::StaffRemove(Some(10002)))
        );
        assert_eq!(staff("/recall #7"), Ok(StaffCommand::Recall(7)));
        assert_eq!(staff("/outage_cancel 3"), Ok(StaffCommand::OutageCancel(3)));
        assert_eq!(
            staff("/notice all 明天消杀"),
            Ok(StaffCommand::Notice("all 明天消杀".into()))
        );
        assert_eq!(
            parse("/room 3-2-501"),
            Some(Command::Owner(OwnerCommand::Room("3-2-501".into())))
        );
        assert_eq!(
            parse("/start"),
            Some(Command::Owner(OwnerCommand::Start(String::new())))
        );
        assert_eq!(
            parse("/start t12"),
            Some(Command::Owner(OwnerCommand::Start("t12".into())))
        );
        // Commands without arguments ignore what follows.
        assert_eq!(parse("/help me"), Some(Command::Owner(OwnerCommand::Help)));
        assert_eq!(staff("/unbind 3栋"), Ok(StaffCommand::Unbind));
    }

    #[test]
    fn text_that_is_not_one_of_our_commands_is_ordinary_text() {
        for text in [
            "",
            "厨房漏水了",
            "claim 12",
            " /claim 12",
            "/Claim 12",
            "/claim\n12",
            "/claim@other_bot 12",
            "/nosuch",
            "/",
            "@guanjia_bot /claim 1",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn only_bind_unbind_and_set_staff_group_belong_in_a_group() {
        assert!(StaffCommand::Bind("3栋".into()).belongs_in_the_group());
        assert!(StaffCommand::Unbind.belongs_in_the_group());
        assert!(StaffCommand::SetStaffGroup.belongs_in_the_group());
        assert!(!StaffCommand::Claim(id(1)).belongs_in_the_group());
        assert!(!StaffCommand::Groups.belongs_in_the_group());
    }

    #[test]
    fn every_command_in_the_help_parses_and_is_of_its_kind() {
        for cmd in OWNER_COMMANDS {
            assert!(
                matches!(parse(&format!("/{} 1", cmd.name)), Some(Command::Owner(_))),
                "{}",
                cmd.name
            );
        }
        for cmd in STAFF_COMMANDS {
            assert!(
                matches!(parse(&format!("/{} 1", cmd.name)), Some(Command::Staff(_))),
                "{}",
                cmd.name
            );
        }
    }

    #[test]
    fn the_help_lists_staff_commands_only_for_staff() {
        let owners = help(false);
        assert!(owners.starts_with("业主可用的命令:\n\n/start — 开始"));
        assert!(owners.contains("\n/mytickets — 查看我的工单(私聊)\n"));
        assert!(!owners.contains("/claim"));
        let staff = help(true);
        assert!(staff.starts_with(&owners));
        assert!(staff.contains("\n\n物业工作人员命令:\n\n/claim — 认领工单:/claim 12\n"));
        assert!(staff.ends_with("/set_staff_group — 把本群设为员工群(管理员,在员工群里发送)"));
    }
}
