use scheduler::prelude::*;

// Strict ISO 8601: every field with all its digits, seconds included, an upper-case `T`.
#[task(at = "2026-12-1T08:00:00")]
fn one_digit_day() {}

#[task(at = "2026-12-01T08:00")]
fn no_seconds() {}

#[task(at = "2026-12-01t08:00:00")]
fn lower_case_t() {}

// An offset's minutes run to 59; a date must exist; digits are ASCII.
#[task(at = "2026-12-01T08:00:00+05:99")]
fn offset_out_of_range() {}

#[task(at = "2026-02-30")]
fn no_such_day() {}

#[task(at = "2026-12-٠1")]
fn arabic_digit() {}

// The date is a string; the grace a length of time, and only beside a date.
#[task(at = 20261201)]
fn not_a_string() {}

#[task(at = "2026-12-01", misfire_grace = "soon")]
fn bad_grace() {}

#[task(misfire_grace = "1 hour")]
fn grace_without_date() {}

// Flask-TaskX's keyword.
#[task(run_date = "2009-11-06")]
fn flask_taskx_keyword() {}

// The same mistakes inside a condition string point into it.
#[task("once at 2026-12-01T08:00:00.1234567 & ~task 'x' is running")]
fn long_fraction() {}

#[task("once at 2026-12-01 grace")]
fn grace_without_length() {}

fn main() {}
