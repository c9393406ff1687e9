//! Shell words: every command gwfargate tells the user to run is printed so that pasting it
//! into a POSIX shell runs exactly that.

/// A word as a POSIX shell reads it back: as it is when it is plain, else single-quoted.
pub fn word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+-,".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_and_others_are_quoted() {
        assert_eq!(word("config/env1.toml"), "config/env1.toml");
        assert_eq!(word("my state"), "'my state'");
        assert_eq!(word("it's"), r"'it'\''s'");
        assert_eq!(word(""), "''");
    }
}
