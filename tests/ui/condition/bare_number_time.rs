fn main() {
    let _ = scheduler::condition!("daily after 10");
}
