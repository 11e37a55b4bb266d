//! Usage errors as one line: clap's own rendering runs to several lines (the error, a tip, the
//! usage, a pointer to `--help`); the command's contract is one line on stderr and exit 2.
//! `--help` and `--version` still print in full and exit 0.

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, Parser};

use super::{Cli, Failure};

/// Parses the process's arguments; a usage error comes back as one line.
pub(crate) fn parse() -> Result<Cli, Failure> {
    Cli::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
        _ => Failure::usage(one_line(&e)),
    })
}

/// The error's first line (without clap's `error: `), then what clap offered on later lines:
/// the valid values and the closest spelling.
fn one_line(e: &clap::Error) -> String {
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        || e.kind() == ErrorKind::MissingSubcommand
    {
        let names: Vec<String> = Cli::command()
            .get_subcommands()
            .filter(|c| c.get_name() != "help")
            .map(|c| c.get_name().to_string())
            .collect();
        return format!(
            "a command is needed: one of {} (`ringflow --help` describes them)",
            names.join(", ")
        );
    }
    if let Some(line) = negative_value(e) {
        return line;
    }
    let strings = |kind| match e.get(kind) {
        Some(ContextValue::Strings(v)) if !v.is_empty() => Some(v.join(", ")),
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    if e.kind() == ErrorKind::MissingRequiredArgument {
        // clap names the missing arguments on the lines after its first.
        if let Some(missing) = strings(ContextKind::InvalidArg) {
            return format!("missing {missing} (see `--help`)");
        }
    }
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid usage").trim();
    let mut line = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if let Some(valid) = strings(ContextKind::ValidValue) {
        line.push_str(&format!(" (one of: {valid})"));
    }
    for kind in [
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedValue,
    ] {
        if let Some(s) = strings(kind) {
            line.push_str(&format!("; did you mean {s}?"));
        }
    }
    line
}

/// clap reads a negative number after a flag that takes a value as a flag of its own and says
/// "unexpected argument '-1' found", naming neither the flag nor what it takes: the flag it was
/// meant for, found in the process's arguments, is named instead ("--frames -1: must not be
/// negative"). Flags that take negative values (`--level`) accept them and never get here.
fn negative_value(e: &clap::Error) -> Option<String> {
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    // clap names the first short flag it saw in the word ("-0" of "-0.5").
    let args: Vec<String> = std::env::args().collect();
    let at = args
        .iter()
        .position(|a| a.starts_with(arg.as_str()) && a.parse::<f64>().is_ok())?;
    let (flag, arg) = (args[..at].last()?.strip_prefix("--")?, &args[at]);
    let cli = Cli::command();
    let takes_value = cli
        .get_subcommands()
        .flat_map(|c| c.get_arguments())
        .any(|a| a.get_long() == Some(flag) && a.get_action().takes_values());
    takes_value.then(|| format!("--{flag} {arg}: must not be negative"))
}
