use scheduler::prelude::*;

struct Job;

impl Job {
    #[task("daily")]
    fn run(&self) {}
}

#[task("daily")]
fn generic<T: Default>() {}

#[task("daily")]
fn borrowed(_name: &Arg<String>) {}

#[task("daily")]
fn destructured((_a, _b): (Arg<u8>, Arg<u8>)) {}

#[task("daily")]
fn opaque() -> impl std::fmt::Debug {
    1
}

fn main() {}
