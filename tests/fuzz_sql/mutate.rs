//! Token-level damage to a generated statement: tokens deleted,
//! duplicated, swapped or replaced, the text truncated, keywords and
//! random characters inserted, a piece spliced elsewhere. What comes out is
//! mostly not SQL, which is the point: the parser's error paths and the
//! shape check see text no grammar would write.

use super::functions;
use super::{vocab, Dice};

/// `sql` with one to three mutations.
pub fn mutate(dice: &mut Dice, sql: &str) -> String {
    let mut tokens = tokenize(sql);
    for _ in 0..1 + dice.below(3) {
        if tokens.is_empty() {
            tokens.push(dice.pick(vocab::JUNK_TOKENS).to_string());
            continue;
        }
        let at = dice.below(tokens.len());
        match dice.below(9) {
            0 => {
                tokens.remove(at);
            }
            1 => {
                let copy = tokens[at].clone();
                tokens.insert(at, copy);
            }
            2 => {
                let other = dice.below(tokens.len());
                tokens.swap(at, other);
            }
            3 => {
                let text: String = tokens.concat();
                let cut = dice.below(text.len() + 1);
                let cut = (0..=cut).rev().find(|&i| text.is_char_boundary(i));
                tokens = vec![text[..cut.unwrap_or(0)].to_string()];
            }
            4 => {
                let junk = dice.pick(vocab::JUNK_TOKENS);
                tokens.insert(at, format!(" {junk} "));
            }
            5 => {
                let mut junk = String::new();
                for _ in 0..1 + dice.below(4) {
                    junk.push(dice.char());
                }
                tokens.insert(at, junk);
            }
            6 => {
                tokens[at] = replacement(dice, &tokens[at]);
            }
            7 => {
                let end = (at + 1 + dice.below(8)).min(tokens.len());
                let piece: Vec<String> = tokens[at..end].to_vec();
                let to = dice.below(tokens.len() + 1);
                for (offset, token) in piece.into_iter().enumerate() {
                    tokens.insert(to + offset, token);
                }
            }
            _ => {
                // Repeat a token many times: long runs of one operator or
                // parenthesis are what the shape check counts.
                let copies = dice.pick(&[10, 100, 600]);
                let token = tokens[at].clone();
                for _ in 0..copies {
                    tokens.insert(at, token.clone());
                }
            }
        }
    }
    tokens.concat()
}

/// A token of another kind in the place of `token`.
fn replacement(dice: &mut Dice, token: &str) -> String {
    let first = token.chars().next().unwrap_or(' ');
    if first.is_ascii_digit() {
        return dice.pick(vocab::NUMBERS).to_string();
    }
    if first == '\'' {
        let text = dice.pick(vocab::STRINGS);
        return format!("'{}'", text.replace('\'', "''"));
    }
    if first.is_alphabetic() || first == '_' {
        return match dice.below(3) {
            0 => dice.pick(vocab::BAD_COLUMNS).to_string(),
            1 => dice.pick(functions::PINOT_FUNCTIONS).to_string(),
            _ => dice.pick(vocab::JUNK_TOKENS).to_string(),
        };
    }
    dice.pick(vocab::JUNK_TOKENS).to_string()
}

/// Splits SQL into tokens that concatenate back to it: runs of word
/// characters, runs of whitespace, quoted strings and identifiers, and
/// single other characters.
pub fn tokenize(sql: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let mut token = String::from(c);
        if c == '\'' || c == '"' || c == '`' {
            for next in chars.by_ref() {
                token.push(next);
                if next == c {
                    break;
                }
            }
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            while let Some(&next) = chars.peek() {
                if !(next.is_alphanumeric() || next == '_' || next == '.') {
                    break;
                }
                token.push(next);
                chars.next();
            }
        } else if c.is_whitespace() {
            while let Some(&next) = chars.peek() {
                if !next.is_whitespace() {
                    break;
                }
                token.push(next);
                chars.next();
            }
        }
        tokens.push(token);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_concatenate_back() {
        let sql = "SELECT a.b, 'it''s', \"x y\" FROM t WHERE c >= 1.5e3 -- done";
        assert_eq!(tokenize(sql).concat(), sql);
    }
}
