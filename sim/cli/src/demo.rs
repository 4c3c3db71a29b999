//! `demo`: a short guided tour of built-in scenarios.

use crate::cli::{Format, Output};
use crate::text::Painter;

/// Run the tour.
#[must_use]
pub(crate) fn run(_p: Painter, _format: Format) -> Output {
    Output::default()
}
