//! `[[estate]]`: several estates (小区) served by one desk. Each has its own
//! building groups and, if it wants, its own staff group; '1栋' of one estate is
//! not '1栋' of another. A config without `[[estate]]` has one implicit estate
//! whose name is empty, so configs and databases from before keep working.

use serde::Deserialize;

use super::{BuildingConfig, ConfigError, Settings};

/// Characters an estate's name may not hold: they separate it from building
/// names in a broadcast's targets (`翠湖苑:1栋,3栋`).
const RESERVED: [char; 8] = [':', '\u{ff1a}', ',', '\u{ff0c}', '、', ';', '\u{ff1b}', ' '];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EstateConfig {
    /// How staff name it (`翠湖苑`); the key stored with its groups and tickets.
    pub name: String,
    /// Its staff group; unset: the desk's (`[desk] staff_chat` or
    /// `/set_staff_group`). One staff group may serve several estates.
    #[serde(default)]
    pub staff_chat: Option<i64>,
    /// Staff (user ids) who serve this estate only: in a private chat with the
    /// bot they see and act on this estate's tickets, notices and figures, not
    /// the others'. `[desk] staff` and `admins` serve every estate. A person
    /// listed under several estates serves those.
    #[serde(default)]
    pub staff: Vec<i64>,
}

impl Settings {
    /// The estate a `[[building]]` belongs to: its own `estate`, else the only
    /// (first) one, else the implicit estate `""`.
    pub fn estate_of(&self, b: &BuildingConfig) -> String {
        match &b.estate {
            Some(e) => e.trim().to_string(),
            None => self
                .estate
                .first()
                .map(|e| e.name.trim().to_string())
                .unwrap_or_default(),
        }
    }

    pub(super) fn validate_estates(&self) -> Result<(), ConfigError> {
        let mut names: Vec<&str> = Vec::new();
        for e in &self.estate {
            let name = e.name.trim();
            if name.is_empty() || name.chars().count() > 32 {
                return Err(ConfigError::Invalid {
                    key: "estate.name",
                    reason: format!("小区名 '{name}' 应为 1 到 32 个字"),
                });
            }
            if name.contains(RESERVED) || name.eq_ignore_ascii_case("all") {
                return Err(ConfigError::Invalid {
                    key: "estate.name",
                    reason: format!(
                        "小区名 '{name}' 不能含冒号、逗号、顿号、分号或空格,也不能是 all(它们用来在 /notice 里分开小区和楼栋)"
                    ),
                });
            }
            if names.contains(&name) {
                return Err(ConfigError::Invalid {
                    key: "estate.name",
                    reason: format!("小区名 '{name}' 出现了两次"),
                });
            }
            names.push(name);
            if let Some(id) = e.staff.iter().find(|id| **id <= 0) {
                return Err(ConfigError::Invalid {
                    key: "estate.staff",
                    reason: format!(
                        "{name} 的 staff 里 {id} 不是员工的用户 id(用户 id 是正数;员工私聊机器人发 /id 查看)"
                    ),
                });
            }
            if let Some(chat) = e.staff_chat {
                if chat >= 0 {
                    return Err(ConfigError::Invalid {
                        key: "estate.staff_chat",
                        reason: format!(
                            "{name} 的 staff_chat {chat} 不是群的 id(群的 id 是负数;在员工群里发 /id 查看)"
                        ),
                    });
                }
                if let Some(b) = self.building.iter().find(|b| b.chat == chat) {
                    return Err(ConfigError::Invalid {
                        key: "estate.staff_chat",
                        reason: format!(
                            "{name} 的 staff_chat {chat} 同时是楼栋 {} 的业主群:员工群看到的工单详情会被业主看到",
                            b.name
                        ),
                    });
                }
            }
        }
        for b in &self.building {
            match b.estate.as_deref().map(str::trim) {
                Some(e) if !names.contains(&e) => {
                    let known = if names.is_empty() {
                        "没有写任何 [[estate]]".to_string()
                    } else {
                        format!("已有的小区: {}", names.join("、"))
                    };
                    return Err(ConfigError::Invalid {
                        key: "building.estate",
                        reason: format!(
                            "楼栋 {} 的小区 '{e}' 不是 [[estate]] 之一({known})",
                            b.name
                        ),
                    });
                }
                None if names.len() > 1 => {
                    return Err(ConfigError::Invalid {
                        key: "building.estate",
                        reason: format!(
                            "有多个小区时,每个 [[building]] 都要写 estate:楼栋 {}(chat {})没有写。已有的小区: {}",
                            b.name,
                            b.chat,
                            names.join("、")
                        ),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid_key(toml: &str) -> String {
        match Settings::parse("g.toml", toml).unwrap().validate() {
            Err(ConfigError::Invalid { key, .. }) => key.to_string(),
            other => panic!("{toml}: expected an invalid key, got {other:?}"),
        }
    }

    const TWO: &str =
        "[[estate]]\nname = \"翠湖苑\"\nstaff_chat = -100\n[[estate]]\nname = \"金桂园\"\n";

    #[test]
    fn two_estates_may_each_have_a_1栋() {
        let toml = format!(
            "{TWO}[[building]]\nname = \"1栋\"\nchat = -1\nestate = \"翠湖苑\"\n[[building]]\nname = \"1栋\"\nchat = -2\nestate = \"金桂园\"\n"
        );
        let s = Settings::parse("g.toml", &toml).unwrap();
        s.validate().unwrap();
        assert_eq!(s.estate_of(&s.building[0]), "翠湖苑");
        assert_eq!(s.estate_of(&s.building[1]), "金桂园");
    }

    #[test]
    fn a_building_must_name_a_declared_estate_when_there_are_several() {
        assert_eq!(
            invalid_key(&format!("{TWO}[[building]]\nname = \"1栋\"\nchat = -1\n")),
            "building.estate"
        );
        assert_eq!(
            invalid_key(&format!(
                "{TWO}[[building]]\nname = \"1栋\"\nchat = -1\nestate = \"银杏苑\"\n"
            )),
            "building.estate"
        );
        assert_eq!(
            invalid_key("[[building]]\nname = \"1栋\"\nchat = -1\nestate = \"银杏苑\"\n"),
            "building.estate",
            "an estate named with no [[estate]] at all"
        );
    }

    #[test]
    fn one_estate_takes_every_building_and_none_keeps_the_implicit_one() {
        let one = "[[estate]]\nname = \"翠湖苑\"\n[[building]]\nname = \"1栋\"\nchat = -1\n";
        let s = Settings::parse("g.toml", one).unwrap();
        s.validate().unwrap();
        assert_eq!(s.estate_of(&s.building[0]), "翠湖苑");
        let none = "[[building]]\nname = \"1栋\"\nchat = -1\n";
        let s = Settings::parse("g.toml", none).unwrap();
        s.validate().unwrap();
        assert_eq!(s.estate_of(&s.building[0]), "");
    }

    #[test]
    fn bad_estate_names_and_staff_chats_are_named_by_their_key() {
        assert_eq!(
            invalid_key("[[estate]]\nname = \"翠湖:苑\"\n"),
            "estate.name"
        );
        assert_eq!(invalid_key("[[estate]]\nname = \" \"\n"), "estate.name");
        assert_eq!(
            invalid_key("[[estate]]\nname = \"A\"\n[[estate]]\nname = \"A\"\n"),
            "estate.name"
        );
        assert_eq!(
            invalid_key("[[estate]]\nname = \"A\"\nstaff_chat = 5\n"),
            "estate.staff_chat"
        );
        assert_eq!(
            invalid_key(
                "[[estate]]\nname = \"A\"\nstaff_chat = -1\n[[building]]\nname = \"1栋\"\nchat = -1\n"
            ),
            "estate.staff_chat"
        );
        assert_eq!(
            invalid_key("[[estate]]\nname = \"A\"\nstaff = [7001, -100200]\n"),
            "estate.staff",
            "a group's id where a person's belongs"
        );
    }
}
