//! What the model sees (schema slice, business definitions, dialect rules, stored examples)
//! and how its reply becomes SQL.

use crate::builtin::Indexed;
use crate::derive::SchemaInfo;

/// The system prompt: tables with types and sample values, the semantic layer's
/// definitions and joins, and the DataFusion rules small models get wrong.
pub fn system_prompt(
    schemas: &[SchemaInfo],
    layers: &[std::sync::Arc<Indexed>],
    tz: &str,
) -> String {
    let mut s = String::from(
        "You translate a user's question about their data into ONE read-only SQL query for \
         Apache DataFusion (PostgreSQL-like dialect).\n\
         Reply with a JSON object only: {\"sql\": \"<one SELECT>\", \"assumptions\": \"<short>\"} \
         or, when the data cannot answer the question or the user asks to change data, \
         {\"refuse\": \"<reason in the question's language>\"}.\n\n\
         Rules:\n\
         - Only SELECT (WITH allowed). Never INSERT, UPDATE, DELETE, DROP, CREATE, COPY or SET.\n\
         - Use only the tables and columns listed below, qualified as schema.table.\n\
         - Timestamps are naive UTC. today: ts >= CURRENT_DATE; yesterday: ts >= CURRENT_DATE - INTERVAL '1 day' AND ts < CURRENT_DATE; \
           last N days: ts >= CURRENT_DATE - INTERVAL 'N days'; this week/month/year: ts >= date_trunc('week'|'month'|'year', CURRENT_DATE); \
           last month: the previous full calendar month. Weeks start on Monday.\n\
         - Ratios: multiply by 1.0 before dividing counts (COUNT(*)/COUNT(...) is integer division). Percentages on a 0..100 scale.\n\
         - Dates: to_char uses chrono patterns ('%Y-%m'), not 'YYYY-MM'. Median: percentile_cont(0.5) WITHIN GROUP (ORDER BY x). \
           Durations: (date_part('epoch', b) - date_part('epoch', a)) / 60.0 for minutes.\n\
         - No file or URL readers (read_csv, 'file.parquet'). Add LIMIT 1000 to plain row listings.\n",
    );
    s.push_str(&format!("- The business time zone is {tz}.\n"));
    for info in schemas {
        s.push_str(&format!("\nSchema {}:\n", info.schema));
        for t in &info.tables {
            let cols: Vec<String> = t
                .columns
                .iter()
                .map(|c| match &c.values {
                    Some(v) if !v.is_empty() => {
                        let sample: Vec<String> =
                            v.iter().take(12).map(|x| format!("'{x}'")).collect();
                        format!("{} {} -- values: {}", c.name, c.sql_type, sample.join(", "))
                    }
                    _ => format!("{} {}", c.name, c.sql_type),
                })
                .collect();
            s.push_str(&format!(
                "CREATE TABLE {}.{} (\n  {}\n);\n",
                info.schema,
                t.name,
                cols.join(",\n  ")
            ));
        }
        if let Some(l) = layers.iter().find(|l| l.schema == info.schema) {
            if let Some(d) = &l.layer.description {
                s.push_str(&format!("-- {d}\n"));
            }
            for j in &l.layer.joins {
                s.push_str(&format!("-- join: {j}\n"));
            }
            for (name, m) in &l.layer.metrics {
                let how = m
                    .expr
                    .clone()
                    .or_else(|| m.description.clone())
                    .or_else(|| {
                        Some(format!(
                            "{:?}({})",
                            m.agg?,
                            m.column.clone().unwrap_or_else(|| "*".into())
                        ))
                    })
                    .unwrap_or_default();
                let filter = m
                    .filter
                    .as_ref()
                    .map(|f| format!(" WHERE {f}"))
                    .unwrap_or_default();
                s.push_str(&format!(
                    "-- metric {name} ({}): {how}{filter}\n",
                    m.synonyms.join(", ")
                ));
            }
        }
    }
    s
}

/// The user turn for a question, with stored examples first.
pub fn question_turn(question: &str, examples: &[(String, String)]) -> String {
    let mut s = String::new();
    if !examples.is_empty() {
        s.push_str("Confirmed examples:\n");
        for (q, sql) in examples.iter().take(5) {
            s.push_str(&format!("Q: {q}\nSQL: {sql}\n"));
        }
        s.push('\n');
    }
    s.push_str(&format!("Question: {question}"));
    s
}

/// The model's reply, read leniently: a JSON object, a fenced block, or bare SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Sql(String),
    Refuse(String),
}

pub fn parse_reply(text: &str) -> Option<Reply> {
    let trimmed = text.trim();
    let unfenced = strip_fence(trimmed);
    for candidate in [trimmed, unfenced.as_str()] {
        if let Some(start) = candidate.find('{') {
            if let Some(end) = candidate.rfind('}') {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&candidate[start..=end]) {
                    if let Some(r) = v.get("refuse").and_then(|r| r.as_str()) {
                        return Some(Reply::Refuse(r.to_string()));
                    }
                    if let Some(sql) = v.get("sql").and_then(|s| s.as_str()) {
                        return Some(Reply::Sql(clean_sql(sql)));
                    }
                }
            }
        }
    }
    let sql = clean_sql(&unfenced);
    let head = sql.trim_start().to_ascii_uppercase();
    if [
        "SELECT", "WITH", "DELETE", "DROP", "UPDATE", "INSERT", "CREATE", "ALTER", "TRUNCATE",
        "COPY",
    ]
    .iter()
    .any(|k| head.starts_with(k))
    {
        return Some(Reply::Sql(sql));
    }
    None
}

fn strip_fence(text: &str) -> String {
    if let Some(start) = text.find("```") {
        let after = &text[start + 3..];
        let after = after.split_once('\n').map(|(_, r)| r).unwrap_or(after);
        if let Some(end) = after.find("```") {
            return after[..end].to_string();
        }
    }
    text.to_string()
}

fn clean_sql(sql: &str) -> String {
    sql.trim().trim_end_matches(';').trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(
            parse_reply("{\"sql\": \"SELECT 1;\"}"),
            Some(Reply::Sql("SELECT 1".into()))
        );
        assert_eq!(
            parse_reply("Sure:\n```sql\nSELECT 2\n```"),
            Some(Reply::Sql("SELECT 2".into()))
        );
        assert_eq!(
            parse_reply("{\"refuse\": \"no data\"}"),
            Some(Reply::Refuse("no data".into()))
        );
        assert_eq!(parse_reply("I don't know"), None);
    }
}
