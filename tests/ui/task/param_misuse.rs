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

fn main() {}
