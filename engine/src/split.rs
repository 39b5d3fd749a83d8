//! Splits a script into statements at top-level semicolons (quotes, comments and
//! dollar-quoting respected); the REPL uses the same scanner to know when input is complete.

/// Scanner state carried across characters.
#[derive(Clone, Copy, PartialEq)]
enum State {
    Normal,
    Single,
    Double,
    LineComment,
    BlockComment(u32),
}

/// Returns the statements of `sql` without their terminating `;`, skipping empty and
/// comment-only pieces.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = 0;
    scan(sql, |end| {
        push_piece(&mut out, &sql[start..end]);
        start = end + 1;
    });
    push_piece(&mut out, &sql[start..]);
    out
}

/// True when `sql` ends outside any quote or comment with a `;` after its last statement
/// (trailing whitespace and line comments allowed).
pub fn statement_is_complete(sql: &str) -> bool {
    let mut last_semicolon = None;
    let state = scan(sql, |end| last_semicolon = Some(end));
    if state != State::Normal && state != State::LineComment {
        return false;
    }
    match last_semicolon {
        Some(end) => !has_code(&sql[end + 1..]),
        None => false,
    }
}

fn push_piece(out: &mut Vec<String>, piece: &str) {
    if has_code(piece) {
        out.push(piece.trim().to_string());
    }
}

/// Whether the text holds anything but whitespace and comments.
fn has_code(piece: &str) -> bool {
    let mut found = false;
    let mut state = State::Normal;
    let chars: Vec<char> = piece.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match state {
            State::Normal => {
                if c == '-' && next == Some('-') {
                    state = State::LineComment;
                    i += 1;
                } else if c == '/' && next == Some('*') {
                    state = State::BlockComment(1);
                    i += 1;
                } else if !c.is_whitespace() {
                    found = true;
                    break;
                }
            }
            State::LineComment if c == '\n' => state = State::Normal,
            State::BlockComment(d) if c == '*' && next == Some('/') => {
                state = if d == 1 {
                    State::Normal
                } else {
                    State::BlockComment(d - 1)
                };
                i += 1;
            }
            State::BlockComment(d) if c == '/' && next == Some('*') => {
                state = State::BlockComment(d + 1);
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Calls `on_semicolon(byte_offset)` for each top-level `;`; returns the final state.
fn scan(sql: &str, mut on_semicolon: impl FnMut(usize)) -> State {
    let mut state = State::Normal;
    let mut dollar_tag: Option<String> = None;
    let bytes = sql.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        if let Some(tag) = &dollar_tag {
            if sql[i..].starts_with(tag.as_str()) {
                i += tag.len();
                dollar_tag = None;
            } else {
                i += 1;
            }
            continue;
        }
        match state {
            State::Normal => match c {
                b'\'' => state = State::Single,
                b'"' => state = State::Double,
                b'-' if next == Some(b'-') => {
                    state = State::LineComment;
                    i += 1;
                }
                b'/' if next == Some(b'*') => {
                    state = State::BlockComment(1);
                    i += 1;
                }
                b'$' => {
                    if let Some(len) = dollar_tag_len(&sql[i..]) {
                        dollar_tag = Some(sql[i..i + len].to_string());
                        i += len;
                        continue;
                    }
                }
                b';' => on_semicolon(i),
                _ => {}
            },
            // A doubled quote inside a literal is an escaped quote: leaving and re-entering
            // the literal on the next character handles it.
            State::Single if c == b'\'' => state = State::Normal,
            State::Double if c == b'"' => state = State::Normal,
            State::LineComment if c == b'\n' => state = State::Normal,
            State::BlockComment(d) if c == b'*' && next == Some(b'/') => {
                state = if d == 1 {
                    State::Normal
                } else {
                    State::BlockComment(d - 1)
                };
                i += 1;
            }
            State::BlockComment(d) if c == b'/' && next == Some(b'*') => {
                state = State::BlockComment(d + 1);
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    if dollar_tag.is_some() {
        State::Single
    } else {
        state
    }
}

/// Length of a `$tag$` opener at the start of `s` (`$$` included), if there is one.
fn dollar_tag_len(s: &str) -> Option<usize> {
    let rest = &s[1..];
    let end = rest.find('$')?;
    let tag = &rest[..end];
    if tag.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !tag.starts_with(|c: char| c.is_ascii_digit())
    {
        Some(end + 2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_semicolons_only() {
        let sql = "SELECT 'a;b'; -- c;\nSELECT \"x;\" /* ; */ FROM t;; SELECT $$;$$";
        assert_eq!(
            split_statements(sql),
            vec![
                "SELECT 'a;b'",
                "-- c;\nSELECT \"x;\" /* ; */ FROM t",
                "SELECT $$;$$"
            ]
        );
        assert!(split_statements("  -- only a comment\n ; ").is_empty());
        assert_eq!(split_statements("SELECT 'it''s;'"), vec!["SELECT 'it''s;'"]);
    }

    #[test]
    fn completeness_follows_quotes_and_comments() {
        assert!(statement_is_complete("SELECT 1;"));
        assert!(statement_is_complete("SELECT 1; -- done"));
        assert!(!statement_is_complete("SELECT 1"));
        assert!(!statement_is_complete("SELECT ';"));
        assert!(!statement_is_complete("SELECT 1 /* ; "));
        assert!(!statement_is_complete("SELECT 1; SELECT 2"));
    }
}
