//! Group keys of up to 16 bytes a column, looked up by their bytes in one small table.
//!
//! DataFusion's `GroupValuesColumn` hashes and compares each key column row by row through
//! per-type code: in TPC-H q1 (two one-letter `Utf8View` keys, four groups) that was 20 %
//! of the query. A string of up to 12 bytes is whole in its 16-byte view, and an integer or
//! date of up to 8 bytes is whole in 16 bytes too, so a row's key is a few `u128`s: one hash
//! and one comparison find its group, and strings of at most one byte need neither.

use std::borrow::Cow;
use std::sync::Arc;

use datafusion::arrow::array::{make_array, Array, ArrayData, ArrayRef, AsArray, StringViewArray};
use datafusion::arrow::buffer::{Buffer, MutableBuffer, NullBuffer, ScalarBuffer};
use datafusion::arrow::datatypes::{ArrowNativeType, DataType};
use datafusion::error::Result;

/// The key of a null: a string view's length field is at most 12 in an inline view, and an
/// integer's key leaves the upper 64 bits zero, so no value has this key.
const NULL_KEY: u128 = u128::MAX;

/// Longest string whose view holds the whole string.
const INLINE_BYTES: u32 = 12;

const EMPTY: u32 = u32::MAX;

/// The hash table starts with 256 slots and keeps at least 4 per group: a group whose key
/// shares its first slot with another's is probed past it on every row of it (TPC-H's 21
/// `l_shipmode, l_returnflag` groups in 64 slots spent a fifth of the query there).
const SLOT_BITS: u32 = 8;

/// Up to this many slots, the table doubles until every group is in its own slot: rows of
/// keys in random order then never probe further, which the branch predictor cannot
/// foresee. 16K slots are 64 KiB; two of 21 groups share one of 16K slots with a chance of
/// about 1 in 80.
const SPREAD_SLOTS: usize = 1 << 14;

/// Whether a group column of `data_type` can be keyed here.
pub(super) fn supported(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8View => true,
        // Floats are left out: DataFusion groups -0.0 with 0.0 and NaNs together, their
        // bytes do not.
        t => (t.is_integer() || t.is_temporal()) && t.primitive_width().is_some_and(|w| w <= 8),
    }
}

/// The groups seen so far: each group's key columns, and an open-addressing table of group
/// numbers found by the keys' hash.
pub(super) struct GroupKeys {
    types: Vec<DataType>,
    /// Group `g`'s keys at `g * width ..`.
    keys: Vec<u128>,
    slots: Vec<u32>,
    /// Group numbers by `one_byte_code`s (see `intern_one_byte`), allocated when first used.
    one_byte: Vec<u32>,
    /// `64 - log2(slots.len())`: a hash's top bits pick its slot.
    shift: u32,
    /// Groups not in the slot their hash picks (see `SPREAD_SLOTS`).
    displaced: usize,
}

impl GroupKeys {
    pub(super) fn new(types: Vec<DataType>) -> Self {
        Self {
            types,
            keys: Vec::new(),
            slots: vec![EMPTY; 1 << SLOT_BITS],
            one_byte: Vec::new(),
            shift: 64 - SLOT_BITS,
            displaced: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len() / self.types.len()
    }

    /// Each row's group number in `groups`, adding new groups. `false`, and nothing added,
    /// when a key does not fit (a string longer than 12 bytes).
    pub(super) fn intern(&mut self, columns: &[ArrayRef], groups: &mut Vec<usize>) -> bool {
        let Some(keys) = columns.iter().map(column_keys).collect::<Option<Vec<_>>>() else {
            return false;
        };
        let keys: Vec<&[u128]> = keys.iter().map(|k| k.as_ref()).collect();
        groups.clear();
        groups.resize(columns.first().map_or(0, |c| c.len()), 0);
        let one_byte_strings = keys.len() <= 2
            && self.types.iter().all(|t| *t == DataType::Utf8View)
            && keys
                .iter()
                .all(|k| k.iter().all(|&k| k == NULL_KEY || k as u32 <= 1));
        // One loop per key width, so that a key compares as a few registers (a slice
        // comparison of `u128`s is a `memcmp` call).
        match keys.len() {
            1 if one_byte_strings => self.intern_one_byte::<1>(&keys, groups),
            2 if one_byte_strings => self.intern_one_byte::<2>(&keys, groups),
            1 => self.intern_rows::<1>(&keys, groups),
            2 => self.intern_rows::<2>(&keys, groups),
            3 => self.intern_rows::<3>(&keys, groups),
            4 => self.intern_rows::<4>(&keys, groups),
            width => {
                let mut key = vec![0; width];
                for (row, group) in groups.iter_mut().enumerate() {
                    for (k, column) in key.iter_mut().zip(&keys) {
                        *k = column[row];
                    }
                    *group = self.group_of(&key);
                }
            }
        }
        true
    }

    /// Rows of groups already known are looked up without a call; a new group's row goes
    /// to `group_of`, which adds it.
    fn intern_rows<const W: usize>(&mut self, keys: &[&[u128]], groups: &mut [usize]) {
        let columns: [&[u128]; W] = keys.try_into().expect("W key columns");
        let mut from = 0;
        while from < groups.len() {
            let (slots, stored, shift) = (&self.slots[..], &self.keys[..], self.shift);
            let mask = slots.len() - 1;
            let mut missed = None;
            'rows: for (row, group) in groups.iter_mut().enumerate().skip(from) {
                let key: [u128; W] = std::array::from_fn(|c| columns[c][row]);
                let mut slot = (hash(&key) >> shift) as usize;
                loop {
                    let found = slots[slot] as usize;
                    match stored.get(found * W..found * W + W) {
                        Some(at) if same(at, &key) => {
                            *group = found;
                            continue 'rows;
                        }
                        Some(_) => slot = (slot + 1) & mask,
                        None => {
                            missed = Some(row);
                            break 'rows;
                        }
                    }
                }
            }
            let Some(row) = missed else {
                break;
            };
            let key: [u128; W] = std::array::from_fn(|c| columns[c][row]);
            groups[row] = self.group_of(&key);
            from = row + 1;
        }
    }

    /// Strings of at most one byte (flags, grades, A/B variants: TPC-H q1's keys) index a
    /// table of group numbers directly by their bytes: no hash, no comparison. The hash
    /// table stays the groups' record; this one only remembers its answers.
    fn intern_one_byte<const W: usize>(&mut self, keys: &[&[u128]], groups: &mut [usize]) {
        let columns: [&[u128]; W] = keys.try_into().expect("W key columns");
        if self.one_byte.is_empty() {
            self.one_byte = vec![EMPTY; 1 << (9 * W)];
        }
        for (row, group) in groups.iter_mut().enumerate() {
            let index = (0..W).fold(0, |index, c| index << 9 | one_byte_code(columns[c][row]));
            let known = self.one_byte[index];
            *group = if known != EMPTY {
                known as usize
            } else {
                let key: [u128; W] = std::array::from_fn(|c| columns[c][row]);
                let found = self.group_of(&key);
                self.one_byte[index] = found as u32;
                found
            };
        }
    }

    fn group_of(&mut self, key: &[u128]) -> usize {
        let width = key.len();
        let mask = self.slots.len() - 1;
        let mut slot = (hash(key) >> self.shift) as usize;
        loop {
            let group = self.slots[slot];
            if group == EMPTY {
                return self.add_group(key, slot);
            }
            let at = group as usize * width;
            if same(&self.keys[at..at + width], key) {
                return group as usize;
            }
            slot = (slot + 1) & mask;
        }
    }

    fn add_group(&mut self, key: &[u128], slot: usize) -> usize {
        let group = self.len();
        self.keys.extend_from_slice(key);
        self.slots[slot] = group as u32;
        if slot != (hash(key) >> self.shift) as usize {
            self.displaced += 1;
        }
        while self.len() * 4 > self.slots.len()
            || (self.displaced > 0 && self.slots.len() < SPREAD_SLOTS)
        {
            self.grow();
        }
        group
    }

    /// Doubles the slots and puts every group back, counting those not in their own slot.
    fn grow(&mut self) {
        let width = self.types.len();
        self.slots = vec![EMPTY; self.slots.len() * 2];
        self.shift -= 1;
        self.displaced = 0;
        let mask = self.slots.len() - 1;
        for (group, key) in self.keys.chunks_exact(width).enumerate() {
            let mut slot = (hash(key) >> self.shift) as usize;
            if self.slots[slot] != EMPTY {
                self.displaced += 1;
            }
            while self.slots[slot] != EMPTY {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = group as u32;
        }
    }

    /// The groups' key columns, in group order.
    pub(super) fn columns(&self) -> Result<Vec<ArrayRef>> {
        let width = self.types.len();
        self.types
            .iter()
            .enumerate()
            .map(|(c, data_type)| {
                let keys: Vec<u128> = self.keys.iter().skip(c).step_by(width).copied().collect();
                column_of(data_type, &keys)
            })
            .collect()
    }
}

/// Each half of each key multiplied by its own odd constant, the products xored: the
/// multiplications are independent of each other (a chain of them cost more than the
/// lookup), and a product's top bits, which pick the slot, depend on all of its factors.
fn hash(key: &[u128]) -> u64 {
    const ODD: [u64; 8] = [
        0x9E37_79B9_7F4A_7C15,
        0xC2B2_AE3D_27D4_EB4F,
        0x1656_67B1_9E37_79F9,
        0xD6E8_FEB8_6659_FD93,
        0xFF51_AFD7_ED55_8CCD,
        0xC4CE_B9FE_1A85_EC53,
        0x8CB9_2BA7_2F3D_8DD7,
        0xA076_1D64_78BD_642F,
    ];
    key.iter().enumerate().fold(0, |h, (i, &k)| {
        h ^ (k as u64).wrapping_mul(ODD[2 * i % 8])
            ^ ((k >> 64) as u64).wrapping_mul(ODD[(2 * i + 1) % 8])
    })
}

/// A key of at most one byte (or null) as 9 bits: its length and its byte. Null is
/// `0x1FF`, a length of 1 with byte 0xFF, which no UTF-8 string has.
fn one_byte_code(key: u128) -> usize {
    if key == NULL_KEY {
        0x1FF
    } else {
        (key as u32 as usize) << 8 | (key >> 32) as u8 as usize
    }
}

/// Key equality without a `memcmp` call.
fn same(a: &[u128], b: &[u128]) -> bool {
    a.iter().zip(b).fold(true, |all, (x, y)| all & (x == y))
}

/// `column`'s keys, row by row; `None` when one does not fit.
fn column_keys(column: &ArrayRef) -> Option<Cow<'_, [u128]>> {
    if let Some(strings) = column.as_string_view_opt() {
        let views = strings.views();
        // A view of up to 12 bytes holds the whole string, padded with zeros as the Arrow
        // format requires (DataFusion's own group table compares such views whole too).
        let Some(nulls) = strings.nulls() else {
            let longest = views.iter().fold(0, |m, &v| m.max(v as u32));
            return (longest <= INLINE_BYTES).then_some(Cow::Borrowed(&views[..]));
        };
        let mut keys = Vec::with_capacity(views.len());
        let mut longest = 0;
        for (&view, valid) in views.iter().zip(nulls.iter()) {
            if valid {
                longest = longest.max(view as u32);
                keys.push(view);
            } else {
                keys.push(NULL_KEY);
            }
        }
        return (longest <= INLINE_BYTES).then_some(Cow::Owned(keys));
    }
    let data = column.to_data();
    let values = &data.buffers()[0];
    let mut keys = match data.data_type().primitive_width() {
        Some(1) => widened::<u8>(values, data.offset(), data.len()),
        Some(2) => widened::<u16>(values, data.offset(), data.len()),
        Some(4) => widened::<u32>(values, data.offset(), data.len()),
        Some(8) => widened::<u64>(values, data.offset(), data.len()),
        _ => return None,
    };
    if let Some(nulls) = data.nulls() {
        for (key, valid) in keys.iter_mut().zip(nulls.iter()) {
            if !valid {
                *key = NULL_KEY;
            }
        }
    }
    Some(Cow::Owned(keys))
}

/// Each value's bytes, zero-extended to 16.
fn widened<T: ArrowNativeType + Into<u128>>(
    values: &Buffer,
    offset: usize,
    len: usize,
) -> Vec<u128> {
    ScalarBuffer::<T>::new(values.clone(), offset, len)
        .iter()
        .map(|&v| v.into())
        .collect()
}

/// An array of `data_type` holding `keys`.
fn column_of(data_type: &DataType, keys: &[u128]) -> Result<ArrayRef> {
    let nulls = keys
        .contains(&NULL_KEY)
        .then(|| NullBuffer::from_iter(keys.iter().map(|&k| k != NULL_KEY)));
    if *data_type == DataType::Utf8View {
        let views = keys.iter().map(|&k| if k == NULL_KEY { 0 } else { k });
        let array = StringViewArray::try_new(ScalarBuffer::from_iter(views), vec![], nulls)?;
        return Ok(Arc::new(array));
    }
    let width = data_type.primitive_width().unwrap_or(8);
    let mut values = MutableBuffer::with_capacity(keys.len() * width);
    for &k in keys {
        let k = if k == NULL_KEY { 0 } else { k };
        values.extend_from_slice(&k.to_le_bytes()[..width]);
    }
    let data = ArrayData::builder(data_type.clone())
        .len(keys.len())
        .add_buffer(values.into())
        .nulls(nulls)
        .build()?;
    Ok(make_array(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_groups_each_get_their_own_slot() {
        let modes = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"];
        let flags = ["R", "A", "N"];
        let rows: Vec<(&str, &str)> = (0..210).map(|i| (modes[i % 7], flags[i / 7 % 3])).collect();
        let first: ArrayRef = Arc::new(StringViewArray::from_iter_values(rows.iter().map(|r| r.0)));
        let second: ArrayRef =
            Arc::new(StringViewArray::from_iter_values(rows.iter().map(|r| r.1)));
        let mut keys = GroupKeys::new(vec![DataType::Utf8View; 2]);
        let mut groups = Vec::new();
        assert!(keys.intern(&[first, second], &mut groups));
        assert_eq!(keys.len(), 21);
        assert_eq!(keys.displaced, 0, "{} slots", keys.slots.len());
        for (row, &group) in rows.iter().zip(&groups) {
            assert_eq!(groups[rows.iter().position(|r| r == row).unwrap()], group);
        }
        let columns = keys.columns().unwrap();
        let (m, f) = (columns[0].as_string_view(), columns[1].as_string_view());
        for (row, &group) in rows.iter().zip(&groups) {
            assert_eq!((m.value(group), f.value(group)), *row);
        }
    }
}
