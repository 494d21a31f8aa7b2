use clap::Parser;

fn main() {
    let cli = secure_mattermost::cli::Cli::parse();
    let code = match secure_mattermost::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let code = err.exit_code();
            eprintln!("{:?}", miette::Report::new(err));
            code
        }
    };
    std::process::exit(code);
}
