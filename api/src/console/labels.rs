//! The Chinese names of the case file's records and fields, as the guide and the station
//! say them. A field without a name here is shown by its path.

use liuqing_schema::domain::subsidies::{SubsidyAction, SubsidyState};
use liuqing_schema::entities::Entity;

pub fn entity(e: Entity) -> &'static str {
    match e {
        Entity::Household => "家庭",
        Entity::Person => "人员",
        Entity::SixClears => "六清",
        Entity::Visit => "走访",
        Entity::Commitment => "服务承诺",
        Entity::Evidence => "证明材料",
        Entity::ServiceRecord => "服务记录",
        Entity::Assessment => "分级评估",
        Entity::Plan => "援助计划",
        Entity::Recognition => "认定申请",
        Entity::Exit => "退出",
        Entity::Task => "任务",
        Entity::Objection => "公示异议",
        Entity::Employer => "用人单位",
        Entity::EmployerVisit => "单位走访",
        Entity::Vacancy => "岗位",
        Entity::Referral => "岗位推荐",
        Entity::Placement => "上岗",
        Entity::FollowUp => "跟踪回访",
        Entity::FlexibleSubsidy => "灵活就业社保补贴申请",
        Entity::WelfareSubsidy => "公益性岗位补贴申请",
        Entity::SubsidyCheck => "补贴跟踪回访",
    }
}

/// A field's name; `None` for one this table does not know.
pub fn field(e: Entity, path: &str) -> Option<&'static str> {
    let name = match (e, path) {
        (Entity::Household, "address") => "住址",
        (Entity::Household, "zero_employment") => "零就业家庭",
        (Entity::Household, "zero_employment_found_on") => "零就业认定日期",
        (Entity::Household, "zero_employment_cleared_on") => "零就业消除日期",
        (Entity::Person, "name") => "姓名",
        (Entity::Person, "id_number") => "身份证号",
        (Entity::Person, "sex") => "性别",
        (Entity::Person, "birth_date") => "出生日期",
        (Entity::Person, "phone") => "手机号",
        (Entity::Person, "education") => "文化程度",
        (Entity::Person, "unemployment_registered_on") => "失业登记日期",
        (Entity::Person, "employment_card_no") => "就业创业证号",
        (Entity::Person, "identity_verified") => "身份已核验",
        (Entity::SixClears, "basic.education") => "基本情况·文化程度",
        (Entity::SixClears, "basic.skills") => "基本情况·技能",
        (Entity::SixClears, "basic.work_history") => "基本情况·工作经历",
        (Entity::SixClears, "basic.health") => "基本情况·健康状况",
        (Entity::SixClears, "basic.phone") => "基本情况·联系电话",
        (Entity::SixClears, "difficulty.categories") => "困难类别",
        (Entity::SixClears, "difficulty.notes") => "困难类别·说明",
        (Entity::SixClears, "family.members") => "家庭状况·家庭人口",
        (Entity::SixClears, "family.employed_members") => "家庭状况·就业人数",
        (Entity::SixClears, "family.dependants") => "家庭状况·需赡养人数",
        (Entity::SixClears, "family.monthly_income") => "家庭状况·月收入",
        (Entity::SixClears, "family.zero_employment") => "家庭状况·零就业",
        (Entity::SixClears, "needs.job_types") => "援助需求·意向工种",
        (Entity::SixClears, "needs.training") => "援助需求·培训意向",
        (Entity::SixClears, "needs.hours") => "援助需求·工作时间",
        (Entity::SixClears, "needs.location") => "援助需求·工作地点",
        (Entity::SixClears, "needs.expected_pay") => "援助需求·期望月薪",
        (Entity::SixClears, "needs.startup_intent") => "援助需求·创业意向",
        (Entity::SixClears, "insurance.pension") => "参保情况·养老保险",
        (Entity::SixClears, "insurance.medical") => "参保情况·医疗保险",
        (Entity::SixClears, "insurance.unemployment") => "参保情况·失业保险",
        (Entity::SixClears, "insurance.paying") => "参保情况·正在缴费",
        (Entity::SixClears, "policies.enjoyed") => "政策享受",
        (Entity::Evidence, "review_state") => "审核状态",
        (Entity::Evidence, "review_reason") => "审核意见",
        (Entity::ServiceRecord, "delivered_on") => "服务日期",
        (Entity::ServiceRecord, "job_title") => "推荐岗位",
        (Entity::ServiceRecord, "employer") => "用人单位",
        (Entity::Assessment, "tier") => "援助等级",
        (Entity::Assessment, "assessed_on") => "评估日期",
        (Entity::Plan, "measures") => "援助措施",
        (Entity::Plan, "agreed_on") => "确定日期",
        (Entity::Recognition, "state") => "申请状态",
        (Entity::Recognition, "claimed_categories") => "申请类别",
        (Entity::Task, "state") => "任务状态",
        (Entity::Task, "due_on") => "截止日期",
        (_, "notes") => "备注",
        _ => return None,
    };
    Some(name)
}

pub fn section(s: liuqing_schema::domain::six_clears::Section) -> &'static str {
    use liuqing_schema::domain::six_clears::Section;
    match s {
        Section::Basic => "基本情况清",
        Section::Difficulty => "困难类别清",
        Section::Family => "家庭状况清",
        Section::Needs => "援助需求清",
        Section::Insurance => "参保情况清",
        Section::Policies => "政策享受清",
    }
}

pub fn person_status(code: &str) -> &'static str {
    match code {
        "registered" => "已登记",
        "applied" => "申请中",
        "recognised" => "已认定",
        "rejected" => "未通过认定",
        "exited" => "已退出",
        _ => "未知",
    }
}

pub fn recognition_state(code: &str) -> &'static str {
    match code {
        "received" => "已受理",
        "preliminary_review" => "初审中",
        "publicity" => "公示中",
        "recognised" => "已认定",
        "rejected" => "不予认定",
        _ => "未知",
    }
}

pub fn recognition_action(code: &str) -> &'static str {
    match code {
        "received" => "受理",
        "exit" => "退出",
        "start_review" => "开始初审",
        "publicise" => "初审通过，公示",
        "recognise" => "认定",
        "reject" => "不予认定",
        "referral" => "推荐岗位",
        _ => "办理",
    }
}

/// How a job was recommended.
pub fn referral_channel(code: &str) -> &'static str {
    match code {
        "visit" => "入户",
        "phone" => "电话",
        "message" => "短信/微信",
        "window" => "窗口",
        _ => "其他",
    }
}

/// How a job recommendation went.
/// Where a subsidy application stands, in the guide's words.
pub fn subsidy_state(state: SubsidyState) -> &'static str {
    match state {
        SubsidyState::Received => "已受理",
        SubsidyState::StationReview => "初审中",
        SubsidyState::StreetReview => "街道复审",
        SubsidyState::DistrictApproval => "区级审批",
        SubsidyState::Funded => "已核定拨付",
        SubsidyState::Returned => "已退回",
        SubsidyState::Stopped => "已停止",
    }
}

/// A step of a subsidy application, as its button and its history line say it.
pub fn subsidy_action(action: SubsidyAction) -> &'static str {
    match action {
        SubsidyAction::StartReview => "受理初审",
        SubsidyAction::Pass => "审核通过",
        SubsidyAction::Return => "退回",
        SubsidyAction::Resubmit => "补正后重新受理",
        SubsidyAction::RecommendStop => "建议停止",
        SubsidyAction::Stop => "停止",
    }
}

/// A recorded yes or no; a dash when nobody recorded it.
pub fn yes_no(answer: Option<bool>) -> &'static str {
    match answer {
        Some(true) => "是",
        Some(false) => "否",
        None => "—",
    }
}

pub fn referral_outcome(code: Option<&str>) -> &'static str {
    match code {
        Some("interested") => "有意向",
        Some("declined") => "不接受",
        Some("interviewed") => "已面试",
        Some("hired") => "已录用",
        Some("not_hired") => "未录用",
        _ => "待反馈",
    }
}

pub fn visit_outcome(code: &str) -> &'static str {
    match code {
        "met" => "见到本人",
        "not_home" => "不在家",
        "refused" => "拒绝",
        "moved" => "已搬走",
        _ => "其他",
    }
}

pub fn task_kind(code: &str) -> &'static str {
    match code {
        "retake_photo" => "重拍材料",
        "follow_up_due" => "跟踪回访",
        "subsidy_check" => "补贴跟踪回访",
        "visit" => "应走访",
        "site_check" => "实地核查",
        "job_match" => "岗位推荐",
        _ => "其他",
    }
}

pub fn task_state(code: &str) -> &'static str {
    match code {
        "open" => "待办",
        "done" => "已完成",
        "cancelled" => "已取消",
        _ => "未知",
    }
}

pub fn obligation_state(code: &str) -> &'static str {
    match code {
        "done" => "已完成",
        "on_track" => "进行中",
        "overdue" => "已逾期",
        _ => "未知",
    }
}

/// A choice's name (education, sex, …); an unknown one as it is.
pub fn choice(code: &str) -> &str {
    match code {
        "male" => "男",
        "female" => "女",
        "none" => "无",
        "primary" => "小学",
        "junior_high" => "初中",
        "senior_high" => "高中",
        "vocational" => "中专/技校",
        "college" => "大专",
        "bachelor" => "本科",
        "postgraduate" => "研究生",
        "healthy" => "健康",
        "chronic_illness" => "慢性病",
        "disabled" => "残疾",
        "daytime" => "白天班",
        "part_time" => "非全日制",
        "flexible" => "灵活时间",
        "shifts" => "倒班",
        "any" => "均可",
        "employee" => "职工保险",
        "resident" => "居民保险",
        "other" => "其他",
        other => other,
    }
}

/// A subsidy's stop, or a stop recommended and not decided, in words: of an application, or
/// of one person's line (the same fields in both).
pub fn subsidy_stop(doc: &serde_json::Value) -> Option<String> {
    use liuqing_schema::domain::subsidies::StopCondition;
    let text = |path: &str| liuqing_schema::entities::get_path(doc, path)?.as_str();
    let why = |path: &str| {
        text(path)
            .and_then(|c| c.parse::<StopCondition>().ok())
            .map_or("", StopCondition::chinese_name)
    };
    match (text("stopped_from"), text("recommended_stop_from")) {
        (Some(from), _) => Some(format!("自 {from} 停止：{}", why("stop_condition"))),
        (None, Some(from)) => Some(format!("建议自 {from} 停止：{}", why("recommended_stop"))),
        (None, None) => None,
    }
}
