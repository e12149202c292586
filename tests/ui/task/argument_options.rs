// Options of `#[arg]` and `#[env]` on task parameters: a default of the wrong type (an
// error at the default), an unknown option, the attribute on a parameter it does not fit,
// and a `with` function of the wrong type.
use scheduler::prelude::*;

fn limit_text() -> String {
    "ten".to_owned()
}

#[task("every 1 hour")]
fn wrong_default(#[arg(key = "retries", default = "three")] retries: Arg<u32>) {}

#[task("every 1 hour")]
fn wrong_env_default(#[env(var = "PORT", default = 80.5)] port: Env<u16>) {}

#[task("every 1 hour")]
fn unknown_option(#[arg(kye = "retries")] retries: Arg<u32>) {}

#[task("every 1 hour")]
fn not_an_arg(#[arg(default = 3)] retries: u32) {}

#[task("every 1 hour")]
fn wrong_function(#[arg(with = limit_text)] limit: Arg<u32>) {}

fn main() {}
