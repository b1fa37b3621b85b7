fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cfg = hdlgen::preset(&args[1]).unwrap();
    let dir = std::path::Path::new(&args[2]);
    std::fs::create_dir_all(dir).unwrap();
    for m in hdlgen::accel_design(cfg).modules() {
        std::fs::write(dir.join(format!("{}.sv", m.name())), m.to_verilog()).unwrap();
    }
}
