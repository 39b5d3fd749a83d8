//! Turns the CSV reader's messages into "line L, column C (name): what was wrong, what was expected".

use datafusion::arrow::datatypes::Schema;

/// Rewrites a load failure so it names the line and column; other messages pass unchanged.
pub fn describe(message: &str, schema: Option<&Schema>) -> String {
    if let Some(d) = parse_value_error(message, schema) {
        return d;
    }
    if let Some(d) = parse_field_count_error(message) {
        return d;
    }
    // DataFusion wraps the reader's error in context lines; the reader's part is the useful one.
    message
        .rsplit_once("Parser error: ")
        .or_else(|| message.rsplit_once("Csv error: "))
        .map(|(_, tail)| tail.to_string())
        .unwrap_or_else(|| message.to_string())
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<(&'a str, &'a str)> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some((&s[from..from + len], &s[from + len + end.len()..]))
}

/// `Error while parsing value 'x' as type 'Int64' for column 1 at line 3. Row data: '[..]'`
fn parse_value_error(message: &str, schema: Option<&Schema>) -> Option<String> {
    let (value, rest) = between(message, "Error while parsing value '", "' as type '")?;
    let (ty, rest) = between(rest, "", "' for column ")?;
    let (column, rest) = between(rest, "", " at line ")?;
    // The reader counts records from 0 (header included) here, unlike its other messages.
    let line: usize = rest
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()?;
    let line = line + 1;
    let row = between(rest, "Row data: '", "'").map(|(r, _)| r);
    let index: usize = column.trim().parse().ok()?;
    let name = schema
        .and_then(|s| s.fields().get(index))
        .map(|f| format!(" (\"{}\")", f.name()))
        .unwrap_or_default();
    let mut out = format!(
        "line {line}, column {}{name}: invalid value '{value}', expected {}",
        index + 1,
        friendly_type(ty)
    );
    if let Some(row) = row {
        out.push_str(&format!("; row: {row}"));
    }
    Some(out)
}

/// `incorrect number of fields for line 3, expected 2 got 1`
fn parse_field_count_error(message: &str) -> Option<String> {
    let (line, rest) = between(
        message,
        "incorrect number of fields for line ",
        ", expected ",
    )?;
    let (expected, got) = rest.split_once(" got ")?;
    let got: String = got.chars().take_while(|c| *c != '\n').collect();
    Some(format!(
        "line {line}: expected {expected} fields, found {}",
        got.trim_end_matches('.')
    ))
}

fn friendly_type(arrow: &str) -> String {
    let name = match arrow {
        "Int8" | "Int16" => "a SMALLINT",
        "Int32" => "an INTEGER",
        "Int64" => "a BIGINT",
        "Float32" => "a REAL",
        "Float64" => "a DOUBLE",
        "Boolean" => "a BOOLEAN (true/false)",
        "Date32" | "Date64" => "a DATE (YYYY-MM-DD)",
        t if t.starts_with("Timestamp") => "a TIMESTAMP (YYYY-MM-DD HH:MM:SS)",
        t if t.starts_with("Decimal") => "a NUMERIC",
        other => return format!("a value of type {other}"),
    };
    format!("{name} ({arrow})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, Field};

    #[test]
    fn names_line_column_and_expectation() {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("amount", DataType::Int64, true),
        ]);
        let msg = "Arrow error: Parser error: Error while parsing value 'abc' as type 'Int64' \
                   for column 1 at line 3. Row data: '[7,abc]'";
        assert_eq!(
            describe(msg, Some(&schema)),
            "line 4, column 2 (\"amount\"): invalid value 'abc', expected a BIGINT (Int64); row: [7,abc]"
        );
        assert_eq!(
            describe(
                "Csv error: incorrect number of fields for line 4, expected 2 got 1",
                None
            ),
            "line 4: expected 2 fields, found 1"
        );
    }
}
