// Arguments of a custom condition that do not fit its parameters: a number where text is
// taken, text where a number is, and one argument too many.
use scheduler::prelude::*;

#[scheduler::cond]
fn file_exists(path: String) -> bool {
    std::path::Path::new(&path).exists()
}

#[scheduler::cond]
fn queue_longer_than(limit: u32) -> bool {
    limit < 10
}

#[task("daily & file_exists(42)")]
fn load() {}

#[task("daily & queue_longer_than('ten')")]
fn drain() {}

#[task("daily & file_exists('a.csv', 'b.csv')")]
fn both() {}

fn main() {}
