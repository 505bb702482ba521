use std::process::ExitCode;

use xtask::scaffold::{self, Touched};
use xtask::{Outcome, codegen, generated_path, workspace_root};

const USAGE: &str = "usage: cargo xtask codegen [--check]
       cargo xtask new-provider <name>

  codegen             regenerate crates/clients/src/generated/*.rs from openapi/*.yaml
  codegen --check     change nothing; fail and name each generated file that is stale
  new-provider <name> scaffold a provider (2-20 lower-case letters): spec stub, client,
                      connector, sandbox, config and tests; see docs/adding-a-provider.md";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let check = match args.as_slice() {
        ["codegen"] => false,
        ["codegen", "--check"] => true,
        ["new-provider", name] => return new_provider(name),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let root = workspace_root();
    match codegen(&root, check) {
        Ok(outcomes) => {
            let mut stale = false;
            for (provider, outcome) in outcomes {
                let file = generated_path(&root, &provider);
                let file = file.strip_prefix(&root).unwrap_or(&file).display();
                match outcome {
                    Outcome::UpToDate => println!("up to date: {file}"),
                    Outcome::Written => println!("written:    {file}"),
                    Outcome::Stale => {
                        stale = true;
                        eprintln!("STALE:      {file} (run `cargo xtask codegen`)");
                    }
                }
            }
            if stale {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn new_provider(name: &str) -> ExitCode {
    let root = workspace_root();
    let plan = match scaffold::new_provider(&root, name) {
        Ok(plan) => plan,
        Err(err) => {
            eprintln!("error: {err:#}\nnothing was written");
            return ExitCode::FAILURE;
        }
    };
    println!("scaffolded provider `{}`:", plan.names.lower);
    for change in &plan.changes {
        let what = match change.touched {
            Touched::Created => "created",
            Touched::Edited => "edited ",
            Touched::AlreadyThere => "as was ",
        };
        println!("  {what} {}", change.path.display());
    }
    for note in &plan.notes {
        println!("\nnote: {note}");
    }
    println!(
        "\nThe tree builds, and {1} refuses every code until it is written. Next:\n  \
         cargo test -p promohub-domain --test provider_{0} -- --include-ignored\n  \
         lists what is left; docs/adding-a-provider.md walks through it in order.",
        plan.names.lower, plan.names.camel
    );
    ExitCode::SUCCESS
}
