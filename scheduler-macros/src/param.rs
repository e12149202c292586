//! `#[param]`: a function whose value is the session parameter of its name, computed once
//! for each run that needs it. Its own parameters are injected as a task's are (`Arg<T>`,
//! `Env<T>`, `Session`, ...); one that cannot be injected fails the run that needed the
//! value, as any injection failure does.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr, ReturnType, Token};

use crate::errors::Errors;

/// Whether a parameter of this type reads the session parameter of its name: `Arg<T>` or
/// `Option<Arg<T>>`.
fn reads_arg(ty: &syn::Type) -> bool {
    let syn::Type::Path(p) = ty else {
        return false;
    };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    match (last.ident.to_string().as_str(), &last.arguments) {
        ("Arg", syn::PathArguments::AngleBracketed(_)) => true,
        ("Option", syn::PathArguments::AngleBracketed(args)) => args
            .args
            .iter()
            .any(|a| matches!(a, syn::GenericArgument::Type(inner) if reads_arg(inner))),
        _ => false,
    }
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let error =
                syn::Error::new(e.span(), "`#[param]` goes on a function").to_compile_error();
            return quote! { #item #error };
        }
    };
    let mut errors = Errors::default();
    let mut name = func
        .sig
        .ident
        .to_string()
        .trim_start_matches("r#")
        .to_owned();
    if !attr.is_empty() {
        let parsed = syn::parse::Parser::parse2(
            |input: syn::parse::ParseStream<'_>| {
                let key: syn::Ident = input.parse()?;
                if key != "name" {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown option `{key}`; `#[param]` takes `name = \"...\"`"),
                    ));
                }
                input.parse::<Token![=]>()?;
                let value: LitStr = input.parse()?;
                Ok(value)
            },
            attr,
        );
        match parsed {
            Ok(value) if value.value().is_empty() => {
                errors.spanned(value, "a parameter name must not be empty")
            }
            Ok(value) => name = value.value(),
            Err(e) => errors.push(e),
        }
    }
    let sig = &func.sig;
    if let Some(a) = &sig.asyncness {
        errors.spanned(
            a,
            "a `#[param]` function is called when a run needs the value, so it cannot be `async`",
        );
    }
    let mut values = Vec::new();
    // The session parameters its `Arg<T>` parameters read, for the start-up check that no
    // `#[param]` functions need each other's values. Read on the type as written (a macro
    // cannot ask what a type is); a read the check does not see is still refused, when a
    // run computes it, by the run's chain of functions under way.
    let mut reads = Vec::new();
    for input in &sig.inputs {
        let syn::FnArg::Typed(pt) = input else {
            errors.spanned(input, "a `#[param]` function is a free function");
            continue;
        };
        let syn::Pat::Ident(p) = &*pt.pat else {
            errors.spanned(&pt.pat, "write a plain parameter name");
            continue;
        };
        let pname = p.ident.to_string().trim_start_matches("r#").to_owned();
        let ty = &pt.ty;
        if reads_arg(ty) {
            reads.push(pname.clone());
        }
        values.push(quote_spanned! {ty.span()=>
            match <#ty as ::scheduler::__private::FromContext>::from_context(
                __scheduler_cx,
                &::scheduler::__private::ParamInfo { name: #pname },
            ) {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(error) => return ::core::result::Result::Err(
                    ::scheduler::__private::param_inject_failed(#pname, error),
                ),
            }
        });
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(&sig.generics, "a `#[param]` function cannot be generic");
    }
    let output = match &sig.output {
        ReturnType::Type(_, ty) => Some(ty),
        ReturnType::Default => {
            errors.spanned(
                &sig.ident,
                "a `#[param]` function returns the parameter's value",
            );
            None
        }
    };
    if let Some(e) = errors.combined() {
        let e = e.to_compile_error();
        return quote! { #func #e };
    }
    let output = output.expect("checked above");
    let ident = &sig.ident;
    let build = quote_spanned! {output.span()=>
        fn __scheduler_build(
            __scheduler_cx: &::scheduler::__private::RunContext,
        ) -> ::core::result::Result<
            ::std::sync::Arc<dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync>,
            ::scheduler::__private::ParamError,
        > {
            ::core::result::Result::Ok(::std::sync::Arc::new(#ident(#(#values),*)))
        }
    };
    quote! {
        #func

        const _: () = {
            #build

            fn __scheduler_type_name() -> &'static str {
                ::core::any::type_name::<#output>()
            }

            ::scheduler::__private::register_param! {
                ::scheduler::__private::ParamDef {
                    name: #name,
                    build: __scheduler_build,
                    type_name: __scheduler_type_name,
                    reads: &[#(#reads),*],
                    file: ::core::file!(),
                    line: ::core::line!(),
                }
            }
        };
    }
}
