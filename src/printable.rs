//! Text from outside gwfargate (files, lock holders, AWS's messages) made safe to print:
//! control characters are escaped, so a file or a message cannot move the cursor, clear the
//! screen or retitle the terminal, and a value quoted in an error is cut at 200 characters.

/// The most characters of a value an error quotes.
pub const QUOTE_LIMIT: usize = 200;

/// `text` with every control character but newline and tab escaped as `\u{1b}`.
pub fn escaped(text: &str) -> String {
    escape(text.chars(), |c| c == '\n' || c == '\t')
}

/// The characters, with every control character but those `kept` escaped.
fn escape(chars: impl Iterator<Item = char>, kept: impl Fn(char) -> bool) -> String {
    chars
        .map(|c| {
            if c.is_control() && !kept(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One value for a message: every control character escaped (newlines too, so it stays on
/// one line), and cut at [`QUOTE_LIMIT`] characters, saying how many more there were.
pub fn quoted(value: &str) -> String {
    let count = value.chars().count();
    let mut out = escape(value.chars().take(QUOTE_LIMIT), |_| false);
    if count > QUOTE_LIMIT {
        out.push_str(&format!("… ({} more characters)", count - QUOTE_LIMIT));
    }
    out
}

/// A value in double quotes, as [`quoted`] makes it: for `format!` arguments.
pub struct Quoted<'a>(pub &'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\"", quoted(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_codes_are_shown_not_obeyed() {
        assert_eq!(escaped("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(escaped("\u{1b}[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(escaped("bell\u{7}"), "bell\\u{7}");
        assert_eq!(quoted("a\nb"), "a\\u{a}b");
    }

    #[test]
    fn a_quoted_value_is_cut_at_200_characters() {
        let long = "x".repeat(1000);
        let q = quoted(&long);
        assert!(q.starts_with(&"x".repeat(200)), "{q}");
        assert!(q.ends_with("… (800 more characters)"), "{q}");
        assert_eq!(quoted("short"), "short");
    }
}
