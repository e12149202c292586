//! Runnable examples of `scheduler`; see the `examples/` files.
