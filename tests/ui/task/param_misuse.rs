use scheduler::prelude::*;

#[param(nme = "greeting")]
fn greeting() -> String {
    "hello".to_owned()
}

#[param]
async fn token(_scope: String) {}

#[param(name = "")]
fn nameless() -> u8 {
    0
}

// Its own parameters are injected: a type that cannot be is an error at the parameter.
#[param]
fn scoped(scope: String) -> String {
    scope
}

fn main() {}
