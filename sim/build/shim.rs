//! The C shim of each simulated top and its safe Rust wrapper, both generated from the
//! module's port list: flat C functions (`new`, `free`, `eval`, a setter per input, a getter
//! per output, trace open / dump / close) over Verilator's C++ class, and a Rust struct that
//! owns the model and frees it on drop. Ports up to 64 bits pass as `u64`; wider ones as
//! little-endian arrays of 32-bit words.

use std::fmt::Write;

use hdlgen::verilog::{Dir, Port};
use hdlgen::Module;

pub const HEADER_PRELUDE: &str = "#include <stdint.h>\n\n";

fn words(width: u32) -> u32 {
    width.div_ceil(32)
}

fn wide(port: &Port) -> bool {
    port.width > 64
}

pub fn c_header(m: &Module) -> String {
    let n = m.name();
    let mut h = format!(
        "typedef struct {n}_model {n}_model;\n\
         {n}_model *{n}_model_new(void);\n\
         void {n}_model_free({n}_model *m);\n\
         void {n}_model_eval({n}_model *m);\n\
         int {n}_model_trace_open({n}_model *m, const char *path);\n\
         void {n}_model_trace_dump({n}_model *m, uint64_t time);\n\
         int {n}_model_trace_close({n}_model *m);\n"
    );
    for p in m.ports() {
        let (pn, dir) = (&p.name, p.dir);
        let line = match (dir, wide(p)) {
            (Dir::Input, false) => format!("void {n}_model_set_{pn}({n}_model *m, uint64_t value);\n"),
            (Dir::Input, true) => format!("void {n}_model_set_{pn}({n}_model *m, const uint32_t *words);\n"),
            (Dir::Output, false) => format!("uint64_t {n}_model_get_{pn}(const {n}_model *m);\n"),
            (Dir::Output, true) => format!("void {n}_model_get_{pn}(const {n}_model *m, uint32_t *words);\n"),
        };
        h += &line;
    }
    h + "\n"
}

pub fn cpp(m: &Module) -> String {
    let n = m.name();
    let mut c = format!(
        "// Generated: the C shim of V{n}.\n\
         #include <cerrno>\n\
         #include <cstdint>\n\
         #include <memory>\n\
         #include <fcntl.h>\n\
         #include <unistd.h>\n\
         #include \"verilated.h\"\n\
         #include \"verilated_vcd_c.h\"\n\
         #include \"V{n}.h\"\n\n\
         // The waveform file. It keeps the first write error for trace_close to return: Verilator\n\
         // 5.006's own file reports one through its fatal-error path, which deadlocks on the\n\
         // trace's lock (a full disk hung the simulation forever).\n\
         struct {n}_vcd_file : public VerilatedVcdFile {{\n\
         \x20 int fd = -1;\n\
         \x20 int error = 0;\n\
         \x20 bool open(const std::string &name) override {{\n\
         \x20   fd = ::open(name.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0666);\n\
         \x20   if (fd < 0) error = errno;\n\
         \x20   return fd >= 0;\n\
         \x20 }}\n\
         \x20 void close() override {{\n\
         \x20   if (fd >= 0 && ::close(fd) != 0 && !error) error = errno;\n\
         \x20   fd = -1;\n\
         \x20 }}\n\
         \x20 // Always takes the whole buffer; after an error the rest is dropped.\n\
         \x20 ssize_t write(const char *buf, ssize_t len) override {{\n\
         \x20   for (ssize_t done = 0; done < len && !error;) {{\n\
         \x20     const ssize_t got = ::write(fd, buf + done, len - done);\n\
         \x20     if (got > 0) done += got;\n\
         \x20     else if (got == 0) error = ENOSPC;\n\
         \x20     else if (errno != EINTR) error = errno;\n\
         \x20   }}\n\
         \x20   return len;\n\
         \x20 }}\n\
         }};\n\n\
         struct {n}_model {{\n\
         \x20 VerilatedContext context;\n\
         \x20 std::unique_ptr<V{n}> top;\n\
         \x20 std::unique_ptr<{n}_vcd_file> file;\n\
         \x20 std::unique_ptr<VerilatedVcdC> vcd;\n\
         }};\n\n\
         extern \"C\" {{\n\
         {n}_model *{n}_model_new(void) {{\n\
         \x20 auto *m = new {n}_model;\n\
         \x20 m->context.traceEverOn(true);\n\
         \x20 m->top.reset(new V{n}(&m->context));\n\
         \x20 return m;\n\
         }}\n\
         int {n}_model_trace_close({n}_model *m) {{\n\
         \x20 if (!m->vcd) return 0;\n\
         \x20 m->vcd->close();\n\
         \x20 m->vcd.reset();\n\
         \x20 const int error = m->file->error;\n\
         \x20 m->file.reset();\n\
         \x20 return error;\n\
         }}\n\
         void {n}_model_free({n}_model *m) {{\n\
         \x20 {n}_model_trace_close(m);\n\
         \x20 m->top->final();\n\
         \x20 delete m;\n\
         }}\n\
         void {n}_model_eval({n}_model *m) {{ m->top->eval(); }}\n\
         int {n}_model_trace_open({n}_model *m, const char *path) {{\n\
         \x20 {n}_model_trace_close(m);\n\
         \x20 m->file.reset(new {n}_vcd_file);\n\
         \x20 m->vcd.reset(new VerilatedVcdC(m->file.get()));\n\
         \x20 m->top->trace(m->vcd.get(), 99);\n\
         \x20 m->vcd->open(path);\n\
         \x20 return m->vcd->isOpen() ? 1 : 0;\n\
         }}\n\
         void {n}_model_trace_dump({n}_model *m, uint64_t time) {{ if (m->vcd) m->vcd->dump(time); }}\n"
    );
    for p in m.ports() {
        let pn = &p.name;
        let k = words(p.width);
        let line = match (p.dir, wide(p)) {
            (Dir::Input, false) => format!("void {n}_model_set_{pn}({n}_model *m, uint64_t value) {{ m->top->{pn} = value; }}\n"),
            (Dir::Input, true) => format!(
                "void {n}_model_set_{pn}({n}_model *m, const uint32_t *words) {{ for (int i = 0; i < {k}; ++i) m->top->{pn}[i] = words[i]; }}\n"
            ),
            (Dir::Output, false) => format!("uint64_t {n}_model_get_{pn}(const {n}_model *m) {{ return m->top->{pn}; }}\n"),
            (Dir::Output, true) => format!(
                "void {n}_model_get_{pn}(const {n}_model *m, uint32_t *words) {{ for (int i = 0; i < {k}; ++i) words[i] = m->top->{pn}[i]; }}\n"
            ),
        };
        c += &line;
    }
    c + "}\n"
}

fn camel(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

pub fn rust_wrapper(m: &Module) -> String {
    let n = m.name();
    let ty = format!("{}Model", camel(n));
    let mut r = String::new();
    writeln!(
        r,
        "/// The Verilator model of `{n}`: owns the simulation, frees it on drop.\n\
         pub struct {ty} {{\n\
         \x20   raw: std::ptr::NonNull<ffi::{n}_model>,\n\
         \x20   time: u64,\n\
         }}\n\n\
         // SAFETY: the model has its own Verilator context and is used through &mut only.\n\
         unsafe impl Send for {ty} {{}}\n\n\
         impl Default for {ty} {{\n\
         \x20   fn default() -> Self {{\n\
         \x20       Self::new()\n\
         \x20   }}\n\
         }}\n\n\
         impl Drop for {ty} {{\n\
         \x20   fn drop(&mut self) {{\n\
         \x20       // SAFETY: raw came from _new and is freed exactly once.\n\
         \x20       unsafe {{ ffi::{n}_model_free(self.raw.as_ptr()) }}\n\
         \x20   }}\n\
         }}\n\n\
         impl {ty} {{\n\
         \x20   pub fn new() -> Self {{\n\
         \x20       // SAFETY: _new returns a fresh model or aborts.\n\
         \x20       let raw = unsafe {{ ffi::{n}_model_new() }};\n\
         \x20       Self {{ raw: std::ptr::NonNull::new(raw).expect(\"Verilator model allocation\"), time: 0 }}\n\
         \x20   }}\n\n\
         \x20   /// Settles the logic and, when tracing, records the signals at the current time.\n\
         \x20   pub fn eval(&mut self) {{\n\
         \x20       // SAFETY: raw is a live model.\n\
         \x20       unsafe {{\n\
         \x20           ffi::{n}_model_eval(self.raw.as_ptr());\n\
         \x20           ffi::{n}_model_trace_dump(self.raw.as_ptr(), self.time);\n\
         \x20       }}\n\
         \x20   }}\n\n\
         \x20   /// Moves simulated time on by `steps` trace time units.\n\
         \x20   pub fn advance(&mut self, steps: u64) {{\n\
         \x20       self.time += steps;\n\
         \x20   }}\n\n\
         \x20   pub fn time(&self) -> u64 {{\n\
         \x20       self.time\n\
         \x20   }}\n\n\
         \x20   /// Starts writing a VCD waveform to `path` (GTKWave, Surfer).\n\
         \x20   pub fn trace_to(&mut self, path: &std::path::Path) -> std::io::Result<()> {{\n\
         \x20       let c_path = std::ffi::CString::new(path.to_string_lossy().as_bytes())\n\
         \x20           .map_err(|_| std::io::Error::other(\"trace path contains a NUL byte\"))?;\n\
         \x20       // SAFETY: raw is a live model; c_path outlives the call.\n\
         \x20       let opened = unsafe {{ ffi::{n}_model_trace_open(self.raw.as_ptr(), c_path.as_ptr()) }};\n\
         \x20       if opened == 1 {{\n\
         \x20           Ok(())\n\
         \x20       }} else {{\n\
         \x20           Err(std::io::Error::other(format!(\"cannot open waveform file {{}}\", path.display())))\n\
         \x20       }}\n\
         \x20   }}\n\n\
         \x20   /// Flushes and closes the waveform file, if one is open; fails with the first error\n\
         \x20   /// that writing it met (a full disk, say).\n\
         \x20   pub fn trace_close(&mut self) -> std::io::Result<()> {{\n\
         \x20       // SAFETY: raw is a live model.\n\
         \x20       match unsafe {{ ffi::{n}_model_trace_close(self.raw.as_ptr()) }} {{\n\
         \x20           0 => Ok(()),\n\
         \x20           errno => Err(std::io::Error::from_raw_os_error(errno)),\n\
         \x20       }}\n\
         \x20   }}"
    )
    .unwrap();
    r += &if m.port("clk_i").is_some() && m.port("rst_ni").is_some() {
        "\n    /// Pulls the active-low reset down (a falling edge, so asynchronous resets fire even\n\
         \x20   /// though the model starts with the pin low) for one evaluation, then releases it.\n\
         \x20   pub fn reset(&mut self) {\n\
         \x20       self.set_rst_ni(1);\n\
         \x20       self.eval();\n\
         \x20       self.set_rst_ni(0);\n\
         \x20       self.eval();\n\
         \x20       self.set_rst_ni(1);\n\
         \x20       self.eval();\n\
         \x20   }\n\n\
         \x20   /// One clock cycle: a rising edge, then the falling edge, one trace step each.\n\
         \x20   pub fn tick(&mut self) {\n\
         \x20       self.set_clk_i(1);\n\
         \x20       self.eval();\n\
         \x20       self.advance(1);\n\
         \x20       self.set_clk_i(0);\n\
         \x20       self.eval();\n\
         \x20       self.advance(1);\n\
         \x20   }\n"
            .to_string()
    } else {
        "\n    /// Settles the combinational logic for the inputs set, one trace step.\n\
         \x20   pub fn settle(&mut self) {\n\
         \x20       self.eval();\n\
         \x20       self.advance(1);\n\
         \x20   }\n"
            .to_string()
    };
    for p in m.ports() {
        let (pn, w, k) = (&p.name, p.width, words(p.width));
        let code = match (p.dir, wide(p)) {
            (Dir::Input, false) => {
                let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
                format!(
                    "\n    /// Drives input `{pn}` ({w} bits; higher bits are dropped).\n\
                     \x20   pub fn set_{pn}(&mut self, value: u64) {{\n\
                     \x20       // SAFETY: raw is a live model.\n\
                     \x20       unsafe {{ ffi::{n}_model_set_{pn}(self.raw.as_ptr(), value & {mask:#x}) }}\n\
                     \x20   }}"
                )
            }
            (Dir::Input, true) => {
                let top_mask = if w % 32 == 0 { u32::MAX } else { (1u32 << (w % 32)) - 1 };
                format!(
                    "\n    /// Drives input `{pn}` ({w} bits) from little-endian 32-bit words.\n\
                     \x20   pub fn set_{pn}(&mut self, words: &[u32; {k}]) {{\n\
                     \x20       let mut clean = *words;\n\
                     \x20       clean[{}] &= {top_mask:#x};\n\
                     \x20       // SAFETY: raw is a live model; clean holds the {k} words the shim reads.\n\
                     \x20       unsafe {{ ffi::{n}_model_set_{pn}(self.raw.as_ptr(), clean.as_ptr()) }}\n\
                     \x20   }}",
                    k - 1
                )
            }
            (Dir::Output, false) => format!(
                "\n    /// Output `{pn}` ({w} bits).\n\
                 \x20   pub fn {pn}(&self) -> u64 {{\n\
                 \x20       // SAFETY: raw is a live model.\n\
                 \x20       unsafe {{ ffi::{n}_model_get_{pn}(self.raw.as_ptr()) }}\n\
                 \x20   }}"
            ),
            (Dir::Output, true) => format!(
                "\n    /// Output `{pn}` ({w} bits) as little-endian 32-bit words.\n\
                 \x20   pub fn {pn}(&self) -> [u32; {k}] {{\n\
                 \x20       let mut words = [0u32; {k}];\n\
                 \x20       // SAFETY: raw is a live model; words has room for the {k} words the shim writes.\n\
                 \x20       unsafe {{ ffi::{n}_model_get_{pn}(self.raw.as_ptr(), words.as_mut_ptr()) }};\n\
                 \x20       words\n\
                 \x20   }}"
            ),
        };
        r += &code;
        r.push('\n');
    }
    r + "}\n\n"
}
