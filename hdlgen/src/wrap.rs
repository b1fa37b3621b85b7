//! Lines of at most [`MAX_LINE`] characters, as the lowRISC style guide asks: the printer
//! writes each statement on one line, and this pass breaks the long ones where a reader
//! would, after the operator that binds loosest at the shallowest nesting, and wraps long
//! comments at word boundaries under their first line.

/// The longest line the emitted Verilog holds, where it can be broken at all.
pub const MAX_LINE: usize = 100;

/// Extra indentation of a statement's continuation lines.
const CONTINUATION: usize = 4;

/// A comment that starts right of this column moves above its code instead of wrapping in a
/// narrow column.
const MAX_COMMENT_COLUMN: usize = 60;

/// `text` with every line longer than [`MAX_LINE`] broken into shorter ones.
pub fn wrap(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for line in text.lines() {
        wrap_line(line, &mut out);
    }
    out
}

fn wrap_line(line: &str, out: &mut String) {
    if line.len() <= MAX_LINE {
        push_line(out, line);
        return;
    }
    let indent = line.len() - line.trim_start().len();
    let (code, comment) = match comment_start(line) {
        Some(at) => (line[..at].trim_end(), Some(line[at + 2..].trim())),
        None => (line, None),
    };
    match comment {
        None => wrap_code(code, indent, out),
        Some(comment) if code.trim().is_empty() => wrap_comment(comment, &line[..indent], out),
        // A trailing comment continues in its own column, or above the code when that
        // column is too far right to hold it.
        Some(comment) => {
            let column = line.len() - line[code.len()..].trim_start().len();
            if code.len() <= MAX_LINE && column <= MAX_COMMENT_COLUMN {
                let mut lines = comment_lines(comment, MAX_LINE - column - 3).into_iter();
                push_line(out, &format!("{code:<column$}// {}", lines.next().unwrap_or_default()));
                for rest in lines {
                    push_line(out, &format!("{:column$}// {rest}", ""));
                }
            } else {
                wrap_comment(comment, &line[..indent], out);
                wrap_code(code, indent, out);
            }
        }
    }
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

fn wrap_comment(comment: &str, indent: &str, out: &mut String) {
    for text in comment_lines(comment, MAX_LINE.saturating_sub(indent.len() + 3)) {
        push_line(out, &format!("{indent}// {text}"));
    }
}

/// The words of `comment` in lines of at most `width` characters (a longer word alone).
fn comment_lines(comment: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in comment.split_whitespace() {
        match lines.last_mut() {
            Some(last) if last.len() + 1 + word.len() <= width => {
                last.push(' ');
                last.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Breaks a statement into lines of at most [`MAX_LINE`] characters, continuation lines
/// indented [`CONTINUATION`] further; a piece with no place to break stays whole.
fn wrap_code(code: &str, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent + CONTINUATION);
    let mut rest = code.to_string();
    let mut first = true;
    loop {
        let line = if first { rest.clone() } else { format!("{pad}{rest}") };
        let lead = line.len() - rest.len();
        match (line.len() > MAX_LINE).then(|| best_break(&rest, MAX_LINE - lead)).flatten() {
            Some(at) => {
                push_line(out, line[..lead + at].trim_end());
                rest = rest[at..].trim_start().to_string();
                first = false;
            }
            None => {
                push_line(out, &line);
                return;
            }
        }
    }
}

/// Where to break `code` so that its first piece fits `room` characters: the space after the
/// loosest-binding operator at the shallowest bracket depth, the last such space on ties.
/// Spaces inside string literals and the leading indentation never count.
fn best_break(code: &str, room: usize) -> Option<usize> {
    let start = code.len() - code.trim_start().len();
    let bytes = code.as_bytes();
    let (mut depth, mut in_string) = (0usize, false);
    let mut best: Option<((usize, usize), usize)> = None;
    for (i, &b) in bytes.iter().enumerate().skip(start) {
        match b {
            b'"' => in_string = !in_string,
            _ if in_string => {}
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b' ' if i <= room && i > start => {
                let token = code[..i].rsplit(' ').next().unwrap_or("");
                if let Some(rank) = operator_rank(token) {
                    if best.is_none_or(|(key, _)| (depth, rank) <= key) {
                        best = Some(((depth, rank), i + 1));
                    }
                }
            }
            _ => {}
        }
    }
    best.map(|(_, at)| at)
}

/// How loosely the operator `token` binds (0 loosest), or `None` for a token that is not a
/// binary operator to break after. A break after an assignment's `=` comes last, so that a
/// statement's first line holds more than its target.
fn operator_rank(token: &str) -> Option<usize> {
    const RANKS: [&[&str]; 11] = [
        &[","],
        &["?", ":"],
        &["||"],
        &["&&"],
        &["|"],
        &["^", "~^"],
        &["&"],
        &["==", "!=", "===", "!=="],
        &["<", ">", "<=", ">="],
        &["<<", ">>", "<<<", ">>>", "+", "-", "*"],
        &["="],
    ];
    let token = token.strip_suffix(',').map_or(token, |_| ",");
    RANKS.iter().position(|ops| ops.contains(&token))
}

/// Where the `//` comment of `line` starts, outside string literals.
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let bytes = line.as_bytes();
    (0..bytes.len()).find(|&i| {
        if bytes[i] == b'"' {
            in_string = !in_string;
        }
        !in_string && bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'/')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_statement_breaks_after_its_loosest_operator() {
        let cond = "(format_q == 2'd0) ? first_choice_of_the_value : (format_q == 2'd1)";
        let line = format!("  assign value = {cond} ? second_choice_of_the_value : third_choice;");
        let text = wrap(&line);
        assert_eq!(
            text,
            "  assign value = (format_q == 2'd0) ? first_choice_of_the_value : (format_q == 2'd1) ?\n      \
             second_choice_of_the_value : third_choice;\n"
        );
        assert!(text.lines().all(|l| l.len() <= MAX_LINE));
        assert_eq!(text.split_whitespace().collect::<String>(), line.split_whitespace().collect::<String>());
    }

    #[test]
    fn comments_wrap_at_words_and_strings_are_never_broken() {
        let words = "word ".repeat(30);
        let text = wrap(&format!("  logic a_q;  // {words}"));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() == 2 && lines[0].starts_with("  logic a_q;  // word"), "{text}");
        assert!(lines[1].starts_with("              // word"), "{text}");
        let display = format!("    $display(\"{}\");", "x y ".repeat(40));
        assert_eq!(wrap(&display), format!("{display}\n"));
        let short = "  assign a = b;\n";
        assert_eq!(wrap(short), short);
    }
}
