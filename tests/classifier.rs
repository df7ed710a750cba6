//! Behaviour of the shipped rules (`intents/`) as an owner would see it, rule
//! file validation, and the quality bars on the labelled sets.

use guanjia::classify_cli::{Bars, score};
use guanjia::domain::intent::{Classification, Classifier, Intent, Utility};
use guanjia::domain::location::Location;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn intents_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("intents")
}

fn classifier() -> &'static Classifier {
    static C: OnceLock<Classifier> = OnceLock::new();
    C.get_or_init(|| {
        Classifier::load(&intents_dir()).unwrap_or_else(|e| panic!("shipped rules must load: {e}"))
    })
}

/// Expected answer for one message; `None` fields are not checked.
struct Case {
    text: &'static str,
    intent: Intent,
    category: Option<&'static str>,
    faq: Option<&'static str>,
    location: Option<&'static str>,
}

const fn case(text: &'static str, intent: Intent) -> Case {
    Case {
        text,
        intent,
        category: None,
        faq: None,
        location: None,
    }
}

impl Case {
    const fn cat(mut self, c: &'static str) -> Self {
        self.category = Some(c);
        self
    }
    const fn faq(mut self, q: &'static str) -> Self {
        self.faq = Some(q);
        self
    }
    /// `building|unit|room` with `-` for a missing part, or `none`.
    const fn loc(mut self, l: &'static str) -> Self {
        self.location = Some(l);
        self
    }
}

fn loc_string(l: &Option<Location>) -> String {
    match l {
        None => "none".into(),
        Some(l) => {
            let p = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
            format!("{}|{}|{}", p(&l.building), p(&l.unit), p(&l.room))
        }
    }
}

fn check(group: &str, cases: &[Case]) {
    let c = classifier();
    let mut failures = Vec::new();
    for case in cases {
        let got: Classification = c.classify(case.text);
        let mut bad = got.intent != case.intent;
        if let Some(cat) = case.category {
            bad |= got.category.as_deref() != Some(cat);
        } else if !case.intent.has_category() {
            bad |= got.category.is_some();
        }
        if let Some(q) = case.faq {
            bad |= got.faq.as_deref() != Some(q);
        }
        if let Some(l) = case.location {
            bad |= loc_string(&got.location) != l;
        }
        if bad {
            failures.push(format!(
                "  {:?}\n    expected {} {:?} faq={:?} loc={:?}\n    got      {} {:?} faq={:?} loc={} (rule {:?}, keywords {:?})",
                case.text,
                case.intent,
                case.category,
                case.faq,
                case.location,
                got.intent,
                got.category,
                got.faq,
                loc_string(&got.location),
                got.rule,
                got.keywords
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{group}: {} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

use Intent::*;

#[test]
fn emergencies_are_never_missed() {
    check(
        "emergency",
        &[
            case("电梯困人了!", Emergency).cat("elevator"),
            case("救命 电梯卡住了 我在里面出不来", Emergency).cat("elevator"),
            case("升降機困咗人,快啲嚟", Emergency).cat("elevator"),
            case("楼道里好大的煤气味", Emergency).cat("gas"),
            case("3栋着火了,浓烟滚滚", Emergency)
                .cat("fire")
                .loc("3|-|-"),
            case("水管爆了,家里淹了 6-3-702", Emergency)
                .cat("plumbing")
                .loc("6|3|702"),
            case("插座冒火花,噼里啪啦响", Emergency).cat("electrical"),
            case("有人在撬我家门", Emergency).cat("security"),
            case("楼下有个老人晕倒了,叫不醒", Emergency).cat("medical"),
        ],
    );
}

#[test]
fn repairs() {
    check(
        "repair",
        &[
            case("3栋2单元501 厨房漏水了", Repair)
                .cat("plumbing")
                .loc("3|2|501"),
            case("马桶堵了,冲不下去", Repair).cat("plumbing"),
            case("電梯壞了", Repair).cat("elevator"),
            case("楼道灯不亮了", Repair).cat("lighting"),
            case("门禁刷卡没反应", Repair).cat("door_access"),
            case("家里跳闸了", Repair).cat("electrical"),
            case("宽带断了,光猫亮红灯", Repair).cat("network"),
            case("燃气灶点不着火", Repair).cat("gas"),
            case("外墙瓷砖鼓起来了", Repair).cat("structure"),
        ],
    );
}

#[test]
fn complaints_take_the_broken_things_category() {
    check(
        "complaint",
        &[
            case("楼上装修太吵了", Complaint).cat("renovation"),
            case("楼上半夜蹦迪,吵得睡不着", Complaint).cat("noise"),
            case("电梯修了三次还坏,物业到底管不管", Complaint).cat("elevator"),
            case("打了三次电话都没人接,什么服务", Complaint).cat("staff"),
            case("遛狗不牵绳,狗屎到处都是", Complaint).cat("pets"),
            case("我的车位又被人占了", Complaint).cat("parking"),
            case("又有人高空抛物了", Complaint).cat("safety"),
        ],
    );
}

#[test]
fn inquiries_find_their_topic() {
    check(
        "inquiry",
        &[
            case("物业费怎么交", Inquiry).faq("fee_payment"),
            case("物业费一平米多少钱?", Inquiry).faq("fee_standard"),
            case("怎么停水了?什么时候来水", Inquiry).faq("outage"),
            case("门禁卡丢了怎么补办", Inquiry).faq("access_card"),
            case("快递柜在哪里?", Inquiry).faq("package"),
            case("装修要办什么手续?", Inquiry).faq("renovation"),
            case("物业电话多少?", Inquiry).faq("office_hours"),
            case("怎么报修?", Inquiry).faq("repair_process"),
        ],
    );
}

#[test]
fn suggestions() {
    check(
        "suggestion",
        &[
            case("建议在门口加个雨棚", Suggestion),
            case("能不能在小区里多装几个长椅?", Suggestion),
            case("希望物业能组织一次业主活动", Suggestion),
        ],
    );
}

#[test]
fn chatter_and_passing_mentions_stay_silent() {
    check(
        "other",
        &[
            case("昨天在电梯里碰到老王", Other),
            case("谢谢师傅,电梯已经修好了", Other),
            case("看新闻说隔壁小区电梯困人了", Other),
            case("收到", Other),
            case("早上好☀️", Other),
            case("出租:5号楼2单元1101,拎包入住", Other).loc("5|2|1101"),
            case("专业疏通马桶下水道,24小时上门", Other),
            case("刚才是消防演习,大家不用担心", Other),
            case("昨天报的水管已经修好了,不漏了", Other),
            case("", Other).loc("none"),
        ],
    );
}

#[test]
fn locations_through_the_classifier() {
    check(
        "location",
        &[
            case("３栋２单元５０１ 漏水", Repair).loc("3|2|501"),
            case("12#1102 马桶堵了", Repair).loc("12|-|1102"),
            case("十二栋二单元九零二 水管漏水", Repair).loc("12|2|902"),
            case("8栋12楼楼道灯不亮", Repair).loc("8|-|-"),
            case("地下车库的灯不亮", Repair).loc("none"),
            case("明天9:00停水吗?", Inquiry).loc("none"),
            case("修了3次了还漏水 13800138000", Complaint).loc("none"),
        ],
    );
}

/// One line per bug found while tuning; each must stay fixed.
#[test]
fn regression() {
    check(
        "regression",
        &[
            // A room followed by "的门" is the room (it was dropped).
            case("有人在撬1203的门!!两个男的,12栋,快叫保安", Emergency)
                .cat("security")
                .loc("12|-|1203"),
            // "单元门口" is a place, not the door: the broken thing is the step.
            case("单元门口的台阶塌了一块,报修两次都没人理 12栋", Complaint)
                .cat("structure")
                .loc("12|-|-"),
            // "自来水公司" must not read as "来水" (outage).
            case("水费是物业收还是自来水公司收?", Inquiry).faq("utilities"),
            // "私聊" in a complaint is not an advert.
            case("管家在群里从来不回,私聊也不回", Complaint).cat("staff"),
            // "落在" (landed on) is not lost-and-found.
            case("又有人往楼下扔烟头,差点落在我家衣服上", Complaint).cat("safety"),
            // "开关好几次" is the door, not a light switch, and not anger.
            case("电梯门关不严,每次都要开关好几次才关上", Repair).cat("elevator"),
            // A question about a rental parking space is not an advert.
            case("小区还有空车位出租吗?", Inquiry).faq("parking"),
            // A whole-estate outage question is an inquiry, not a repair.
            case("突然停电了,是整个小区都停了吗?", Inquiry).faq("outage"),
            // Smoke negated: a faulty alarm is a repair.
            case("烟感一直滴滴响,没有冒烟", Repair).cat("fire"),
            // "不停漏水": 不停 is not a negation.
            case("水管不停漏水", Repair).cat("plumbing"),
            // Issue 9: the adverts veto read "电话139" as an advert and
            // silenced the whole message.
            case("电梯困人了 快来人 电话13912345678", Emergency).cat("elevator"),
            case("3号楼起火了,烟很大,我的电话13800138000,快来", Emergency)
                .cat("fire")
                .loc("3|-|-"),
            case("3栋501厨房漏水 电话13800001111 请尽快", Repair)
                .cat("plumbing")
                .loc("3|-|501"),
            // Issue 9: "团购" in the first sentence vetoed the lift in the second.
            case("哈哈今天团购的水果真好吃。3栋电梯困人了快来人", Emergency)
                .cat("elevator")
                .loc("3|-|-"),
        ],
    );
}

/// Issue 9: no veto may silence emergency evidence. A veto explains the
/// clause its words are in; a phone number is never evidence against a
/// report. The inverse cases check that adverts, false alarms and news stay
/// silent all the same.
#[test]
fn no_veto_silences_an_emergency_and_a_phone_number_is_not_an_advert() {
    check(
        "emergencies with a phone number",
        &[
            case(
                "3栋2单元电梯卡在半空,里面有老人,联系电话:139-1234-5678",
                Emergency,
            )
            .cat("elevator")
            .loc("3|2|-"),
            case("厨房煤气味好重,手机 186 0000 1234 快派人", Emergency).cat("gas"),
            case("1栋楼下有人晕倒了 我的号码+86 15012345678", Emergency).cat("medical"),
            case("地下车库水管爆了,水漫进来了,座机021-62345678", Emergency).cat("plumbing"),
            case("楼道插座冒火花了!电话１３９１２３４５６７８", Emergency).cat("electrical"),
            case(
                "有人在撬5栋102的门,快叫保安,我是业主 电话13700001111",
                Emergency,
            )
            .cat("security")
            .loc("5|-|102"),
        ],
    );
    check(
        "emergencies after chatter, adverts or lost-and-found",
        &[
            case(
                "团购的车厘子到了,自提点在东门。2栋有人晕倒了,快叫救护车",
                Emergency,
            )
            .cat("medical")
            .loc("2|-|-"),
            case(
                "出租两室一厅,拎包入住,有意私聊。5栋楼道冒黑烟了!",
                Emergency,
            )
            .cat("fire")
            .loc("5|-|-"),
            case("专业疏通马桶,上门服务。我家楼道着火了!!", Emergency).cat("fire"),
            case(
                "捡到一串钥匙,谁丢的来东门拿。另外8栋地库水管爆了,水很大",
                Emergency,
            )
            .cat("plumbing")
            .loc("8|-|-"),
            case("笑死我了哈哈。刚才闻到很重的煤气味,在4栋一楼", Emergency).cat("gas"),
        ],
    );
    check(
        "repairs with a phone number",
        &[
            case("2栋电梯坏了,按了没反应,电话13912345678", Repair)
                .cat("elevator")
                .loc("2|-|-"),
            case("12栋1102马桶堵了,师傅来之前打我手机15800002222", Repair)
                .cat("plumbing")
                .loc("12|-|1102"),
            case("楼道灯不亮了 6栋3单元 联系电话 021-55556666", Repair)
                .cat("lighting")
                .loc("6|3|-"),
        ],
    );
    check(
        "still silent",
        &[
            case("专业疏通下水道 上门服务 电话13912345678", Other),
            case("家电清洗,空调油烟机都能洗,打八折,电话13600001111", Other),
            case("二手婴儿车出售,九成新,电话13800138000", Other),
            case("捡到一个钱包,失主电话13912345678联系我", Other),
            case("虚惊一场,原来是烧纸", Other),
            case("楼道里有烟,虚惊一场,原来是楼下有人烧纸", Other),
            case("看新闻说隔壁小区着火了,大家注意安全", Other),
            case("隔壁小区电梯困人了,好吓人", Other),
        ],
    );
    // Staff can still see which veto kept the desk quiet.
    assert_eq!(
        classifier()
            .classify("专业疏通下水道 上门服务 电话13912345678")
            .rule
            .as_deref(),
        Some("veto:adverts")
    );
}

#[test]
fn utility_is_set_for_supply_outages() {
    let c = classifier();
    let u = |t: &str| c.classify(t).utility;
    assert_eq!(u("怎么停水了"), Some(Utility::Water));
    assert_eq!(u("几点来水?"), Some(Utility::Water));
    assert_eq!(u("家里没电了"), Some(Utility::Power));
    assert_eq!(u("几点来电啊"), Some(Utility::Power));
    assert_eq!(u("没气了,燃气灶打不着"), Some(Utility::Gas));
    assert_eq!(u("电梯坏了"), None);
    assert_eq!(u("谢谢"), None);
}

#[test]
fn faq_entries_cover_all_topics_with_placeholders() {
    let c = classifier();
    let topics = [
        "fee_standard",
        "fee_payment",
        "parking",
        "renovation",
        "move_in",
        "visitor",
        "package",
        "office_hours",
        "access_card",
        "pets",
        "garbage",
        "utilities",
        "outage",
        "repair_process",
    ];
    for t in topics {
        let e = c
            .faq_entry(t)
            .unwrap_or_else(|| panic!("missing FAQ topic {t}"));
        assert_eq!(e.id, t);
        assert!(!e.title.is_empty());
        assert!(
            e.answer.contains("{phone}") || e.answer.contains("{desk_location}"),
            "{t}: answer has no contact placeholder"
        );
        assert!(
            e.answer.chars().count() > 40,
            "{t}: answer too short to be useful"
        );
    }
    assert!(c.faq_entry("nonexistent").is_none());
    assert_eq!(c.category_label("plumbing"), Some("水管/漏水"));
    assert!(c.categories().any(|id| id == "medical"));
    assert_eq!(c.category_label("nope"), None);
}

#[test]
fn rule_keywords_are_reported() {
    let got = classifier().classify("电梯困人了");
    assert_eq!(got.intent, Emergency);
    assert!(got.rule.is_some());
    assert!(
        got.keywords.iter().any(|k| k.contains('困')),
        "{:?}",
        got.keywords
    );
}

// ---------------------------------------------------------------------------
// Rule-file validation.

/// Copies the shipped rules into a temp dir and overwrites/adds `files`.
fn rules_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(intents_dir()).expect("intents dir") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&p, dir.path().join(p.file_name().expect("name"))).expect("copy");
        }
    }
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn load_error(files: &[(&str, &str)]) -> String {
    let dir = rules_with(files);
    match Classifier::load(dir.path()) {
        Ok(_) => panic!("rules {files:?} should have been refused"),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(err: &str, parts: &[&str]) {
    for p in parts {
        assert!(err.contains(p), "error {err:?} should mention {p:?}");
    }
}

#[test]
fn unknown_category_names_file_rule_and_reason() {
    let err = load_error(&[(
        "zz_extra.toml",
        "intent = \"repair\"\n[[rule]]\nid = \"leak\"\ncategory = \"plumbng\"\nany = [\"漏\"]\n",
    )]);
    assert_mentions(
        &err,
        &[
            "zz_extra.toml",
            "rule \"leak\"",
            "unknown category \"plumbng\"",
        ],
    );
}

#[test]
fn bad_regex_is_refused() {
    let err = load_error(&[(
        "zz_extra.toml",
        "intent = \"repair\"\n[[rule]]\nid = \"re\"\npatterns = [\"(unclosed\"]\n",
    )]);
    assert_mentions(&err, &["zz_extra.toml", "\"re\"", "bad pattern"]);
}

#[test]
fn unknown_intent_is_refused() {
    let err = load_error(&[(
        "zz_extra.toml",
        "[[rule]]\nid = \"x\"\nintent = \"repiar\"\nany = [\"坏\"]\n",
    )]);
    assert_mentions(
        &err,
        &["zz_extra.toml", "\"x\"", "unknown intent \"repiar\""],
    );
}

#[test]
fn duplicate_rule_id_is_refused() {
    let err = load_error(&[(
        "zz_extra.toml",
        "intent = \"repair\"\n[[rule]]\nid = \"plumbing_leak\"\nany = [\"漏\"]\n",
    )]);
    assert_mentions(
        &err,
        &[
            "zz_extra.toml",
            "\"plumbing_leak\"",
            "duplicate rule id",
            "repair.toml",
        ],
    );
}

#[test]
fn empty_keyword_is_refused() {
    let err = load_error(&[(
        "zz_extra.toml",
        "intent = \"repair\"\n[[rule]]\nid = \"blank\"\nany = [\"  \"]\n",
    )]);
    assert_mentions(&err, &["zz_extra.toml", "\"blank\"", "empty keyword"]);
}

#[test]
fn keyword_that_would_match_everything_is_refused() {
    // "+1" normalises to "1" (punctuation becomes a space), which would hit
    // every message with a digit 1 in it.
    let err = load_error(&[(
        "zz_extra.toml",
        "[[veto]]\nid = \"agree\"\nblocks = [\"suggestion\"]\nany = [\"+1\"]\n",
    )]);
    assert_mentions(
        &err,
        &[
            "zz_extra.toml",
            "veto \"agree\"",
            "\"+1\"",
            "matches almost anything",
        ],
    );
}

#[test]
fn unknown_faq_topic_and_set_are_refused() {
    let err = load_error(&[(
        "zz_extra.toml",
        "intent = \"inquiry\"\n[[rule]]\nid = \"q\"\nfaq = \"fees\"\nany = [\"钱\"]\n",
    )]);
    assert_mentions(
        &err,
        &["zz_extra.toml", "\"q\"", "unknown FAQ topic \"fees\""],
    );
    let err = load_error(&[(
        "zz_extra.toml",
        "intent = \"repair\"\n[[rule]]\nid = \"s\"\nany = [\"$brokn\"]\n",
    )]);
    assert_mentions(&err, &["zz_extra.toml", "\"s\"", "unknown set \"$brokn\""]);
}

#[test]
fn misspelt_field_and_missing_faq_file_are_refused() {
    let err = load_error(&[(
        "zz_extra.toml",
        "intent = \"repair\"\n[[rule]]\nid = \"k\"\nkeywrods = [\"坏\"]\n",
    )]);
    assert_mentions(&err, &["zz_extra.toml", "keywrods"]);

    let dir = rules_with(&[]);
    std::fs::remove_file(dir.path().join("faq.toml")).expect("remove");
    let err = Classifier::load(dir.path())
        .expect_err("faq.toml is required")
        .to_string();
    assert_mentions(&err, &["faq.toml", "missing"]);
}

#[test]
fn a_bad_veto_scope_names_file_veto_and_reason() {
    let veto = |extra: &str| {
        format!("[[veto]]\nid = \"gossip\"\nblocks = [\"*\"]\nany = [\"八卦\"]\n{extra}")
    };
    let err = load_error(&[("zz_extra.toml", &veto("scope = \"sentence\"\n"))]);
    assert_mentions(
        &err,
        &[
            "zz_extra.toml",
            "veto \"gossip\"",
            "unknown scope \"sentence\"",
        ],
    );
    let err = load_error(&[("zz_extra.toml", &veto("denies_emergency = true\n"))]);
    assert_mentions(
        &err,
        &[
            "zz_extra.toml",
            "veto \"gossip\"",
            "denies_emergency",
            "scope = \"message\"",
        ],
    );
    let err = load_error(&[(
        "zz_extra.toml",
        "[[veto]]\nid = \"quiet\"\nblocks = [\"repair\"]\nscope = \"message\"\n\
         denies_emergency = true\nany = [\"八卦\"]\n",
    )]);
    assert_mentions(&err, &["zz_extra.toml", "veto \"quiet\"", "\"emergency\""]);
    let err = load_error(&[("zz_extra.toml", &veto("scop = \"message\"\n"))]);
    assert_mentions(&err, &["zz_extra.toml", "scop"]);
}

#[test]
fn a_phone_number_cannot_be_a_veto_keyword() {
    let err = load_error(&[(
        "zz_extra.toml",
        "[[veto]]\nid = \"ads\"\nblocks = [\"*\"]\nany = [\"上门\", \"电话139\"]\n",
    )]);
    assert_mentions(
        &err,
        &[
            "zz_extra.toml",
            "veto \"ads\"",
            "\"电话139\"",
            "phone number",
        ],
    );
}

/// What each scope silences, on a veto staff might add: by default only
/// its clause; `scope = "message"` the whole message except an emergency
/// in another clause; `denies_emergency` that emergency too.
#[test]
fn a_veto_silences_its_clause_unless_it_explains_the_whole_message() {
    let with = |extra: &str| {
        let dir = rules_with(&[(
            "zz_scope.toml",
            &format!("[[veto]]\nid = \"karaoke\"\nblocks = [\"*\"]\nany = [\"k歌\"]\n{extra}"),
        )]);
        Classifier::load(dir.path()).expect("rules with a scoped veto load")
    };
    let intent = |c: &Classifier, t: &str| c.classify(t).intent;
    let repair = "周末去k歌了,3栋电梯坏了";
    let fire = "周末去k歌了,3栋楼道着火了";

    let clause = with("");
    assert_eq!(intent(&clause, "k歌的时候电梯坏了"), Other);
    assert_eq!(intent(&clause, repair), Repair);
    assert_eq!(intent(&clause, fire), Emergency);

    let message = with("scope = \"message\"\n");
    assert_eq!(intent(&message, repair), Other);
    assert_eq!(intent(&message, fire), Emergency);
    assert_eq!(intent(&message, "k歌的时候着火了"), Other);

    let denies = with("scope = \"message\"\ndenies_emergency = true\n");
    assert_eq!(intent(&denies, fire), Other);
    assert_eq!(denies.classify(fire).rule.as_deref(), Some("veto:karaoke"));
}

#[test]
fn staff_can_add_a_keyword_and_a_category_without_code() {
    let before = classifier().classify("小区的无人机停机坪坏了");
    assert_ne!(before.category.as_deref(), Some("drone"));
    let dir = rules_with(&[(
        "zz_drone.toml",
        "[[category]]\nid = \"drone\"\nlabel = \"无人机\"\nkeywords = [\"无人机\"]\n\n\
         [[rule]]\nid = \"drone_pad\"\nintent = \"repair\"\ncategory = \"drone\"\nall = [[\"停机坪\"], [\"$broken\"]]\n",
    )]);
    let c = Classifier::load(dir.path()).expect("extended rules load");
    let got = c.classify("小区的无人机停机坪坏了");
    assert_eq!(
        (got.intent, got.category.as_deref()),
        (Repair, Some("drone"))
    );
    assert_eq!(c.category_label("drone"), Some("无人机"));
}

// ---------------------------------------------------------------------------
// Quality bars on labelled data.

fn data(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("intents/examples")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn dev_set_meets_the_bars() {
    let report = score(classifier(), &data("dev.jsonl")).expect("dev.jsonl scores");
    assert_eq!(report.rows, 300);
    let failed = report.check(&Bars::default());
    assert!(failed.is_empty(), "failed bars: {failed:?}\n{report}");
}

#[test]
fn extra_set_meets_the_held_back_bars() {
    let report = score(classifier(), &data("extra.jsonl")).expect("extra.jsonl scores");
    assert!(report.rows >= 150);
    let bars = Bars {
        intent: 0.90,
        silence: 0.95,
        emergency_recall: 1.0,
        category: 0.85,
        faq: 0.85,
        location: 0.95,
    };
    let failed = report.check(&bars);
    assert!(failed.is_empty(), "failed bars: {failed:?}\n{report}");
}

#[test]
fn bad_labelled_rows_are_reported_with_line_numbers() {
    let text = "{\"id\":\"a\",\"text\":\"收到\",\"intent\":\"other\",\"category\":null,\"faq\":null,\"location\":null}\n\nnot json\n";
    let err = score(classifier(), text)
        .expect_err("line 3 is not JSON")
        .to_string();
    assert!(err.starts_with("line 3:"), "{err}");
    let err = score(
        classifier(),
        "{\"id\":\"a\",\"text\":\"x\",\"intent\":\"urgent\"}",
    )
    .expect_err("bad intent")
    .to_string();
    assert!(err.starts_with("line 1:"), "{err}");
    assert!(score(classifier(), "\n\n").is_err());
}

#[test]
fn report_counts_and_bars() {
    let text = "{\"id\":\"a\",\"text\":\"电梯困人了\",\"intent\":\"emergency\",\"category\":\"elevator\",\"faq\":null,\"location\":null}\n\
                {\"id\":\"b\",\"text\":\"收到\",\"intent\":\"repair\",\"category\":\"plumbing\",\"faq\":null,\"location\":null}\n";
    let r = score(classifier(), text).expect("scores");
    assert_eq!((r.intent.hit, r.intent.total), (1, 2));
    assert_eq!((r.emergency_recall.hit, r.emergency_recall.total), (1, 1));
    assert_eq!(r.misses.len(), 1);
    assert_eq!(r.misses[0].id, "b");
    let failed = r.check(&Bars::default());
    assert!(
        failed.iter().any(|f| f.starts_with("intent accuracy")),
        "{failed:?}"
    );
    let shown = r.to_string();
    assert!(
        shown.contains("intent accuracy") && shown.contains("收到"),
        "{shown}"
    );
}

/// The tie-breaking example documented in `domain::intent` and docs/classifier.md.
#[test]
fn documented_tie_break_example() {
    let got = classifier().classify("电梯又坏了,修了三次还坏,物业到底管不管");
    assert_eq!(got.intent, Complaint);
    assert_eq!(got.category.as_deref(), Some("elevator"));
    assert_eq!(got.rule.as_deref(), Some("repeated_count"));
}

/// Rule-file features staff rely on: `near`, `masks`, `[negation]`, vetoes,
/// each checked through a small extra rule file on top of the shipped ones.
#[test]
fn rule_features_near_masks_negation_and_vetoes() {
    let dir = rules_with(&[(
        "zz_features.toml",
        "[[category]]\nid = \"kite\"\nlabel = \"风筝\"\n\n\
         [[rule]]\nid = \"kite_near\"\nintent = \"repair\"\ncategory = \"kite\"\nnear = 2\n\
         all = [[\"风筝\"], [\"破洞\"]]\n\n\
         [[veto]]\nid = \"kite_show\"\nblocks = [\"repair\"]\nany = [\"风筝节\"]\n",
    )]);
    let c = Classifier::load(dir.path()).expect("rules with features load");
    let cat = |t: &str| {
        let got = c.classify(t);
        (got.intent, got.category)
    };
    // near: the two words must be close.
    assert_eq!(cat("风筝有破洞"), (Repair, Some("kite".to_string())));
    assert_ne!(
        cat("风筝飞得很高 昨天我的衣服有个破洞").1.as_deref(),
        Some("kite")
    );
    // veto: silences the intent it blocks.
    assert_ne!(cat("风筝节的风筝有破洞").0, Repair);
    // masks (shipped lexicon): "自来水公司" does not mean water is back.
    assert_ne!(
        classifier()
            .classify("自来水公司的电话是多少")
            .faq
            .as_deref(),
        Some("outage")
    );
    // negation (shipped lexicon): "没有冒烟" is not a fire.
    assert_ne!(
        classifier().classify("烟感在响,但是没有冒烟").intent,
        Emergency
    );
    assert_eq!(classifier().classify("楼道在冒烟").intent, Emergency);
}

// ---------------------------------------------------------------------------
// Rules and model together (issue 11).

use guanjia::classify_cli::cross_validate;
use guanjia::domain::intent::{Decided, Examples, Labelled};

fn row(id: &str, text: &str, intent: Intent, category: Option<&str>) -> Labelled {
    Labelled {
        id: id.into(),
        text: text.into(),
        intent,
        category: category.map(String::from),
        faq: None,
        location: None,
    }
}

/// The shipped rules with the shipped examples plus `extra` rows.
fn trained_with(extra: Vec<Labelled>) -> Classifier {
    let mut examples = classifier().examples().clone();
    examples.files.push(("test.jsonl".into(), extra.len()));
    examples.rows.extend(extra);
    Classifier::load(&intents_dir())
        .expect("shipped rules load")
        .with_examples(&examples, "test")
        .expect("examples fit the rules")
}

/// A word no rule knows, taught to the model as an emergency.
fn taught_emergency() -> Classifier {
    let rows = (0..40)
        .map(|i| {
            row(
                &format!("t{i}"),
                &format!("第{i}次 紫雾警报 紫雾警报 快"),
                Emergency,
                Some("safety"),
            )
        })
        .collect();
    trained_with(rows)
}

#[test]
fn a_veto_never_silences_an_emergency_the_model_sees_unless_it_denies_the_danger() {
    let c = taught_emergency();
    // No rule knows the words: the model raises it.
    let got = c.classify("紫雾警报 紫雾警报");
    assert_eq!(got.intent, Emergency, "{got:?}");
    assert!(matches!(got.decided_by, Decided::Model { .. }), "{got:?}");
    // The adverts veto explains the message for ordinary intents, not for
    // an emergency the model sees.
    let got = c.classify("专业疏通下水道 上门服务 紫雾警报 紫雾警报");
    assert_eq!(got.intent, Emergency, "{got:?}");
    // A veto that denies the danger (the news, another estate) silences it.
    let got = c.classify("看新闻说隔壁小区紫雾警报 紫雾警报");
    assert_eq!(got.intent, Other, "{got:?}");
    assert!(matches!(got.decided_by, Decided::Rule { ref id } if id.starts_with("veto:")));
}

#[test]
fn an_emergency_a_rule_finds_stands_whatever_the_model_says() {
    // Teach the model that a lift entrapment is chatter.
    let rows = (0..60)
        .map(|i| row(&format!("t{i}"), &format!("电梯困人了 {i}"), Other, None))
        .collect();
    let c = trained_with(rows);
    let got = c.classify("电梯困人了");
    assert_eq!(got.intent, Emergency, "{got:?}");
    assert!(matches!(got.decided_by, Decided::Rule { .. }));
}

#[test]
fn the_model_never_overrides_an_explicit_rule_but_may_a_generic_one() {
    // Teach the model that broken lifts and broken "things" are suggestions.
    let rows = (0..80)
        .flat_map(|i| {
            [
                row(&format!("a{i}"), "电梯坏了 电梯坏了", Suggestion, None),
                row(&format!("b{i}"), "下水堵住了 下水堵住了", Suggestion, None),
            ]
        })
        .collect();
    let c = trained_with(rows);
    let got = c.classify("电梯坏了 电梯坏了");
    assert_eq!(got.model.map(|g| g.intent), Some(Suggestion), "{got:?}");
    assert_eq!(
        (got.intent, got.category.as_deref()),
        (Repair, Some("elevator"))
    );
    assert_eq!(
        got.decided_by,
        Decided::Rule {
            id: "elevator".into()
        }
    );
    // generic_broken ("broken" + some thing) is `generic = true`.
    let plain = classifier().classify("下水堵住了 下水堵住了");
    assert_eq!(plain.rule.as_deref(), Some("generic_broken"), "{plain:?}");
    let got = c.classify("下水堵住了 下水堵住了");
    assert_eq!(got.intent, Suggestion, "{got:?}");
    assert!(matches!(got.decided_by, Decided::Model { .. }));
    assert_eq!(got.rule, None);
}

#[test]
fn where_no_rule_fires_the_model_decides_and_says_so() {
    let got = classifier().classify("收到");
    assert_eq!(got.intent, Other);
    assert!(got.model.is_some());
    let json = serde_json::to_value(&got).expect("serialises");
    assert!(json["decided_by"]["side"].is_string(), "{json}");
    let got = classifier().classify("3栋2单元501 厨房漏水了");
    let json = serde_json::to_value(&got).expect("serialises");
    assert_eq!(json["decided_by"]["side"], "rule");
    assert_eq!(json["decided_by"]["id"], "plumbing_leak");
    assert_eq!(json["model"]["intent"], "repair");
}

#[test]
fn training_is_deterministic() {
    let a = Classifier::load(&intents_dir()).expect("load");
    let b = Classifier::load(&intents_dir()).expect("load");
    for r in a.examples().rows.iter().step_by(7) {
        let (x, y) = (a.classify(&r.text), b.classify(&r.text));
        assert_eq!(x, y, "{}", r.text);
    }
}

#[test]
fn an_example_with_an_unknown_category_names_file_and_row() {
    let mut examples = Examples::default();
    examples.files.push(("mine.jsonl".into(), 1));
    examples
        .rows
        .push(row("m1", "水管漏了", Repair, Some("plumbng")));
    let err = Classifier::load(&intents_dir())
        .expect("load")
        .with_examples(&examples, "test")
        .expect_err("unknown category")
        .to_string();
    assert_mentions(&err, &["examples/mine.jsonl", "\"m1\"", "plumbng"]);
    let err = Examples::parse("examples/x.jsonl", "{\"id\":\"a\"}\n")
        .expect_err("no text")
        .to_string();
    assert_mentions(&err, &["examples/x.jsonl line 1"]);
}

/// The whole classifier, cross-validated on the project's examples, meets
/// the bars of issue 11. Three folds, not the five of `intents test`, to keep
/// a debug build's test run short (each fold trains a model); `.ci/run` runs
/// the five.
#[test]
fn cross_validated_figures_meet_the_bars() {
    let c = classifier();
    let eval = cross_validate(c, c.examples(), 3).expect("examples fit the rules");
    assert_eq!(eval.cross_validated.rows, c.examples().rows.len());
    let failed = eval.cross_validated.check(&Bars::cross_validated());
    assert!(failed.is_empty(), "failed bars: {failed:?}\n{eval}");
    assert!(eval.training.intent.value() >= eval.cross_validated.intent.value() - 0.01);
}
