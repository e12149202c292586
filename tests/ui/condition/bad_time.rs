fn main() {
    let _ = scheduler::condition!("daily after 25:00");
}
