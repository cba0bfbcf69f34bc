//! `brine-key`: a thin entry point over `brine_master::cli::key`.

fn main() {
    std::process::exit(brine_master::cli::key::main());
}
