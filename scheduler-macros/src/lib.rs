//! Procedural macros of [`scheduler`](https://docs.rs/scheduler). Implementation crate:
//! depend on `scheduler`, which re-exports these macros with their documentation.
//!
//! Condition strings are checked with `scheduler-core`'s parser, the same one the runtime
//! uses, so a string accepted here is accepted at run time.

use proc_macro::TokenStream;

mod condition;
mod lit_span;

/// A condition from a string literal, checked at compile time. See `scheduler::condition!`.
#[proc_macro]
pub fn condition(input: TokenStream) -> TokenStream {
    condition::expand(input.into()).into()
}
