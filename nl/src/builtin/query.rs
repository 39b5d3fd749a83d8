//! A small SELECT model the frames fill in, rendered to SQL with the join path the semantic
//! layer declares (breadth-first from the anchor table, so the shortest declared path wins).

use std::collections::{BTreeSet, VecDeque};

use crate::semantic::{tables_in, Join, Layer};

/// Counting rows of `table` (optionally only where `when` holds): `COUNT(*)` unless a join
/// multiplies the table's rows, then `COUNT(DISTINCT key)`. Decided at render time.
#[derive(Debug, Clone)]
pub struct Count {
    pub table: String,
    pub when: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Select {
    pub schema: String,
    pub base: String,
    /// Tables that must be joined even if no expression names them.
    pub also: Vec<String>,
    pub columns: Vec<(String, String)>,
    pub filters: Vec<String>,
    pub group_by: Vec<String>,
    pub having: Vec<String>,
    pub order_by: Vec<String>,
    pub limit: Option<u32>,
    /// Placeholders `⟨n⟩` in expressions refer to these.
    pub counts: Vec<Count>,
}

impl Select {
    /// A placeholder for counting `table`'s rows (where `when` holds).
    pub fn count(&mut self, table: &str, when: Option<String>) -> String {
        self.counts.push(Count {
            table: table.to_string(),
            when,
        });
        format!("⟨{}⟩", self.counts.len() - 1)
    }

    fn expressions(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        v.extend(self.columns.iter().map(|(e, _)| e.as_str()));
        v.extend(self.filters.iter().map(String::as_str));
        v.extend(self.group_by.iter().map(String::as_str));
        v.extend(self.having.iter().map(String::as_str));
        v.extend(self.order_by.iter().map(String::as_str));
        v.extend(self.counts.iter().filter_map(|c| c.when.as_deref()));
        v
    }

    /// Every table the query needs.
    pub fn tables(&self) -> Vec<String> {
        let mut out = vec![self.base.clone()];
        let mut push = |t: String| {
            if !out.contains(&t) {
                out.push(t);
            }
        };
        for e in self.expressions() {
            tables_in(e).into_iter().for_each(&mut push);
        }
        self.counts.iter().for_each(|c| push(c.table.clone()));
        self.also.iter().cloned().for_each(push);
        out
    }

    pub fn render(&self, layer: &Layer) -> Result<String, String> {
        let joins = layer.parsed_joins()?;
        let needed = self.tables();
        let path = join_tree(&self.base, &needed, &joins)?;
        // Tables whose rows a join multiplies: reached over a one-to-many edge, or below one.
        let mut multiplied: BTreeSet<String> = BTreeSet::new();
        let mut fans_out = false;
        for step in &path {
            if step.reverse {
                fans_out = true;
            }
        }
        if fans_out {
            multiplied.insert(self.base.clone());
            for step in &path {
                multiplied.insert(step.table.clone());
            }
            // Tables reached over many-to-one edges from a multiplied table are not
            // multiplied themselves only if nothing reversed before them; keep it simple and
            // count every keyed table distinctly once any edge fans out.
        }
        let subst = |text: &str| -> String {
            let mut s = text.to_string();
            for (i, c) in self.counts.iter().enumerate() {
                let key = layer.tables.get(&c.table).and_then(|t| t.key.clone());
                let distinct = multiplied.contains(&c.table) && key.is_some();
                let expr = match (&c.when, distinct) {
                    (None, false) => "COUNT(*)".to_string(),
                    (None, true) => {
                        format!("COUNT(DISTINCT {}.{})", c.table, key.unwrap_or_default())
                    }
                    (Some(w), false) => format!("SUM(CASE WHEN {w} THEN 1 ELSE 0 END)"),
                    (Some(w), true) => format!(
                        "COUNT(DISTINCT CASE WHEN {w} THEN {}.{} END)",
                        c.table,
                        key.unwrap_or_default()
                    ),
                };
                s = s.replace(&format!("⟨{i}⟩"), &expr);
            }
            s
        };
        let mut sql = String::from("SELECT ");
        sql.push_str(
            &self
                .columns
                .iter()
                .map(|(e, a)| format!("{} AS {}", subst(e), ident(a)))
                .collect::<Vec<_>>()
                .join(", "),
        );
        sql.push_str(&format!(
            "\nFROM {}.{} AS {}",
            self.schema, self.base, self.base
        ));
        for step in &path {
            sql.push_str(&format!(
                "\nJOIN {}.{} AS {} ON {}",
                self.schema, step.table, step.table, step.on
            ));
        }
        if !self.filters.is_empty() {
            let f: Vec<String> = self.filters.iter().map(|f| subst(f)).collect();
            sql.push_str(&format!("\nWHERE {}", f.join("\n  AND ")));
        }
        if !self.group_by.is_empty() {
            sql.push_str(&format!("\nGROUP BY {}", self.group_by.join(", ")));
        }
        if !self.having.is_empty() {
            let h: Vec<String> = self.having.iter().map(|h| subst(h)).collect();
            sql.push_str(&format!("\nHAVING {}", h.join(" AND ")));
        }
        if !self.order_by.is_empty() {
            let o: Vec<String> = self.order_by.iter().map(|o| subst(o)).collect();
            sql.push_str(&format!("\nORDER BY {}", o.join(", ")));
        }
        if let Some(n) = self.limit {
            sql.push_str(&format!("\nLIMIT {n}"));
        }
        Ok(sql)
    }
}

/// A column alias, quoted when it is not a plain lower-case identifier.
pub fn ident(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub table: String,
    pub on: String,
    /// Walked from the "one" side to the "many" side: rows multiply.
    pub reverse: bool,
}

/// The joins connecting `base` to every table of `needed`, shortest declared paths first.
pub fn join_tree(base: &str, needed: &[String], joins: &[Join]) -> Result<Vec<Step>, String> {
    let mut steps: Vec<Step> = Vec::new();
    let mut have: Vec<String> = vec![base.to_string()];
    for target in needed {
        if have.contains(target) {
            continue;
        }
        // BFS from the tables we already have.
        let mut prev: std::collections::HashMap<String, (String, usize, bool)> = Default::default();
        let mut queue: VecDeque<String> = have.iter().cloned().collect();
        let mut seen: BTreeSet<String> = have.iter().cloned().collect();
        let mut found = false;
        while let Some(t) = queue.pop_front() {
            if &t == target {
                found = true;
                break;
            }
            for (i, j) in joins.iter().enumerate() {
                let (next, reverse) = if j.from_table == t {
                    (j.to_table.clone(), false)
                } else if j.to_table == t {
                    (j.from_table.clone(), true)
                } else {
                    continue;
                };
                if seen.insert(next.clone()) {
                    prev.insert(next.clone(), (t.clone(), i, reverse));
                    queue.push_back(next);
                }
            }
        }
        if !found {
            return Err(format!(
                "no join path from {base} to {target}: declare one in the semantic layer's joins"
            ));
        }
        let mut chain = Vec::new();
        let mut cur = target.clone();
        while let Some((p, i, reverse)) = prev.get(&cur).cloned() {
            let j = &joins[i];
            chain.push(Step {
                table: cur.clone(),
                on: format!(
                    "{}.{} = {}.{}",
                    j.from_table, j.from_column, j.to_table, j.to_column
                ),
                reverse,
            });
            cur = p;
        }
        for step in chain.into_iter().rev() {
            have.push(step.table.clone());
            steps.push(step);
        }
    }
    Ok(steps)
}
