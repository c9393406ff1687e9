//! `${VAR}` in an env file's double-quoted strings, read from the environment before the file
//! is parsed: `image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:${IMAGE_TAG}"` lets
//! CI name the tag it built without editing the file.
//!
//! Only double-quoted strings (basic and multi-line basic) are interpolated, and each value is
//! escaped for them, so a value can never end its string or add a key. Single-quoted strings
//! are TOML's literal strings and stay literal, as do comments; `$${` writes a literal `${`.

/// A `${...}` that cannot be filled in: where it starts in the text, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfilled {
    /// Byte offset of the `$`.
    pub offset: usize,
    /// What is wrong, in the user's words.
    pub problem: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Plain,
    Comment,
    Basic,
    MultiBasic,
    Literal,
    MultiLiteral,
}

/// The text with every `${NAME}` in a double-quoted string replaced by `lookup(NAME)`.
pub fn interpolate(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Unfilled> {
    let mut out = String::with_capacity(text.len());
    let mut context = Context::Plain;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let Some(c) = rest.chars().next() else { break };
        let (next, consumed) = match (context, c) {
            (Context::Plain, '#') => (Context::Comment, 1),
            (Context::Plain, '"') if rest.starts_with("\"\"\"") => (Context::MultiBasic, 3),
            (Context::Plain, '"') => (Context::Basic, 1),
            (Context::Plain, '\'') if rest.starts_with("'''") => (Context::MultiLiteral, 3),
            (Context::Plain, '\'') => (Context::Literal, 1),
            (Context::Comment, '\n') => (Context::Plain, 1),
            (Context::Basic | Context::MultiBasic, '\\') => {
                // An escape: the backslash and the character it escapes, as they are.
                let len = 1 + rest[1..].chars().next().map_or(0, char::len_utf8);
                (context, len)
            }
            (Context::Basic, '"') => (Context::Plain, 1),
            (Context::MultiBasic, '"') if rest.starts_with("\"\"\"") => (Context::Plain, 3),
            (Context::Literal, '\'') => (Context::Plain, 1),
            (Context::MultiLiteral, '\'') if rest.starts_with("'''") => (Context::Plain, 3),
            (Context::Basic | Context::MultiBasic, '$') if rest.starts_with("$${") => {
                out.push_str("${");
                i += 3;
                continue;
            }
            (Context::Basic | Context::MultiBasic, '$') if rest.starts_with("${") => {
                let (value, len) = fill(rest, i, &lookup)?;
                out.push_str(&escaped(&value));
                i += len;
                continue;
            }
            _ => (context, c.len_utf8()),
        };
        out.push_str(&rest[..consumed]);
        context = next;
        i += consumed;
    }
    Ok(out)
}

/// The value of the `${NAME}` that `rest` starts with, and its length in the text.
fn fill(
    rest: &str,
    offset: usize,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<(String, usize), Unfilled> {
    let unfilled = |problem: String| Unfilled { offset, problem };
    let Some(end) = rest.find('}') else {
        return Err(unfilled(
            "`${` opens a variable that no `}` closes (write `$${` for a literal `${`)".to_string(),
        ));
    };
    let name = &rest[2..end];
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return Err(unfilled(format!(
            "`${{{name}}}` is not an environment variable: a name is letters, digits and \
             underscores, not starting with a digit"
        )));
    }
    match lookup(name) {
        Some(value) => Ok((value, end + 1)),
        None => Err(unfilled(format!(
            "`${{{name}}}` is used, but the environment variable {name} is not set; set it \
             (e.g. `{name}=... gwfargate ...`) or write the value into the file"
        ))),
    }
}

/// A value as the inside of a TOML double-quoted string.
fn escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "TAG" => Some("1.2.3".to_string()),
            "TRICKY" => Some("a\"b\\c\nd".to_string()),
            _ => None,
        }
    }

    #[test]
    fn double_quoted_strings_are_filled_in_and_escaped() {
        let text = "image = \"repo:${TAG}\"\nnote = \"${TRICKY}\"\n";
        let out = interpolate(text, vars).expect("filled");
        assert_eq!(out, "image = \"repo:1.2.3\"\nnote = \"a\\\"b\\\\c\\nd\"\n");
        let parsed: toml::Table = toml::from_str(&out).expect("still TOML");
        assert_eq!(parsed["note"].as_str(), Some("a\"b\\c\nd"));
        let multi = interpolate("x = \"\"\"\n${TAG}\n\"\"\"", vars).expect("filled");
        assert_eq!(multi, "x = \"\"\"\n1.2.3\n\"\"\"");
    }

    #[test]
    fn comments_literal_strings_and_doubled_dollars_stay_as_written() {
        let text = "# ${NOPE}\na = '${NOPE}'\nb = '''${NOPE}'''\nc = \"$${TAG}\"\nd = \"\\${TAG}\"";
        assert_eq!(
            interpolate(text, vars)
                .expect("nothing to fill")
                .replace("$${", "${"),
            text.replace("$${", "${")
        );
        assert!(
            interpolate(text, vars)
                .expect("ok")
                .contains("c = \"${TAG}\"")
        );
    }

    #[test]
    fn an_unset_or_malformed_variable_is_refused_where_it_stands() {
        let text = "name = \"x\"\nimage = \"repo:${IMAGE_TAG}\"";
        let err = interpolate(text, vars).expect_err("unset");
        assert_eq!(err.offset, text.find('$').expect("a $"));
        assert!(
            err.problem.contains("IMAGE_TAG is not set"),
            "{}",
            err.problem
        );
        let err = interpolate("a = \"${1X}\"", vars).expect_err("bad name");
        assert!(err.problem.contains("not an environment variable"));
        let err = interpolate("a = \"${TAG\"", vars).expect_err("unclosed");
        assert!(err.problem.contains("no `}` closes"));
    }
}
