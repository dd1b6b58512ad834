//! One line for an error and every cause behind it, for logs and the
//! command line: `error: cause: cause …`.

use std::error::Error;
use std::fmt::Write as _;

/// `error: cause: cause ...`. Errors whose message already holds their
/// cause keep it out of `source()`, so that each is printed once.
pub fn cause_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}
