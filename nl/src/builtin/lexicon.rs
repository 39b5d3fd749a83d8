//! The synonym index of one semantic layer: phrases as stem sequences → what they name.

use crate::semantic::Layer;
use crate::text::{stems, Token};

/// What a phrase of the question refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Metric(String),
    Segment(String),
    Value(String),
    Dimension(String),
    Table(String),
    Entity(String),
    Measure(String),
    Time(String),
}

impl Target {
    /// Lower wins when one phrase names several things.
    fn priority(&self) -> u8 {
        match self {
            Target::Metric(_) => 0,
            Target::Segment(_) => 1,
            Target::Value(_) => 2,
            Target::Dimension(_) => 3,
            Target::Table(_) => 4,
            Target::Entity(_) => 5,
            Target::Measure(_) => 6,
            Target::Time(_) => 7,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    stems: Vec<String>,
    target: Target,
}

/// A phrase found in the question.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub target: Target,
    pub start: usize,
    pub end: usize,
    /// Matched with a typo allowance rather than exactly.
    pub fuzzy: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    entries: Vec<Entry>,
    times: Vec<Entry>,
}

impl Lexicon {
    pub fn new(layer: &Layer) -> Lexicon {
        let mut lex = Lexicon::default();
        let mut add = |phrases: &mut dyn Iterator<Item = &String>, target: Target| {
            for p in phrases {
                let s = stems(p);
                // A value spelled like a function word ('BY', 'in') would match prepositions.
                let filler = s.len() == 1
                    && crate::text::tokenize(p)
                        .first()
                        .is_some_and(super::cues::is_filler);
                if !(s.is_empty() || filler && matches!(target, Target::Value(_))) {
                    let entry = Entry {
                        stems: s,
                        target: target.clone(),
                    };
                    if matches!(target, Target::Time(_)) {
                        lex.times.push(entry);
                    } else {
                        lex.entries.push(entry);
                    }
                }
            }
        };
        for (name, m) in &layer.metrics {
            add(&mut m.synonyms.iter(), Target::Metric(name.clone()));
        }
        for (name, s) in &layer.segments {
            add(&mut s.synonyms.iter(), Target::Segment(name.clone()));
        }
        for (name, v) in &layer.values {
            add(&mut v.synonyms.iter(), Target::Value(name.clone()));
        }
        for (name, d) in &layer.dimensions {
            add(&mut d.synonyms.iter(), Target::Dimension(name.clone()));
        }
        for (name, t) in &layer.tables {
            add(&mut t.synonyms.iter(), Target::Table(name.clone()));
        }
        for (name, e) in &layer.entities {
            add(&mut e.synonyms.iter(), Target::Entity(name.clone()));
        }
        for (name, m) in &layer.measures {
            add(&mut m.synonyms.iter(), Target::Measure(name.clone()));
        }
        for (name, t) in &layer.times {
            add(&mut t.synonyms.iter(), Target::Time(name.clone()));
        }
        // Longest phrases first, then by kind, so "объем транзакций" beats "транзакции".
        let order = |a: &Entry, b: &Entry| {
            b.stems
                .len()
                .cmp(&a.stems.len())
                .then(a.target.priority().cmp(&b.target.priority()))
        };
        lex.entries.sort_by(order);
        lex.times.sort_by(order);
        lex
    }

    /// Leftmost-longest matches over tokens not yet `taken`; marks what it uses.
    pub fn find(&self, tokens: &[Token], taken: &mut [bool], min_len: usize) -> Vec<Mention> {
        scan(&self.entries, tokens, taken, min_len)
    }

    /// Time verbs ("registered", "завершено"): they pick a column and may also be values,
    /// so they are found without using up tokens.
    pub fn find_times(&self, tokens: &[Token], taken: &[bool]) -> Vec<Mention> {
        let mut copy = taken.to_vec();
        scan(&self.times, tokens, &mut copy, 1)
    }
}

fn scan(entries: &[Entry], tokens: &[Token], taken: &mut [bool], min_len: usize) -> Vec<Mention> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if taken[i] {
            i += 1;
            continue;
        }
        let mut best: Option<(&Entry, bool)> = None;
        // Sorted longest first: stop at phrases shorter than asked for.
        for e in entries.iter().take_while(|e| e.stems.len() >= min_len) {
            let n = e.stems.len();
            if let Some((b, _)) = best {
                if n < b.stems.len() {
                    break;
                }
                continue;
            }
            if i + n > tokens.len() || taken[i..i + n].iter().any(|t| *t) {
                continue;
            }
            let mut fuzzy = false;
            let ok = e.stems.iter().zip(&tokens[i..i + n]).all(|(s, t)| {
                if word_matches(t, s) {
                    true
                } else if typo_matches(t, s) {
                    fuzzy = true;
                    true
                } else {
                    false
                }
            });
            if ok {
                best = Some((e, fuzzy));
            }
        }
        match best {
            Some((e, fuzzy)) => {
                let n = e.stems.len();
                taken[i..i + n].iter_mut().for_each(|t| *t = true);
                out.push(Mention {
                    target: e.target.clone(),
                    start: i,
                    end: i + n,
                    fuzzy,
                });
                i += n;
            }
            None => i += 1,
        }
    }
    out
}

fn word_matches(t: &Token, stem: &str) -> bool {
    t.stem == stem || t.text == stem || russian_close(&t.stem, stem)
}

/// Russian Snowball stems nominatives harder than oblique cases ("канал" → "кана",
/// "каналам" → "канал"; "уровень" → "уровен", "уровня" → "уровн"): stems that differ only
/// in their last two letters after a shared start are one word.
fn russian_close(a: &str, b: &str) -> bool {
    let is_ru = |s: &str| s.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
    if !is_ru(a) || !is_ru(b) {
        return false;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let (short, long) = (a.len().min(b.len()), a.len().max(b.len()));
    (common == short && short >= 3 && long - short <= 2)
        || (common >= 4 && long - common <= 2 && short - common <= 1)
}

/// One edit (two for long words) between stems of at least six letters: "мерчнатов".
fn typo_matches(t: &Token, stem: &str) -> bool {
    if t.number.is_some() {
        return false;
    }
    let (a, b) = (t.stem.as_str(), stem);
    let len = a.chars().count().min(b.chars().count());
    if len < 6 {
        return false;
    }
    let allowed = if len >= 9 { 2 } else { 1 };
    strsim::damerau_levenshtein(a, b) <= allowed
}
