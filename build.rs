//! Names each file in `assets/` by its content (`app.css` is served as
//! `app.<hash>.css`, `console/app.js` as `console-app.<hash>.js`), so a
//! browser may keep it for a year and still gets the new one the moment it
//! changes. Files in a folder belong to one set of pages (the console's);
//! the residents' are at the top. Writes `$OUT_DIR/assets.rs`, which
//! `src/residents/assets.rs` includes; the bytes are embedded with
//! `include_bytes!`, so the binary needs no files beside it.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not when it was compiled: a build script
    // compiled for one checkout (a target folder copied from another
    // worktree) must still read this checkout's files.
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        panic!("cargo sets CARGO_MANIFEST_DIR for build scripts");
    };
    let dir = Path::new(&manifest_dir).join("assets");
    let mut files = Vec::new();
    collect(&dir, &mut files);
    files.sort();
    let mut out = String::from("pub static ASSETS: &[Asset] = &[\n");
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let Ok(bytes) = std::fs::read(&path) else {
            panic!("cannot read {}", path.display());
        };
        let name = path
            .strip_prefix(&dir)
            .ok()
            .and_then(|name| name.to_str())
            .unwrap_or_else(|| panic!("{} has no UTF-8 name", path.display()))
            .replace(std::path::MAIN_SEPARATOR, "/");
        let (stem, extension) = name.rsplit_once('.').unwrap_or((&name, ""));
        let hashed = format!(
            "{}.{:016x}.{extension}",
            stem.replace('/', "-"),
            fnv1a(&bytes)
        );
        let _ = writeln!(
            out,
            "    Asset {{ name: {name:?}, hashed: {hashed:?}, bytes: include_bytes!({:?}) }},",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let Ok(out_dir) = std::env::var("OUT_DIR") else {
        panic!("cargo sets OUT_DIR for build scripts");
    };
    if let Err(error) = std::fs::write(Path::new(&out_dir).join("assets.rs"), out) {
        panic!("cannot write the asset list: {error}");
    }
}

/// Every file under `dir`, in folders too.
fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(Result::ok).map(|entry| entry.path()) {
        if path.is_dir() {
            collect(&path, files);
        } else if path.is_file() {
            files.push(path);
        }
    }
}

/// FNV-1a, 64 bits: enough to tell one version of a file from the next.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
