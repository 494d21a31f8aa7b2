use clap::Parser;

// mimalloc rather than glibc's allocator: a render or audit allocates many
// small, short-lived values; with glibc's per-thread arenas a render took
// three times the page faults and audit a third more CPU (measured for #12).
// Built with `no_thp`: transparent huge pages doubled audit's RSS.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Unwrapped lines keep each message greppable in CI logs.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    let cli = secure_mattermost::cli::Cli::parse();
    let code = match secure_mattermost::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let code = err.exit_code();
            secure_mattermost::output::stderr(&format!("{:?}", miette::Report::new(err)));
            code
        }
    };
    std::process::exit(code);
}
