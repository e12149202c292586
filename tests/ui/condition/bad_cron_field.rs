fn main() {
    let _ = scheduler::condition!("cron 61 * * * *");
}
