//! The `hourglass` command; everything it does lives in the library.

fn main() -> std::process::ExitCode {
    hourglass::cli::main()
}
