//! The `mfpde` binary: parse the command line, run, exit non-zero on error.

use clap::Parser;

fn main() {
    let cli = mfpde::cli::Cli::parse();
    if let Err(e) = mfpde::cli::run(cli) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
}
