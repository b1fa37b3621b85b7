//! rtl/ holds exactly what the generator makes: a change to hdlgen without `make rtl` fails.

use std::fs;
use std::path::Path;

#[test]
fn rtl_folder_matches_the_generator() {
    let rtl = Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl");
    let files = hdlgen::rtl_files();
    for (name, text) in &files {
        let on_disk = fs::read_to_string(rtl.join(name)).unwrap_or_default();
        assert!(on_disk == *text, "rtl/{name} is stale or missing: run `make rtl`");
    }
    let folders = hdlgen::PRESETS.iter().map(|p| p.name).chain([hdlgen::RTL_COMMON]);
    for folder in folders {
        for entry in fs::read_dir(rtl.join(folder)).unwrap() {
            let name = format!("{folder}/{}", entry.unwrap().file_name().to_string_lossy());
            assert!(
                files.iter().any(|(n, _)| *n == name),
                "rtl/{name} is no longer generated: run `make rtl`"
            );
        }
    }
    for entry in fs::read_dir(&rtl).unwrap() {
        let path = entry.unwrap().path();
        let generated = fs::read_to_string(&path).is_ok_and(|t| t.starts_with(hdlgen::GENERATED_HEADER));
        assert!(!generated, "{} is no longer generated: run `make rtl`", path.display());
    }
}
