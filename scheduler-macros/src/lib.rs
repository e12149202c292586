//! Procedural macros of [`scheduler`](https://docs.rs/scheduler). Implementation crate:
//! depend on `scheduler`, which re-exports these macros with their documentation.
//!
//! Condition strings are checked with `scheduler-core`'s parser, the same one the runtime
//! uses, so a string accepted here is accepted at run time.

#![forbid(unsafe_code)]

use proc_macro::TokenStream;

mod cond;
mod condition;
mod errors;
mod lit_span;
mod param;
mod task;

/// A condition from a string literal, checked at compile time. See `scheduler::condition!`.
#[proc_macro]
pub fn condition(input: TokenStream) -> TokenStream {
    condition::expand(input.into()).into()
}

/// Registers a function as a task. See `scheduler::task`.
#[proc_macro_attribute]
pub fn task(attr: TokenStream, item: TokenStream) -> TokenStream {
    task::expand(attr.into(), item.into()).into()
}

/// Registers a function as a custom condition. See `scheduler::cond`.
#[proc_macro_attribute]
pub fn cond(attr: TokenStream, item: TokenStream) -> TokenStream {
    cond::expand(attr.into(), item.into()).into()
}

/// Registers a function computing a session parameter. See `scheduler::param`.
#[proc_macro_attribute]
pub fn param(attr: TokenStream, item: TokenStream) -> TokenStream {
    param::expand(attr.into(), item.into()).into()
}
