use std::process::ExitCode;

use xtask::{Outcome, codegen, generated_path, workspace_root};

const USAGE: &str = "usage: cargo xtask codegen [--check]

  codegen          regenerate crates/clients/src/generated/*.rs from openapi/*.yaml
  codegen --check  change nothing; fail and name each generated file that is stale";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let check = match args.as_slice() {
        ["codegen"] => false,
        ["codegen", "--check"] => true,
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
