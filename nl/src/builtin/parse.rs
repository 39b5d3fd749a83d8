//! One question against one semantic layer: time phrases, cues and synonym mentions, plus
//! the words nothing explains (which make the translator refuse rather than guess).

use super::cues::{self, Cues};
use super::lexicon::{Lexicon, Mention, Target};
use crate::semantic::Layer;
use crate::text::{tokenize, Lang, Token};
use crate::time::{self, TimeMention};

#[derive(Debug, Clone)]
pub struct Parsed<'a> {
    pub schema: &'a str,
    pub layer: &'a Layer,
    pub lang: Lang,
    pub tokens: Vec<Token>,
    pub times: Vec<TimeMention>,
    pub mentions: Vec<Mention>,
    pub time_verbs: Vec<Mention>,
    pub cues: Cues,
    pub unknown: Vec<String>,
}

impl<'a> Parsed<'a> {
    pub fn new(question: &str, schema: &'a str, layer: &'a Layer, lexicon: &Lexicon) -> Self {
        let tokens = tokenize(question);
        let lang = Lang::detect(question);
        let mut taken = vec![false; tokens.len()];
        let times = time::find(&tokens);
        for m in &times {
            taken[m.start..m.end].iter_mut().for_each(|t| *t = true);
        }
        // Multi-word phrases before cues, so "средний чек" is a metric, not "average" + "чек".
        let mut mentions = lexicon.find(&tokens, &mut taken, 2);
        let cues = cues::find(&tokens, &mut taken);
        mentions.extend(lexicon.find(&tokens, &mut taken, 1));
        mentions.sort_by_key(|m| m.start);
        let time_verbs = lexicon.find_times(&tokens, &taken);
        for m in &time_verbs {
            taken[m.start..m.end].iter_mut().for_each(|t| *t = true);
        }
        let unknown = tokens
            .iter()
            .zip(&taken)
            .filter(|(t, taken)| !**taken && t.number.is_none() && !cues::is_filler(t))
            .map(|(t, _)| t.text.clone())
            .collect();
        Parsed {
            schema,
            layer,
            lang,
            tokens,
            times,
            mentions,
            time_verbs,
            cues,
            unknown,
        }
    }

    /// How much of the question this layer explains: fewer unknown words, then more mentions.
    pub fn score(&self) -> (isize, isize) {
        (-(self.unknown.len() as isize), self.mentions.len() as isize)
    }

    pub fn ru(&self) -> bool {
        self.lang == Lang::Ru
    }

    pub fn of<F: Fn(&Target) -> Option<&String>>(&self, f: F) -> Vec<(String, usize)> {
        self.mentions
            .iter()
            .filter_map(|m| f(&m.target).map(|n| (n.clone(), m.start)))
            .collect()
    }

    pub fn metrics(&self) -> Vec<(String, usize)> {
        self.of(|t| match t {
            Target::Metric(n) => Some(n),
            _ => None,
        })
    }
    pub fn values(&self) -> Vec<(String, usize)> {
        self.of(|t| match t {
            Target::Value(n) => Some(n),
            _ => None,
        })
    }
    pub fn dimensions(&self) -> Vec<(String, usize)> {
        self.of(|t| match t {
            Target::Dimension(n) => Some(n),
            _ => None,
        })
    }
    pub fn tables(&self) -> Vec<(String, usize)> {
        self.of(|t| match t {
            Target::Table(n) => Some(n),
            _ => None,
        })
    }
    pub fn measures(&self) -> Vec<(String, usize)> {
        self.of(|t| match t {
            Target::Measure(n) => Some(n),
            _ => None,
        })
    }
    pub fn segments(&self) -> Vec<(String, usize)> {
        self.of(|t| match t {
            Target::Segment(n) => Some(n),
            _ => None,
        })
    }

    /// Human-readable list of what was recognised, for refusals.
    pub fn understood(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .mentions
            .iter()
            .map(|m| {
                let words: Vec<&str> = self.tokens[m.start..m.end]
                    .iter()
                    .map(|t| t.text.as_str())
                    .collect();
                let what = match &m.target {
                    Target::Metric(n) => format!("metric {n}"),
                    Target::Segment(n) => format!("segment {n}"),
                    Target::Value(n) => format!("value {n}"),
                    Target::Dimension(n) => format!("dimension {n}"),
                    Target::Table(n) => format!("table {n}"),
                    Target::Entity(n) => format!("entity {n}"),
                    Target::Measure(n) => format!("measure {n}"),
                    Target::Time(n) => format!("time {n}"),
                };
                format!("«{}» → {what}", words.join(" "))
            })
            .collect();
        for t in &self.times {
            out.push(format!(
                "«{}» → {}",
                self.span(t.start, t.end),
                t.period.label(self.ru())
            ));
        }
        out
    }

    pub fn span(&self, start: usize, end: usize) -> String {
        self.tokens[start..end]
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}
