//! `dacapo`: generate, verify and run the DaCapo continuous-learning accelerator.

mod activity;
mod asic_cmd;
mod cleanup;
mod demo;
mod fpga_cmd;
mod mx_cmd;
mod profile_cmd;
mod results_cmd;
mod rtl_cmd;
mod run_cmd;
mod sim_cmd;
mod sim_gemm;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "dacapo",
    version,
    about = "Generate, verify and run the DaCapo continuous-learning accelerator"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The bit-exact MX golden model, on numpy .npy files.
    #[command(subcommand)]
    Mx(mx_cmd::MxCommand),
    /// Show what MX9, MX6 and MX4 cost in accuracy on a random GEMM, and how fast the
    /// golden model runs it.
    Demo(demo::DemoArgs),
    /// Write the generated Verilog and its config.json (what `make rtl` runs).
    Rtl(rtl_cmd::RtlArgs),
    /// Lint, check and synthesize every generated design; write the resource report.
    Synth(rtl_cmd::SynthArgs),
    /// ASIC timing: map to the OSU 0.18 um cells, time with OpenSTA, write reports/asic.md.
    Asic(asic_cmd::AsicArgs),
    /// FPGA place and route: ECP5-85F speed 8 with YoWASP Yosys and nextpnr, write
    /// reports/fpga.md.
    Fpga(fpga_cmd::FpgaArgs),
    /// Run test vectors through the simulated RTL (Verilator).
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
    /// Seconds per iteration of every network kernel on every part size (the latency table
    /// the allocation algorithm reads), or one entry.
    Profile(profile_cmd::ProfileArgs),
    /// Train the teacher (every condition) and the student (clear daylight) the runs start
    /// from, and cache them.
    Pretrain(run_cmd::PretrainArgs),
    /// Play the drifting stream under allocation policies: summary, timeline, plots.
    Run(run_cmd::RunArgs),
    /// Replay one window of DaCapo-Spatiotemporal with every kernel on the Verilator chip and
    /// check it against the golden model, bit for bit.
    RunRtl(run_cmd::RunRtlArgs),
    /// The seed study behind the README's results: several seeds and stream takes of every
    /// policy and of the ablations, each run's summary and one table of means and spreads.
    Results(results_cmd::ResultsArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap's first paragraph names the problem (and the allowed values); the usage
            // and help hint after it are left out so the error stays one line.
            let rendered = e.render().to_string();
            let problem: Vec<&str> = rendered.lines().map(str::trim).take_while(|l| !l.is_empty()).collect();
            eprintln!("{}", problem.join(" "));
            return ExitCode::from(2);
        }
    };
    if let Err(e) = cleanup::install() {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Mx(command) => mx_cmd::run(command).map(|()| true),
        Command::Demo(args) => demo::run(args).map(|()| true),
        Command::Rtl(args) => rtl_cmd::rtl(args).map(|()| true),
        Command::Synth(args) => rtl_cmd::synth(args).map(|()| true),
        Command::Asic(args) => asic_cmd::asic(args),
        Command::Fpga(args) => fpga_cmd::fpga(args),
        Command::Sim(command) => sim_cmd::run(command),
        Command::Profile(args) => profile_cmd::run(args).map(|()| true),
        Command::Pretrain(args) => run_cmd::pretrain_cmd(args).map(|()| true),
        Command::Run(args) => run_cmd::run_cmd(args).map(|()| true),
        Command::RunRtl(args) => run_cmd::run_rtl_cmd(args),
        Command::Results(args) => results_cmd::results_cmd(args).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        // Checks ran and found mismatches: they are printed; the status says so.
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
