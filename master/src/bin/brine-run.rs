//! `brine-run`: a thin entry point over `brine_master::cli::run`.

fn main() {
    std::process::exit(brine_master::cli::run::main());
}
