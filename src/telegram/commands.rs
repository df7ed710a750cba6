//! The bot's commands. The doc line of each variant is its `/help` text.
//! Owners and staff have separate enums: staff commands sit behind a staff filter.

use teloxide::utils::command::BotCommands;

/// 业主可用的命令:
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum OwnerCommand {
    /// 开始,或打开某个工单的私聊通道
    Start(String),
    /// 显示帮助
    Help,
    /// 查看我的工单(私聊)
    #[command(rename = "mytickets")]
    MyTickets,
    /// 登记房号,如 /room 3-2-501(物业核实后生效)
    Room(String),
    /// 查看本聊天的 id 和您的 user id(配置机器人时用)
    Id,
}

/// 物业工作人员命令:
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "snake_case")]
pub enum StaffCommand {
    /// 认领工单:/claim 12
    Claim(String),
    /// 完成工单:/done 12 [处理说明]
    Done(String),
    /// 转交工单:/transfer 12 <user id 或 @用户名>
    Transfer(String),
    /// 工单备注:/note 12 内容
    Note(String),
    /// 重新打开工单:/reopen 12
    Reopen(String),
    /// 改正分类:/reclassify 12 投诉 [装修](咨询/建议/其他 表示不是工单,会关闭)
    Reclassify(String),
    /// 查看工单及记录:/ticket 12
    Ticket(String),
    /// 工单列表:/tickets [open|mine|overdue]
    Tickets(String),
    /// 添加工作人员(管理员):/staff_add 用户id 称呼
    StaffAdd(String),
    /// 移除工作人员(管理员):/staff_remove 用户id
    StaffRemove(String),
    /// 在业主群里绑定楼栋:/bind 3栋
    Bind(String),
    /// 在业主群里解除绑定:/unbind
    Unbind,
    /// 列出已绑定的业主群
    Groups,
    /// 温馨提示:/notice <all|3栋,5栋> 内容
    Notice(String),
    /// 停水停电:/outage <all|3栋> <停水|停电|停气> <开始> <结束> <原因>
    Outage(String),
    /// 列出计划中的停水停电
    Outages,
    /// 取消停水停电:/outage_cancel 编号
    OutageCancel(String),
    /// 缴费提醒(立即发送):/remind_fees [all|3栋,5栋]
    RemindFees(String),
    /// 撤回广播:/recall 编号
    Recall(String),
    /// 广播记录:谁、何时、发到哪、送达/失败
    Broadcasts,
    /// 把本群设为员工群(管理员,在员工群里发送)
    SetStaffGroup,
}
