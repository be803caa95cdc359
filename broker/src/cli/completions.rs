//! `purezmq completions SHELL`: a shell completion script on stdout.

use clap::{Args, Command};
use clap_complete::Shell;

const EXAMPLES: &str = "\
Examples:
  purezmq completions bash > ~/.local/share/bash-completion/completions/purezmq
  purezmq completions zsh > ~/.zfunc/_purezmq
  purezmq completions fish > ~/.config/fish/completions/purezmq.fish";

/// Flags of `purezmq completions`.
#[derive(Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for `command` to stdout.
pub fn run(args: &CompletionsArgs, command: &mut Command) {
    let name = command.get_name().to_string();
    clap_complete::generate(args.shell, command, name, &mut std::io::stdout());
}
