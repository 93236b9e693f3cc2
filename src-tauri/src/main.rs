// A release build on Windows must not open a console next to the studio window.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    anchordesk_lib::cli::main()
}
