//! Words that shape the query rather than name data: "how many", "top 5", "more than",
//! "daily", "share", "compare", "no …", plus the words a question can safely ignore.

use crate::semantic::Agg;
use crate::text::Token;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Desc,
    Asc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparator {
    pub op: &'static str,
    pub value: f64,
    /// Index of the first token after the number.
    pub after: usize,
    /// Index of the comparator's first token.
    pub at: usize,
}

/// Everything the cue pass found.
#[derive(Debug, Clone, Default)]
pub struct Cues {
    pub count: bool,
    pub list: bool,
    pub distinct: bool,
    pub top: Option<(u32, Dir)>,
    pub superlative: Option<Dir>,
    pub agg: Option<Agg>,
    pub series: Option<Bucket>,
    pub share: bool,
    pub compare: bool,
    pub negation: Option<usize>,
    pub comparators: Vec<Comparator>,
    /// "в среднем на одного покупателя": divide by the number of entities.
    pub per_entity: bool,
    pub unit: Option<&'static str>,
    pub plural_question: Option<bool>,
    /// An A/B comparison: "значимо ли отличается", "t-test", "between variants".
    pub ab_test: bool,
    /// Rank-based (Mann–Whitney) rather than a t-test.
    pub nonparametric: bool,
}

fn is(t: Option<&Token>, words: &[&str]) -> bool {
    t.is_some_and(|t| words.contains(&t.text.as_str()))
}

fn starts(t: Option<&Token>, prefixes: &[&str]) -> bool {
    t.is_some_and(|t| prefixes.iter().any(|p| t.text.starts_with(p)))
}

/// Finds cues among tokens not yet `taken`, marking the ones it uses.
pub fn find(tokens: &[Token], taken: &mut [bool]) -> Cues {
    let mut c = Cues::default();
    let n = tokens.len();
    let mut i = 0;
    let free = |taken: &[bool], i: usize| i < n && !taken[i];
    while i < n {
        if taken[i] {
            i += 1;
            continue;
        }
        let t = Some(&tokens[i]);
        let next = tokens.get(i + 1);
        let next2 = tokens.get(i + 2);
        let mut used = 1;
        let w = tokens[i].text.as_str();
        let num_at = |j: usize| tokens.get(j).and_then(|t| t.number);
        if is(t, &["больше", "меньше", "чаще", "реже"]) && is(next, &["всего", "всех"])
        {
            c.superlative = Some(if is(t, &["больше", "чаще"]) {
                Dir::Desc
            } else {
                Dir::Asc
            });
            used = 2;
        } else if let Some((op, len)) = comparator(tokens, i) {
            // A number must follow (possibly after "чем"/"than"); "хотя бы один" too.
            let mut j = i + len;
            if is(tokens.get(j), &["чем", "than", "of"]) {
                j += 1;
            }
            if let Some(v) = num_at(j) {
                c.comparators.push(Comparator {
                    op,
                    value: v,
                    after: j + 1,
                    at: i,
                });
                used = j + 1 - i;
            } else {
                used = 0;
            }
        } else if (w == "топ" || w == "top" || w == "first" || w == "первые" || w == "bottom")
            && num_at(i + 1).is_some()
        {
            let dir = if w == "bottom" { Dir::Asc } else { Dir::Desc };
            c.top = Some((num_at(i + 1).unwrap_or(10.0).max(1.0) as u32, dir));
            used = 2;
        } else if w == "топ" || w == "top" {
            c.superlative.get_or_insert(Dir::Desc);
        } else if tokens[i].number.is_some()
            && starts(
                next,
                &[
                    "самы",
                    "лучш",
                    "крупн",
                    "most",
                    "top",
                    "largest",
                    "biggest",
                    "худш",
                    "worst",
                ],
            )
        {
            let dir = if starts(next, &["худш", "worst"]) {
                Dir::Asc
            } else {
                Dir::Desc
            };
            c.top = Some((tokens[i].number.unwrap_or(10.0).max(1.0) as u32, dir));
            used = 2;
        } else if starts(
            t,
            &[
                "наибольш",
                "наиболь",
                "максимальн",
                "highest",
                "most",
                "largest",
                "biggest",
                "greatest",
                "лидир",
                "крупнейш",
                "лучш",
                "best",
                "popular",
                "популярн",
            ],
        ) {
            c.superlative.get_or_insert(Dir::Desc);
        } else if starts(
            t,
            &[
                "наименьш",
                "минимальн",
                "lowest",
                "least",
                "fewest",
                "smallest",
                "худш",
                "worst",
                "сложн",
                "hardest",
                "difficult",
            ],
        ) {
            c.superlative = Some(Dir::Asc);
        } else if is(t, &["сколько", "count", "скольких"])
            || (is(t, &["how"]) && is(next, &["many", "much"]))
            || (is(t, &["number"]) && is(next, &["of"]))
            || starts(t, &["количеств", "числ"]) && !is(next, &["проданных"])
        {
            c.count = true;
            used = if is(t, &["how", "number"]) { 2 } else { 1 };
        } else if is(t, &["в", "on"])
            && is(next, &["среднем", "average"])
            && is(next2, &["на", "per"])
            || is(t, &["per"]) && c.agg == Some(Agg::Avg)
        {
            c.per_entity = true;
            used = if is(t, &["per"]) { 1 } else { 3 };
            if is(
                tokens.get(i + used),
                &["одного", "одну", "каждого", "каждую", "one", "each", "a"],
            ) {
                used += 1;
            }
        } else if is(t, &["на"]) && is(next, &["одного", "одну", "каждого", "каждую", "одно"])
            || is(t, &["per"]) && is(next, &["one", "each", "a", "an", "single"])
        {
            c.per_entity = true;
            used = 2;
        } else if is(t, &["в"]) && is(next, &["среднем"])
            || is(t, &["on"]) && is(next, &["average"])
        {
            c.agg = Some(Agg::Avg);
            used = 2;
        } else if starts(t, &["средн", "average", "avg", "mean"]) {
            c.agg = Some(Agg::Avg);
        } else if starts(t, &["медиан", "median"]) {
            c.agg = Some(Agg::Median);
        } else if starts(t, &["сумм", "total", "sum"])
            || is(t, &["итого", "всего"]) && c.agg.is_none()
        {
            c.agg.get_or_insert(Agg::Sum);
        } else if starts(t, &["максимум", "maximum", "max"]) {
            c.agg = Some(Agg::Max);
        } else if starts(t, &["минимум", "minimum", "min"]) {
            c.agg = Some(Agg::Min);
        } else if starts(
            t,
            &[
                "уникальн",
                "различн",
                "разн",
                "unique",
                "distinct",
                "different",
            ],
        ) {
            c.distinct = true;
        } else if starts(t, &["ежедневн", "daily", "посуточн"]) {
            c.series = Some(Bucket::Day);
        } else if starts(t, &["почасов", "hourly"]) {
            c.series = Some(Bucket::Hour);
        } else if starts(t, &["еженедельн", "weekly", "понедельн"]) {
            c.series = Some(Bucket::Week);
        } else if starts(t, &["ежемесячн", "monthly", "помесячн"]) {
            c.series = Some(Bucket::Month);
        } else if let Some(b) = (is(
            t,
            &[
                "по",
                "кажд",
                "каждый",
                "каждую",
                "каждого",
                "каждом",
                "каждой",
                "each",
                "every",
                "per",
                "by",
                "за",
            ],
        ))
        .then(|| bucket_of(next))
        .flatten()
        {
            c.series = Some(b);
            used = 2;
        } else if is(t, &["in", "for"]) && is(next, &["each"]) && is(next2, &["of"]) {
            // "in each of the last 6 months": a series over the time phrase's unit.
            c.series.get_or_insert(Bucket::Month);
            used = 3;
        } else if starts(
            t,
            &[
                "дол",
                "процент",
                "share",
                "percent",
                "proportion",
                "ratio",
                "rate",
                "%",
            ],
        ) && !is(t, &["долго", "долгий"])
        {
            c.share = true;
        } else if starts(
            t,
            &[
                "манн",
                "mann",
                "уитни",
                "whitney",
                "непараметр",
                "nonparametric",
                "ранг",
                "rank",
            ],
        ) {
            c.ab_test = true;
            c.nonparametric = true;
        } else if starts(
            t,
            &[
                "значим",
                "significan",
                "эксперимент",
                "experiment",
                "ttest",
                "welch",
                "уэлч",
                "стьюдент",
                "student",
                "вариант",
                "variant",
                "контрольн",
                "control",
                "treatment",
                "разниц",
                "различ",
                "отлича",
                "отличи",
                "difference",
                "differ",
                "uplift",
                "lift",
                "эффект",
                "effect",
            ],
        ) || is(t, &["ab", "аб"])
            || is(t, &["a", "а"]) && is(next, &["b", "б"])
            || is(t, &["t", "т"]) && starts(next, &["test", "тест"])
        {
            c.ab_test = true;
            if is(t, &["a", "а", "t", "т"]) {
                used = 2;
            }
        } else if starts(t, &["сравн", "compar", "versus"]) || is(t, &["vs", "против"]) {
            c.compare = true;
        } else if is(t, &["no", "without", "never", "без", "нет", "none", "zero"])
            || is(t, &["ни"]) && starts(next, &["одн", "разу"])
            || is(t, &["не"]) && !is(next, &["меньше", "менее", "больше", "более"])
        {
            c.negation = Some(i);
            if is(t, &["ни"]) {
                used = 2;
            }
        } else if is(
            t,
            &[
                "покажи",
                "выведи",
                "перечисли",
                "список",
                "list",
                "show",
                "display",
                "кто",
                "who",
                "name",
            ],
        ) {
            c.list = true;
        } else if is(t, &["какие", "which", "какими", "каких"]) {
            c.list = true;
            c.plural_question = Some(true);
        } else if is(t, &["какая", "какой", "какое", "какую"]) {
            c.plural_question = Some(false);
        } else if is(t, &["в", "in"]) && unit_of(next).is_some() {
            c.unit = unit_of(next);
            used = 2;
        } else {
            used = 0;
        }
        if used == 0 {
            i += 1;
            continue;
        }
        for k in i..(i + used).min(n) {
            if free(taken, k) {
                taken[k] = true;
            }
        }
        i += used;
    }
    c
}

fn comparator(tokens: &[Token], i: usize) -> Option<(&'static str, usize)> {
    let t = tokens.get(i);
    let next = tokens.get(i + 1);
    let next2 = tokens.get(i + 2);
    if is(t, &["не"]) && is(next, &["меньше", "менее"])
        || is(t, &["как"]) && is(next, &["минимум"])
        || is(t, &["хотя"]) && is(next, &["бы"])
        || is(t, &["at"]) && is(next, &["least"])
    {
        return Some((">=", 2));
    }
    if is(t, &["no"]) && is(next, &["less", "fewer"]) {
        return Some((">=", 2));
    }
    if is(t, &["не"]) && is(next, &["больше", "более"]) || is(t, &["at"]) && is(next, &["most"])
    {
        return Some(("<=", 2));
    }
    if is(t, &["no"]) && is(next, &["more"]) && is(next2, &["than"]) {
        return Some(("<=", 2));
    }
    if is(t, &["минимум", "от"]) {
        return Some((">=", 1));
    }
    if is(
        t,
        &[
            "больше",
            "более",
            "свыше",
            "выше",
            "over",
            "above",
            "exceeding",
            ">",
        ],
    ) || is(t, &["more", "greater", "higher"]) && is(next, &["than"])
    {
        return Some((">", 1));
    }
    if is(t, &["меньше", "менее", "ниже", "under", "below", "<"])
        || is(t, &["less", "fewer", "lower"]) && is(next, &["than"])
    {
        return Some(("<", 1));
    }
    if is(t, &["максимум", "до"]) {
        return Some(("<=", 1));
    }
    if is(t, &["ровно", "exactly"]) {
        return Some(("=", 1));
    }
    None
}

fn bucket_of(t: Option<&Token>) -> Option<Bucket> {
    let w = t?.text.as_str();
    if matches!(
        w,
        "час" | "часам" | "часу" | "часа" | "часов" | "hour" | "hours"
    ) {
        Some(Bucket::Hour)
    } else if w.starts_with("дн")
        || w.starts_with("день")
        || w == "day"
        || w == "days"
        || w == "дням"
    {
        Some(Bucket::Day)
    } else if w.starts_with("недел") || w == "week" || w == "weeks" {
        Some(Bucket::Week)
    } else if w.starts_with("месяц") || w == "month" || w == "months" {
        Some(Bucket::Month)
    } else {
        None
    }
}

fn unit_of(t: Option<&Token>) -> Option<&'static str> {
    let w = t?.text.as_str();
    if w.starts_with("секунд") || w.starts_with("second") {
        Some("seconds")
    } else if w.starts_with("минут") || w.starts_with("minute") {
        Some("minutes")
    } else if w.starts_with("час") || w.starts_with("hour") {
        Some("hours")
    } else if w.starts_with("дн") || w.starts_with("сутк") || w == "days" {
        Some("days")
    } else {
        None
    }
}

/// Seconds in a duration unit.
pub fn unit_seconds(unit: &str) -> f64 {
    match unit {
        "seconds" => 1.0,
        "hours" => 3600.0,
        "days" => 86400.0,
        _ => 60.0,
    }
}

/// Words a question may contain without them naming anything (RU and EN function words,
/// question words, generic verbs). Anything else left unmapped makes the translator refuse.
pub fn is_filler(t: &Token) -> bool {
    const WORDS: &[&str] = &[
        // Russian
        "и",
        "в",
        "во",
        "на",
        "по",
        "за",
        "с",
        "со",
        "из",
        "от",
        "до",
        "к",
        "у",
        "о",
        "об",
        "для",
        "при",
        "через",
        "а",
        "но",
        "или",
        "ли",
        "же",
        "бы",
        "то",
        "что",
        "чем",
        "как",
        "так",
        "это",
        "этот",
        "эти",
        "все",
        "всех",
        "всего",
        "был",
        "была",
        "было",
        "были",
        "есть",
        "будет",
        "быть",
        "мы",
        "наш",
        "наши",
        "наших",
        "нашим",
        "наша",
        "нашей",
        "нашего",
        "мне",
        "меня",
        "я",
        "ты",
        "вы",
        "их",
        "его",
        "ее",
        "они",
        "он",
        "она",
        "какой",
        "какая",
        "какое",
        "какие",
        "каких",
        "какую",
        "каков",
        "каково",
        "где",
        "когда",
        "который",
        "которые",
        "которых",
        "которая",
        "которое",
        "котором",
        "сейчас",
        "теперь",
        "среди",
        "между",
        "пожалуйста",
        "покажи",
        "покажите",
        "показать",
        "выведи",
        "дай",
        "дайте",
        "найди",
        "найти",
        "посчитай",
        "посчитайте",
        "подсчитай",
        "рассчитай",
        "вычисли",
        "скажи",
        "узнать",
        "хочу",
        "нужно",
        "надо",
        "сделали",
        "сделал",
        "совершили",
        "совершил",
        "совершено",
        "совершенных",
        "принесла",
        "принес",
        "принесли",
        "приходится",
        "вызывают",
        "вызывает",
        "самых",
        "самые",
        "самый",
        "самая",
        "самое",
        "самой",
        "чаще",
        "всего",
        "раз",
        "раза",
        "каждый",
        "каждого",
        "каждом",
        "каждой",
        "каждую",
        "кажд",
        "разрезе",
        "разбивке",
        "разбивка",
        "каждому",
        "один",
        "одного",
        "одну",
        "одной",
        "плюс",
        "также",
        "тоже",
        "еще",
        "уже",
        "только",
        "именно",
        "данные",
        "данных",
        "общий",
        "общая",
        "общее",
        "итого",
        "вообще",
        "там",
        "тут",
        "здесь",
        "общую",
        "значение",
        "показатель",
        "метрика",
        "величина",
        "прошло",
        "пришлось",
        "оформлено",
        "оформлен",
        "оформили",
        "имеют",
        "имеет",
        "имели",
        "есть",
        "проведено",
        "прошли",
        "распределение",
        "динамика",
        "статистика",
        "отчет",
        "сводка",
        "ну",
        "вот",
        "либо",
        "также",
        "сравни",
        "сравнить",
        "против",
        // English
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "to",
        "with",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "how",
        "many",
        "much",
        "when",
        "where",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "our",
        "we",
        "us",
        "me",
        "my",
        "i",
        "you",
        "your",
        "their",
        "they",
        "them",
        "there",
        "please",
        "show",
        "list",
        "give",
        "tell",
        "find",
        "get",
        "display",
        "compute",
        "calculate",
        "count",
        "number",
        "made",
        "make",
        "placed",
        "came",
        "come",
        "each",
        "every",
        "per",
        "all",
        "overall",
        "total",
        "value",
        "values",
        "metric",
        "distribution",
        "breakdown",
        "broken",
        "down",
        "split",
        "trend",
        "over",
        "time",
        "so",
        "far",
        "than",
        "then",
        "as",
        "any",
        "some",
        "one",
        "ones",
        "did",
        "got",
        "out",
        "up",
        "into",
        "about",
        "across",
        "versus",
        "vs",
        "among",
        "between",
        "during",
        "within",
        "whole",
        "entire",
        "report",
        "summary",
        "stats",
        "statistics",
        "us",
        "also",
        "only",
        "just",
        "me",
        "now",
        "currently",
        "current",
        "today's",
        "s",
        "had",
        "who",
        "contributed",
        "generated",
        "brought",
        "share",
        "caused",
        "cause",
        "causes",
        "most",
        "often",
        "highest",
        "lowest",
        "times",
        "least",
        "via",
        "using",
        "through",
        "came",
        "coming",
        "happened",
        "occurred",
        "recorded",
        "registered",
        "new",
        "were",
        "per",
        "test",
        "tests",
        "тест",
        "теста",
        "тестом",
        "критерий",
        "критерию",
        "criterion",
        "ли",
        "между",
        "группами",
        "groups",
    ];
    WORDS.contains(&t.text.as_str())
}
