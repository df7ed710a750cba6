//! Builds the shipped `intents/*.toml`, the Traditional Chinese catalogue
//! `intents/zh-Hant/*.toml` and the labelled examples
//! `intents/examples/*.jsonl` into the binary (see `src/domain/builtin.rs`), so
//! `guanjia` runs, model included, with no files beside it. The lists are
//! generated rather than written by hand so a file added to `intents/` can
//! never be left out.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let intents = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
    embed(
        &intents,
        "toml",
        &Path::new(&out_dir).join("builtin_intents.rs"),
    );
    embed(
        &intents.join("zh-Hant"),
        "toml",
        &Path::new(&out_dir).join("builtin_zh_hant.rs"),
    );
    embed(
        &intents.join("examples"),
        "jsonl",
        &Path::new(&out_dir).join("builtin_examples.rs"),
    );
}

/// Writes `&[(file name, include_str!(path)), …]` for every `*.{ext}` in `dir`,
/// in file-name order.
fn embed(dir: &Path, ext: &str, target: &Path) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} is part of the source tree: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext) && p.is_file())
        .collect();
    files.sort();
    let mut out = String::from("&[\n");
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 file names");
        println!("cargo:rerun-if-changed={}", path.display());
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    out.push(']');
    std::fs::write(target, out).expect("OUT_DIR is writable");
}
