//! The `sim` binary: everything lives in the library; see `sim --help`.

fn main() {
    std::process::exit(sim::cli::main());
}
