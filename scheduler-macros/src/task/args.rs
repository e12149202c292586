//! The options of `#[task(...)]`: an optional condition string first, then `key = value`
//! options and flags, each checked on its own (unknown, duplicate, bad value).

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Token, UnOp};

use scheduler_core::task_options::{Execution, TaskOptions, Timeout};

use crate::errors::Errors;

/// One item between the parentheses.
pub(crate) enum RawArg {
    Condition(LitStr),
    Flag(Ident),
    Option(Ident, Expr),
    /// `cron(month = "6-8", day = "3rd fri")`: an option that takes `key = value` fields.
    Fields(Ident, Punctuated<(Ident, Expr), Token![,]>),
}

impl Parse for RawArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return Ok(RawArg::Condition(input.parse()?));
        }
        let key: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a condition string or an option such as `name = \"...\"`",
            )
        })?;
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Ok(RawArg::Option(key, input.parse()?))
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            let fields = Punctuated::parse_terminated_with(&content, |c| {
                let name: Ident = c.parse()?;
                c.parse::<Token![=]>()?;
                Ok((name, c.parse::<Expr>()?))
            })?;
            Ok(RawArg::Fields(key, fields))
        } else {
            Ok(RawArg::Flag(key))
        }
    }
}

/// The parsed list.
pub(crate) struct RawArgs(pub(crate) Punctuated<RawArg, Token![,]>);

impl Parse for RawArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Ok(RawArgs(Punctuated::parse_terminated(input)?))
    }
}

/// The checked options.
#[derive(Default)]
pub(crate) struct TaskArgs {
    pub(crate) condition: Option<LitStr>,
    pub(crate) name: Option<LitStr>,
    pub(crate) end: Option<LitStr>,
    pub(crate) execution: Option<(Execution, Span)>,
    pub(crate) timeout: Option<(Timeout, Span)>,
    pub(crate) priority: Option<i32>,
    pub(crate) disabled: Option<Span>,
    pub(crate) multilaunch: Option<Span>,
    pub(crate) permanent: Option<Span>,
    pub(crate) on_startup: Option<Span>,
    pub(crate) on_shutdown: Option<Span>,
    /// `cron(...)`: the condition text of the fields and the option's span, until
    /// `from_raw` folds it into `condition`.
    pub(crate) cron: Option<(String, Span)>,
    /// `at = "2026-12-01T08:00:00"`: the date in canonical form and the option's span, until
    /// `from_raw` folds `once at ...` into `condition`.
    pub(crate) at: Option<(String, Span)>,
    /// `misfire_grace = "1 hour"`: the grace of the `at` date, and the option's key.
    pub(crate) misfire_grace: Option<(scheduler_core::time::Interval, Ident)>,
}

const OPTIONS: &[&str] = &[
    "name",
    "end",
    "execution",
    "timeout",
    "priority",
    "at",
    "misfire_grace",
];
const FLAGS: &[&str] = &[
    "disabled",
    "multilaunch",
    "permanent",
    "on_startup",
    "on_shutdown",
];

/// `cron(name = "expression", ...)` checked field by field (an error points into the
/// literal of its field), then as a whole (fields that never match together): the condition
/// text `cron(...)`, or `None` after reporting the errors.
fn cron_fields(
    key: &Ident,
    fields: &Punctuated<(Ident, Expr), Token![,]>,
    errors: &mut Errors,
) -> Option<(String, Span)> {
    use scheduler_core::condition::CronFields;
    let mut parts = Vec::new();
    let mut ok = true;
    let mut names: Vec<String> = Vec::new();
    for (name, value) in fields {
        // A field given twice: the error under the second one.
        if names.contains(&name.to_string()) {
            errors.spanned(
                name,
                format!("the field `{name}` is given twice; give each field once; list several values with commas"),
            );
            ok = false;
            continue;
        }
        names.push(name.to_string());
        let text = match value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => s.value(),
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => i.base10_digits().to_owned(),
            other => {
                errors.spanned(
                    other,
                    format!("the field `{name}` takes a string or a number: `{name} = \"...\"`"),
                );
                ok = false;
                continue;
            }
        };
        let part = format!("{name} = {text}");
        if let Err(e) = CronFields::parse_spec(&part) {
            let prefix = part.len() - text.len();
            let message = render_field_error(&text, &e, prefix);
            let span = match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) if e.span.start >= prefix => {
                    crate::lit_span::span_of_range(s, e.span.start - prefix..e.span.end - prefix)
                }
                _ if e.span.start < prefix => name.span(),
                _ => syn::spanned::Spanned::span(value),
            };
            errors.push(syn::Error::new(span, message));
            ok = false;
            continue;
        }
        parts.push(part);
    }
    if !ok {
        return None;
    }
    let body = parts.join(", ");
    match CronFields::parse_spec(&body) {
        Ok(fields) => Some((format!("cron({fields})"), key.span())),
        Err(e) => {
            let hint = e.hint.map(|h| format!("; {h}")).unwrap_or_default();
            errors.spanned(key, format!("{}{hint}", e.kind));
            None
        }
    }
}

/// The error of one field, with the field's value and a caret under the mistake.
fn render_field_error(
    value: &str,
    e: &scheduler_core::condition::CronFieldsParseError,
    prefix: usize,
) -> String {
    let mut out = e.kind.to_string();
    if e.span.start >= prefix {
        let start = value[..e.span.start - prefix].chars().count();
        let width = value
            .get(e.span.start - prefix..e.span.end - prefix)
            .map_or(1, |s| s.chars().count().max(1));
        out.push_str(&format!(
            "\n | {value}\n | {}{}",
            " ".repeat(start),
            "^".repeat(width)
        ));
    }
    if let Some(hint) = &e.hint {
        out.push_str(&format!("\n = help: {hint}"));
    }
    out
}

fn literal_str(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s),
        _ => None,
    }
}

fn literal_int(expr: &Expr) -> Option<syn::Result<i64>> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => Some(i.base10_parse::<i64>()),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => match &**expr {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => Some(i.base10_parse::<i64>().map(|v| -v)),
            _ => None,
        },
        _ => None,
    }
}

fn literal_bool(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Some(b.value),
        _ => None,
    }
}

fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .copied()
        .filter(|c| {
            let common = word
                .chars()
                .zip(c.chars())
                .take_while(|(a, b)| a == b)
                .count();
            common >= 3 || strsim_like(word, c) <= 2
        })
        .min_by_key(|c| strsim_like(word, c))
}

/// Where a feature lives that a user may look for among the options, by the option word
/// they would try: retries, schedules and dependencies are written in the condition (the
/// hint shows the attribute with it there, made from the value given where it can be),
/// and the time zone is the scheduler's.
fn feature_elsewhere(
    key: &str,
    value: Option<&Expr>,
    condition: Option<&LitStr>,
) -> Option<String> {
    let condition = condition.map(LitStr::value);
    let text = value.and_then(literal_str).map(LitStr::value);
    let attribute = |condition: &str| format!("`#[task({condition:?})]`");
    match key {
        "retry" | "retries" | "max_retries" => {
            let times = match value {
                Some(Expr::Lit(ExprLit {
                    lit: Lit::Int(n), ..
                })) => n.base10_digits().to_owned(),
                _ => "N".to_owned(),
            };
            let with_retry = match &condition {
                Some(c) => format!("{c} | retry {times}"),
                None => format!("... | retry {times}"),
            };
            Some(format!(
                "retries are written in the condition, `| retry N` at its end (run again after a failure, up to N times in a row): {}",
                attribute(&with_retry)
            ))
        }
        "cron" | "schedule" | "every" | "interval" => {
            let schedule = match (key, text) {
                ("cron", Some(fields)) => format!("cron {fields}"),
                ("every" | "interval", Some(length)) => format!("every {length}"),
                (_, Some(schedule)) => schedule,
                (_, None) => "every 10 minutes".to_owned(),
            };
            Some(match &condition {
                Some(_) => format!(
                    "a schedule is written in the condition string, and this task has one: add `{schedule}` to it with `&` or `|`"
                ),
                None => format!(
                    "a schedule is the condition string, first in the attribute: {}",
                    attribute(&schedule)
                ),
            })
        }
        "after" | "depends_on" | "upstream" => {
            let names: Option<Vec<String>> = match value {
                Some(Expr::Array(array)) => array
                    .elems
                    .iter()
                    .map(|e| literal_str(e).map(LitStr::value))
                    .collect(),
                _ => text.map(|name| vec![name]),
            };
            let after = match names.as_deref() {
                Some([one]) => format!("after task '{one}'"),
                Some(many) if !many.is_empty() => format!(
                    "after tasks {}",
                    many.iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => "after task '...'".to_owned(),
            };
            // Added to the task's condition: `&` binds tighter than `|`, so a condition with
            // an `|` of its own goes in parentheses.
            let with_after = match &condition {
                Some(c) if c.contains('|') => format!("({c}) & {after}"),
                Some(c) => format!("{c} & {after}"),
                None => after,
            };
            Some(format!(
                "a dependency is written in the condition: {}",
                attribute(&with_after)
            ))
        }
        // Flask-TaskX's `define_date_task(run_date=...)`.
        "run_date" | "date" | "once" => Some(format!(
            "a one-off date is the option `at`: `at = \"{}\"`",
            text.as_deref().unwrap_or("2026-12-01T08:00:00")
        )),
        "timezone" | "time_zone" | "tz" | "zone" => Some(
            "the time zone is a setting of the scheduler, for all its tasks: `SCHEDULER_TIME_ZONE` or `Scheduler::builder().time_zone(...)`"
                .to_owned(),
        ),
        _ => None,
    }
}

/// Edit distance, for suggestions.
fn strsim_like(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(prev + usize::from(ca != *cb));
            prev = current;
        }
    }
    row[b.len()]
}

impl TaskArgs {
    /// The options as the runtime holds them.
    pub(crate) fn options(&self) -> TaskOptions {
        TaskOptions {
            execution: self.execution.map(|(e, _)| e),
            timeout: self.timeout.map(|(t, _)| t),
            priority: self.priority.unwrap_or_default(),
            disabled: self.disabled.is_some(),
            multilaunch: self.multilaunch.map(|_| true),
            permanent: self.permanent.is_some(),
            on_startup: self.on_startup.is_some(),
            on_shutdown: self.on_shutdown.is_some(),
        }
    }

    pub(crate) fn from_raw(raw: RawArgs, errors: &mut Errors) -> TaskArgs {
        let mut args = TaskArgs::default();
        let mut seen: Vec<String> = Vec::new();
        for (i, arg) in raw.0.into_iter().enumerate() {
            match arg {
                RawArg::Condition(lit) => {
                    if i > 0 {
                        errors.spanned(
                            &lit,
                            "the condition string comes first: `#[task(\"daily\", ...)]`",
                        );
                    } else {
                        args.condition = Some(lit);
                    }
                }
                RawArg::Flag(ident) => args.flag(&ident, None, &mut seen, errors),
                RawArg::Fields(key, fields) => {
                    if key != "cron" {
                        errors.spanned(
                            &key,
                            format!("unknown option `{key}(...)`: only `cron(...)` takes fields, as in `cron(month = \"6-8\", day = \"3rd fri\")`"),
                        );
                        continue;
                    }
                    if seen.iter().any(|s| s == "cron") {
                        errors.spanned(&key, "`cron(...)` is given twice");
                        continue;
                    }
                    seen.push("cron".to_owned());
                    args.cron = cron_fields(&key, &fields, errors);
                }
                RawArg::Option(key, value) => {
                    let k = key.to_string();
                    if FLAGS.contains(&k.as_str()) {
                        match literal_bool(&value) {
                            Some(true) => args.flag(&key, Some(&value), &mut seen, errors),
                            Some(false) => {
                                if seen.contains(&k) {
                                    errors.spanned(&key, format!("`{k}` is given twice"));
                                }
                                seen.push(k);
                            }
                            None => errors.spanned(
                                &value,
                                format!("`{k}` is a flag: write `{k}` or `{k} = true`"),
                            ),
                        }
                        continue;
                    }
                    if !OPTIONS.contains(&k.as_str()) {
                        args.unknown(&key, Some(&value), errors);
                        continue;
                    }
                    if seen.contains(&k) {
                        errors.spanned(&key, format!("`{k}` is given twice"));
                        continue;
                    }
                    seen.push(k.clone());
                    args.option(&key, &value, errors);
                }
            }
        }
        let grace = args.misfire_grace.take();
        let date = args.at.take().map(|(date, span)| {
            let text = match &grace {
                Some((g, _)) => format!("once at {date} grace {g}"),
                None => format!("once at {date}"),
            };
            (text, span)
        });
        if let (Some((_, key)), None) = (&grace, &date) {
            errors.spanned(
                key,
                "`misfire_grace` is how late a one-off date may still run: give the date too, `at = \"2026-12-01T08:00:00\"`",
            );
        }
        // The schedules the options give (fields, a date), all of which must hold.
        let generated = match (args.cron.take(), date) {
            (Some((c, span)), Some((d, _))) => Some((format!("{c} & {d}"), span)),
            (one, other) => one.or(other),
        };
        if let Some((text, span)) = generated {
            // The options are the schedule; a condition string given too must hold as well.
            // A condition string with a mistake is kept as it is, so that its error points
            // into it.
            args.condition = Some(match args.condition.take() {
                None => LitStr::new(&text, span),
                Some(lit)
                    if lit
                        .value()
                        .parse::<scheduler_core::condition::Condition>()
                        .is_ok() =>
                {
                    LitStr::new(&format!("{text} & ({})", lit.value()), lit.span())
                }
                Some(lit) => lit,
            });
        }
        args
    }

    /// An option that does not exist: where the feature it names lives, when it is one of
    /// the condition language's (or the scheduler's); else the nearest option, or the list.
    fn unknown(&self, key: &Ident, value: Option<&Expr>, errors: &mut Errors) {
        let k = key.to_string();
        if let Some(hint) = feature_elsewhere(&k, value, self.condition.as_ref()) {
            errors.spanned(key, format!("unknown option `{k}`: {hint}"));
            return;
        }
        let all: Vec<&str> = OPTIONS.iter().chain(FLAGS).copied().collect();
        let hint = match nearest(&k, &all) {
            Some(s) => format!("; did you mean `{s}`?"),
            None => format!(
                "; the options are {}",
                all.iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        errors.spanned(key, format!("unknown option `{k}`{hint}"));
    }

    fn flag(
        &mut self,
        ident: &Ident,
        _value: Option<&Expr>,
        seen: &mut Vec<String>,
        errors: &mut Errors,
    ) {
        let k = ident.to_string();
        let slot = match k.as_str() {
            "disabled" => &mut self.disabled,
            "multilaunch" => &mut self.multilaunch,
            "permanent" => &mut self.permanent,
            "on_startup" => &mut self.on_startup,
            "on_shutdown" => &mut self.on_shutdown,
            _ if OPTIONS.contains(&k.as_str()) => {
                errors.spanned(ident, format!("`{k}` needs a value: `{k} = ...`"));
                return;
            }
            _ => {
                self.unknown(ident, None, errors);
                return;
            }
        };
        if seen.contains(&k) {
            errors.spanned(ident, format!("`{k}` is given twice"));
            return;
        }
        seen.push(k);
        *slot = Some(ident.span());
    }

    fn option(&mut self, key: &Ident, value: &Expr, errors: &mut Errors) {
        match key.to_string().as_str() {
            "name" => match literal_str(value) {
                Some(s) if s.value().is_empty() || s.value().contains('\'') => {
                    errors.spanned(s, "a task name must not be empty or contain `'`")
                }
                Some(s) => self.name = Some(s.clone()),
                None => errors.spanned(value, "`name` must be a string: `name = \"get_data\"`"),
            },
            "end" => match literal_str(value) {
                Some(s) => self.end = Some(s.clone()),
                None => errors.spanned(value, "`end` must be a condition string: `end = \"time of day after 18:00\"`"),
            },
            "execution" => {
                let parsed = literal_str(value).and_then(|s| s.value().parse::<Execution>().ok());
                const MODES: &[&str] = &[
                    Execution::Async.as_str(),
                    Execution::Thread.as_str(),
                    Execution::Main.as_str(),
                    Execution::Process.as_str(),
                ];
                match parsed {
                    Some(e) => self.execution = Some((e, key.span())),
                    None => {
                        let bare = match value {
                            Expr::Path(p) => p.path.get_ident().map(Ident::to_string),
                            _ => None,
                        };
                        let hint = match (literal_str(value), bare) {
                            (_, Some(word)) if MODES.contains(&word.as_str()) => {
                                format!("; write it in quotes: `execution = \"{word}\"`")
                            }
                            (Some(s), _) => nearest(&s.value(), MODES)
                                .map(|m| format!("; did you mean \"{m}\"?"))
                                .unwrap_or_default(),
                            _ => String::new(),
                        };
                        errors.spanned(
                            value,
                            format!("`execution` must be one of \"async\", \"thread\", \"main\", \"process\"{hint}"),
                        )
                    }
                }
            }
            "timeout" => match literal_str(value) {
                Some(s) => match s.value().parse::<Timeout>() {
                    Ok(timeout) => self.timeout = Some((timeout, key.span())),
                    Err(e) => errors.spanned(
                        s,
                        format!(
                            "`timeout` must be a length of time such as \"2 hours\", or \"never\": {}",
                            e.reason
                        ),
                    ),
                },
                None => errors.spanned(value, "`timeout` must be a string: `timeout = \"30 minutes\"`"),
            },
            "at" => match literal_str(value) {
                Some(s) => match scheduler_core::condition::parse_date(&s.value()) {
                    Ok(date) => self.at = Some((date.to_string(), key.span())),
                    Err(e) => {
                        let text = s.value();
                        let start = text[..e.span.start].chars().count();
                        let width = text[e.span.clone()].chars().count().max(1);
                        errors.at(
                            crate::lit_span::span_of_range(s, e.span.clone()),
                            format!(
                                "{}\n | {text}\n | {}{}\n = help: {}",
                                e.kind,
                                " ".repeat(start),
                                "^".repeat(width),
                                e.hint
                            ),
                        );
                    }
                },
                None => errors.spanned(
                    value,
                    "`at` must be a date in a string: `at = \"2026-12-01T08:00:00\"`",
                ),
            },
            "misfire_grace" => match literal_str(value) {
                Some(s) => match s.value().parse::<scheduler_core::time::Interval>() {
                    Ok(grace) => self.misfire_grace = Some((grace, key.clone())),
                    Err(e) => errors.spanned(
                        s,
                        format!(
                            "`misfire_grace` must be a length of time such as \"1 hour\": {}",
                            e.message()
                        ),
                    ),
                },
                None => errors.spanned(
                    value,
                    "`misfire_grace` must be a string: `misfire_grace = \"1 hour\"`",
                ),
            },
            "priority" => match literal_int(value) {
                Some(Ok(p)) if i32::try_from(p).is_ok() => self.priority = Some(p as i32),
                Some(Ok(_)) => errors.spanned(value, "`priority` must fit in an i32"),
                Some(Err(e)) => errors.push(e),
                None => errors.spanned(value, "`priority` must be a whole number: `priority = 10`"),
            },
            _ => self.unknown(key, Some(value), errors),
        }
    }
}
