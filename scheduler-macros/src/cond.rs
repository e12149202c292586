//! `#[cond]`: a function of the program as a condition that strings call by name
//! (`is_work_day()`, `file_exists('data.csv')`), and the checks of such calls in the strings
//! of `#[task]` and `condition!`.
//!
//! Beside the function, the macro emits a type of the same name (in the type namespace, as
//! `#[task]` does) implementing `CondMarker`, `CondArity<N>` and `CondArgAt<I>` for each
//! argument of its phrase; a string that calls it emits a reference to that type, so an
//! unknown name, a wrong number of arguments or an argument of the wrong type is a compile
//! error where the string is.
//!
//! An `async fn` is accepted: its call returns the future (built after the arguments are
//! read and injected, so that it owns them), which the runtime runs beside its loop with a
//! deadline (`timeout = "..."`, thirty seconds unless given).
//!
//! Parameters whose type is `String`, `PathBuf`, an integer type, `f64`, `f32` or `bool`
//! are the phrase's arguments, in order; the others are injected like a task's parameters
//! (`Arg<T>`, `Env<T>`, `Session`, ...). The distinction is made on the type as written,
//! since a macro cannot ask which traits a type implements.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitStr, Pat, ReturnType, Token, Type};

use scheduler_core::condition::{Condition, CustomArg};
use scheduler_core::time::Interval;

use crate::errors::Errors;
use crate::lit_span;

const PHRASE_TYPES: &[&str] = &[
    "String", "PathBuf", "bool", "i8", "i16", "i32", "i64", "isize", "u8", "u16", "u32", "u64",
    "usize", "f32", "f64",
];

/// Whether a parameter of this type comes from the phrase (else it is injected).
fn is_phrase_type(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().is_some_and(|s| {
            s.arguments.is_empty() && PHRASE_TYPES.contains(&s.ident.to_string().as_str())
        }),
        _ => false,
    }
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let error =
                syn::Error::new(e.span(), "`#[cond]` goes on a function").to_compile_error();
            return quote! { #item #error };
        }
    };
    let mut errors = Errors::default();
    let sig = &func.sig;
    let is_async = sig.asyncness.is_some();
    // One minute and thirty seconds, as `CondDef::DEFAULT_RECHECK` and `DEFAULT_TIMEOUT`
    // say (the runtime is not linked here).
    let mut recheck = std::time::Duration::from_secs(60);
    let mut timeout = std::time::Duration::from_secs(30);
    if !attr.is_empty() {
        let parsed = syn::parse::Parser::parse2(
            syn::punctuated::Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated,
            attr,
        );
        let options = match parsed {
            Ok(options) => options,
            Err(e) => {
                errors.push(e);
                Default::default()
            }
        };
        let mut seen = Vec::new();
        for option in options {
            let Some(key) = option.path.get_ident().map(ToString::to_string) else {
                errors.spanned(
                    &option.path,
                    "`#[cond]` takes `every = \"...\"` and `timeout = \"...\"`",
                );
                continue;
            };
            if seen.contains(&key) {
                errors.spanned(&option.path, format!("`{key}` is given twice"));
                continue;
            }
            seen.push(key.clone());
            let target = match key.as_str() {
                "every" => &mut recheck,
                "timeout" if !is_async => {
                    errors.spanned(
                        &option.path,
                        "`timeout` is for `async` conditions: a blocking function cannot be interrupted",
                    );
                    continue;
                }
                "timeout" => &mut timeout,
                _ => {
                    errors.spanned(
                        &option.path,
                        format!(
                            "unknown option `{key}`; `#[cond]` takes `every = \"...\"` (the re-check interval) and, for an `async` condition, `timeout = \"...\"`"
                        ),
                    );
                    continue;
                }
            };
            match &option.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(lit),
                    ..
                }) => match lit.value().parse::<Interval>() {
                    Ok(i) => *target = i.as_duration(),
                    Err(e) => errors.push(crate::condition::error_in_literal(lit, &e)),
                },
                other => errors.spanned(other, "write the interval as a string: `\"10 minutes\"`"),
            }
        }
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(&sig.generics, "a custom condition cannot be generic");
    }
    if let ReturnType::Default = sig.output {
        errors.spanned(
            &sig.ident,
            "a custom condition returns `bool` or `Result<bool, E>`",
        );
    }
    let name = sig.ident.to_string().trim_start_matches("r#").to_owned();
    let ident = &sig.ident;
    let mut values = Vec::new();
    let mut kinds = Vec::new();
    let mut arg_impls = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(pt) = input else {
            errors.spanned(input, "a custom condition is a free function");
            continue;
        };
        let pname = match &*pt.pat {
            Pat::Ident(p) => p.ident.to_string().trim_start_matches("r#").to_owned(),
            other => {
                errors.spanned(other, "write a plain name for the parameter");
                continue;
            }
        };
        let ty = &pt.ty;
        if is_phrase_type(ty) {
            let i = kinds.len();
            kinds.push(
                quote_spanned! {ty.span()=> <#ty as ::scheduler::__private::FromCondArg>::KIND },
            );
            arg_impls.push(quote! {
                impl ::scheduler::__private::CondArgAt<#i> for #ident { type Arg = #ty; }
            });
            values.push(quote_spanned! {ty.span()=>
                ::scheduler::__private::cond_arg::<#ty>(__scheduler_args, #i)?
            });
        } else {
            values.push(quote_spanned! {ty.span()=>
                match <#ty as ::scheduler::__private::FromContext>::from_context(
                    __scheduler_cx,
                    &::scheduler::__private::ParamInfo { name: #pname },
                ) {
                    ::core::result::Result::Ok(value) => value,
                    ::core::result::Result::Err(error) => return ::core::result::Result::Err(
                        ::scheduler::__private::cond_inject_failed(#pname, error),
                    ),
                }
            });
        }
    }
    if let Some(e) = errors.combined() {
        let e = e.to_compile_error();
        return quote! { #func #e };
    }
    let arity = kinds.len();
    let vis = &func.vis;
    let recheck_micros = recheck.as_micros() as u64;
    let doc =
        format!("The custom condition `{name}()` as a type, which condition strings refer to.");
    let output_span = match &sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => Span::call_site(),
    };
    // An `async` condition's call returns its future, which owns the arguments read here.
    let (answer, returns, call) = if is_async {
        (
            quote_spanned! {output_span=>
                ::core::result::Result::Ok(::scheduler::__private::cond_future(#ident(#(#values),*)))
            },
            quote! { ::scheduler::__private::CondFuture },
            quote! { ::scheduler::__private::CondFn::Async(__scheduler_cond) },
        )
    } else {
        (
            quote_spanned! {output_span=>
                ::scheduler::__private::IntoCondResult::into_cond_result(#ident(#(#values),*))
            },
            quote! { bool },
            quote! { ::scheduler::__private::CondFn::Blocking(__scheduler_cond) },
        )
    };
    let timeout_micros = timeout.as_micros() as u64;
    quote! {
        #func

        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis enum #ident {}

        impl ::scheduler::__private::CondMarker for #ident {
            const NAME: &'static str = #name;
        }
        impl ::scheduler::__private::CondArity<#arity> for #ident {}
        #(#arg_impls)*

        const _: () = {
            fn __scheduler_cond(
                __scheduler_cx: &::scheduler::__private::RunContext,
                __scheduler_args: &[::scheduler::__private::CustomArg],
            ) -> ::core::result::Result<#returns, ::scheduler::__private::CondError> {
                #answer
            }

            ::scheduler::__private::register_cond! {
                ::scheduler::__private::CondDef {
                    name: #name,
                    args: &[#(#kinds),*],
                    call: #call,
                    recheck_micros: #recheck_micros,
                    timeout_micros: #timeout_micros,
                    file: ::core::file!(),
                    line: ::core::line!(),
                }
            }
        };
    }
}

/// For each custom condition `condition` calls, code that compiles only if it exists and
/// takes the arguments written (empty when it calls none).
pub(crate) fn call_checks(lit: &LitStr, condition: &Condition) -> TokenStream {
    let calls = condition.custom_calls();
    if calls.is_empty() {
        return TokenStream::new();
    }
    let text = lit.value();
    let mut checks = Vec::new();
    for call in calls {
        // Where the call is in the string (the first place it is written).
        let at = text.find(&call.path).unwrap_or(0);
        let span = lit_span::span_of_range(lit, at..at + call.path.len());
        let Ok(mut path) = syn::parse_str::<syn::Path>(&call.path) else {
            continue;
        };
        for segment in &mut path.segments {
            segment.ident.set_span(span);
        }
        let n = call.args.len();
        checks.push(quote_spanned! {span=> ::scheduler::__private::cond_takes::<#path, #n>(); });
        for (i, arg) in call.args.iter().enumerate() {
            let literal = format_ident!(
                "{}",
                match arg {
                    CustomArg::Text(_) => "TextLiteral",
                    CustomArg::Integer(_) => "IntegerLiteral",
                    CustomArg::Decimal(_) => "DecimalLiteral",
                    CustomArg::Bool(_) => "BoolLiteral",
                },
                span = span
            );
            checks.push(quote_spanned! {span=>
                ::scheduler::__private::cond_arg_fits::<#path, #i, ::scheduler::__private::#literal>();
            });
        }
    }
    quote! {
        const _: () = {
            #[allow(dead_code)]
            fn __scheduler_custom_conditions() {
                #(#checks)*
            }
        };
    }
}
