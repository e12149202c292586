//! `#[task(...)]`: parse the options and the function, check everything (conditions with
//! the runtime's parser, option combinations, parameter shapes), then expand.
//!
//! On any error the function is still emitted, with its marker type when its return type
//! is known, so that the rest of the crate type-checks and reports nothing more.

mod args;
mod expand;
mod signature;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::quote;
use syn::parse::{Parse, ParseStream};

use scheduler_core::task_options::{BodyKind, OptionConflict};

use crate::errors::Errors;
use args::{RawArgs, TaskArgs};
use signature::Signature;

/// What the macro reads of the function: its attributes, visibility and signature. The body
/// is kept unparsed (it goes back to the compiler as it came): in a crate with many tasks,
/// building a syntax tree of every body was a good part of the expansion time.
pub(crate) struct TaskFn {
    pub(crate) attrs: Vec<syn::Attribute>,
    pub(crate) vis: syn::Visibility,
    pub(crate) sig: syn::Signature,
    pub(crate) body: proc_macro2::Group,
}

impl Parse for TaskFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(syn::Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body = match input.parse::<TokenTree>()? {
            TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => g,
            other => return Err(syn::Error::new(other.span(), "expected the function body")),
        };
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function"));
        }
        Ok(TaskFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: TaskFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let error =
                syn::Error::new(e.span(), "`#[task]` goes on a function").to_compile_error();
            return quote! { #item #error };
        }
    };
    let mut errors = Errors::default();
    let args = match syn::parse2::<RawArgs>(attr) {
        Ok(raw) => TaskArgs::from_raw(raw, &mut errors),
        Err(e) => {
            errors.push(e);
            TaskArgs::default()
        }
    };
    let sig = signature::analyze(&func, &mut errors);
    let conditions = check_conditions(&args, &mut errors);
    validate(&args, &sig, &mut errors);
    let name = task_name(&func, &args);
    // The function goes back as it came but for the types of its `Return<task>` parameters
    // (see `signature::Producer`), which also go back when there are other errors: the
    // task they name is checked once, there. The body is passed on unconverted.
    let item = match &sig.emitted {
        Some(emitted) => {
            let (attrs, vis, body) = (&func.attrs, &func.vis, &func.body);
            quote! { #(#attrs)* #vis #emitted #body }
        }
        None => item,
    };
    let marker = if sig.marker_possible {
        expand::marker(&func, &name, &sig)
    } else {
        TokenStream::new()
    };
    match errors.combined() {
        Some(e) => {
            let e = e.to_compile_error();
            quote! { #item #marker #e }
        }
        None => {
            let registration = expand::registration(&func, &name, &args, &sig, &conditions);
            let customs = &conditions.customs;
            // The function goes back as it came: re-printing the parsed item would convert
            // every token of its body again.
            quote! { #item #marker #registration #customs }
        }
    }
}

fn task_name(func: &TaskFn, args: &TaskArgs) -> String {
    match &args.name {
        Some(n) => n.value(),
        None => func
            .sig
            .ident
            .to_string()
            .trim_start_matches("r#")
            .to_owned(),
    }
}

/// The start and end conditions, parsed, as the registration writes them (`None` where a
/// condition is absent or has an error, which is then in `errors`).
pub(crate) struct CheckedConditions {
    pub(crate) start: Option<crate::condition::Checked>,
    pub(crate) end: Option<crate::condition::Checked>,
    /// The checks of the custom conditions they call (see `cond::call_checks`).
    pub(crate) customs: TokenStream,
}

fn check_conditions(args: &TaskArgs, errors: &mut Errors) -> CheckedConditions {
    let mut customs = TokenStream::new();
    let mut check = |lit: &Option<syn::LitStr>| {
        let lit = lit.as_ref()?;
        match lit.value().parse::<scheduler_core::condition::Condition>() {
            Ok(condition) => {
                customs.extend(crate::cond::call_checks(lit, &condition));
                Some(crate::condition::Checked::new(lit, &condition))
            }
            Err(e) => {
                errors.push(crate::condition::error_in_literal(lit, &e));
                None
            }
        }
    };
    let start = check(&args.condition);
    let end = check(&args.end);
    CheckedConditions {
        start,
        end,
        customs,
    }
}

/// The combinations of options that do not go together, found by the runtime's own rules
/// ([`TaskOptions::conflicts`](scheduler_core::task_options::TaskOptions::conflicts)) and
/// reported at the option that causes each; and what only an attribute can get wrong.
fn validate(args: &TaskArgs, sig: &Signature, errors: &mut Errors) {
    let kind = if sig.is_async {
        BodyKind::Async
    } else {
        BodyKind::Blocking
    };
    let conflicts = args.options().conflicts(kind);
    if conflicts.contains(&OptionConflict::StartupAndShutdown)
        && let Some(span) = args.on_shutdown
    {
        errors.at(
            span,
            "a task runs either `on_startup` or `on_shutdown`, not both",
        );
    }
    if args.on_startup.or(args.on_shutdown).is_some()
        && let Some(cond) = &args.condition
    {
        errors.spanned(
            cond,
            "a task that runs at start-up or shutdown takes no condition: it runs then, and when asked",
        );
    }
    for conflict in conflicts {
        match conflict {
            OptionConflict::PermanentWithTimeout => {
                if let Some((_, span)) = args.timeout {
                    errors.at(span, "a `permanent` task never times out: remove `timeout`");
                }
            }
            OptionConflict::MainWithMultilaunch => {
                if let Some(span) = args.multilaunch {
                    errors.at(span, "a task with `execution = \"main\"` runs inline and cannot overlap itself: remove `multilaunch`");
                }
            }
            OptionConflict::BlockingWithAsync => {
                if let Some((_, span)) = args.execution {
                    errors.at(
                        span,
                        "`execution = \"async\"` needs an `async fn`; a plain `fn` runs on a thread (the default)",
                    );
                }
            }
            // Reported above, before the condition check, or impossible for a function.
            OptionConflict::StartupAndShutdown | OptionConflict::CommandWithExecution(_) => {}
            other => errors.at(proc_macro2::Span::call_site(), other.to_string()),
        }
    }
}
