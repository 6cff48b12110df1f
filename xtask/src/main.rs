//! Repository chores. `cargo test -p xtask` runs the tidy checks; `cargo run -p xtask -- tidy`
//! runs them as a command.

mod tidy;

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("tidy") => match tidy::run_all() {
            Ok(()) => println!("tidy: ok"),
            Err(problems) => {
                for problem in &problems {
                    eprintln!("tidy: {problem}");
                }
                std::process::exit(1);
            }
        },
        _ => {
            eprintln!("usage: cargo run -p xtask -- tidy");
            std::process::exit(2);
        }
    }
}
