fn main() {
    let _ = scheduler::condition!(daily);
}
