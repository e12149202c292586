//! `#[param]`: a function whose value is the session parameter of its name, computed each
//! time a run needs it.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ItemFn, LitStr, ReturnType, Token};

use crate::errors::Errors;

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
    if !sig.inputs.is_empty() {
        errors.spanned(&sig.inputs, "a `#[param]` function takes no parameters");
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
        fn __scheduler_build() -> ::std::sync::Arc<dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync> {
            ::std::sync::Arc::new(#ident())
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
                    file: ::core::file!(),
                    line: ::core::line!(),
                }
            }
        };
    }
}
