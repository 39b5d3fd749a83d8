//! The offline translator: deterministic, schema-aware, Russian and English. It answers only
//! what the semantic layer explains and says what it could not map otherwise.

mod cues;
mod lexicon;
mod parse;
mod plan;
mod query;

use chrono_tz::Tz;

use crate::semantic::Layer;
use crate::text::Lang;
use lexicon::Lexicon;
use parse::Parsed;

/// A schema's layer with its synonym index, built once per layer.
#[derive(Debug, Clone)]
pub struct Indexed {
    pub schema: String,
    pub layer: Layer,
    lexicon: Lexicon,
}

impl Indexed {
    pub fn new(schema: impl Into<String>, layer: Layer) -> Self {
        let lexicon = Lexicon::new(&layer);
        Indexed {
            schema: schema.into(),
            layer,
            lexicon,
        }
    }
}

/// The builtin translator's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Sql {
        sql: String,
        schema: String,
    },
    /// Not sure: why, in the question's language.
    Refused(String),
}

/// Translates `question` over the layers; the one explaining most of the question wins, ties
/// going to `default_schema`.
pub fn translate(
    question: &str,
    layers: &[std::sync::Arc<Indexed>],
    default_schema: &str,
    tz: Tz,
) -> Answer {
    let lang = Lang::detect(question);
    if layers.is_empty() {
        return Answer::Refused(
            lang.pick(
                "В базе нет таблиц, о которых можно спросить.",
                "There are no tables to ask about.",
            )
            .to_string(),
        );
    }
    let mut parsed: Vec<Parsed> = layers
        .iter()
        .map(|l| Parsed::new(question, &l.schema, &l.layer, &l.lexicon))
        .collect();
    parsed.sort_by(|a, b| {
        b.score()
            .cmp(&a.score())
            .then((b.schema == default_schema).cmp(&(a.schema == default_schema)))
    });
    let best = &parsed[0];
    if std::env::var_os("ABACUS_NL_DEBUG").is_some() {
        eprintln!(
            "nl: schema {} mentions {:?}\n    cues {:?}\n    times {:?} unknown {:?}",
            best.schema,
            best.understood(),
            best.cues,
            best.times,
            best.unknown
        );
    }
    if !best.unknown.is_empty() {
        let understood = best.understood();
        let list = |v: &[String]| {
            if v.is_empty() {
                "—".to_string()
            } else {
                v.join("; ")
            }
        };
        return Answer::Refused(match lang {
            Lang::Ru => format!(
                "Не могу ответить без догадок: не знаю, что значит {} в данных. Понял: {}. \
                 Добавьте синонимы в семантический слой (_semantic.toml схемы {}) или подключите LLM (SET abacus.llm = 'openai').",
                quoted(&best.unknown),
                list(&understood),
                best.schema
            ),
            Lang::En => format!(
                "I cannot answer without guessing: I do not know what {} means in this data. Understood: {}. \
                 Add synonyms to the semantic layer (_semantic.toml of schema {}) or configure an LLM (SET abacus.llm = 'openai').",
                quoted(&best.unknown),
                list(&understood),
                best.schema
            ),
        });
    }
    match plan::plan(best, tz) {
        Ok(sql) => Answer::Sql {
            sql,
            schema: best.schema.to_string(),
        },
        Err(reason) => Answer::Refused(reason),
    }
}

fn quoted(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("«{w}»"))
        .collect::<Vec<_>>()
        .join(", ")
}
