// A bad condition is one error: the macro still produces a `Condition`, so the code
// around it type-checks and reports nothing more.
use scheduler::Condition;

fn main() {
    let c: Condition = scheduler::condition!("every 0 seconds");
    println!("{}", c.to_string().len());
}
