//! The rule, FAQ and template files of `intents/` and the labelled examples of
//! `intents/examples/` as they were when this binary was built. They are used
//! when no rule directory is configured and none sits beside the config file,
//! so `guanjia` works (its model trained from these examples) with no files at
//! all, and `guanjia init` writes them out as an editable copy.

/// `(file name, contents)` for every `intents/*.toml`, in file-name order.
pub const FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_intents.rs"));

/// `(file name, contents)` for every `intents/zh-Hant/*.toml`: the wording in
/// Traditional Chinese (`[desk] locale = "zh-Hant"`).
pub const ZH_HANT: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_zh_hant.rs"));

/// Where a locale's catalogue sits under `intents/`, for `guanjia init` and a
/// configured rules directory.
pub fn templates_path(locale: &str) -> &'static str {
    match locale {
        "zh-Hant" => "zh-Hant/templates.toml",
        _ => TEMPLATES,
    }
}

/// `(file name, contents)` for every `intents/examples/*.jsonl`, in file-name
/// order: the labelled messages the model is trained on.
pub const EXAMPLES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_examples.rs"));

/// The bot's wording; it lives beside the rules but is not one.
pub const TEMPLATES: &str = "templates.toml";

/// The rule and FAQ files, for [`Classifier::from_files`](super::Classifier::from_files).
pub fn rule_files() -> Vec<(&'static str, &'static str)> {
    FILES
        .iter()
        .copied()
        .filter(|(name, _)| *name != TEMPLATES)
        .collect()
}

/// The built-in `templates.toml`.
pub fn templates() -> &'static str {
    templates_for("zh-Hans").1
}

/// The built-in catalogue of `locale` and its path under `intents/`.
pub fn templates_for(locale: &str) -> (&'static str, &'static str) {
    let files = if locale == "zh-Hant" { ZH_HANT } else { FILES };
    let text = files
        .iter()
        .find(|(name, _)| *name == TEMPLATES)
        .map(|(_, text)| *text)
        .unwrap_or("");
    (templates_path(locale), text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shipped_file_is_built_in_with_its_contents() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let built: Vec<&str> = super::FILES.iter().map(|(n, _)| *n).collect();
        assert_eq!(built, on_disk);
        for (name, text) in super::FILES {
            assert_eq!(*text, std::fs::read_to_string(dir.join(name)).unwrap());
        }
        assert!(super::rule_files().iter().any(|(n, _)| *n == "faq.toml"));
        let examples = dir.join("examples");
        let mut on_disk: Vec<String> = std::fs::read_dir(&examples)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".jsonl"))
            .collect();
        on_disk.sort();
        let built: Vec<&str> = super::EXAMPLES.iter().map(|(n, _)| *n).collect();
        assert_eq!(built, on_disk);
        for (name, text) in super::EXAMPLES {
            assert_eq!(*text, std::fs::read_to_string(examples.join(name)).unwrap());
        }
        assert!(super::templates().contains("[messages]"));
        let hant = dir.join("zh-Hant/templates.toml");
        assert_eq!(
            super::templates_for("zh-Hant").1,
            std::fs::read_to_string(hant).unwrap()
        );
    }
}
