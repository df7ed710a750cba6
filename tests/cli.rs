//! The command line as a property company's staff use it: classify, check an
//! edit to the rules, and start without a token.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

fn guanjia(args: &[&str], stdin: &[u8]) -> std::process::Output {
    guanjia_in(Path::new(env!("CARGO_MANIFEST_DIR")), args, stdin)
}

/// `guanjia` started in `dir`, as someone would outside the checkout.
fn guanjia_in(dir: &Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_guanjia"))
        .current_dir(dir)
        .args(args)
        .env_remove("TELOXIDE_TOKEN")
        .env_remove("DATABASE_URL")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("guanjia runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn classify_answers_every_line_even_bad_ones() {
    let mut input = Vec::new();
    input.extend_from_slice("3栋2单元501 厨房漏水了\n".as_bytes());
    input.extend_from_slice(b"\xff\xfe broken\n");
    input.extend_from_slice(b"\n");
    input.extend_from_slice("漏".repeat(40_000).as_bytes());
    input.extend_from_slice(b"\n\x07\x1b[0m\r\n");
    input.extend_from_slice("电梯困人了!".as_bytes());
    let out = guanjia(&["classify"], &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert_eq!(lines.len(), 6, "one answer per input line");
    assert_eq!(lines[0]["intent"], "repair");
    assert_eq!(lines[0]["location"]["room"], "501");
    assert!(
        lines[1]["error"].as_str().unwrap().contains("line 2"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2]["intent"], "other");
    assert_eq!(lines[5]["intent"], "emergency");
}

#[test]
fn check_accepts_the_shipped_files_and_names_a_broken_rule() {
    let ok = guanjia(&["--config", "guanjia.example.toml", "check"], b"");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("intents");
    std::fs::create_dir(&rules).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/intents")).unwrap() {
        let path = entry.unwrap().path();
        // The rule files; `examples/` is left out (the built-in examples serve).
        if path.is_file() {
            std::fs::copy(&path, rules.join(path.file_name().unwrap())).unwrap();
        }
    }
    let repair = std::fs::read_to_string(rules.join("repair.toml")).unwrap();
    std::fs::write(
        rules.join("repair.toml"),
        repair.replacen("category = \"plumbing\"", "category = \"plumbng\"", 1),
    )
    .unwrap();
    let config = dir.path().join("g.toml");
    std::fs::write(
        &config,
        format!("[desk]\nrules_dir = \"{}\"\n", rules.display()),
    )
    .unwrap();
    let bad = guanjia(&["--config", config.to_str().unwrap(), "check"], b"");
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("repair.toml") && err.contains("plumbng"),
        "{err}"
    );

    let templates = std::fs::read_to_string(rules.join("templates.toml")).unwrap();
    std::fs::write(rules.join("repair.toml"), repair).unwrap();
    std::fs::write(
        rules.join("templates.toml"),
        templates.replacen("{ticket}", "{tikcet}", 1),
    )
    .unwrap();
    let bad = guanjia(&["--config", config.to_str().unwrap(), "check"], b"");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("templates.toml") && err.contains("tikcet"),
        "{err}"
    );
}

#[test]
fn run_without_a_token_says_how_to_get_started() {
    let out = guanjia(&["--config", "guanjia.example.toml", "run"], b"");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TELOXIDE_TOKEN") && err.contains("guanjia console"),
        "{err}"
    );
}

#[test]
fn the_console_runs_a_whole_ticket_with_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("g.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[desk]\nrules_dir = \"{}/intents\"\n",
            dir.path().join("c.db").display(),
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let script = "3栋2单元501 厨房漏水了\n@staff /claim 1\n@staff /done 1 换了阀门\n:press rate:1:5\n:quit\n";
    let out = guanjia(
        &["--config", config.to_str().unwrap(), "console"],
        script.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    for step in [
        "工单号 #1",
        "🙋 认领 #1",
        "已有工作人员负责",
        "请为本次服务打分",
        "感谢您对工单 #1 的评价",
    ] {
        assert!(shown.contains(step), "the console shows {step:?}:\n{shown}");
    }
}

#[test]
fn with_no_files_at_all_classify_check_and_the_console_use_the_built_in_rules() {
    let empty = tempfile::tempdir().unwrap();
    let out = guanjia_in(
        empty.path(),
        &["classify"],
        "电梯困人了,快来人\n".as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"emergency\""),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = guanjia_in(empty.path(), &["check"], b"");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && shown.contains("内置"), "{shown}");
    let out = guanjia_in(
        empty.path(),
        &["console"],
        "3栋2单元501 厨房漏水了\n:quit\n".as_bytes(),
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("工单号 #1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn relative_paths_in_the_config_are_read_beside_it_whatever_the_directory() {
    let home = tempfile::tempdir().unwrap();
    let rules = home.path().join("my-rules");
    std::fs::create_dir(&rules).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/intents")).unwrap() {
        let path = entry.unwrap().path();
        // The rule files; `examples/` is left out (the built-in examples serve).
        if path.is_file() {
            std::fs::copy(&path, rules.join(path.file_name().unwrap())).unwrap();
        }
    }
    let config = home.path().join("guanjia.toml");
    std::fs::write(&config, "[desk]\nrules_dir = \"my-rules\"\n").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = guanjia_in(
        elsewhere.path(),
        &["--config", config.to_str().unwrap(), "check"],
        b"",
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(shown.contains(&rules.display().to_string()), "{shown}");

    std::fs::write(&config, "[desk]\nrules_dir = \"missing-rules\"\n").unwrap();
    let out = guanjia_in(
        elsewhere.path(),
        &["--config", config.to_str().unwrap(), "classify"],
        "漏水\n".as_bytes(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a missing rules_dir is an error");
    assert!(
        err.contains("desk.rules_dir")
            && err.contains(&home.path().join("missing-rules").display().to_string()),
        "{err}"
    );
}

#[test]
fn init_writes_an_editable_copy_and_a_config_and_never_overwrites() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("desk");
    let out = guanjia_in(parent.path(), &["init", "desk"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    for file in ["guanjia.toml", "intents/faq.toml", "intents/templates.toml"] {
        assert!(dir.join(file).is_file(), "{file} written");
        assert!(said.contains(file), "says it wrote {file}: {said}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("intents/repair.toml")).unwrap(),
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/intents/repair.toml"))
            .unwrap()
    );

    // The copy is what runs: an edit to it is seen from anywhere.
    let config = dir.join("guanjia.toml");
    let out = guanjia_in(
        parent.path(),
        &["--config", config.to_str().unwrap(), "check"],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&dir.join("intents").display().to_string())
    );

    std::fs::write(dir.join("intents/faq.toml"), "# edited\n").unwrap();
    let again = guanjia_in(parent.path(), &["init", "desk"], b"");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success(), "init refuses to overwrite");
    assert!(
        err.contains("guanjia.toml") && err.contains("faq.toml"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("intents/faq.toml")).unwrap(),
        "# edited\n",
        "nothing was overwritten"
    );
}

#[test]
fn company_details_live_in_one_place_and_check_says_when_they_are_samples_or_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    // Built-in rules and the older config key: both are pointed out.
    std::fs::write(
        dir.path().join("guanjia.toml"),
        "[desk]\ncompany = \"安居物业\"\n",
    )
    .unwrap();
    let out = guanjia_in(dir.path(), &["check"], b"");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("[desk] company") && said.contains("[vars]"),
        "the older key is pointed to the one place: {said}"
    );
    assert!(
        said.contains("示例值") && said.contains("guanjia init"),
        "sample phone numbers are pointed out: {said}"
    );

    // An edited copy with the company's own details, and no config key: quiet.
    let rules = copy_of_shipped_rules(dir.path());
    let templates = std::fs::read_to_string(rules.join("templates.toml")).unwrap();
    let phone = templates
        .lines()
        .find(|l| l.starts_with("phone = "))
        .unwrap()
        .to_string();
    let location = templates
        .lines()
        .find(|l| l.starts_with("desk_location = "))
        .unwrap()
        .to_string();
    std::fs::write(
        rules.join("templates.toml"),
        templates
            .replace(&phone, "phone = \"0571-8765 4321\"")
            .replace(&location, "desk_location = \"北门物业服务中心\""),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("guanjia.toml"),
        "[desk]\nrules_dir = \"intents\"\n",
    )
    .unwrap();
    let out = guanjia_in(dir.path(), &["check"], b"");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !said.contains("提示"), "{said}");
    // And the console shows the company's phone where an owner would read it.
    let out = guanjia_in(dir.path(), &["console"], "[语音]\n:quit\n".as_bytes());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("0571-8765 4321"), "{said}");
}

#[test]
fn check_refuses_a_misspelt_placeholder_in_a_faq_answer() {
    let dir = tempfile::tempdir().unwrap();
    let rules = copy_of_shipped_rules(dir.path());
    let faq = std::fs::read_to_string(rules.join("faq.toml")).unwrap();
    std::fs::write(
        rules.join("faq.toml"),
        faq.replacen("可拨打 {phone}", "可拨打 {telephone}", 1),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("guanjia.toml"),
        "[desk]\nrules_dir = \"intents\"\n",
    )
    .unwrap();
    let out = guanjia_in(dir.path(), &["check"], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "check passed a misspelt placeholder");
    assert!(
        err.contains("faq.toml") && err.contains("{telephone}"),
        "the error names the file and the placeholder: {err}"
    );
}

#[test]
fn an_error_is_printed_once_and_logs_to_a_file_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let out = guanjia(&["--config", missing.to_str().unwrap(), "check"], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.matches("nope.toml").count(), 1, "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");

    std::fs::write(
        dir.path().join("guanjia.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}\"\n",
            dir.path().join("g.db").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_guanjia"))
        .current_dir(dir.path())
        .arg("inbox")
        .env("RUST_LOG", "debug")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(!log.is_empty(), "debug logs were written");
    assert!(
        !log.contains('\u{1b}'),
        "no escape codes in a piped log: {log}"
    );
}

#[test]
fn backup_makes_a_copy_that_opens_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.db");
    std::fs::write(
        dir.path().join("guanjia.toml"),
        format!("[database]\nurl = \"sqlite://{}\"\n", db.display()),
    )
    .unwrap();
    // A database with something in it: a ledger import.
    std::fs::write(
        dir.path().join("fees.csv"),
        "楼栋,单元,房号,金额,账期,截止日期\n3,2,501,100,Q4,2026-12-31\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("guanjia.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[[building]]\nname = \"3栋\"\nchat = -3\n",
            db.display()
        ),
    )
    .unwrap();
    let out = guanjia_in(dir.path(), &["fees", "import", "fees.csv"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = guanjia_in(dir.path(), &["backup", "copy.db"], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("恢复"));
    // The copy is a database with the same rows.
    std::fs::write(
        dir.path().join("copy.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[[building]]\nname = \"3栋\"\nchat = -3\n",
            dir.path().join("copy.db").display()
        ),
    )
    .unwrap();
    let out = guanjia_in(
        dir.path(),
        &[
            "--config",
            "copy.toml",
            "fees",
            "paid",
            "3栋",
            "2",
            "501",
            "Q4",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "the copy holds the ledger: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = guanjia_in(dir.path(), &["backup", "copy.db"], b"");
    assert!(!out.status.success(), "an existing file is not overwritten");
}

#[test]
fn an_edited_copy_from_an_earlier_release_still_starts_and_says_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let rules = copy_of_shipped_rules(dir.path());
    // An older copy: no `start_in_group` message, and its own company name.
    let templates = std::fs::read_to_string(rules.join("templates.toml")).unwrap();
    let older: String = templates
        .lines()
        .filter(|l| !l.starts_with("start_in_group"))
        .map(|l| l.replace("幸福里物业", "康乐苑物业") + "\n")
        .collect();
    std::fs::write(rules.join("templates.toml"), older).unwrap();
    std::fs::write(
        dir.path().join("guanjia.toml"),
        "[desk]\nrules_dir = \"intents\"\n",
    )
    .unwrap();
    let out = guanjia_in(dir.path(), &["check"], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("start_in_group"),
        "the missing message is named: {err}"
    );
    // A placeholder the copy misspells is still an error.
    let broken = std::fs::read_to_string(rules.join("templates.toml"))
        .unwrap()
        .replacen("{ticket}", "{tikcet}", 1);
    std::fs::write(rules.join("templates.toml"), broken).unwrap();
    let out = guanjia_in(dir.path(), &["check"], b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("{tikcet}"));
}

#[test]
fn a_second_console_session_on_the_same_database_hears_every_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("guanjia.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}\"\n",
            dir.path().join("c.db").display()
        ),
    )
    .unwrap();
    let first = guanjia_in(
        dir.path(),
        &["console"],
        "3栋2单元501 厨房漏水了\n:quit\n".as_bytes(),
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("工单号 #1"));
    let second = guanjia_in(
        dir.path(),
        &["console"],
        "3栋2单元502 卫生间马桶堵了\n物业费怎么交\n:quit\n".as_bytes(),
    );
    let shown = String::from_utf8_lossy(&second.stdout);
    assert!(shown.contains("第 2 次会话"), "{shown}");
    assert!(
        shown.contains("工单号 #2"),
        "the first line is not taken as already handled: {shown}"
    );
    assert!(
        shown.contains("缴费"),
        "and the second is answered: {shown}"
    );
}

/// An editable copy of the shipped rule files in `dir/intents`, as `guanjia init`
/// would leave it.
fn copy_of_shipped_rules(dir: &Path) -> std::path::PathBuf {
    let rules = dir.join("intents");
    std::fs::create_dir(&rules).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
    for entry in std::fs::read_dir(&shipped).unwrap() {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "toml") {
            std::fs::copy(entry.path(), rules.join(entry.file_name())).unwrap();
        }
    }
    rules
}

/// A morning at the desk in the console, proofread as a property company would:
/// every message any chat receives is checked for what made staff and owners
/// stumble (nested brackets, spaces inside Chinese, ids instead of names, a
/// placeholder left unfilled, a room or phone number in a group).
#[test]
fn a_morning_in_the_console_reads_well() {
    let dir = tempfile::tempdir().unwrap();
    let script = "\
3栋2单元501 厨房水管漏水了,地上全是水
[照片]
楼上装修太吵了,中午都不停
物业费怎么交
停车怎么办月卡
@private /start t1
@private 我电话13800001111,下午在家
@staff /claim 1
@staff /tickets
@staff /ticket 1
:group 5栋
[语音]
:press us:repair:1
2单元电梯卡在8楼了,里面有人!
@staff /claim 4
@staff /staff_add 700002 客服小王
@staff /transfer 4 700002
@staff /done 1 换了角阀,已试水
:press rate:1:1:2
@private /mytickets
@staff /outage 3栋 停水 今天14:00 16:00 管道维修
@staff /notice 3栋，5栋 今晚8点消防演练,请勿惊慌
@staff /groups
@staff [照片] #1 完工
:quit
";
    let out = guanjia_in(dir.path(), &["console"], script.as_bytes());
    let transcript = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{transcript}");

    // (chat, text) of every message sent or edited.
    let mut messages: Vec<(String, String)> = Vec::new();
    for line in transcript.lines() {
        if let Some(rest) = line.strip_prefix("→ [").or(line.strip_prefix("✎ [")) {
            let chat = rest.split(']').next().unwrap_or_default().to_string();
            messages.push((chat, String::new()));
        } else if let Some(text) = line.strip_prefix("    ")
            && !text.contains('⟶')
            && let Some((_, body)) = messages.last_mut()
        {
            body.push_str(text);
            body.push('\n');
        }
    }
    assert!(messages.len() > 30, "{transcript}");
    let cjk = |c: char| ('\u{4e00}'..='\u{9fff}').contains(&c);
    for (chat, text) in &messages {
        let mut depth = 0i32;
        for c in text.chars() {
            match c {
                '(' | '\u{ff08}' => depth += 1,
                ')' | '\u{ff09}' => depth -= 1,
                _ => {}
            }
            assert!(depth <= 1, "nested brackets in [{chat}]: {text}");
        }
        // What owners wrote is quoted as they wrote it; a history line's columns
        // (time, who, what) are spaced like a table.
        let ours: String = text
            .lines()
            .filter(|l| !l.starts_with("内容:") && !l.contains("业主私聊补充"))
            .filter(|l| !(l.starts_with(|c: char| c.is_ascii_digit()) && l.contains("月")))
            .collect::<Vec<_>>()
            .join("\n");
        let chars: Vec<char> = ours.chars().collect();
        for w in chars.windows(3) {
            assert!(
                !(cjk(w[0]) && w[1] == ' ' && cjk(w[2])),
                "a space inside Chinese ({}) in [{chat}]: {text}",
                w.iter().collect::<String>()
            );
        }
        assert!(
            !text.contains('{'),
            "a placeholder left in [{chat}]: {text}"
        );
        assert!(
            !text.contains("id 7000"),
            "an id for a name in [{chat}]: {text}"
        );
        if chat.contains("业主群") {
            for private in ["501", "13800001111", "王先生", "客服小"] {
                assert!(!text.contains(private), "[{chat}] read {private:?}: {text}");
            }
        }
        if chat == "员工群" && text.starts_with("🚨") {
            let head = text.lines().next().unwrap_or_default();
            assert_eq!(head.matches("紧急").count(), 1, "{head}");
        }
    }
    // The hand-over names the colleague; the owner's private list names them once.
    assert!(transcript.contains("已转交给客服小王"), "{transcript}");
    let mine = messages
        .iter()
        .find(|(chat, t)| chat.starts_with("私聊") && t.starts_with("您的工单"))
        .map(|(_, t)| t.clone())
        .expect("the owner's list");
    for line in mine.lines().skip(1) {
        assert!(line.matches("客服小").count() <= 1, "a name twice: {line}");
    }
}

/// `guanjia report` over what a console morning left in the database: the figures
/// a manager reads, in each format, the HTML one self-contained.
#[test]
fn the_report_counts_the_mornings_tickets_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let script = "\
3栋2单元501 厨房水管漏水了
楼道灯坏了
:group 5栋
5栋电梯坏了
@staff /claim 1
@staff /done 1 换了阀门
:press rate:1:1:5
@staff /claim 2
:quit
";
    let out = guanjia_in(dir.path(), &["console"], script.as_bytes());
    assert!(out.status.success());
    let md = guanjia_in(dir.path(), &["report"], b"");
    let md = String::from_utf8_lossy(&md.stdout).to_string();
    assert!(md.contains("| 工单总数 | 3 |"), "{md}");
    assert!(md.contains("5.00 星(1 条"), "{md}");
    assert!(md.contains("| 客服小李 | 2 | 1 |"), "{md}");
    assert!(md.contains("| 电梯 | 1 |"), "categories by name: {md}");

    let json = guanjia_in(dir.path(), &["report", "--format", "json"], b"");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["tickets"], 3);
    assert_eq!(v["by_building"]["3"], 2);
    assert_eq!(v["claimed_in_time"]["part"], 2);

    let file = dir.path().join("week.html");
    let html = guanjia_in(
        dir.path(),
        &["report", "--format", "html", "-o", file.to_str().unwrap()],
        b"",
    );
    assert!(
        html.status.success(),
        "{}",
        String::from_utf8_lossy(&html.stderr)
    );
    let page = std::fs::read_to_string(&file).unwrap();
    assert!(page.starts_with("<!doctype html>") && page.matches("<svg").count() >= 3);
    assert!(
        !page.contains("<script") && !page.contains("http"),
        "self-contained"
    );
    // Never overwrites.
    let again = guanjia_in(
        dir.path(),
        &["report", "--format", "html", "-o", file.to_str().unwrap()],
        b"",
    );
    assert!(!again.status.success());
    let csv = guanjia_in(dir.path(), &["report", "--format", "csv"], b"");
    assert!(String::from_utf8_lossy(&csv.stdout).starts_with("section,key,value"));

    // Tickets with their histories, one row per event, read back as CSV.
    let events = guanjia_in(dir.path(), &["report", "--format", "events"], b"");
    assert!(events.status.success());
    let mut reader = csv::Reader::from_reader(events.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let of = |n: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| &r[0] == n)
            .map(|r| r[9].to_string())
            .collect()
    };
    assert_eq!(of("#1"), ["提交", "认领", "完成", "评价"], "{rows:?}");
    assert_eq!(of("#2"), ["提交", "认领"]);
    let done = rows
        .iter()
        .find(|r| &r[0] == "#1" && &r[9] == "完成")
        .unwrap();
    assert_eq!((&done[10], &done[11]), ("客服小李", "换了阀门"));
    assert_eq!(&done[6], "已关闭", "the ticket's state now");
    let all = String::from_utf8_lossy(&events.stdout).to_string();
    assert!(
        !all.contains("501") && !all.contains("厨房水管"),
        "no rooms and no owners' words in an export: {all}"
    );
}

/// `guanjia report --estate`: a morning of a single-estate desk, then the same
/// database with its estate declared: the report of that estate counts what was
/// there before, and an estate the config does not declare is named and refused.
#[test]
fn the_report_of_one_estate_counts_its_tickets_and_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().unwrap();
    let morning = "3栋2单元501 厨房水管漏水了\n楼道灯坏了\n:quit\n";
    assert!(
        guanjia_in(dir.path(), &["console"], morning.as_bytes())
            .status
            .success()
    );
    std::fs::write(
        dir.path().join("guanjia.toml"),
        "[[estate]]\nname = \"翠湖苑\"\n[[estate]]\nname = \"金桂园\"\n",
    )
    .unwrap();
    // The next start hands the implicit estate's tickets to the first estate.
    let console = guanjia_in(dir.path(), &["console"], b":quit\n");
    assert!(
        console.status.success(),
        "{}",
        String::from_utf8_lossy(&console.stderr)
    );
    let json = |estate: &str| {
        let out = guanjia_in(
            dir.path(),
            &["report", "--format", "json", "--estate", estate],
            b"",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(json("翠湖苑")["tickets"], 2);
    assert_eq!(json("金桂园")["tickets"], 0);
    let unknown = guanjia_in(dir.path(), &["report", "--estate", "银杏苑"], b"");
    assert!(!unknown.status.success());
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("银杏苑") && err.contains("翠湖苑"), "{err}");
}
