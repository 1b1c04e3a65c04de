//! Joda-Time / `SimpleDateFormat` date patterns translated into chrono's strftime syntax:
//! shared by the `regex_extractor` millis serializer (parsing) and `${date:...}` substitution
//! (formatting). Pure; the error names the unsupported letters.

/// A date pattern that cannot be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum JodaError {
    /// A quoted literal is not closed.
    #[error("unterminated quote in date pattern")]
    UnterminatedQuote,
    /// Letters with no strftime equivalent (a run of one letter, such as `"zzz"`).
    #[error("unsupported date pattern letters {0:?}")]
    Unsupported(String),
    /// The translation is not a pattern chrono can use.
    #[error("cannot translate date pattern {0:?}")]
    Untranslatable(String),
    /// No pattern at all.
    #[error("a date pattern is needed (${{date:yyyy-MM-dd}})")]
    Empty,
}

/// Translates the common Joda-Time pattern letters into chrono strftime.
pub(crate) fn to_strftime(joda: &str) -> Result<String, JodaError> {
    let chars: Vec<char> = joda.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '\'' {
            // Quoted literal; '' is a single quote.
            i += 1;
            if chars.get(i) == Some(&'\'') {
                out.push('\'');
                i += 1;
                continue;
            }
            loop {
                match chars.get(i) {
                    None => return Err(JodaError::UnterminatedQuote),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        out.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&l) => {
                        push_literal(&mut out, l);
                        i += 1;
                    }
                }
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            push_literal(&mut out, c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let spec = match (c, run) {
            ('y' | 'Y', 2) => "%y",
            ('y' | 'Y', _) => "%Y",
            ('M', 1 | 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('H', _) => "%H",
            ('h', _) => "%I",
            ('m', _) => "%M",
            ('s', _) => "%S",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('a', _) => "%p",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('Z', 1) => "%z",
            ('Z', 2) => "%:z",
            _ => return Err(JodaError::Unsupported(c.to_string().repeat(run))),
        };
        out.push_str(spec);
        i += run;
    }
    Ok(out)
}

fn push_literal(out: &mut String, c: char) {
    if c == '%' {
        out.push_str("%%");
    } else {
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_percent_signs_are_literals() {
        assert_eq!(
            to_strftime("'at' HH 'o''clock' 100%").unwrap(),
            "at %H o'clock 100%%"
        );
        assert_eq!(to_strftime("''yy").unwrap(), "'%y");
    }
}
