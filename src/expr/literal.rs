//! SQL literals as values, read the same way by queries and ingestion
//! transforms: integers as LONG, other numbers as DOUBLE, every quoted
//! string form as text, `X'..'` as bytes, booleans as 1 or 0.

use datafusion::sql::sqlparser::ast;

use super::value::Value;

/// The value of literal `value`, or why it cannot be one.
pub fn literal(value: &ast::Value) -> Result<Value, String> {
    Ok(match value {
        ast::Value::Number(text, _) => match text.parse::<i64>() {
            Ok(v) => Value::Long(v),
            Err(_) => Value::Double(
                text.parse()
                    .map_err(|_| format!("`{text}` is not a number"))?,
            ),
        },
        ast::Value::SingleQuotedString(text)
        | ast::Value::DoubleQuotedString(text)
        | ast::Value::EscapedStringLiteral(text)
        | ast::Value::NationalStringLiteral(text) => Value::Str(text.clone()),
        ast::Value::Boolean(flag) => Value::Long(*flag as i64),
        ast::Value::Null => Value::Null,
        ast::Value::HexStringLiteral(text) => Value::Bytes(
            crate::segment::unhex(text).ok_or_else(|| format!("X'{text}' is not hexadecimal"))?,
        ),
        other => return Err(format!("unsupported literal {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quoted_form_and_number_reads_the_same() {
        let number = |text: &str| literal(&ast::Value::Number(text.into(), false));
        assert_eq!(number("42"), Ok(Value::Long(42)));
        assert_eq!(number("4.5"), Ok(Value::Double(4.5)));
        assert!(number("4.5.6").unwrap_err().contains("not a number"));
        for quoted in [
            ast::Value::SingleQuotedString("a".into()),
            ast::Value::DoubleQuotedString("a".into()),
            ast::Value::EscapedStringLiteral("a".into()),
            ast::Value::NationalStringLiteral("a".into()),
        ] {
            assert_eq!(literal(&quoted), Ok(Value::Str("a".into())));
        }
        let hex = literal(&ast::Value::HexStringLiteral("0aff".into()));
        assert_eq!(hex, Ok(Value::Bytes(vec![0x0a, 0xff])));
        assert_eq!(literal(&ast::Value::Boolean(true)), Ok(Value::Long(1)));
        assert_eq!(literal(&ast::Value::Null), Ok(Value::Null));
    }
}
