//! The emitted Verilog of every module at its default parameters, as reviewed snapshots: a
//! change to the generated RTL shows up as a diff in review.

#[test]
fn generated_verilog() {
    for design in hdlgen::designs().into_iter().chain(hdlgen::baseline_designs()) {
        for module in design.modules() {
            insta::assert_snapshot!(module.name(), module.to_verilog());
        }
    }
}

#[test]
fn datapath_config() {
    insta::assert_snapshot!("config.json", hdlgen::DatapathConfig::current().to_json());
}
