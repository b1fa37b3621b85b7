//! Builds the simulated tops: hdlgen writes the Verilog (so the RTL and its generator never
//! drift), Verilator turns it into C++, `cc` compiles that with the Verilator runtime and a
//! small C shim per top, and bindgen binds the shim's header. Each top's build directory is
//! keyed by a hash of everything that goes into it, so a changed generator rebuilds exactly
//! what changed and two configurations never share a stale model.

mod shim;

use std::collections::hash_map::DefaultHasher;
use std::env;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

use hdlgen::Module;

/// The oldest Verilator whose runtime and generated code this build knows.
const MIN_VERILATOR: (u32, u32) = (5, 6);

/// The C++ optimization level of the models and the runtime: -O2 runs arrays about 3x faster
/// than Verilator's default -Os, and -O3 the small preset 12-16 % faster again than -O2
/// (`dacapo sim bench --preset small`); `-march=native` would add 2 % more and is left out, so
/// a model's code does not depend on the machine that built it.
const OPT_LEVEL: u32 = 3;
/// Other C++ flags; tracing is compiled in and switched on per model at run time.
const CXX_FLAGS: &[&str] = &["-std=c++17", "-faligned-new", "-fno-strict-aliasing"];
const DEFINES: &[(&str, &str)] =
    &[("VM_TRACE", "1"), ("VM_TRACE_VCD", "1"), ("VM_COVERAGE", "0"), ("VM_SC", "0")];
const VERILATOR_FLAGS: &[&str] =
    &["--cc", "-O3", "--x-assign", "fast", "--x-initial", "fast", "--trace", "-Wno-fatal"];
/// For the accelerator tops: modules out of line and the model in one file. With the DPE's
/// data inputs public (`dpe_config`), Verilator keeps them as the DPE's own variables and
/// writes the same code for every DPE instance, which the C++ compiler folds into one function
/// (identical code folding), so 256 DPEs share one copy in the instruction cache; inlined, the
/// 16 x 16 preset is over 100 MB of C++ that takes the compiler over ten minutes. Gate
/// optimization stays on, so every instance's clock and reset are the top's and the whole
/// array has one trigger. (With `-fno-gate`, which kept the ports before, each instance had
/// its own copies of `clk_i` and `rst_ni` and its own trigger, and scheduling 388 triggers
/// took a third of the time.) Out of line this way, every preset simulates faster than
/// inlined whole, the small ones too (`dacapo sim bench`; README, "Performance").
const ACCEL_FLAGS: &[&str] = &["-fno-inline", "--output-split", "0"];

fn main() {
    println!("cargo:rerun-if-changed=build");
    let (version, root) = verilator();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let include = root.join("include");

    let accel = hdlgen::PRESETS.iter().map(|p| {
        let design = hdlgen::accel_design(p.config);
        let config = dpe_config(&design, &p.config.array().dpe.module_name());
        (design, Build { flags: ACCEL_FLAGS, config })
    });
    let tops: Vec<(hdlgen::Design, Build)> = hdlgen::designs()
        .into_iter()
        .chain(hdlgen::baseline_designs())
        .map(|d| (d, Build { flags: &[], config: String::new() }))
        .chain(accel)
        .collect();
    let mut header = String::from(shim::HEADER_PRELUDE);
    let mut wrappers = String::new();
    let cache = model_cache(&out);
    for (top, build) in &tops {
        build_top(top, build, &version, &include, &cache);
        header += &shim::c_header(&top.top);
        wrappers += &shim::rust_wrapper(&top.top);
    }
    // The runtime links after the models that use it.
    build_runtime(&version, &include, &cache);
    println!("cargo:rustc-link-lib=stdc++");
    println!("cargo:rustc-link-lib=pthread");

    let header_path = out.join("shim.h");
    write_if_changed(&header_path, &header);
    bindgen::Builder::default()
        .header(header_path.to_string_lossy())
        .allowlist_function(".*_model_.*")
        .allowlist_type(".*_model")
        .generate()
        .unwrap_or_else(|e| fail(&format!("bindgen could not bind the shim header: {e}")))
        .write_to_file(out.join("bindings.rs"))
        .unwrap_or_else(|e| fail(&format!("cannot write the bindings: {e}")));
    write_if_changed(&out.join("models.rs"), &wrappers);
}

/// How one top is verilated: flags beyond `VERILATOR_FLAGS`, and the text of a Verilator
/// configuration file (none if empty).
struct Build {
    flags: &'static [&'static str],
    config: String,
}

/// A Verilator configuration that makes the DPE's inputs other than its clock and reset
/// public, so that they stay the DPE's own variables (see `ACCEL_FLAGS`).
fn dpe_config(design: &hdlgen::Design, dpe: &str) -> String {
    let module = design
        .modules()
        .find(|m| m.name() == dpe)
        .unwrap_or_else(|| fail(&format!("the accelerator design has no module {dpe}")));
    let mut config = String::from("`verilator_config\n");
    for port in module.ports() {
        if port.dir == hdlgen::verilog::Dir::Input && port.name != "clk_i" && port.name != "rst_ni" {
            config += &format!("public -module \"{dpe}\" -var \"{}\"\n", port.name);
        }
    }
    config
}

/// One line naming the problem and the fix, then a failed build.
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    exit(1);
}

/// Verilator's version line and root folder, or a failed build that says how to install it.
fn verilator() -> (String, PathBuf) {
    let run =
        |args: &[&str]| Command::new("verilator").args(args).output().ok().filter(|o| o.status.success());
    let Some(version) = run(&["--version"]) else {
        fail("verilator not found; run scripts/install-deps.sh");
    };
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let number = version.split_whitespace().nth(1).unwrap_or("");
    let mut parts = number.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if found < MIN_VERILATOR {
        fail(&format!(
            "verilator {number} is too old (need {}.{:03} or newer); run scripts/install-deps.sh",
            MIN_VERILATOR.0, MIN_VERILATOR.1
        ));
    }
    let root = run(&["--getenv", "VERILATOR_ROOT"])
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_else(|| fail("verilator does not report its VERILATOR_ROOT; run scripts/install-deps.sh"));
    (version, root)
}

fn key(parts: &[&str]) -> String {
    let mut h = DefaultHasher::new();
    parts.hash(&mut h);
    OPT_LEVEL.hash(&mut h);
    CXX_FLAGS.hash(&mut h);
    DEFINES.hash(&mut h);
    VERILATOR_FLAGS.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Where the compiled models live: `<target>/verilator/`, shared by every profile and by
/// clippy's build of this script (each has its own OUT_DIR, so models kept there compiled
/// twice in `make test`). The models take the same C++ flags in every profile, and each
/// folder is keyed by everything that goes into it. Falls back to OUT_DIR for a layout other
/// than cargo's `<target>/<profile>/build/<crate>-<hash>/out`.
fn model_cache(out: &Path) -> PathBuf {
    let target =
        out.ancestors().nth(4).filter(|_| out.ancestors().nth(2).is_some_and(|b| b.ends_with("build")));
    target.map_or_else(|| out.to_path_buf(), |t| t.join("verilator"))
}

/// Builds a model folder with `build` unless it is there already, then links its library.
/// The folder is built under a temporary name and renamed into place, so a build that is
/// interrupted, or another cargo process building the same folder, never leaves half of one.
fn cached(dir: &Path, lib: &str, build: impl FnOnce(&Path)) {
    if !dir.join(format!("lib{lib}.a")).exists() {
        let staging = dir.with_extension(format!("partial-{}", std::process::id()));
        let _ = fs::remove_dir_all(&staging);
        fs::create_dir_all(&staging)
            .unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", staging.display())));
        build(&staging);
        if fs::rename(&staging, dir).is_err() {
            // Another build put the same folder in place first.
            let _ = fs::remove_dir_all(&staging);
            if !dir.join(format!("lib{lib}.a")).exists() {
                fail(&format!("cannot move the model into {}", dir.display()));
            }
        }
    }
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=static={lib}");
}

/// Compiles `sources` into `dir/lib{name}.a`.
fn compile(name: &str, dir: &Path, include: &Path, extra_include: Option<&Path>, sources: &[PathBuf]) {
    let mut build = cc::Build::new();
    build
        .cpp(true)
        .cpp_link_stdlib(None)
        .cargo_metadata(false)
        .opt_level(OPT_LEVEL)
        .debug(false)
        .warnings(false)
        .out_dir(dir)
        .include(include)
        .include(include.join("vltstd"))
        .files(sources);
    if let Some(extra) = extra_include {
        build.include(extra);
    }
    for flag in CXX_FLAGS {
        build.flag(flag);
    }
    for (name, value) in DEFINES {
        build.define(name, *value);
    }
    build.compile(name);
}

/// The Verilator runtime: Verilator 5.006 ships no library of it, so each build compiles it.
fn build_runtime(version: &str, include: &Path, cache: &Path) {
    let dir = cache.join(format!("verilated-{}", key(&[version])));
    let sources: Vec<PathBuf> = ["verilated.cpp", "verilated_threads.cpp", "verilated_vcd_c.cpp"]
        .iter()
        .map(|f| include.join(f))
        .collect();
    cached(&dir, "verilated", |staging| compile("verilated", staging, include, None, &sources));
}

/// Verilates one top as `build` says and compiles its model and shim.
fn build_top(top: &hdlgen::Design, build: &Build, version: &str, include: &Path, cache: &Path) {
    let name = top.top.name();
    let verilog: Vec<String> = top.modules().map(Module::to_verilog).collect();
    let shim_cpp = shim::cpp(&top.top);
    let mut parts: Vec<&str> = verilog.iter().map(String::as_str).collect();
    parts.extend([shim_cpp.as_str(), version, build.config.as_str()]);
    parts.extend(build.flags);
    let dir = cache.join(format!("{name}-{}", key(&parts)));
    cached(&dir, name, |staging| {
        let rtl = staging.join("rtl");
        fs::create_dir_all(&rtl).unwrap_or_else(|e| fail(&format!("cannot create {}: {e}", rtl.display())));
        let files: Vec<PathBuf> = top
            .modules()
            .map(|m| {
                let path = rtl.join(format!("{}.sv", m.name()));
                write_if_changed(&path, &m.to_verilog());
                path
            })
            .collect();
        // A configuration file goes before the Verilog it applies to.
        let mut inputs = Vec::new();
        if !build.config.is_empty() {
            let config = staging.join("config.vlt");
            write_if_changed(&config, &build.config);
            inputs.push(config);
        }
        inputs.extend(files);
        let mdir = staging.join("obj");
        let status = Command::new("verilator")
            .args(VERILATOR_FLAGS)
            .args(build.flags)
            .args(["--top-module", name, "--prefix", &format!("V{name}"), "--Mdir"])
            .arg(&mdir)
            .args(&inputs)
            .status()
            .unwrap_or_else(|e| fail(&format!("cannot run verilator: {e}; run scripts/install-deps.sh")));
        if !status.success() {
            fail(&format!("verilator rejected the generated {name}; see its messages above"));
        }
        let shim_path = staging.join(format!("{name}_shim.cpp"));
        write_if_changed(&shim_path, &shim_cpp);
        let mut sources: Vec<PathBuf> = fs::read_dir(&mdir)
            .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", mdir.display())))
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
            .collect();
        sources.sort();
        sources.push(shim_path);
        compile(name, staging, include, Some(&mdir), &sources);
    });
}

fn write_if_changed(path: &Path, text: &str) {
    if fs::read_to_string(path).ok().as_deref() != Some(text) {
        fs::write(path, text).unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", path.display())));
    }
}
