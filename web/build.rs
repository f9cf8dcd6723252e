//! Embeds `templates/` (minijinja-embed) and `assets/` into the binary, so
//! the web front ends need no files beside it and load nothing from a CDN.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    minijinja_embed::embed_templates!("templates");

    // Every file under assets/, served at /assets/<name>.
    // Read when the script runs, not when it was compiled: a build script
    // binary can be reused for a checkout at another path (two worktrees
    // sharing one target directory), which must embed its own files.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir).join("assets");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("web/assets exists")
        .map(|e| e.expect("readable assets dir").path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    let mut out = String::from("pub(crate) static ASSETS: &[(&str, &[u8])] = &[\n");
    for p in names {
        println!("cargo:rerun-if-changed={}", p.display());
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        writeln!(
            out,
            "    ({name:?}, include_bytes!({:?})),",
            p.display().to_string()
        )
        .unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("assets.rs");
    std::fs::write(dest, out).expect("writing assets.rs");
}
