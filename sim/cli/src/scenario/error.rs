//! Scenario errors: the file, the line and what was expected.

use core::fmt;

/// Every class of scenario error, each with its own test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorClass {
    /// The file cannot be read.
    Io,
    /// Not valid TOML.
    Syntax,
    /// A field the format does not have (or an op does not take).
    UnknownField,
    /// A required field is missing.
    Missing,
    /// A value of the wrong type.
    Type,
    /// A value outside what the field accepts.
    Value,
    /// An unsupported format version.
    Version,
    /// A name (label, request, task, CPU) that is not defined.
    Reference,
    /// An op, request or raw register that does not exist on the architecture it runs on.
    Arch,
}

impl ErrorClass {
    /// Classify a TOML/serde error by its message.
    pub(crate) fn of_toml(error: &toml::de::Error) -> Self {
        let message = error.message();
        if message.contains("unknown field") {
            Self::UnknownField
        } else if message.contains("missing field") {
            Self::Missing
        } else if message.contains("invalid type") || message.contains("did not match any variant")
        {
            Self::Type
        } else if message.contains("unknown variant") || message.contains("invalid value") {
            Self::Value
        } else {
            Self::Syntax
        }
    }

    /// The name in output.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Io => "io",
            Self::Syntax => "syntax",
            Self::UnknownField => "unknown-field",
            Self::Missing => "missing",
            Self::Type => "type",
            Self::Value => "value",
            Self::Version => "version",
            Self::Reference => "reference",
            Self::Arch => "arch",
        }
    }
}

/// A bad scenario: exit status 2.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScenarioError {
    /// The file, as given.
    pub file: String,
    /// 1-based line, when the error has a place.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// What kind of error.
    pub class: ErrorClass,
    /// What was wrong and what was expected.
    pub message: String,
    /// The offending line's text.
    pub excerpt: Option<String>,
}

impl ScenarioError {
    /// An error at byte range `span` of `text` (the file `file`).
    #[must_use]
    pub fn at(
        file: &str,
        text: &str,
        span: Option<core::ops::Range<usize>>,
        class: ErrorClass,
        message: String,
    ) -> Self {
        let (line, column, excerpt) = match span {
            Some(span) => {
                let start = span.start.min(text.len());
                let before = text.get(..start).unwrap_or("");
                let line = before.matches('\n').count() + 1;
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
                let excerpt = text.lines().nth(line - 1).map(str::to_owned);
                (Some(line), Some(column), excerpt)
            }
            None => (None, None, None),
        };
        Self {
            file: file.to_owned(),
            line,
            column,
            class,
            message: message.trim_end().to_owned(),
            excerpt,
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => write!(f, "{}:{line}:{column}: ", self.file)?,
            (Some(line), None) => write!(f, "{}:{line}: ", self.file)?,
            _ => write!(f, "{}: ", self.file)?,
        }
        write!(f, "{} error: {}", self.class.name(), self.message)?;
        if let (Some(line), Some(excerpt)) = (self.line, &self.excerpt) {
            write!(f, "\n{line:>5} | {excerpt}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_and_excerpt_from_a_byte_span() {
        let text = "version = 1\nname = \"x\"\narch = \"arm\"\n";
        let start = text.find("\"arm\"").unwrap_or(0);
        let e = ScenarioError::at(
            "f.toml",
            text,
            Some(start..start + 5),
            ErrorClass::Value,
            "bad".into(),
        );
        assert_eq!((e.line, e.column), (Some(3), Some(8)));
        assert_eq!(e.excerpt.as_deref(), Some("arch = \"arm\""));
        assert_eq!(
            e.to_string(),
            "f.toml:3:8: value error: bad\n    3 | arch = \"arm\""
        );
    }

    #[test]
    fn no_span_names_the_file_only() {
        let e = ScenarioError::at("f.toml", "", None, ErrorClass::Io, "cannot read".into());
        assert_eq!(e.to_string(), "f.toml: io error: cannot read");
    }
}
