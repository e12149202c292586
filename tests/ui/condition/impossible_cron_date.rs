fn main() {
    let _ = scheduler::condition!("cron 0 0 31 2 *");
}
