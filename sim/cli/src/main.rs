//! `hwbkpt-sim`: explore hardware breakpoint semantics on simulated x86-64 and PowerPC 64
//! CPUs. See `sim/cli/README.md`, or run `hwbkpt-sim demo`.

fn main() -> std::process::ExitCode {
    hwbkpt_sim_cli::cli::main()
}
