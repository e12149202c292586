fn main() {
    let _ = scheduler::condition!("daily betwen 07:00 and 10:00");
}
