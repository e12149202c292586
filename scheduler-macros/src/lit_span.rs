//! Pointing at a byte range inside a string literal.
//!
//! Stable Rust cannot make a span narrower than a token (`Literal::subspan` returns `None`
//! outside nightly), so errors fall back to the whole literal; their message carries a
//! caret excerpt so the position is still visible.

use proc_macro2::Span;
use std::ops::Range;
use syn::LitStr;

/// The span of `range` (bytes of the literal's value) in the source, when the compiler
/// supports sub-spans and the literal has no escapes; the literal's span otherwise.
pub(crate) fn span_of_range(lit: &LitStr, range: Range<usize>) -> Span {
    let source = lit.token().to_string();
    let value = lit.value();
    // r"...", r#"..."#: `r`, the hashes, and the quote; "...": the quote.
    let content_start = match source.strip_prefix('r') {
        Some(raw) => 1 + raw.chars().take_while(|&c| c == '#').count() + 1,
        None => 1,
    };
    let content = source.get(content_start..content_start + value.len());
    if content != Some(value.as_str()) {
        return lit.span();
    }
    let start = content_start + range.start;
    let end = content_start
        + range
            .end
            .max(range.start + 1)
            .min(value.len().max(range.start + 1));
    lit.token()
        .subspan(start..end)
        .unwrap_or_else(|| lit.span())
}
