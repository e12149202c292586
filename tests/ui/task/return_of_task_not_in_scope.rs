// A task defined in another module is named through a path or an import, as any item:
// the compiler proposes the import.
use scheduler::prelude::*;

mod jobs {
    use scheduler::prelude::*;

    #[task("daily")]
    pub fn get_data() -> Vec<u32> {
        vec![1, 2, 3]
    }
}

#[task("after task 'get_data' succeeded")]
fn transform(rows: Return<get_data>) -> usize {
    rows.len()
}

fn main() {}
