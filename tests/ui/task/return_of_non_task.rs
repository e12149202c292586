// `Return<...>` names a `#[task]` function: any other type is one error, at that type
// (written as a path, or inside an `Option`, too).
use scheduler::prelude::*;

mod models {
    pub struct Rows;
}

struct Rows;

#[task("daily")]
fn transform(rows: Return<Rows>) {}

#[task("daily")]
fn audit(rows: Option<Return<models::Rows>>) {}

fn main() {}
