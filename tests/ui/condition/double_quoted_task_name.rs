fn main() {
    let _ = scheduler::condition!(r#"after task "fetch""#);
}
