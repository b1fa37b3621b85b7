//! rtl/ holds exactly what the generator makes: a change to hdlgen without `make rtl` fails.

use std::fs;
use std::path::Path;

#[test]
fn rtl_folder_matches_the_generator() {
    let rtl = Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl");
    for (name, text) in hdlgen::rtl_files() {
        let on_disk = fs::read_to_string(rtl.join(&name)).unwrap_or_default();
        assert!(on_disk == text, "rtl/{name} is stale or missing: run `make rtl`");
    }
    for entry in fs::read_dir(&rtl).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".sv") {
            assert!(
                hdlgen::rtl_files().iter().any(|(n, _)| *n == name),
                "rtl/{name} is no longer generated: run `make rtl`"
            );
        }
    }
}
