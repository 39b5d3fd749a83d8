//! `EXTRACT(field FROM x)` returns numeric in PostgreSQL 14 and later (`date_part()` stays
//! double precision); DataFusion plans both as float8. Grafana's time macros expand to
//! `extract(epoch from ts)`, and drivers read the column's type.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Statement};

/// Rewrites every EXTRACT in `statement` to a numeric `date_part`.
pub(super) fn rewrite(statement: &mut Statement) {
    let _ = visit_expressions_mut(statement, |e| {
        if let Expr::Extract { field, expr, .. } = e {
            let field = field.to_string().to_ascii_lowercase();
            // PostgreSQL's scales: seconds carry microseconds, milliseconds three digits.
            let scale = match field.as_str() {
                "epoch" | "second" | "seconds" | "julian" => 6,
                "millisecond" | "milliseconds" => 3,
                _ => 0,
            };
            let text = format!(
                "CAST(date_part('{}', {expr}) AS DECIMAL(38, {scale}))",
                field.replace('\'', "''")
            );
            if let Some(new) = super::rules::parse_expr(&text) {
                *e = new;
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {

    #[test]
    fn extract_is_numeric() {
        let mut s = crate::pg_catalog::ast::parsed("SELECT floor(extract(epoch from ts)/60)*60, EXTRACT(YEAR FROM d), date_part('day', d) FROM t");
        super::rewrite(&mut s);
        assert_eq!(
            s.to_string(),
            "SELECT FLOOR(CAST(date_part('epoch', ts) AS DECIMAL(38,6)) / 60) * 60, \
             CAST(date_part('year', d) AS DECIMAL(38,0)), date_part('day', d) FROM t"
        );
    }
}
