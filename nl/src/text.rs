//! Question text → tokens: lower case, `ё → е`, Snowball stems per script, numbers as digits.

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// The language a question is answered in (messages, label columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    En,
}

impl Lang {
    /// Russian when at least a third of the letters are Cyrillic.
    pub fn detect(text: &str) -> Lang {
        let (mut cyr, mut all) = (0usize, 0usize);
        for c in text.chars().filter(|c| c.is_alphabetic()) {
            all += 1;
            if is_cyrillic(c) {
                cyr += 1;
            }
        }
        if all > 0 && cyr * 3 >= all {
            Lang::Ru
        } else {
            Lang::En
        }
    }

    pub fn pick<'a>(self, ru: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ru => ru,
            Lang::En => en,
        }
    }
}

fn is_cyrillic(c: char) -> bool {
    ('\u{0400}'..='\u{04FF}').contains(&c)
}

/// One word or number of the question.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Lower-cased surface form (`ё` folded to `е`).
    pub text: String,
    /// Snowball stem (Russian for Cyrillic words, English otherwise); numbers stay as written.
    pub stem: String,
    /// The value when the token is a number written in digits or words.
    pub number: Option<f64>,
}

/// Lower case and `ё → е`, the normalisation every comparison uses.
pub fn normalize(text: &str) -> String {
    text.to_lowercase().replace('ё', "е")
}

/// Splits on anything but letters, digits and a decimal point between digits; hyphens split
/// too, so "топ-5", "e-commerce" and "Санкт-Петербург" become several tokens.
pub fn tokenize(text: &str) -> Vec<Token> {
    let text = normalize(text);
    let chars: Vec<char> = text.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let decimal_point = (c == '.' || c == ',')
            && current.chars().all(|d| d.is_ascii_digit())
            && !current.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if c == '%' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            words.push("%".to_string());
        } else if c.is_alphanumeric() || decimal_point {
            current.push(if c == ',' { '.' } else { c });
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words.into_iter().map(|w| make_token(&w)).collect()
}

fn make_token(word: &str) -> Token {
    let number = word.parse::<f64>().ok().or_else(|| number_word(word));
    let stem = if number.is_some() && word.chars().all(|c| c.is_ascii_digit() || c == '.') {
        word.to_string()
    } else {
        stem(word)
    };
    Token {
        text: word.to_string(),
        stem,
        number,
    }
}

/// Snowball stem of one lower-case word.
pub fn stem(word: &str) -> String {
    static RU: OnceLock<Stemmer> = OnceLock::new();
    static EN: OnceLock<Stemmer> = OnceLock::new();
    if word.chars().any(is_cyrillic) {
        RU.get_or_init(|| Stemmer::create(Algorithm::Russian))
            .stem(word)
            .into_owned()
    } else {
        EN.get_or_init(|| Stemmer::create(Algorithm::English))
            .stem(word)
            .into_owned()
    }
}

/// Stems of a phrase, for matching synonyms written as ordinary words.
pub fn stems(phrase: &str) -> Vec<String> {
    tokenize(phrase).into_iter().map(|t| t.stem).collect()
}

/// Numbers written as words, in the forms questions use ("трёх покупок", "ten").
fn number_word(word: &str) -> Option<f64> {
    const WORDS: &[(&[&str], f64)] = &[
        (&["ноль", "нуля", "zero"], 0.0),
        (
            &["один", "одна", "одно", "одного", "одной", "одну", "one"],
            1.0,
        ),
        (&["два", "две", "двух", "двум", "two"], 2.0),
        (&["три", "трех", "трем", "three"], 3.0),
        (&["четыре", "четырех", "four"], 4.0),
        (&["пять", "пяти", "five"], 5.0),
        (&["шесть", "шести", "six"], 6.0),
        (&["семь", "семи", "seven"], 7.0),
        (&["восемь", "восьми", "eight"], 8.0),
        (&["девять", "девяти", "nine"], 9.0),
        (&["десять", "десяти", "ten"], 10.0),
        (&["пятнадцать", "пятнадцати", "fifteen"], 15.0),
        (&["двадцать", "двадцати", "twenty"], 20.0),
        (&["тридцать", "тридцати", "thirty"], 30.0),
        (&["пятьдесят", "пятидесяти", "fifty"], 50.0),
        (&["сто", "ста", "hundred"], 100.0),
        (&["тысяча", "тысячи", "тысяч", "thousand"], 1000.0),
        (&["миллион", "миллиона", "миллионов", "million"], 1e6),
        (&["дюжина", "dozen"], 12.0),
    ];
    WORDS
        .iter()
        .find(|(forms, _)| forms.contains(&word))
        .map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_stems() {
        let t = tokenize("Топ-5 мерчантов по объёму, 0.7 и 3,5%!");
        let texts: Vec<_> = t.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "топ",
                "5",
                "мерчантов",
                "по",
                "объему",
                "0.7",
                "и",
                "3.5",
                "%"
            ]
        );
        assert_eq!(t[2].stem, stem("мерчант"));
        assert_eq!(t[1].number, Some(5.0));
        assert_eq!(tokenize("больше трёх")[1].number, Some(3.0));
        assert_eq!(Lang::detect("Сколько транзакций было вчера?"), Lang::Ru);
        assert_eq!(Lang::detect("Top 5 MCC categories"), Lang::En);
    }
}
