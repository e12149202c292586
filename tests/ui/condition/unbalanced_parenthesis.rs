fn main() {
    let _ = scheduler::condition!("(daily | hourly & after task 'fetch'");
}
