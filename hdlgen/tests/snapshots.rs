//! The emitted Verilog of every module at its default parameters, as reviewed snapshots: a
//! change to the generated RTL shows up as a diff in review.

#[test]
fn generated_verilog() {
    let small = hdlgen::accel_design(hdlgen::preset("small").unwrap());
    for design in hdlgen::designs().into_iter().chain(hdlgen::baseline_designs()).chain([small]) {
        for module in design.modules() {
            insta::assert_snapshot!(module.name(), module.to_verilog());
        }
    }
}

#[test]
fn small_config() {
    let small = hdlgen::preset("small").unwrap();
    insta::assert_snapshot!("config.json", hdlgen::ConfigFile::new(small, Some("small")).to_json());
}
