//! How a write's body is encoded: JSON, NDJSON or CSV, from its
//! `Content-Type` (or its first byte) or a file's extension.

use super::IngestError;

/// How a batch is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// A JSON array of objects (a lone object, or objects one after another, are read too).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A header row with column names, then one record per row.
    Csv,
}

impl BodyFormat {
    /// From a request's `Content-Type`; without one, from the body's first byte.
    pub fn from_content_type(content_type: Option<&str>, body: &[u8]) -> Result<Self, IngestError> {
        let essence = content_type.map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        match essence.as_deref() {
            Some("application/json") => Ok(BodyFormat::Json),
            Some("application/x-ndjson" | "application/jsonl" | "application/ndjson") => Ok(BodyFormat::Ndjson),
            Some("text/csv") => Ok(BodyFormat::Csv),
            None | Some("") | Some("application/octet-stream") => {
                Ok(match body.iter().find(|b| !b.is_ascii_whitespace()) {
                    Some(b'[') => BodyFormat::Json,
                    Some(b'{') => BodyFormat::Ndjson,
                    _ => BodyFormat::Csv,
                })
            }
            Some(other) => Err(IngestError::UnsupportedMediaType(format!(
                "cannot read a body of type '{other}': send application/json, application/x-ndjson or text/csv"
            ))),
        }
    }

    /// From a file name's extension, for `hourglass import`.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(BodyFormat::Json),
            "ndjson" | "jsonl" => Some(BodyFormat::Ndjson),
            "csv" => Some(BodyFormat::Csv),
            _ => None,
        }
    }
}
