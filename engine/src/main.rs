//! `ringflow`: create, feed, read, inspect and measure rings.
//!
//! Exit status: 0 success; 1 the job failed (verification failed, producer gone before N frames,
//! timeout, a task failed); 2 bad usage or bad input (unknown flag, corrupt or foreign file,
//! sizes out of range), with one line on stderr.

mod cli;

use std::process::ExitCode;

use cli::Command;

fn main() -> ExitCode {
    let result = cli::usage::parse().and_then(|cli| match cli.command {
        Command::Create(a) => cli::create::create(a),
        Command::Produce(a) => cli::produce::produce(a),
        Command::Consume(a) => cli::consume::consume(a),
        Command::Inspect(a) => cli::inspect::inspect(a),
        Command::List(a) => cli::list::list(a),
        Command::Rm(a) => cli::rm::rm(a),
        Command::Bench(a) => cli::bench::bench(a),
        Command::Demo(a) => cli::demo::demo(a),
        Command::Bridge(b) => Ok(ringflow_engine::bridge::cli::run(b)),
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("ringflow: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}
