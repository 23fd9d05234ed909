//! The `adama` command. This file only parses the command line and dispatches to one module per
//! subcommand.

mod commands;
mod input;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The node's allocator, for `adama serve` above all (see `adama_node::Allocator`).
#[global_allocator]
static ALLOCATOR: adama_node::Allocator = adama_node::Allocator;

/// The Adama toolchain: check, parse and, as it grows, test, run and serve Adama documents.
#[derive(Debug, Parser)]
#[command(name = "adama", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check Adama files and report their problems.
    Check(commands::check::CheckArgs),
    /// Print the syntax tree of an Adama file (for grammar work).
    Parse(commands::parse::ParseArgs),
    /// Rewrite Adama files in the canonical layout.
    Fmt(commands::fmt::FmtArgs),
    /// Run the language server on stdin and stdout.
    Lsp,
    /// Run a document through a script of commands (JSON lines in and out).
    Run(commands::run::RunArgs),
    /// Run the `test` blocks of an Adama file.
    Test(commands::test::TestArgs),
    /// Run a node: documents of many spaces, durable, served over WebSocket and HTTP.
    Serve(commands::serve::ServeArgs),
    /// Hand a space's new source to a running node, which upgrades its documents live.
    Deploy(commands::deploy::DeployArgs),
    /// Look at a cluster of nodes (`adama cluster status --cluster FILE`).
    #[command(subcommand)]
    Cluster(commands::cluster::ClusterCommand),
    /// Manage the keys a node signs identities with (`adama keys rotate --data DIR`).
    #[command(subcommand)]
    Keys(commands::keys::KeysCommand),
    /// Check that a log of transaction records reproduces with a program.
    Replay(commands::replay::ReplayArgs),
    /// Read logs of transaction records: summarise one, or export one from a node's data.
    #[command(subcommand)]
    Log(commands::log::LogCommand),
    /// Run the debugger (Debug Adapter Protocol) on stdin and stdout.
    Dap,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Check(args) => {
            commands::check::parse_with_the_process_allocator();
            commands::check::run(&args)
        }
        Command::Parse(args) => commands::parse::run(&args),
        Command::Fmt(args) => commands::fmt::run(&args),
        Command::Lsp => {
            adama_node::return_freed_memory_at_once();
            commands::lsp::run()
        }
        Command::Run(args) => commands::run::run(&args),
        Command::Test(args) => commands::test::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Deploy(args) => commands::deploy::run(&args),
        Command::Cluster(command) => commands::cluster::run(&command),
        Command::Keys(command) => commands::keys::run(&command),
        Command::Replay(args) => commands::replay::run(&args),
        Command::Log(command) => commands::log::run(&command),
        Command::Dap => {
            adama_node::return_freed_memory_at_once();
            commands::dap::run()
        }
    };
    ExitCode::from(outcome.code())
}
