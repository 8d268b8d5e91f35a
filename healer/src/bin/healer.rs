//! The `healer` binary: everything lives in the library (`healer::serve`); see `healer --help`.

fn main() {
    std::process::exit(healer::serve::cli::main());
}
