//! Language learning: CEFR levels, learners, weighted words, quiz sessions and answers.

use chrono::{Duration, NaiveDateTime};
use rand::Rng;

use super::gen::{lognormal, recent, rng, scaled, skewed, weighted, Columns};
use super::Tables;

pub const TABLES: &[&str] = &[
    "levels",
    "learners",
    "words",
    "quiz_sessions",
    "quiz_answers",
];

const LEVELS: &[(&str, &str)] = &[
    ("A1", "Beginner"),
    ("A2", "Elementary"),
    ("B1", "Intermediate"),
    ("B2", "Upper-Intermediate"),
    ("C1", "Advanced"),
];

/// (lemma, translation, part of speech, level 1..5), in rough frequency order.
const WORDS: &[(&str, &str, &str, i32)] = &[
    ("house", "дом", "noun", 1),
    ("water", "вода", "noun", 1),
    ("eat", "есть", "verb", 1),
    ("big", "большой", "adjective", 1),
    ("go", "идти", "verb", 1),
    ("friend", "друг", "noun", 1),
    ("good", "хороший", "adjective", 1),
    ("day", "день", "noun", 1),
    ("read", "читать", "verb", 1),
    ("cat", "кошка", "noun", 1),
    ("today", "сегодня", "adverb", 1),
    ("thank you", "спасибо", "phrase", 1),
    ("weather", "погода", "noun", 2),
    ("travel", "путешествовать", "verb", 2),
    ("cheap", "дешёвый", "adjective", 2),
    ("usually", "обычно", "adverb", 2),
    ("kitchen", "кухня", "noun", 2),
    ("borrow", "одалживать", "verb", 2),
    ("noisy", "шумный", "adjective", 2),
    ("ticket", "билет", "noun", 2),
    ("by the way", "кстати", "phrase", 2),
    ("neighbour", "сосед", "noun", 2),
    ("arrive", "прибывать", "verb", 2),
    ("quickly", "быстро", "adverb", 2),
    ("experience", "опыт", "noun", 3),
    ("achieve", "достигать", "verb", 3),
    ("reliable", "надёжный", "adjective", 3),
    ("however", "однако", "adverb", 3),
    ("environment", "окружающая среда", "noun", 3),
    ("suggest", "предлагать", "verb", 3),
    ("available", "доступный", "adjective", 3),
    ("in advance", "заранее", "phrase", 3),
    ("decision", "решение", "noun", 3),
    ("improve", "улучшать", "verb", 3),
    ("probably", "вероятно", "adverb", 3),
    ("salary", "зарплата", "noun", 3),
    ("consequence", "последствие", "noun", 4),
    ("acknowledge", "признавать", "verb", 4),
    ("thorough", "тщательный", "adjective", 4),
    ("nevertheless", "тем не менее", "adverb", 4),
    ("approach", "подход", "noun", 4),
    ("undermine", "подрывать", "verb", 4),
    ("reluctant", "неохотный", "adjective", 4),
    ("take for granted", "принимать как должное", "phrase", 4),
    ("evidence", "доказательство", "noun", 4),
    ("sustain", "поддерживать", "verb", 4),
    ("considerably", "значительно", "adverb", 4),
    ("outcome", "результат", "noun", 4),
    ("ubiquitous", "вездесущий", "adjective", 5),
    ("mitigate", "смягчать", "verb", 5),
    ("nuance", "нюанс", "noun", 5),
    ("albeit", "хотя и", "adverb", 5),
    ("scrutiny", "тщательная проверка", "noun", 5),
    ("exacerbate", "усугублять", "verb", 5),
    ("meticulous", "дотошный", "adjective", 5),
    ("by and large", "в целом", "phrase", 5),
    ("paradigm", "парадигма", "noun", 5),
    ("substantiate", "обосновывать", "verb", 5),
    ("inadvertently", "непреднамеренно", "adverb", 5),
    ("conundrum", "головоломка", "noun", 5),
];

const NAMES: &[&str] = &[
    "Аня",
    "Борис",
    "Вика",
    "Глеб",
    "Даша",
    "Егор",
    "Женя",
    "Зоя",
    "Илья",
    "Катя",
    "Лёша",
    "Маша",
    "Никита",
    "Оля",
    "Паша",
    "Рита",
    "Саша",
    "Таня",
    "Уля",
    "Федя",
];

pub fn generate(scale: f64, now: NaiveDateTime) -> Tables {
    let mut r = rng(3);
    let levels = Columns::new()
        .i32("level_id", (1..=LEVELS.len() as i32).collect())
        .str("code", LEVELS.iter().map(|l| l.0).collect())
        .str("name", LEVELS.iter().map(|l| l.1).collect())
        .build();

    let n_learners = scaled(5_000, scale, 30);
    let (mut names, mut native, mut target, mut level, mut registered, mut skill) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for id in 1..=n_learners {
        names.push(format!("{} {}", NAMES[id % NAMES.len()], id));
        native.push(*weighted(
            &mut r,
            &[("ru", 85.0), ("uk", 5.0), ("kk", 5.0), ("be", 5.0)],
        ));
        target.push(*weighted(
            &mut r,
            &[("en", 70.0), ("de", 15.0), ("es", 10.0), ("fr", 5.0)],
        ));
        level.push(skewed(&mut r, LEVELS.len(), 1.4) as i32 + 1);
        registered.push(recent(&mut r, now, 540));
        skill.push(r.random_range(0.55..0.95));
    }
    let learners = Columns::new()
        .i64("learner_id", (1..=n_learners as i64).collect())
        .str("name", names)
        .str("native_language", native)
        .str("target_language", target)
        .i32("level_id", level.clone())
        .ts("registered_at", registered)
        .build();

    let n = WORDS.len();
    let words = Columns::new()
        .i64("word_id", (1..=n as i64).collect())
        .str("lemma", WORDS.iter().map(|w| w.0).collect())
        .str("translation", WORDS.iter().map(|w| w.1).collect())
        .str("part_of_speech", WORDS.iter().map(|w| w.2).collect())
        .i32("level_id", WORDS.iter().map(|w| w.3).collect())
        // Frequent words weigh less: knowing them says less about a learner.
        .f64(
            "weight",
            (0..n)
                .map(|i| ((i + 1) as f64 / n as f64 * 100.0).round() / 100.0)
                .collect(),
        )
        .build();
    let by_level: Vec<Vec<usize>> = (1..=5)
        .map(|l| (0..n).filter(|&i| WORDS[i].3 == l).collect())
        .collect();

    let n_sessions = scaled(40_000, scale, 100);
    let mut started: Vec<NaiveDateTime> =
        (0..n_sessions).map(|_| recent(&mut r, now, 180)).collect();
    started.sort();
    let (mut s_learner, mut s_level, mut s_mode, mut s_finished) = (vec![], vec![], vec![], vec![]);
    let (mut a_session, mut a_word, mut a_correct, mut a_ms, mut a_at) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (i, at) in started.iter().enumerate() {
        let learner = skewed(&mut r, n_learners, 1.7);
        let lvl = if r.random_bool(0.85) {
            level[learner]
        } else {
            r.random_range(1..=5)
        };
        s_learner.push(learner as i64 + 1);
        s_level.push(lvl);
        s_mode.push(*weighted(
            &mut r,
            &[
                ("flashcards", 45.0),
                ("multiple_choice", 35.0),
                ("typing", 20.0),
            ],
        ));
        let abandoned = r.random_bool(0.15);
        let answers = if abandoned {
            r.random_range(0..4)
        } else {
            r.random_range(4..9)
        };
        let mut t = *at;
        for _ in 0..answers {
            let pool = &by_level[(lvl - 1) as usize];
            let word = pool[r.random_range(0..pool.len())];
            let difficulty = 0.04 * (lvl - level[learner]) as f64;
            t += Duration::milliseconds(lognormal(&mut r, 3_500.0, 0.5) as i64 + 1_000);
            a_session.push(i as i64 + 1);
            a_word.push(word as i64 + 1);
            a_correct.push(r.random_bool((skill[learner] - difficulty).clamp(0.05, 0.99)));
            a_ms.push(
                lognormal(&mut r, 3_000.0, 0.5)
                    .round()
                    .clamp(300.0, 60_000.0) as i32,
            );
            a_at.push(t.min(now));
        }
        s_finished.push((!abandoned).then(|| (t + Duration::seconds(5)).min(now)));
    }
    let sessions = Columns::new()
        .i64("session_id", (1..=n_sessions as i64).collect())
        .i64("learner_id", s_learner)
        .i32("level_id", s_level)
        .str("mode", s_mode)
        .ts("started_at", started)
        .ts_opt("finished_at", s_finished)
        .build();
    let answers = Columns::new()
        .i64("session_id", a_session)
        .i64("word_id", a_word)
        .bool("is_correct", a_correct)
        .i32("response_ms", a_ms)
        .ts("answered_at", a_at)
        .build();
    vec![
        ("levels", levels),
        ("learners", learners),
        ("words", words),
        ("quiz_sessions", sessions),
        ("quiz_answers", answers),
    ]
}
