//! Code generated for a checked `#[task]`: the marker type beside the function, and, in a
//! `const _: () = { ... }` block, the function that injects the parameters and calls the
//! task function, and the registration (a `static` definition holding that function as a
//! plain function pointer).
//!
//! Everything that can be generic lives in the runtime (`handler`), so that a crate with
//! many tasks type-checks the glue once; what is emitted here is kept to what only the
//! macro knows.
//!
//! Generated code reaches the runtime only through `::scheduler::__private`.

use proc_macro2::{Delimiter, Group, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use scheduler_core::task_options::{Execution, Timeout};

use super::args::TaskArgs;
use super::signature::Signature;

/// `enum get_data {}` with its `TaskMarker` impl: what `Return<get_data>` names.
pub(super) fn marker(func: &super::TaskFn, name: &str, sig: &Signature) -> TokenStream {
    let ident = &func.sig.ident;
    let vis = &func.vis;
    let output = &sig.output;
    let doc = format!(
        "The task `{name}` as a type: `Return<{ident}>` is the value it returns, `Task<{ident}>` a handle on it, `{ident}::apply(payload)` enqueues a run."
    );
    let output_item = quote_spanned! {sig.output_span=>
        type Output = #output;
    };
    // What `task::apply(payload)` takes (`OnDemand`, generic in the runtime): one line per
    // task.
    let payload = match &sig.payload {
        Some(ty) => quote! { #ty },
        None => quote! { () },
    };
    quote! {
        #[doc = #doc]
        #[allow(non_camel_case_types, dead_code)]
        #vis enum #ident {}

        impl ::scheduler::__private::TaskMarker for #ident {
            const NAME: &'static str = #name;
            #output_item
            type Payload = #payload;
        }
    }
}

/// Whether the type holds a reference or a lifetime.
fn borrows(ty: &syn::Type) -> bool {
    fn any(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Punct(p) => p.as_char() == '&' || p.as_char() == '\'',
            proc_macro2::TokenTree::Group(g) => any(g.stream()),
            _ => false,
        })
    }
    any(quote! { #ty })
}

/// The value of a parameter with `#[arg(...)]` or `#[env(...)]`: read under its key (or
/// variable), else its default. The default is the body of a function returning the
/// value's type, so a default of another type is an error at the default.
fn source_value(source: &super::signature::Source, pname: &str) -> TokenStream {
    let t = &source.value_ty;
    if let Some(with) = &source.with {
        return quote_spanned! {with.span()=>
            ::scheduler::__private::arg_with::<#t>(#with)
        };
    }
    let default = match &source.default {
        Some(expr) => {
            let f = quote_spanned! {expr.span()=>
                fn __scheduler_default() -> #t { #expr }
            };
            quote! {{ #f ::core::option::Option::Some(__scheduler_default as fn() -> #t) }}
        }
        None => quote! { ::core::option::Option::None },
    };
    let key = match &source.key {
        Some(k) => quote! { #k },
        // As `Env<T>` alone reads it: the name upper-cased.
        None if source.env => {
            let var = pname.trim_start_matches('_').to_ascii_uppercase();
            quote! { #var }
        }
        None => quote! { #pname },
    };
    if source.env {
        quote! { ::scheduler::__private::env_or::<#t>(#key, #default) }
    } else {
        quote! { ::scheduler::__private::arg_or::<#t>(__scheduler_cx, #key, #default) }
    }
}

/// The number of fields of `scheduler_core::runtime::TaskDef` and `TaskMore`, so that a
/// definition that writes all of them has no `..BASE` (a stale count is a compile error in
/// the tests: a missing field, or a needless update that clippy refuses).
const TASK_DEF_FIELDS: usize = 10;
const TASK_MORE_FIELDS: usize = 4;

pub(super) fn registration(
    func: &super::TaskFn,
    name: &str,
    args: &TaskArgs,
    sig: &Signature,
    conditions: &super::CheckedConditions,
) -> TokenStream {
    let ident = &func.sig.ident;
    let output = &sig.output;

    let returned = match &func.sig.output {
        syn::ReturnType::Default => quote! { () },
        syn::ReturnType::Type(_, ty) => quote! { #ty },
    };
    // Each parameter injected where it is written: a type that cannot be injected is
    // reported at the parameter, by `FromContext`'s own message (once: the same error for
    // `NEED` below has the same span and text). A parameter that cannot be injected ends
    // the run as failed, before the function is called. `Return<task>` reads the value of
    // the task named in it, by name: its type names only the value's type. (The task is
    // named through `Producer`, spanned over it, as in the signature: see
    // `signature::Producer`.)
    let values = sig.params.iter().map(|p| {
        let (ty, pname) = (&p.ty, &p.name);
        let failed = quote! { ::scheduler::__private::inject_failed(#pname, error) };
        let failed = if sig.is_async {
            quote! { ::core::result::Result::Err(#failed) }
        } else {
            failed
        };
        let value = match (&p.producer, &p.source) {
            (_, Some(source)) => source_value(source, pname),
            // The value's type is the parameter's, inferred from the call.
            (Some(producer), None) => {
                let of = producer.producer();
                quote_spanned! {producer.last=>
                    ::scheduler::__private::FromProducer::from_producer(__scheduler_cx, #of::NAME)
                }
            }
            (None, None) => quote_spanned! {ty.span()=>
                <#ty as ::scheduler::__private::FromContext>::from_context(
                    __scheduler_cx,
                    &::scheduler::__private::ParamInfo { name: #pname },
                )
            },
        };
        quote_spanned! {ty.span()=>
            match #value {
                ::core::result::Result::Ok(value) => value,
                ::core::result::Result::Err(error) => return #failed,
            }
        }
    });
    let needs = sig.params.iter().map(|p| {
        let ty = &p.ty;
        match &p.producer {
            Some(producer) => {
                let of = producer.producer();
                quote_spanned! {producer.last=>
                    ::core::option::Option::Some(::scheduler::__private::Need::Return(#of::NAME))
                }
            }
            None => {
                quote_spanned! {ty.span()=> <#ty as ::scheduler::__private::FromContext>::NEED }
            }
        }
    });
    // The call checks the types of the function's parameters once more, and reports what
    // fails at the call, spanned here over the tasks of the `Return<task>` parameters: with
    // one, exactly where its other checks are, so that a type that is not a task is one
    // error; with several, such a type is reported again, over all of them.
    let values: Vec<TokenStream> = values.collect();
    let mut producers = sig.params.iter().filter_map(|p| p.producer.as_ref());
    let call = match (producers.next(), producers.next_back()) {
        (Some(first), last) => {
            let mut callee = ident.clone();
            callee.set_span(first.first);
            let mut args = Group::new(Delimiter::Parenthesis, quote!(#(#values),*));
            args.set_span(last.unwrap_or(first).last);
            quote! { #callee #args }
        }
        (None, _) => quote! { #ident(#(#values),*) },
    };
    let finish = if sig.returns_result {
        quote! { ::scheduler::__private::ResultReturn }
    } else {
        quote! { ::scheduler::__private::ValueReturn }
    };
    // Per task, one small synchronous function injects and calls; awaiting the function
    // and keeping its value is generic code in the runtime, compiled per return type. The
    // registration holds it as a plain function pointer: a trait object there, or a
    // future pinned here rather than in `finish_async`, each cost about 5 % of the build
    // of a crate of many tasks (bench/compile_floor.py).
    let (call, body_variant) = if sig.is_async {
        (
            quote! {
                fn __scheduler_call(
                    __scheduler_cx: &::scheduler::__private::RunContext,
                ) -> ::scheduler::__private::Started {
                    ::core::result::Result::Ok(::scheduler::__private::finish_async::<#returned, #finish>(
                        ::std::boxed::Box::new(#call),
                    ))
                }
            },
            quote!(Async),
        )
    } else {
        (
            quote! {
                fn __scheduler_call(
                    __scheduler_cx: &::scheduler::__private::RunContext,
                ) -> ::scheduler::__private::RunOutcome {
                    ::scheduler::__private::finish::<#returned, #finish>(#call)
                }
            },
            quote!(Blocking),
        )
    };

    // Only what differs from `TaskDef::BASE` is written: in a crate with many tasks, every
    // token of every task is parsed and type-checked again. What few tasks have goes into
    // `more` (`TaskMore`, see `TaskDef`), itself written only when one of them is given.
    let mut fields = Vec::new();
    let mut more = Vec::new();
    if let Some(c) = &conditions.start {
        let (text, code) = (&c.text, &c.code);
        fields.push(quote! { condition: #text, condition_code: #code, });
    }
    if let Some(c) = &conditions.end {
        let c = c.value();
        more.push(quote! { end: ::core::option::Option::Some(#c), });
    }
    // The options, likewise: only those given, in a nested struct update.
    let mut options = Vec::new();
    if let Some((e, _)) = args.execution {
        let variant = match e {
            Execution::Async => quote!(Async),
            Execution::Thread => quote!(Thread),
            Execution::Main => quote!(Main),
            Execution::Process => quote!(Process),
        };
        options.push(quote! {
            execution: ::core::option::Option::Some(::scheduler::__private::Execution::#variant),
        });
    }
    match args.timeout.map(|(t, _)| t) {
        None => {}
        Some(Timeout::Never) => options.push(quote! {
            timeout: ::core::option::Option::Some(::scheduler::__private::Timeout::Never),
        }),
        Some(Timeout::After(d)) => {
            let us = d.as_micros() as u64;
            options.push(quote! {
                timeout: ::core::option::Option::Some(::scheduler::__private::Timeout::After(
                    ::core::time::Duration::from_micros(#us),
                )),
            });
        }
    }
    if let Some(priority) = args.priority {
        options.push(quote! { priority: #priority, });
    }
    if args.multilaunch.is_some() {
        options.push(quote! { multilaunch: ::core::option::Option::Some(true), });
    }
    for (flag, field) in [
        (args.disabled, quote!(disabled)),
        (args.permanent, quote!(permanent)),
        (args.on_startup, quote!(on_startup)),
        (args.on_shutdown, quote!(on_shutdown)),
    ] {
        if flag.is_some() {
            options.push(quote! { #field: true, });
        }
    }
    if !options.is_empty() {
        more.push(quote! {
            options: ::scheduler::__private::TaskOptions {
                #(#options)*
                ..::scheduler::__private::TaskOptions::DEFAULT
            },
        });
    }
    if !sig.params.is_empty() {
        fields.push(quote! { needs: &[#(#needs),*], });
    }
    // The payload's type, for checking a payload before it is enqueued (`trigger`).
    if let Some(ty) = &sig.payload {
        let constructor = if sig.payload_optional {
            quote!(optional)
        } else {
            quote!(of)
        };
        more.push(quote! {
            payload: ::scheduler::__private::PayloadShape::#constructor::<#ty>(),
        });
    }
    let in_process = args.execution.map(|(e, _)| e) == Some(Execution::Process);
    let returns_unit = matches!(output, syn::Type::Tuple(t) if t.elems.is_empty());
    let mut probe_import = TokenStream::new();
    if !in_process && !returns_unit && !borrows(output) {
        // The value goes into the log as JSON where its type allows, so that
        // `Return<task>` reads it after a restart; where it does not, it stays in memory.
        // Which one is decided here, where the type is concrete (see `Probe`). A type
        // that borrows (`&'static str`) is left out: the probe's `DeserializeOwned` bound
        // on it is an error, not a fallback, and such a value cannot be read back anyway.
        // `NoSerde` is imported once in the task's block (below) rather than in a block
        // of its own here: a block with an item is a scope for name resolution, and cost
        // about 45,000 instructions per task (`bench/compile_floor.py`).
        fields.push(quote! {
            output_codec: ::scheduler::__private::Probe::<#output>::OUTPUT_CODEC,
        });
        probe_import = quote! { use ::scheduler::__private::NoSerde as _; };
    }
    if in_process {
        // A task in a child process sends its value back as JSON, and a task in the
        // scheduler's process may read it: its type must cross both ways. Other values
        // stay in the process (a child task that reads one brings the codec, see
        // `ChildParam`).
        let codec =
            quote_spanned! {sig.output_span=> ::scheduler::__private::process_codec::<#output> };
        fields.push(quote! { output_codec: #codec, });
        if !sig.params.is_empty() {
            let each = sig.params.iter().map(|p| {
                let ty = &p.ty;
                match &p.producer {
                    Some(producer) => {
                        let task = &producer.task;
                        // The bounds of `return_codec` are checked over its path, spanned
                        // over the task as its type in the signature is.
                        let root = quote_spanned!(producer.first=> ::);
                        quote_spanned! {producer.last=>
                            codecs.extend(#root scheduler::__private::return_codec::<#task>());
                        }
                    }
                    None => quote_spanned! {ty.span()=>
                        codecs.extend(<#ty as ::scheduler::__private::ChildParam>::codec());
                    },
                }
            });
            more.push(quote! {
                child_codecs: {
                    fn __scheduler_child_codecs() -> ::std::vec::Vec<(&'static str, ::scheduler::__private::OutputCodec)> {
                        let mut codecs = ::std::vec::Vec::new();
                        #(#each)*
                        codecs
                    }
                    __scheduler_child_codecs
                },
            });
        }
    }
    if !more.is_empty() {
        // Each field of `TaskMore` is pushed once at most: with all of them, the update
        // from `NONE` would be needless (clippy's `needless_update` in the user's crate).
        let rest = (more.len() < TASK_MORE_FIELDS)
            .then(|| quote! { ..::scheduler::__private::TaskMore::NONE });
        fields.push(quote! {
            more: &::scheduler::__private::TaskMore {
                #(#more)*
                #rest
            },
        });
    }
    // Likewise for `TaskDef`: `name`, `body`, `module`, `file` and `line` are always
    // written, and each entry of `fields` is one field but the start condition, two.
    let given = 5 + fields.len() + usize::from(conditions.start.is_some());
    let rest =
        (given < TASK_DEF_FIELDS).then(|| quote! { ..::scheduler::__private::TaskDef::BASE });
    quote! {
        const _: () = {
            #probe_import
            #call

            ::scheduler::__private::register_task! {
                ::scheduler::__private::TaskDef {
                    name: #name,
                    body: ::scheduler::__private::RegisteredBody::#body_variant(__scheduler_call),
                    #(#fields)*
                    module: ::core::module_path!(),
                    file: ::core::file!(),
                    line: ::core::line!(),
                    #rest
                }
            }
        };
    }
}
