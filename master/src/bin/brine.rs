//! `brine`: a thin entry point over `brine_master::cli::salt`.

fn main() {
    std::process::exit(brine_master::cli::salt::main());
}
