fn main() {
    let _ = scheduler::condition!("dialy between 07:00 and 10:00");
}
