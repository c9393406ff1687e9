//! Tables that fit the width they are printed at without ever breaking an identifier across
//! lines: prose wraps at spaces, identifiers are shortened in the middle with `…` on a narrow
//! or unknown width, and nothing gives way with `--wide`.

use console::measure_text_width as width_of;

/// How wide the output may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// As wide as the content (`--wide`).
    Unlimited,
    /// This many columns.
    Columns(usize),
    /// Not known: a pipe, or a terminal that says it is 0 columns wide. Tables fit the
    /// 80 columns every terminal has.
    Unknown,
}

/// The width assumed when it is not known.
const ASSUMED: usize = 80;

impl Width {
    /// The width of stdout: unlimited with `wide`; a terminal's own; else `COLUMNS` when it
    /// is a number above 0; else unknown.
    pub fn of_stdout(wide: bool) -> Width {
        if wide {
            return Width::Unlimited;
        }
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout())
            .then(|| console::Term::stdout().size_checked())
            .flatten()
            .map(|(_, columns)| usize::from(columns));
        let columns = terminal.or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok());
        match columns {
            Some(n) if n > 0 => Width::Columns(n),
            _ => Width::Unknown,
        }
    }

    /// The columns to fit, `None` for no limit.
    pub fn limit(self) -> Option<usize> {
        match self {
            Width::Unlimited => None,
            Width::Columns(n) => Some(n),
            Width::Unknown => Some(ASSUMED),
        }
    }

    /// This width less `indent` columns (a nested table's), never below 20.
    pub fn less(self, indent: usize) -> Width {
        match self.limit() {
            Some(n) => Width::Columns(n.saturating_sub(indent).max(20)),
            None => Width::Unlimited,
        }
    }
}

/// How a column gives way when a line would be too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Give {
    /// Never: short words (states, zones, counts).
    Never,
    /// Identifiers: shortened in the middle with `…`, down to `min` columns.
    Shorten(usize),
    /// Prose: wrapped at spaces onto more lines, down to `min` columns; a word wider than
    /// the column is shortened in the middle.
    Wrap(usize),
}

/// A column: its header and how it gives way.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header.
    pub header: &'static str,
    /// How it gives way.
    pub give: Give,
}

/// A column of `header` that gives way as `give` says.
pub const fn column(header: &'static str, give: Give) -> Column {
    Column { header, give }
}

/// Two spaces between columns.
const GAP: usize = 2;

/// Lays `rows` out under the headers, aligned, two spaces between columns, no line ending in
/// blanks, each line within `width` where the columns can give way that far.
pub fn layout(columns: &[Column], rows: &[Vec<String>], width: Width) -> String {
    let (header, blocks) = layout_rows(columns, rows, width);
    std::iter::once(header).chain(blocks).collect()
}

/// The natural width of `rows` laid out under the headers, before anything gives way.
pub fn natural_width(columns: &[Column], rows: &[Vec<String>]) -> usize {
    natural(columns, rows).iter().sum::<usize>() + GAP * (columns.len().max(1) - 1)
}

fn natural(columns: &[Column], rows: &[Vec<String>]) -> Vec<usize> {
    columns
        .iter()
        .enumerate()
        .map(|(c, col)| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |cell| width_of(cell)))
                .chain([width_of(col.header)])
                .max()
                .unwrap_or(0)
        })
        .collect()
}

/// [`layout`]'s header line and, apart, each row's lines (a wrapped cell makes a row more
/// than one line), each ending in a newline.
pub fn layout_rows(
    columns: &[Column],
    rows: &[Vec<String>],
    width: Width,
) -> (String, Vec<String>) {
    let mut widths = natural(columns, rows);
    if let Some(limit) = width.limit() {
        give_way(columns, &mut widths, limit);
    }
    let header: Vec<String> = columns.iter().map(|c| c.header.to_string()).collect();
    let mut blocks = Vec::new();
    for row in std::iter::once(&header).chain(rows) {
        let mut out = String::new();
        let cells: Vec<Vec<String>> = columns
            .iter()
            .enumerate()
            .map(|(c, col)| {
                let cell = row.get(c).map_or("", String::as_str);
                match col.give {
                    Give::Never => vec![cell.to_string()],
                    Give::Shorten(_) => vec![shorten(cell, widths[c])],
                    Give::Wrap(_) => wrap(cell, widths[c]),
                }
            })
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1);
        for line in 0..height {
            let mut text = String::new();
            for (c, cell) in cells.iter().enumerate() {
                let part = cell.get(line).map_or("", String::as_str);
                text.push_str(part);
                let pad = widths[c].saturating_sub(width_of(part)) + GAP;
                text.push_str(&" ".repeat(pad));
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        blocks.push(out);
    }
    let header = blocks.remove(0);
    (header, blocks)
}

/// `text` after `label`, wrapped at spaces to `width`, its further lines indented two
/// columns; whole on one line when the width is unlimited.
pub fn prose(label: &str, text: &str, width: Width) -> String {
    let first = format!("{label}{text}");
    let Some(limit) = width.limit() else {
        return format!("{first}\n");
    };
    let mut out = String::new();
    for (i, line) in wrap(&first, limit.saturating_sub(2).max(20))
        .iter()
        .enumerate()
    {
        let indent = if i == 0 { "" } else { "  " };
        out.push_str(&format!("{indent}{line}\n"));
    }
    out
}

/// Narrows the columns that can give way until the line fits `limit`: prose first (it loses
/// nothing by wrapping), then identifiers, the widest first each time.
fn give_way(columns: &[Column], widths: &mut [usize], limit: usize) {
    let total = |widths: &[usize]| widths.iter().sum::<usize>() + GAP * (widths.len() - 1);
    for prose in [true, false] {
        while total(widths) > limit {
            let slack = |c: usize| match (columns[c].give, prose) {
                (Give::Wrap(min), true) | (Give::Shorten(min), false) => {
                    widths[c].saturating_sub(min.max(width_of(columns[c].header)))
                }
                _ => 0,
            };
            let Some(c) = (0..columns.len())
                .filter(|&c| slack(c) > 0)
                .max_by_key(|&c| (slack(c), std::cmp::Reverse(c)))
            else {
                break;
            };
            widths[c] -= 1;
        }
    }
}

/// `text` in at most `width` columns, shortened in the middle with `…`: both ends of an id
/// say the most (its kind and its unique tail).
pub fn shorten(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let kept = width - 1;
    let head = kept.div_ceil(2);
    let tail = kept - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// `text` wrapped at spaces into lines of at most `width` columns; a word wider than that is
/// shortened in the middle, never split.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let word = shorten(word, width);
        if !line.is_empty() && width_of(&line) + 1 + width_of(&word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identifier_is_shortened_in_the_middle_and_never_split() {
        assert_eq!(shorten("vpc-0123456789abcdef0", 9), "vpc-…def0");
        assert_eq!(shorten("vpc-1", 9), "vpc-1");
        assert_eq!(shorten("abc", 1), "…");
        assert_eq!(
            wrap("the service (service cluster1-service1) is steady", 14),
            ["the service", "(service", "cluster…vice1)", "is steady"]
        );
    }

    #[test]
    fn a_table_fits_its_width_by_wrapping_prose_first_then_shortening_ids() {
        let columns = [
            column("NAME", Give::Shorten(8)),
            column("STATE", Give::Never),
            column("DETAIL", Give::Wrap(10)),
        ];
        let rows = vec![vec![
            "a-rather-long-name-of-a-thing".to_string(),
            "active".to_string(),
            "one two three four five six".to_string(),
        ]];
        let wide = layout(&columns, &rows, Width::Unlimited);
        assert_eq!(
            wide,
            "NAME                           STATE   DETAIL\n\
             a-rather-long-name-of-a-thing  active  one two three four five six\n"
        );
        let narrow = layout(&columns, &rows, Width::Columns(50));
        assert!(narrow.lines().all(|l| width_of(l) <= 50), "{narrow}");
        assert!(narrow.contains("a-rather-long-name-of-a-thing"), "{narrow}");
        let narrower = layout(&columns, &rows, Width::Columns(30));
        assert!(narrower.lines().all(|l| width_of(l) <= 30), "{narrower}");
        assert!(narrower.contains('…'), "{narrower}");
        // The words all stay, on more lines.
        let words: Vec<&str> = narrower.split_whitespace().collect();
        for word in ["one", "two", "three", "four", "five", "six"] {
            assert!(words.contains(&word), "{narrower}");
        }
    }

    #[test]
    fn an_unknown_width_fits_80_columns_and_0_is_unknown() {
        assert_eq!(Width::Unknown.limit(), Some(80));
        assert_eq!(Width::Unlimited.limit(), None);
        assert_eq!(Width::Columns(100).less(4), Width::Columns(96));
        assert_eq!(Width::Columns(10).less(4), Width::Columns(20));
    }
}
