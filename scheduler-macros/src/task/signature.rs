//! The shape of a `#[task]` function: async or not, named owned parameters, and the type
//! of its value (the `Ok` type of a `Result`); and the signature it is emitted with, whose
//! `Return<task>` parameters name their task so that a mistake in it is one error.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Pat, PathArguments, ReturnType, Type};

use crate::errors::Errors;

pub(crate) struct Param {
    /// The parameter's name (what `Arg<T>` and `Env<T>` look up).
    pub(crate) name: String,
    pub(crate) ty: Type,
    /// For `Return<task>` (or `Option<Return<task>>`), the task: the value's type names
    /// only what the task returns, so its name is taken from here.
    pub(crate) producer: Option<Producer>,
    /// `#[arg(...)]` or `#[env(...)]` on the parameter.
    pub(crate) source: Option<Source>,
}

/// Where a parameter's value comes from, as `#[arg(...)]` or `#[env(...)]` says.
pub(crate) struct Source {
    /// `Env<T>` (else `Arg<T>`).
    pub(crate) env: bool,
    /// The value's type: the `T` of `Arg<T>` or `Env<T>`.
    pub(crate) value_ty: Type,
    /// `key = "..."` / `var = "..."`: the parameter or variable to read.
    pub(crate) key: Option<syn::LitStr>,
    /// `default = <expr>`: the value when there is none.
    pub(crate) default: Option<syn::Expr>,
    /// `with = path::to_fn`: a function computing the value for each run of this task.
    pub(crate) with: Option<syn::Path>,
}

/// Reads `#[arg(key = "...", default = ..., with = f)]` or `#[env(var = "...", default = ...)]`
/// on a parameter of type `Arg<T>` / `Env<T>`.
fn source_of(pt: &syn::PatType, errors: &mut Errors) -> Option<Source> {
    let mut found = None;
    for attr in &pt.attrs {
        let env = if attr.path().is_ident("arg") {
            false
        } else if attr.path().is_ident("env") {
            true
        } else {
            continue;
        };
        let (wrapper, key_name, attr_name) = if env {
            ("Env", "var", "env")
        } else {
            ("Arg", "key", "arg")
        };
        let Some(value_ty) = argument_of(&pt.ty, wrapper) else {
            errors.spanned(
                attr,
                format!("`#[{attr_name}(...)]` goes on a parameter of type `{wrapper}<T>`"),
            );
            continue;
        };
        let mut source = Source {
            env,
            value_ty: value_ty.clone(),
            key: None,
            default: None,
            with: None,
        };
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(key_name) {
                let lit: syn::LitStr = meta.value()?.parse()?;
                if lit.value().is_empty() {
                    return Err(syn::Error::new(lit.span(), "the name must not be empty"));
                }
                source.key = Some(lit);
            } else if meta.path.is_ident("default") {
                source.default = Some(meta.value()?.parse()?);
            } else if !env && meta.path.is_ident("with") {
                source.with = Some(meta.value()?.parse()?);
            } else {
                let options = if env {
                    "`var = \"...\"` and `default = ...`"
                } else {
                    "`key = \"...\"`, `default = ...` and `with = function`"
                };
                return Err(meta.error(format!(
                    "unknown option of `#[{attr_name}]`; it takes {options}"
                )));
            }
            Ok(())
        });
        if let Err(e) = parsed {
            errors.push(e);
            continue;
        }
        if source.with.is_some() {
            if let Some(key) = &source.key {
                errors.spanned(key, "a value computed `with` a function has no key to read");
            }
            if let Some(default) = &source.default {
                errors.spanned(
                    default,
                    "a value computed `with` a function needs no default",
                );
            }
        }
        if found.is_some() {
            errors.spanned(attr, "one `#[arg]` or `#[env]` per parameter");
        }
        found = Some(source);
    }
    found
}

/// The task named by a parameter `Return<task>`, inside any number of `Option`s.
///
/// The function is emitted with the parameter's type written `<task as Producer>::Return`
/// (or `OptionalReturn`, see `scheduler::__private::Producer`) instead of `Return<task>`,
/// and the generated code names the task the same way: outside any generic arguments, a
/// name that is no type gets the compiler's "cannot find type" alone, not also its hint to
/// add a type parameter to the function.
///
/// What can fail on the task is spanned over the task as written, from its first token to
/// its last, which is where the compiler reports the checks of the function's signature:
/// the same error at the same place is reported once, so a mistake is one error however
/// many times the task is named.
pub(crate) struct Producer {
    /// The task as written.
    pub(crate) task: Type,
    /// How many `Option`s are around `Return<task>`.
    options: usize,
    /// Where the task's first token is.
    pub(crate) first: Span,
    /// Where the task's last token is.
    pub(crate) last: Span,
}

impl Producer {
    fn new(task: &Type) -> Producer {
        let mut tokens = task.to_token_stream().into_iter();
        let first = tokens.next().map_or_else(|| task.span(), |t| t.span());
        let last = tokens.last().map_or(first, |t| t.span());
        Producer {
            task: task.clone(),
            options: 0,
            first,
            last,
        }
    }

    /// `<task as Producer>`, spanned over the task.
    pub(crate) fn producer(&self) -> TokenStream {
        let task = &self.task;
        let open = quote_spanned!(self.first=> <);
        quote_spanned! {self.last=> #open #task as ::scheduler::__private::Producer> }
    }

    /// The parameter's type, as the function is emitted and as the generated code names it.
    /// (An `Option` of `Option<Return<task>>`, which is never `None`, has the task inside
    /// generic arguments again.)
    pub(crate) fn param_type(&self) -> TokenStream {
        let (producer, span) = (self.producer(), self.last);
        let mut ty = match self.options {
            0 => quote_spanned! {span=> #producer::Return },
            _ => quote_spanned! {span=> #producer::OptionalReturn },
        };
        for _ in 1..self.options {
            let open = quote_spanned!(self.first=> ::core::option::Option<);
            ty = quote_spanned! {span=> #open #ty > };
        }
        ty
    }
}

pub(crate) struct Signature {
    pub(crate) is_async: bool,
    pub(crate) params: Vec<Param>,
    /// The task's value type: the `Ok` type of a `Result`, the returned type, or `()`.
    pub(crate) output: Type,
    /// Whether the function returns a `Result` (an `Err` is a failure).
    pub(crate) returns_result: bool,
    /// Where the return type is written (or the function name, for `()`).
    pub(crate) output_span: Span,
    /// The signature as the function is emitted, where it differs from the one written:
    /// with each `Return<task>` parameter's type written through its [`Producer`].
    pub(crate) emitted: Option<syn::Signature>,
    /// The `T` of a `Payload<T>` parameter (inside any number of `Option`s): what
    /// `task::apply(payload)` takes.
    pub(crate) payload: Option<Type>,
    /// Whether that parameter is an `Option` (a run without a payload is fine).
    pub(crate) payload_optional: bool,
    /// Whether the marker type can be emitted beside the function: not for a method
    /// (it would land inside an `impl`) nor for an `impl Trait` value (it has no name),
    /// where it would only add errors to the one already reported.
    pub(crate) marker_possible: bool,
}

/// A type as the user would write it, for messages (`Arg<String>`, not `Arg < String >`).
fn type_text(ty: &Type) -> String {
    let mut text = quote::quote!(#ty).to_string();
    for (from, to) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" ,", ","),
        (" :: ", "::"),
        (":: ", "::"),
        ("& ", "&"),
        ("[ ", "["),
        (" ]", "]"),
        ("( ", "("),
        (" )", ")"),
    ] {
        text = text.replace(from, to);
    }
    text
}

/// The single type argument of a path type whose last segment is `name`: `T` in
/// `Option<T>` or `std::option::Option<T>`.
fn argument_of<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match (args.args.len(), args.args.first()?) {
        (1, GenericArgument::Type(t)) => Some(t),
        _ => None,
    }
}

/// The task in `Return<task>`, also inside any number of `Option`s. Recognised by how it
/// is written, like `Result` below: `Return<task>` is an alias of a type that does not
/// name the task (see `scheduler::Return`).
fn producer_of(ty: &Type) -> Option<Producer> {
    if let Some(inner) = argument_of(ty, "Option") {
        return producer_of(inner).map(|p| Producer {
            options: p.options + 1,
            ..p
        });
    }
    argument_of(ty, "Return").map(Producer::new)
}

/// The `T` of `Payload<T>`, also inside `Option`s.
fn payload_of(ty: &Type) -> Option<&Type> {
    match argument_of(ty, "Option") {
        Some(inner) => payload_of(inner),
        None => argument_of(ty, "Payload"),
    }
}

fn split_result(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

pub(crate) fn analyze(f: &super::TaskFn, errors: &mut Errors) -> Signature {
    let sig = &f.sig;
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "a task function cannot be generic: the scheduler calls it with concrete types",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, "a task function cannot be variadic");
    }
    let mut params = Vec::new();
    let mut marker_possible = true;
    let mut emitted: Option<syn::Signature> = None;
    let mut payload: Option<Type> = None;
    let mut payload_optional = false;
    for (index, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                marker_possible = false;
                errors.spanned(r, "a task is a free function, not a method: remove `self`")
            }
            FnArg::Typed(pt) => {
                let name = match &*pt.pat {
                    Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                        pi.ident.to_string().trim_start_matches("r#").to_owned()
                    }
                    Pat::Wild(_) => "_".to_owned(),
                    other => {
                        errors.spanned(
                            other,
                            "write a plain parameter name: `Arg<T>` and `Env<T>` read the value of that name",
                        );
                        continue;
                    }
                };
                match &*pt.ty {
                    Type::Reference(r) => {
                        let inner = &r.elem;
                        errors.spanned(
                            r,
                            format!(
                                "a task parameter is an owned value: write `{}` (the value stays shared inside `Return` and `Arg`)",
                                type_text(inner)
                            ),
                        );
                        continue;
                    }
                    Type::ImplTrait(t) => {
                        errors.spanned(
                            t,
                            "a task parameter needs a concrete type, not `impl Trait`",
                        );
                        continue;
                    }
                    _ => {}
                }
                if payload.is_none() {
                    payload = payload_of(&pt.ty).cloned();
                    payload_optional = payload.is_some() && argument_of(&pt.ty, "Option").is_some();
                }
                let producer = producer_of(&pt.ty);
                if let Some(producer) = &producer {
                    let emitted = emitted.get_or_insert_with(|| sig.clone());
                    if let Some(FnArg::Typed(pt)) = emitted.inputs.iter_mut().nth(index) {
                        *pt.ty = Type::Verbatim(producer.param_type());
                    }
                }
                let source = source_of(pt, errors);
                if pt
                    .attrs
                    .iter()
                    .any(|a| a.path().is_ident("arg") || a.path().is_ident("env"))
                {
                    // The attributes are the macro's: the compiler does not know them.
                    let emitted = emitted.get_or_insert_with(|| sig.clone());
                    if let Some(FnArg::Typed(pt)) = emitted.inputs.iter_mut().nth(index) {
                        pt.attrs
                            .retain(|a| !a.path().is_ident("arg") && !a.path().is_ident("env"));
                    }
                }
                params.push(Param {
                    name,
                    ty: (*pt.ty).clone(),
                    producer,
                    source,
                });
            }
        }
    }
    let (output, returns_result, output_span) = match &sig.output {
        ReturnType::Default => (syn::parse_quote!(()), false, sig.ident.span()),
        ReturnType::Type(_, ty) => {
            if let Type::ImplTrait(t) = &**ty {
                marker_possible = false;
                errors.spanned(t, "a task must return a concrete type, not `impl Trait`");
            }
            match split_result(ty) {
                Some(ok) => (ok, true, ty.span()),
                None => ((**ty).clone(), false, ty.span()),
            }
        }
    };
    Signature {
        is_async: sig.asyncness.is_some(),
        params,
        output,
        returns_result,
        output_span,
        emitted,
        payload,
        payload_optional,
        marker_possible,
    }
}
