//! brine-call: the `salt-call` equivalent.
fn main() {
    eprintln!("brine-call: not implemented yet");
    std::process::exit(1);
}
