// `Return<...>` names a `#[task]` function: any other type is an error at that type.
use scheduler::prelude::*;

struct Rows;

#[task("daily")]
fn transform(rows: Return<Rows>) {}

fn main() {}
