//! Intent frames: from what the question mentions to one SELECT. Each frame fills only
//! slots it is sure of; anything it cannot place becomes a refusal, never a guess.

use chrono_tz::Tz;

use super::cues::{unit_seconds, Bucket, Comparator, Dir};
use super::lexicon::Target;
use super::parse::Parsed;
use super::query::{ident, Select};
use crate::semantic::{qualify, tables_in, Agg, Layer, MetricDef};
use crate::time::TimeMention;

/// What is being measured: an aggregate expression over rows of `table`.
#[derive(Debug, Clone)]
struct Measure {
    expr: String,
    name: String,
    table: String,
    filter: Option<String>,
    time: Option<String>,
    /// How a share of this measure is computed, when it can be.
    share: Option<ShareBase>,
}

#[derive(Debug, Clone)]
enum ShareBase {
    Count(String),
    Sum(String),
}

/// What rows are grouped or listed by.
#[derive(Debug, Clone)]
enum Group {
    Dim(String),
    Table(String),
    Entity(String),
}

fn refuse(p: &Parsed, ru: &str, en: &str) -> String {
    if p.ru() {
        ru.to_string()
    } else {
        en.to_string()
    }
}

pub fn plan(p: &Parsed, tz: Tz) -> Result<String, String> {
    let mut sel = Select {
        schema: p.schema.to_string(),
        ..Default::default()
    };
    let c = &p.cues;
    let layer = p.layer;

    if let Some((seg, _)) = p.segments().first() {
        return segment(p, &mut sel, seg, tz);
    }
    if c.ab_test {
        if let Some(sql) = ab_test(p, &mut sel, tz)? {
            return Ok(sql);
        }
    }
    // Comparators: a count threshold ("more than 3 purchases"), a row filter on a measure
    // ("weight above 0.7"), or a minimum support inside a ranking ("at least 20 times").
    let mut thresholds = Vec::new();
    let mut row_filters = Vec::new();
    for cmp in &c.comparators {
        match attach(p, cmp) {
            Attached::After(t) => thresholds.push((*cmp, Some(t))),
            Attached::Times => thresholds.push((*cmp, None)),
            Attached::Before(Target::Measure(m)) => {
                let col = &layer.measures[&m].column;
                row_filters.push(format!("{col} {} {}", cmp.op, num(cmp.value)));
            }
            Attached::Before(t) => thresholds.push((*cmp, Some(t))),
            Attached::Nothing => {
                return Err(refuse(
                    p,
                    &format!(
                        "Не понял, к чему относится условие «{} {}».",
                        p.span(cmp.at, cmp.after - 1),
                        num(cmp.value)
                    ),
                    &format!(
                        "I could not tell what the condition \"{} {}\" applies to.",
                        p.span(cmp.at, cmp.after - 1),
                        num(cmp.value)
                    ),
                ))
            }
        }
    }
    let ranking = c.top.is_some() || c.superlative.is_some();
    if !thresholds.is_empty() && !ranking {
        let (cmp, target) = thresholds[0].clone();
        return threshold(p, &mut sel, cmp, target, row_filters, tz);
    }
    if c.negation.is_some() {
        if let Some(sql) = anti_join(p, &mut sel, tz)? {
            return Ok(sql);
        }
    }
    if let Some(sql) = listing(p, &mut sel, &row_filters, tz)? {
        return Ok(sql);
    }
    let measure = measure(p, &mut sel)?;
    sel.base = measure.table.clone();
    sel.filters.extend(row_filters);
    if let Some(f) = &measure.filter {
        sel.filters.push(f.clone());
    }
    let share_cond = if c.share {
        share_condition(p, &measure)
    } else {
        None
    };
    let measure = match (&share_cond, &measure.share) {
        (Some(cond), Some(ShareBase::Count(t))) => {
            let part = sel.count(t, Some(cond.clone()));
            let whole = sel.count(t, None);
            Measure {
                expr: format!("100.0 * {part} / {whole}"),
                name: "share_pct".into(),
                ..measure
            }
        }
        (Some(cond), Some(ShareBase::Sum(col))) => Measure {
            expr: format!("100.0 * SUM(CASE WHEN {cond} THEN {col} ELSE 0 END) / SUM({col})"),
            name: "share_pct".into(),
            ..measure
        },
        (Some(_), None) => {
            return Err(refuse(
                p,
                &format!("Не умею считать долю для показателя {}.", measure.name),
                &format!("I cannot compute a share of the metric {}.", measure.name),
            ))
        }
        (None, _) => measure,
    };
    value_filters(p, &mut sel, &measure, share_cond.as_deref());
    let groups = groups(p, &measure, share_cond.as_deref());

    // Two periods to compare: one row per period.
    if c.compare && p.times.len() >= 2 {
        return comparison(p, sel, &measure, &groups, tz);
    }
    if let Some(t) = p.times.first() {
        let col = time_column(p, &measure, t);
        sel.filters.push(t.period.condition(&col, tz));
    }
    let mut ordered_by_bucket = None;
    if let Some(bucket) = c.series {
        let col = match p.times.first() {
            Some(t) => time_column(p, &measure, t),
            None => default_time(p, &measure)?,
        };
        let (expr, alias) = match bucket {
            Bucket::Hour => (format!("date_part('hour', {col})"), "hour"),
            Bucket::Day => (format!("CAST({col} AS DATE)"), "day"),
            Bucket::Week => (format!("date_trunc('week', {col})"), "week"),
            Bucket::Month => (format!("date_trunc('month', {col})"), "month"),
        };
        sel.columns.push((expr.clone(), alias.to_string()));
        sel.group_by.push(expr);
        ordered_by_bucket = Some(alias);
    }
    for g in &groups {
        add_group(p, &mut sel, g);
    }
    let value_expr = measure.expr.clone();
    sel.columns.push((value_expr.clone(), measure.name.clone()));
    for (cmp, _) in &thresholds {
        // Minimum support inside a ranking: "среди слов, на которые отвечали не меньше 20 раз".
        let count = sel.count(&measure.table, None);
        sel.having
            .push(format!("{count} {} {}", cmp.op, num(cmp.value)));
    }
    if let Some(alias) = ordered_by_bucket {
        sel.order_by.push(alias.to_string());
    } else if ranking {
        if groups.is_empty() {
            return Err(refuse(
                p,
                "Не понял, что нужно ранжировать: назовите, например, мерчантов, товары или категории.",
                "I could not tell what to rank: name the things to rank, e.g. merchants, products or categories.",
            ));
        }
        let dir = match (c.superlative, c.top) {
            (Some(Dir::Asc), _) | (None, Some((_, Dir::Asc))) => "ASC",
            _ => "DESC",
        };
        sel.order_by.push(format!("{} {dir}", ident(&measure.name)));
        sel.limit = match c.top {
            Some((n, _)) => Some(n),
            None if plural_subject(p) => None,
            None => Some(1),
        };
    }
    sel.render(layer).map_err(|e| refuse(p, &e, &e))
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

enum Attached {
    After(Target),
    Before(Target),
    /// "20 раз", "5 times": a count of the measured rows.
    Times,
    Nothing,
}

fn attach(p: &Parsed, cmp: &Comparator) -> Attached {
    if p.tokens
        .get(cmp.after)
        .is_some_and(|t| ["раз", "раза", "times", "time"].contains(&t.text.as_str()))
    {
        return Attached::Times;
    }
    let after = p.mentions.iter().find(|m| {
        m.start >= cmp.after
            && m.start <= cmp.after + 2
            && !matches!(m.target, Target::Value(_) | Target::Dimension(_))
    });
    if let Some(m) = after {
        if !matches!(m.target, Target::Measure(_)) {
            return Attached::After(m.target.clone());
        }
    }
    let before = p
        .mentions
        .iter()
        .rev()
        .find(|m| m.end <= cmp.at && m.end + 3 >= cmp.at);
    match before {
        Some(m) if matches!(m.target, Target::Measure(_) | Target::Metric(_)) => {
            Attached::Before(m.target.clone())
        }
        _ => Attached::Nothing,
    }
}

/// The metric (or count, or aggregated measure) the question asks for.
fn measure(p: &Parsed, sel: &mut Select) -> Result<Measure, String> {
    let layer = p.layer;
    let c = &p.cues;
    let metrics = p.metrics();
    let values = p.values();
    // "How many <things>": count the first thing named after the cue, unless a metric counts it.
    if c.count && !c.share {
        if let Some(m) = counted_subject(p, sel) {
            if let Some(per) = per_entity(p, &m) {
                return Ok(per_entity_ratio(p, sel, m, per));
            }
            return Ok(m);
        }
    }
    if c.share {
        let base = if let Some((m, _)) = metrics.first() {
            metric(p, sel, m)
        } else if let Some(t) = share_table(p) {
            let expr = sel.count(&t, None);
            Measure {
                expr,
                name: "count".into(),
                table: t.clone(),
                filter: None,
                time: None,
                share: Some(ShareBase::Count(t)),
            }
        } else {
            return Err(refuse(
                p,
                "Не понял, долю чего считать.",
                "I could not tell what the share is of.",
            ));
        };
        return Ok(base);
    }
    if let Some((m, _)) = metrics.first() {
        return Ok(metric(p, sel, m));
    }
    if let Some((m, _)) = p.measures().first() {
        let def = &layer.measures[m];
        let agg = c.agg.or(def.agg).unwrap_or(Agg::Sum);
        let table = tables_in(&def.column)
            .into_iter()
            .next()
            .unwrap_or_default();
        return Ok(Measure {
            expr: agg.apply(&def.column),
            name: format!("{}_{}", agg_name(agg), m),
            table,
            filter: None,
            time: None,
            share: (agg == Agg::Sum).then(|| ShareBase::Sum(def.column.clone())),
        });
    }
    // "Сумма возвратов": an aggregation of the table's default measure.
    if let Some(agg) = c.agg.filter(|a| *a != Agg::Count) {
        let mut candidates: Vec<String> = values
            .iter()
            .filter_map(|(v, _)| layer.values[v].table())
            .collect();
        candidates.extend(p.tables().into_iter().map(|(t, _)| t));
        for t in candidates {
            if let Some(col) = layer.tables.get(&t).and_then(|d| d.measure.clone()) {
                let col = qualify(&t, &col);
                return Ok(Measure {
                    expr: agg.apply(&col),
                    name: format!(
                        "{}_{}",
                        agg_name(agg),
                        col.split('.').next_back().unwrap_or("value")
                    ),
                    table: t,
                    filter: None,
                    time: None,
                    share: (agg == Agg::Sum).then_some(ShareBase::Sum(col)),
                });
            }
        }
    }
    if let Some(m) = counted_subject(p, sel) {
        if c.count || c.series.is_some() || !p.dimensions().is_empty() || !p.times.is_empty() {
            return Ok(m);
        }
    }
    let mut understood = p.understood();
    if understood.is_empty() {
        understood.push("—".into());
    }
    Err(refuse(
        p,
        &format!(
            "Не нашёл в вопросе показателя, который умею считать (понял: {}). Спросите, например, про количество, сумму или выручку.",
            understood.join("; ")
        ),
        &format!(
            "I found nothing in the question I know how to measure (understood: {}). Ask for a count, a sum or a named metric.",
            understood.join("; ")
        ),
    ))
}

fn agg_name(a: Agg) -> &'static str {
    match a {
        Agg::Sum => "sum",
        Agg::Count => "count",
        Agg::CountDistinct => "count_distinct",
        Agg::Avg => "avg",
        Agg::Min => "min",
        Agg::Max => "max",
        Agg::Median => "median",
    }
}

/// A named metric as an expression.
fn metric(p: &Parsed, sel: &mut Select, name: &str) -> Measure {
    let def: &MetricDef = &p.layer.metrics[name];
    let expr = if let Some(e) = &def.expr {
        e.clone()
    } else if let Some([start, end]) = &def.duration {
        let unit = p
            .cues
            .unit
            .or(def.unit.as_deref().map(static_unit))
            .unwrap_or("minutes");
        format!(
            "AVG((date_part('epoch', {end}) - date_part('epoch', {start})) / {:.1})",
            unit_seconds(unit)
        )
    } else {
        let agg = def.agg.unwrap_or(Agg::Sum);
        match (agg, &def.column) {
            (Agg::Count, _) => sel.count(&def.table, None),
            (a, Some(col)) => a.apply(col),
            (_, None) => sel.count(&def.table, None),
        }
    };
    Measure {
        expr,
        name: name.to_string(),
        table: def.table.clone(),
        filter: def.filter.clone(),
        time: def.time.clone(),
        share: match (
            def.expr.is_none() && def.duration.is_none(),
            def.agg,
            &def.column,
        ) {
            (true, Some(Agg::Count) | None, None) => Some(ShareBase::Count(def.table.clone())),
            (true, Some(Agg::Sum), Some(col)) => Some(ShareBase::Sum(col.clone())),
            _ => None,
        },
    }
}

/// The rows a share is taken over: a named table holding the value, or one that reaches it
/// over many-to-one joins ("orders paid via SBP"), else the value's own table.
fn share_table(p: &Parsed) -> Option<String> {
    let layer = p.layer;
    let value_tables: Vec<String> = p
        .values()
        .iter()
        .filter_map(|(v, _)| layer.values[v].table())
        .collect();
    let named: Vec<String> = p.tables().into_iter().map(|(t, _)| t).collect();
    if let Some(t) = named.iter().find(|t| value_tables.contains(t)) {
        return Some(t.clone());
    }
    let joins = layer.parsed_joins().unwrap_or_default();
    let reaches = |from: &str, to: &str| {
        let mut frontier = vec![from.to_string()];
        let mut seen = vec![from.to_string()];
        while let Some(t) = frontier.pop() {
            if t == to {
                return true;
            }
            for j in joins.iter().filter(|j| j.from_table == t) {
                if !seen.contains(&j.to_table) {
                    seen.push(j.to_table.clone());
                    frontier.push(j.to_table.clone());
                }
            }
        }
        false
    };
    if let Some(t) = named
        .iter()
        .find(|t| value_tables.iter().any(|v| reaches(t, v)))
    {
        return Some(t.clone());
    }
    value_tables
        .into_iter()
        .next()
        .or_else(|| named.into_iter().next())
}

fn static_unit(u: &str) -> &'static str {
    match u {
        "seconds" => "seconds",
        "hours" => "hours",
        "days" => "days",
        _ => "minutes",
    }
}

/// The thing "how many" asks about: a table's rows, an entity, or a metric that counts it.
fn counted_subject(p: &Parsed, sel: &mut Select) -> Option<Measure> {
    let layer = p.layer;
    let mut things: Vec<(usize, Target)> = p
        .mentions
        .iter()
        .filter(|m| matches!(m.target, Target::Table(_) | Target::Entity(_)))
        .map(|m| (m.start, m.target.clone()))
        .collect();
    things.sort_by_key(|(s, _)| *s);
    let (_, first) = things.first()?.clone();
    let metrics = p.metrics();
    match first {
        Target::Entity(e) => {
            let def = &layer.entities[&e];
            // A metric over other rows ("approved purchases") narrows which rows count.
            let ctx = metrics.first().map(|(m, _)| &layer.metrics[m]);
            let key = qualify(&def.table, &def.key);
            Some(Measure {
                expr: format!("COUNT(DISTINCT {key})"),
                name: format!("{e}s"),
                table: def.table.clone(),
                filter: ctx
                    .filter(|m| m.table == def.table)
                    .and_then(|m| m.filter.clone()),
                time: None,
                share: None,
            })
        }
        Target::Table(t) => {
            let def = layer.tables.get(&t)?;
            // "уникальных учеников занимались": a metric that counts these entities wins.
            if let Some(key) = &def.key {
                for (m, _) in &metrics {
                    let md = &layer.metrics[m];
                    if md.agg == Some(Agg::CountDistinct)
                        && md
                            .column
                            .as_deref()
                            .is_some_and(|c| c.ends_with(&format!(".{key}")))
                    {
                        return Some(Measure {
                            expr: Agg::CountDistinct
                                .apply(md.column.as_deref().unwrap_or_default()),
                            name: m.clone(),
                            table: md.table.clone(),
                            filter: md.filter.clone(),
                            time: md.time.clone(),
                            share: None,
                        });
                    }
                }
            }
            // A counting metric on the same table ("покупки" = approved transactions).
            let narrowing = metrics
                .iter()
                .map(|(m, _)| &p.layer.metrics[m])
                .find(|m| m.table == t && m.agg == Some(Agg::Count));
            Some(Measure {
                expr: sel.count(&t, None),
                name: format!("{t}_count"),
                table: t.clone(),
                filter: narrowing.and_then(|m| m.filter.clone()),
                time: None,
                share: Some(ShareBase::Count(t.clone())),
            })
        }
        _ => None,
    }
}

/// "в среднем на одного покупателя": the entity mentioned after the cue.
fn per_entity(p: &Parsed, m: &Measure) -> Option<String> {
    if !p.cues.per_entity {
        return None;
    }
    let layer = p.layer;
    p.mentions.iter().rev().find_map(|x| match &x.target {
        Target::Table(t) if *t != m.table => layer.tables[t].key.as_ref().map(|k| qualify(t, k)),
        Target::Entity(e) => {
            let d = &layer.entities[e];
            Some(qualify(&d.table, &d.key))
        }
        _ => None,
    })
}

fn per_entity_ratio(_p: &Parsed, _sel: &mut Select, m: Measure, key: String) -> Measure {
    Measure {
        expr: format!("1.0 * {} / COUNT(DISTINCT {key})", m.expr),
        name: format!(
            "{}_per_{}",
            m.name,
            key.split('.').next().unwrap_or("entity")
        ),
        ..m
    }
}

/// The value the share is of: the last one mentioned that the metric does not already imply.
fn share_condition(p: &Parsed, m: &Measure) -> Option<String> {
    let layer = p.layer;
    p.values()
        .iter()
        .rev()
        .map(|(v, _)| layer.values[v].sql().unwrap_or_default())
        .find(|sql| m.filter.as_deref() != Some(sql.as_str()))
}

/// WHERE conditions from mentioned values; several values of one column become `IN`.
fn value_filters(p: &Parsed, sel: &mut Select, m: &Measure, share: Option<&str>) {
    let layer = p.layer;
    let mut by_column: Vec<(String, Vec<String>)> = Vec::new();
    for (v, _) in p.values() {
        let def = &layer.values[&v];
        let Some(sql) = def.sql() else { continue };
        if Some(sql.as_str()) == share
            || m.filter.as_deref() == Some(sql.as_str())
            || sel.filters.contains(&sql)
        {
            continue;
        }
        let key = value_column(layer, &v).unwrap_or_else(|| sql.clone());
        match by_column.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => {
                if !list.contains(&v) {
                    list.push(v)
                }
            }
            None => by_column.push((key, vec![v])),
        }
    }
    for (col, names) in by_column {
        if names.len() == 1 {
            sel.filters
                .push(layer.values[&names[0]].sql().unwrap_or_default());
        } else if names.iter().all(|n| layer.values[n].condition.is_none()) {
            let list: Vec<String> = names
                .iter()
                .filter_map(|n| layer.values[n].value.as_deref().map(crate::semantic::quote))
                .collect();
            sel.filters.push(format!("{col} IN ({})", list.join(", ")));
        } else {
            // "correct vs incorrect" together cover the column: grouping says it all.
            let conds: Vec<String> = names.iter().filter_map(|n| layer.values[n].sql()).collect();
            let _ = conds;
        }
    }
}

/// The column a value constrains (for grouping "Москва и Петербург" by city).
fn value_column(layer: &Layer, v: &str) -> Option<String> {
    let def = &layer.values[v];
    if let Some(c) = &def.column {
        return Some(c.clone());
    }
    let cond = def.condition.as_ref()?;
    // `quiz_answers.is_correct`, `NOT quiz_answers.is_correct` → the column.
    let t = tables_in(cond).into_iter().next()?;
    let start = cond.find(&format!("{t}."))?;
    let rest = &cond[start..];
    let end = rest
        .char_indices()
        .find(|(i, ch)| *i > t.len() + 1 && !(ch.is_alphanumeric() || *ch == '_'))
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// Grouping: dimensions named (unless a single value of theirs is the filter), two or more
/// values of one column, and tables/entities named after "по"/"by"/"each" or as the subject
/// of a ranking.
fn groups(p: &Parsed, m: &Measure, share: Option<&str>) -> Vec<Group> {
    let layer = p.layer;
    let mut out: Vec<Group> = Vec::new();
    let values = p.values();
    let mut value_cols: Vec<(String, usize)> = Vec::new();
    for (v, _) in &values {
        let Some(col) = value_column(layer, v) else {
            continue;
        };
        if layer.values[v].sql().as_deref() == share {
            continue;
        }
        match value_cols.iter_mut().find(|(c, _)| *c == col) {
            Some((_, n)) => *n += 1,
            None => value_cols.push((col, 1)),
        }
    }
    let value_tables: Vec<(String, usize)> = values
        .iter()
        .filter_map(|(v, pos)| layer.values[v].table().map(|t| (t, *pos)))
        .collect();
    for (d, dpos) in p.dimensions() {
        let def = &layer.dimensions[&d];
        let col_table = tables_in(&def.column)
            .into_iter()
            .next()
            .unwrap_or_default();
        // "в категории Grocery", "paid via SBP": the dimension only names the value's kind.
        let single_value = value_cols
            .iter()
            .any(|(c, n)| *n == 1 && (*c == def.column || def.column_ru.as_ref() == Some(c)))
            || value_tables
                .iter()
                .any(|(t, pos)| *t == col_table && pos.abs_diff(dpos) <= 2)
                && !value_cols
                    .iter()
                    .any(|(c, n)| *n > 1 && tables_in(c).contains(&col_table));
        if single_value {
            continue;
        }
        if !out.iter().any(|g| matches!(g, Group::Dim(x) if *x == d)) {
            out.push(Group::Dim(d));
        }
    }
    for (col, n) in &value_cols {
        if *n > 1 {
            let existing = layer
                .dimensions
                .iter()
                .find(|(_, d)| d.column == *col || d.column_ru.as_ref() == Some(col));
            let g = match existing {
                Some((name, _)) => Group::Dim(name.clone()),
                None => Group::Dim(format!("={col}")),
            };
            if !out
                .iter()
                .any(|x| matches!((x, &g), (Group::Dim(a), Group::Dim(b)) if a == b))
            {
                out.push(g);
            }
        }
    }
    // Tables and entities named as a breakdown or as what a ranking ranks.
    let ranking = p.cues.top.is_some() || p.cues.superlative.is_some();
    let mentions: Vec<_> = p
        .mentions
        .iter()
        .filter(|x| matches!(x.target, Target::Table(_) | Target::Entity(_)))
        .collect();
    for (i, x) in mentions.iter().enumerate() {
        let prev = x
            .start
            .checked_sub(1)
            .and_then(|k| p.tokens.get(k))
            .map(|t| t.text.as_str());
        let breakdown = matches!(
            prev,
            Some(
                "по" | "by"
                    | "per"
                    | "each"
                    | "every"
                    | "каждого"
                    | "каждому"
                    | "каждой"
                    | "каждый"
                    | "для"
                    | "for"
            )
        );
        let (table, group) = match &x.target {
            Target::Table(t) => (t.clone(), Group::Table(t.clone())),
            Target::Entity(e) => (layer.entities[e].table.clone(), Group::Entity(e.clone())),
            _ => continue,
        };
        let is_measured = table == m.table && matches!(x.target, Target::Table(_));
        let ranked = ranking && i == 0 && out.is_empty() && !is_measured;
        let keyed = match &group {
            Group::Table(t) => layer.tables[t].key.is_some() || layer.tables[t].label.is_some(),
            _ => true,
        };
        if (breakdown && !is_measured || ranked) && keyed {
            let prev_for = matches!(prev, Some("for"));
            if prev_for && !ranked {
                // "for delivered orders" is a filter context, not a breakdown.
                continue;
            }
            out.push(group);
        }
    }
    out
}

fn add_group(p: &Parsed, sel: &mut Select, g: &Group) {
    let layer = p.layer;
    match g {
        Group::Dim(d) if d.starts_with('=') => {
            let col = d[1..].to_string();
            let alias = col.split('.').next_back().unwrap_or("group").to_string();
            sel.columns.push((col.clone(), alias));
            sel.group_by.push(col);
        }
        Group::Dim(d) => {
            let def = &layer.dimensions[d];
            let col = match (&def.column_ru, p.ru()) {
                (Some(ru), true) => ru.clone(),
                _ => def.column.clone(),
            };
            sel.columns.push((col.clone(), d.clone()));
            if let Some(k) = &def.key {
                sel.group_by.push(k.clone());
            }
            sel.group_by.push(col);
        }
        Group::Table(t) => {
            let def = &layer.tables[t];
            if let Some(l) = &def.label {
                let col = qualify(t, l);
                sel.columns.push((col.clone(), derive_name(t, l)));
                sel.group_by.push(col);
            }
            if let Some(k) = &def.key {
                let col = qualify(t, k);
                sel.columns.push((col.clone(), k.clone()));
                sel.group_by.insert(0, col);
            }
        }
        Group::Entity(e) => {
            let def = &layer.entities[e];
            if let Some(l) = &def.label {
                let col = qualify(&def.table, l);
                sel.columns.push((col.clone(), l.clone()));
                sel.group_by.push(col);
            }
            let col = qualify(&def.table, &def.key);
            sel.columns.push((col.clone(), def.key.clone()));
            sel.group_by.push(col);
        }
    }
}

fn derive_name(table: &str, label: &str) -> String {
    format!("{}_{}", crate::derive::singular(table), label)
}

/// Is the ranked thing plural ("какие категории", "which categories") → rank them all.
fn plural_subject(p: &Parsed) -> bool {
    if let Some(plural) = p.cues.plural_question {
        if p.ru() || !plural {
            return plural;
        }
    }
    let first = p.mentions.iter().find(|m| {
        matches!(
            m.target,
            Target::Dimension(_) | Target::Table(_) | Target::Entity(_)
        )
    });
    match first {
        Some(m) => {
            let t = &p.tokens[m.end - 1];
            if p.ru() {
                false
            } else {
                t.text.ends_with('s') && t.text != t.stem
            }
        }
        None => false,
    }
}

/// The time column a period applies to: the nearest time verb, else the metric's, else the
/// measured table's.
fn time_column(p: &Parsed, m: &Measure, t: &TimeMention) -> String {
    let layer = p.layer;
    let nearest = p
        .time_verbs
        .iter()
        .filter_map(|v| match &v.target {
            Target::Time(n) => Some((n, v.start.abs_diff(t.start).min(v.end.abs_diff(t.end)))),
            _ => None,
        })
        .min_by_key(|(_, d)| *d);
    if let Some((n, _)) = nearest {
        return layer.times[n].column.clone();
    }
    for (v, _) in p.values() {
        if let Some(col) = &layer.values[&v].time {
            return col.clone();
        }
    }
    default_time(p, m).unwrap_or_default()
}

fn default_time(p: &Parsed, m: &Measure) -> Result<String, String> {
    if let Some(t) = &m.time {
        return Ok(t.clone());
    }
    p.layer.time_column(&m.table).ok_or_else(|| {
        refuse(
            p,
            &format!(
                "У таблицы {} нет столбца времени в семантическом слое.",
                m.table
            ),
            &format!(
                "Table {} has no time column in the semantic layer.",
                m.table
            ),
        )
    })
}

/// Two periods side by side: one row per period (label, value).
fn comparison(
    p: &Parsed,
    base: Select,
    m: &Measure,
    groups: &[Group],
    tz: Tz,
) -> Result<String, String> {
    let mut parts = Vec::new();
    for t in p.times.iter().take(2) {
        let mut sel = base.clone();
        let col = time_column(p, m, t);
        let label = crate::semantic::quote(&t.period.label(p.ru()));
        sel.columns.push((label, "period".into()));
        for g in groups {
            add_group(p, &mut sel, g);
        }
        sel.columns.push((m.expr.clone(), m.name.clone()));
        sel.filters.push(t.period.condition(&col, tz));
        parts.push(sel.render(p.layer).map_err(|e| refuse(p, &e, &e))?);
    }
    Ok(parts.join("\nUNION ALL\n"))
}

/// "Сколько карт совершили больше трёх покупок", "users who placed more than 2 orders".
fn threshold(
    p: &Parsed,
    sel: &mut Select,
    cmp: Comparator,
    target: Option<Target>,
    row_filters: Vec<String>,
    tz: Tz,
) -> Result<String, String> {
    let layer = p.layer;
    // Who is counted: the entity or keyed table named before the comparator.
    let who = p
        .mentions
        .iter()
        .filter(|m| m.start < cmp.at)
        .find_map(|m| match &m.target {
            Target::Entity(e) => Some(Group::Entity(e.clone())),
            Target::Table(t) if layer.tables[t].key.is_some() => Some(Group::Table(t.clone())),
            _ => None,
        })
        .ok_or_else(|| {
            refuse(
                p,
                "Не понял, кого считать: назовите, например, клиентов или карты.",
                "I could not tell who is counted: name e.g. customers or cards.",
            )
        })?;
    let fact = match target {
        Some(Target::Metric(m)) => metric(p, sel, &m),
        Some(Target::Table(t)) => {
            let expr = sel.count(&t, None);
            let narrowing = p
                .metrics()
                .iter()
                .map(|(m, _)| layer.metrics[m].clone())
                .find(|m| m.table == t && m.agg == Some(Agg::Count));
            Measure {
                expr,
                name: format!("{t}_count"),
                table: t,
                filter: narrowing.and_then(|m| m.filter),
                time: None,
                share: None,
            }
        }
        _ => {
            return Err(refuse(
                p,
                "Не понял, что сравнивать с числом.",
                "I could not tell what is compared with the number.",
            ));
        }
    };
    threshold_query(p, sel, who, fact, cmp.op, cmp.value, row_filters, tz)
}

#[allow(clippy::too_many_arguments)]
fn threshold_query(
    p: &Parsed,
    sel: &mut Select,
    who: Group,
    fact: Measure,
    op: &str,
    value: f64,
    row_filters: Vec<String>,
    tz: Tz,
) -> Result<String, String> {
    let layer = p.layer;
    let (base, key, label) = match &who {
        Group::Entity(e) => {
            let d = &layer.entities[e];
            (
                d.table.clone(),
                qualify(&d.table, &d.key),
                d.label.as_ref().map(|l| qualify(&d.table, l)),
            )
        }
        Group::Table(t) => {
            let d = &layer.tables[t];
            (
                t.clone(),
                qualify(t, d.key.as_deref().unwrap_or("id")),
                d.label.as_ref().map(|l| qualify(t, l)),
            )
        }
        Group::Dim(_) => unreachable!("thresholds count entities"),
    };
    sel.base = base;
    sel.also.push(fact.table.clone());
    sel.filters.extend(row_filters);
    if let Some(f) = &fact.filter {
        sel.filters.push(f.clone());
    }
    value_filters(p, sel, &fact, None);
    if let Some(t) = p.times.first() {
        let col = time_column(p, &fact, t);
        sel.filters.push(t.period.condition(&col, tz));
    }
    let list = !p.cues.count;
    if list {
        if let Some(l) = &label {
            sel.columns.push((
                l.clone(),
                l.split('.').next_back().unwrap_or("name").to_string(),
            ));
        }
    }
    sel.columns.push((
        key.clone(),
        key.split('.').next_back().unwrap_or("id").to_string(),
    ));
    sel.group_by.push(key);
    if let Some(l) = label.filter(|_| list) {
        sel.group_by.push(l);
    }
    sel.having
        .push(format!("{} {op} {}", fact.expr, num(value)));
    let inner = sel.render(layer).map_err(|e| refuse(p, &e, &e))?;
    if list {
        Ok(inner)
    } else {
        Ok(format!(
            "SELECT COUNT(*) AS {}\nFROM (\n{inner}\n) AS matching",
            ident("count")
        ))
    }
}

/// A named segment ("повторные покупатели").
fn segment(p: &Parsed, sel: &mut Select, name: &str, tz: Tz) -> Result<String, String> {
    let layer = p.layer;
    let def = &layer.segments[name];
    let who = if layer.entities.contains_key(&def.entity) {
        Group::Entity(def.entity.clone())
    } else {
        Group::Table(def.entity.clone())
    };
    let fact = metric(p, sel, &def.metric);
    let mut p2 = p.clone();
    if !p.cues.list {
        p2.cues.count = true;
    }
    threshold_query(
        &p2,
        sel,
        who,
        fact,
        &def.op.clone(),
        def.value,
        Vec::new(),
        tz,
    )
}

/// "Which merchants had no approved transactions in the last 14 days?"
fn anti_join(p: &Parsed, sel: &mut Select, tz: Tz) -> Result<Option<String>, String> {
    let layer = p.layer;
    let things: Vec<(String, usize)> = p.tables();
    let neg = p.cues.negation.unwrap_or(0);
    let entity = things
        .iter()
        .find(|(t, pos)| *pos < neg && layer.tables[t].key.is_some());
    let fact = things.iter().find(|(_, pos)| *pos > neg);
    let (Some((entity, _)), Some((fact, _))) = (entity, fact) else {
        return Ok(None);
    };
    let joins = layer.parsed_joins().map_err(|e| refuse(p, &e, &e))?;
    let edge = joins
        .iter()
        .find(|j| j.from_table == *fact && j.to_table == *entity);
    let Some(edge) = edge else {
        return Ok(None);
    };
    let metric = p.metrics().first().map(|(m, _)| layer.metrics[m].clone());
    let mut inner = Select {
        schema: p.schema.to_string(),
        base: fact.clone(),
        ..Default::default()
    };
    inner.columns.push((
        format!("{}.{}", edge.from_table, edge.from_column),
        "id".into(),
    ));
    if let Some(f) = metric
        .as_ref()
        .filter(|m| m.table == *fact)
        .and_then(|m| m.filter.clone())
    {
        inner.filters.push(f);
    }
    let m = Measure {
        expr: String::new(),
        name: String::new(),
        table: fact.clone(),
        filter: None,
        time: None,
        share: None,
    };
    value_filters(p, &mut inner, &m, None);
    if let Some(t) = p.times.first() {
        inner
            .filters
            .push(t.period.condition(&time_column(p, &m, t), tz));
    }
    let inner_sql = inner.render(layer).map_err(|e| refuse(p, &e, &e))?;
    let def = &layer.tables[entity];
    sel.base = entity.clone();
    if let Some(l) = &def.label {
        sel.columns.push((qualify(entity, l), l.clone()));
    }
    let key = qualify(entity, def.key.as_deref().unwrap_or("id"));
    sel.columns
        .push((key.clone(), def.key.clone().unwrap_or_else(|| "id".into())));
    let indented = inner_sql.replace('\n', "\n  ");
    sel.filters.push(format!("{key} NOT IN (\n  {indented})"));
    // The subquery's tables are its own; render the outer query over the entity alone.
    let outer = format!(
        "SELECT {}\nFROM {}.{} AS {}\nWHERE {}",
        sel.columns
            .iter()
            .map(|(e, a)| format!("{e} AS {}", ident(a)))
            .collect::<Vec<_>>()
            .join(", "),
        p.schema,
        entity,
        entity,
        sel.filters.join("\n  AND ")
    );
    Ok(Some(outer))
}

/// "Which learners registered this month?": rows of a named table, no aggregate.
fn listing(
    p: &Parsed,
    sel: &mut Select,
    row_filters: &[String],
    tz: Tz,
) -> Result<Option<String>, String> {
    let c = &p.cues;
    let aggregate = c.count
        || c.share
        || c.agg.is_some()
        || c.series.is_some()
        || c.compare
        || c.top.is_some()
        || c.superlative.is_some()
        || !p.metrics().is_empty()
        || !p.measures().is_empty()
        || !p.dimensions().is_empty();
    if !c.list || aggregate {
        return Ok(None);
    }
    let layer = p.layer;
    let Some((table, _)) = p
        .tables()
        .into_iter()
        .find(|(t, _)| layer.tables[t].label.is_some())
    else {
        return Ok(None);
    };
    let def = &layer.tables[&table];
    sel.base = table.clone();
    if let Some(l) = &def.label {
        sel.columns.push((qualify(&table, l), l.clone()));
    }
    if let Some(k) = &def.key {
        sel.columns.push((qualify(&table, k), k.clone()));
    }
    sel.filters.extend(row_filters.iter().cloned());
    let m = Measure {
        expr: String::new(),
        name: String::new(),
        table: table.clone(),
        filter: None,
        time: None,
        share: None,
    };
    value_filters(p, sel, &m, None);
    if let Some(t) = p.times.first() {
        let col = time_column(p, &m, t);
        sel.filters.push(t.period.condition(&col, tz));
    }
    if let Some(l) = &def.label {
        sel.order_by.push(qualify(&table, l));
    }
    sel.limit = Some(1000);
    sel.render(layer).map(Some).map_err(|e| refuse(p, &e, &e))
}

/// "Значимо ли отличается выручка между вариантами?": welch_ttest (or mann_whitney_u) of a
/// measure of the experiment's table, treatment against control.
fn ab_test(p: &Parsed, sel: &mut Select, tz: Tz) -> Result<Option<String>, String> {
    let layer = p.layer;
    let named: Vec<String> = p.tables().into_iter().map(|(t, _)| t).collect();
    let Some(exp) = layer
        .experiments
        .values()
        .find(|e| named.contains(&e.table))
        .or_else(|| layer.experiments.values().next())
    else {
        return Ok(None);
    };
    let column = p
        .measures()
        .iter()
        .map(|(m, _)| layer.measures[m].column.clone())
        .find(|c| tables_in(c).first() == Some(&exp.table))
        .or_else(|| {
            layer
                .tables
                .get(&exp.table)?
                .measure
                .as_ref()
                .map(|m| qualify(&exp.table, m))
        })
        .ok_or_else(|| {
            refuse(
                p,
                "Не понял, какой показатель сравнивать между вариантами.",
                "I could not tell which measure to compare between the variants.",
            )
        })?;
    let test = if p.cues.nonparametric {
        "mann_whitney_u"
    } else {
        "welch_ttest"
    };
    sel.base = exp.table.clone();
    let q = crate::semantic::quote;
    sel.filters.push(format!(
        "{} IN ({}, {})",
        exp.variant,
        q(&exp.control),
        q(&exp.treatment)
    ));
    let m = Measure {
        expr: String::new(),
        name: String::new(),
        table: exp.table.clone(),
        filter: None,
        time: None,
        share: None,
    };
    value_filters(p, sel, &m, None);
    // "A и B" name the arms, not a filter.
    let arm = format!("{} ", exp.variant);
    sel.filters
        .retain(|f| !f.starts_with(&arm) || f.starts_with(&format!("{arm}IN (")));
    if let Some(t) = p.times.first() {
        let col = time_column(p, &m, t);
        if col.is_empty() {
            return Err(refuse(
                p,
                &format!("У таблицы {} нет столбца времени.", exp.table),
                &format!("Table {} has no time column.", exp.table),
            ));
        }
        sel.filters.push(t.period.condition(&col, tz));
    }
    let mut outer = Vec::new();
    for g in groups(p, &m, None) {
        let before = sel.columns.len();
        add_group(p, sel, &g);
        outer.extend(sel.columns[before..].iter().map(|(_, a)| ident(a)));
    }
    sel.columns.push((
        format!("{test}({column}, {} = {})", exp.variant, q(&exp.treatment)),
        "r".into(),
    ));
    let inner = sel.render(layer).map_err(|e| refuse(p, &e, &e))?;
    let mut fields: Vec<&str> = vec!["n_control", "n_treatment", "statistic", "p_value"];
    if test == "welch_ttest" {
        fields = vec![
            "mean_control",
            "mean_treatment",
            "statistic",
            "p_value",
            "ci_low",
            "ci_high",
            "n_control",
            "n_treatment",
        ];
    }
    for f in fields {
        outer.push(format!("ab.r['{f}'] AS {f}"));
    }
    Ok(Some(format!(
        "SELECT {}\nFROM (\n{inner}\n) AS ab",
        outer.join(", ")
    )))
}
