//! Code generated for a checked `#[task]`: the marker type beside the function, and, in a
//! `const _: () = { ... }` block, the wrapper that injects the parameters, the JSON codec
//! of the return type, and the registration.
//!
//! Generated code reaches the runtime only through `::scheduler::__private`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ItemFn;
use syn::spanned::Spanned;

use super::args::{Execution, TaskArgs, Timeout};
use super::signature::Signature;

/// `enum get_data {}` with its `TaskMarker` impl: what `Return<get_data>` names.
pub(super) fn marker(func: &ItemFn, name: &str, sig: &Signature) -> TokenStream {
    let ident = &func.sig.ident;
    let vis = &func.vis;
    let output = &sig.output;
    let doc = format!(
        "The task `{name}` as a type: `Return<{ident}>` is the value it returns, `Task<{ident}>` a handle on it."
    );
    let output_item = quote_spanned! {sig.output_span=>
        type Output = #output;
    };
    quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis enum #ident {}

        impl ::scheduler::__private::TaskMarker for #ident {
            const NAME: &'static str = #name;
            #output_item
        }
    }
}

pub(super) fn registration(
    func: &ItemFn,
    name: &str,
    args: &TaskArgs,
    sig: &Signature,
) -> TokenStream {
    let ident = &func.sig.ident;
    let output = &sig.output;

    let vars: Vec<_> = (0..sig.params.len())
        .map(|i| format_ident!("__scheduler_arg{i}"))
        .collect();
    let extractions = sig.params.iter().zip(&vars).map(|(p, var)| {
        let (ty, pname) = (&p.ty, &p.name);
        quote_spanned! {ty.span()=>
            let #var = match <#ty as ::scheduler::__private::FromContext>::from_context(
                &__scheduler_cx,
                &::scheduler::__private::ParamInfo { name: #pname },
            ) {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(error) => {
                    return ::scheduler::__private::inject_failed(#pname, error);
                }
            };
        }
    });
    let needs = sig.params.iter().map(|p| {
        let (ty, pname) = (&p.ty, &p.name);
        quote_spanned! {ty.span()=>
            needs.extend(<#ty as ::scheduler::__private::FromContext>::need(
                &::scheduler::__private::ParamInfo { name: #pname },
            ));
        }
    });
    let finish = if sig.returns_result {
        quote! { ::scheduler::__private::result_outcome(__scheduler_value, __scheduler_codec()) }
    } else {
        quote! { ::scheduler::__private::value_outcome(__scheduler_value, __scheduler_codec()) }
    };
    let body = if sig.is_async {
        quote! {
            fn __scheduler_body(
                __scheduler_cx: ::scheduler::__private::RunContext,
            ) -> ::scheduler::__private::BoxFuture<'static, ::scheduler::__private::RunOutcome> {
                ::std::boxed::Box::pin(async move {
                    #(#extractions)*
                    let __scheduler_value = #ident(#(#vars),*).await;
                    #finish
                })
            }
        }
    } else {
        quote! {
            fn __scheduler_body(
                __scheduler_cx: ::scheduler::__private::RunContext,
            ) -> ::scheduler::__private::RunOutcome {
                #(#extractions)*
                let __scheduler_value = #ident(#(#vars),*);
                #finish
            }
        }
    };
    let registered_body = if sig.is_async {
        quote! { ::scheduler::__private::RegisteredBody::Async(__scheduler_body) }
    } else {
        quote! { ::scheduler::__private::RegisteredBody::Blocking(__scheduler_body) }
    };

    let option_str = |lit: &Option<syn::LitStr>| match lit {
        Some(s) => quote! { ::core::option::Option::Some(#s) },
        None => quote! { ::core::option::Option::None },
    };
    let condition = option_str(&args.condition);
    let end = option_str(&args.end);
    let execution = match args.execution.map(|(e, _)| e) {
        None => quote! { ::core::option::Option::None },
        Some(e) => {
            let variant = match e {
                Execution::Async => quote!(Async),
                Execution::Thread => quote!(Thread),
                Execution::Main => quote!(Main),
                Execution::Process => quote!(Process),
            };
            quote! { ::core::option::Option::Some(::scheduler::__private::Execution::#variant) }
        }
    };
    let timeout = match args.timeout.map(|(t, _)| t) {
        None => quote! { ::core::option::Option::None },
        Some(Timeout::Never) => {
            quote! { ::core::option::Option::Some(::scheduler::__private::RegisteredTimeout::Never) }
        }
        Some(Timeout::Micros(us)) => {
            quote! { ::core::option::Option::Some(::scheduler::__private::RegisteredTimeout::Micros(#us)) }
        }
    };
    let priority = args.priority.unwrap_or(0);
    let [disabled, multilaunch, permanent, on_startup, on_shutdown] = [
        args.disabled,
        args.multilaunch,
        args.permanent,
        args.on_startup,
        args.on_shutdown,
    ]
    .map(|f| f.is_some());
    let in_process = args.execution.map(|(e, _)| e) == Some(Execution::Process);
    // A task in a child process must be able to send its value back and to read the
    // values it receives; elsewhere, values are written as JSON when their type allows.
    let codec = if in_process {
        quote_spanned! {sig.output_span=>
            ::scheduler::__private::process_codec::<#output>()
        }
    } else {
        quote! {{
            #[allow(unused_imports)]
            use ::scheduler::__private::{CodecViaSerde as _, NoCodec as _};
            (&&::scheduler::__private::CodecProbe::<#output>::new()).codec()
        }}
    };
    // Tasks without parameters, or outside a child process, share empty lists: every
    // function emitted per task costs compile time in crates with many tasks.
    let (child_decoders_fn, child_decoders) = if in_process && !sig.params.is_empty() {
        let each = sig.params.iter().map(|p| {
            let ty = &p.ty;
            quote_spanned! {ty.span()=>
                decoders.extend(<#ty as ::scheduler::__private::ChildParam>::decoder());
            }
        });
        (
            quote! {
                fn __scheduler_child_decoders() -> ::std::vec::Vec<(&'static str, ::scheduler::__private::DecodeFn)> {
                    let mut decoders = ::std::vec::Vec::new();
                    #(#each)*
                    decoders
                }
            },
            quote! { __scheduler_child_decoders },
        )
    } else {
        (
            TokenStream::new(),
            quote! { ::scheduler::__private::no_child_decoders },
        )
    };
    let (needs_fn, needs) = if sig.params.is_empty() {
        (
            TokenStream::new(),
            quote! { ::scheduler::__private::no_needs },
        )
    } else {
        (
            quote! {
                fn __scheduler_needs() -> ::std::vec::Vec<::scheduler::__private::Need> {
                    let mut needs = ::std::vec::Vec::new();
                    #(#needs)*
                    needs
                }
            },
            quote! { __scheduler_needs },
        )
    };

    quote! {
        const _: () = {
            #body

            // The borrows select the codec (autoref specialization).
            #[allow(clippy::needless_borrow)]
            fn __scheduler_codec() -> ::core::option::Option<::scheduler::__private::OutputCodec> {
                #codec
            }

            #child_decoders_fn
            #needs_fn

            ::scheduler::__private::inventory::submit! {
                ::scheduler::__private::TaskDef {
                    name: #name,
                    condition: #condition,
                    end: #end,
                    execution: #execution,
                    timeout: #timeout,
                    priority: #priority,
                    disabled: #disabled,
                    multilaunch: #multilaunch,
                    permanent: #permanent,
                    on_startup: #on_startup,
                    on_shutdown: #on_shutdown,
                    body: #registered_body,
                    output_codec: __scheduler_codec,
                    needs: #needs,
                    child_decoders: #child_decoders,
                    module: ::core::module_path!(),
                    file: ::core::file!(),
                    line: ::core::line!(),
                }
            }
        };
    }
}
