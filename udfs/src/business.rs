//! Business metrics: `repeat_rate`, and the learning app's `quiz_weight` and `client_rating`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, StringArray, UInt64Array,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, Documentation, Signature, Volatility,
};

use crate::docs::doc;
use crate::params::{coerce_all_numeric, f64_array};

/// What is known of one customer's orders.
#[derive(Debug, Clone, PartialEq)]
enum Orders {
    /// One order so far: its id, or None when every row is an order (rows are all distinct).
    One(Option<String>),
    Repeat,
}

impl Orders {
    fn add(&mut self, order: Option<&str>) {
        if let Orders::One(first) = self {
            match (first.as_deref(), order) {
                (Some(a), Some(b)) if a == b => {}
                _ => *self = Orders::Repeat,
            }
        }
    }

    fn merge(&mut self, other: &Orders) {
        match other {
            Orders::Repeat => *self = Orders::Repeat,
            Orders::One(order) => self.add(order.as_deref()),
        }
    }
}

static REPEAT_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    doc(
        "Share of customers who ordered again: customers with at least 2 distinct orders / \
         customers with at least 1. With one argument every row is an order. NULL customers \
         (and, with two arguments, NULL orders) are ignored; no rows give NULL.",
        "repeat_rate(customer_id [, order_id])",
        "SELECT repeat_rate(user_id, order_id) FROM marketplace.orders WHERE status <> 'cancelled';",
        &[
            ("customer_id", "Who ordered (any type)."),
            ("order_id", "The order (any type); optional."),
        ],
    )
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct RepeatRate {
    signature: Signature,
}

impl RepeatRate {
    pub fn new() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for RepeatRate {
    fn name(&self) -> &str {
        "repeat_rate"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !(1..=2).contains(&arg_types.len()) {
            return plan_err!(
                "repeat_rate takes 1 or 2 arguments (customer_id [, order_id]), got {}",
                arg_types.len()
            );
        }
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: &str, t: DataType| {
            Arc::new(Field::new(
                format!("{}[{name}]", args.name),
                DataType::List(Arc::new(Field::new_list_field(t, true))),
                true,
            ))
        };
        Ok(vec![
            list("customers", DataType::Utf8),
            list("first_orders", DataType::Utf8),
            list("repeat", DataType::Boolean),
        ])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(RepeatRateAccumulator::default()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&REPEAT_DOC)
    }
}

#[derive(Debug, Default)]
struct RepeatRateAccumulator {
    customers: HashMap<String, Orders>,
}

impl Accumulator for RepeatRateAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let customers = cast(&values[0], &DataType::Utf8)?;
        let customers = customers.as_string::<i32>();
        let orders = values
            .get(1)
            .map(|o| cast(o, &DataType::Utf8))
            .transpose()?;
        let orders = orders.as_ref().map(|o| o.as_string::<i32>());
        for i in 0..customers.len() {
            if customers.is_null(i) {
                continue;
            }
            let order = match orders {
                Some(o) if o.is_null(i) => continue,
                Some(o) => Some(o.value(i)),
                None => None,
            };
            match self.customers.get_mut(customers.value(i)) {
                Some(known) => known.add(order),
                None => {
                    self.customers.insert(
                        customers.value(i).to_string(),
                        Orders::One(order.map(str::to_string)),
                    );
                }
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.customers.is_empty() {
            return Ok(ScalarValue::Float64(None));
        }
        let repeat = self
            .customers
            .values()
            .filter(|o| **o == Orders::Repeat)
            .count();
        Ok(ScalarValue::Float64(Some(
            repeat as f64 / self.customers.len() as f64,
        )))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.customers.keys().map(|k| k.len() + 64).sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let customers = StringArray::from_iter_values(self.customers.keys());
        let firsts: StringArray = self
            .customers
            .values()
            .map(|o| match o {
                Orders::One(first) => first.clone(),
                Orders::Repeat => None,
            })
            .collect();
        let repeat: BooleanArray = self
            .customers
            .values()
            .map(|o| Some(*o == Orders::Repeat))
            .collect();
        Ok(vec![
            SingleRowListArrayBuilder::new(Arc::new(customers)).build_list_scalar(),
            SingleRowListArrayBuilder::new(Arc::new(firsts)).build_list_scalar(),
            SingleRowListArrayBuilder::new(Arc::new(repeat)).build_list_scalar(),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists: Vec<_> = states.iter().map(|s| s.as_list::<i32>()).collect();
        for row in 0..lists[0].len() {
            if lists[0].is_null(row) {
                continue;
            }
            let customers = lists[0].value(row);
            let firsts = lists[1].value(row);
            let repeat = lists[2].value(row);
            let (customers, firsts, repeat) = (
                customers.as_string::<i32>(),
                firsts.as_string::<i32>(),
                repeat.as_boolean(),
            );
            for i in 0..customers.len() {
                let orders = if repeat.value(i) {
                    Orders::Repeat
                } else {
                    Orders::One((!firsts.is_null(i)).then(|| firsts.value(i).to_string()))
                };
                match self.customers.get_mut(customers.value(i)) {
                    Some(known) => known.merge(&orders),
                    None => {
                        self.customers
                            .insert(customers.value(i).to_string(), orders);
                    }
                }
            }
        }
        Ok(())
    }
}

/// `quiz_weight` and `client_rating` share a (sum, rows) state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SumKind {
    /// Mean of the non-NULL word weights.
    QuizWeight,
    /// Sum of quiz weights over sessions scored 100 %.
    ClientRating,
}

static QUIZ_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    doc(
        "A quiz's weight: the mean weight of its words. NULL weights are ignored; NULL when \
         there are none.",
        "quiz_weight(word_weight)",
        "SELECT a.session_id, quiz_weight(w.weight) FROM learning.quiz_answers a JOIN learning.words w USING (word_id) GROUP BY a.session_id;",
        &[("word_weight", "Weight of each word in the quiz, in [0, 1].")],
    )
});

static RATING_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    doc(
        "A learner's rating: the sum of quiz_weight over the sessions they scored 100 %. \
         0 when they have sessions but none perfect; NULL when they have none.",
        "client_rating(quiz_weight, score_percent)",
        "SELECT learner_id, client_rating(weight, score) FROM session_scores GROUP BY learner_id;",
        &[
            ("quiz_weight", "The session's quiz_weight."),
            ("score_percent", "The session's score, 0–100."),
        ],
    )
});

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WeightedSum {
    kind: SumKind,
    signature: Signature,
}

impl WeightedSum {
    pub fn quiz_weight() -> Self {
        Self {
            kind: SumKind::QuizWeight,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    pub fn client_rating() -> Self {
        Self {
            kind: SumKind::ClientRating,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for WeightedSum {
    fn name(&self) -> &str {
        match self.kind {
            SumKind::QuizWeight => "quiz_weight",
            SumKind::ClientRating => "client_rating",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let expected = match self.kind {
            SumKind::QuizWeight => 1,
            SumKind::ClientRating => 2,
        };
        coerce_all_numeric(self.name(), arg_types, expected, expected)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[sum]", args.name),
                DataType::Float64,
                true,
            )),
            Arc::new(Field::new(
                format!("{}[rows]", args.name),
                DataType::UInt64,
                true,
            )),
        ])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SumAccumulator {
            kind: self.kind,
            sum: 0.0,
            partial_sums: Vec::new(),
            rows: 0,
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(match self.kind {
            SumKind::QuizWeight => &QUIZ_DOC,
            SumKind::ClientRating => &RATING_DOC,
        })
    }
}

#[derive(Debug)]
struct SumAccumulator {
    kind: SumKind,
    sum: f64,
    /// Sums merged from other partitions, added in sorted order so runs agree to the bit.
    partial_sums: Vec<f64>,
    /// Rows counted: non-NULL weights (quiz_weight) or sessions seen (client_rating).
    rows: u64,
}

impl SumAccumulator {
    fn total(&self) -> f64 {
        let mut partials = self.partial_sums.clone();
        partials.sort_by(f64::total_cmp);
        partials.iter().fold(self.sum, |acc, v| acc + v)
    }

    fn apply(&mut self, values: &[ArrayRef], sign: f64) {
        let w = f64_array(&values[0]);
        let score = values.get(1).map(f64_array);
        for i in 0..w.len() {
            match (self.kind, score) {
                (SumKind::QuizWeight, _) => {
                    if w.is_null(i) {
                        continue;
                    }
                    self.sum += sign * w.value(i);
                }
                (SumKind::ClientRating, Some(s)) => {
                    if !w.is_null(i) && !s.is_null(i) && s.value(i) == 100.0 {
                        self.sum += sign * w.value(i);
                    }
                }
                (SumKind::ClientRating, None) => unreachable!("client_rating has two arguments"),
            }
            if sign > 0.0 {
                self.rows += 1;
            } else {
                self.rows = self.rows.saturating_sub(1);
            }
        }
    }
}

impl Accumulator for SumAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, 1.0);
        Ok(())
    }

    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.apply(values, -1.0);
        Ok(())
    }

    fn supports_retract_batch(&self) -> bool {
        true
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.rows == 0 {
            return Ok(ScalarValue::Float64(None));
        }
        Ok(ScalarValue::Float64(Some(match self.kind {
            SumKind::QuizWeight => self.total() / self.rows as f64,
            SumKind::ClientRating => self.total(),
        })))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::Float64(Some(self.total())),
            ScalarValue::UInt64(Some(self.rows)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let sums = states[0]
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("sum state");
        let rows = states[1]
            .as_any()
            .downcast_ref::<UInt64Array>()
            .expect("rows state");
        self.partial_sums.extend(sums.iter().flatten());
        self.rows += rows.iter().flatten().sum::<u64>();
        Ok(())
    }
}
