//! `condition!("...")`: parse the literal at compile time, and expand to the reading of
//! the parsed value (see `scheduler_core::condition::codec`): decoded, or parsed again from
//! the text where a macro of another version encoded it.

use proc_macro2::TokenStream;
use quote::quote;
use scheduler_core::condition::{Condition, ParseError, codec};
use syn::LitStr;

use crate::lit_span;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let lit: LitStr = match syn::parse2(input.clone()) {
        Ok(lit) => lit,
        Err(_) => {
            let message = "expected a string literal with a condition, such as \
                           `condition!(\"daily after 07:00\")`";
            let span = input
                .into_iter()
                .next()
                .map_or_else(proc_macro2::Span::call_site, |t| t.span());
            return with_fallback(syn::Error::new(span, message));
        }
    };
    if !lit.suffix().is_empty() {
        return with_fallback(syn::Error::new(
            lit.span(),
            "a condition literal takes no suffix",
        ));
    }
    match lit.value().parse::<Condition>() {
        Ok(condition) => {
            let checked = Checked::new(&lit, &condition).value();
            let customs = crate::cond::call_checks(&lit, &condition);
            quote! {{
                #customs
                ::scheduler::__private::checked_condition(#checked)
            }}
        }
        Err(e) => with_fallback(error_in_literal(&lit, &e)),
    }
}

/// A condition the macro has parsed, as the runtime receives it: the text, and the parsed
/// value in the compact form that start-up decodes instead of parsing the text again.
pub(crate) struct Checked {
    /// The literal as written.
    pub(crate) text: LitStr,
    /// The parsed value, encoded (never empty).
    pub(crate) code: syn::LitByteStr,
}

impl Checked {
    pub(crate) fn new(lit: &LitStr, condition: &Condition) -> Self {
        Checked {
            text: lit.clone(),
            code: syn::LitByteStr::new(&codec::encode(condition), lit.span()),
        }
    }

    /// The runtime's `CheckedCondition`.
    pub(crate) fn value(&self) -> TokenStream {
        let Checked { text, code } = self;
        quote! { ::scheduler::__private::CheckedCondition { text: #text, code: #code } }
    }
}

/// A compile error whose message shows the condition with a caret under the mistake,
/// spanned at the mistake where the compiler can point inside literals (nightly), and at
/// the whole literal otherwise.
pub(crate) fn error_in_literal(lit: &LitStr, e: &ParseError) -> syn::Error {
    let rendered = e.render();
    let message = rendered.strip_prefix("error: ").unwrap_or(&rendered);
    syn::Error::new(lit_span::span_of_range(lit, e.span()), message)
}

/// The error plus a value of the right type, so that the code around the macro still
/// type-checks and shows no follow-up errors.
fn with_fallback(error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote! {{
        #error;
        ::scheduler::Condition::FALSE
    }}
}
