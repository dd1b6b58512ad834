//! Cells as text, and comment templates with `{column}` placeholders.

/// A cell as text: a string's contents, a number's digits, `true`/`false`;
/// `None` for null.
pub fn text_of(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The `{column}` names in a comment template.
pub fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|piece| piece.split_once('}').map(|(name, _)| name))
}

/// A comment template with each `{column}` replaced by the row's value
/// (empty for null).
pub fn render(template: &str, row: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open + 1..].split_once('}') {
            Some((name, after)) => {
                out.push_str(&row.get(name).and_then(text_of).unwrap_or_default());
                rest = after;
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
